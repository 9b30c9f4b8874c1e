package timestamp_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/testtool"
	"github.com/exhibit-dev/exhibit/pkg/timestamp"
	"github.com/exhibit-dev/exhibit/pkg/timestamp/tsatest"
)

func roots(t *testing.T, tsa *tsatest.TSA) []byte {
	t.Helper()
	b, err := os.ReadFile(tsa.RootsFile)
	require.NoError(t, err)
	return b
}

// A token from a real TSA (OpenSSL's) verifies against its pinned root,
// dates the bytes with the TSA's clock, and is what openssl ts -verify reads.
func TestStampAndVerifyWithARealTSA(t *testing.T) {
	tsa := tsatest.Start(t)
	data := []byte(`{"schema":"exhibit.dev/evidence/v1"}`)
	before := time.Now().Add(-2 * time.Second)
	resp, err := (&timestamp.Client{URL: tsa.URL}).Stamp(t.Context(), data)
	require.NoError(t, err)

	pool, err := timestamp.ParseCertificates(roots(t, tsa))
	require.NoError(t, err)
	tok, err := timestamp.Verify(resp, data, pool)
	require.NoError(t, err)
	require.False(t, tok.Time.Before(before), "token time %s", tok.Time)
	require.False(t, tok.Time.After(time.Now().Add(2*time.Second)), "token time %s", tok.Time)
	require.Equal(t, "CN=exhibit test TSA", tok.Signer)
	require.Equal(t, time.Second, tok.Accuracy)

	dir := t.TempDir()
	dataFile, tsrFile := filepath.Join(dir, "s.json"), filepath.Join(dir, "s.json.tsr")
	require.NoError(t, os.WriteFile(dataFile, data, 0o600))
	require.NoError(t, os.WriteFile(tsrFile, resp, 0o600))
	out, err := exec.Command(testtool.Require(t, "openssl"), "ts", "-verify", "-in", tsrFile, "-data", dataFile, "-CAfile", tsa.RootsFile).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "Verification: OK")
}

func TestVerifyRefuses(t *testing.T) {
	tsa := tsatest.Start(t)
	data := []byte("the snapshot")
	resp, err := (&timestamp.Client{URL: tsa.URL}).Stamp(t.Context(), data)
	require.NoError(t, err)
	pool, err := timestamp.ParseCertificates(roots(t, tsa))
	require.NoError(t, err)
	other, err := timestamp.ParseCertificates(roots(t, tsatest.Start(t)))
	require.NoError(t, err)

	corrupt := append([]byte(nil), resp...)
	corrupt[len(corrupt)-10] ^= 0xff
	for name, tc := range map[string]struct {
		resp, data []byte
		pool       any
		want       string
	}{
		"other bytes":      {resp, []byte("the snapshot, edited"), pool, "not over these bytes"},
		"another TSA":      {resp, data, other, "chain"},
		"altered token":    {corrupt, data, pool, "token"},
		"truncated token":  {resp[:len(resp)/2], data, pool, "token"},
		"not a token":      {[]byte("hello"), data, pool, "token"},
		"no pinned chains": {resp, data, nil, "no TSA certificates"},
	} {
		t.Run(name, func(t *testing.T) {
			p := pool
			switch tc.pool {
			case nil:
				p = nil
			case other:
				p = other
			}
			_, err := timestamp.Verify(tc.resp, tc.data, p)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestStampFailsClearly(t *testing.T) {
	tsa := tsatest.Start(t)
	tsa.Down()
	_, err := (&timestamp.Client{URL: tsa.URL}).Stamp(t.Context(), []byte("x"))
	require.ErrorContains(t, err, "HTTP 503")
	tsa.Up()
	_, err = (&timestamp.Client{URL: tsa.URL}).Stamp(t.Context(), []byte("x"))
	require.NoError(t, err)

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>captive portal</html>"))
	}))
	defer html.Close()
	_, err = (&timestamp.Client{URL: html.URL}).Stamp(t.Context(), []byte("x"))
	require.ErrorContains(t, err, `answered "text/html"`)

	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write([]byte{0x30, 0x03, 0x02, 0x01, 0x02})
	}))
	defer garbage.Close()
	_, err = (&timestamp.Client{URL: garbage.URL}).Stamp(t.Context(), []byte("x"))
	require.Error(t, err)
}

func TestParseCertificates(t *testing.T) {
	_, err := timestamp.ParseCertificates([]byte("not pem"))
	require.ErrorContains(t, err, "no PEM certificate")
	_, err = timestamp.ParseCertificates([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	require.ErrorContains(t, err, "certificate 1")
}
