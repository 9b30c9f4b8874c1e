package agent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// httpCollector makes real HTTP calls, through the recording client, to a
// server that refuses the first two calls of account "busy" with 429.
type httpCollector struct {
	url    string
	client *http.Client
}

func (c *httpCollector) Scopes(context.Context) ([]evidence.Scope, error) {
	return []evidence.Scope{{Provider: "test", Account: "busy"}, {Provider: "test", Account: "quiet"}}, nil
}

func (c *httpCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	ctx = collector.WithOperation(ctx, "api", "List")
	for {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/"+req.Scope.Account, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.client.Do(r)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return agenttest.Passing(req)
		}
	}
}

// TestThrottledAnswersCounted: each snapshot's throttled calls are added
// to exhibit_throttled_answers_total under its account and service.
func TestThrottledAnswersCounted(t *testing.T) {
	var refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/busy") && refused.Add(1) <= 2 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	env := agenttest.NewEnvWith(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), func(o *agent.Options) { o.Metrics = agent.NewMetrics(reg) })
	job := agenttest.Job("paced", "@hourly", &httpCollector{url: srv.URL, client: collector.NewHTTPClient(nil)})
	written, err := env.Agent.Run(t.Context(), job)
	require.NoError(t, err)
	require.Len(t, written, 2)
	for _, w := range written {
		require.Equal(t, evidence.StatusComplete, w.Status)
	}
	require.Equal(t, map[string]int{"api": 2}, collector.Throttled(written[0].Snapshot.Calls), "in the busy account's provenance")
	require.Empty(t, collector.Throttled(written[1].Snapshot.Calls))

	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "exhibit_throttled_answers_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got[strings.Join(labels, ",")] = m.GetCounter().GetValue()
		}
	}
	require.Equal(t, map[string]float64{"account=busy,collector=paced,service=api": 2}, got)
}
