package awscollector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// TestSingleRegionTrailBesideMultiRegion: an account with a multi-region
// trail and an extra single-region trail has no multi_region failure, on
// the account or on either trail; coverage is the account's.
func TestSingleRegionTrailBesideMultiRegion(t *testing.T) {
	sim := awssim.NewAt(simNow)
	a := sim.Accounts[prod]
	a.Trails = append(a.Trails, awssim.Trail{Name: "eu-app-data-events", HomeRegion: "eu-west-1", Validation: true,
		KMSKey: "arn:aws:kms:eu-west-1:111122223333:key/cloudtrail", Bucket: "acme-cloudtrail-logs", Prefix: "eu",
		Logging: true, LastDelivery: simNow.Add(-time.Hour), ManagementRW: "WriteOnly"})
	out := runCollector(t, sim, "aws.cloudtrail", trailNew, nil)
	p := out.results[0]
	require.Equal(t, evidence.StatusComplete, p.Status, "%v", p.Errors)
	for _, f := range p.Findings {
		if f.Check == checkTrailMultiRegion {
			require.Equal(t, evidence.Pass, f.Status, "%s: %s", f.Resource, f.Reason)
			require.Equal(t, "arn:aws:iam::111122223333:root", f.Resource)
		}
	}
	f := findingOf(t, p, checkTrailMultiRegion, "arn:aws:iam::111122223333:root")
	require.Equal(t, []string{"arn:aws:cloudtrail:eu-west-1:111122223333:trail/eu-app-data-events logs writeonly management events, not read and write"},
		f.Observed["trails_not_covering"])
}

// TestCoverageRegionByRegion: without a multi-region trail, a region is
// covered by a trail homed there; the account fails naming only the
// regions no trail covers, and passes once each has one.
func TestCoverageRegionByRegion(t *testing.T) {
	sim := awssim.NewAt(simNow)
	st := sim.Accounts[staging]
	out := runCollector(t, sim, "aws.cloudtrail", trailNew, nil)
	f := findingOf(t, out.results[1], checkTrailMultiRegion, "arn:aws:iam::444455556666:root")
	require.Equal(t, evidence.Fail, f.Status)
	require.Equal(t, []string{"eu-west-1"}, f.Observed["uncovered_regions"])

	sim = awssim.NewAt(simNow)
	st = sim.Accounts[staging]
	st.Trails = append(st.Trails, awssim.Trail{Name: "staging-eu", HomeRegion: "eu-west-1", Bucket: "staging-trail-logs",
		Logging: true, LastDelivery: simNow.Add(-time.Hour), ManagementRW: "All"})
	out = runCollector(t, sim, "aws.cloudtrail", trailNew, nil)
	f = findingOf(t, out.results[1], checkTrailMultiRegion, "arn:aws:iam::444455556666:root")
	require.Equal(t, evidence.Pass, f.Status, f.Reason)
	require.Equal(t, map[string]any{
		"eu-west-1": []string{"arn:aws:cloudtrail:eu-west-1:444455556666:trail/staging-eu"},
		"us-east-1": []string{"arn:aws:cloudtrail:us-east-1:444455556666:trail/staging-trail"},
	}, f.Observed["regions_covered_by"])
}
