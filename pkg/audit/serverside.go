package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// serverRecord is what a versioned object store with Object Lock (S3) can
// tell a reader that whoever writes to it cannot set: when each object
// version was stored, which versions were deleted or replaced, and how long
// each is locked. An operator holding the signing key can re-sign any
// content and any claimed time, but not these.
type serverRecord interface {
	Versions(ctx context.Context, prefix string, fn func(store.Version) error) error
	Retention(ctx context.Context, key, versionID string) (store.Retention, error)
}

// Defaults of the server-side checks.
const (
	// DefaultStoreDelay is how much later than its finished_at a snapshot
	// may have been stored: an upload normally follows the run by seconds.
	DefaultStoreDelay = 15 * time.Minute
	// DefaultMinRetainDays is the Object Lock retention each snapshot and
	// signature must have: HIPAA's six years (164.316(b)(2)(i)), the
	// agent's default retain_days.
	DefaultMinRetainDays = 2190
)

// serverSide holds, for every key of the store, its current version as the
// server recorded it.
type serverSide struct {
	src     serverRecord
	current map[string]store.Version
	// locks counts, per series, snapshots and signatures whose retention is
	// missing, not COMPLIANCE or too short, reported once per series.
	locks map[string]*lockTally
}

type lockTally struct {
	unlocked, governance, short, unreadable int
	first                                   map[string]string // kind → first key
	err                                     error             // the first unreadable retention's
}

// loadServerSide reads the version history of the whole store, if the
// store keeps one, and reports every key that was deleted or written more
// than once: the retained versions are evidence the plain listing hides.
func (v *verifier) loadServerSide(ctx context.Context) error {
	src, ok := v.st.(serverRecord)
	if !ok {
		return nil
	}
	s := &serverSide{src: src, current: map[string]store.Version{}, locks: map[string]*lockTally{}}
	var history []store.Version
	flush := func() {
		if len(history) > 0 {
			s.judgeHistory(v, history)
		}
		history = history[:0]
	}
	err := src.Versions(ctx, "", func(ver store.Version) error {
		if len(history) > 0 && history[0].Key != ver.Key {
			flush()
		}
		history = append(history, ver)
		if ver.IsLatest && !ver.DeleteMarker {
			s.current[ver.Key] = ver
		}
		return nil
	})
	if err != nil {
		// Not the end of verification: everything else is still checked.
		v.problem(store.EvidencePrefix, "the bucket's version history could not be read, so deletions, rewrites, server times and Object Lock retention are unchecked (a reader needs s3:ListBucketVersions and s3:GetObjectRetention): %v", err)
		return nil
	}
	flush()
	v.server = s
	return nil
}

// judgeHistory reports one key's history when it is anything but a single
// stored version: exhibit writes each key once and never deletes.
func (s *serverSide) judgeHistory(v *verifier, history []store.Version) {
	key := history[0].Key
	var kept []string
	deleted := ""
	for _, ver := range history {
		if ver.DeleteMarker {
			if deleted == "" {
				deleted = ver.LastModified.UTC().Format(time.RFC3339)
			}
			continue
		}
		kept = append(kept, fmt.Sprintf("version %s stored %s (%d bytes)", ver.VersionID, ver.LastModified.UTC().Format(time.RFC3339), ver.Size))
	}
	switch {
	case deleted != "" && history[0].DeleteMarker:
		v.problem(key, "deleted: a delete marker (%s) hides it from listings; retained: %s", deleted, orNone(kept))
	case deleted != "":
		v.problem(key, "deleted and written again: a delete marker (%s) lies between its versions: %s", deleted, orNone(kept))
	case len(kept) > 1:
		v.problem(key, "written %d times: %s; the current version is the newest", len(kept), strings.Join(kept, "; "))
	}
}

func orNone(kept []string) string {
	if len(kept) == 0 {
		return "no version (only delete markers)"
	}
	return strings.Join(kept, "; ")
}

// checkServerSide compares what a snapshot says of its own time with when
// the server stored it, and checks the Object Lock retention of the
// snapshot and its signature.
//
// anchored says a time-stamp token already dates the snapshot to its
// finished_at: then a late upload (from the agent's spool, after a store
// outage) is explained, and only an early one is a problem.
func (v *verifier) checkServerSide(ctx context.Context, key string, snap *evidence.Snapshot, anchored bool) {
	s := v.server
	if s == nil || snap == nil {
		return
	}
	ver, ok := s.current[key]
	if !ok {
		// Stored after the version listing was read: nothing to compare.
		return
	}
	delay := ver.LastModified.Sub(snap.FinishedAt)
	tolerance := v.opts.StoreDelay
	if tolerance <= 0 {
		tolerance = DefaultStoreDelay
	}
	switch {
	case delay > tolerance && anchored:
	case delay > tolerance:
		v.problem(key, "stored %s after the finished_at it claims (%s; server time %s): backdated, or uploaded late from a spool",
			delay.Round(time.Second), snap.FinishedAt.UTC().Format(time.RFC3339), ver.LastModified.UTC().Format(time.RFC3339))
	case -delay > tolerance:
		v.problem(key, "stored %s before the finished_at it claims (%s; server time %s): its times were set forward",
			(-delay).Round(time.Second), snap.FinishedAt.UTC().Format(time.RFC3339), ver.LastModified.UTC().Format(time.RFC3339))
	}
	for _, k := range []string{key, store.SignatureKey(key)} {
		if cur, ok := s.current[k]; ok {
			s.checkRetention(ctx, v, snap.Series, k, cur)
		}
	}
}

func (s *serverSide) checkRetention(ctx context.Context, v *verifier, series, key string, ver store.Version) {
	r, err := s.src.Retention(ctx, key, ver.VersionID)
	t := s.locks[series]
	if t == nil {
		t = &lockTally{first: map[string]string{}}
		s.locks[series] = t
	}
	days := v.opts.MinRetainDays
	note := func(kind string, n *int) {
		*n++
		if t.first[kind] == "" {
			t.first[kind] = key
		}
	}
	switch {
	case err != nil:
		if t.err == nil {
			t.err = err
		}
		note("unreadable", &t.unreadable)
	case r.Mode == "":
		note("unlocked", &t.unlocked)
	case r.Mode != "COMPLIANCE":
		note("governance", &t.governance)
	case days > 0 && r.Until.Before(ver.LastModified.AddDate(0, 0, days-1)):
		note("short", &t.short)
	}
}

// reportLocks reports, once per series, the objects whose retention does
// not make them write-once for the required time.
func (v *verifier) reportLocks() {
	if v.server == nil {
		return
	}
	days := v.opts.MinRetainDays
	for series, t := range v.server.locks {
		at := store.SeriesPrefix(series)
		if t.unlocked > 0 {
			v.problem(at, "%d snapshot(s) or signature(s) have no Object Lock retention (the first: %s): they can be deleted", t.unlocked, t.first["unlocked"])
		}
		if t.governance > 0 {
			v.problem(at, "%d snapshot(s) or signature(s) are locked in GOVERNANCE mode only (the first: %s): whoever may bypass governance retention can delete them without a trace", t.governance, t.first["governance"])
		}
		if t.unreadable > 0 {
			v.problem(at, "the Object Lock retention of %d snapshot(s) or signature(s) could not be read (the first: %s): %v", t.unreadable, t.first["unreadable"], t.err)
		}
		if t.short > 0 {
			v.problem(at, "%d snapshot(s) or signature(s) are locked for less than %d days after they were stored (the first: %s)", t.short, days, t.first["short"])
		}
	}
}
