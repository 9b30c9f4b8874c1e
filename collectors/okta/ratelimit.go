package okta

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// The Okta SDK waits out a 429 itself: until X-Rate-Limit-Reset (measured
// against the response's Date), at most rateLimitMaxBackoffSec, at most
// rateLimitMaxRetries times, and it stops waiting when the context ends.
// This transport only observes: it records each wait the SDK is about to
// make, so a slow run explains itself in its evidence.
type rateLimitTransport struct {
	base http.RoundTripper
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
	resp, err := t.base.RoundTrip(req)
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
