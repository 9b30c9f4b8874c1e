package github

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// spendGraphQL sends n GraphQL queries with the simulator's token, as
// another tool sharing the token would, so that the collector's own
// queries meet a primary limit already spent.
func spendGraphQL(t *testing.T, h *harness, n int) {
	t.Helper()
	for range n {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.srv.URL+"/api/graphql",
			strings.NewReader(`{"query":"query { viewer { login } }","variables":{}}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+ghsim.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
	}
}

// throttleMarks counts the run's calls by their throttled mark.
func throttleMarks(calls []evidence.Call) map[string]int {
	out := map[string]int{}
	for _, c := range calls {
		if collector.IsThrottled(c) {
			out[c.Error]++
		}
	}
	return out
}

// TestGraphQLRateLimitedMarked: a GraphQL query over the primary limit is
// answered 200 with an error of type RATE_LIMITED and Remaining 0. Through
// the real clients, that answer is marked "throttled: RATE_LIMITED" in the
// run's calls, the collector waits for the announced reset and asks again,
// and the run observes exactly what a run under no limit does.
func TestGraphQLRateLimitedMarked(t *testing.T) {
	free := scaleHarness(t, 2, 150)
	want, err := free.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{})
	require.NoError(t, err)
	require.Empty(t, throttleMarks(free.rec.Calls()))

	h := scaleHarness(t, 2, 150)
	h.sim.Limits = &ghsim.Limits{Primary: 20, PrimaryWindow: time.Second}
	spendGraphQL(t, h, 20)
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{})
	require.NoError(t, err, "the refusal was waited out")
	require.Equal(t, ghsim.Refusals{Primary: 1}, h.sim.Refused(), "the probe, the run's first query, was refused")
	require.Equal(t, map[string]int{"throttled: RATE_LIMITED": 1}, throttleMarks(h.rec.Calls()))
	require.Equal(t, map[string]int{"github": 1}, collector.Throttled(h.rec.Calls()))
	waits, _ := rateRecords(res)
	require.Equal(t, 1, waits, "the wait for the reset is recorded")
	require.Equal(t, withoutRateRecords(want), withoutRateRecords(res))
	require.Equal(t, want.Findings, res.Findings)
}

// TestGraphQLRateLimitedNotRead: when the primary limit stays spent past
// what a run may wait, every RATE_LIMITED answer is marked, the run ends
// partial, and the pull requests and commits it could not list are judged
// error, never pass or fail; the protection, read over REST, still is.
func TestGraphQLRateLimitedNotRead(t *testing.T) {
	defer func(d time.Duration) { secondaryDefaultWait = d }(secondaryDefaultWait)
	secondaryDefaultWait = 0
	h := scaleHarness(t, 2, 150)
	h.sim.Limits = &ghsim.Limits{Primary: 20}
	spendGraphQL(t, h, 20)
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{})
	var partial *collector.PartialError
	require.ErrorAs(t, err, &partial)
	refused := h.sim.Refused()
	require.Positive(t, refused.Primary)
	require.Equal(t, map[string]int{"throttled: RATE_LIMITED": refused.Primary}, throttleMarks(h.rec.Calls()))
	require.Zero(t, countPRs(res))
	judged := map[string]map[evidence.Result]int{}
	for _, f := range res.Findings {
		if judged[f.Check] == nil {
			judged[f.Check] = map[evidence.Result]int{}
		}
		judged[f.Check][f.Status]++
	}
	// Two repositories, each with main and the configured release branch
	// (which the probe, refused too, could not rule out).
	require.Equal(t, map[evidence.Result]int{evidence.Error: 4}, judged[CheckPRApproved])
	require.Equal(t, map[evidence.Result]int{evidence.Error: 4}, judged[CheckPRApprovedFinal])
	require.Equal(t, map[evidence.Result]int{evidence.Error: 2}, judged[CheckDirectPush])
	require.Equal(t, map[evidence.Result]int{evidence.Pass: 2, evidence.NotApplicable: 2}, judged[CheckProtection])
}

// TestSecondaryLimit429: GitHub answers a secondary limit with 403 or 429;
// at 429 with Retry-After, each refusal is marked "throttled: HTTP 429",
// waited out and recorded, and the run observes what a run under no limit
// does.
func TestSecondaryLimit429(t *testing.T) {
	free := scaleHarness(t, 1, 150)
	want, err := free.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{})
	require.NoError(t, err)

	h := scaleHarness(t, 1, 150)
	h.sim.Limits = &ghsim.Limits{RESTPoints: 2, GraphQLPoints: 3, Window: 200 * time.Millisecond, SecondaryStatus: http.StatusTooManyRequests}
	usePacer(t, h.sim.Source(h.srv.URL), newPacer(nil))
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{})
	require.NoError(t, err)
	refused := h.sim.Refused()
	require.Positive(t, refused.Secondary)
	require.Equal(t, map[string]int{"throttled: HTTP 429": refused.Total()}, throttleMarks(h.rec.Calls()))
	waits := 0
	for _, r := range res.Records {
		if r.Type == "rate_limit_wait" {
			require.Equal(t, http.StatusTooManyRequests, r.Attributes["http_status"])
			waits++
		}
	}
	require.Equal(t, refused.Total(), waits)
	require.Equal(t, withoutRateRecords(want), withoutRateRecords(res))
	require.Equal(t, want.Findings, res.Findings)
}
