package ghsim

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Limits are GitHub's rate limits for one token, enforced in scale mode
// (Sim.Limits). Each token has, per resource ("core" for REST, "graphql"):
//
//   - a primary limit of Primary requests per hour (PrimaryWindow, when
//     set), in a window that starts with the token's first request and
//     resets that long after; a 304 does not count. Every answer carries
//     X-RateLimit-Limit, -Remaining, -Used, -Reset and -Resource; once
//     Remaining is 0, until the reset, a REST request is answered 403 and a
//     GraphQL query 200 with an error of type RATE_LIMITED and no data,
//     both with Remaining 0;
//   - a secondary limit of points in any Window: REST GETs cost 1 point and
//     other methods 5, a GraphQL query 1. A request over it is answered 403
//     (SecondaryStatus, when set: GitHub answers 403 or 429) with
//     Retry-After and "You have exceeded a secondary rate limit";
//
// and at most Concurrent requests in flight, answered the same way past it.
// A zero field is no limit (or GitHub's default).
type Limits struct {
	RESTPoints      int
	GraphQLPoints   int
	Window          time.Duration
	Concurrent      int
	Primary         int
	PrimaryWindow   time.Duration
	SecondaryStatus int
}

// DocumentedLimits are GitHub's documented limits for a token: 900 REST
// points and 2,000 GraphQL points per minute, 100 concurrent requests,
// 5,000 requests per hour per resource.
var DocumentedLimits = Limits{RESTPoints: 900, GraphQLPoints: 2000, Window: time.Minute, Concurrent: 100, Primary: 5000}

// Refusals counts the requests the simulator refused for a rate limit.
type Refusals struct {
	Secondary  int // over the points of a window
	Concurrent int // over the requests in flight
	Primary    int // the hour's requests spent
}

// Total is every refusal.
func (r Refusals) Total() int { return r.Secondary + r.Concurrent + r.Primary }

// tokenLimits is one token's state.
type tokenLimits struct {
	inflight int
	res      map[string]*resourceLimits
}

type resourceLimits struct {
	sent        []sent // admitted within the last Window, oldest first
	hourStart   time.Time
	used        int // primary: counted requests since hourStart
	points      int // secondary: every point admitted, for the floor
	requests    int // every request admitted
	notModified int
}

type sent struct {
	at     time.Time
	points int
}

// Refused returns the rate-limit refusals so far.
func (s *Sim) Refused() Refusals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Admitted returns, for resource "core" or "graphql", the requests and
// secondary-limit points the simulator let through, over every token.
func (s *Sim) Admitted(resource string) (requests, points int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tl := range s.tokens {
		if rl := tl.res[resource]; rl != nil {
			requests += rl.requests
			points += rl.points
		}
	}
	return requests, points
}

// ResetLimits forgets every token's use, as after a quiet hour, and the
// refusals counted.
func (s *Sim) ResetLimits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.refused = nil, Refusals{}
}

// delay waits half of Latency ± Jitter.
func (s *Sim) delay() {
	d := s.Latency
	if s.Jitter > 0 {
		d += time.Duration(rand.Int64N(int64(2*s.Jitter+1))) - s.Jitter
	}
	if d > 0 {
		time.Sleep(d / 2)
	}
}

// admission is one request let through scale mode's limits.
type admission struct {
	s   *Sim
	tl  *tokenLimits
	rl  *resourceLimits
	res string
}

// admit applies s.Limits to r, sent with auth, and sets the rate-limit
// headers. A request refused has a nil admission and refusal writes its
// answer.
func (s *Sim) admit(w http.ResponseWriter, r *http.Request, auth string) (adm *admission, refusal func()) {
	lim := *s.Limits
	res, points, perWindow := "core", 1, lim.RESTPoints
	if r.URL.Path == "/api/graphql" {
		res, perWindow = "graphql", lim.GraphQLPoints
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
		points = 5
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]*tokenLimits{}
	}
	tl := s.tokens[auth]
	if tl == nil {
		tl = &tokenLimits{res: map[string]*resourceLimits{}}
		s.tokens[auth] = tl
	}
	rl := tl.res[res]
	if rl == nil {
		rl = &resourceLimits{}
		tl.res[res] = rl
	}
	if rl.hourStart.IsZero() || !now.Before(rl.hourStart.Add(lim.primaryWindow())) {
		rl.hourStart, rl.used = now, 0
	}
	primary := lim.Primary
	if primary <= 0 {
		primary = 5000
	}
	// Points older than the window no longer count.
	inWindow := 0
	if lim.Window > 0 {
		keep := rl.sent[:0]
		for _, p := range rl.sent {
			if now.Sub(p.at) < lim.Window {
				keep = append(keep, p)
				inWindow += p.points
			}
		}
		rl.sent = keep
	}
	refuse := func(status int, msg string) (*admission, func()) {
		s.setRateHeaders(w.Header(), rl, res, primary)
		return nil, func() { writeJSON(w, status, apiError(msg)) }
	}
	secondary := func(retryAfter time.Duration) (*admission, func()) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((retryAfter+time.Second-1)/time.Second))))
		status := http.StatusForbidden
		if lim.SecondaryStatus != 0 {
			status = lim.SecondaryStatus
		}
		return refuse(status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
	}
	switch {
	case lim.Primary > 0 && rl.used >= lim.Primary && res == "graphql":
		s.refused.Primary++
		s.setRateHeaders(w.Header(), rl, res, primary)
		return nil, func() {
			writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]any{{
				"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}}})
		}
	case lim.Primary > 0 && rl.used >= lim.Primary:
		s.refused.Primary++
		return refuse(http.StatusForbidden, "API rate limit exceeded for user. (But here's the good news: Authenticated requests get a higher rate limit.)")
	case lim.Concurrent > 0 && tl.inflight >= lim.Concurrent:
		s.refused.Concurrent++
		return secondary(time.Second)
	case perWindow > 0 && lim.Window > 0 && inWindow+points > perWindow:
		s.refused.Secondary++
		// Until enough of the window's points have aged out.
		wait, freed := time.Duration(0), 0
		for _, p := range rl.sent {
			freed += p.points
			wait = p.at.Add(lim.Window).Sub(now)
			if inWindow-freed+points <= perWindow {
				break
			}
		}
		return secondary(wait)
	}
	tl.inflight++
	rl.used++
	rl.points += points
	rl.requests++
	if lim.Window > 0 {
		rl.sent = append(rl.sent, sent{now, points})
	}
	s.setRateHeaders(w.Header(), rl, res, primary)
	return &admission{s: s, tl: tl, rl: rl, res: res}, nil
}

// primaryWindow is how long after its start the primary limit resets.
func (l Limits) primaryWindow() time.Duration {
	if l.PrimaryWindow > 0 {
		return l.PrimaryWindow
	}
	return time.Hour
}

func (s *Sim) setRateHeaders(h http.Header, rl *resourceLimits, res string, primary int) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(primary))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, primary-rl.used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(rl.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(rl.hourStart.Add(s.Limits.primaryWindow()).Unix(), 10))
	h.Set("X-RateLimit-Resource", res)
}

// notModified uncounts a request answered 304 from the primary limit, as
// GitHub does, and says so in its headers.
func (a *admission) notModified(h http.Header) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.rl.used--
	a.rl.notModified++
	primary := a.s.Limits.Primary
	if primary <= 0 {
		primary = 5000
	}
	a.s.setRateHeaders(h, a.rl, a.res, primary)
}

// done ends the request's time in flight.
func (a *admission) done() {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.tl.inflight--
}
