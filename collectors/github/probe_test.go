package github

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func probeWith(t *testing.T, h *harness, s collector.Settings) map[string]map[string]collector.ProbeResult {
	t.Helper()
	out := map[string]map[string]collector.ProbeResult{}
	for _, f := range Factories() {
		c, err := f.New(s)
		require.NoError(t, err)
		p, ok := c.(collector.Prober)
		require.True(t, ok, f.Type)
		out[f.Type] = map[string]collector.ProbeResult{}
		for _, r := range p.Probe(t.Context(), f.Permissions) {
			out[f.Type][r.Permission] = r
		}
		for _, perm := range f.Permissions {
			require.Contains(t, out[f.Type], perm, "%s: %s not reported", f.Type, perm)
		}
	}
	return out
}

func TestProbeToken(t *testing.T) {
	h := newHarness(t)
	got := probeWith(t, h, h.settings(thresholds(1)))
	require.Equal(t, collector.ProbeOK, got[TypeAccess]["reach"].Status)
	require.Equal(t, collector.ProbeOK, got[TypeAccess]["admin:org"].Status)
	require.Equal(t, collector.ProbeOK, got[TypeAccess]["read:org"].Status, "implied by admin:org")
	require.Equal(t, collector.ProbeNotProbed, got[TypeAccess]["members:read"].Status, "an App permission, with a token")

	// A token without admin:org: the access collector's scopes are denied.
	h.sim.TokenScopes = []string{"repo"}
	got = probeWith(t, h, h.settings(thresholds(1)))
	require.Equal(t, collector.ProbeDenied, got[TypeAccess]["admin:org"].Status)
	require.Equal(t, collector.ProbeDenied, got[TypeAccess]["read:org"].Status)
	require.Contains(t, got[TypeAccess]["read:org"].Detail, "repo")
	for perm, r := range got["github.vulnerabilities"] {
		require.False(t, r.Failed(), "%s: %+v", perm, r)
	}
}

func TestProbeApp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	h := newHarness(t)
	s := h.settings(thresholds(1))
	s.Sources.GitHub.Token = ""
	s.Sources.GitHub.AppID, s.Sources.GitHub.InstallationID, s.Sources.GitHub.PrivateKeyFile = 12345, 67890, keyFile
	got := probeWith(t, h, s)
	require.Equal(t, collector.ProbeOK, got[TypePullRequests]["installation token"].Status)
	require.Equal(t, collector.ProbeOK, got[TypePullRequests]["pull_requests:read"].Status)
	require.Equal(t, collector.ProbeNotProbed, got[TypePullRequests]["repo"].Status)
	// The simulated installation lacks organization administration.
	require.Equal(t, collector.ProbeDenied, got[TypeAccess]["organization_administration:read"].Status)
}
