package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// TakeCheckpoint records the head of every series the store holds now: the
// newest seq of each, with the SHA-256 of its stored bytes. An auditor who
// keeps it can later prove, with verify --checkpoint, that the store still
// extends every one of those heads.
func TakeCheckpoint(ctx context.Context, st store.Store, now time.Time) (*evidence.Checkpoint, error) {
	newest := map[string]int64{}
	err := st.List(ctx, store.EvidencePrefix, "", func(key string) error {
		// A malformed series name is verify's to report; it has no place in
		// a checkpoint.
		if series, seq, ok := store.ParseSnapshotKey(key); ok && evidence.ValidSeries(series) && seq > newest[series] {
			newest[series] = seq
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list evidence: %w", err)
	}
	if len(newest) == 0 {
		return nil, fmt.Errorf("%s holds no evidence (check the store URL and prefix)", st)
	}
	cp := &evidence.Checkpoint{
		ID:      ulid.MustNew(ulid.Timestamp(now), rand.Reader).String(),
		TakenAt: now, TakenBy: evidence.TakenByReader, Store: st.String(),
	}
	for series, seq := range newest {
		key := store.SnapshotKey(series, seq)
		b, err := st.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", Escape(key), err)
		}
		h := evidence.Head{Series: series, Seq: seq, SHA256: evidence.Digest(b)}
		// The digest is what pins the head; a snapshot verify would call
		// corrupt is still pinned as it is.
		if snap, err := evidence.Parse(b); err == nil {
			h.FinishedAt = snap.FinishedAt
		}
		cp.Heads = append(cp.Heads, h)
	}
	return cp, nil
}

// KeptCheckpoint is a checkpoint an auditor kept, with where it came from.
type KeptCheckpoint struct {
	Name       string
	Checkpoint *evidence.Checkpoint
}

// pinned is the newest head of a series across every checkpoint, and the
// checkpoint that holds it.
type pinned struct {
	head   evidence.Head
	source string
}

// checkCheckpoints reads the agent's stored checkpoints and the kept ones,
// and reports every series whose current chain does not extend the newest
// head they pin: cut short (its newest snapshots deleted), rewritten (the
// pinned snapshot replaced, and the chain after it re-signed) or gone.
// Only the newest pinned head of a series needs reading: an older pinned
// head is an ancestor of it, which the chain walk has already proven.
func (v *verifier) checkCheckpoints(ctx context.Context) error {
	pins := map[string]pinned{}
	pin := func(source string, cp *evidence.Checkpoint) {
		for _, h := range cp.Heads {
			p, ok := pins[h.Series]
			switch {
			case !ok || h.Seq > p.head.Seq:
				pins[h.Series] = pinned{h, source}
			case h.Seq == p.head.Seq && h.SHA256 != p.head.SHA256:
				v.problem(store.SnapshotKey(h.Series, h.Seq), "two checkpoints pin different snapshots at this seq: %s holds %s, %s holds %s (history was rewritten)",
					p.source, short(p.head.SHA256), source, short(h.SHA256))
			}
		}
	}
	for _, k := range v.opts.Checkpoints {
		pin("checkpoint "+Escape(k.Name)+" (taken "+k.Checkpoint.TakenAt.UTC().Format(time.RFC3339)+")", k.Checkpoint)
	}
	for _, key := range v.inv.checkpoints {
		if base, ok := strings.CutSuffix(key, ".sig"); ok {
			if _, _, ok := store.ParseCheckpointKey(base); ok {
				continue // checked with its checkpoint
			}
		}
		if base, ok := strings.CutSuffix(key, ".tsr"); ok {
			if _, _, ok := store.ParseCheckpointKey(base); ok {
				continue // checked with its checkpoint
			}
		}
		if _, _, ok := store.ParseCheckpointKey(key); !ok {
			v.problem(key, "unexpected object among checkpoints")
			continue
		}
		if cp := v.storedCheckpoint(ctx, key); cp != nil {
			pin("stored checkpoint "+Escape(key), cp)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(pins))
	for name := range pins {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := v.extends(ctx, pins[name]); err != nil {
			return err
		}
	}
	return nil
}

// storedCheckpoint reads and checks one of the agent's checkpoints; nil
// when it cannot be relied on (each reason is a problem).
func (v *verifier) storedCheckpoint(ctx context.Context, key string) *evidence.Checkpoint {
	b, err := v.st.Get(ctx, key)
	if err != nil {
		v.problem(key, "unreadable: %v", err)
		return nil
	}
	cp, err := evidence.ParseCheckpoint(b)
	if err != nil {
		v.problem(key, "altered or corrupt checkpoint: %v", err)
		return nil
	}
	if cp.TakenBy != evidence.TakenByAgent {
		v.problem(key, "a stored checkpoint must be the agent's, this one says taken_by %q", cp.TakenBy)
		return nil
	}
	raw, err := v.st.Get(ctx, store.SignatureKey(key))
	if errors.Is(err, store.ErrNotExist) {
		v.problem(store.SignatureKey(key), "missing signature")
		return nil
	}
	if err != nil {
		v.problem(store.SignatureKey(key), "unreadable signature: %v", err)
		return nil
	}
	der, err := signing.DecodeSignature(raw)
	if err != nil {
		v.problem(store.SignatureKey(key), "%v", err)
		return nil
	}
	pub, ok := v.keys[cp.KeyID]
	if !ok {
		v.problem(key, "signed by key %s, which is not among the %s keys", short(cp.KeyID), v.keySource())
		return nil
	}
	if err := signing.Verify(pub, b, der); err != nil {
		v.problem(store.SignatureKey(key), "signature does not verify against key %s", short(cp.KeyID))
		return nil
	}
	v.checkObjectToken(ctx, key, b, cp.TakenAt)
	return cp
}

// extends reports whether the store still holds the pinned head: the same
// bytes at the same seq of the same series.
func (v *verifier) extends(ctx context.Context, p pinned) error {
	h := p.head
	key := store.SnapshotKey(h.Series, h.Seq)
	b, err := v.st.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotExist):
		var newest int64
		lerr := v.st.List(ctx, store.SeriesPrefix(h.Series), "", func(k string) error {
			if s, seq, ok := store.ParseSnapshotKey(k); ok && s == h.Series && seq > newest {
				newest = seq
			}
			return nil
		})
		if lerr != nil {
			return fmt.Errorf("list %s: %w", Escape(store.SeriesPrefix(h.Series)), lerr)
		}
		if newest == 0 {
			v.problem(store.SeriesPrefix(h.Series), "deleted: %s holds this series at seq %d, but the store has no snapshot of it", p.source, h.Seq)
		} else {
			v.problem(key, "cut short: %s holds this series at seq %d, but it now ends at seq %d (its newest snapshots were removed)", p.source, h.Seq, newest)
		}
	case err != nil:
		v.problem(key, "unreadable, so %s cannot be checked: %v", p.source, err)
	case evidence.Digest(b) != h.SHA256:
		v.problem(key, "rewritten: %s pins this snapshot with SHA-256 %s, the store's hashes to %s (history replaced and re-signed)",
			p.source, short(h.SHA256), short(evidence.Digest(b)))
	}
	return nil
}
