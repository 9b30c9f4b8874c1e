package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/exhibit-dev/exhibit/pkg/audit"
)

func cmdReport(ctx context.Context, args []string, s streams) error {
	fs := newFlags("report", s)
	sf := addStoreFlags(fs, "report on")
	var from, to dateFlag
	fs.Var(&from, "from", "report on snapshots started on or after this `date` (YYYY-MM-DD or RFC 3339; required)")
	fs.Var(&to, "to", "report on snapshots started before this `date` (required)")
	out := fs.String("o", "", "write the HTML report to this `file`, or - for standard output (required)")
	org := fs.String("org", "", "the `name` of the organisation the evidence is about, shown at the top of the report")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	period, err := periodFlags("report", *sf.url, from, to)
	if err != nil {
		return err
	}
	if err := orgFlag("report", *org); err != nil {
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
	pr, err := audit.OpenPeriod(ctx, st, period)
	if err != nil {
		return fmt.Errorf("report %s: %w", st, err)
	}
	members := &counted{Members: pr}
	bw := bufio.NewWriter(o.w)
	err = audit.WriteReport(ctx, bw, members, audit.ReportOptions{Period: period, Store: st.String(), Organization: *org})
	if errors.Is(err, audit.ErrNoSnapshots) {
		return fmt.Errorf("report %s: no snapshot started between %s and %s", st, period.From.Format(time.RFC3339), period.To.Format(time.RFC3339))
	}
	if err != nil {
		return fmt.Errorf("report %s: %w", st, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := o.commit(); err != nil {
		return err
	}
	fmt.Fprintf(o.msgs, "reported on %d snapshot(s) to %s\n", members.snapshots, o.name)
	return nil
}

// orgFlag refuses an organisation name that could not be shown as one
// line of a heading.
func orgFlag(cmd, org string) error {
	switch {
	case !utf8.ValidString(org):
		return usageErr("%s: --org is not valid UTF-8", cmd)
	case utf8.RuneCountInString(org) > 200:
		return usageErr("%s: --org is longer than 200 characters", cmd)
	case strings.IndexFunc(org, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return usageErr("%s: --org %q holds a control character", cmd, org)
	}
	return nil
}
