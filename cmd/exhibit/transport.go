package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// idleConnsPerHost is how many idle connections the transport keeps to one
// host. Go's default keeps 2, but the agent has up to scope_concurrency ×
// sources.aws.concurrency calls in flight (20 accounts × 8 is 160), most of
// them to one host per service and region (IAM, STS, CloudTrail): with 2
// kept, almost every call that finishes closes its connection and the next
// one dials and handshakes again. 256 keeps them for reuse; the total is
// still bounded by the calls in flight, and IdleConnTimeout still closes
// those left unused.
const idleConnsPerHost = 256

// baseTransport is the HTTP transport every collector's API calls use: a
// clone of Go's default with idleConnsPerHost idle connections per host
// instead of 2. The AWS SDK's AWS_CA_BUNDLE, when set, adds its certificates to the system's
// trusted roots (a TLS-inspecting proxy, a private endpoint); the SDK cannot
// apply it itself to a client it did not build.
func baseTransport() (http.RoundTripper, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idleConnsPerHost
	t.MaxIdleConns = max(t.MaxIdleConns, idleConnsPerHost)
	bundle := os.Getenv("AWS_CA_BUNDLE")
	if bundle == "" {
		return t, nil
	}
	pem, err := os.ReadFile(bundle)
	if err != nil {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AWS_CA_BUNDLE %s: no PEM certificate in it", bundle)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}
