package awscollector

import (
	"sort"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// phiTagged says whether a resource's tags mark it as holding ePHI under
// the configured phi_tags: any configured key with its value (compared
// without case), or with any value when the configured value is empty.
func phiTagged(conf, tags map[string]string) bool {
	for k, want := range conf {
		if v, ok := tags[k]; ok && (want == "" || strings.EqualFold(v, want)) {
			return true
		}
	}
	return false
}

// phiRecord puts the configuration that decided which resources hold ePHI
// into the snapshot, so a reader knows what "phi" in a finding meant.
func phiRecord(root string, conf map[string]string) evidence.Record {
	tags := make([]map[string]any, 0, len(conf))
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tags = append(tags, map[string]any{"key": k, "value": conf[k]})
	}
	return evidence.Record{Type: "aws.phi_tags", ID: root, Attributes: map[string]any{"phi_tags": tags}}
}

// markPHI notes in a finding whether its resource holds ePHI: true, or
// "unknown" when its tags could not be read. The verdict does not change:
// every resource is checked, tagged or not.
func markPHI(f evidence.Finding, configured, phi bool, tagsErr error) evidence.Finding {
	if !configured {
		return f
	}
	if f.Observed == nil {
		f.Observed = map[string]any{}
	}
	switch {
	case tagsErr != nil:
		f.Observed["phi"] = "unknown"
		f.Observed["tags_error"] = tagsErr.Error()
	case phi:
		f.Observed["phi"] = true
		f.Reason = "Holds ePHI (tagged). " + f.Reason
	default:
		f.Observed["phi"] = false
	}
	return f
}
