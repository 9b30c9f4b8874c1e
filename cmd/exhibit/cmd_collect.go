package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/agent"
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
	log, err := newLogger(s.err, quietOnTerminal(s.err, cfg.Log.Level))
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
	written, err := collectOnce(ctx, w.agent, w.jobs, s.err)
	printWritten(s.out, written)
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
func collectOnce(ctx context.Context, a *agent.Agent, jobs []agent.Job, progress io.Writer) ([]agent.Written, error) {
	tty := isTerminal(progress)
	var all []agent.Written
	for i, job := range jobs {
		if ctx.Err() != nil {
			break
		}
		if tty {
			fmt.Fprintf(progress, "[%d/%d] %s … ", i+1, len(jobs), job.ID)
		}
		start := time.Now()
		written, err := a.Run(ctx, job)
		all = append(all, written...)
		if tty {
			fmt.Fprintf(progress, "%d snapshot(s) in %s\n", len(written), time.Since(start).Round(time.Millisecond))
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

func printWritten(w io.Writer, written []agent.Written) {
	if len(written) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SNAPSHOT\tSTATUS\tPASS\tFAIL\tERROR\tN/A")
	for _, x := range written {
		key := x.Key
		switch {
		case x.Spooled:
			key = x.Series + " (spooled)"
		case x.Duplicate:
			key = x.Series + " (slot already recorded)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", key, x.Status,
			x.Summary[evidence.Pass], x.Summary[evidence.Fail], x.Summary[evidence.Error], x.Summary[evidence.NotApplicable])
		for _, e := range x.Errors {
			fmt.Fprintf(tw, "  error\t%s: %s\t\t\t\t\n", e.Where, e.Message)
		}
	}
	tw.Flush()
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
