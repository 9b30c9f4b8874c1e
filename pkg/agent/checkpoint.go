package agent

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// WriteCheckpoint stores a signed checkpoint of the head of every series
// this agent has written or read: an insider who later deletes a series'
// newest snapshots, or rewrites them, leaves a store that no longer extends
// the checkpoint, which verify reports. It returns the checkpoint's key, ""
// when the agent knows no series yet.
func (a *Agent) WriteCheckpoint(ctx context.Context) (string, error) {
	now := a.opts.Now()
	cp := &evidence.Checkpoint{
		ID:      ulid.MustNew(ulid.Timestamp(now), rand.Reader).String(),
		TakenAt: now, TakenBy: evidence.TakenByAgent, KeyID: a.keyID,
	}
	a.mu.Lock()
	for series, h := range a.heads {
		if h.seq > 0 {
			cp.Heads = append(cp.Heads, evidence.Head{Series: series, Seq: h.seq, SHA256: h.digest})
		}
	}
	a.mu.Unlock()
	if len(cp.Heads) == 0 {
		return "", nil
	}
	b, err := evidence.EncodeCheckpoint(cp)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	// Nothing new since the last checkpoint: another would pin nothing more.
	heads, err := evidence.Canonical(cp.Heads)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	pinned := evidence.Digest(heads)
	a.mu.Lock()
	same := pinned == a.checkpointed
	a.mu.Unlock()
	if same {
		return "", nil
	}
	sig, err := a.opts.Signer.Sign(ctx, b)
	if err != nil {
		return "", fmt.Errorf("checkpoint: sign: %w", err)
	}
	// The signature goes first: a crash between the two writes leaves a
	// signature of nothing, which readers ignore, rather than a checkpoint
	// that verify would report as unsigned.
	key := store.CheckpointKey(now, cp.ID)
	if err := a.opts.Store.Put(ctx, store.SignatureKey(key), signing.EncodeSignature(sig)); err != nil {
		return "", fmt.Errorf("checkpoint: store the signature of %s: %w", key, err)
	}
	if err := a.opts.Store.Put(ctx, key, b); err != nil {
		return "", fmt.Errorf("checkpoint: store %s: %w", key, err)
	}
	// With a TSA, the checkpoint is dated too: a kept copy of it then
	// proves when the heads it pins already existed.
	if tok := a.stampObject(ctx, key, b); tok != nil {
		if err := a.putToken(ctx, key, tok); err != nil {
			a.log.Warn("checkpoint written without its time-stamp token", zap.String("key", key), zap.Error(err))
		}
	}
	a.mu.Lock()
	a.checkpointed = pinned
	a.mu.Unlock()
	a.log.Info("checkpoint written", zap.String("key", key), zap.Int("series", len(cp.Heads)))
	return key, nil
}

// CheckpointInterval is how often the daemon writes a checkpoint (when a
// series moved since the last one).
const CheckpointInterval = time.Hour

// RunCheckpoints writes a checkpoint every interval until ctx is done. A
// store that cannot take one now is told again at the next tick.
func (a *Agent) RunCheckpoints(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := a.WriteCheckpoint(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("checkpoint not written; the next one will cover it", zap.Error(err))
		}
	}
}
