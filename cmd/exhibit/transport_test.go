package main

import (
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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

// The transport keeps Go's defaults (proxy from the environment, timeouts,
// HTTP/2) but enough idle connections that calls made together reuse them:
// two rounds of 40 concurrent calls to one host open 40 connections, not
// 40 and then 38 more as with 2 kept per host.
func TestBaseTransportKeepsConnections(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	var opened atomic.Int64
	var mu sync.Mutex
	release := make(chan struct{})
	gate := func() chan struct{} { mu.Lock(); defer mu.Unlock(); return release }
	var arrived sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived.Done()
		<-gate()
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	tr, err := baseTransport()
	require.NoError(t, err)
	ht := tr.(*http.Transport)
	def := http.DefaultTransport.(*http.Transport)
	require.Equal(t, idleConnsPerHost, ht.MaxIdleConnsPerHost)
	require.GreaterOrEqual(t, ht.MaxIdleConns, idleConnsPerHost)
	require.NotNil(t, ht.Proxy)
	require.Equal(t, def.IdleConnTimeout, ht.IdleConnTimeout)
	require.Equal(t, def.TLSHandshakeTimeout, ht.TLSHandshakeTimeout)
	require.Equal(t, def.ExpectContinueTimeout, ht.ExpectContinueTimeout)
	require.Equal(t, def.ForceAttemptHTTP2, ht.ForceAttemptHTTP2)

	client := &http.Client{Transport: tr}
	const calls = 40
	round := func() {
		arrived.Add(calls)
		var done sync.WaitGroup
		for range calls {
			done.Add(1)
			go func() {
				defer done.Done()
				resp, err := client.Get(srv.URL)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		arrived.Wait() // every call is in flight at once
		close(gate())
		done.Wait()
	}
	round()
	require.EqualValues(t, calls, opened.Load())
	mu.Lock()
	release = make(chan struct{})
	mu.Unlock()
	round()
	require.EqualValues(t, calls, opened.Load(), "the second round reused the first round's connections")
}
