package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func cmdCollect(ctx context.Context, args []string, s streams) error {
	fs := newFlags("collect", s)
	cfgPath := fs.String("c", "exhibit.yaml", "configuration `file`")
	var only multiFlag
	fs.Var(&only, "only", "run only collectors of this `type` or id (repeatable, or comma-separated)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, reg, cat, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	// The log and the progress line share standard error through one writer.
	con := newConsole(s.err)
	log, err := newLogger(con, quietOnTerminal(con, cfg.Log.Level))
	if err != nil {
		return configErr(err)
	}
	defer log.Sync() //nolint:errcheck // best effort on exit
	if contains(splitAll(only), reviewJobs) && cfg.Reviews == nil {
		return usageErr("--only %s: the review follow-up runs only with reviews: configured", reviewJobs)
	}
	w, err := wire(ctx, cfg, reg, cat, log, nil, splitAll(only))
	if err != nil {
		return err
	}
	written, err := collectOnce(ctx, w.agent, w.jobs, con)
	printWritten(s.out, written, outputWidth(s.out))
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		// What was collected is stored; what was not started is not
		// recorded at all, so the collection is incomplete.
		return &exitError{code: 1, err: errors.New("interrupted: collectors not started were not run, and nothing is recorded for them")}
	}
	if left, _ := w.agent.FlushSpool(ctx); left > 0 {
		return &exitError{code: 1, err: fmt.Errorf("the store %s is unavailable: %d snapshot(s) wait in the spool %s and will be uploaded by the next collect or run", w.store, left, cfg.SpoolDir)}
	}
	// Tokens the TSA did not give during the run get one more try.
	w.agent.AttachPendingTokens(ctx)
	// The evidence is stored; a checkpoint that could not be is not worth
	// failing the collection over, the next one pins the same heads.
	if _, err := w.agent.WriteCheckpoint(ctx); err != nil {
		log.Warn("checkpoint not written", zap.Error(err))
	}
	return collectionResult(written)
}

// collectOnce runs each job once, reporting progress on a terminal.
func collectOnce(ctx context.Context, a *agent.Agent, jobs []agent.Job, progress *console) ([]agent.Written, error) {
	tty := progress.tty
	var all []agent.Written
	for i, job := range jobs {
		if ctx.Err() != nil {
			break
		}
		if tty {
			progress.begin(fmt.Sprintf("[%d/%d] %s … ", i+1, len(jobs), job.ID))
		}
		start := time.Now()
		written, err := a.Run(ctx, job)
		all = append(all, written...)
		if tty {
			progress.end(fmt.Sprintf("%d snapshot(s) in %s", len(written), time.Since(start).Round(time.Millisecond)))
		}
		if err != nil {
			return all, fmt.Errorf("%s: evidence could not be stored: %w", job.ID, err)
		}
	}
	return all, nil
}

// collectionResult is exit 1 when any snapshot is partial or failed.
func collectionResult(written []agent.Written) error {
	var bad []string
	for _, w := range written {
		if w.Status != evidence.StatusComplete {
			bad = append(bad, fmt.Sprintf("%s is %s", w.Key, w.Status))
		}
	}
	if len(bad) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("collection incomplete: %s", strings.Join(bad, "; "))}
	}
	return nil
}

// printWritten prints one row per snapshot, never wider than width (0 is
// no limit): the keys are shortened to fit, and the run errors, however
// long, go below the table, wrapped.
func printWritten(w io.Writer, written []agent.Written, width int) {
	if len(written) == 0 {
		return
	}
	labels := make([]string, len(written))
	for i, x := range written {
		labels[i] = audit.Escape(x.Key)
		switch {
		case x.Spooled:
			labels[i] = audit.Escape(x.Series) + " (spooled)"
		case x.Duplicate:
			labels[i] = audit.Escape(x.Series) + " (slot already recorded)"
		}
	}
	render := func(keys []string) []string {
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SNAPSHOT\tSTATUS\tPASS\tFAIL\tERROR\tN/A")
		for i, x := range written {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", keys[i], x.Status,
				x.Summary[evidence.Pass], x.Summary[evidence.Fail], x.Summary[evidence.Error], x.Summary[evidence.NotApplicable])
		}
		tw.Flush()
		return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	}
	lines := render(labels)
	if over := widest(lines) - width; width > 0 && over > 0 {
		keys := make([]string, len(labels))
		limit := max(widest(labels)-over, 16)
		for i, l := range labels {
			keys[i] = shorten(l, limit)
		}
		lines = render(keys)
	}
	for _, l := range lines {
		fmt.Fprintln(w, strings.TrimRight(cut(l, width), " "))
	}
	first := true
	for i, x := range written {
		for _, e := range x.Errors {
			if first {
				fmt.Fprintln(w, "\nErrors:")
				first = false
			}
			msg := fmt.Sprintf("%s: %s: %s", labels[i], audit.EscapeText(e.Where), audit.EscapeText(e.Message))
			for j, l := range wrap(msg, max(width-4, 0)) {
				indent := "  "
				if j > 0 {
					indent = "    "
				}
				fmt.Fprintln(w, indent+l)
			}
		}
	}
}

func widest(lines []string) int {
	n := 0
	for _, l := range lines {
		n = max(n, utf8.RuneCountInString(l))
	}
	return n
}

// quietOnTerminal keeps a person's terminal to warnings; progress says the rest.
func quietOnTerminal(w io.Writer, level string) string {
	if isTerminal(w) && (level == "info" || level == "debug") {
		return "warn"
	}
	return level
}

func splitAll(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
