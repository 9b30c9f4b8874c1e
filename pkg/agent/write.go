package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// maxClaimAttempts bounds how often a writer re-reads the head after another
// writer claimed the next number first.
const maxClaimAttempts = 10

// storeError marks a failure of the store to take evidence: the snapshot is
// spooled rather than lost.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (a *Agent) writeLocked(ctx context.Context, job Job, scope evidence.Scope, series string, o *outcome) (Written, error) {
	// Evidence of a run must reach the store even when the run itself was
	// cut short by its timeout or a shutdown.
	ctx = context.WithoutCancel(ctx)
	snap, atts := a.build(job, scope, series, o)
	e := &spoolEntry{Snapshot: snap, Attachments: atts, OncePerSlot: job.OncePerSlot}
	var err error
	if a.opts.Spool.has(series) {
		// Older evidence of this series is waiting; it goes first.
		err = a.flushSeries(ctx, series)
	}
	var w Written
	if err == nil {
		w, err = a.upload(ctx, series, e)
	}
	var se *storeError
	if err != nil && a.opts.Spool != nil && errors.As(err, &se) {
		return a.spoolEntry(series, e, err)
	}
	return w, err
}

// upload chains (if needed), signs and writes one snapshot with its
// signature, attachments and index marker.
func (a *Agent) upload(ctx context.Context, series string, e *spoolEntry) (Written, error) {
	snap := e.Snapshot
	for _, att := range e.Attachments {
		key := store.AttachmentKey(evidence.Digest(att.Data))
		if err := a.opts.Store.Put(ctx, key, att.Data); err != nil && !errors.Is(err, store.ErrExists) {
			return Written{}, &storeError{fmt.Errorf("series %s: store attachment %s: %w", series, att.Name, err)}
		}
	}
	for attempt := 1; ; attempt++ {
		h, err := a.head(ctx, series)
		if err != nil {
			return Written{}, &storeError{err}
		}
		if e.OncePerSlot && h.sameSlot(snap) {
			a.log.Info("run slot already recorded by another writer; this run's snapshot is not stored",
				zap.String("series", series), zap.Int64("recorded_seq", h.seq), zap.Time("started_at", snap.StartedAt))
			return Written{Series: series, Seq: h.seq, Status: snap.Status, Summary: snap.Summary(), Snapshot: snap, Duplicate: true}, nil
		}
		if e.Bytes == nil || snap.Seq != h.seq+1 || snap.Prev != h.digest {
			if err := a.chain(ctx, e, h); err != nil {
				return Written{}, fmt.Errorf("series %s: %w", series, err)
			}
		}
		key := store.SnapshotKey(series, snap.Seq)
		err = a.opts.Store.Put(ctx, key, e.Bytes)
		if errors.Is(err, store.ErrExists) {
			have, gerr := a.opts.Store.Get(ctx, key)
			if gerr != nil {
				return Written{}, &storeError{fmt.Errorf("series %s: read %s: %w", series, key, gerr)}
			}
			if !bytes.Equal(have, e.Bytes) {
				if attempt >= maxClaimAttempts {
					return Written{}, &storeError{fmt.Errorf("series %s: lost the claim on the next seq %d times in a row", series, attempt)}
				}
				// Another writer took this number: re-read the head and chain after it.
				a.forget(series)
				continue
			}
			// Ours, from an earlier attempt that did not finish.
			err = nil
		}
		if err != nil {
			return Written{}, &storeError{fmt.Errorf("series %s: store snapshot %d: %w", series, snap.Seq, err)}
		}
		sig := signing.EncodeSignature(e.Signature)
		if err := a.opts.Store.Put(ctx, store.SignatureKey(key), sig); err != nil {
			if !errors.Is(err, store.ErrExists) {
				return Written{}, &storeError{fmt.Errorf("series %s: store signature of %s: %w", series, key, err)}
			}
			if have, gerr := a.opts.Store.Get(ctx, store.SignatureKey(key)); gerr != nil || !bytes.Equal(have, sig) {
				return Written{}, fmt.Errorf("series %s: a different signature is already stored for %s", series, key)
			}
		}
		if err := a.opts.Store.Put(ctx, store.IndexKey(snap.StartedAt, series, snap.Seq), nil); err != nil && !errors.Is(err, store.ErrExists) {
			return Written{}, &storeError{fmt.Errorf("series %s: store index of %s: %w", series, key, err)}
		}
		a.advance(series, snap, evidence.Digest(e.Bytes))
		a.opts.Metrics.observe(snap.Collector.ID, snap)
		a.log.Info("snapshot written", zap.String("collector", snap.Collector.ID), zap.String("key", key), zap.String("status", string(snap.Status)), zap.Int("findings", len(snap.Findings)))
		return Written{Key: key, Series: series, Seq: snap.Seq, Status: snap.Status, Summary: snap.Summary(), Errors: snap.Errors, Snapshot: snap}, nil
	}
}

// chain gives the snapshot its place after h, a fresh id, and signs it.
func (a *Agent) chain(ctx context.Context, e *spoolEntry, h head) error {
	snap := e.Snapshot
	snap.Seq, snap.Prev = h.seq+1, h.digest
	snap.ID = ulid.MustNew(ulid.Timestamp(snap.StartedAt), rand.Reader).String()
	b, err := evidence.Encode(snap)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	sig, err := a.opts.Signer.Sign(ctx, b)
	if err != nil {
		return fmt.Errorf("sign snapshot: %w", err)
	}
	e.Bytes, e.Signature = b, sig
	return nil
}

// spoolEntry keeps a snapshot the store did not take. It is chained and
// signed now when the series' position is known (from the cache or the
// newest spooled entry), else on upload.
func (a *Agent) spoolEntry(series string, e *spoolEntry, cause error) (Written, error) {
	snap := e.Snapshot
	last, err := a.opts.Spool.last(series)
	if err != nil {
		return Written{}, fmt.Errorf("%w (and the spool failed: %v)", cause, err)
	}
	var base *head
	switch {
	case last != nil && last.Bytes != nil:
		base = &head{seq: last.Snapshot.Seq, digest: evidence.Digest(last.Bytes)}
	case last == nil:
		a.mu.Lock()
		if h, ok := a.heads[series]; ok {
			c := *h
			base = &c
		}
		a.mu.Unlock()
	}
	e.Bytes, e.Signature = nil, nil
	if base != nil {
		if err := a.chain(context.Background(), e, *base); err != nil {
			return Written{}, fmt.Errorf("series %s: %w", series, err)
		}
	}
	if err := a.opts.Spool.add(series, e); err != nil {
		return Written{}, fmt.Errorf("%w (and the spool failed: %v)", cause, err)
	}
	a.log.Warn("store unavailable; snapshot spooled", zap.String("series", series), zap.String("spool", a.opts.Spool.Dir()), zap.Error(cause))
	a.opts.Metrics.spooled(a.opts.Spool.Backlog())
	return Written{Series: series, Seq: snap.Seq, Status: snap.Status, Summary: snap.Summary(), Errors: snap.Errors, Snapshot: snap, Spooled: true}, nil
}

// flushSeries uploads a series' spooled snapshots, oldest first. The caller
// holds the series lock.
func (a *Agent) flushSeries(ctx context.Context, series string) error {
	for {
		name, e, err := a.opts.Spool.first(series)
		if err != nil || e == nil {
			return err
		}
		w, err := a.upload(ctx, series, e)
		if err != nil {
			return err
		}
		if err := a.opts.Spool.done(series, name); err != nil {
			return err
		}
		a.log.Info("spooled snapshot uploaded", zap.String("series", series), zap.String("key", w.Key), zap.Bool("duplicate_slot", w.Duplicate))
		a.opts.Metrics.spooled(a.opts.Spool.Backlog())
	}
}

// FlushSpool tries to upload every spooled snapshot and returns how many
// are still waiting.
func (a *Agent) FlushSpool(ctx context.Context) (int, error) {
	if a.opts.Spool == nil {
		return 0, nil
	}
	var errs []error
	for _, series := range a.opts.Spool.seriesList() {
		lock := a.seriesLock(series)
		lock.Lock()
		if err := a.flushSeries(ctx, series); err != nil {
			errs = append(errs, err)
		}
		lock.Unlock()
	}
	return a.opts.Spool.Backlog(), errors.Join(errs...)
}

// Backlog is the number of spooled snapshots waiting for the store.
func (a *Agent) Backlog() int { return a.opts.Spool.Backlog() }

// RunSpool retries spooled uploads with backoff until ctx is done.
func (a *Agent) RunSpool(ctx context.Context) error {
	const minWait, maxWait = 5 * time.Second, 2 * time.Minute
	wait := minWait
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if a.Backlog() == 0 {
			wait = minWait
			continue
		}
		left, err := a.FlushSpool(ctx)
		if err != nil {
			wait = min(wait*2, maxWait)
			a.log.Warn("store still unavailable; spooled snapshots wait", zap.Int("backlog", left), zap.Duration("retry_in", wait), zap.Error(err))
			continue
		}
		wait = minWait
	}
}
