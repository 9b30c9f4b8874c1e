// Package exceptions reads the accepted-risks file an operator names in the
// configuration (accepted_risks) and applies it to a run's findings. An
// accepted risk annotates a failing finding with who accepted it, why, until
// when and who approved it; it never changes the finding's status and never
// hides it. An exception whose until date has passed no longer applies, and
// the lapse is recorded on the finding instead.
//
// The file:
//
//	accepted_risks:
//	  - id: AR-2026-014
//	    check: aws.iam.access_key_age          # a check id, or a glob of them
//	    resource: "arn:aws:iam::111122223333:user/ci-*"
//	    owner: platform-team@acme.example
//	    reason: CI keys move to OIDC federation in Q1
//	    until: 2027-03-31                      # required: no exception without expiry
//	    approver: ciso@acme.example
//	    approved: 2026-11-20
//
// Globs (check and resource): '*' matches any run of characters, ':' and
// '/' included, so "arn:aws:s3:::logs-*" matches every bucket whose name
// starts with logs- and "arn:aws:iam::111122223333:*" everything in that
// account; '?' matches exactly one character; every other character,
// '[' and '\' included, matches only itself. A pattern matches the whole
// value, case-sensitively.
//
// Dates are UTC days. An exception applies to a run that starts on or after
// its approved day and on or before its until day (the whole of that day).
package exceptions

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/localfile"
)

// Bounds on the file: it is read on every run.
const (
	// MaxFileSize bounds the accepted-risks file.
	MaxFileSize = 1 << 20
	// MaxEntries bounds how many exceptions it may hold.
	MaxEntries = 10_000
	// maxProblems bounds how many problems one error lists.
	maxProblems = 100
)

// Entry is one accepted risk.
type Entry struct {
	ID       string
	Check    string
	Resource string
	Owner    string
	Reason   string
	Until    time.Time // a UTC day
	Approver string
	Approved time.Time // a UTC day
}

// Set is a parsed, validated accepted-risks file.
type Set struct {
	// Path is where it was read from.
	Path    string
	Entries []Entry
}

// fields are the keys an entry may have, in the order they are documented;
// every one is required.
var fields = []string{"id", "check", "resource", "owner", "reason", "until", "approver", "approved"}

// Load reads the file at path (a regular file of at most MaxFileSize bytes)
// and parses it. checks are the check ids the collectors declare.
func Load(path string, checks []string) (*Set, error) {
	b, err := localfile.Read(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, b, checks)
}

// Parse decodes and validates an accepted-risks file, reporting every
// problem together, each with the file, the entry's index and the field:
// unknown or missing fields, an unknown check id (or a glob that matches
// no declared check), an until before approved, a duplicate id.
func Parse(name string, b []byte, checks []string) (*Set, error) {
	var problems []string
	bad := func(path string, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s: %s", name, path, fmt.Sprintf(format, args...)))
	}
	finish := func() error {
		if len(problems) == 0 {
			return nil
		}
		if len(problems) > maxProblems {
			n := len(problems) - maxProblems
			problems = append(problems[:maxProblems], fmt.Sprintf("%s: and %d more problem(s)", name, n))
		}
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = errors.New(p)
		}
		return errors.Join(errs...)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", name, err)
	}
	set := &Set{Path: name}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		bad("(top level)", "the file is empty; want a mapping with accepted_risks")
		return nil, finish()
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		bad("(top level)", "want a mapping with accepted_risks (line %d)", root.Line)
		return nil, finish()
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Value != "accepted_risks":
			bad(k.Value, "unknown field (line %d); the file holds accepted_risks only", k.Line)
		case list != nil:
			bad(k.Value, "given twice (line %d)", k.Line)
		default:
			list = v
		}
	}
	switch {
	case list == nil:
		if len(problems) == 0 {
			bad("accepted_risks", "required")
		}
		return nil, finish()
	case list.Tag == "!!null":
		return set, finish() // an empty list: nothing is accepted
	case list.Kind != yaml.SequenceNode:
		bad("accepted_risks", "want a list of entries (line %d)", list.Line)
		return nil, finish()
	case len(list.Content) > MaxEntries:
		bad("accepted_risks", "%d entries; at most %d are supported", len(list.Content), MaxEntries)
		return nil, finish()
	}
	ids := map[string]int{}
	for i, item := range list.Content {
		p := fmt.Sprintf("accepted_risks[%d]", i)
		if item.Kind != yaml.MappingNode {
			bad(p, "want a mapping with %s (line %d)", strings.Join(fields, ", "), item.Line)
			continue
		}
		vals := map[string]string{}
		lines := map[string]int{}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			fp := p + "." + k.Value
			switch {
			case !slices.Contains(fields, k.Value):
				bad(fp, "unknown field (line %d); want %s", k.Line, strings.Join(fields, ", "))
			case lines[k.Value] != 0:
				bad(fp, "given twice (line %d)", k.Line)
			case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
				bad(fp, "want a value (line %d)", v.Line)
				lines[k.Value] = k.Line
			default:
				vals[k.Value], lines[k.Value] = strings.TrimSpace(v.Value), k.Line
			}
		}
		e := Entry{ID: vals["id"], Check: vals["check"], Resource: vals["resource"], Owner: vals["owner"],
			Reason: vals["reason"], Approver: vals["approver"]}
		for _, f := range fields {
			if _, given := lines[f]; !given {
				if f == "until" {
					bad(p+".until", "required: an exception without an expiry date is refused")
				} else {
					bad(p+"."+f, "required")
				}
			} else if _, ok := vals[f]; ok && vals[f] == "" {
				bad(p+"."+f, "must not be empty (line %d)", lines[f])
			}
		}
		day := func(f string) time.Time {
			v, ok := vals[f]
			if !ok || v == "" {
				return time.Time{}
			}
			t, err := time.Parse(time.DateOnly, v)
			switch {
			case err != nil:
				bad(p+"."+f, "want a date YYYY-MM-DD, got %q (line %d)", v, lines[f])
			case t.Year() < 2000 || t.Year() > 2999:
				// A date no one means (9999-12-31 is "never expires"),
				// and one OSCAL's date-time cannot carry.
				bad(p+"."+f, "%s is not a date between 2000 and 2999 (line %d)", v, lines[f])
				return time.Time{}
			}
			return t
		}
		e.Until, e.Approved = day("until"), day("approved")
		if !e.Until.IsZero() && !e.Approved.IsZero() && e.Until.Before(e.Approved) {
			bad(p+".until", "%s is before approved %s", vals["until"], vals["approved"])
		}
		if e.Check != "" && !slices.ContainsFunc(checks, func(c string) bool { return Match(e.Check, c) }) {
			if isGlob(e.Check) {
				bad(p+".check", "%q matches no check any collector declares (line %d)", e.Check, lines["check"])
			} else {
				bad(p+".check", "unknown check %q (line %d); exhibit controls lists the checks", e.Check, lines["check"])
			}
		}
		if e.ID != "" {
			if j, dup := ids[e.ID]; dup {
				bad(p+".id", "%q is already used by accepted_risks[%d]", e.ID, j)
			} else {
				ids[e.ID] = i
			}
		}
		set.Entries = append(set.Entries, e)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return set, nil
}

func isGlob(p string) bool { return strings.ContainsAny(p, "*?") }

// Match reports whether value matches the glob pattern, whole: '*' is any
// run of characters (':' and '/' included), '?' exactly one character, and
// every other character itself.
func Match(pattern, value string) bool {
	// Iterative wildcard matching with one backtrack point: linear in
	// practice, and never exponential on hostile patterns.
	p, v := []rune(pattern), []rune(value)
	pi, vi := 0, 0
	star, mark := -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || (p[pi] != '*' && p[pi] == v[vi])):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// Applies reports whether e is in force for a run started at t: on or after
// its approved day and no later than the end of its until day (UTC).
func (e Entry) Applies(t time.Time) bool {
	t = t.UTC()
	return !t.Before(e.Approved) && t.Before(e.Until.AddDate(0, 0, 1))
}

// Expired reports whether e's until day had ended at t.
func (e Entry) Expired(t time.Time) bool {
	return !t.UTC().Before(e.Until.AddDate(0, 0, 1))
}

// Matches reports whether e covers the finding's check and resource.
func (e Entry) Matches(f evidence.Finding) bool {
	return Match(e.Check, f.Check) && Match(e.Resource, f.Resource)
}

// Apply annotates the failing findings of a run started at t: the first
// entry in file order that matches and is in force sets Accepted; when
// none is but an expired one matches, the first such sets
// AcceptanceExpired. Findings that do not fail are left alone. It returns
// how many findings each got.
func (s *Set) Apply(findings []evidence.Finding, t time.Time) (accepted, expired int) {
	if s == nil {
		return 0, 0
	}
	for i := range findings {
		f := &findings[i]
		if f.Status != evidence.Fail {
			continue
		}
		var lapsed *Entry
		for j := range s.Entries {
			e := &s.Entries[j]
			if !e.Matches(*f) {
				continue
			}
			if e.Applies(t) {
				f.Accepted = &evidence.Acceptance{ID: e.ID, Owner: e.Owner, Reason: e.Reason,
					Until: e.Until.Format(time.DateOnly), Approver: e.Approver, Approved: e.Approved.Format(time.DateOnly)}
				lapsed = nil
				break
			}
			if lapsed == nil && e.Expired(t) {
				lapsed = e
			}
		}
		switch {
		case f.Accepted != nil:
			accepted++
		case lapsed != nil:
			f.AcceptanceExpired = &evidence.ExpiredAcceptance{ID: lapsed.ID, Owner: lapsed.Owner, Until: lapsed.Until.Format(time.DateOnly)}
			expired++
		}
	}
	return accepted, expired
}
