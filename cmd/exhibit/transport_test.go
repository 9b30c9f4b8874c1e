package main

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// AWS_CA_BUNDLE makes a server signed by that CA trusted; without it the
// same server is refused; a bad bundle is an error naming the variable.
func TestBaseTransportHonoursAWSCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))

	t.Setenv("AWS_CA_BUNDLE", "")
	plain, err := baseTransport()
	require.NoError(t, err)
	_, err = (&http.Client{Transport: plain}).Get(srv.URL)
	require.ErrorContains(t, err, "certificate")

	t.Setenv("AWS_CA_BUNDLE", bundle)
	tr, err := baseTransport()
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.GreaterOrEqual(t, tr.(*http.Transport).TLSClientConfig.MinVersion, uint16(tls.VersionTLS12))

	bad := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not a certificate"), 0o644))
	t.Setenv("AWS_CA_BUNDLE", bad)
	_, err = baseTransport()
	require.ErrorContains(t, err, "AWS_CA_BUNDLE")
}
