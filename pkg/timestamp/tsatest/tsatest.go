// Package tsatest runs a real RFC 3161 time-stamping authority for tests:
// OpenSSL's `openssl ts -reply` behind a loopback HTTP endpoint, with its
// own root and TSA certificates made afresh for each test.
package tsatest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

// TSA is a running time-stamping authority.
type TSA struct {
	// URL is its RFC 3161 endpoint.
	URL string
	// RootsFile is the PEM file of its root certificate: what an auditor
	// pins with --tsa-certs.
	RootsFile string
	// Requests counts the requests it answered with a token.
	Requests atomic.Int64

	down    atomic.Bool
	openssl string
	dir     string
	mu      sync.Mutex // openssl ts keeps a serial file
}

// Start runs a TSA until the test ends. It needs openssl: the test is
// skipped without it, and fails under CI.
func Start(t testing.TB) *TSA {
	t.Helper()
	tsa := &TSA{openssl: testtool.Require(t, "openssl"), dir: t.TempDir()}
	tsa.RootsFile = filepath.Join(tsa.dir, "tsa-roots.pem")
	writePKI(t, tsa.dir)
	srv := httptest.NewServer(http.HandlerFunc(tsa.serve))
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL + "/tsr"
	return tsa
}

// Down makes the TSA answer 503 until Up.
func (a *TSA) Down() { a.down.Store(true) }

// Up makes the TSA answer again.
func (a *TSA) Up() { a.down.Store(false) }

func (a *TSA) serve(w http.ResponseWriter, r *http.Request) {
	if a.down.Load() {
		http.Error(w, "time-stamping is unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "want a POST of application/timestamp-query", http.StatusBadRequest)
		return
	}
	query, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	q, out := filepath.Join(a.dir, "query.tsq"), filepath.Join(a.dir, "reply.tsr")
	if err := os.WriteFile(q, query, 0o600); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	cmd := exec.Command(a.openssl, "ts", "-reply", "-config", filepath.Join(a.dir, "tsa.cnf"), "-queryfile", q, "-out", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		http.Error(w, "openssl ts -reply: "+err.Error()+": "+stderr.String(), http.StatusInternalServerError)
		return
	}
	reply, err := os.ReadFile(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.Requests.Add(1)
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(reply)
}

// writePKI makes a root and a TSA certificate signed by it, and OpenSSL's
// TSA configuration for them, in dir.
func writePKI(t testing.TB, dir string) {
	t.Helper()
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	root := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exhibit test TSA root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	require.NoError(t, err)
	root, err = x509.ParseCertificate(rootDER)
	require.NoError(t, err)

	// RFC 3161 2.3: the TSA's certificate has exactly one extended key
	// usage, time stamping, marked critical (OpenSSL refuses it otherwise).
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	require.NoError(t, err)
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "exhibit test TSA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, root, &tsaKey.PublicKey, rootKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(tsaKey)
	require.NoError(t, err)

	write := func(name, typ string, der []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	}
	write("tsa-roots.pem", "CERTIFICATE", rootDER)
	write("tsa.crt", "CERTIFICATE", leafDER)
	write("tsa.key", "PRIVATE KEY", keyDER)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "serial"), []byte("01\n"), 0o600))
	cnf := fmt.Sprintf(`[ tsa ]
default_tsa = exhibit_test_tsa

[ exhibit_test_tsa ]
dir                    = %s
serial                 = $dir/serial
crypto_device          = builtin
signer_cert            = $dir/tsa.crt
signer_key             = $dir/tsa.key
signer_digest          = sha256
default_policy         = 1.3.6.1.4.1.99999.1
digests                = sha256, sha384, sha512
accuracy               = secs:1
ordering               = yes
tsa_name               = yes
ess_cert_id_chain      = no
ess_cert_id_alg        = sha256
`, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tsa.cnf"), []byte(cnf), 0o600))
}
