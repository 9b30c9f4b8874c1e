package okta

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// The Okta SDK waits out a 429 itself: until X-Rate-Limit-Reset (measured
// against the response's Date), at most rateLimitMaxBackoffSec, at most
// rateLimitMaxRetries times, and it stops waiting when the context ends.
// This transport paces the calls before they are sent (see pacer) and
// records each wait the SDK is about to make after a 429 that still
// happened, so a slow run explains itself in its evidence.
type rateLimitTransport struct {
	base    http.RoundTripper
	timeout time.Duration // per attempt, not counting the pacer's wait
}

type pacerKey struct{}

// withPacer makes the calls made with ctx wait their turn in p.
func withPacer(ctx context.Context, p *pacer) context.Context {
	return context.WithValue(ctx, pacerKey{}, p)
}

type waitLog struct {
	mu    sync.Mutex
	waits []evidence.Record
}

type waitLogKey struct{}

func withWaitLog(ctx context.Context, w *waitLog) context.Context {
	return context.WithValue(ctx, waitLogKey{}, w)
}

func (w *waitLog) records() []evidence.Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]evidence.Record(nil), w.waits...)
}

func (t *rateLimitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := bucket(req.Method, req.URL.Path)
	pc, _ := req.Context().Value(pacerKey{}).(*pacer)
	if pc != nil {
		if err := pc.acquire(req.Context(), key); err != nil {
			return nil, err
		}
	}
	resp, err := t.send(req)
	if pc != nil {
		pc.release(key, resp)
	}
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	w, _ := req.Context().Value(waitLogKey{}).(*waitLog)
	if w == nil {
		return resp, err
	}
	secs, ok := oktaBackoff(resp.Header)
	attrs := map[string]any{
		"provider":    "okta",
		"request":     req.Method + " " + req.URL.Path,
		"bucket":      key,
		"http_status": resp.StatusCode,
		"limit":       resp.Header.Get("X-Rate-Limit-Limit"),
		"reason":      "rate limit exceeded (X-Rate-Limit-Reset)",
	}
	if ok {
		attrs["seconds"] = secs
	} else {
		attrs["reason"] = "rate limit exceeded without a usable X-Rate-Limit-Reset or Date; the request is not retried"
	}
	w.mu.Lock()
	w.waits = append(w.waits, evidence.Record{Type: "rate_limit_wait", ID: strconv.Itoa(len(w.waits) + 1), Attributes: attrs})
	w.mu.Unlock()
	return resp, err
}

// send makes one attempt, bounded by the run's HTTP timeout. The bound is
// applied here rather than on the http.Client so that time spent waiting
// for the pacer does not count against it.
func (t *rateLimitTransport) send(req *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// oktaBackoff is the wait the SDK derives from a 429's headers.
func oktaBackoff(h http.Header) (int64, bool) {
	date, err := time.Parse(http.TimeFormat, h.Get("Date"))
	if err != nil {
		return 0, false
	}
	reset, err := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64)
	if err != nil {
		return 0, false
	}
	secs := reset - date.Unix() + 1
	secs = min(secs, rateLimitMaxBackoffSec)
	return max(secs, 0), true
}

// bucket names the Okta rate-limit bucket a request counts against, as
// Okta's management rate limits group endpoints:
//
//   - /api/v1/apps, and every /api/v1/apps/{id}/… (users, group
//     assignments), share one bucket; /api/v1/apps/{id} alone has its own;
//   - /api/v1/groups and /api/v1/groups/{id}/… (members) share one;
//     /api/v1/groups/{id} alone has its own;
//   - GET or POST /api/v1/users (list, create) is one; GET
//     /api/v1/users/{idOrLogin} another; other methods on
//     /api/v1/users/{id} a third;
//   - /api/v1/logs has its own;
//   - everything else under /api/v1 — a user's factors, policies and their
//     rules among them — is "most other API actions", one bucket;
//   - outside /api/v1 (the OAuth token endpoint), the path is the bucket.
func bucket(method, path string) string {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(path, "/"), "/api/v1/")
	if !ok {
		return path
	}
	p := strings.Split(rest, "/")
	switch p[0] {
	case "apps", "groups":
		if len(p) == 2 {
			return "/api/v1/" + p[0] + "/{id}"
		}
		return "/api/v1/" + p[0]
	case "users":
		switch {
		case len(p) == 1 && (method == http.MethodGet || method == http.MethodPost):
			return "/api/v1/users"
		case len(p) == 2 && method == http.MethodGet:
			return "/api/v1/users/{idOrLogin}"
		case len(p) == 2:
			return "/api/v1/users/{id}"
		}
	case "logs":
		if len(p) == 1 {
			return "/api/v1/logs"
		}
	}
	return "/api/v1"
}

// pacer is shared by all the workers of one run. It learns each bucket's
// limit, remaining calls and reset from the X-Rate-Limit-* headers of the
// answers, and holds a call back until the reset when the calls already
// in flight would use up what remains, so that the workers wait their turn
// instead of being refused with 429.
type pacer struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets map[string]*bucketState
	changed chan struct{} // closed and replaced when any bucket learns something
}

type bucketState struct {
	known      bool
	limit      int
	remaining  int
	resetEpoch int64     // X-Rate-Limit-Reset of the window remaining belongs to; 0 once it passed
	reset      time.Time // the same instant on the local clock
	inflight   int

	calls, paced, throttled int
	pacedFor                time.Duration
}

func newPacer() *pacer {
	return &pacer{now: time.Now, buckets: map[string]*bucketState{}, changed: make(chan struct{})}
}

func (p *pacer) state(key string) *bucketState {
	st := p.buckets[key]
	if st == nil {
		st = &bucketState{}
		p.buckets[key] = st
	}
	return st
}

// acquire waits until a call to bucket key may be sent. A wait is bounded
// by rateLimitMaxBackoffSec: past that the call goes out and the server
// decides.
func (p *pacer) acquire(ctx context.Context, key string) error {
	var waitedSince time.Time
	for {
		p.mu.Lock()
		st := p.state(key)
		now := p.now()
		if st.resetEpoch != 0 && !now.Before(st.reset) {
			// The window has passed: assume the same limit for the next
			// until an answer says otherwise.
			st.remaining, st.resetEpoch, st.reset = st.limit, 0, time.Time{}
		}
		capped := !waitedSince.IsZero() && now.Sub(waitedSince) >= rateLimitMaxBackoffSec*time.Second
		if !st.known || st.limit <= 0 || st.remaining-st.inflight > 0 || capped || (st.resetEpoch == 0 && st.inflight == 0) {
			st.inflight++
			st.calls++
			if !waitedSince.IsZero() {
				st.pacedFor += now.Sub(waitedSince)
			}
			p.mu.Unlock()
			return nil
		}
		if waitedSince.IsZero() {
			waitedSince = now
			st.paced++
		}
		changed := p.changed
		var timer <-chan time.Time
		if st.resetEpoch != 0 {
			d := min(st.reset.Sub(now), rateLimitMaxBackoffSec*time.Second-now.Sub(waitedSince))
			t := time.NewTimer(max(d, 0))
			defer t.Stop()
			timer = t.C
		}
		p.mu.Unlock()
		select {
		case <-timer:
		case <-changed:
		case <-ctx.Done():
			p.mu.Lock()
			st.pacedFor += p.now().Sub(waitedSince)
			p.mu.Unlock()
			return ctx.Err()
		}
	}
}

// release ends a call to bucket key and learns from its answer's headers.
func (p *pacer) release(key string, resp *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state(key)
	st.inflight--
	defer func() { close(p.changed); p.changed = make(chan struct{}) }()
	if resp == nil {
		return
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		st.throttled++
	}
	h := resp.Header
	limit, err1 := strconv.Atoi(h.Get("X-Rate-Limit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	reset, err3 := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	now := p.now()
	// The reset is an instant on the server's clock; its distance from the
	// answer's Date (whole seconds, never later than the server's time)
	// places it on ours no earlier than it really is.
	local := time.Unix(reset, 0)
	if date, err := time.Parse(http.TimeFormat, h.Get("Date")); err == nil {
		local = now.Add(time.Duration(reset-date.Unix()) * time.Second)
	}
	if !local.After(now) {
		return // an answer from a window that has already passed
	}
	switch {
	case !st.known || reset > st.resetEpoch:
		st.known, st.limit, st.remaining, st.resetEpoch, st.reset = true, limit, remaining, reset, local
	case reset == st.resetEpoch:
		st.remaining = min(st.remaining, remaining)
	}
}

// records are the run's pacing per bucket, for the buckets where the pacer
// held calls back or Okta still answered 429.
func (p *pacer) records() []evidence.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]string, 0, len(p.buckets))
	for k, st := range p.buckets {
		if st.paced > 0 || st.throttled > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]evidence.Record, 0, len(keys))
	for _, k := range keys {
		st := p.buckets[k]
		out = append(out, evidence.Record{Type: "rate_limit_bucket", ID: k, Attributes: map[string]any{
			"provider":      "okta",
			"limit":         st.limit,
			"calls":         st.calls,
			"paced_calls":   st.paced,
			"paced_seconds": st.pacedFor.Round(time.Millisecond).Seconds(),
			"throttled_429": st.throttled,
		}})
	}
	return out
}
