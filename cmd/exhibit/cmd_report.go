package main

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/audit"
)

func cmdReport(ctx context.Context, args []string, s streams) error {
	fs := newFlags("report", s)
	sf := addStoreFlags(fs, "report on")
	var from, to dateFlag
	fs.Var(&from, "from", "report on snapshots started on or after this `date` (YYYY-MM-DD or RFC 3339; required)")
	fs.Var(&to, "to", "report on snapshots started before this `date` (required)")
	out := fs.String("o", "", "write the HTML report to this `file`, or - for standard output (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	period, err := periodFlags("report", *sf.url, from, to)
	if err != nil {
		return err
	}
	o, err := createOutput("report", *out, s)
	if err != nil {
		return err
	}
	defer o.abort()
	st, err := sf.open(ctx, "report")
	if err != nil {
		return err
	}
	members, err := audit.LoadPeriod(ctx, st, period)
	if err != nil {
		return fmt.Errorf("report %s: %w", st, err)
	}
	if len(members) == 0 {
		return fmt.Errorf("report %s: no snapshot started between %s and %s", st, period.From.Format(time.RFC3339), period.To.Format(time.RFC3339))
	}
	bw := bufio.NewWriter(o.w)
	if err := audit.WriteReport(bw, members, audit.ReportOptions{Period: period, Store: st.String()}); err != nil {
		return fmt.Errorf("report %s: %w", st, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := o.commit(); err != nil {
		return err
	}
	fmt.Fprintf(o.msgs, "reported on %d snapshot(s) to %s\n", len(members), o.name)
	return nil
}
