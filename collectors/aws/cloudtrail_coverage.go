package awscollector

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// trailCoverage judges aws.cloudtrail.multi_region as a property of the account,
// region by region: a region is covered when a trail that applies to it —
// a multi-region trail, the organization's trail, or a single-region trail
// homed there — is logging read and write management events. A
// single-region trail beside a multi-region one is no failure: coverage is
// the account's, not each trail's.
type trailCoverage struct {
	regions []string
	// unlisted are regions whose trails could not be listed.
	unlisted map[string]bool
	// everywhere are the multi-region trails that cover every region.
	everywhere []string
	// homed are the single-region trails that cover their home region.
	homed map[string][]string
	// undetermined are trails whose status or selectors were not read.
	undetermined []string
	// partial are trails that apply but do not log (all) management events,
	// with why.
	partial []string
}

func newCoverage(regions, unlisted []string) *trailCoverage {
	c := &trailCoverage{regions: regions, unlisted: map[string]bool{}, homed: map[string][]string{}}
	for _, r := range unlisted {
		c.unlisted[r] = true
	}
	return c
}

// add weighs one trail that was read.
func (c *trailCoverage) add(st *trailState) {
	arn := trailARN(st)
	if st.statusErr != nil || st.selErr != nil {
		c.undetermined = append(c.undetermined, arn)
		return
	}
	rw, _ := managementEvents(st.selectors)
	var why []string
	if !aws.ToBool(st.status.IsLogging) {
		why = append(why, "is not logging")
	}
	if rw != "All" {
		why = append(why, fmt.Sprintf("logs %s management events, not read and write", strings.ToLower(rw)))
	}
	if len(why) > 0 {
		c.partial = append(c.partial, arn+" "+strings.Join(why, " and "))
		return
	}
	if aws.ToBool(st.trail.IsMultiRegionTrail) {
		c.everywhere = append(c.everywhere, arn)
		return
	}
	home := aws.ToString(st.trail.HomeRegion)
	c.homed[home] = append(c.homed[home], arn)
}

// judge is the account's finding: pass when every region read is covered,
// fail naming the regions that are not, and error when a region not seen
// to be covered could not be read in full.
func (c *trailCoverage) judge(root string, trails int, missed []string) evidence.Finding {
	perRegion := map[string]any{}
	var uncovered, unknown []string
	for _, r := range c.regions {
		by := append(append([]string{}, c.everywhere...), c.homed[r]...)
		sort.Strings(by)
		perRegion[r] = by
		switch {
		case len(by) > 0:
		case c.unlisted[r] || len(c.undetermined) > 0:
			unknown = append(unknown, r)
		default:
			uncovered = append(uncovered, r)
		}
	}
	obs := map[string]any{
		"multi_region_trails_logging_management_events": nonNilStrings(c.everywhere),
		"regions_covered_by":                            perRegion,
		"trails":                                        trails,
	}
	if len(c.partial) > 0 {
		obs["trails_not_covering"] = c.partial
	}
	if len(unknown) > 0 {
		obs["unread_regions"] = nonNilStrings(sortedKeys(c.unlisted))
		obs["undetermined_trails"] = nonNilStrings(c.undetermined)
	}
	switch {
	case len(c.regions) == 0:
		return finding(checkTrailMultiRegion, root, evidence.Error, "No region was read, so no region's coverage is known.", obs)
	case len(uncovered) > 0:
		obs["uncovered_regions"] = uncovered
		return finding(checkTrailMultiRegion, root, evidence.Fail, fmt.Sprintf(
			"No trail logs read and write management events in %s: no multi-region trail covers the account, and no trail homed there does%s.",
			strings.Join(uncovered, ", "), unknownToo(unknown)), obs)
	case len(unknown) > 0:
		why := append([]string(nil), missed...)
		if len(c.undetermined) > 0 {
			why = append(why, "the status or event selectors of some trails could not be read")
		}
		return finding(checkTrailMultiRegion, root, evidence.Error, fmt.Sprintf(
			"No covering trail was seen in %s, but %s.", strings.Join(unknown, ", "), strings.Join(why, "; ")), obs)
	case len(c.everywhere) > 0:
		return finding(checkTrailMultiRegion, root, evidence.Pass,
			"A multi-region trail is logging read and write management events, covering every region.", obs)
	}
	return finding(checkTrailMultiRegion, root, evidence.Pass,
		"Every region read has a trail homed there logging read and write management events.", obs)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// unknownToo adds to a failure the regions whose coverage is not known.
func unknownToo(regions []string) string {
	if len(regions) == 0 {
		return ""
	}
	return " (and the coverage of " + strings.Join(regions, ", ") + " could not be determined)"
}
