package audit

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/schedule"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Frequency is how often a control operates, with the sample size drawn for
// it when the auditor does not choose one.
type Frequency struct {
	Name string `json:"name"`
	// Below is the interval between runs under which a schedule is at
	// least this frequent.
	Below time.Duration `json:"-"`
	// Range is the customary range of sample sizes for this frequency.
	Range string `json:"range"`
	// Size is the point of Range used by default: its low end.
	Size int `json:"size"`
}

// Frequencies is the sample-size table, most frequent first. The ranges are
// the ones commonly used for tests of operating effectiveness of automated
// and recurring controls; the default is the low end of each range, which an
// auditor raises with --size where reliance on the control is high.
var Frequencies = []Frequency{
	{Name: "several times a day", Below: 24 * time.Hour, Range: "25-60", Size: 25},
	{Name: "daily", Below: 7 * 24 * time.Hour, Range: "20-40", Size: 20},
	{Name: "weekly", Below: 28 * 24 * time.Hour, Range: "5-15", Size: 5},
	{Name: "monthly", Below: 89 * 24 * time.Hour, Range: "2-5", Size: 2},
	{Name: "quarterly", Below: 365 * 24 * time.Hour, Range: "2", Size: 2},
	{Name: "annual", Below: 1<<63 - 1, Range: "1", Size: 1},
}

// FrequencyOf classifies a cron schedule by the median interval between its
// first runs after from: "0 0 * * 1-5" (weekdays) is daily, "0 */6 * * *"
// several times a day.
func FrequencyOf(spec string, from time.Time) (Frequency, error) {
	s, err := schedule.Parse(spec)
	if err != nil {
		return Frequency{}, err
	}
	const n = 33
	var gaps []time.Duration
	prev := s.Next(from.UTC())
	for range n {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		gaps = append(gaps, next.Sub(prev))
		prev = next
	}
	if len(gaps) == 0 {
		return Frequencies[len(Frequencies)-1], nil
	}
	slices.Sort(gaps)
	median := gaps[len(gaps)/2]
	for _, f := range Frequencies {
		if median < f.Below {
			return f, nil
		}
	}
	return Frequencies[len(Frequencies)-1], nil
}

// SampleOptions say what to draw.
type SampleOptions struct {
	// Control is a canonical reference ("soc2:CC6.1"); ControlTitle is
	// what the catalog calls it.
	Control, ControlTitle string
	Period                Period
	// Seed makes the draw reproducible; any non-empty string.
	Seed string
	// Size is the number of snapshots to draw; 0 follows the control's
	// frequency (see Frequencies).
	Size int
	// Command is the command line that redraws this sample, for the README.
	Command string
}

// Sample is a drawn sample and the population it was drawn from.
type Sample struct {
	Options SampleOptions
	// Population is every snapshot of the period that carries the control
	// (or belongs to one of its series and failed, so carries no findings),
	// sorted by key.
	Population []Member
	// Selected is the sample, sorted by key.
	Selected []Member
	// Frequency is the control's frequency, from its series' schedules.
	Frequency Frequency
	// Size is the number drawn: the requested or the frequency's size,
	// capped by the population.
	Size int
}

// SampleMethod describes the draw so that anyone can repeat it without
// this program.
const SampleMethod = "population sorted by key; ChaCha8 (C2SP chacha8rand, Go math/rand/v2 NewChaCha8) keyed with the SHA-256 of the UTF-8 seed; " +
	"partial Fisher-Yates: for i = 0..size-1, draw 64-bit outputs u until u >= 2^64 mod (n-i), let j = i + u mod (n-i), swap members i and j; " +
	"the first size members are the sample"

// ErrEmptyPopulation means no snapshot in the period carries the control.
var ErrEmptyPopulation = errors.New("empty population")

// DrawSample finds the control's population in the period and draws from it.
func DrawSample(ctx context.Context, st store.Store, opts SampleOptions) (*Sample, error) {
	if opts.Seed == "" {
		return nil, errors.New("sample: a seed is required")
	}
	if opts.Size < 0 {
		return nil, fmt.Errorf("sample: size must be positive, got %d", opts.Size)
	}
	// Drawing needs of each member only its header (series, status,
	// schedule, start, controls) and its digest; only the members drawn
	// are parsed whole. Only the headers the population may hold are kept
	// until the draw: those that carry the control, and failed runs, which
	// carry no findings and belong to it if their series does. A year of
	// the whole estate is some 120,000 members; their series, schedule, key
	// id and list of controls repeat along a series, and are kept once.
	var in interner
	r, err := openPeriod(ctx, st, opts.Period, func(ctx context.Context, st store.Store, k string) (*Member, error) {
		m, err := loadHeader(ctx, st, k)
		if err == nil {
			in.header(m.Snapshot)
		}
		return m, err
	})
	if err != nil {
		return nil, err
	}
	var kept []Member
	series := map[string]bool{}
	if err := r.Each(ctx, ByKey, func(m Member) error {
		switch {
		case hasControl(m.Snapshot, opts.Control):
			series[m.Snapshot.Series] = true
			kept = append(kept, m)
		case m.Snapshot.Status == evidence.StatusFailed:
			kept = append(kept, m)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var pop []Member
	for _, m := range kept {
		if hasControl(m.Snapshot, opts.Control) || series[m.Snapshot.Series] {
			pop = append(pop, m)
		}
	}
	if len(pop) == 0 {
		return nil, fmt.Errorf("sample: %w: no snapshot started between %s and %s carries %s",
			ErrEmptyPopulation, opts.Period.From.Format(time.RFC3339), opts.Period.To.Format(time.RFC3339), opts.Control)
	}
	s := &Sample{Options: opts, Population: pop}
	if s.Frequency, err = populationFrequency(pop, opts.Period.From); err != nil {
		return nil, err
	}
	s.Size = opts.Size
	if s.Size == 0 {
		s.Size = s.Frequency.Size
	}
	s.Size = min(s.Size, len(pop))
	var errs []error
	for _, i := range Draw(len(pop), s.Size, opts.Seed) {
		m, err := wholeMember(ctx, st, pop[i])
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err) // every one is named
			continue
		}
		s.Selected = append(s.Selected, m)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// interner keeps one copy of each string and list of controls the
// headers of a period repeat. Safe for concurrent use (the loads run
// ahead in parallel).
type interner struct {
	mu       sync.Mutex
	strings  map[string]string
	controls map[string][]string
}

// header replaces s's repeated fields by their kept copies.
func (in *interner) header(s *evidence.Snapshot) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.strings == nil {
		in.strings, in.controls = map[string]string{}, map[string][]string{}
	}
	for _, p := range []*string{&s.Series, &s.Schedule, &s.KeyID} {
		if kept, ok := in.strings[*p]; ok {
			*p = kept
		} else {
			in.strings[*p] = *p
		}
	}
	key := strings.Join(s.Controls, "\n")
	if kept, ok := in.controls[key]; ok && slices.Equal(kept, s.Controls) {
		s.Controls = kept
	} else if !ok {
		in.controls[key] = s.Controls
	}
}

// header is the part of a snapshot that drawing a sample reads, and the
// fields of a selected member that the package checks.
type header struct {
	Series      string                `json:"series"`
	Schedule    string                `json:"schedule"`
	StartedAt   time.Time             `json:"started_at"`
	Status      evidence.Status       `json:"status"`
	Controls    []string              `json:"controls"`
	KeyID       string                `json:"key_id"`
	Attachments []evidence.Attachment `json:"attachments"`
}

// loadHeader reads a member and decodes only its header. Bytes whose
// header does not decode, or says nothing sensible, are refused as
// LoadPeriod refuses them, with Parse's reason.
func loadHeader(ctx context.Context, st store.Store, k string) (*Member, error) {
	b, err := readMember(ctx, st, k)
	if err != nil {
		return nil, err
	}
	var h header
	if err := json.Unmarshal(b, &h); err != nil || !evidence.ValidSeries(h.Series) || h.StartedAt.IsZero() ||
		(h.Status != evidence.StatusComplete && h.Status != evidence.StatusPartial && h.Status != evidence.StatusFailed) {
		if _, perr := parseMember(k, b); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("snapshot %s: header does not decode (run exhibit verify)", Escape(k))
	}
	return &Member{Key: k, SHA256: evidence.Digest(b), Snapshot: &evidence.Snapshot{
		Series: h.Series, Schedule: h.Schedule, StartedAt: h.StartedAt, Status: h.Status,
		Controls: h.Controls, KeyID: h.KeyID, Attachments: h.Attachments,
	}}, nil
}

// wholeMember re-reads a drawn member and parses it whole: what LoadPeriod
// would have given. Bytes that changed since the draw read them, or cannot
// be read now, keep the drawn header: the package reports them.
func wholeMember(ctx context.Context, st store.Store, m Member) (Member, error) {
	b, err := readMember(ctx, st, m.Key)
	if err != nil || evidence.Digest(b) != m.SHA256 {
		return m, ctx.Err()
	}
	snap, err := parseMember(m.Key, b)
	if err != nil {
		return Member{}, err
	}
	m.Snapshot = snap
	return m, nil
}

// populationFrequency is the highest frequency among the schedules of the
// population's series: a control tested both hourly and daily operates
// several times a day, and the larger sample follows from it.
func populationFrequency(pop []Member, from time.Time) (Frequency, error) {
	best := -1
	specs := map[string]bool{}
	for _, m := range pop {
		specs[m.Snapshot.Schedule] = true
	}
	for _, spec := range sortedSet(specs) {
		if spec == "" {
			continue
		}
		f, err := FrequencyOf(spec, from)
		if err != nil {
			return Frequency{}, fmt.Errorf("sample: %w", err)
		}
		i := slices.IndexFunc(Frequencies, func(g Frequency) bool { return g.Name == f.Name })
		if best < 0 || i < best {
			best = i
		}
	}
	if best < 0 {
		return Frequency{}, errors.New("sample: no snapshot of the population records its schedule; choose a --size")
	}
	return Frequencies[best], nil
}

// Draw picks k of n indexes as SampleMethod describes, returned ascending.
func Draw(n, k int, seed string) []int {
	key := sha256.Sum256([]byte(seed))
	r := rand.NewChaCha8(key)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	k = min(k, n)
	for i := range k {
		j := i + bounded(r, n-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	out := slices.Clone(idx[:k])
	slices.Sort(out)
	return out
}

// bounded returns a uniform integer in [0, n) by rejection, so that the draw
// is defined by the generator's output alone and not by a library's method.
func bounded(r *rand.ChaCha8, n int) int {
	un := uint64(n)
	threshold := -un % un // 2^64 mod n
	for {
		if u := r.Uint64(); u >= threshold {
			return int(u % un)
		}
	}
}

// SampleCheck is the re-verification of one selected snapshot.
type SampleCheck struct {
	Key         string   `json:"key"`
	SHA256      string   `json:"sha256"`
	KeyID       string   `json:"key_id"`
	Signature   string   `json:"signature"`
	Attachments []string `json:"attachments"`
	OK          bool     `json:"ok"`
}

// SampleVerification is the verify result for a sample, as written to
// verification.json.
type SampleVerification struct {
	OK        bool          `json:"ok"`
	Snapshots []SampleCheck `json:"snapshots"`
}

// sampleParams is sample.json.
type sampleParams struct {
	Control          string    `json:"control"`
	ControlTitle     string    `json:"control_title"`
	From             string    `json:"from"`
	To               string    `json:"to"`
	Seed             string    `json:"seed"`
	Size             int       `json:"size"`
	RequestedSize    int       `json:"requested_size,omitempty"`
	SizeRule         string    `json:"size_rule"`
	Frequency        Frequency `json:"frequency"`
	Method           string    `json:"method"`
	PopulationSize   int       `json:"population_size"`
	PopulationSHA256 string    `json:"population_sha256"`
	Selected         []string  `json:"selected"`
	Command          string    `json:"command"`
}

// zipTime is every entry's modification time: fixed, so that the same
// sample always gives the same bytes.
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// WritePackage writes the sample as one zip: the selected snapshots and their
// signatures under their store keys, their attachments, the published keys,
// population.csv, verification.json, sample.json and a README. The same
// sample always gives byte-identical output. It returns the verification so
// the caller can fail when a selected snapshot does not verify; the package is
// written either way, since that is what the auditor must see.
func WritePackage(ctx context.Context, st store.Store, s *Sample, w io.Writer) (*SampleVerification, error) {
	files := map[string][]byte{}

	keys, err := publishedKeys(ctx, st, files)
	if err != nil {
		return nil, err
	}

	ver := &SampleVerification{OK: true, Snapshots: []SampleCheck{}}
	for _, m := range s.Selected {
		c := SampleCheck{Key: m.Key, KeyID: m.Snapshot.KeyID, Attachments: []string{}, OK: true}
		fail := func(format string, args ...any) string {
			c.OK = false
			return fmt.Sprintf(format, args...)
		}
		b, err := st.Get(ctx, m.Key)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Read once when the sample was drawn, unreadable now: the
			// auditor must see that, and the rest of the sample.
			c.Signature = fail("the snapshot is unreadable now: %s", readError(err))
			ver.OK = false
			ver.Snapshots = append(ver.Snapshots, c)
			continue
		}
		files[m.Key] = b
		c.SHA256 = evidence.Digest(b)
		if c.SHA256 != m.SHA256 {
			c.Signature = fail("the snapshot changed while the sample was drawn (hashed %s, now %s)", m.SHA256, c.SHA256)
		} else if sig, err := st.Get(ctx, store.SignatureKey(m.Key)); err != nil {
			c.Signature = fail("signature unreadable: %s", readError(err))
		} else {
			files[store.SignatureKey(m.Key)] = sig
			c.Signature = checkSig(keys, m.Snapshot.KeyID, b, sig, fail)
		}
		for _, a := range m.Snapshot.Attachments {
			akey := store.AttachmentKey(a.SHA256)
			ab, err := st.Get(ctx, akey)
			switch {
			case err != nil:
				c.Attachments = append(c.Attachments, fail("%s: unreadable: %s", akey, readError(err)))
			case evidence.Digest(ab) != a.SHA256 || int64(len(ab)) != a.Size:
				c.Attachments = append(c.Attachments, fail("%s: altered (content hashes to %s)", akey, evidence.Digest(ab)))
			default:
				files[akey] = ab
				c.Attachments = append(c.Attachments, akey+": verified")
			}
		}
		ver.OK = ver.OK && c.OK
		ver.Snapshots = append(ver.Snapshots, c)
	}

	pop, err := populationCSV(s.Population)
	if err != nil {
		return nil, err
	}
	files["population.csv"] = pop

	params := sampleParams{
		Control: s.Options.Control, ControlTitle: s.Options.ControlTitle,
		From: s.Options.Period.From.UTC().Format(time.RFC3339), To: s.Options.Period.To.UTC().Format(time.RFC3339),
		Seed: s.Options.Seed, Size: s.Size, RequestedSize: s.Options.Size,
		Frequency: s.Frequency, Method: SampleMethod,
		PopulationSize: len(s.Population), PopulationSHA256: evidence.Digest(pop),
		Selected: []string{}, Command: s.Options.Command,
	}
	switch {
	case s.Options.Size > 0:
		params.SizeRule = "chosen with --size"
	default:
		params.SizeRule = fmt.Sprintf("the control runs %s: the low end of the %s range", s.Frequency.Name, s.Frequency.Range)
	}
	wanted := s.Options.Size
	if wanted == 0 {
		wanted = s.Frequency.Size
	}
	if s.Size < wanted {
		params.SizeRule += fmt.Sprintf("; capped at the population of %d", len(s.Population))
	}
	for _, m := range s.Selected {
		params.Selected = append(params.Selected, m.Key)
	}
	if files["sample.json"], err = jsonIndent(params); err != nil {
		return nil, err
	}
	if files["verification.json"], err = jsonIndent(ver); err != nil {
		return nil, err
	}
	files["README.md"] = sampleREADME(params, ver)

	if err := writeZip(w, files); err != nil {
		return nil, err
	}
	return ver, nil
}

func checkSig(keys map[string]*ecdsa.PublicKey, keyID string, b, sig []byte, fail func(string, ...any) string) string {
	der, err := signing.DecodeSignature(sig)
	if err != nil {
		return fail("%v", err)
	}
	pub, ok := keys[keyID]
	if !ok {
		return fail("signed by key %s, which the store does not publish (or publishes altered)", keyID)
	}
	if err := signing.Verify(pub, b, der); err != nil {
		return fail("does not verify against key %s", keyID)
	}
	return "verified"
}

// publishedKeys reads keys/*.pem into files and returns those whose content
// matches their name.
func publishedKeys(ctx context.Context, st store.Store, files map[string][]byte) (map[string]*ecdsa.PublicKey, error) {
	keys := map[string]*ecdsa.PublicKey{}
	err := st.List(ctx, store.KeysPrefix, "", func(key string) error {
		id, ok := strings.CutSuffix(strings.TrimPrefix(key, store.KeysPrefix), ".pem")
		if !ok || !isDigest(id) {
			return nil // verify reports strays among the keys
		}
		b, err := st.Get(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Not published, as far as the sample can tell; a snapshot it
			// signed fails its check, and verify names the key.
			return nil
		}
		files[key] = b
		pub, err := signing.ParsePublicKey(b)
		if err != nil {
			return nil
		}
		if got, err := signing.KeyID(pub); err == nil && got == id {
			keys[id] = pub
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

func populationCSV(pop []Member) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"key", "sha256", "started_at", "status", "series"})
	for _, m := range pop {
		_ = w.Write([]string{m.Key, m.SHA256, m.Snapshot.StartedAt.UTC().Format(time.RFC3339Nano), string(m.Snapshot.Status), m.Snapshot.Series})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func jsonIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeZip writes files in name order with fixed times and modes.
func writeZip(w io.Writer, files map[string][]byte) error {
	zw := zip.NewWriter(w)
	for _, name := range sortedSet(files) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(0o644)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", name, err)
		}
		if _, err := fw.Write(files[name]); err != nil {
			return fmt.Errorf("zip %s: %w", name, err)
		}
	}
	return zw.Close()
}

func sortedSet[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sampleREADME is the archive's README.md: what each file is, the sample
// size and why, how to verify each snapshot with openssl or cosign, and how
// to redraw the sample. Its values are the sample's own; Markdown is not
// escaped, as a reader reads it as text.
func sampleREADME(p sampleParams, v *SampleVerification) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Evidence sample: %s

%s

Drawn from the snapshots that carry %s and started in
[%s, %s): a population of %d, of which
%d were selected with seed "%s".

| file | what it is |
|---|---|
| evidence/... .json | the selected snapshots, byte for byte as stored (canonical JSON) |
| evidence/... .json.sig | base64 DER ECDSA P-256 / SHA-256 signature over the .json beside it |
| attachments/sha256/HEX | raw artefacts of the selected snapshots, named by their SHA-256 |
| keys/ID.pem | the public keys the store publishes; ID is the SHA-256 of the key's DER |
| population.csv | every member of the population: key, sha256, started_at, status, series |
| verification.json | each selected snapshot re-hashed and its signature checked when the sample was drawn |
| sample.json | the parameters: control, period, seed, size, method, population size and digest |

`, p.Control, p.ControlTitle, p.Control, p.From, p.To, p.PopulationSize, p.Size, p.Seed)
	if v.OK {
		b.WriteString("Result when drawn: every selected snapshot verified.\n")
	} else {
		b.WriteString("Result when drawn: AT LEAST ONE SELECTED SNAPSHOT DID NOT VERIFY; see verification.json.\n")
	}
	fmt.Fprintf(&b, `
## Sample size

%d (%s). Without --size the size follows how often
the control runs, from the schedules its snapshots record; the default is the
low end of each customary range:

| the control runs | range | default |
|---|---|---|
`, p.Size, p.SizeRule)
	for _, f := range Frequencies {
		fmt.Fprintf(&b, "| %s | %s | %d |\n", f.Name, f.Range, f.Size)
	}
	b.WriteString(`
## Verify each snapshot with openssl

From the directory this archive was extracted into; each pair of commands
prints "Verified OK".

<!-- verify -->
` + "```" + `sh
`)
	for _, s := range v.Snapshots {
		fmt.Fprintf(&b, "base64 -d %s.sig > sig.der\nopenssl dgst -sha256 -verify keys/%s.pem -signature sig.der %s\n", s.Key, s.KeyID, s.Key)
	}
	b.WriteString(`` + "```" + `
<!-- /verify -->

Or with cosign (2.x), for each snapshot:

` + "```" + `sh
`)
	for _, s := range v.Snapshots {
		fmt.Fprintf(&b, "cosign verify-blob --key keys/%s.pem --signature %s.sig --insecure-ignore-tlog=true %s\n", s.KeyID, s.Key, s.Key)
	}
	fmt.Fprintf(&b, ``+"```"+`

Also check that each key file is the one named: `+"`"+`openssl pkey -pubin -in keys/ID.pem -outform DER | sha256sum`+"`"+`
prints ID. The digests in population.csv are `+"`"+`sha256sum`+"`"+` of the snapshot files;
the population's digest in sample.json is `+"`"+`sha256sum population.csv`+"`"+`.

## Redraw the sample

The draw depends only on the population (sorted by key), the seed and the
size, so the same command over the same store gives the same selection and a
byte-identical archive:

`+"```"+`sh
%s
`+"```"+`

Method: %s.

To check the population is complete (no scheduled run missing in the
period), run `+"`"+`exhibit verify --store URL --from %s --to %s`+"`"+`.
`, p.Command, p.Method, p.From, p.To)
	return b.Bytes()
}
