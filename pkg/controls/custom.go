package controls

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Custom is a customer's own control from the configuration
// (controls.custom), satisfied by the listed built-in checks.
type Custom struct {
	ID     string   `yaml:"id"`
	Title  string   `yaml:"title"`
	Checks []string `yaml:"checks"`
}

// WithCustom returns a new catalog that adds each custom control as a
// criterion "custom:<ID>" and maps the listed checks to it; c is unchanged.
//
// Ids are compared case-insensitively, as [Catalog.Resolve] matches them, so
// "acme-1" duplicates "ACME-1", and an id may not repeat a built-in one
// ("CC6.1"), which would make a bare reference ambiguous. Errors carry the
// path within the list, e.g. `[1].checks[0]: unknown check "aws.iam.nope"`,
// and all of them are reported, not just the first.
func (c *Catalog) WithCustom(custom []Custom) (*Catalog, error) {
	criteria := c.Criteria()
	checks := c.Checks() // same order as c.checks, so c.byCheck indexes it
	taken := make(map[string]string, len(criteria)+len(custom))
	for _, cr := range criteria {
		taken[strings.ToLower(cr.ID)] = cr.Ref
	}

	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	for i, cu := range custom {
		p := fmt.Sprintf("[%d]", i)
		nerrs := len(errs)
		id, title := cu.ID, strings.TrimSpace(cu.Title)
		switch {
		case id == "":
			bad(p+".id", "required")
		case !customID.MatchString(id):
			bad(p+".id", "invalid %q: want letters, digits, '.', '_' or '-', starting with a letter or digit", id)
		default:
			ref, dup := taken[strings.ToLower(id)]
			switch {
			case !dup:
				taken[strings.ToLower(id)] = FrameworkCustom + ":" + id
			case ref == FrameworkCustom+":"+id:
				bad(p+".id", "duplicate %q", id)
			case strings.HasPrefix(ref, FrameworkCustom+":"):
				bad(p+".id", "duplicate %q (ids are case-insensitive; see %s)", id, ref)
			default:
				bad(p+".id", "%q is already the id of %s", id, ref)
			}
		}
		switch {
		case title == "":
			bad(p+".title", "required")
		case strings.ContainsFunc(title, unicode.IsControl):
			bad(p+".title", "must be one line without control characters")
		}
		if len(cu.Checks) == 0 {
			bad(p+".checks", "required")
		}
		seen := make(map[string]bool, len(cu.Checks))
		for j, ch := range cu.Checks {
			q := fmt.Sprintf("%s.checks[%d]", p, j)
			_, known := c.byCheck[ch]
			switch {
			case ch == "":
				bad(q, "required")
			case !known:
				bad(q, "unknown check %q", ch)
			case seen[ch]:
				bad(q, "duplicate %q", ch)
			}
			seen[ch] = true
		}
		if len(errs) > nerrs {
			continue
		}

		ref := FrameworkCustom + ":" + id
		criteria = append(criteria, Criterion{
			Ref: ref, Framework: FrameworkCustom, ID: id, Title: title, InScope: true,
		})
		reason := fmt.Sprintf("customer control %s: %s", id, title)
		for _, ch := range cu.Checks {
			k := c.byCheck[ch]
			checks[k].Mappings = append(checks[k].Mappings, Mapping{Ref: ref, Reason: reason})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return build(criteria, checks)
}
