package main

import (
	"bufio"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/audit"
)

// emptyExport is what each format writes for a period without findings.
var emptyExport = map[string]string{
	audit.FormatOSCAL: "an OSCAL document with no findings (result prop evidence=none)",
	audit.FormatOCSF:  "no OCSF events (an empty file)",
	audit.FormatCSV:   "a CSV with the header row only",
}

// cmdExport writes the period's findings for GRC tools, reading the
// snapshots one at a time. When one cannot be read, every such snapshot is
// named and the exit status is non-zero: with -o FILE nothing is written
// there; with -o -, an OSCAL document is not written at all (it is written
// once every snapshot is read), and a CSV or OCSF export, written as it is
// read, stops before that snapshot and is followed by a note on standard
// error that it is incomplete.
func cmdExport(ctx context.Context, args []string, s streams) error {
	fs := newFlags("export", s)
	sf := addStoreFlags(fs, "export from")
	format := fs.String("format", "", "`oscal` (assessment-results JSON), ocsf (Compliance Finding events, one per line) or csv (one row per finding) (required)")
	var from, to dateFlag
	fs.Var(&from, "from", "export snapshots started on or after this `date` (YYYY-MM-DD or RFC 3339; required)")
	fs.Var(&to, "to", "export snapshots started before this `date` (required)")
	out := fs.String("o", "", "write the export to this `file`, put in place once complete, or - for standard output, where csv and ocsf stream: a snapshot that cannot be read ends them early, noted INCOMPLETE on standard error (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	period, err := periodFlags("export", *sf.url, from, to)
	if err != nil {
		return err
	}
	if *format == "" {
		return usageErr("export: --format is required (%s)", strings.Join(audit.Formats, ", "))
	}
	if !slices.Contains(audit.Formats, *format) {
		return usageErr("export: --format %q: want %s", *format, strings.Join(audit.Formats, ", "))
	}
	o, err := createOutput("export", *out, s)
	if err != nil {
		return err
	}
	defer o.abort()
	st, err := sf.open(ctx, "export")
	if err != nil {
		return err
	}
	pr, err := audit.OpenPeriod(ctx, st, period)
	if err != nil {
		return fmt.Errorf("export %s: %w", st, err)
	}
	members := &counted{Members: pr}
	opts := audit.ExportOptions{Period: period, Version: version}
	if o.tmp != nil {
		opts.TempDir = filepath.Dir(o.path) // where the user chose to put the export
	}
	bw := bufio.NewWriter(o.w)
	if err := audit.Export(ctx, bw, *format, members, opts); err != nil {
		if o.tmp == nil && *format != audit.FormatOSCAL {
			// CSV and OCSF stream: what reached standard output before the
			// error is the export up to there, not the export. It ends
			// with whole rows or events, and the note says the rest.
			bw.Flush() //nolint:errcheck // the export's own error is the one to report
			fmt.Fprintf(s.err, "export: INCOMPLETE: what was written to standard output stops before the first snapshot that could not be read; discard it\n")
		}
		return fmt.Errorf("export %s: %w", st, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := o.commit(); err != nil {
		return err
	}
	// A period without evidence is an answer, not an error: the document
	// says so (see audit.Export), and so does this note.
	switch {
	case members.snapshots == 0:
		fmt.Fprintf(s.err, "export: no evidence: no snapshot started between %s and %s; wrote %s saying so to %s\n",
			period.From.Format(time.RFC3339), period.To.Format(time.RFC3339), emptyExport[*format], o.name)
	case members.findings == 0:
		fmt.Fprintf(s.err, "export: no evidence for any control: %d snapshot(s) between %s and %s, none with a finding; wrote %s saying so to %s\n",
			members.snapshots, period.From.Format(time.RFC3339), period.To.Format(time.RFC3339), emptyExport[*format], o.name)
	default:
		fmt.Fprintf(o.msgs, "exported %d snapshot(s) as %s to %s\n", members.snapshots, *format, o.name)
	}
	return nil
}

// counted counts the members and findings a reader is handed, for the
// command's closing note.
type counted struct {
	audit.Members
	snapshots, findings int
}

func (c *counted) Each(ctx context.Context, order audit.Order, fn func(audit.Member) error) error {
	return c.Members.Each(ctx, order, func(m audit.Member) error {
		c.snapshots++
		c.findings += len(m.Snapshot.Findings)
		return fn(m)
	})
}
