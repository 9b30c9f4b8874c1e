package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// MaxPeriodDays bounds the period the readers below accept: each day of the
// period is one listing of the date index.
const MaxPeriodDays = 3660

// Member is one stored snapshot of a period: where it is, the SHA-256 of its
// exact bytes, and what it says.
type Member struct {
	Key      string
	SHA256   string
	Snapshot *evidence.Snapshot
}

// Period is a half-open span of time [From, To), in UTC.
type Period struct {
	From, To time.Time
}

// Validate refuses an empty, reversed or unreasonably long period.
func (p Period) Validate() error {
	switch {
	case p.From.IsZero() || p.To.IsZero():
		return errors.New("period: both from and to are required")
	case !p.To.After(p.From):
		return fmt.Errorf("period: to (%s) must be after from (%s)", p.To.Format(time.RFC3339), p.From.Format(time.RFC3339))
	case p.To.Sub(p.From) > MaxPeriodDays*24*time.Hour:
		return fmt.Errorf("period: longer than %d days", MaxPeriodDays)
	}
	return nil
}

// Contains reports whether t is in [From, To).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// Days lists the UTC days the period touches, each at midnight.
func (p Period) Days() []time.Time {
	var out []time.Time
	first := p.From.UTC().Truncate(24 * time.Hour)
	for d := first; d.Before(p.To); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

// Order is the order in which a reader is handed a period's members.
type Order int

const (
	// ByKey is key order: series by series, each in seq order.
	ByKey Order = iota
	// ByStart is the order the snapshots started in, then by key: the
	// order a finding's status is followed through time in.
	ByStart
)

// Members hands a period's members to a reader one at a time, so that the
// reader can let each go: it keeps what it tallies, never the members.
type Members interface {
	// Each calls fn with each member in the order asked for, and stops
	// with the first error fn returns. Once a member is found that cannot
	// be read or parsed, fn is not called again: Each goes on reading, to
	// name every such member in the error it returns once all are read,
	// and what a reader has made of the members before must be thrown
	// away.
	Each(ctx context.Context, order Order, fn func(Member) error) error
}

// Slice is members held in memory; Each hands them over in the order held
// (ByKey) or sorted by start (ByStart).
type Slice []Member

// Each implements Members.
func (s Slice) Each(ctx context.Context, order Order, fn func(Member) error) error {
	ms := []Member(s)
	if order == ByStart {
		ms = SortByStart(ms)
	}
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// PeriodReader reads the snapshots started in a period from a store, found
// through the date index so that a period is read without listing the
// whole store. It holds the period's keys, and at most readAheadDepth
// members besides the one its reader has.
// (Whether the bytes are the ones that were signed is verify's job.)
type PeriodReader struct {
	st   store.Store
	p    Period
	keys []string // sorted
	load func(context.Context, store.Store, string) (*Member, error)
}

var _ Members = (*PeriodReader)(nil)

// OpenPeriod lists the period's members.
func OpenPeriod(ctx context.Context, st store.Store, p Period) (*PeriodReader, error) {
	return openPeriod(ctx, st, p, loadMember)
}

// openPeriod is OpenPeriod with each member read by load.
func openPeriod(ctx context.Context, st store.Store, p Period, load func(context.Context, store.Store, string) (*Member, error)) (*PeriodReader, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var keys []string
	for _, day := range p.Days() {
		prefix := store.IndexDayPrefix(day)
		err := st.List(ctx, prefix, "", func(key string) error {
			_, series, seq, ok := store.ParseIndexKey(key)
			if !ok || !evidence.ValidSeries(series) {
				return nil // verify reports strays in the index
			}
			k := store.SnapshotKey(series, seq)
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
	}
	slices.Sort(keys)
	return &PeriodReader{st: st, p: p, keys: keys, load: load}, nil
}

// Each implements Members. ByStart costs a first pass that decodes only
// each member's header, to learn when it started: along one series the
// starts may go back in time (a run spooled during an outage and stored
// late), so key order does not give start order. A member whose bytes
// differ between the two passes is named as changed.
func (r *PeriodReader) Each(ctx context.Context, order Order, fn func(Member) error) error {
	keys, digests := r.keys, map[string]string(nil)
	var errs []error
	if order == ByStart {
		var err error
		if keys, digests, errs, err = r.startOrder(ctx); err != nil {
			return err
		}
	}
	type loaded struct {
		m   *Member
		err error
	}
	next, stop := readAhead(ctx, len(keys), readAheadDepth, readAheadBytes, func(ctx context.Context, i int) loaded {
		m, err := r.load(ctx, r.st, keys[i])
		return loaded{m, err}
	})
	defer stop()
	for i := range keys {
		l, err := next(i)
		if err != nil {
			return err
		}
		if l.err == nil && digests != nil && digests[l.m.Key] != l.m.SHA256 {
			l.err = fmt.Errorf("snapshot %s changed while it was read (run exhibit verify)", Escape(l.m.Key))
		}
		if l.err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, l.err) // and go on: every one is named
			continue
		}
		if len(errs) > 0 || !r.p.Contains(l.m.Snapshot.StartedAt) {
			continue
		}
		if err := fn(*l.m); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// startOrder reads every member's header and returns the keys of those
// started in the period in start order, with their digests, and the
// members whose header could not be read, named.
func (r *PeriodReader) startOrder(ctx context.Context) (keys []string, digests map[string]string, errs []error, err error) {
	type start struct {
		key, sha256 string
		at          time.Time
	}
	type loaded struct {
		s   start
		err error
	}
	next, stop := readAhead(ctx, len(r.keys), readAheadDepth, readAheadBytes, func(ctx context.Context, i int) loaded {
		m, err := loadHeader(ctx, r.st, r.keys[i])
		if err != nil {
			return loaded{err: err}
		}
		return loaded{s: start{key: m.Key, sha256: m.SHA256, at: m.Snapshot.StartedAt}}
	})
	defer stop()
	var starts []start
	for i := range r.keys {
		l, err := next(i)
		if err != nil {
			return nil, nil, nil, err
		}
		if l.err != nil {
			if ctx.Err() != nil {
				return nil, nil, nil, ctx.Err()
			}
			errs = append(errs, l.err)
			continue
		}
		if r.p.Contains(l.s.at) {
			starts = append(starts, l.s)
		}
	}
	slices.SortFunc(starts, func(a, b start) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.key, b.key)) })
	keys = make([]string, len(starts))
	digests = make(map[string]string, len(starts))
	for i, s := range starts {
		keys[i], digests[s.key] = s.key, s.sha256
	}
	return keys, digests, errs, nil
}

// LoadPeriod reads every snapshot started in the period into memory, sorted
// by key. A snapshot that cannot be read or parsed is an error naming it —
// every such snapshot, not only the first: a sample or an export must not
// silently leave one out. The readers take a PeriodReader instead, which
// holds one member at a time; this is for small periods and tests.
func LoadPeriod(ctx context.Context, st store.Store, p Period) ([]Member, error) {
	return loadPeriod(ctx, st, p, loadMember)
}

// loadPeriod is LoadPeriod with each member read by load.
func loadPeriod(ctx context.Context, st store.Store, p Period, load func(context.Context, store.Store, string) (*Member, error)) ([]Member, error) {
	r, err := openPeriod(ctx, st, p, load)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(r.keys))
	if err := r.Each(ctx, ByKey, func(m Member) error {
		out = append(out, m)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// loadMember reads and parses one snapshot. The records and calls, which
// make up most of a snapshot (access lists), are dropped: no auditor's
// tool reads them from a member, and a year of them would not fit in
// memory. They stay in the store; a sample re-reads the stored bytes.
func loadMember(ctx context.Context, st store.Store, k string) (*Member, error) {
	b, err := readMember(ctx, st, k)
	if err != nil {
		return nil, err
	}
	snap, err := parseMember(k, b)
	if err != nil {
		return nil, err
	}
	return &Member{Key: k, SHA256: evidence.Digest(b), Snapshot: snap}, nil
}

// readMember reads the stored bytes of a member listed in the date index.
// Read ahead, it then waits for its turn to be parsed (see readAhead).
func readMember(ctx context.Context, st store.Store, k string) ([]byte, error) {
	b, err := st.Get(ctx, k)
	if errors.Is(err, store.ErrNotExist) {
		return nil, fmt.Errorf("snapshot %s is listed in the date index but absent (run exhibit verify)", Escape(k))
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %s (run exhibit verify)", Escape(k), readError(err))
	}
	if err := admit(ctx, len(b)); err != nil {
		return nil, err
	}
	return b, nil
}

// parseMember parses a member's bytes, without its records and calls.
func parseMember(k string, b []byte) (*evidence.Snapshot, error) {
	snap, err := evidence.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %s (run exhibit verify)", Escape(k), EscapeText(strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
	snap.Records, snap.Calls = nil, nil
	return snap, nil
}

// hasControl reports whether a snapshot carries the canonical reference.
func hasControl(s *evidence.Snapshot, ref string) bool {
	return slices.Contains(s.Controls, ref)
}

// findingHas reports whether a finding supports the canonical reference.
func findingHas(f evidence.Finding, ref string) bool {
	return slices.Contains(f.Controls, ref)
}

// seriesOfKey returns the series of a snapshot key, or "".
func seriesOfKey(key string) string {
	s, _, _ := store.ParseSnapshotKey(key)
	return s
}
