package audit

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// LatestReader reads the latest snapshot of each series of a collector
// type, as a store-reading step (identity.reconcile) joins them: every
// snapshot re-hashed, parsed and its signature checked against the keys
// the store publishes, exactly as verify and sample check them. It never
// trusts the store: a snapshot that does not verify is an input with an
// error, never data.
type LatestReader struct {
	Store store.Store
	// Instances maps a collector type to its configured instance ids.
	Instances map[string][]string
}

var _ collector.EvidenceReader = (*LatestReader)(nil)

// Latest implements collector.EvidenceReader.
func (r *LatestReader) Latest(ctx context.Context, collectorType string) ([]collector.Input, error) {
	ids := r.Instances[collectorType]
	if len(ids) == 0 {
		return nil, nil
	}
	keys, err := publishedKeys(ctx, r.Store, map[string][]byte{})
	if err != nil {
		return nil, err
	}
	var out []collector.Input
	for _, id := range ids {
		heads, err := r.heads(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(heads) == 0 {
			out = append(out, collector.Input{Instance: id,
				Err: fmt.Errorf("%s (%s): no snapshot in the store yet", Escape(id), collectorType)})
			continue
		}
		for _, series := range slices.Sorted(maps.Keys(heads)) {
			in := r.read(ctx, keys, collectorType, id, series, heads[series])
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			out = append(out, in)
		}
	}
	return out, nil
}

// heads lists the instance's series and the highest seq stored in each.
func (r *LatestReader) heads(ctx context.Context, id string) (map[string]int64, error) {
	prefix := store.SeriesPrefix(evidence.SeriesName(id, "x"))
	prefix = strings.TrimSuffix(prefix, "x/") // evidence/<id>/
	heads := map[string]int64{}
	err := r.Store.List(ctx, prefix, "", func(key string) error {
		series, seq, ok := store.ParseSnapshotKey(key)
		if !ok || !evidence.ValidSeries(series) {
			return nil // signatures, tokens, strays: verify reports strays
		}
		heads[series] = max(heads[series], seq)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", Escape(prefix), err)
	}
	return heads, nil
}

// read fetches, checks and parses one series' latest snapshot.
func (r *LatestReader) read(ctx context.Context, keys map[string]*ecdsa.PublicKey, typ, id, series string, seq int64) collector.Input {
	in := collector.Input{Instance: id, Series: series, Seq: seq}
	key := store.SnapshotKey(series, seq)
	fail := func(format string, args ...any) collector.Input {
		in.Err = fmt.Errorf("%s: %s", Escape(key), fmt.Sprintf(format, args...))
		return in
	}
	b, err := r.Store.Get(ctx, key)
	if err != nil {
		return fail("read: %s", readError(err))
	}
	in.SHA256 = evidence.Digest(b)
	sig, err := r.Store.Get(ctx, store.SignatureKey(key))
	if errors.Is(err, store.ErrNotExist) {
		return fail("no signature is stored beside it")
	}
	if err != nil {
		return fail("read signature: %s", readError(err))
	}
	snap, err := evidence.Parse(b)
	if err != nil {
		return fail("%s", EscapeText(strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
	var why string
	if checkSig(keys, snap.KeyID, b, sig, func(format string, args ...any) string {
		why = fmt.Sprintf(format, args...)
		return why
	}) != "verified" {
		return fail("signature: %s", EscapeText(why))
	}
	switch {
	case snap.Series != series || snap.Seq != seq:
		return fail("claims to be %s seq %d", Escape(snap.Series), snap.Seq)
	case snap.Collector.Type != typ:
		return fail("is a %s snapshot, not %s", Escape(snap.Collector.Type), typ)
	}
	in.Snapshot = snap
	return in
}
