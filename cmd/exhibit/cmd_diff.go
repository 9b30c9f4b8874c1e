package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/controls"
)

// cmdDiff prints, per control, the findings that appeared, were resolved or
// flipped over a period, with the first and last evidence of each. A period
// without snapshots is not an error: the answer is that nothing changed,
// and the document says there was nothing to compare.
func cmdDiff(ctx context.Context, args []string, s streams) error {
	fs := newFlags("diff", s)
	sf := addStoreFlags(fs, "compare snapshots of")
	var from, to dateFlag
	fs.Var(&from, "from", "compare snapshots started on or after this `date` (YYYY-MM-DD or RFC 3339; required)")
	fs.Var(&to, "to", "compare snapshots started before this `date` (required)")
	asJSON := fs.Bool("json", false, "write one JSON document ("+audit.ChangesSchema+") instead of text")
	out := fs.String("o", "-", "write the changes to this `file`, or - for standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	period, err := periodFlags("diff", *sf.url, from, to)
	if err != nil {
		return err
	}
	o, err := createOutput("diff", *out, s)
	if err != nil {
		return err
	}
	defer o.abort()
	st, err := sf.open(ctx, "diff")
	if err != nil {
		return err
	}
	cat, err := controls.Default()
	if err != nil {
		return err
	}
	members, err := audit.OpenPeriod(ctx, st, period)
	if err != nil {
		return fmt.Errorf("diff %s: %w", st, err)
	}
	changes, err := audit.PeriodChanges(ctx, members, cat, period)
	if err != nil {
		return fmt.Errorf("diff %s: %w", st, err)
	}
	changes.Store = st.String()
	bw := bufio.NewWriter(o.w)
	if *asJSON {
		err = audit.WriteChangesJSON(bw, changes)
	} else {
		err = audit.WriteChangesText(bw, changes)
	}
	if err != nil {
		return fmt.Errorf("diff %s: %w", st, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := o.commit(); err != nil {
		return err
	}
	if o.tmp != nil {
		n := 0
		for _, c := range changes.Controls {
			n += c.Total()
		}
		fmt.Fprintf(o.msgs, "compared %d snapshot(s): %d change(s) in %d control(s), written to %s\n", changes.Snapshots, n, len(changes.Controls), o.name)
	}
	return nil
}
