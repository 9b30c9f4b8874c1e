package audit

import (
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

// LoadPeriod reads every snapshot started in the period, found through the
// date index so that a period is read without listing the whole store, and
// returns them sorted by key. A snapshot that cannot be read or parsed is an
// error naming it — every such snapshot, not only the first: a sample or an
// export must not silently leave one out.
// (Whether the bytes are the ones that were signed is verify's job.)
func LoadPeriod(ctx context.Context, st store.Store, p Period) ([]Member, error) {
	return loadPeriod(ctx, st, p, loadMember)
}

// loadPeriod is LoadPeriod with each member read by load.
func loadPeriod(ctx context.Context, st store.Store, p Period, load func(context.Context, store.Store, string) (*Member, error)) ([]Member, error) {
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
	type loaded struct {
		m   *Member
		err error
	}
	next, stop := readAhead(ctx, len(keys), readAheadDepth, func(ctx context.Context, i int) loaded {
		m, err := load(ctx, st, keys[i])
		return loaded{m, err}
	})
	defer stop()
	out := make([]Member, 0, len(keys))
	var errs []error
	for i := range keys {
		l, err := next(i)
		if err != nil {
			return nil, err
		}
		if l.err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, l.err) // and go on: every one is named
			continue
		}
		if p.Contains(l.m.Snapshot.StartedAt) {
			out = append(out, *l.m)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
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
func readMember(ctx context.Context, st store.Store, k string) ([]byte, error) {
	b, err := st.Get(ctx, k)
	if errors.Is(err, store.ErrNotExist) {
		return nil, fmt.Errorf("snapshot %s is listed in the date index but absent (run exhibit verify)", Escape(k))
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %s (run exhibit verify)", Escape(k), readError(err))
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
