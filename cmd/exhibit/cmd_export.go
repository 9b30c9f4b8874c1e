package main

import (
	"bufio"
	"context"
	"fmt"
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

func cmdExport(ctx context.Context, args []string, s streams) error {
	fs := newFlags("export", s)
	sf := addStoreFlags(fs, "export from")
	format := fs.String("format", "", "`oscal` (assessment-results JSON), ocsf (Compliance Finding events, one per line) or csv (one row per finding) (required)")
	var from, to dateFlag
	fs.Var(&from, "from", "export snapshots started on or after this `date` (YYYY-MM-DD or RFC 3339; required)")
	fs.Var(&to, "to", "export snapshots started before this `date` (required)")
	out := fs.String("o", "", "write the export to this `file`, or - for standard output (required)")
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
	members, err := audit.LoadPeriod(ctx, st, period)
	if err != nil {
		return fmt.Errorf("export %s: %w", st, err)
	}
	bw := bufio.NewWriter(o.w)
	if err := audit.Export(bw, *format, members, audit.ExportOptions{Period: period, Version: version}); err != nil {
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
	findings := 0
	for _, m := range members {
		findings += len(m.Snapshot.Findings)
	}
	switch {
	case len(members) == 0:
		fmt.Fprintf(s.err, "export: no evidence: no snapshot started between %s and %s; wrote %s saying so to %s\n",
			period.From.Format(time.RFC3339), period.To.Format(time.RFC3339), emptyExport[*format], o.name)
	case findings == 0:
		fmt.Fprintf(s.err, "export: no evidence for any control: %d snapshot(s) between %s and %s, none with a finding; wrote %s saying so to %s\n",
			len(members), period.From.Format(time.RFC3339), period.To.Format(time.RFC3339), emptyExport[*format], o.name)
	default:
		fmt.Fprintf(o.msgs, "exported %d snapshot(s) as %s to %s\n", len(members), *format, o.name)
	}
	return nil
}
