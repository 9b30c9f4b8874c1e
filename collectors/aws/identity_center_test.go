package awscollector

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func icNew(s collector.Settings, t tuning) (collector.Collector, error) {
	return newIdentityCenter(s, t)
}

func TestIdentityCenterDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.identity_center", icNew, nil)
	golden(t, "identity_center_demo", out.results)
}

var (
	_ = require.Equal
	_ = evidence.Pass
)
