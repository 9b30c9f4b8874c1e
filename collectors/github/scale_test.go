package github

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// usePacer makes p the process's pacer for the simulator's source for the
// rest of the test, as if the process had made it with these limits.
func usePacer(tb testing.TB, src *collector.GitHubSource, p *pacer) {
	tb.Helper()
	key := pacerKey(src, src.BaseURL)
	pacers.Lock()
	pacers.m[key] = p
	pacers.Unlock()
	tb.Cleanup(func() {
		pacers.Lock()
		delete(pacers.m, key)
		pacers.Unlock()
	})
}

// TestSimScaleLimits: in scale mode the simulator answers each token's
// requests with its resource's primary-limit headers, refuses a request
// over a window's points with 403, Retry-After and the secondary-limit
// message while the other resource still has room, and refuses once the
// hour's requests are spent with Remaining 0: a GraphQL query with 200
// and an error of type RATE_LIMITED. Each refusal is counted.
func TestSimScaleLimits(t *testing.T) {
	sim := ghsim.NewScale(now, 1, 1)
	sim.Limits = &ghsim.Limits{RESTPoints: 2, GraphQLPoints: 5, Window: time.Hour, Primary: 3}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	send := func(method, path, body string) (*http.Response, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+ghsim.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp, string(b)
	}
	for i := 1; i <= 2; i++ {
		resp, _ := send(http.MethodGet, "/api/v3/orgs/acme/repos", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "3", resp.Header.Get("X-RateLimit-Limit"))
		require.Equal(t, "core", resp.Header.Get("X-RateLimit-Resource"))
		require.Equal(t, strconv.Itoa(i), resp.Header.Get("X-RateLimit-Used"))
		require.Equal(t, strconv.Itoa(3-i), resp.Header.Get("X-RateLimit-Remaining"))
		require.NotEmpty(t, resp.Header.Get("X-RateLimit-Reset"))
	}
	resp, body := send(http.MethodGet, "/api/v3/orgs/acme/repos", "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, body, "You have exceeded a secondary rate limit")
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Equal(t, ghsim.Refusals{Secondary: 1}, sim.Refused())

	// GraphQL is its own resource, with its own counts.
	q := `{"query":"query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { name } }","variables":{"owner":"acme","name":"svc-000"}}`
	for i := 1; i <= 3; i++ {
		resp, _ := send(http.MethodPost, "/api/graphql", q)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "graphql", resp.Header.Get("X-RateLimit-Resource"))
		require.Equal(t, strconv.Itoa(3-i), resp.Header.Get("X-RateLimit-Remaining"))
	}
	// Over the primary limit, GraphQL answers 200 with RATE_LIMITED.
	resp, body = send(http.MethodPost, "/api/graphql", q)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
	require.JSONEq(t, `{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1."}]}`, body)
	require.Equal(t, ghsim.Refusals{Secondary: 1, Primary: 1}, sim.Refused())
	requests, points := sim.Admitted("graphql")
	require.Equal(t, 3, requests)
	require.Equal(t, 3, points)
}

// rateRecords are a result's records of rate-limit waits and pacing.
func rateRecords(res *collector.Result) (waits int, buckets []evidence.Record) {
	for _, r := range res.Records {
		switch r.Type {
		case "rate_limit_wait":
			waits++
		case "rate_limit_bucket":
			buckets = append(buckets, r)
		}
	}
	return waits, buckets
}

// withoutRateRecords are a result's records but the rate-limit ones.
func withoutRateRecords(res *collector.Result) []evidence.Record {
	var out []evidence.Record
	for _, r := range res.Records {
		if r.Type != "rate_limit_wait" && r.Type != "rate_limit_bucket" {
			out = append(out, r)
		}
	}
	return out
}

// TestScaleLimitsPaced: against secondary limits scaled down to a few
// points per 300 ms, github.pull_requests unpaced is refused (and waits
// each refusal out, recording it); paced to the same limits, the same
// collection is never refused, records that its requests were held back,
// and observes the same. Counts only, no times.
func TestScaleLimitsPaced(t *testing.T) {
	limits := map[string]secondaryLimit{"core": {4, 300 * time.Millisecond}, "graphql": {6, 300 * time.Millisecond}}
	run := func(p *pacer) (*collector.Result, *ghsim.Sim) {
		h := scaleHarness(t, 2, 150)
		h.sim.Limits = &ghsim.Limits{RESTPoints: 4, GraphQLPoints: 6, Window: 300 * time.Millisecond, Primary: 5000}
		usePacer(t, h.sim.Source(h.srv.URL), p)
		res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{})
		require.NoError(t, err)
		return res, h.sim
	}
	unpaced, sim := run(newPacer(nil))
	refused := sim.Refused().Total()
	require.Positive(t, refused, "unpaced, the collector overruns 4 REST and 6 GraphQL points per 300 ms")
	waits, buckets := rateRecords(unpaced)
	require.Equal(t, refused, waits, "each refusal is waited out and recorded")
	require.Empty(t, buckets)

	paced, sim := run(newPacer(limits))
	require.Zero(t, sim.Refused().Total(), "paced, no request was refused")
	waits, buckets = rateRecords(paced)
	require.Zero(t, waits)
	require.NotEmpty(t, buckets, "the run records that the pacer held requests back")
	for _, b := range buckets {
		require.Equal(t, "github", b.Attributes["provider"])
		require.Positive(t, b.Attributes["paced_calls"], b.ID)
		require.Equal(t, limits[b.ID].points, b.Attributes["limit"], b.ID)
	}
	core, _ := sim.Admitted("core")
	gql, _ := sim.Admitted("graphql")
	require.Greater(t, core+gql, 4+6, "the run made more requests than one window allows")
	require.Equal(t, withoutRateRecords(unpaced), withoutRateRecords(paced))
	require.Equal(t, unpaced.Findings, paced.Findings)
}

// TestPacerSharedPerCredential: every GitHub collector of the process
// sending with one token to one host holds its requests in one pacer,
// at GitHub's documented limits; another token has its own.
func TestPacerSharedPerCredential(t *testing.T) {
	h := scaleHarness(t, 1, 1)
	s := h.settings(thresholds(1))
	a, err := newClients(s)
	require.NoError(t, err)
	b, err := newClients(s)
	require.NoError(t, err)
	pace := func(c *clients) *pacer {
		return c.rest.Client().Transport.(*etagTransport).base.(*tokenTransport).base.(*rateLimitTransport).pace
	}
	require.Same(t, pace(a), pace(b))
	require.Equal(t, documentedLimits, pace(a).limits)
	other := *s.Sources.GitHub
	other.Token = "another-token"
	s.Sources.GitHub = &other
	c, err := newClients(s)
	require.NoError(t, err)
	require.NotSame(t, pace(a), pace(c))
	require.NotContains(t, pacerKey(&other, other.BaseURL), "another-token", "the key does not hold the secret")
}

// scaleCounts are what the simulator let through and refused.
type scaleCounts struct {
	restRequests, restPoints, gqlRequests, gqlPoints, notModified int
	refused                                                       ghsim.Refusals
	paced                                                         int // requests the pacer held back, from the run's records
}

func countsOf(sim *ghsim.Sim) scaleCounts {
	var c scaleCounts
	c.restRequests, c.restPoints = sim.Admitted("core")
	c.gqlRequests, c.gqlPoints = sim.Admitted("graphql")
	c.notModified = sim.Calls("rest:304")
	c.refused = sim.Refused()
	return c
}

func (c scaleCounts) minus(o scaleCounts) scaleCounts {
	return scaleCounts{c.restRequests - o.restRequests, c.restPoints - o.restPoints, c.gqlRequests - o.gqlRequests,
		c.gqlPoints - o.gqlPoints, c.notModified - o.notModified, ghsim.Refusals{
			Secondary: c.refused.Secondary - o.refused.Secondary, Concurrent: c.refused.Concurrent - o.refused.Concurrent,
			Primary: c.refused.Primary - o.refused.Primary}, c.paced - o.paced}
}

// counted are the requests that count against the primary limit: all
// but the 304s.
func (c scaleCounts) counted() int { return c.restRequests - c.notModified + c.gqlRequests }

// floor is the least time the requests let through could take at the
// secondary limits' rates: for each resource its points over its rate,
// the larger of the two. (The primary limit, 5,000 an hour per resource,
// is a budget the runs here stay well inside: it adds nothing.)
func (c scaleCounts) floor(l ghsim.Limits) time.Duration {
	rate := func(points int) float64 { return float64(points) / l.Window.Seconds() }
	return time.Duration(max(float64(c.restPoints)/rate(l.RESTPoints), float64(c.gqlPoints)/rate(l.GraphQLPoints)) * float64(time.Second))
}

// BenchmarkScalePullRequests runs github.pull_requests over issue 17's
// organization (ghsim.NewScale: 50 repositories, 400 merged pull requests
// each over 90 days) in scale mode, 30 ms ± 20 ms a request: a first run
// over the 90-day window by a new collector, then the hourly re-run by the
// same collector (the daemon) over the unchanged organization.
//
// "documented" holds the token to GitHub's documented limits
// (ghsim.DocumentedLimits: 900 REST and 2,000 GraphQL points a minute);
// "per-second" to the same rates in windows of one second (15 REST, 33
// GraphQL points), the "15/s" taken strictly. "paced" is the
// collector's pacer at the simulator's limits, "unpaced" no pacer.
//
// Each run reports its wall time, the requests the simulator let through
// (REST, GraphQL, and those that count against the primary limit), the
// refusals, snapshots not complete, the floor (points let through over
// each resource's rate, the larger) and wall ÷ floor; the first run also
// where its time went (sendTimes). Nothing is asserted on time.
//
//	go test ./collectors/github/ -run '^$' -bench BenchmarkScalePullRequests -benchtime 1x -count 3
func BenchmarkScalePullRequests(b *testing.B) {
	perSecond := ghsim.Limits{RESTPoints: 15, GraphQLPoints: 33, Window: time.Second, Concurrent: 100, Primary: 5000}
	for _, lc := range []struct {
		name   string
		limits ghsim.Limits
	}{{"documented", ghsim.DocumentedLimits}, {"per-second", perSecond}} {
		for _, mode := range []string{"paced", "unpaced"} {
			b.Run(lc.name+"/"+mode, func(b *testing.B) {
				var first, hourly scaleCounts
				var firstWall, hourlyWall, firstFloor, hourlyFloor time.Duration
				var firstTimes sendTimes
				incomplete := 0
				for b.Loop() {
					sim := ghsim.NewScale(now, 50, 400)
					lim := lc.limits
					sim.Limits = &lim
					sim.Latency, sim.Jitter = 30*time.Millisecond, 20*time.Millisecond
					srv := httptest.NewServer(sim)
					src := sim.Source(srv.URL)
					p := newPacer(nil)
					if mode == "paced" {
						p = newPacer(map[string]secondaryLimit{"core": {lim.RESTPoints, lim.Window}, "graphql": {lim.GraphQLPoints, lim.Window}})
					}
					usePacer(b, src, p)
					// The agent's transport keeps 256 idle connections a host
					// (cmd/exhibit), not Go's default 2: with 2, most of the
					// run's requests dialed a new connection.
					tr := http.DefaultTransport.(*http.Transport).Clone()
					tr.MaxIdleConnsPerHost, tr.MaxIdleConns = 256, 256
					sends := &sendLog{base: tr}
					c, err := pullRequestsFactory().New(collector.Settings{ID: "bench", Sources: collector.Sources{GitHub: src},
						Thresholds: thresholds(1), HTTPClient: collector.NewHTTPClient(sends)})
					if err != nil {
						b.Fatal(err)
					}
					scopes, err := c.Scopes(b.Context())
					if err != nil {
						b.Fatal(err)
					}
					run := func(req collector.Request) (scaleCounts, time.Duration) {
						before := countsOf(sim)
						req.Scope = scopes[0]
						start := time.Now()
						res, err := c.Collect(b.Context(), req)
						wall := time.Since(start)
						if err != nil {
							incomplete++
							b.Logf("not complete: %v", err)
						}
						if res == nil {
							b.Fatal("no result")
						}
						out := countsOf(sim).minus(before)
						_, buckets := rateRecords(res)
						for _, r := range buckets {
							out.paced += r.Attributes["paced_calls"].(int)
						}
						return out, wall
					}
					sends.reset()
					f, fw := run(collector.Request{Now: now})
					firstTimes = firstTimes.add(sends.times(fw))
					h, hw := run(collector.Request{Since: now, Now: now.Add(time.Hour)})
					srv.Close()
					first, hourly = add(first, f), add(hourly, h)
					firstWall += fw
					hourlyWall += hw
					firstFloor += f.floor(lim)
					hourlyFloor += h.floor(lim)
				}
				n := float64(b.N)
				report := func(prefix string, c scaleCounts, wall, floor time.Duration) {
					b.ReportMetric(wall.Seconds()/n, prefix+"wall-s")
					b.ReportMetric(float64(c.restRequests)/n, prefix+"rest")
					b.ReportMetric(float64(c.gqlRequests)/n, prefix+"graphql")
					b.ReportMetric(float64(c.counted())/n, prefix+"counted")
					b.ReportMetric(float64(c.refused.Total())/n, prefix+"refused")
					b.ReportMetric(float64(c.paced)/n, prefix+"paced")
					b.ReportMetric(floor.Seconds()/n, prefix+"floor-s")
					b.ReportMetric(wall.Seconds()/floor.Seconds(), prefix+"wall/floor")
				}
				report("first-", first, firstWall, firstFloor)
				b.ReportMetric(firstTimes.lead.Seconds()/n, "first-lead-s")
				b.ReportMetric(firstTimes.graphqlRate/n, "first-graphql/s")
				b.ReportMetric(float64(firstTimes.rtt.Milliseconds())/n, "first-rtt-ms")
				b.ReportMetric(firstTimes.end.Seconds()/n, "first-end-s")
				report("hourly-", hourly, hourlyWall, hourlyFloor)
				b.ReportMetric(float64(incomplete)/n, "incomplete/op")
			})
		}
	}
}

// sendLog times each attempt the collector sends, as the server's
// client: when it left and how long its answer took.
type sendLog struct {
	base http.RoundTripper

	mu    sync.Mutex
	start time.Time
	sent  []sentAt
}

type sentAt struct {
	at, rtt time.Duration // from the run's start
	graphql bool
}

func (l *sendLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.start, l.sent = time.Now(), nil
}

func (l *sendLog) RoundTrip(req *http.Request) (*http.Response, error) {
	at := time.Now()
	resp, err := l.base.RoundTrip(req)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, sentAt{at.Sub(l.start), time.Since(at), strings.HasSuffix(req.URL.Path, "/graphql")})
	return resp, err
}

// sendTimes are where a run's time went: lead, until the first request
// after the repository listing and the probe (the run's serialized start);
// graphqlRate, GraphQL requests a second from then to the last one; rtt,
// the mean time to an answer; end, from the last answer to the run's end.
type sendTimes struct {
	lead, rtt, end time.Duration
	graphqlRate    float64
}

func (l *sendLog) times(wall time.Duration) sendTimes {
	l.mu.Lock()
	defer l.mu.Unlock()
	sent := append([]sentAt(nil), l.sent...)
	sort.Slice(sent, func(i, j int) bool { return sent[i].at < sent[j].at })
	var t sendTimes
	if len(sent) < 3 {
		return t
	}
	t.lead = sent[2].at
	var last, lastAnswer, total time.Duration
	gql := 0
	for _, s := range sent[2:] {
		if s.graphql {
			gql++
			last = s.at
		}
	}
	for _, s := range sent {
		total += s.rtt
		lastAnswer = max(lastAnswer, s.at+s.rtt)
	}
	if last > t.lead {
		t.graphqlRate = float64(gql) / (last - t.lead).Seconds()
	}
	t.rtt = total / time.Duration(len(sent))
	t.end = wall - lastAnswer
	return t
}

func (t sendTimes) add(o sendTimes) sendTimes {
	return sendTimes{t.lead + o.lead, t.rtt + o.rtt, t.end + o.end, t.graphqlRate + o.graphqlRate}
}

func add(a, b scaleCounts) scaleCounts {
	z := scaleCounts{}
	return a.minus(z.minus(b))
}

// TestPacerCountsUntilAnswered: a request holds its place in the window
// while in flight, whatever the window, and from its answer on for a
// window; a wait that cannot end before the context does is an error.
func TestPacerCountsUntilAnswered(t *testing.T) {
	p := newPacer(map[string]secondaryLimit{"core": {2, 200 * time.Millisecond}})
	_, w1, done1, err := p.acquire(t.Context(), "core", 1)
	require.NoError(t, err)
	_, w2, done2, err := p.acquire(t.Context(), "core", 1)
	require.NoError(t, err)
	require.Zero(t, w1+w2, "two points fit the window")
	defer done2()

	// Both in flight: a third cannot go, however long the window is past.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, _, _, err = p.acquire(ctx, "core", 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "secondary rate limit")

	// Once one is answered, the third goes when that answer ages out.
	done1()
	_, w3, done3, err := p.acquire(t.Context(), "core", 1)
	require.NoError(t, err)
	require.Positive(t, w3, "held back until the answered request left the window")
	done3()

	// Another resource has its own points; one without a limit is not held.
	_, w4, _, err := p.acquire(t.Context(), "graphql", 1)
	require.NoError(t, err)
	require.Zero(t, w4)
}
