package okta

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func (h *harness) probe(t *testing.T) map[string]collector.ProbeResult {
	t.Helper()
	f := accessFactory()
	c, err := f.New(collector.Settings{ID: "test", Sources: collector.Sources{Okta: h.sim.Source(h.srv.URL)}, HTTPClient: collector.NewHTTPClient(nil)})
	require.NoError(t, err)
	out := map[string]collector.ProbeResult{}
	for _, r := range c.(collector.Prober).Probe(t.Context(), f.Permissions) {
		out[r.Permission] = r
	}
	for _, p := range f.Permissions {
		require.Contains(t, out, p)
	}
	return out
}

func TestProbeScopes(t *testing.T) {
	h := newHarness(t)
	for p, r := range h.probe(t) {
		require.Equal(t, collector.ProbeOK, r.Status, "%s: %+v", p, r)
	}
	// A token whose admin cannot read groups.
	h.sim.Fail("/api/v1/groups", http.StatusForbidden)
	got := h.probe(t)
	require.Equal(t, collector.ProbeDenied, got["okta.groups.read"].Status, "%+v", got["okta.groups.read"])
	require.Equal(t, collector.ProbeOK, got["okta.users.read"].Status)
}
