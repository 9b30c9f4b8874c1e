// Package audittest checks exported documents against the rules of the
// formats they claim: OCSF 1.8.0 Compliance Finding events and OSCAL 1.2.2
// assessment results.
package audittest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ocsfObject is what OCSF 1.8.0 defines for one object or event class: every
// attribute it may carry, those it requires, and its enumerations.
type ocsfObject struct {
	attrs       []string
	required    []string
	atLeastOne  []string
	enums       map[string][]int
	objects     map[string]*ocsfObject // attribute -> object it holds
	arrayObject map[string]*ocsfObject // attribute -> object of its items
}

var (
	ocsfProduct = &ocsfObject{
		attrs:      []string{"cpe_name", "feature", "lang", "name", "path", "uid", "url_string", "vendor_name", "version"},
		atLeastOne: []string{"name", "uid"},
	}
	ocsfMetadata = &ocsfObject{
		attrs: []string{"correlation_uid", "debug", "event_code", "extension", "extensions", "is_truncated", "labels",
			"log_format", "log_level", "log_name", "log_provider", "log_source", "log_version", "logged_time", "loggers",
			"modified_time", "original_event_uid", "original_time", "processed_time", "product", "profiles", "reporter",
			"sequence", "source", "tags", "tenant_uid", "total_queued_duration", "transformation_info_list",
			"transmit_time", "type", "uid", "untruncated_size", "version"},
		required: []string{"product", "version"},
		objects:  map[string]*ocsfObject{"product": ocsfProduct},
	}
	ocsfFindingInfo = &ocsfObject{
		attrs: []string{"analytic", "attack_graph", "attacks", "created_time", "data_sources", "desc", "first_seen_time",
			"kill_chain", "last_seen_time", "modified_time", "product", "product_uid", "related_analytics",
			"related_events", "related_events_count", "src_url", "tags", "title", "traits", "types", "uid", "uid_alt"},
		required: []string{"uid"},
	}
	ocsfCompliance = &ocsfObject{
		attrs: []string{"assessments", "category", "checks", "compliance_references", "compliance_standards", "control",
			"control_parameters", "desc", "requirements", "standards", "status", "status_code", "status_detail",
			"status_details", "status_id"},
		enums: map[string][]int{"status_id": {0, 1, 2, 3, 99}},
	}
	ocsfResourceDetails = &ocsfObject{
		attrs: []string{"created_time", "data", "labels", "modified_time", "name", "tags", "type", "uid", "uid_alt",
			"agent_list", "cloud_partition", "criticality", "group", "hostname", "ip", "is_backed_up", "namespace",
			"owner", "provider", "region", "resource_relationship", "role", "role_id", "version", "zone"},
		atLeastOne: []string{"name", "uid"},
	}
	// ocsfComplianceFinding is the Compliance Finding class (2003) with the
	// Finding category and base event attributes it extends.
	ocsfComplianceFinding = &ocsfObject{
		attrs: []string{
			// base event
			"activity_id", "activity_name", "category_name", "category_uid", "class_name", "class_uid", "count",
			"duration", "end_time", "enrichments", "message", "metadata", "observables", "raw_data", "raw_data_hash",
			"raw_data_size", "severity", "severity_id", "start_time", "status", "status_code", "status_detail",
			"status_id", "time", "timezone_offset", "type_name", "type_uid", "unmapped",
			// finding
			"comment", "confidence", "confidence_id", "confidence_score", "device", "finding_info", "vendor_attributes",
			// compliance finding
			"compliance", "evidences", "remediation", "resource", "resources",
		},
		required: []string{"activity_id", "category_uid", "class_uid", "metadata", "severity_id", "time", "type_uid",
			"finding_info", "compliance"},
		enums: map[string][]int{
			"activity_id": {0, 1, 2, 3, 99},
			"severity_id": {0, 1, 2, 3, 4, 5, 6, 99},
			"status_id":   {0, 1, 2, 3, 4, 5, 6, 99},
		},
		objects: map[string]*ocsfObject{
			"metadata": ocsfMetadata, "finding_info": ocsfFindingInfo, "compliance": ocsfCompliance,
			"resource": ocsfResourceDetails,
		},
		arrayObject: map[string]*ocsfObject{"resources": ocsfResourceDetails},
	}
)

// CheckOCSFComplianceFinding checks one event against OCSF 1.8.0's
// Compliance Finding class: every required attribute at every level, the
// at-least-one constraints, enumerated values, the class, category and type
// ids, and that no attribute outside the class or its objects is used
// (unmapped is the place for everything else). It returns the problems found.
func CheckOCSFComplianceFinding(ev map[string]any) []string {
	var out []string
	ocsfCheck("", ocsfComplianceFinding, ev, &out)
	if num(ev["class_uid"]) != 2003 {
		out = append(out, fmt.Sprintf("class_uid is %v, want 2003 (Compliance Finding)", ev["class_uid"]))
	}
	if num(ev["category_uid"]) != 2 {
		out = append(out, fmt.Sprintf("category_uid is %v, want 2 (Findings)", ev["category_uid"]))
	}
	if want := 2003*100 + num(ev["activity_id"]); num(ev["type_uid"]) != want {
		out = append(out, fmt.Sprintf("type_uid is %v, want class_uid*100+activity_id = %v", ev["type_uid"], want))
	}
	return out
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func ocsfCheck(path string, o *ocsfObject, v map[string]any, out *[]string) {
	at := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	for _, k := range o.required {
		if _, ok := v[k]; !ok {
			*out = append(*out, at(k)+": required, missing")
		}
	}
	if len(o.atLeastOne) > 0 && !slices.ContainsFunc(o.atLeastOne, func(k string) bool { _, ok := v[k]; return ok }) {
		*out = append(*out, fmt.Sprintf("%s: needs at least one of %s", path, strings.Join(o.atLeastOne, ", ")))
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := v[k]
		if !slices.Contains(o.attrs, k) {
			*out = append(*out, at(k)+": not an attribute of this object")
			continue
		}
		if allowed, ok := o.enums[k]; ok {
			n, isNum := val.(float64)
			if !isNum || !slices.Contains(allowed, int(n)) {
				*out = append(*out, fmt.Sprintf("%s: %v is not one of %v", at(k), val, allowed))
			}
		}
		if sub, ok := o.objects[k]; ok {
			m, isObj := val.(map[string]any)
			if !isObj {
				*out = append(*out, at(k)+": want an object")
				continue
			}
			ocsfCheck(at(k), sub, m, out)
		}
		if sub, ok := o.arrayObject[k]; ok {
			items, isArr := val.([]any)
			if !isArr {
				*out = append(*out, at(k)+": want an array")
				continue
			}
			for i, it := range items {
				m, isObj := it.(map[string]any)
				if !isObj {
					*out = append(*out, fmt.Sprintf("%s[%d]: want an object", at(k), i))
					continue
				}
				ocsfCheck(fmt.Sprintf("%s[%d]", at(k), i), sub, m, out)
			}
		}
	}
}
