package github

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// scaleHarness serves an organization of repos repositories with prs pull
// requests each.
func scaleHarness(t *testing.T, repos, prs int) *harness {
	t.Helper()
	sim := ghsim.NewScale(now, repos, prs)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{sim: sim, srv: srv, rec: collector.NewRecorder()}
}

func countPRs(res *collector.Result) int {
	n := 0
	for _, r := range res.Records {
		if r.Type == "github.pull_request" {
			n++
		}
	}
	return n
}

// A first run reads each branch's merged pull requests in pages of 100:
// 250 pull requests in the window are 3 pages, and the front read again
// once because the listing took more than one page. The release branch,
// which no repository has, is not listed: the probe says so.
func TestPullRequestPagesOf100(t *testing.T) {
	h := scaleHarness(t, 2, 250)
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{})
	require.NoError(t, err)
	require.Equal(t, 2*250, countPRs(res))
	// Per repository: main 3 pages + 1 front re-read; and one probe.
	require.Equal(t, 2*(3+1), h.sim.Calls("graphql:pullRequests"))
	require.Equal(t, 1, h.sim.Calls("graphql:probe"))
}

// An hourly re-run over an organization where nothing merged asks GraphQL
// once, whatever the number of repositories and pull requests: the probe.
func TestPullRequestsHourlyProbeOnly(t *testing.T) {
	h := scaleHarness(t, 3, 250)
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Now: now, Since: now.Add(-time.Hour)})
	require.NoError(t, err)
	require.Zero(t, countPRs(res))
	require.Equal(t, 1, h.sim.Calls("graphql"))
	require.Equal(t, 1, h.sim.Calls("graphql:probe"))
	for _, f := range res.Findings {
		require.NotEqual(t, evidence.Error, f.Status, f.Reason)
	}
}

// The simulator refuses pages larger than GitHub allows, as GitHub does.
func TestSimRefusesPagesOver100(t *testing.T) {
	h := scaleHarness(t, 1, 1)
	c, err := newClients(h.settings(thresholds(1)))
	require.NoError(t, err)
	var out gqlPullRequests
	err = c.graphql(t.Context(), `query($owner: String!, $name: String!, $base: String!) { repository(owner: $owner, name: $name) { pullRequests(states: MERGED, baseRefName: $base, first: 101) { nodes { number } } } }`,
		map[string]any{"owner": ghsim.DemoOrg, "name": "svc-000", "base": "main"}, &out)
	require.ErrorContains(t, err, "exceeds the `first` limit of 100")
}

// TestSimNotModifiedKeepsRateLimit: the simulator answers an unchanged
// REST read 304 with the rate-limit headers as they were, since GitHub
// does not count it, and anything else with a fresh ETag.
func TestSimNotModifiedKeepsRateLimit(t *testing.T) {
	h := scaleHarness(t, 1, 1)
	get := func(etag string) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.srv.URL+"/api/v3/orgs/acme/repos", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+ghsim.Token)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		return resp
	}
	first := get("")
	require.Equal(t, http.StatusOK, first.StatusCode)
	require.NotEmpty(t, first.Header.Get("ETag"))
	again := get(first.Header.Get("ETag"))
	require.Equal(t, http.StatusNotModified, again.StatusCode)
	require.Equal(t, first.Header.Get("X-RateLimit-Remaining"), again.Header.Get("X-RateLimit-Remaining"))
	require.Equal(t, first.Header.Get("X-RateLimit-Used"), again.Header.Get("X-RateLimit-Used"))
	require.Equal(t, 1, h.sim.Counted())

	h.sim.Org.Repos[0].Archived = true
	changed := get(first.Header.Get("ETag"))
	require.Equal(t, http.StatusOK, changed.StatusCode)
	require.NotEqual(t, first.Header.Get("ETag"), changed.Header.Get("ETag"))
	require.Equal(t, 2, h.sim.Counted())
}

// hourlyCosts runs github.pull_requests twice, an hour apart, with one
// collector over an unchanged organization of 50 repositories, and returns
// the requests of each run by kind ("counted": those that count against
// the rate limit).
func hourlyCosts(t *testing.T) (first, second map[string]int, results []*collector.Result) {
	t.Helper()
	h := scaleHarness(t, 50, 400)
	c, err := pullRequestsFactory().New(h.settings(thresholds(1)))
	require.NoError(t, err)
	scopes, err := c.Scopes(t.Context())
	require.NoError(t, err)
	snap := func() map[string]int {
		return map[string]int{"counted": h.sim.Counted(), "rest": h.sim.Calls("rest"), "rest:304": h.sim.Calls("rest:304"), "graphql": h.sim.Calls("graphql")}
	}
	run := func(since, at time.Time) map[string]int {
		before := snap()
		res, err := c.Collect(t.Context(), collector.Request{Scope: scopes[0], Since: since, Now: at})
		require.NoError(t, err)
		results = append(results, res)
		out := snap()
		for k := range out {
			out[k] -= before[k]
		}
		return out
	}
	first = run(now.Add(-time.Hour), now)
	second = run(now, now.Add(time.Hour))
	return first, second, results
}

// TestHourlyRunConditional: the second hourly run of one collector (the
// daemon) over an unchanged organization has every REST read answered
// 304, which does not count against the rate limit, and observes what the
// first did.
func TestHourlyRunConditional(t *testing.T) {
	first, second, results := hourlyCosts(t)
	t.Logf("first run (empty cache, as a one-shot exhibit collect): %v", first)
	t.Logf("second run (same collector, as the daemon): %v", second)
	require.Zero(t, first["rest:304"])
	require.Equal(t, first["rest"], second["rest"])
	require.Equal(t, second["rest"], second["rest:304"], "every REST read of the second run is answered 304")
	// Issue 17, acceptance 2: at most 10 that count.
	require.LessOrEqual(t, second["counted"], 10)
	require.Equal(t, results[0].Findings, results[1].Findings)
	require.Equal(t, results[0].Records, results[1].Records)
}

// TestConditionalSeesChange: a setting changed between runs changes its
// ETag, so the collector reads the new answer, not the kept one.
func TestConditionalSeesChange(t *testing.T) {
	h := scaleHarness(t, 3, 5)
	c, err := pullRequestsFactory().New(h.settings(thresholds(1)))
	require.NoError(t, err)
	scopes, err := c.Scopes(t.Context())
	require.NoError(t, err)
	status := func(at time.Time) evidence.Result {
		res, err := c.Collect(t.Context(), collector.Request{Scope: scopes[0], Since: at.Add(-time.Hour), Now: at})
		require.NoError(t, err)
		for _, f := range res.Findings {
			if f.Check == CheckProtection && f.Resource == "acme/svc-001:main" {
				return f.Status
			}
		}
		t.Fatal("no protection finding for acme/svc-001:main")
		return ""
	}
	require.Equal(t, evidence.Pass, status(now))
	h.sim.Org.Repo("svc-001").Protection.AllowForcePushes.Enabled = true
	h.sim.Org.Repo("svc-001").Rulesets = nil
	require.Equal(t, evidence.Fail, status(now.Add(time.Hour)))
	require.Positive(t, h.sim.Calls("rest:304"))
}

// TestProbeReadsWhatChanged: among unchanged repositories, the one where a
// pull request merged within the hour and the one with a direct push are
// read in full, and both are in the evidence.
func TestProbeReadsWhatChanged(t *testing.T) {
	h := scaleHarness(t, 5, 20)
	merged := now.Add(-10 * time.Minute)
	r3 := h.sim.Org.Repo("svc-003")
	r3.PRs = append(r3.PRs, &ghsim.PR{Number: 99, Title: "Late fix", Base: "main", Author: ghsim.User{Login: "bob", Type: "User"},
		MergedBy: ghsim.User{Login: "bob", Type: "User"}, MergedAt: merged, UpdatedAt: merged, HeadOID: ghsim.OID("late head"),
		HeadCommittedAt: merged.Add(-time.Hour), MergeCommit: ghsim.OID("late merge")})
	r3.Commits = append(r3.Commits, ghsim.Commit{OID: ghsim.OID("late merge"), Headline: "Late fix (#99)", Author: "bob", Date: merged, PRs: []int{99}})
	h.sim.Org.Repo("svc-004").Commits = append(h.sim.Org.Repo("svc-004").Commits,
		ghsim.Commit{OID: ghsim.OID("direct"), Headline: "hotfix", Author: "bob", Date: now.Add(-5 * time.Minute)})

	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Now: now, Since: now.Add(-time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 1, countPRs(res))
	var failedPR, directPush bool
	for _, f := range res.Findings {
		if f.Check == CheckPRApproved && f.Resource == "acme/svc-003#99" {
			failedPR = f.Status == evidence.Fail // self-merged, no review
		}
		if f.Check == CheckDirectPush && f.Resource == "acme/svc-004@"+ghsim.OID("direct") {
			directPush = f.Status == evidence.Fail
		}
	}
	require.True(t, failedPR, "the pull request merged within the hour is judged")
	require.True(t, directPush, "the direct push within the hour is judged")
	// The probe, svc-003's listing and history, svc-004's history.
	require.Equal(t, 1, h.sim.Calls("graphql:probe"))
	require.Equal(t, 1, h.sim.Calls("graphql:pullRequests"))
	require.Equal(t, 2, h.sim.Calls("graphql:history"))
}

// TestConditionalPagesFollowKeptLinks: a listing of several pages answered
// 304 page by page still reaches its last page, through the Link header of
// the kept answers.
func TestConditionalPagesFollowKeptLinks(t *testing.T) {
	h := scaleHarness(t, 9, 2)
	h.sim.RESTPageSize = 2
	c, err := pullRequestsFactory().New(h.settings(thresholds(1)))
	require.NoError(t, err)
	scopes, err := c.Scopes(t.Context())
	require.NoError(t, err)
	repos := func(at time.Time) int {
		res, err := c.Collect(t.Context(), collector.Request{Scope: scopes[0], Since: at.Add(-time.Hour), Now: at})
		require.NoError(t, err)
		n := 0
		for _, r := range res.Records {
			if r.Type == "github.repository" {
				n++
			}
		}
		return n
	}
	require.Equal(t, 9, repos(now))
	before := h.sim.Calls("rest:304")
	require.Equal(t, 9, repos(now.Add(time.Hour)))
	require.Equal(t, h.sim.Counted(), h.sim.Calls("rest")+h.sim.Calls("graphql")-h.sim.Calls("rest:304"))
	require.GreaterOrEqual(t, h.sim.Calls("rest:304")-before, 5, "the five pages of repositories were answered 304")
}

// BenchmarkHourlyRun reports, for github.pull_requests over an unchanged
// organization of 50 repositories (400 merged pull requests each), the
// requests that count against the rate limit on a collector's first hourly
// run (an empty cache: what a one-shot exhibit collect pays) and on its
// second (the daemon). No wall time is asserted.
//
//	go test ./collectors/github/ -run '^$' -bench BenchmarkHourlyRun -benchtime 3x
func BenchmarkHourlyRun(b *testing.B) {
	for range b.N {
		sim := ghsim.NewScale(now, 50, 400)
		srv := httptest.NewServer(sim)
		s := collector.Settings{ID: "bench", Sources: collector.Sources{GitHub: sim.Source(srv.URL)},
			Thresholds: thresholds(1), HTTPClient: collector.NewHTTPClient(nil)}
		c, err := pullRequestsFactory().New(s)
		if err != nil {
			b.Fatal(err)
		}
		scopes, err := c.Scopes(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		run := func(at time.Time) int {
			before := sim.Counted()
			if _, err := c.Collect(b.Context(), collector.Request{Scope: scopes[0], Since: at.Add(-time.Hour), Now: at}); err != nil {
				b.Fatal(err)
			}
			return sim.Counted() - before
		}
		first, second := run(now), run(now.Add(time.Hour))
		srv.Close()
		b.ReportMetric(float64(first), "counted-first-run")
		b.ReportMetric(float64(second), "counted-second-run")
		b.ReportMetric(float64(second)/50, "counted-per-repo-second-run")
	}
}
