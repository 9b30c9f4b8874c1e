package awscollector

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
)

func TestIAMDemoEstate(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.iam", iamNew, nil)
	require.Len(t, out.results, 2)
	golden(t, "iam_demo", out.results)
}
