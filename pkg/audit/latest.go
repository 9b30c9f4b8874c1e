package audit

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Keys are the public keys a store publishes whose content matches their
// name: what ReadVerified checks signatures against.
type Keys map[string]*ecdsa.PublicKey

// PublishedKeys reads the store's published keys.
func PublishedKeys(ctx context.Context, st store.Store) (Keys, error) {
	k, err := publishedKeys(ctx, st, map[string][]byte{})
	return Keys(k), err
}

// ReadVerified reads one whole snapshot, records included, and returns it
// only if its signature verifies against a published key and it says it
// is the snapshot its key names. It is for the readers that act on a
// snapshot's records (an access review), which must not act on bytes
// nobody signed.
func ReadVerified(ctx context.Context, st store.Store, keys Keys, key string) (*Member, error) {
	b, err := st.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %s", Escape(key), readError(err))
	}
	sig, err := st.Get(ctx, store.SignatureKey(key))
	if err != nil {
		return nil, fmt.Errorf("signature of %s: %s (run exhibit verify)", Escape(key), readError(err))
	}
	snap, err := evidence.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %s (run exhibit verify)", Escape(key), EscapeText(strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
	if res := checkSig(keys, snap.KeyID, b, sig, fmt.Sprintf); res != "verified" {
		return nil, fmt.Errorf("snapshot %s: signature: %s (run exhibit verify)", Escape(key), EscapeText(res))
	}
	if series, seq, ok := store.ParseSnapshotKey(key); !ok || snap.Series != series || snap.Seq != seq {
		return nil, fmt.Errorf("snapshot %s says series %s seq %d: stored under the wrong name (run exhibit verify)", Escape(key), Escape(snap.Series), snap.Seq)
	}
	return &Member{Key: key, SHA256: evidence.Digest(b), Snapshot: snap}, nil
}

// LatestAt finds, for every series want accepts, its latest snapshot that
// started at or before at, looking back through the date index at most
// lookbackDays days, and reads it verified. Only the date index of those
// days is listed, never the whole store. A series whose latest snapshot
// does not verify is an error naming it — every such series, not only the
// first.
func LatestAt(ctx context.Context, st store.Store, keys Keys, at time.Time, lookbackDays int, want func(series string) bool) (map[string]*Member, error) {
	if lookbackDays < 1 || lookbackDays > MaxPeriodDays {
		return nil, fmt.Errorf("look-back: want 1 to %d days, got %d", MaxPeriodDays, lookbackDays)
	}
	found := map[string]*Member{}
	var errs []error
	day := at.UTC().Truncate(24 * time.Hour)
	for range lookbackDays {
		cands := map[string][]int64{}
		prefix := store.IndexDayPrefix(day)
		err := st.List(ctx, prefix, "", func(key string) error {
			_, series, seq, ok := store.ParseIndexKey(key)
			if ok && evidence.ValidSeries(series) && found[series] == nil && want(series) {
				cands[series] = append(cands[series], seq)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		for series, seqs := range cands {
			slices.Sort(seqs)
			for i := len(seqs) - 1; i >= 0; i-- {
				m, err := ReadVerified(ctx, st, keys, store.SnapshotKey(series, seqs[i]))
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					errs = append(errs, err)
					found[series] = &Member{} // named once; not looked for further back
					break
				}
				if !m.Snapshot.StartedAt.After(at) {
					found[series] = m
					break
				}
			}
		}
		day = day.AddDate(0, 0, -1)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return found, nil
}

// SeriesLatestAt is the latest snapshot of one series that started at or
// before at, read verified; nil when it has none. It lists the series, so
// it is for short series (one access review a quarter).
func SeriesLatestAt(ctx context.Context, st store.Store, keys Keys, series string, at time.Time) (*Member, error) {
	var seqs []int64
	err := st.List(ctx, store.SeriesPrefix(series), "", func(key string) error {
		if s, seq, ok := store.ParseSnapshotKey(key); ok && s == series {
			seqs = append(seqs, seq)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", Escape(store.SeriesPrefix(series)), err)
	}
	slices.Sort(seqs)
	for i := len(seqs) - 1; i >= 0; i-- {
		m, err := ReadVerified(ctx, st, keys, store.SnapshotKey(series, seqs[i]))
		if err != nil {
			return nil, err
		}
		if !m.Snapshot.StartedAt.After(at) {
			return m, nil
		}
	}
	return nil, nil
}

// ReviewType is the collector type of an access review's snapshots (and
// the prefix of its follow-up's), and
// ReviewedRecord the type of the record in them that names an access-list
// snapshot the reviewer reviewed: its key (ID) and its "sha256".
const (
	ReviewType     = "review"
	ReviewedRecord = "review.reviewed_snapshot"
)

// reviewRef is one access-list snapshot a review names.
type reviewRef struct {
	from, key, sha256 string
}

// reviewRefs are the snapshots a review snapshot says it reviewed.
func reviewRefs(from string, snap *evidence.Snapshot) []reviewRef {
	if snap.Collector.Type != ReviewType && snap.Collector.Type != ReviewType+".follow_up" {
		return nil
	}
	var out []reviewRef
	for _, r := range snap.Records {
		if r.Type == ReviewedRecord {
			d, _ := r.Attributes["sha256"].(string)
			out = append(out, reviewRef{from: from, key: r.ID, sha256: d})
		}
	}
	return out
}

// checkReviewRefs: every access-list snapshot a review names must be in
// the store with the digest the review recorded. A review of evidence
// that is not there (deleted since, or never stored) proves nothing.
func (v *verifier) checkReviewRefs(ctx context.Context) error {
	for _, r := range v.reviewRefs {
		o := v.getDigest(ctx, r.key)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(o.err, store.ErrNotExist):
			v.problem(r.from, "the access review references %s, which is not in the store", Escape(r.key))
		case o.err != nil:
			v.problem(r.from, "the access review references %s, which is unreadable: %s", Escape(r.key), readError(o.err))
		case o.digest != r.sha256:
			v.problem(r.from, "the access review references %s with digest %s, but it hashes to %s", Escape(r.key), short(EscapeText(r.sha256)), short(o.digest))
		}
	}
	return nil
}
