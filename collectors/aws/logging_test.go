package awscollector

import (
	"testing"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func loggingNew(s collector.Settings, t tuning) (collector.Collector, error) { return newLogging(s, t) }

func TestLoggingDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.logging", loggingNew, nil)
	golden(t, "logging_demo", out.results)
}
