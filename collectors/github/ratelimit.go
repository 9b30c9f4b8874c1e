package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// GitHub's rate limits: a primary limit per hour, announced by
// X-RateLimit-Remaining and X-RateLimit-Reset, and secondary limits answered
// with 403 or 429 and Retry-After. The transport waits as told, a bounded
// number of times, and every wait becomes a record of the run.
const (
	maxRateLimitRetries = 3
	// maxRateLimitWait is the longest single wait; past it the response is
	// handed back and the collection ends partial instead of hanging a run.
	maxRateLimitWait = 15 * time.Minute
)

// secondaryDefaultWait is GitHub's advice when a secondary limit gives no
// Retry-After; a variable so tests need not wait it out.
var secondaryDefaultWait = time.Minute

// waitLog collects the rate-limit waits of one run; it travels in the
// context so one transport can serve concurrent runs.
type waitLog struct {
	mu     sync.Mutex
	waits  []evidence.Record
	pacing map[string]*paceStats // per resource
}

type waitLogKey struct{}

func withWaitLog(ctx context.Context, w *waitLog) context.Context {
	return context.WithValue(ctx, waitLogKey{}, w)
}

func (w *waitLog) add(req *http.Request, status int, d time.Duration, reason string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = append(w.waits, evidence.Record{
		Type: "rate_limit_wait",
		ID:   strconv.Itoa(len(w.waits) + 1),
		Attributes: map[string]any{
			"provider":    "github",
			"request":     req.Method + " " + req.URL.Path,
			"http_status": status,
			"reason":      reason,
			"seconds":     d.Seconds(),
		},
	})
}

func (w *waitLog) count() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waits)
}

// records are the run's waits and, per resource the pacer held back, a
// rate_limit_bucket record.
func (w *waitLog) records() []evidence.Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append(append([]evidence.Record(nil), w.waits...), w.bucketRecords()...)
}

type rateLimitTransport struct {
	base http.RoundTripper
	now  func() time.Time
	// pace, when set, holds each attempt to the secondary limits.
	pace *pacer
}

func (t *rateLimitTransport) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

func (t *rateLimitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	log, _ := ctx.Value(waitLogKey{}).(*waitLog)
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				if req.GetBody == nil {
					return nil, fmt.Errorf("%s %s: rate limited and the request body cannot be replayed", req.Method, req.URL.Path)
				}
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		answered := func() {}
		if t.pace != nil {
			resource, points := requestCost(r)
			lim, waited, done, err := t.pace.acquire(ctx, resource, points)
			if err != nil {
				return nil, err
			}
			log.paced(resource, lim, waited)
			answered = done
		}
		resp, err := t.base.RoundTrip(r)
		answered()
		if err != nil {
			return nil, err
		}
		d, reason, retry := rateLimitDelay(resp, t.clock())
		if reason == "" && resp.StatusCode == http.StatusForbidden {
			// Some secondary-limit refusals carry no header at all; only
			// the message tells them from a permission answer.
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(bytes.ToLower(body), []byte("secondary rate limit")) {
				d, reason, retry = secondaryDefaultWait, "secondary rate limit (no Retry-After)", true
			}
		}
		if reason == "" || d > maxRateLimitWait || (retry && attempt >= maxRateLimitRetries) {
			return resp, nil
		}
		if retry {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		log.add(req, resp.StatusCode, d, reason)
		if err := sleep(ctx, d); err != nil {
			if !retry {
				_ = resp.Body.Close()
			}
			return nil, fmt.Errorf("waiting for GitHub rate limit: %w", err)
		}
		if !retry {
			// The limit is spent but this answer is good: hand it back now
			// that the next request may go.
			return resp, nil
		}
	}
}

// rateLimitDelay reads a response's rate-limit headers. retry says the
// response is a refusal to be retried after d; a non-empty reason with
// retry false means the answer is good but the next request must wait d.
func rateLimitDelay(resp *http.Response, now time.Time) (d time.Duration, reason string, retry bool) {
	h := resp.Header
	untilReset := func() (time.Duration, bool) {
		if h.Get("X-RateLimit-Remaining") != "0" {
			return 0, false
		}
		reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil {
			return 0, false
		}
		d := time.Unix(reset, 0).Sub(now) + time.Second
		if d < 0 {
			d = 0
		}
		return d, true
	}
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusTooManyRequests:
		if ra := h.Get("Retry-After"); ra != "" {
			secs, err := strconv.Atoi(ra)
			if err == nil && secs >= 0 {
				return time.Duration(secs) * time.Second, "secondary rate limit (Retry-After)", true
			}
		}
		if d, ok := untilReset(); ok {
			return d, "primary rate limit exhausted", true
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			return secondaryDefaultWait, "secondary rate limit (no Retry-After)", true
		}
		// A 403 without rate-limit headers is a permission answer.
		return 0, "", false
	}
	if resp.StatusCode < 300 {
		if d, ok := untilReset(); ok && d > 0 {
			return d, "primary rate limit exhausted", false
		}
	}
	return 0, "", false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
