package github

import (
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
// once because the listing took more than one page.
func TestPullRequestPagesOf100(t *testing.T) {
	h := scaleHarness(t, 2, 250)
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{})
	require.NoError(t, err)
	require.Equal(t, 2*250, countPRs(res))
	// Per repository: main 3 pages + 1 front re-read, release 1 (empty).
	require.Equal(t, 2*(3+1+1), h.sim.Calls("graphql:pullRequests"))
}

// An hourly re-run over an organization where nothing merged reads one
// page per branch, whatever the number of pull requests.
func TestPullRequestsHourlyOnePagePerBranch(t *testing.T) {
	h := scaleHarness(t, 3, 250)
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Now: now, Since: now.Add(-time.Hour)})
	require.NoError(t, err)
	require.Zero(t, countPRs(res))
	require.Equal(t, 3*2, h.sim.Calls("graphql:pullRequests"))
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
