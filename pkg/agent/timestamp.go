package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Timestamper gets an RFC 3161 time-stamp token over data from a
// time-stamping authority (timestamp.Client).
type Timestamper interface {
	Stamp(ctx context.Context, data []byte) ([]byte, error)
}

// stampTimeout bounds one request to the TSA: a TSA that does not answer
// must not hold a series' write.
const stampTimeout = 30 * time.Second

// stamp asks the TSA for a token over a snapshot's bytes, as soon as they
// are signed, so that the token dates them even when the store takes them
// late (from the spool). A TSA that fails leaves no token: the snapshot is
// written all the same, and the token fetched later (attachTokens).
func (a *Agent) stamp(ctx context.Context, series string, seq int64, b []byte) []byte {
	if a.opts.Timestamper == nil {
		return nil
	}
	return stampWith(ctx, a.opts.Timestamper, b, func(err error) {
		a.log.Warn("time-stamp token pending: the TSA did not give one; the snapshot is written and the token fetched later",
			zap.String("series", series), zap.Int64("seq", seq), zap.Error(err))
		a.mu.Lock()
		a.pendingTokens[series] = true
		a.mu.Unlock()
	})
}

// stampObject is stamp for an object outside the series (a checkpoint): a
// TSA that does not answer leaves it without a token, which is logged.
func (a *Agent) stampObject(ctx context.Context, key string, b []byte) []byte {
	if a.opts.Timestamper == nil {
		return nil
	}
	return stampWith(ctx, a.opts.Timestamper, b, func(err error) {
		a.log.Warn("no time-stamp token: the TSA did not give one", zap.String("key", key), zap.Error(err))
	})
}

// stampWith asks tsa for a token over b, bounded by stampTimeout; nil when
// it gave none (onErr is told why).
func stampWith(ctx context.Context, tsa Timestamper, b []byte, onErr func(error)) []byte {
	ctx, cancel := context.WithTimeout(ctx, stampTimeout)
	defer cancel()
	tok, err := tsa.Stamp(ctx, b)
	if err != nil {
		onErr(err)
		return nil
	}
	return tok
}

// putToken stores a snapshot's token beside it. One already there (another
// replica's, or an earlier attempt's) stands: verify checks whichever it is.
func (a *Agent) putToken(ctx context.Context, key string, tok []byte) error {
	if err := a.opts.Store.Put(ctx, store.TokenKey(key), tok); err != nil && !errors.Is(err, store.ErrExists) {
		return &storeError{fmt.Errorf("store time-stamp token of %s: %w", key, err)}
	}
	return nil
}

// attachTokens gives the snapshots of a series below seq that have no
// token one now, newest first, until it meets one that has a token (or
// maxLookback of them): tokens that were pending while the TSA was out of
// reach, in this process or one that stopped. Such a token is later than
// the snapshot's finished_at, which verify reports for the auditor to
// judge; a snapshot without any would be worse.
func (a *Agent) attachTokens(ctx context.Context, series string, seq int64) error {
	if a.opts.Timestamper == nil {
		return nil
	}
	for s := seq; s >= 1 && seq-s < maxLookback; s-- {
		key := store.SnapshotKey(series, s)
		_, err := a.opts.Store.Get(ctx, store.TokenKey(key))
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotExist) {
			return &storeError{fmt.Errorf("read time-stamp token of %s: %w", key, err)}
		}
		b, err := a.opts.Store.Get(ctx, key)
		if errors.Is(err, store.ErrNotExist) {
			return nil // not this series' to fill: verify reports the gap
		}
		if err != nil {
			return &storeError{fmt.Errorf("read %s: %w", key, err)}
		}
		if _, perr := evidence.Parse(b); perr != nil {
			return nil // damaged: a token would vouch for what verify rejects
		}
		tok := a.stamp(ctx, series, s, b)
		if tok == nil {
			return nil // still pending
		}
		if err := a.putToken(ctx, key, tok); err != nil {
			return err
		}
		a.log.Info("pending time-stamp token attached", zap.String("key", key))
	}
	return nil
}

// RunTimestamps attaches pending tokens every interval until ctx is done.
// Without a TSA it only waits: it runs beside the daemon's other parts,
// and returning early would stop them all.
func (a *Agent) RunTimestamps(ctx context.Context, interval time.Duration) error {
	if a.opts.Timestamper == nil {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		a.AttachPendingTokens(ctx)
	}
}

// AttachPendingTokens tries once to attach every token still pending.
func (a *Agent) AttachPendingTokens(ctx context.Context) {
	a.mu.Lock()
	var series []string
	for s := range a.pendingTokens {
		series = append(series, s)
	}
	a.mu.Unlock()
	for _, s := range series {
		lock := a.seriesLock(s)
		lock.Lock()
		a.mu.Lock()
		delete(a.pendingTokens, s)
		h, ok := a.heads[s]
		var seq int64
		if ok {
			seq = h.seq
		}
		a.mu.Unlock()
		if seq > 0 {
			if err := a.attachTokens(ctx, s, seq); err != nil {
				a.mu.Lock()
				a.pendingTokens[s] = true
				a.mu.Unlock()
				a.log.Warn("pending time-stamp tokens not attached yet", zap.String("series", s), zap.Error(err))
			}
		}
		lock.Unlock()
	}
}
