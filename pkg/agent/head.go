package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// maxLookback bounds how many snapshots are read back to find the last
// complete window when a series' newest snapshots are partial or failed.
const maxLookback = 100

// head returns the series' latest snapshot as the store has it now. Only keys
// after the cached head are listed, so the cost does not grow with history.
func (a *Agent) head(ctx context.Context, series string) (head, error) {
	a.mu.Lock()
	cached, ok := a.heads[series]
	var h head
	if ok {
		h = *cached
	}
	a.mu.Unlock()

	after := ""
	if h.seq > 0 {
		after = store.SnapshotKey(series, h.seq)
	}
	var latest, signed int64
	err := a.opts.Store.List(ctx, store.SeriesPrefix(series), after, func(key string) error {
		snapKey, isSig := strings.CutSuffix(key, ".sig")
		s, seq, ok := store.ParseSnapshotKey(snapKey)
		switch {
		case !ok || s != series:
		case isSig:
			signed = max(signed, seq)
		default:
			latest = max(latest, seq)
		}
		return nil
	})
	if err != nil {
		return head{}, fmt.Errorf("series %s: list: %w", series, err)
	}
	if latest == 0 {
		return h, nil
	}
	// Newer snapshots exist (first use, or another replica wrote them),
	// perhaps not whole: the next write checks.
	fresh := head{seq: latest, since: h.since, signed: signed == latest}
	for seq := latest; seq >= 1 && latest-seq < maxLookback; seq-- {
		b, err := a.opts.Store.Get(ctx, store.SnapshotKey(series, seq))
		if err != nil {
			return head{}, fmt.Errorf("series %s: read head: %w", series, err)
		}
		if seq <= h.seq {
			// Already accounted for in the cached head.
			break
		}
		snap, err := evidence.Parse(b)
		if seq == latest {
			fresh.digest = evidence.Digest(b)
			if err == nil {
				fresh.startedAt, fresh.schedule, fresh.status = snap.StartedAt, snap.Schedule, snap.Status
				fresh.keyID = snap.KeyID
			} else {
				fresh.damage = err.Error()
			}
		}
		if err != nil {
			// A damaged snapshot is verify's to report; the chain still
			// continues from the bytes the store holds.
			a.log.Warn("unreadable snapshot while finding the series head", zap.String("series", series), zap.Int64("seq", seq), zap.Error(err))
			continue
		}
		if snap.Status == evidence.StatusComplete {
			if snap.Window != nil {
				fresh.since = snap.Window.End
			} else {
				fresh.since = time.Time{}
			}
			break
		}
	}
	a.mu.Lock()
	a.heads[series] = &fresh
	a.mu.Unlock()
	return fresh, nil
}
