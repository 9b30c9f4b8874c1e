// Package audit reads a store as an auditor does: verify integrity, and (in
// later files) sample, export and report. Nothing here needs the agent's
// configuration or credentials, only read access to the store.
package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Problem is one integrity failure, named by the object it concerns.
type Problem struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

// String is the problem as one line of text: the key escaped (see Escape)
// and anything unprintable in the message escaped.
func (p Problem) String() string { return Escape(p.Key) + ": " + EscapeText(p.Message) }

// VerifyOptions narrow and shape a verification.
type VerifyOptions struct {
	// From and To, when set, limit the snapshots checked to those started in
	// [From, To); a From without a To ends the period now. Chains are still
	// walked from the start so that a link into the period is proven. With
	// a period, the completeness stage also reports every run a series'
	// schedule called for in it that left no snapshot, or only failed ones,
	// and notes those only partly collected (see completeness.go).
	From, To time.Time
	// AllowFailedRuns makes a run that failed a note instead of a problem:
	// for an auditor who judges known outages apart. A run that left no
	// snapshot stays a problem.
	AllowFailedRuns bool
	// TrustedKeys, when set, are the only keys accepted, whatever the store
	// publishes: an auditor pins the key obtained out of band.
	TrustedKeys []*ecdsa.PublicKey
	// OnProblem is called for each problem as it is found.
	OnProblem func(Problem)
	// OnNote is called for each note as it is found.
	OnNote func(Problem)
	// OnProgress is called after each series is checked.
	OnProgress func(series string, done, total int)
	// StoreDelay is how much later than its finished_at a snapshot may have
	// been stored, by the server's clock, where the store records it (S3);
	// DefaultStoreDelay when zero.
	StoreDelay time.Duration
	// Checkpoints are checkpoints the auditor kept: every series they pin
	// must still be extended by the store (as must those the agent stored).
	Checkpoints []KeptCheckpoint
	// TSACerts, when set, are the time-stamping authority's certificates
	// the auditor pinned: every snapshot's RFC 3161 token must verify
	// against them and agree with the finished_at it claims.
	TSACerts *x509.CertPool
	// TSATolerance is how far a token's time may lie from the snapshot's
	// finished_at; DefaultTSATolerance when zero.
	TSATolerance time.Duration
	// MinRetainDays is the Object Lock retention every snapshot and
	// signature must have, where the store records it (S3); 0 checks only
	// that each is locked in COMPLIANCE mode.
	MinRetainDays int
}

// VerifyReport summarizes a verification.
type VerifyReport struct {
	Series    int       `json:"series"`
	Snapshots int       `json:"snapshots"`
	Keys      int       `json:"keys"`
	Problems  []Problem `json:"problems"`
	// Notes are what an auditor should see that the agent also writes in
	// normal operation, so they do not fail the verification: a snapshot
	// stored out of order, say, which a replica's spool flushed after an
	// outage can leave as well as a back-dated insert.
	Notes []Problem `json:"notes"`
	// Runs counts, per series, how the runs called for in the period went;
	// only with a period.
	Runs []SeriesRuns `json:"runs,omitempty"`
}

// OK reports whether nothing was wrong.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

type verifier struct {
	st     store.Store
	opts   VerifyOptions
	keys   map[string]*ecdsa.PublicKey
	report *VerifyReport
	inv    *inventory
	runs   map[string][]run // series → its readable snapshots, for completeness
	server *serverSide      // the store's own record of versions, if it keeps one
	ledger *keyLedger       // rotations, and which key signed what
	tokens tokenState       // time-stamp tokens seen per series

	ids        map[string]string // snapshot id → the key that first had it
	referenced map[string]bool   // attachment digests named by a readable snapshot
	signers    map[string]bool   // key ids named by a readable snapshot
	unreadable int               // snapshots whose references are unknown
	reviewRefs []reviewRef       // access-list snapshots that access reviews name

	// attachments holds what reading each attachment found (a
	// fetchedObject by key), read once however many snapshots name it:
	// unchanged evidence names the same content-addressed object run
	// after run.
	attachments sync.Map
}

func (v *verifier) note(key, format string, args ...any) {
	p := Problem{Key: key, Message: fmt.Sprintf(format, args...)}
	v.report.Notes = append(v.report.Notes, p)
	if v.opts.OnNote != nil {
		v.opts.OnNote(p)
	}
}

func (v *verifier) problem(key, format string, args ...any) {
	p := Problem{Key: key, Message: fmt.Sprintf(format, args...)}
	v.report.Problems = append(v.report.Problems, p)
	if v.opts.OnProblem != nil {
		v.opts.OnProblem(p)
	}
}

// Verify re-hashes every snapshot, checks every signature against the
// published (or trusted) keys, walks every chain and checks attachments, the
// date index and that every object in the store belongs to the layout. It
// reports every problem rather than stopping at the first, an object it
// cannot read included; the error is only for a store that could not be
// listed, or a cancelled ctx.
func Verify(ctx context.Context, st store.Store, opts VerifyOptions) (*VerifyReport, error) {
	v := &verifier{
		st: st, opts: opts, keys: map[string]*ecdsa.PublicKey{}, report: &VerifyReport{Problems: []Problem{}, Notes: []Problem{}},
		ids: map[string]string{}, referenced: map[string]bool{}, signers: map[string]bool{},
	}
	if !opts.From.IsZero() && opts.To.IsZero() {
		// An open-ended period ends now, for completeness as for the
		// snapshots checked.
		v.opts.To = now().UTC()
	}
	if err := v.loadServerSide(ctx); err != nil {
		return nil, err
	}
	inv, err := v.list(ctx)
	if err != nil {
		return nil, err
	}
	v.inv = inv
	if err := v.loadKeys(ctx); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(inv.series))
	v.report.Series = len(names)
	for i, name := range names {
		if err := v.series(ctx, name, inv.series[name]); err != nil {
			return nil, err
		}
		if opts.OnProgress != nil {
			opts.OnProgress(name, i+1, len(names))
		}
	}
	if v.completenessWanted() {
		v.completeness(names)
	}
	switch {
	case len(names) == 0:
		// A mistyped URL or prefix must not verify as a clean store.
		v.problem(store.EvidencePrefix, "the store holds no evidence (check the store URL and prefix)")
	case v.report.Snapshots == 0:
		v.problem(store.EvidencePrefix, "no snapshot started in the period")
	}
	v.keyContinuity()
	v.reportLocks()
	if err := v.checkCheckpoints(ctx); err != nil {
		return nil, err
	}
	v.reportUncheckedTokens()
	if err := v.checkReviewRefs(ctx); err != nil {
		return nil, err
	}
	v.orphanMarkers()
	v.strayAttachments()
	v.unusedKeys()
	byKey := func(a, b Problem) int { return strings.Compare(a.Key, b.Key) }
	slices.SortStableFunc(v.report.Problems, byKey)
	slices.SortStableFunc(v.report.Notes, byKey)
	return v.report, nil
}

// inventory is what the one listing of the whole store found, sorted by
// where it belongs in the layout.
type inventory struct {
	series      map[string]*seriesObjects
	markers     map[string]map[int64][]int32 // series → seq → the days (since 1970) of its markers
	attachments []string                     // the hex digests stored under attachments/sha256/
	keys        []string                     // every object under keys/ but rotations
	rotations   []string                     // every object under keys/rotations/
	checkpoints []string                     // every object under checkpoints/
}

// seriesObjects is what one series' listing holds.
type seriesObjects struct {
	snapshots map[int64]bool
	sigs      map[int64]bool
	tokens    map[int64]bool // RFC 3161 time-stamp tokens
}

// list reads the store's listing once, and reports at once every name that
// has no place in the layout: a stray is one problem, never the end of the
// verification, and no object is read on the strength of an odd name.
func (v *verifier) list(ctx context.Context) (*inventory, error) {
	inv := &inventory{series: map[string]*seriesObjects{}, markers: map[string]map[int64][]int32{}}
	objs := func(name string) *seriesObjects {
		s := inv.series[name]
		if s == nil {
			s = &seriesObjects{snapshots: map[int64]bool{}, sigs: map[int64]bool{}, tokens: map[int64]bool{}}
			inv.series[name] = s
		}
		return s
	}
	err := v.st.List(ctx, "", "", func(key string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case isTemp(key):
			v.problem(key, "leftover temporary file: a write was interrupted (or is under way)")
		case strings.HasPrefix(key, store.EvidencePrefix):
			if name, seq, ok := parseSnapshotKey(key); ok {
				objs(name).snapshots[seq] = true
			} else if name, seq, ok := parseSnapshotKey(strings.TrimSuffix(key, ".sig")); ok && strings.HasSuffix(key, ".sig") {
				objs(name).sigs[seq] = true
			} else if name, seq, ok := parseSnapshotKey(strings.TrimSuffix(key, ".tsr")); ok && strings.HasSuffix(key, ".tsr") {
				objs(name).tokens[seq] = true
			} else {
				v.problem(key, "unexpected object in the evidence tree")
			}
		case strings.HasPrefix(key, store.IndexPrefix):
			day, name, seq, ok := store.ParseIndexKey(key)
			if !ok || !evidence.ValidSeries(name) {
				v.problem(key, "unexpected object in the date index")
				break
			}
			if inv.markers[name] == nil {
				inv.markers[name] = map[int64][]int32{}
			}
			inv.markers[name][seq] = append(inv.markers[name][seq], dayNumber(day))
		case strings.HasPrefix(key, store.AttachmentPrefix):
			if d := strings.TrimPrefix(key, store.AttachmentPrefix); isDigest(d) {
				inv.attachments = append(inv.attachments, d)
			} else {
				v.problem(key, "unexpected object among attachments")
			}
		case strings.HasPrefix(key, store.RotationsPrefix):
			inv.rotations = append(inv.rotations, key)
		case strings.HasPrefix(key, store.KeysPrefix):
			inv.keys = append(inv.keys, key)
		case strings.HasPrefix(key, store.CheckpointPrefix):
			inv.checkpoints = append(inv.checkpoints, key)
		default:
			v.problem(key, "unexpected object outside the store's layout (evidence/, index/, attachments/sha256/, keys/, checkpoints/)")
		}
		return nil
	})
	if ue := (*store.UnlistedError)(nil); errors.As(err, &ue) && ctx.Err() == nil {
		// What could be listed is verified; what could not is a problem
		// each, since evidence may hide there.
		for _, p := range ue.Places {
			v.problem(p.Prefix, "could not be listed (%v): whatever it holds was not verified", p.Err)
		}
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return inv, nil
}

// parseSnapshotKey is store.ParseSnapshotKey for a series name the agent
// could have written: a backslash, a control character or a ".tmp-" in a
// name makes it a stray, never a series whose objects are read.
func parseSnapshotKey(key string) (series string, seq int64, ok bool) {
	series, seq, ok = store.ParseSnapshotKey(key)
	return series, seq, ok && evidence.ValidSeries(series)
}

func isTemp(key string) bool {
	return strings.HasPrefix(key, ".tmp-") || strings.Contains(key, "/.tmp-")
}

func isDigest(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// dayNumber and dayTime convert a UTC date to and from days since 1970.
func dayNumber(t time.Time) int32 { return int32(t.UTC().Truncate(24*time.Hour).Unix() / 86400) }

func dayTime(n int32) time.Time { return time.Unix(int64(n)*86400, 0).UTC() }

func (v *verifier) loadKeys(ctx context.Context) error {
	for _, key := range v.inv.keys {
		id, ok := strings.CutSuffix(strings.TrimPrefix(key, store.KeysPrefix), ".pem")
		if !ok || !isDigest(id) {
			v.problem(key, "unexpected object among published keys")
			continue
		}
		b, err := v.st.Get(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			v.problem(key, "unreadable: %s", readError(err))
			continue
		}
		pub, err := signing.ParsePublicKey(b)
		if err != nil {
			v.problem(key, "published key unreadable: %v", err)
			continue
		}
		got, err := signing.KeyID(pub)
		if err != nil {
			return err
		}
		if got != id {
			v.problem(key, "published key does not match its id (its content hashes to %s): the key was replaced", got)
			continue
		}
		v.keys[id] = pub
	}
	v.report.Keys = len(v.keys)
	published := v.keys
	if len(v.opts.TrustedKeys) > 0 {
		trusted := map[string]*ecdsa.PublicKey{}
		for _, k := range v.opts.TrustedKeys {
			id, err := signing.KeyID(k)
			if err != nil {
				return err
			}
			trusted[id] = k
		}
		v.keys = trusted
	}
	if err := v.loadRotations(ctx, published); err != nil {
		return err
	}
	if len(v.keys) == 0 {
		v.problem(store.KeysPrefix, "no usable public key is published")
	}
	return nil
}

// readError says why an object could not be read, without the key (the
// problem names it) and with any odd character of the store's own error
// text escaped.
func readError(err error) string {
	switch {
	case errors.Is(err, store.ErrNotExist):
		return "it vanished while the store was verified"
	case errors.Is(err, store.ErrTooLarge):
		return fmt.Sprintf("larger than the %d MiB object size limit; not read", store.MaxObjectSize>>20)
	case errors.Is(err, store.ErrNotRegular):
		return "not a regular file (a FIFO, device, directory or symbolic link); not read"
	}
	return EscapeText(err.Error())
}

func (v *verifier) inPeriod(t time.Time) bool {
	if !v.opts.From.IsZero() && t.Before(v.opts.From) {
		return false
	}
	if !v.opts.To.IsZero() && !t.Before(v.opts.To) {
		return false
	}
	return true
}

// fetched is one snapshot of a series with what checking it needs, read
// ahead of the chain walk.
type fetched struct {
	b        []byte
	err      error
	digest   string // of b
	snap     *evidence.Snapshot
	perr     error
	refs     []reviewRef // the snapshots it names, if it is an access review
	inPeriod bool
	sig      *Problem // when inPeriod: what is wrong with its signature, if anything
	token    []byte   // when inPeriod and a time-stamp token exists
	tokenErr error
	atts     []fetchedObject // when inPeriod, one per snapshot attachment
	marker   *fetchedObject  // when inPeriod, the marker on its start date, if listed
}

// fetchedObject is an object read for its digest: its bytes are let go at
// once, so that what is read ahead stays small.
type fetchedObject struct {
	digest string
	size   int64
	err    error
}

func (v *verifier) getDigest(ctx context.Context, key string) fetchedObject {
	b, err := v.st.Get(ctx, key)
	if err != nil {
		return fetchedObject{err: err}
	}
	return fetchedObject{digest: evidence.Digest(b), size: int64(len(b))}
}

// getAttachment is getDigest of an attachment, read once per verify.
func (v *verifier) getAttachment(ctx context.Context, key string) fetchedObject {
	if o, ok := v.attachments.Load(key); ok {
		return o.(fetchedObject)
	}
	o := v.getDigest(ctx, key)
	if ctx.Err() == nil {
		v.attachments.Store(key, o)
	}
	return o
}

func (v *verifier) fetch(ctx context.Context, name string, seq int64, haveSig, haveToken bool) fetched {
	key := store.SnapshotKey(name, seq)
	var f fetched
	if f.b, f.err = v.st.Get(ctx, key); f.err != nil {
		return f
	}
	// Read ahead, it waits for its turn to be hashed and parsed.
	if f.err = admit(ctx, len(f.b)); f.err != nil {
		return f
	}
	sum := sha256.Sum256(f.b)
	f.digest = hex.EncodeToString(sum[:])
	// Verify keeps no records, calls or findings (ParseHead checks them
	// and lets them go): a large access list parsed whole costs several
	// times its bytes. Only an access review's records, the snapshots it
	// names, are read.
	f.snap, f.perr = evidence.ParseHead(f.b)
	if f.perr == nil && isReview(f.snap) {
		if whole, err := evidence.Parse(f.b); err == nil {
			f.refs = reviewRefs(key, whole)
		}
	}
	f.inPeriod = f.perr != nil || v.inPeriod(f.snap.StartedAt)
	if !f.inPeriod {
		return f
	}
	var sig []byte
	var sigErr error
	if haveSig {
		sig, sigErr = v.st.Get(ctx, store.SignatureKey(key))
	}
	// The signature is checked here, beside the other read-ahead work, so
	// that hashing and ECDSA use every core; the walk reports the verdict.
	f.sig = v.checkSignature(key, sum[:], f.snap, haveSig, sig, sigErr)
	if haveToken {
		f.token, f.tokenErr = v.st.Get(ctx, store.TokenKey(key))
	}
	if f.perr == nil {
		for _, a := range f.snap.Attachments {
			f.atts = append(f.atts, v.getAttachment(ctx, store.AttachmentKey(a.SHA256)))
		}
		day := dayNumber(f.snap.StartedAt)
		if slices.Contains(v.inv.markers[name][seq], day) {
			m := v.getDigest(ctx, store.IndexKey(f.snap.StartedAt, name, seq))
			f.marker = &m
		}
	}
	return f
}

// isReview reports whether snap is an access review's, whose records name
// the snapshots it reviewed (see reviewRefs).
func isReview(snap *evidence.Snapshot) bool {
	return snap.Collector.Type == ReviewType || snap.Collector.Type == ReviewType+".follow_up"
}

// seqRun is a run of consecutive seqs, first to last.
type seqRun struct{ first, last int64 }

// absent lists the runs of seqs in [1, max] that hold neither a snapshot nor
// a signature. It looks only at the seqs present, so a planted
// 999999999999.json costs one problem, not a loop over every number below.
func (o *seriesObjects) absent() (runs []seqRun, max int64) {
	seqs := slices.Sorted(maps.Keys(o.snapshots))
	for seq := range o.sigs {
		if !o.snapshots[seq] {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	prev := int64(0)
	for _, seq := range seqs {
		if seq > prev+1 {
			runs = append(runs, seqRun{prev + 1, seq - 1})
		}
		prev = seq
	}
	return runs, prev
}

func (v *verifier) series(ctx context.Context, name string, objs *seriesObjects) error {
	for seq := range objs.sigs {
		if !objs.snapshots[seq] {
			v.problem(store.SnapshotKey(name, seq), "missing: its signature exists but the snapshot does not (deleted?)")
		}
	}
	absent, max := objs.absent()
	for _, r := range absent {
		if r.first == r.last {
			v.problem(store.SnapshotKey(name, r.first), "missing: seq %d of %d is absent from the series (deleted?)", r.first, max)
		} else {
			v.problem(store.SnapshotKey(name, r.first), "missing: seqs %d–%d of %d are absent from the series (deleted?)", r.first, r.last, max)
		}
	}
	present := slices.Sorted(maps.Keys(objs.snapshots))
	next, stop := readAhead(ctx, len(present), readAheadDepth, readAheadBytes, func(ctx context.Context, i int) fetched {
		return v.fetch(ctx, name, present[i], objs.sigs[present[i]], objs.tokens[present[i]])
	})
	defer stop()
	prevDigest := ""
	var prevStarted time.Time // of the latest readable snapshot before this one
	prevSeq := int64(0)
	for i, seq := range present {
		key := store.SnapshotKey(name, seq)
		f, err := next(i)
		if err != nil {
			return err
		}
		prevKnown := seq == prevSeq+1
		prevSeq = seq
		if f.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			v.problem(key, "unreadable: %s", readError(f.err))
			v.unreadable++
			prevSeq = -1 // its digest is unknown: the next link cannot be checked
			continue
		}
		digest := f.digest
		snap, perr := f.snap, f.perr
		if f.inPeriod {
			v.report.Snapshots++
			if f.sig != nil {
				v.problem(f.sig.Key, "%s", f.sig.Message)
			}
		}
		if perr != nil {
			v.problem(key, "altered or corrupt: %s", EscapeText(strings.ReplaceAll(perr.Error(), "\n", "; ")))
			v.unreadable++
			v.checkMarkers(name, seq, nil, nil)
		} else {
			v.observeRun(name, seq, snap)
			if snap.Series != name || snap.Seq != seq {
				v.problem(key, "stored under the wrong name: it says series %s seq %d (replayed or moved?)", Escape(snap.Series), snap.Seq)
			}
			if prevKnown && snap.Prev != prevDigest {
				if seq == 1 {
					v.problem(key, "first in its series, but prev is %q", snap.Prev)
				} else {
					v.problem(key, "chain broken: prev is %s, but seq %d hashes to %s", short(snap.Prev), seq-1, short(prevDigest))
				}
			}
			v.checkConsistency(key, snap, prevStarted)
			prevStarted = snap.StartedAt
			v.checkMarkers(name, seq, snap, f.marker)
			for _, a := range snap.Attachments {
				v.referenced[a.SHA256] = true
			}
			v.signers[snap.KeyID] = true
			v.signedBy(key, snap)
			if f.inPeriod {
				v.reviewRefs = append(v.reviewRefs, f.refs...)
				v.checkAttachments(key, snap, f.atts)
				anchored := v.checkToken(key, snap, f.b, objs.tokens[seq], f.token, f.tokenErr)
				v.checkServerSide(ctx, key, snap, anchored)
			}
		}
		prevDigest = digest
	}
	return nil
}

// checkConsistency checks what a signer could forge but not make agree: time
// along the chain, and the snapshot's id.
//
// A chain going back in time is a note, not a problem: besides a back-dated
// insert, it is what a replica leaves when it flushes the runs it spooled
// during an outage after another replica's newer ones, and nothing in the
// evidence tells the two apart.
func (v *verifier) checkConsistency(key string, snap *evidence.Snapshot, prevStarted time.Time) {
	if snap.StartedAt.Before(prevStarted) {
		v.note(key, "started_at %s is before the previous snapshot's %s: the chain goes back in time (a run spooled by one replica and stored after another's, or back-dated)",
			snap.StartedAt.Format(time.RFC3339Nano), prevStarted.Format(time.RFC3339Nano))
	}
	if first, dup := v.ids[snap.ID]; dup {
		v.problem(key, "id %s is also the id of %s (copied?)", snap.ID, Escape(first))
	} else {
		v.ids[snap.ID] = key
	}
	// Parse has checked the id is a ULID; its time is the start, to the
	// millisecond.
	if id, err := ulid.ParseStrict(snap.ID); err == nil && int64(id.Time()) != snap.StartedAt.UnixMilli() {
		v.problem(key, "id %s was made at %s, but started_at is %s", snap.ID,
			ulid.Time(id.Time()).UTC().Format(time.RFC3339Nano), snap.StartedAt.Format(time.RFC3339Nano))
	}
}

// checkMarkers checks the date-index markers of one snapshot: exactly one,
// on its start date, and empty. Period listings (sample, export, report)
// find snapshots through the index: a snapshot without its marker, or with
// it on another day, silently drops out of them. snap is nil when the
// snapshot is unreadable.
func (v *verifier) checkMarkers(name string, seq int64, snap *evidence.Snapshot, marker *fetchedObject) {
	key := store.SnapshotKey(name, seq)
	days := v.inv.markers[name][seq]
	if len(days) == 0 {
		v.problem(key, "no date-index marker: listings of a period (sample, export, report) would leave it out")
		return
	}
	if snap == nil {
		if len(days) > 1 {
			v.problem(key, "%d date-index markers for one snapshot", len(days))
		}
		return
	}
	want := dayNumber(snap.StartedAt)
	if !slices.Contains(days, want) {
		v.problem(key, "no date-index marker on its start date %s: listings of a period (sample, export, report) would leave it out",
			snap.StartedAt.Format(time.DateOnly))
	}
	for _, d := range days {
		if d != want {
			v.problem(store.IndexKey(dayTime(d), name, seq), "date-index marker on the wrong day: %s started on %s (moved, or a duplicate)",
				key, snap.StartedAt.Format(time.DateOnly))
		}
	}
	switch {
	case marker == nil:
	case marker.err != nil:
		v.problem(store.IndexKey(snap.StartedAt, name, seq), "unreadable: %s", readError(marker.err))
	case marker.size != 0:
		v.problem(store.IndexKey(snap.StartedAt, name, seq), "date-index marker is not empty (%d bytes): markers carry nothing", marker.size)
	}
}

// checkSignature judges the signature of the snapshot stored under key,
// whose SHA-256 is sum; snap is nil when the snapshot is unreadable. It
// only reads v.keys, so read-ahead workers call it side by side.
func (v *verifier) checkSignature(key string, sum []byte, snap *evidence.Snapshot, haveSig bool, raw []byte, err error) *Problem {
	sigKey := store.SignatureKey(key)
	bad := func(key, format string, args ...any) *Problem {
		return &Problem{Key: key, Message: fmt.Sprintf(format, args...)}
	}
	if !haveSig {
		return bad(sigKey, "missing signature")
	}
	if err != nil {
		return bad(sigKey, "unreadable signature: %v", err)
	}
	der, err := signing.DecodeSignature(raw)
	if err != nil {
		return bad(sigKey, "%v", err)
	}
	// ecdsa.VerifyASN1 over the digest already taken is signing.Verify
	// without hashing the bytes a second time.
	if snap != nil {
		pub, ok := v.keys[snap.KeyID]
		if !ok {
			return bad(key, "signed by key %s, which is not among the %s keys", short(snap.KeyID), v.keySource())
		}
		if !ecdsa.VerifyASN1(pub, sum, der) {
			return bad(sigKey, "signature does not verify against key %s", short(snap.KeyID))
		}
		return nil
	}
	// The snapshot is unreadable; say whether any key signed these bytes.
	for _, pub := range v.keys {
		if ecdsa.VerifyASN1(pub, sum, der) {
			return nil
		}
	}
	return bad(sigKey, "signature does not verify against any %s key", v.keySource())
}

func (v *verifier) keySource() string {
	if len(v.opts.TrustedKeys) > 0 {
		return "trusted"
	}
	return "published"
}

func (v *verifier) checkAttachments(key string, snap *evidence.Snapshot, atts []fetchedObject) {
	for i, a := range snap.Attachments {
		akey := store.AttachmentKey(a.SHA256)
		got := atts[i]
		if errors.Is(got.err, store.ErrNotExist) {
			v.problem(akey, "attachment %q of %s is missing", a.Name, key)
			continue
		}
		if got.err != nil {
			v.problem(akey, "unreadable: %s", readError(got.err))
			continue
		}
		if got.digest != a.SHA256 || got.size != a.Size {
			v.problem(akey, "attachment %q of %s altered: content hashes to %s", a.Name, key, short(got.digest))
		}
	}
}

// orphanMarkers reports date-index markers whose snapshot is absent: a
// removed snapshot, even from the end of a series where the chain alone
// cannot show it.
func (v *verifier) orphanMarkers() {
	for _, name := range slices.Sorted(maps.Keys(v.inv.markers)) {
		objs := v.inv.series[name]
		for seq, days := range v.inv.markers[name] {
			if objs != nil && objs.snapshots[seq] {
				continue // checked with its snapshot
			}
			// Gaps inside a series were already reported by the chain walk.
			if objs != nil && (objs.sigs[seq] || seq < objs.maxSeq()) {
				continue
			}
			for _, d := range days {
				v.problem(store.SnapshotKey(name, seq), "missing: the date index lists it (%s) but the snapshot is absent",
					Escape(store.IndexKey(dayTime(d), name, seq)))
			}
		}
	}
}

func (o *seriesObjects) maxSeq() int64 {
	var m int64
	for seq := range o.snapshots {
		m = max(m, seq)
	}
	for seq := range o.sigs {
		m = max(m, seq)
	}
	return m
}

// strayAttachments notes stored attachments no snapshot references: what is
// left when a snapshot was replaced by one that does not name them, but also
// when the agent stored a run's attachments and then not its snapshot (a
// duplicate of the run another replica recorded, or a write cut short), so
// a note rather than a problem.
func (v *verifier) strayAttachments() {
	for _, d := range v.inv.attachments {
		if v.referenced[d] {
			continue
		}
		why := "no snapshot references it"
		if v.unreadable > 0 {
			why = fmt.Sprintf("no readable snapshot references it (%d could not be read)", v.unreadable)
		}
		v.note(store.AttachmentKey(d), "unreferenced attachment: %s (a replaced snapshot, or a run whose snapshot was not stored)", why)
	}
}

// unusedKeys notes published keys that sign no snapshot: what is left when a
// chain was re-signed with another key, but also by an agent started with a
// new key that has not run yet.
func (v *verifier) unusedKeys() {
	if v.unreadable > 0 {
		return // an unreadable snapshot may be the one it signs
	}
	for _, key := range v.inv.keys {
		id, ok := strings.CutSuffix(strings.TrimPrefix(key, store.KeysPrefix), ".pem")
		if ok && isDigest(id) && !v.signers[id] && len(v.inv.series) > 0 {
			v.note(key, "published key signs no snapshot in the store (a new key not used yet, or evidence re-signed with another key)")
		}
	}
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	if d == "" {
		return `""`
	}
	return d
}
