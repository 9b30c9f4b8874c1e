// Package controls is the control catalog: the SOC 2 and HIPAA criteria the
// agent reports against, the checks the collectors run, and why each check
// supports each criterion.
//
// The catalog is data (catalog.yaml, embedded in the binary) so it can be
// read and reviewed by an auditor, and extended with customer controls from
// the configuration without a rebuild (see [Catalog.WithCustom]).
//
// References are written "<framework>:<id>": "soc2:CC6.1",
// "hipaa:164.312(a)(2)(iv)", "custom:ACME-AC-01".
package controls

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Framework names, the prefix of a reference; the catalog lists them in this order.
const (
	FrameworkSOC2   = "soc2"
	FrameworkHIPAA  = "hipaa"
	FrameworkCustom = "custom"
)

// HIPAA implementation-specification flags. SOC 2 criteria carry none.
const (
	Required    = "required"
	Addressable = "addressable"
	Standard    = "standard"
)

// Criterion is one requirement of a framework that checks give evidence for.
type Criterion struct {
	// Ref is the canonical reference, "<framework>:<id>".
	Ref string `json:"ref"`
	// Framework is "soc2", "hipaa" or "custom".
	Framework string `json:"framework"`
	// ID is the reference without its framework: "CC6.1", "164.312(b)".
	ID    string `json:"id"`
	Title string `json:"title"`
	// Requirement is the HIPAA flag: "required", "addressable" or
	// "standard"; empty for SOC 2 and custom criteria.
	Requirement string `json:"requirement"`
	// InScope reports whether an API collector can produce evidence for
	// the criterion at all (physical access, for one, it cannot).
	InScope bool `json:"in_scope"`
}

// Mapping ties a check to a criterion, with the reason an auditor reads.
type Mapping struct {
	Ref    string `yaml:"ref" json:"ref"`
	Reason string `yaml:"reason" json:"reason"`
}

// Severity levels of a failing check, most severe first. They follow the
// OCSF severity scale (Critical, High, Medium, Low, Informational), which
// is how exports carry them.
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
	SeverityInfo     = "info"
)

// Severities lists the severity levels, most severe first.
var Severities = []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}

// SeverityRank orders severities for sorting: 0 for critical up to 4 for
// info, and len(Severities) for anything else (an unknown check), so that
// the worst failures sort first.
func SeverityRank(severity string) int {
	if i := slices.Index(Severities, severity); i >= 0 {
		return i
	}
	return len(Severities)
}

// Check is one automated test a collector runs.
type Check struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Provider string `json:"provider"`
	// Severity is how serious a failure of the check is, one of
	// [Severities]; SeverityReason says why, in one line.
	Severity       string `json:"severity"`
	SeverityReason string `json:"severity_reason"`
	// Mappings lists the criteria the check supports, in catalog order.
	Mappings []Mapping `json:"mappings"`
}

// Catalog is an immutable set of criteria and checks. The zero value is not
// usable; start from [Default].
type Catalog struct {
	criteria []Criterion      // sorted by criterionLess
	byRef    map[string]int   // canonical ref → index in criteria
	checks   []Check          // sorted by id
	byCheck  map[string]int   // check id → index in checks
	refsOf   map[string][]int // canonical ref → indexes in checks
}

//go:embed catalog.yaml
var catalogYAML []byte

// Providers are the sources a built-in check may come from; identity is
// the cross-source join of stored evidence (identity.reconcile), review the
// access reviews (exhibit review).
var providers = []string{"aws", "github", "okta", "identity", "review"}

var (
	checkID  = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9_]+)+$`)
	customID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

type file struct {
	Criteria []fileCriterion `yaml:"criteria"`
	Checks   []fileCheck     `yaml:"checks"`
}

type fileCriterion struct {
	Ref         string `yaml:"ref"`
	Title       string `yaml:"title"`
	Requirement string `yaml:"requirement"`
	InScope     *bool  `yaml:"in_scope"`
}

type fileCheck struct {
	ID             string    `yaml:"id"`
	Title          string    `yaml:"title"`
	Provider       string    `yaml:"provider"`
	Severity       string    `yaml:"severity"`
	SeverityReason string    `yaml:"severity_reason"`
	Mappings       []Mapping `yaml:"mappings"`
}

var defaultCatalog = sync.OnceValues(func() (*Catalog, error) {
	c, err := parse(catalogYAML)
	if err != nil {
		return nil, fmt.Errorf("embedded catalog: %w", err)
	}
	return c, nil
})

// Default returns the built-in catalog. The embedded YAML is decoded
// strictly and checked for consistency once; the result is shared, which is
// safe because a Catalog is never modified.
func Default() (*Catalog, error) { return defaultCatalog() }

// parse decodes and validates a catalog document.
func parse(b []byte) (*Catalog, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode: more than one YAML document")
	}

	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if len(f.Criteria) == 0 {
		bad("criteria", "required")
	}
	if len(f.Checks) == 0 {
		bad("checks", "required")
	}

	criteria := make([]Criterion, 0, len(f.Criteria))
	for i, fc := range f.Criteria {
		p := fmt.Sprintf("criteria[%d]", i)
		framework, id, ok := strings.Cut(fc.Ref, ":")
		switch {
		case !ok || id == "":
			bad(p+".ref", "want <framework>:<id>, got %q", fc.Ref)
			continue
		case framework != FrameworkSOC2 && framework != FrameworkHIPAA:
			bad(p+".ref", "unknown framework %q (want soc2 or hipaa)", framework)
			continue
		}
		if strings.TrimSpace(fc.Title) == "" {
			bad(p+".title", "required")
		}
		switch {
		case framework == FrameworkSOC2 && fc.Requirement != "":
			bad(p+".requirement", "soc2 criteria have none, got %q", fc.Requirement)
		case framework == FrameworkHIPAA && fc.Requirement != Required && fc.Requirement != Addressable && fc.Requirement != Standard:
			bad(p+".requirement", "want required, addressable or standard, got %q", fc.Requirement)
		}
		if fc.InScope == nil {
			bad(p+".in_scope", "required")
			continue
		}
		criteria = append(criteria, Criterion{
			Ref: fc.Ref, Framework: framework, ID: id,
			Title: fc.Title, Requirement: fc.Requirement, InScope: *fc.InScope,
		})
	}

	checks := make([]Check, 0, len(f.Checks))
	for i, fc := range f.Checks {
		p := fmt.Sprintf("checks[%d]", i)
		if !checkID.MatchString(fc.ID) {
			bad(p+".id", "want dotted lower-case id like aws.iam.root_mfa, got %q", fc.ID)
		}
		if strings.TrimSpace(fc.Title) == "" {
			bad(p+".title", "required")
		}
		if !slices.Contains(providers, fc.Provider) {
			bad(p+".provider", "want one of %s, got %q", strings.Join(providers, ", "), fc.Provider)
		} else if !strings.HasPrefix(fc.ID, fc.Provider+".") {
			bad(p+".id", "%q does not start with its provider %q", fc.ID, fc.Provider)
		}
		switch {
		case fc.Severity == "":
			bad(p+".severity", "check %q: required (want %s)", fc.ID, strings.Join(Severities, ", "))
		case !slices.Contains(Severities, fc.Severity):
			bad(p+".severity", "check %q: unknown severity %q (want %s)", fc.ID, fc.Severity, strings.Join(Severities, ", "))
		}
		switch reason := strings.TrimSpace(fc.SeverityReason); {
		case reason == "":
			bad(p+".severity_reason", "check %q: required", fc.ID)
		case strings.ContainsFunc(reason, unicode.IsControl):
			bad(p+".severity_reason", "check %q: must be one line without control characters", fc.ID)
		}
		if len(fc.Mappings) == 0 {
			bad(p+".mappings", "required")
		}
		for j, m := range fc.Mappings {
			if strings.TrimSpace(m.Reason) == "" {
				bad(fmt.Sprintf("%s.mappings[%d].reason", p, j), "required")
			}
		}
		checks = append(checks, Check{
			ID: fc.ID, Title: fc.Title, Provider: fc.Provider,
			Severity: fc.Severity, SeverityReason: strings.TrimSpace(fc.SeverityReason),
			Mappings: slices.Clone(fc.Mappings),
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return build(criteria, checks)
}

// build indexes criteria and checks and checks what spans both: unique refs
// and ids, and mappings that name a known, in-scope criterion at most once.
// It takes ownership of its arguments.
func build(criteria []Criterion, checks []Check) (*Catalog, error) {
	c := &Catalog{
		criteria: criteria,
		byRef:    make(map[string]int, len(criteria)),
		checks:   checks,
		byCheck:  make(map[string]int, len(checks)),
		refsOf:   make(map[string][]int, len(criteria)),
	}
	slices.SortStableFunc(c.criteria, criterionCompare)
	slices.SortStableFunc(c.checks, func(a, b Check) int { return strings.Compare(a.ID, b.ID) })

	var errs []error
	for i, cr := range c.criteria {
		if _, dup := c.byRef[cr.Ref]; dup {
			errs = append(errs, fmt.Errorf("criterion %q: duplicate", cr.Ref))
			continue
		}
		c.byRef[cr.Ref] = i
	}
	for i := range c.checks {
		ch := &c.checks[i]
		if _, dup := c.byCheck[ch.ID]; dup {
			errs = append(errs, fmt.Errorf("check %q: duplicate", ch.ID))
			continue
		}
		c.byCheck[ch.ID] = i
		seen := map[string]bool{}
		for _, m := range ch.Mappings {
			j, ok := c.byRef[m.Ref]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("check %q: unknown criterion %q", ch.ID, m.Ref))
				continue
			case !c.criteria[j].InScope:
				errs = append(errs, fmt.Errorf("check %q: criterion %q is out of scope", ch.ID, m.Ref))
			case seen[m.Ref]:
				errs = append(errs, fmt.Errorf("check %q: criterion %q mapped twice", ch.ID, m.Ref))
				continue
			}
			seen[m.Ref] = true
			c.refsOf[m.Ref] = append(c.refsOf[m.Ref], i)
		}
		slices.SortStableFunc(ch.Mappings, func(a, b Mapping) int {
			return criterionCompare(c.criteria[c.byRef[a.Ref]], c.criteria[c.byRef[b.Ref]])
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// criterionCompare orders soc2, then hipaa, then custom, and by id within a
// framework, comparing runs of digits by value so that CC6.2 < CC6.10.
func criterionCompare(a, b Criterion) int {
	if d := frameworkRank(a.Framework) - frameworkRank(b.Framework); d != 0 {
		return d
	}
	if d := naturalCompare(a.ID, b.ID); d != 0 {
		return d
	}
	return strings.Compare(a.ID, b.ID)
}

func frameworkRank(f string) int {
	switch f {
	case FrameworkSOC2:
		return 0
	case FrameworkHIPAA:
		return 1
	default:
		return 2
	}
}

// naturalCompare compares strings chunk by chunk, where a chunk is a run of
// digits (compared by value) or a single other byte (compared
// case-insensitively).
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if d := len(na) - len(nb); d != 0 {
				return d
			}
			if d := strings.Compare(na, nb); d != 0 {
				return d
			}
			a, b = a[da:], b[db:]
			continue
		}
		if d := int(lower(a[0])) - int(lower(b[0])); d != 0 {
			return d
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Refs returns the references a check supports, sorted as strings (the
// order evidence findings keep their controls in), or nil for an unknown
// check.
func (c *Catalog) Refs(check string) []string {
	i, ok := c.byCheck[check]
	if !ok {
		return nil
	}
	refs := make([]string, 0, len(c.checks[i].Mappings))
	for _, m := range c.checks[i].Mappings {
		refs = append(refs, m.Ref)
	}
	slices.Sort(refs)
	return refs
}

// Check returns the check with the given id.
func (c *Catalog) Check(id string) (Check, bool) {
	i, ok := c.byCheck[id]
	if !ok {
		return Check{}, false
	}
	return cloneCheck(c.checks[i]), true
}

// Checks returns every check, sorted by id.
func (c *Catalog) Checks() []Check {
	out := make([]Check, len(c.checks))
	for i, ch := range c.checks {
		out[i] = cloneCheck(ch)
	}
	return out
}

// Criteria returns every criterion: soc2, then hipaa, then custom, by id
// within each.
func (c *Catalog) Criteria() []Criterion { return slices.Clone(c.criteria) }

// Criterion returns the criterion with the given canonical reference. Use
// [Catalog.Resolve] first for user input.
func (c *Catalog) Criterion(ref string) (Criterion, bool) {
	i, ok := c.byRef[ref]
	if !ok {
		return Criterion{}, false
	}
	return c.criteria[i], true
}

// ChecksFor returns the ids of the checks mapped to a canonical reference,
// sorted; nil if none are.
func (c *Catalog) ChecksFor(ref string) []string {
	idx := c.refsOf[ref]
	if len(idx) == 0 {
		return nil
	}
	ids := make([]string, len(idx))
	for i, j := range idx {
		ids[i] = c.checks[j].ID
	}
	slices.Sort(ids)
	return ids
}

func cloneCheck(ch Check) Check {
	ch.Mappings = slices.Clone(ch.Mappings)
	return ch
}
