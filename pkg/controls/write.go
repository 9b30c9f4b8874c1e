package controls

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable writes the catalog for people: a criteria section (reference,
// R/A flag, the checks mapped to it, title), a checks section (check,
// reference, reason), one row per mapping, and a severity section (check,
// severity, why), one row per check. The title comes last and the
// checks one per row, so the table stays narrow enough to read.
func (c *Catalog) WriteTable(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	row := func(cells ...string) {
		for i, cell := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, cell)
		}
		fmt.Fprint(tw, "\n")
	}

	row("CRITERION", "R/A", "CHECKS", "TITLE")
	for _, cr := range c.criteria {
		checks := c.ChecksFor(cr.Ref)
		first := "-"
		switch {
		case !cr.InScope:
			first = "(out of scope)"
		case len(checks) > 0:
			first = checks[0]
		}
		row(cr.Ref, flag(cr.Requirement), first, cr.Title)
		for i := 1; i < len(checks); i++ {
			row("", "", checks[i], "") // the empty title keeps CHECKS one column
		}
	}
	row()
	row("CHECK", "REFERENCE", "REASON")
	for _, ch := range c.checks {
		for _, m := range ch.Mappings {
			row(ch.ID, m.Ref, m.Reason)
		}
	}
	row()
	row("CHECK", "SEVERITY", "SEVERITY REASON")
	for _, ch := range c.checks {
		row(ch.ID, ch.Severity, ch.SeverityReason)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write control table: %w", err)
	}
	// Padding before an empty last cell leaves trailing blanks; drop them.
	var out bytes.Buffer
	for line := range bytes.Lines(buf.Bytes()) {
		out.Write(bytes.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("write control table: %w", err)
	}
	return nil
}

// flag abbreviates a HIPAA requirement the way the regulation's tables do.
func flag(requirement string) string {
	switch requirement {
	case Required:
		return "R"
	case Addressable:
		return "A"
	case Standard:
		return "std"
	default:
		return "-"
	}
}

type jsonCatalog struct {
	Criteria []jsonCriterion `json:"criteria"`
	Checks   []Check         `json:"checks"`
}

type jsonCriterion struct {
	Criterion
	Checks []string `json:"checks"`
}

// WriteJSON writes the catalog as indented JSON,
// {"criteria":[...],"checks":[...]}, with snake_case keys. The output
// depends only on the catalog's contents, so it can be diffed and hashed.
func (c *Catalog) WriteJSON(w io.Writer) error {
	out := jsonCatalog{
		Criteria: make([]jsonCriterion, 0, len(c.criteria)),
		Checks:   c.Checks(),
	}
	for _, cr := range c.criteria {
		checks := c.ChecksFor(cr.Ref)
		if checks == nil {
			checks = []string{}
		}
		out.Criteria = append(out.Criteria, jsonCriterion{Criterion: cr, Checks: checks})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write control catalog json: %w", err)
	}
	return nil
}
