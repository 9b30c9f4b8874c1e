// Package audit reads a store as an auditor does: verify integrity, and (in
// later files) sample, export and report. Nothing here needs the agent's
// configuration or credentials, only read access to the store.
package audit

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Problem is one integrity failure, named by the object it concerns.
type Problem struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Key + ": " + p.Message }

// VerifyOptions narrow and shape a verification.
type VerifyOptions struct {
	// From and To, when set, limit the snapshots checked to those started in
	// [From, To). Chains are still walked from the start so that a link
	// into the period is proven. When both are set, the completeness stage
	// also reports every run a series' schedule called for in the period
	// that left no snapshot (see completeness.go).
	From, To time.Time
	// TrustedKeys, when set, are the only keys accepted, whatever the store
	// publishes: an auditor pins the key obtained out of band.
	TrustedKeys []*ecdsa.PublicKey
	// OnProblem is called for each problem as it is found.
	OnProblem func(Problem)
	// OnProgress is called after each series is checked.
	OnProgress func(series string, done, total int)
	// StoreDelay is how much later than its finished_at a snapshot may have
	// been stored, by the server's clock, where the store records it (S3);
	// DefaultStoreDelay when zero.
	StoreDelay time.Duration
	// Checkpoints are checkpoints the auditor kept: every series they pin
	// must still be extended by the store (as must those the agent stored).
	Checkpoints []KeptCheckpoint
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
}

// OK reports whether nothing was wrong.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

type verifier struct {
	st     store.Store
	opts   VerifyOptions
	keys   map[string]*ecdsa.PublicKey
	report *VerifyReport
	runs   map[string][]run // series → its readable snapshots, for completeness
	server *serverSide      // the store's own record of versions, if it keeps one
}

func (v *verifier) problem(key, format string, args ...any) {
	p := Problem{Key: key, Message: fmt.Sprintf(format, args...)}
	v.report.Problems = append(v.report.Problems, p)
	if v.opts.OnProblem != nil {
		v.opts.OnProblem(p)
	}
}

// Verify re-hashes every snapshot, checks every signature against the
// published (or trusted) keys, walks every chain and checks attachments and
// the date index. It reports every problem rather than stopping at the first;
// the error is only for a store that could not be read.
func Verify(ctx context.Context, st store.Store, opts VerifyOptions) (*VerifyReport, error) {
	v := &verifier{st: st, opts: opts, keys: map[string]*ecdsa.PublicKey{}, report: &VerifyReport{Problems: []Problem{}}}
	if err := v.loadKeys(ctx); err != nil {
		return nil, err
	}
	if err := v.loadServerSide(ctx); err != nil {
		return nil, err
	}
	series, err := listSeries(ctx, st)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(series))
	for name := range series {
		names = append(names, name)
	}
	sort.Strings(names)
	v.report.Series = len(names)
	for i, name := range names {
		if err := v.series(ctx, name, series[name]); err != nil {
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
	v.reportLocks()
	if err := v.checkCheckpoints(ctx); err != nil {
		return nil, err
	}
	if err := v.index(ctx, series); err != nil {
		return nil, err
	}
	return v.report, nil
}

func (v *verifier) loadKeys(ctx context.Context) error {
	err := v.st.List(ctx, store.KeysPrefix, "", func(key string) error {
		id, ok := strings.CutSuffix(strings.TrimPrefix(key, store.KeysPrefix), ".pem")
		if !ok {
			v.problem(key, "unexpected object among published keys")
			return nil
		}
		b, err := v.st.Get(ctx, key)
		if err != nil {
			return err
		}
		pub, err := signing.ParsePublicKey(b)
		if err != nil {
			v.problem(key, "published key unreadable: %v", err)
			return nil
		}
		got, err := signing.KeyID(pub)
		if err != nil {
			return err
		}
		if got != id {
			v.problem(key, "published key does not match its id (its content hashes to %s): the key was replaced", got)
			return nil
		}
		v.keys[id] = pub
		return nil
	})
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	v.report.Keys = len(v.keys)
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
	if len(v.keys) == 0 {
		v.problem(store.KeysPrefix, "no usable public key is published")
	}
	return nil
}

// seriesObjects is what one series' listing holds.
type seriesObjects struct {
	snapshots map[int64]bool
	sigs      map[int64]bool
	other     []string
}

func listSeries(ctx context.Context, st store.Store) (map[string]*seriesObjects, error) {
	out := map[string]*seriesObjects{}
	get := func(name string) *seriesObjects {
		s := out[name]
		if s == nil {
			s = &seriesObjects{snapshots: map[int64]bool{}, sigs: map[int64]bool{}}
			out[name] = s
		}
		return s
	}
	err := st.List(ctx, store.EvidencePrefix, "", func(key string) error {
		if name, seq, ok := store.ParseSnapshotKey(key); ok {
			get(name).snapshots[seq] = true
			return nil
		}
		if base, isSig := strings.CutSuffix(key, ".sig"); isSig {
			if name, seq, ok := store.ParseSnapshotKey(base); ok {
				get(name).sigs[seq] = true
				return nil
			}
		}
		rest := strings.TrimPrefix(key, store.EvidencePrefix)
		name := rest
		if parts := strings.SplitN(rest, "/", 3); len(parts) == 3 {
			name = parts[0] + "/" + parts[1]
		}
		get(name).other = append(get(name).other, key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list evidence: %w", err)
	}
	return out, nil
}

func (o *seriesObjects) max() int64 {
	var m int64
	for seq := range o.snapshots {
		m = maxInt(m, seq)
	}
	for seq := range o.sigs {
		m = maxInt(m, seq)
	}
	return m
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
	snap     *evidence.Snapshot
	perr     error
	inPeriod bool
	sig      []byte // when inPeriod and a signature exists
	sigErr   error
	atts     []fetchedObject // when inPeriod, one per snapshot attachment
}

type fetchedObject struct {
	b   []byte
	err error
}

func (v *verifier) fetch(ctx context.Context, key string, haveSig bool) fetched {
	var f fetched
	if f.b, f.err = v.st.Get(ctx, key); f.err != nil {
		return f
	}
	f.snap, f.perr = evidence.Parse(f.b)
	f.inPeriod = f.perr != nil || v.inPeriod(f.snap.StartedAt)
	if !f.inPeriod {
		return f
	}
	if haveSig {
		f.sig, f.sigErr = v.st.Get(ctx, store.SignatureKey(key))
	}
	if f.perr == nil {
		for _, a := range f.snap.Attachments {
			b, err := v.st.Get(ctx, store.AttachmentKey(a.SHA256))
			f.atts = append(f.atts, fetchedObject{b, err})
		}
	}
	return f
}

func (v *verifier) series(ctx context.Context, name string, objs *seriesObjects) error {
	for _, key := range objs.other {
		v.problem(key, "unexpected object in the evidence tree")
	}
	max := objs.max()
	for seq := range objs.sigs {
		if !objs.snapshots[seq] {
			v.problem(store.SnapshotKey(name, seq), "missing: its signature exists but the snapshot does not (deleted?)")
		}
	}
	var present []int64
	for seq := int64(1); seq <= max; seq++ {
		if objs.snapshots[seq] {
			present = append(present, seq)
		}
	}
	next, stop := readAhead(ctx, len(present), readAheadDepth, func(ctx context.Context, i int) fetched {
		return v.fetch(ctx, store.SnapshotKey(name, present[i]), objs.sigs[present[i]])
	})
	defer stop()
	prevDigest := ""
	prevKnown := true
	read := 0
	for seq := int64(1); seq <= max; seq++ {
		key := store.SnapshotKey(name, seq)
		if !objs.snapshots[seq] {
			if !objs.sigs[seq] {
				v.problem(key, "missing: seq %d of %d is absent from the series (deleted?)", seq, max)
			}
			prevKnown = false
			continue
		}
		f, err := next(read)
		read++
		if err == nil {
			err = f.err
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		digest := evidence.Digest(f.b)
		snap, perr := f.snap, f.perr
		if f.inPeriod {
			v.report.Snapshots++
			v.checkSignature(key, f.b, snap, objs.sigs[seq], f.sig, f.sigErr)
		}
		if perr != nil {
			v.problem(key, "altered or corrupt: %v", perr)
		} else {
			v.observeRun(name, snap.StartedAt, snap.Schedule)
			if snap.Series != name || snap.Seq != seq {
				v.problem(key, "stored under the wrong name: it says series %s seq %d (replayed or moved?)", snap.Series, snap.Seq)
			}
			if prevKnown && snap.Prev != prevDigest {
				if seq == 1 {
					v.problem(key, "first in its series, but prev is %q", snap.Prev)
				} else {
					v.problem(key, "chain broken: prev is %s, but seq %d hashes to %s", short(snap.Prev), seq-1, short(prevDigest))
				}
			}
			if f.inPeriod {
				v.checkAttachments(key, snap, f.atts)
				v.checkServerSide(ctx, key, snap)
			}
		}
		prevDigest, prevKnown = digest, true
	}
	return nil
}

func (v *verifier) checkSignature(key string, b []byte, snap *evidence.Snapshot, haveSig bool, raw []byte, err error) {
	sigKey := store.SignatureKey(key)
	if !haveSig {
		v.problem(sigKey, "missing signature")
		return
	}
	if err != nil {
		v.problem(sigKey, "unreadable signature: %v", err)
		return
	}
	der, err := signing.DecodeSignature(raw)
	if err != nil {
		v.problem(sigKey, "%v", err)
		return
	}
	if snap != nil {
		pub, ok := v.keys[snap.KeyID]
		if !ok {
			v.problem(key, "signed by key %s, which is not among the %s keys", short(snap.KeyID), v.keySource())
			return
		}
		if err := signing.Verify(pub, b, der); err != nil {
			v.problem(sigKey, "signature does not verify against key %s", short(snap.KeyID))
		}
		return
	}
	// The snapshot is unreadable; say whether any key signed these bytes.
	for _, pub := range v.keys {
		if signing.Verify(pub, b, der) == nil {
			return
		}
	}
	v.problem(sigKey, "signature does not verify against any %s key", v.keySource())
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
		b, err := atts[i].b, atts[i].err
		if errors.Is(err, store.ErrNotExist) {
			v.problem(akey, "attachment %q of %s is missing", a.Name, key)
			continue
		}
		if err != nil {
			v.problem(akey, "unreadable: %v", err)
			continue
		}
		if got := evidence.Digest(b); got != a.SHA256 || int64(len(b)) != a.Size {
			v.problem(akey, "attachment %q of %s altered: content hashes to %s", a.Name, key, short(got))
		}
	}
}

// index checks that every date-index marker points at a snapshot: a marker
// without its snapshot means the snapshot was removed, even from the end of a
// series where the chain alone cannot show it.
func (v *verifier) index(ctx context.Context, series map[string]*seriesObjects) error {
	indexed := map[string]map[int64]bool{}
	err := v.st.List(ctx, store.IndexPrefix, "", func(key string) error {
		_, name, seq, ok := store.ParseIndexKey(key)
		if !ok {
			v.problem(key, "unexpected object in the date index")
			return nil
		}
		if indexed[name] == nil {
			indexed[name] = map[int64]bool{}
		}
		indexed[name][seq] = true
		objs := series[name]
		// Gaps inside a series were already reported by the chain walk.
		if objs == nil || !objs.snapshots[seq] && !objs.sigs[seq] && seq > objs.max() {
			v.problem(store.SnapshotKey(name, seq), "missing: the date index lists it (%s) but the snapshot is absent", key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list index: %w", err)
	}
	// Period listings (sample, export, report) find snapshots through the
	// index; one without a marker would silently drop out of them.
	for name, objs := range series {
		for seq := range objs.snapshots {
			if !indexed[name][seq] {
				v.problem(store.SnapshotKey(name, seq), "no date-index marker: listings of a period (sample, export, report) would leave it out")
			}
		}
	}
	slices.SortStableFunc(v.report.Problems, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
	return nil
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

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
