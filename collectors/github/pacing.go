package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// GitHub's secondary rate limits, per token: REST requests cost 1 point
// for GET, HEAD and OPTIONS and 5 otherwise, at most 900 points a minute;
// GraphQL queries cost 1 point, at most 2,000 a minute. Answers over them
// are refused (403 or 429, Retry-After), which rateLimitTransport waits
// out; the pacer holds requests back so that they are not sent to be
// refused.
type secondaryLimit struct {
	points int
	window time.Duration
}

var documentedLimits = map[string]secondaryLimit{
	"core":    {points: 900, window: time.Minute},
	"graphql": {points: 2000, window: time.Minute},
}

// pacer holds one credential's requests to one host within the secondary
// limits: in any window, at most the limit's points per resource. A
// request (each retry too) counts from when it is sent until a window
// after its answer came back: the server counted it somewhere in between,
// so however long it took to get there, the pacer never lets more go than
// the server's window allows. One pacer serves every GitHub collector of
// the process using that credential on that host (see sharedPacer), so no
// collector's concurrency, nor several collectors together, can overrun
// the limit.
type pacer struct {
	limits map[string]secondaryLimit // nil: requests are not held back

	mu      sync.Mutex
	sent    map[string][]*sentPoints // per resource
	changed chan struct{}            // closed and replaced when an answer comes back
}

type sentPoints struct {
	back   time.Time // when its answer came back; zero while in flight
	points int
}

func newPacer(limits map[string]secondaryLimit) *pacer {
	return &pacer{limits: limits, sent: map[string][]*sentPoints{}, changed: make(chan struct{})}
}

// acquire waits until a request of points to resource may be sent within
// its limit, and counts it. It returns the limit, how long it waited, and
// done, to be called once the request's answer (or failure) came back.
func (p *pacer) acquire(ctx context.Context, resource string, points int) (lim secondaryLimit, waited time.Duration, done func(), err error) {
	lim, ok := p.limits[resource]
	if !ok || lim.points <= 0 || lim.window <= 0 {
		return lim, 0, func() {}, nil
	}
	start := time.Now()
	held := false
	for {
		p.mu.Lock()
		now := time.Now()
		list := p.sent[resource]
		keep, used := list[:0], 0
		var answered []*sentPoints // still counted, oldest answer first
		for _, e := range list {
			if e.back.IsZero() || now.Sub(e.back) < lim.window {
				keep = append(keep, e)
				used += e.points
				if !e.back.IsZero() {
					answered = append(answered, e)
				}
			}
		}
		if used+points <= lim.points || len(keep) == 0 {
			e := &sentPoints{points: points}
			p.sent[resource] = append(keep, e)
			p.mu.Unlock()
			if held {
				waited = now.Sub(start)
			}
			return lim, waited, func() { p.answered(e) }, nil
		}
		p.sent[resource] = keep
		// Until enough answered requests have aged out; if those in flight
		// alone fill the window, until an answer comes back.
		var wait time.Duration
		sort.Slice(answered, func(i, j int) bool { return answered[i].back.Before(answered[j].back) })
		over := used + points - lim.points
		for _, e := range answered {
			over -= e.points
			if over <= 0 {
				wait = max(e.back.Add(lim.window).Sub(now), time.Millisecond)
				break
			}
		}
		changed := p.changed
		p.mu.Unlock()
		held = true
		var timer *time.Timer
		var expired <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			expired = timer.C
		}
		select {
		case <-expired:
		case <-changed:
		case <-ctx.Done():
			err = fmt.Errorf("waiting for GitHub's secondary rate limit: %w", ctx.Err())
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return lim, time.Since(start), nil, err
		}
	}
}

// answered marks e's answer come back, from when its window runs.
func (p *pacer) answered(e *sentPoints) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.back = time.Now()
	close(p.changed)
	p.changed = make(chan struct{})
}

// requestCost is the resource a request counts against and its points.
func requestCost(req *http.Request) (resource string, points int) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/graphql") {
		return "graphql", 1
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return "core", 1
	}
	return "core", 5
}

// pacers are the process's pacers, one per host and credential.
var pacers = struct {
	sync.Mutex
	m map[string]*pacer
}{m: map[string]*pacer{}}

// pacerKey names a source's host and credential without holding the
// secret: a token by its digest, an app by its installation.
func pacerKey(src *collector.GitHubSource, base string) string {
	if src.Token != "" {
		sum := sha256.Sum256([]byte(src.Token.Reveal()))
		return base + " token:" + hex.EncodeToString(sum[:8])
	}
	return fmt.Sprintf("%s app:%d/%d", base, src.AppID, src.InstallationID)
}

// sharedPacer returns the process's pacer for key, made at GitHub's
// documented limits the first time.
func sharedPacer(key string) *pacer {
	pacers.Lock()
	defer pacers.Unlock()
	p := pacers.m[key]
	if p == nil {
		p = newPacer(documentedLimits)
		pacers.m[key] = p
	}
	return p
}

// paceStats is one run's pacing of one resource.
type paceStats struct {
	limit        secondaryLimit
	calls, paced int
	pacedFor     time.Duration
}

// paced counts a request the pacer let go after d.
func (w *waitLog) paced(resource string, lim secondaryLimit, d time.Duration) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pacing == nil {
		w.pacing = map[string]*paceStats{}
	}
	st := w.pacing[resource]
	if st == nil {
		st = &paceStats{limit: lim}
		w.pacing[resource] = st
	}
	st.calls++
	if d > 0 {
		st.paced++
		st.pacedFor += d
	}
}

// bucketRecords are the run's pacing per resource, for the resources
// where the pacer held requests back; w.mu is held.
func (w *waitLog) bucketRecords() []evidence.Record {
	keys := make([]string, 0, len(w.pacing))
	for k, st := range w.pacing {
		if st.paced > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]evidence.Record, 0, len(keys))
	for _, k := range keys {
		st := w.pacing[k]
		lim := st.limit
		out = append(out, evidence.Record{Type: "rate_limit_bucket", ID: k, Attributes: map[string]any{
			"provider":       "github",
			"limit":          lim.points,
			"window_seconds": lim.window.Seconds(),
			"calls":          st.calls,
			"paced_calls":    st.paced,
			"paced_seconds":  st.pacedFor.Round(time.Millisecond).Seconds(),
		}})
	}
	return out
}
