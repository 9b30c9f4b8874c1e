package awscollector

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// A scope discovery cancelled while it lists an account's regions is an
// error, never a list with empty scopes (which would become a series named
// "default").
func TestScopesCancelledIsAnError(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	ctx, interrupt := context.WithCancel(t.Context())
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), "/ec2/aws4_request") {
			once.Do(interrupt) // Ctrl-C while the first account's regions are listed
			// Read to the end, so that the server notices the client leave.
			io.Copy(io.Discard, r.Body) //nolint:errcheck
			<-r.Context().Done()
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src := sim.Source(srv.URL)
	src.Regions, src.Concurrency = nil, 1
	require.Greater(t, len(src.Accounts), 1)
	c, err := newS3(collector.Settings{
		ID: "aws.s3", Sources: collector.Sources{AWS: src}, Thresholds: collector.DefaultThresholds(),
		HTTPClient: collector.NewHTTPClient(nil), Logger: zap.NewNop(),
	}, fastTuning())
	require.NoError(t, err)
	scopes, err := c.Scopes(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "list scopes")
	require.Empty(t, scopes)
}
