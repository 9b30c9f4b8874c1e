package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/controls"
)

func cmdSample(ctx context.Context, args []string, s streams) error {
	fs := newFlags("sample", s)
	sf := addStoreFlags(fs, "sample")
	control := fs.String("control", "", "the control `ID` whose evidence is sampled, e.g. CC6.1 or hipaa:164.312(b) (required)")
	var from, to dateFlag
	fs.Var(&from, "from", "start of the period: snapshots started on or after this `date` (YYYY-MM-DD or RFC 3339; required)")
	fs.Var(&to, "to", "end of the period: snapshots started before this `date` (required)")
	seed := fs.String("seed", "", "any `string`; the same seed redraws the same sample (required)")
	size := fs.Int("size", 0, "number of snapshots to draw; default: by how often the control runs (see docs/auditors.md)")
	out := fs.String("o", "", "write the sample package (a zip) to this `file`, or - for standard output (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	period, err := periodFlags("sample", *sf.url, from, to)
	if err != nil {
		return err
	}
	switch {
	case *control == "":
		return usageErr("sample: --control is required")
	case *seed == "":
		return usageErr("sample: --seed is required")
	case *size < 0:
		return usageErr("sample: --size must be positive, got %d", *size)
	}
	ref, title, err := resolveControl(*control)
	if err != nil {
		return usageErr("sample: --control: %v", err)
	}
	o, err := createOutput("sample", *out, s)
	if err != nil {
		return err
	}
	defer o.abort()
	st, err := sf.open(ctx, "sample")
	if err != nil {
		return err
	}

	cmdline := append([]string{"exhibit", "sample"}, sf.args()...)
	cmdline = append(cmdline, "--control", ref,
		"--from", dateArg(period.From), "--to", dateArg(period.To), "--seed", *seed)
	if *size > 0 {
		cmdline = append(cmdline, "--size", strconv.Itoa(*size))
	}
	// The package must not depend on where it is written, so the redraw
	// command names a fixed output file.
	cmdline = append(cmdline, "-o", "sample.zip")
	smp, err := audit.DrawSample(ctx, st, audit.SampleOptions{
		Control: ref, ControlTitle: title, Period: period, Seed: *seed, Size: *size,
		Command: shellJoin(cmdline),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", st, err)
	}
	ver, err := audit.WritePackage(ctx, st, smp, o.w)
	if err != nil {
		return fmt.Errorf("sample %s: %w", st, err)
	}
	if err := o.commit(); err != nil {
		return err
	}
	fmt.Fprintf(o.msgs, "sampled %d of %d snapshot(s) carrying %s (runs %s) into %s\n",
		len(smp.Selected), len(smp.Population), ref, smp.Frequency.Name, o.name)
	for _, c := range ver.Snapshots {
		if !c.OK {
			fmt.Fprintf(o.msgs, "FAIL %s: signature %s; attachments %s\n", audit.Escape(c.Key), audit.EscapeText(c.Signature), audit.EscapeText(strings.Join(c.Attachments, ", ")))
		}
	}
	if !ver.OK {
		return failed
	}
	return nil
}

// periodFlags checks the flags every period reader shares.
func periodFlags(cmd, storeURL string, from, to dateFlag) (audit.Period, error) {
	switch {
	case storeURL == "":
		return audit.Period{}, usageErr("%s: --store is required", cmd)
	case from.t.IsZero():
		return audit.Period{}, usageErr("%s: --from is required", cmd)
	case to.t.IsZero():
		return audit.Period{}, usageErr("%s: --to is required", cmd)
	}
	p := audit.Period{From: from.t.UTC(), To: to.t.UTC()}
	if !p.To.After(p.From) {
		return audit.Period{}, usageErr("%s: --to (%s) must be after --from (%s)", cmd, dateArg(p.To), dateArg(p.From))
	}
	if err := p.Validate(); err != nil {
		return audit.Period{}, usageErr("%s: %v", cmd, err)
	}
	return p, nil
}

// resolveControl turns the user's control id into a canonical reference and
// its title. A custom control is defined in the agent's configuration, which
// an auditor does not have, so "custom:ID" is taken as written.
func resolveControl(id string) (ref, title string, err error) {
	cat, err := controls.Default()
	if err != nil {
		return "", "", err
	}
	ref, err = cat.Resolve(id)
	if err != nil {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(id), controls.FrameworkCustom+":"); ok && rest != "" {
			return controls.FrameworkCustom + ":" + strings.TrimSpace(rest), "customer-defined control", nil
		}
		return "", "", err
	}
	c, _ := cat.Criterion(ref)
	return ref, c.Title, nil
}

func dateArg(t time.Time) string {
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.UTC().Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339)
}

// shellJoin quotes each argument for a POSIX shell where needed.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
