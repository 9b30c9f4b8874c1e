package okta

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// scaleRun collects from a simulator of users extra users limited to limit
// calls per bucket per window, and returns the result, the error and the
// simulator and the calls recorded.
func scaleRun(tb testing.TB, users, limit int, window, latency time.Duration, pacing bool) (*collector.Result, *oktasim.Sim, *collector.Recorder, error) {
	tb.Helper()
	sim := oktasim.New(now)
	sim.Org.AddUsers(now, users)
	sim.PageSize = pageLimit
	sim.RateLimit, sim.RateWindow, sim.Latency = limit, window, latency
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	settings := collector.Settings{ID: "test", Sources: collector.Sources{Okta: sim.Source(srv.URL)},
		Thresholds: collector.DefaultThresholds(), HTTPClient: collector.NewHTTPClient(nil)}
	c, err := accessFactory().New(settings)
	require.NoError(tb, err)
	c.(*access).noPacing = !pacing
	rec := collector.NewRecorder()
	scope := evidence.Scope{Provider: "okta", Account: orgHost(srv.URL)}
	res, err := c.Collect(collector.WithRecorder(tb.Context(), rec), collector.Request{Scope: scope, Now: now})
	return res, sim, rec, err
}

// TestPacingAvoids429: with a simulated limit of 15 calls per bucket per
// second, a run whose factor listings alone need four windows is paced:
// Okta answers no 429, the pacer says it held calls back, and the evidence
// is complete.
func TestPacingAvoids429(t *testing.T) {
	res, sim, rec, err := scaleRun(t, 50, 15, time.Second, 0, true)
	require.NoError(t, err)
	require.Zero(t, sim.TooManyRequests(), "no call is refused when paced")
	for _, c := range rec.Calls() {
		require.NotEqual(t, http.StatusTooManyRequests, c.HTTPStatus, c.Operation)
	}
	var paced *evidence.Record
	for i, r := range res.Records {
		require.NotEqual(t, "rate_limit_wait", r.Type)
		if r.Type == "rate_limit_bucket" && r.ID == "/api/v1" {
			paced = &res.Records[i]
		}
	}
	require.NotNil(t, paced, "the factors' bucket was paced")
	require.Equal(t, 15, paced.Attributes["limit"])
	require.Positive(t, paced.Attributes["paced_calls"])
	require.Equal(t, 0, paced.Attributes["throttled_429"])
	var mfa int
	for _, f := range res.Findings {
		if f.Check == CheckUserMFA {
			require.NotEqual(t, evidence.Error, f.Status, f.Reason)
			mfa++
		}
	}
	require.Equal(t, 8+50, mfa)
}

// TestSimRateLimit: the simulator answers each bucket's calls with its
// limit, what remains and the reset, and refuses the call past the limit
// with 429 while another bucket still has room.
func TestSimRateLimit(t *testing.T) {
	sim := oktasim.New(now)
	sim.RateLimit, sim.RateWindow = 3, time.Hour
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	get := func(path string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "SSWS "+oktasim.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		resp := get("/api/v1/users/00u1alice00000000001/factors")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "3", resp.Header.Get("X-Rate-Limit-Limit"))
		require.Equal(t, strconv.Itoa(2-i), resp.Header.Get("X-Rate-Limit-Remaining"))
		reset, err := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
		require.NoError(t, err)
		require.Greater(t, reset, time.Now().Unix())
	}
	// Policies are in the same "most other actions" bucket as factors.
	require.Equal(t, http.StatusTooManyRequests, get("/api/v1/policies?type=OKTA_SIGN_ON").StatusCode)
	require.Equal(t, http.StatusOK, get("/api/v1/users").StatusCode)
	require.Equal(t, 1, sim.TooManyRequests())
}

// TestBucketsAgree: the collector groups every endpoint it calls into the
// bucket the simulator counts it in, as Okta documents them.
func TestBucketsAgree(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v1/users":               "/api/v1/users",
		"/api/v1/users/00u1/factors":  "/api/v1",
		"/api/v1/groups":              "/api/v1/groups",
		"/api/v1/groups/00g1/users":   "/api/v1/groups",
		"/api/v1/groups/00g1":         "/api/v1/groups/{id}",
		"/api/v1/apps":                "/api/v1/apps",
		"/api/v1/apps/0oa1/users":     "/api/v1/apps",
		"/api/v1/apps/0oa1/groups":    "/api/v1/apps",
		"/api/v1/apps/0oa1":           "/api/v1/apps/{id}",
		"/api/v1/policies":            "/api/v1",
		"/api/v1/policies/00p1/rules": "/api/v1",
		"/api/v1/users/00u1":          "/api/v1/users/{idOrLogin}",
		"/api/v1/logs":                "/api/v1/logs",
		"/oauth2/v1/token":            "/oauth2/v1/token",
	} {
		require.Equal(t, want, bucket(http.MethodGet, path), path)
		require.Equal(t, want, oktasim.Bucket(http.MethodGet, path), path)
	}
	require.Equal(t, "/api/v1/users/{id}", bucket(http.MethodPut, "/api/v1/users/00u1"))
	require.Equal(t, "/api/v1/users/{id}", oktasim.Bucket(http.MethodPut, "/api/v1/users/00u1"))
}

// TestPacerWaitsForReset: with one call left in a window and one in
// flight, the next call waits for the reset; an answer from a later
// window lets it go; a window that has passed restores the limit.
func TestPacerWaitsForReset(t *testing.T) {
	p := newPacer()
	clock := time.Unix(1_800_000_000, 0)
	p.now = func() time.Time { return clock }
	answer := func(limit, remaining int, reset int64) *http.Response {
		h := http.Header{}
		h.Set("Date", clock.UTC().Format(http.TimeFormat))
		h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
		h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
		h.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset, 10))
		return &http.Response{StatusCode: http.StatusOK, Header: h}
	}
	ctx := t.Context()
	require.NoError(t, p.acquire(ctx, "b"))
	p.release("b", answer(10, 1, clock.Unix()+5))
	require.NoError(t, p.acquire(ctx, "b")) // the last one
	done := make(chan error, 1)
	go func() { done <- p.acquire(ctx, "b") }()
	select {
	case err := <-done:
		t.Fatalf("acquired with the window's budget used up: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	p.mu.Lock()
	clock = clock.Add(6 * time.Second)
	p.mu.Unlock()
	p.release("b", answer(10, 9, clock.Unix()+60)) // a new window
	require.NoError(t, <-done)
	recs := p.records()
	require.Len(t, recs, 1)
	require.Equal(t, "b", recs[0].ID)
	require.Equal(t, 1, recs[0].Attributes["paced_calls"])
	require.Equal(t, 3, recs[0].Attributes["calls"])
}
