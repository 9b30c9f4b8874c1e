package awscollector

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Trails that log to different buckets of one region are read with one S3
// client for that region, the run's, as aws.s3 reads its buckets; each
// bucket is still asked for its own settings.
func TestTrailBucketsShareTheirRegionsClient(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := newCloudTrail(collector.Settings{
		ID: "aws.cloudtrail", Sources: collector.Sources{AWS: sim.Source(srv.URL)}, Thresholds: collector.DefaultThresholds(),
		HTTPClient: collector.NewHTTPClient(nil), Logger: zap.NewNop(),
	}, fastTuning())
	require.NoError(t, err)
	run, err := c.s.begin(t.Context(), prod)
	require.NoError(t, err)

	buckets := bucketReads{clients: &regionClients{s: c.s, cfg: run.cfg}}
	names := []string{"acme-app-data", "acme-access-logs"} // both in us-east-1
	for _, b := range names {
		in := c.readRetention(t.Context(), run.cfg, cttypes.Trail{S3BucketName: aws.String(b)}, "us-east-1", &buckets)
		require.Empty(t, in.errs, b)
		require.Equal(t, "us-east-1", in.bucketRegion, b)
	}
	require.Len(t, buckets.clients.clients, 1, "one client for the region")
	require.Contains(t, buckets.clients.clients, run.cfg.Region)
	for _, op := range []string{"GetBucketLocation", "GetBucketLifecycleConfiguration", "GetObjectLockConfiguration"} {
		require.Equal(t, len(names), sim.Count(prod, "s3", op), op)
	}
}
