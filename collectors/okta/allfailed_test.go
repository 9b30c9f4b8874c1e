package okta_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/okta"
	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// TestEveryReadFailedIsFailed: a run in which every list the collector
// starts from is refused observed nothing, and the agent writes it failed,
// not partial, with each refusal among its errors.
func TestEveryReadFailedIsFailed(t *testing.T) {
	at := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	sim := oktasim.New(at)
	for _, p := range []string{"/api/v1/users", "/api/v1/groups", "/api/v1/apps", "/api/v1/policies"} {
		sim.Fail(p, http.StatusForbidden)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	f := okta.Factories()[0]
	c, err := f.New(collector.Settings{ID: f.Type, Sources: collector.Sources{Okta: sim.Source(srv.URL)},
		Thresholds: collector.DefaultThresholds(), HTTPClient: collector.NewHTTPClient(nil)})
	require.NoError(t, err)

	env := agenttest.NewEnv(t, at)
	w, err := env.Agent.Run(t.Context(), agenttest.Job(f.Type, "@daily", c))
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.Equal(t, evidence.StatusFailed, w[0].Status)
	s := w[0].Snapshot
	require.Empty(t, s.Records)
	ops := map[string]int{}
	for _, e := range s.Errors {
		ops[e.Operation]++
	}
	require.Equal(t, map[string]int{"users.list": 1, "groups.list": 1, "apps.list": 1, "policies.list": 2}, ops)
	for _, x := range s.Findings {
		require.Equal(t, evidence.Error, x.Status, "%s %s", x.Check, x.Resource)
	}
}
