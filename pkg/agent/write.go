package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// The write path of one snapshot, in order:
//
//	recover  finish what an interrupted write left of the series: spooled
//	         snapshots first, then a head another process left incomplete
//	build    the snapshot from the collection outcome (agent.go)
//	chain    its place after the head, and sign it
//	journal  into the spool, before any byte goes to the store
//	put      attachments, snapshot, signature, date-index marker; then the
//	         journal entry is removed
//
// A crash at any instant leaves either nothing of the snapshot (it was not
// journaled yet), or a journal entry that the next start uploads: the store
// recognises bytes already stored as this agent's own, so a restart
// completes the write instead of forking the chain. A store that cannot be
// reached leaves the entry waiting in the spool.

// maxClaimAttempts bounds how often a writer re-reads the head after another
// writer claimed the next number first. Each lost claim is another writer's
// snapshot stored, so N replicas writing a series in step can make one lose
// many times; between attempts it waits a little, at random, so that the
// same writer does not keep arriving second.
const maxClaimAttempts = 50

// claimBackoff is the longest wait after a lost claim.
const claimBackoff = 100 * time.Millisecond

// storeError marks a failure of the store to take evidence: the snapshot is
// spooled rather than lost.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (a *Agent) writeLocked(ctx context.Context, job Job, scope evidence.Scope, series string, o *outcome) (Written, error) {
	// Evidence of a run must reach the store even when the run itself was
	// cut short by its timeout or a shutdown.
	ctx = context.WithoutCancel(ctx)
	err := a.recover(ctx, series)
	snap, atts := a.build(job, scope, series, o)
	e := &spoolEntry{Snapshot: snap, Attachments: atts, OncePerSlot: job.OncePerSlot, SlotWindows: true}
	var w Written
	if err == nil {
		w, err = a.upload(ctx, series, e)
	}
	if err == nil || a.opts.Spool == nil {
		return w, err
	}
	// Whatever went wrong, the snapshot waits in the spool; only a store
	// that did not take it is a result, anything else is also an error.
	if e.name != "" {
		a.opts.Spool.release(e)
		a.opts.Metrics.spooled(a.opts.Spool.Backlog())
		msg := "store unavailable; snapshot spooled"
		if se := (*storeError)(nil); !errors.As(err, &se) {
			msg = "snapshot not stored yet; it waits in the spool"
		}
		a.log.Warn(msg, zap.String("series", series), zap.String("spool", a.opts.Spool.Dir()), zap.Error(err))
		w = spooled(series, snap)
	} else {
		var serr error
		if w, serr = a.spoolEntry(series, e, err); serr != nil {
			return Written{}, serr
		}
	}
	var se *storeError
	if !errors.As(err, &se) {
		return Written{}, fmt.Errorf("%w (the snapshot waits in the spool)", err)
	}
	return w, nil
}

// recover uploads the series' spooled snapshots, oldest first, so that
// older evidence goes first; the head's repair is part of every upload.
func (a *Agent) recover(ctx context.Context, series string) error {
	if !a.opts.Spool.has(series) {
		return nil
	}
	return a.flushSeries(ctx, series)
}

// upload chains (if needed), signs, journals and writes one snapshot with
// its attachments, signature and index marker, then removes its journal
// entry.
func (a *Agent) upload(ctx context.Context, series string, e *spoolEntry) (Written, error) {
	snap := e.Snapshot
	attsStored := false
	for attempt := 1; ; attempt++ {
		h, err := a.head(ctx, series)
		if err != nil {
			return Written{}, &storeError{err}
		}
		if e.Bytes != nil && snap.Seq <= h.seq {
			// Its number is taken: by this very snapshot, if an earlier
			// attempt stored it before the process stopped.
			ours, err := a.holds(ctx, store.SnapshotKey(series, snap.Seq), e.Bytes)
			if err != nil {
				return Written{}, &storeError{fmt.Errorf("series %s: %w", series, err)}
			}
			if ours {
				if err := a.putAttachments(ctx, series, e); err != nil {
					return Written{}, err
				}
				return a.finish(ctx, series, e)
			}
		}
		notes, err := a.repairHead(ctx, series, h)
		if err != nil {
			return Written{}, err
		}
		if e.OncePerSlot && h.sameSlot(snap, e.SlotWindows) {
			a.log.Info("run slot already recorded by another writer; this run's snapshot is not stored",
				zap.String("series", series), zap.Int64("recorded_seq", h.seq), zap.Time("started_at", snap.StartedAt))
			if err := a.unjournal(series, e); err != nil {
				return Written{}, err
			}
			return Written{Series: series, Seq: h.seq, Status: snap.Status, Summary: snap.Summary(), Snapshot: snap, Duplicate: true}, nil
		}
		if e.Bytes == nil || snap.Seq != h.seq+1 || snap.Prev != h.digest || !recorded(snap, notes) {
			if err := a.chain(ctx, e, h, notes); err != nil {
				return Written{}, fmt.Errorf("series %s: %w", series, err)
			}
		}
		if err := a.journal(series, e); err != nil {
			return Written{}, fmt.Errorf("series %s: %w", series, err)
		}
		if !attsStored {
			if err := a.putAttachments(ctx, series, e); err != nil {
				return Written{}, err
			}
			attsStored = true
		}
		key := store.SnapshotKey(series, snap.Seq)
		err = a.opts.Store.Put(ctx, key, e.Bytes)
		if errors.Is(err, store.ErrExists) {
			ours, gerr := a.holds(ctx, key, e.Bytes)
			if gerr != nil {
				return Written{}, &storeError{fmt.Errorf("series %s: %w", series, gerr)}
			}
			if !ours {
				if attempt >= maxClaimAttempts {
					return Written{}, &storeError{fmt.Errorf("series %s: lost the claim on the next seq %d times in a row", series, attempt)}
				}
				// Another writer took this number: re-read the head and chain after it.
				a.forget(series)
				wait := time.Duration(mrand.Int64N(int64(min(time.Duration(attempt)*10*time.Millisecond, claimBackoff))))
				select {
				case <-ctx.Done():
					return Written{}, &storeError{ctx.Err()}
				case <-time.After(wait):
				}
				continue
			}
			// Ours, from an earlier attempt that did not finish.
			err = nil
		}
		if err != nil {
			return Written{}, &storeError{fmt.Errorf("series %s: store snapshot %d: %w", series, snap.Seq, err)}
		}
		return a.finish(ctx, series, e)
	}
}

// holds reports whether key stores exactly b; a missing key holds nothing.
func (a *Agent) holds(ctx context.Context, key string, b []byte) (bool, error) {
	have, err := a.opts.Store.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	return bytes.Equal(have, b), nil
}

func (a *Agent) putAttachments(ctx context.Context, series string, e *spoolEntry) error {
	for _, att := range e.Attachments {
		key := store.AttachmentKey(evidence.Digest(att.Data))
		if err := a.opts.Store.Put(ctx, key, att.Data); err != nil && !errors.Is(err, store.ErrExists) {
			return &storeError{fmt.Errorf("series %s: store attachment %s: %w", series, att.Name, err)}
		}
	}
	return nil
}

// finish stores the signature and the date-index marker of a stored
// snapshot, then removes its journal entry.
func (a *Agent) finish(ctx context.Context, series string, e *spoolEntry) (Written, error) {
	snap := e.Snapshot
	key := store.SnapshotKey(series, snap.Seq)
	if err := a.putSignature(ctx, key, e.Bytes, e.Signature); err != nil {
		return Written{}, fmt.Errorf("series %s: %w", series, err)
	}
	if e.Token != nil {
		if err := a.putToken(ctx, key, e.Token); err != nil {
			return Written{}, fmt.Errorf("series %s: %w", series, err)
		}
	}
	if err := a.opts.Store.Put(ctx, store.IndexKey(snap.StartedAt, series, snap.Seq), nil); err != nil && !errors.Is(err, store.ErrExists) {
		return Written{}, &storeError{fmt.Errorf("series %s: store index of %s: %w", series, key, err)}
	}
	a.advance(series, snap, evidence.Digest(e.Bytes))
	// The TSA answers again: tokens it did not give before, to this
	// series' earlier snapshots (left by this process or one that stopped).
	if e.Token != nil && snap.Seq > 1 {
		if err := a.attachTokens(ctx, series, snap.Seq-1); err != nil {
			a.log.Warn("pending time-stamp tokens not attached yet", zap.String("series", series), zap.Error(err))
		}
	}
	if err := a.unjournal(series, e); err != nil {
		return Written{}, err
	}
	a.opts.Metrics.observe(snap.Collector.ID, snap)
	a.log.Info("snapshot written", zap.String("collector", snap.Collector.ID), zap.String("key", key), zap.String("status", string(snap.Status)), zap.Int("findings", len(snap.Findings)))
	return Written{Key: key, Series: series, Seq: snap.Seq, Status: snap.Status, Summary: snap.Summary(), Errors: snap.Errors, Snapshot: snap}, nil
}

// putSignature stores sig beside the snapshot at key. A signature already
// there is accepted when it verifies with this agent's key: another
// process with the same key (a replica, or this agent's recovery) made it
// over the same bytes.
func (a *Agent) putSignature(ctx context.Context, key string, b, sig []byte) error {
	err := a.opts.Store.Put(ctx, store.SignatureKey(key), signing.EncodeSignature(sig))
	if !errors.Is(err, store.ErrExists) {
		if err != nil {
			return &storeError{fmt.Errorf("store signature of %s: %w", key, err)}
		}
		return nil
	}
	have, err := a.opts.Store.Get(ctx, store.SignatureKey(key))
	if err != nil {
		return &storeError{fmt.Errorf("read signature of %s: %w", key, err)}
	}
	der, err := signing.DecodeSignature(have)
	if err == nil {
		err = signing.Verify(a.pub, b, der)
	}
	if err != nil {
		return fmt.Errorf("a different signature is already stored for %s: %w", key, err)
	}
	return nil
}

// repairHead completes the series' head when another process stopped
// between its writes: a missing signature is made again over the stored
// bytes (only with the key the head names, this agent's), a missing
// date-index marker is added at the head's start date. Bytes that are not a
// snapshot cannot be repaired: that is returned, to be recorded in the next
// snapshot's errors.
//
// The head may also be another writer's write still in progress: doing its
// remaining writes first is harmless (it accepts a signature that verifies
// and a marker already there). So a head signed with another key and not
// yet signed is not recorded as a problem: its writer may be about to sign
// it, and if it crashed instead verify reports the missing signature.
func (a *Agent) repairHead(ctx context.Context, series string, h head) ([]evidence.RunError, error) {
	if h.seq == 0 || h.whole {
		return nil, nil
	}
	key := store.SnapshotKey(series, h.seq)
	var notes []evidence.RunError
	incomplete := false
	note := func(msg string) {
		a.log.Warn("the series head cannot be completed", zap.String("key", key), zap.String("problem", msg))
		notes = append(notes, evidence.RunError{Where: key, Operation: "recover", Message: msg})
	}
	switch {
	case h.damage != "":
		note("the stored bytes are not a whole snapshot (" + h.damage + "); nothing after them can be checked against them")
	case !h.signed && h.keyID != a.keyID:
		a.log.Warn("the series head has no signature yet and names another key; only its writer can sign it",
			zap.String("key", key), zap.String("key_id", h.keyID))
		incomplete = true
	case !h.signed:
		b, err := a.opts.Store.Get(ctx, key)
		if err != nil {
			return nil, &storeError{fmt.Errorf("series %s: read head: %w", series, err)}
		}
		if evidence.Digest(b) != h.digest {
			return nil, fmt.Errorf("series %s: %s changed while it was read", series, key)
		}
		sig, err := a.opts.Signer.Sign(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("series %s: sign %s again: %w", series, key, err)
		}
		if err := a.putSignature(ctx, key, b, sig); err != nil {
			return nil, fmt.Errorf("series %s: %w", series, err)
		}
		a.log.Warn("completed an interrupted write: signature made again over the stored snapshot", zap.String("key", key))
	}
	if h.damage == "" {
		err := a.opts.Store.Put(ctx, store.IndexKey(h.startedAt, series, h.seq), nil)
		switch {
		case err == nil:
			a.log.Warn("completed an interrupted write: date-index marker added", zap.String("key", key))
		case !errors.Is(err, store.ErrExists):
			return nil, &storeError{fmt.Errorf("series %s: store index of %s: %w", series, key, err)}
		}
	}
	if len(notes) == 0 && !incomplete {
		a.markWhole(series, h.seq)
	}
	return notes, nil
}

// recorded reports whether the snapshot's errors already say every note.
func recorded(snap *evidence.Snapshot, notes []evidence.RunError) bool {
	for _, n := range notes {
		if !slices.Contains(snap.Errors, n) {
			return false
		}
	}
	return true
}

// chain gives the snapshot its place after h, a fresh id, and signs it.
// What could not be repaired of h is recorded in its errors, and a snapshot
// recording errors is not complete.
func (a *Agent) chain(ctx context.Context, e *spoolEntry, h head, notes []evidence.RunError) error {
	snap := e.Snapshot
	for _, n := range notes {
		if !slices.Contains(snap.Errors, n) {
			snap.Errors = append(snap.Errors, n)
		}
	}
	if snap.Status == evidence.StatusComplete && len(snap.Errors) > 0 {
		snap.Status = evidence.StatusPartial
	}
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
	e.Token = a.stamp(ctx, snap.Series, snap.Seq, b)
	e.dirty = true
	return nil
}

// journal makes sure the spool holds the entry as it is about to be
// written, before the store sees any of it.
func (a *Agent) journal(series string, e *spoolEntry) error {
	if a.opts.Spool == nil {
		return nil
	}
	if e.name == "" {
		return a.opts.Spool.add(series, e, true)
	}
	if !e.dirty {
		return nil
	}
	if err := a.opts.Spool.rewrite(series, e); err != nil {
		return err
	}
	e.dirty = false
	return nil
}

// unjournal removes the entry once the store holds its snapshot whole.
func (a *Agent) unjournal(series string, e *spoolEntry) error {
	if e.name == "" {
		return nil
	}
	if err := a.opts.Spool.done(series, e.name); err != nil {
		return fmt.Errorf("series %s: %w", series, err)
	}
	e.name = ""
	a.opts.Metrics.spooled(a.opts.Spool.Backlog())
	return nil
}

func spooled(series string, snap *evidence.Snapshot) Written {
	return Written{Series: series, Seq: snap.Seq, Status: snap.Status, Summary: snap.Summary(), Errors: snap.Errors, Snapshot: snap, Spooled: true}
}

// spoolEntry keeps a snapshot the store did not take before it could be
// journaled. It is chained and signed now when the series' position is
// known (from the cache or the newest spooled entry), else on upload.
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
		if err := a.chain(context.Background(), e, *base, nil); err != nil {
			// The signer that could not sign the upload cannot sign it
			// here either: the snapshot waits unsigned and is chained and
			// signed on upload, rather than being lost with the run.
			a.log.Warn("snapshot not signed yet; spooled to be signed on upload", zap.String("series", series), zap.Error(err))
			e.Bytes, e.Signature, e.Token = nil, nil, nil
		}
	}
	if err := a.opts.Spool.add(series, e, false); err != nil {
		return Written{}, fmt.Errorf("%w (and the spool failed: %v)", cause, err)
	}
	a.log.Warn("store unavailable; snapshot spooled", zap.String("series", series), zap.String("spool", a.opts.Spool.Dir()), zap.Error(cause))
	a.opts.Metrics.spooled(a.opts.Spool.Backlog())
	return spooled(series, snap), nil
}

// flushSeries uploads a series' spooled snapshots, oldest first. The caller
// holds the series lock.
func (a *Agent) flushSeries(ctx context.Context, series string) error {
	for {
		_, e, err := a.opts.Spool.first(series)
		if err != nil || e == nil {
			return err
		}
		w, err := a.upload(ctx, series, e)
		if err != nil {
			return err
		}
		a.log.Info("spooled snapshot uploaded", zap.String("series", series), zap.String("key", w.Key), zap.Bool("duplicate_slot", w.Duplicate))
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

// RunSpool uploads what an earlier process left in the spool at once, then
// retries spooled uploads with backoff until ctx is done.
func (a *Agent) RunSpool(ctx context.Context) error {
	const minWait, maxWait = 5 * time.Second, 2 * time.Minute
	wait := time.Duration(0)
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
			wait = min(max(wait*2, minWait), maxWait)
			a.log.Warn("store still unavailable; spooled snapshots wait", zap.Int("backlog", left), zap.Duration("retry_in", wait), zap.Error(err))
			continue
		}
		wait = minWait
	}
}
