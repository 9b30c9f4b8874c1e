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
	if len(members) == 0 {
		return fmt.Errorf("export %s: no snapshot started between %s and %s", st, period.From.Format(time.RFC3339), period.To.Format(time.RFC3339))
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
	fmt.Fprintf(o.msgs, "exported %d snapshot(s) as %s to %s\n", len(members), *format, o.name)
	return nil
}
