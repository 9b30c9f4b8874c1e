package awscollector

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func trailNew(s collector.Settings, t tuning) (collector.Collector, error) {
	return newCloudTrail(s, t)
}
func s3New(s collector.Settings, t tuning) (collector.Collector, error) { return newS3(s, t) }

func TestCloudTrailDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.cloudtrail", trailNew, nil)
	require.Len(t, out.results, 2)
	golden(t, "cloudtrail_demo", out.results)
}

func TestS3DemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.s3", s3New, nil)
	require.Len(t, out.results, 2)
	golden(t, "s3_demo", out.results)
}
