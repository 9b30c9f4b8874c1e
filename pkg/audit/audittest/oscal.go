package audittest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// CheckOSCALAssessmentResults checks an OSCAL 1.2.2 assessment-results JSON
// document and returns every problem found. It complements validation
// against the JSON schema (LoadOSCALSchema) with rules the JSON schema does
// not carry, transcribed from the model's source, the OSCAL metaschema at tag
// v1.2.2 (src/metaschema/oscal_assessment-results_metaschema.xml,
// oscal_assessment-common_metaschema.xml and oscal_metadata_metaschema.xml in
// github.com/usnistgov/OSCAL): the observation methods the model defines
// (its allowed-values list is open, so the schema accepts any token), the
// oscal-version the export claims, and that import-ap and
// related-observations point at objects that exist. It also repeats the
// required fields, allowed keys and datatypes of every assembly the export
// writes, so that it stands on its own where the schema file is swapped out.
func CheckOSCALAssessmentResults(doc map[string]any) []string {
	c := &oscalChecker{}
	if len(doc) != 1 || doc["assessment-results"] == nil {
		c.bad("", "want a single root key assessment-results")
		return c.problems
	}
	ar := c.object("assessment-results", doc["assessment-results"],
		[]string{"uuid", "metadata", "import-ap", "results"},
		[]string{"local-definitions", "back-matter"})
	if ar == nil {
		return c.problems
	}
	c.uuid("assessment-results.uuid", ar["uuid"])

	md := c.object("metadata", ar["metadata"],
		[]string{"title", "last-modified", "version", "oscal-version"},
		[]string{"published", "revisions", "document-ids", "props", "links", "roles", "locations", "parties", "responsible-parties", "actions", "remarks"})
	if md != nil {
		c.str("metadata.title", md["title"])
		c.dateTime("metadata.last-modified", md["last-modified"])
		c.str("metadata.version", md["version"])
		if md["oscal-version"] != "1.2.2" {
			c.bad("metadata.oscal-version", "want 1.2.2, got %v", md["oscal-version"])
		}
		c.props("metadata.props", md["props"])
	}

	backMatter := map[string]bool{}
	if bm := c.object("back-matter", ar["back-matter"], nil, []string{"resources"}); bm != nil {
		for i, r := range c.array("back-matter.resources", bm["resources"]) {
			p := fmt.Sprintf("back-matter.resources[%d]", i)
			res := c.object(p, r, []string{"uuid"}, []string{"title", "description", "props", "document-ids", "citation", "rlinks", "base64", "remarks"})
			if res != nil && c.uuid(p+".uuid", res["uuid"]) {
				backMatter[res["uuid"].(string)] = true
			}
		}
	}

	if ap := c.object("import-ap", ar["import-ap"], []string{"href"}, []string{"remarks"}); ap != nil {
		href, _ := ap["href"].(string)
		switch {
		case href == "":
			c.bad("import-ap.href", "want a URI reference")
		case strings.HasPrefix(href, "#") && !backMatter[href[1:]]:
			c.bad("import-ap.href", "%s names no back-matter resource", href)
		}
	}

	results := c.array("results", ar["results"])
	if len(results) == 0 {
		c.bad("results", "at least one result is required")
	}
	for i, r := range results {
		c.result(fmt.Sprintf("results[%d]", i), r)
	}
	return c.problems
}

type oscalChecker struct{ problems []string }

func (c *oscalChecker) bad(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// object checks v is an object with every required key and no key outside
// required and optional. A nil v with no required keys is an absent
// optional object.
func (c *oscalChecker) object(path string, v any, required, optional []string) map[string]any {
	if v == nil {
		if len(required) > 0 {
			c.bad(path, "required, missing")
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.bad(path, "want an object")
		return nil
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			c.bad(path+"."+k, "required, missing")
		}
	}
	for k := range m {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			c.bad(path+"."+k, "not allowed here")
		}
	}
	return m
}

// array checks an optional array is, when present, non-empty (the JSON
// binding of every OSCAL group has minItems 1).
func (c *oscalChecker) array(path string, v any) []any {
	if v == nil {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		c.bad(path, "want an array")
		return nil
	}
	if len(a) == 0 {
		c.bad(path, "an empty array must be left out")
	}
	return a
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$`)
	tokenRE = regexp.MustCompile(`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`)
	strRE   = regexp.MustCompile(`^\S(.*\S)?$`)
)

func (c *oscalChecker) uuid(path string, v any) bool {
	s, _ := v.(string)
	if !uuidRE.MatchString(s) {
		c.bad(path, "want a version 4 or 5 UUID, got %v", v)
		return false
	}
	return true
}

func (c *oscalChecker) token(path string, v any) {
	s, _ := v.(string)
	if !tokenRE.MatchString(s) {
		c.bad(path, "want a token, got %q", s)
	}
}

func (c *oscalChecker) str(path string, v any) {
	s, ok := v.(string)
	if !ok || !strRE.MatchString(strings.ReplaceAll(s, "\n", " ")) {
		c.bad(path, "want a non-empty string without surrounding space, got %q", v)
	}
}

func (c *oscalChecker) dateTime(path string, v any) {
	s, _ := v.(string)
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		c.bad(path, "want a date-time with time zone, got %q", s)
	}
}

func (c *oscalChecker) props(path string, v any) {
	for i, p := range c.array(path, v) {
		pp := fmt.Sprintf("%s[%d]", path, i)
		m := c.object(pp, p, []string{"name", "value"}, []string{"uuid", "ns", "class", "group", "remarks"})
		if m == nil {
			continue
		}
		c.token(pp+".name", m["name"])
		c.str(pp+".value", m["value"])
		if ns, ok := m["ns"].(string); ok && !strings.Contains(ns, ":") {
			c.bad(pp+".ns", "want an absolute URI, got %q", ns)
		}
	}
}

func (c *oscalChecker) result(path string, v any) {
	r := c.object(path, v,
		[]string{"uuid", "title", "description", "start", "reviewed-controls"},
		[]string{"end", "props", "links", "local-definitions", "attestations", "assessment-log", "observations", "risks", "findings", "remarks"})
	if r == nil {
		return
	}
	c.uuid(path+".uuid", r["uuid"])
	c.str(path+".title", r["title"])
	c.str(path+".description", r["description"])
	c.dateTime(path+".start", r["start"])
	if r["end"] != nil {
		c.dateTime(path+".end", r["end"])
	}
	c.props(path+".props", r["props"])

	rc := c.object(path+".reviewed-controls", r["reviewed-controls"],
		[]string{"control-selections"}, []string{"description", "props", "links", "control-objective-selections", "remarks"})
	if rc != nil {
		sels := c.array(path+".reviewed-controls.control-selections", rc["control-selections"])
		if len(sels) == 0 {
			c.bad(path+".reviewed-controls.control-selections", "at least one is required")
		}
		for i, s := range sels {
			p := fmt.Sprintf("%s.reviewed-controls.control-selections[%d]", path, i)
			m := c.object(p, s, nil, []string{"description", "props", "links", "include-all", "include-controls", "exclude-controls", "remarks"})
			if m == nil {
				c.bad(p, "want an object")
				continue
			}
			if (m["include-all"] == nil) == (m["include-controls"] == nil) {
				c.bad(p, "want exactly one of include-all and include-controls")
			}
			for j, ic := range c.array(p+".include-controls", m["include-controls"]) {
				pj := fmt.Sprintf("%s.include-controls[%d]", p, j)
				if sel := c.object(pj, ic, []string{"control-id"}, []string{"statement-ids"}); sel != nil {
					c.token(pj+".control-id", sel["control-id"])
				}
			}
		}
	}

	observations := map[string]bool{}
	for i, o := range c.array(path+".observations", r["observations"]) {
		p := fmt.Sprintf("%s.observations[%d]", path, i)
		m := c.object(p, o, []string{"uuid", "description", "methods", "collected"},
			[]string{"title", "props", "links", "types", "origins", "subjects", "relevant-evidence", "expires", "remarks"})
		if m == nil {
			continue
		}
		if c.uuid(p+".uuid", m["uuid"]) {
			if observations[m["uuid"].(string)] {
				c.bad(p+".uuid", "duplicate %v", m["uuid"])
			}
			observations[m["uuid"].(string)] = true
		}
		c.str(p+".description", m["description"])
		c.props(p+".props", m["props"])
		c.dateTime(p+".collected", m["collected"])
		methods := c.array(p+".methods", m["methods"])
		if len(methods) == 0 {
			c.bad(p+".methods", "at least one method is required")
		}
		for j, meth := range methods {
			// allowed-values oscal-observation-method-type-values
			if !slices.Contains([]any{"EXAMINE", "INTERVIEW", "TEST", "UNKNOWN"}, meth) {
				c.bad(fmt.Sprintf("%s.methods[%d]", p, j), "%v is not EXAMINE, INTERVIEW, TEST or UNKNOWN", meth)
			}
		}
		for j, e := range c.array(p+".relevant-evidence", m["relevant-evidence"]) {
			pe := fmt.Sprintf("%s.relevant-evidence[%d]", p, j)
			ev := c.object(pe, e, []string{"description"}, []string{"href", "props", "links", "remarks"})
			if ev == nil {
				continue
			}
			c.str(pe+".description", ev["description"])
			c.props(pe+".props", ev["props"])
			if h, ok := ev["href"]; ok {
				if s, _ := h.(string); s == "" || strings.ContainsAny(s, " \t\n") {
					c.bad(pe+".href", "want a URI reference, got %q", h)
				}
			}
		}
	}

	risks := map[string]bool{}
	for i, rk := range c.array(path+".risks", r["risks"]) {
		p := fmt.Sprintf("%s.risks[%d]", path, i)
		m := c.object(p, rk, []string{"uuid", "title", "description", "statement", "status"},
			[]string{"props", "links", "origins", "threat-ids", "characterizations", "mitigating-factors", "deadline", "remediations", "risk-log", "related-observations"})
		if m == nil {
			continue
		}
		if c.uuid(p+".uuid", m["uuid"]) {
			risks[m["uuid"].(string)] = true
		}
		c.str(p+".title", m["title"])
		c.str(p+".description", m["description"])
		c.str(p+".statement", m["statement"])
		c.props(p+".props", m["props"])
		// allowed-values of risk-status (open, so any token is accepted
		// by the schema); exhibit writes these.
		if !slices.Contains([]any{"open", "investigating", "remediating", "deviation-requested", "deviation-approved", "closed"}, m["status"]) {
			c.bad(p+".status", "%v is not a risk status the model defines", m["status"])
		}
		if m["deadline"] != nil {
			c.dateTime(p+".deadline", m["deadline"])
		}
		for j, rem := range c.array(p+".remediations", m["remediations"]) {
			pr := fmt.Sprintf("%s.remediations[%d]", p, j)
			if rm := c.object(pr, rem, []string{"uuid", "lifecycle", "title", "description"},
				[]string{"props", "links", "origins", "required-assets", "tasks", "remarks"}); rm != nil {
				c.uuid(pr+".uuid", rm["uuid"])
				if !slices.Contains([]any{"recommendation", "planned", "completed"}, rm["lifecycle"]) {
					c.bad(pr+".lifecycle", "%v is not recommendation, planned or completed", rm["lifecycle"])
				}
				c.str(pr+".title", rm["title"])
				c.str(pr+".description", rm["description"])
			}
		}
		if rl := c.object(p+".risk-log", m["risk-log"], nil, []string{"entries"}); rl != nil {
			for j, e := range c.array(p+".risk-log.entries", rl["entries"]) {
				pe := fmt.Sprintf("%s.risk-log.entries[%d]", p, j)
				if em := c.object(pe, e, []string{"uuid", "start"},
					[]string{"title", "description", "end", "props", "links", "logged-by", "status-change", "related-responses", "remarks"}); em != nil {
					c.uuid(pe+".uuid", em["uuid"])
					c.dateTime(pe+".start", em["start"])
				}
			}
		}
		for j, ro := range c.array(p+".related-observations", m["related-observations"]) {
			pr := fmt.Sprintf("%s.related-observations[%d]", p, j)
			if rel := c.object(pr, ro, []string{"observation-uuid"}, nil); rel != nil {
				if id, _ := rel["observation-uuid"].(string); !observations[id] {
					c.bad(pr+".observation-uuid", "%q names no observation of this result", id)
				}
			}
		}
	}

	for i, f := range c.array(path+".findings", r["findings"]) {
		p := fmt.Sprintf("%s.findings[%d]", path, i)
		m := c.object(p, f, []string{"uuid", "title", "description", "target"},
			[]string{"props", "links", "origins", "implementation-statement-uuid", "related-observations", "related-risks", "remarks"})
		if m == nil {
			continue
		}
		c.uuid(p+".uuid", m["uuid"])
		c.str(p+".title", m["title"])
		c.str(p+".description", m["description"])
		c.props(p+".props", m["props"])
		t := c.object(p+".target", m["target"], []string{"type", "target-id", "status"},
			[]string{"title", "description", "props", "links", "implementation-status", "remarks"})
		if t != nil {
			if t["type"] != "statement-id" && t["type"] != "objective-id" {
				c.bad(p+".target.type", "%v is not statement-id or objective-id", t["type"])
			}
			c.token(p+".target.target-id", t["target-id"])
			st := c.object(p+".target.status", t["status"], []string{"state"}, []string{"reason", "remarks"})
			if st != nil {
				if st["state"] != "satisfied" && st["state"] != "not-satisfied" {
					c.bad(p+".target.status.state", "%v is not satisfied or not-satisfied", st["state"])
				}
				if st["reason"] != nil {
					c.token(p+".target.status.reason", st["reason"])
				}
			}
		}
		for j, ro := range c.array(p+".related-observations", m["related-observations"]) {
			pr := fmt.Sprintf("%s.related-observations[%d]", p, j)
			if rel := c.object(pr, ro, []string{"observation-uuid"}, []string{"remarks"}); rel != nil {
				id, _ := rel["observation-uuid"].(string)
				if !observations[id] {
					c.bad(pr+".observation-uuid", "%q names no observation of this result", id)
				}
			}
		}
		for j, rr := range c.array(p+".related-risks", m["related-risks"]) {
			pr := fmt.Sprintf("%s.related-risks[%d]", p, j)
			if rel := c.object(pr, rr, []string{"risk-uuid"}, []string{"remarks"}); rel != nil {
				if id, _ := rel["risk-uuid"].(string); !risks[id] {
					c.bad(pr+".risk-uuid", "%q names no risk of this result", id)
				}
			}
		}
	}
}
