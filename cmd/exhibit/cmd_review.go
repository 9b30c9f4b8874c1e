package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/review"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// cmdReview is `exhibit review prepare` (read-only, from --store) and
// `exhibit review record` (writes, from the agent's config).
func cmdReview(ctx context.Context, args []string, s streams) error {
	return runGroup(ctx, "review", args, s)
}

func cmdReviewPrepare(ctx context.Context, args []string, s streams) error {
	fs := newFlags("review prepare", s)
	sf := addStoreFlags(fs, "read the access lists from")
	var asOf, since dateFlag
	fs.Var(&asOf, "as-of", "review the access as of this `date` (YYYY-MM-DD: its end, or an RFC 3339 time) (required)")
	fs.Var(&since, "since", "for a system with no earlier review recorded, the `date` to show changes since")
	lookback := fs.Int("lookback-days", review.DefaultLookbackDays, "how many `days` before --as-of to look for each system's latest access list")
	out := fs.String("o", "", "write the review package into this `directory` (required; nothing in it is overwritten)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if asOf.t.IsZero() {
		return usageErr("review prepare: --as-of is required")
	}
	if *out == "" || *out == "-" {
		return usageErr("review prepare: -o DIRECTORY is required")
	}
	at := endOfDay(asOf)
	var from time.Time
	if !since.t.IsZero() {
		from = endOfDay(since)
		if !from.Before(at) {
			return usageErr("review prepare: --since must be before --as-of")
		}
	}
	st, err := sf.open(ctx, "review prepare")
	if err != nil {
		return err
	}
	man, err := review.Prepare(ctx, st, review.PrepareOptions{AsOf: at, Since: from, LookbackDays: *lookback, Progress: s.err})
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("review prepare: %w", err)}
	}
	if err := man.Write(*out); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("review prepare: %w", err)}
	}
	for _, p := range man.Systems {
		fmt.Fprintf(s.out, "%s: %d grant(s), %d joiner(s), %d mover(s), %d leaver(s) since %s; %s, %s\n",
			audit.Escape(p.System), p.Grants, len(p.Changes.Joiners), len(p.Changes.Movers), len(p.Changes.Leavers),
			audit.EscapeText(p.Basis), filepath.Join(*out, p.CSV), filepath.Join(*out, p.HTML))
	}
	fmt.Fprintf(s.out, "manifest: %s; fill the decision column (keep or revoke) and run exhibit review record\n", filepath.Join(*out, "manifest.json"))
	return nil
}

// endOfDay makes a date given as YYYY-MM-DD include the whole day.
func endOfDay(d dateFlag) time.Time {
	if d.t.Equal(d.t.Truncate(24*time.Hour)) && d.t.Location() == time.UTC {
		return d.t.Add(24*time.Hour - time.Nanosecond)
	}
	return d.t
}

func cmdReviewRecord(ctx context.Context, args []string, s streams) error {
	fs := newFlags("review record", s)
	cfgPath := fs.String("c", "exhibit.yaml", "configuration `file`: its store, signing_key and reviews schedule")
	var decisions multiFlag
	fs.Var(&decisions, "decisions", "a filled review `CSV` (repeatable)")
	reviewer := fs.String("reviewer", "", "the reviewer's `name`, recorded in the evidence (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var missing []string
	if len(decisions) == 0 {
		missing = append(missing, "--decisions")
	}
	if strings.TrimSpace(*reviewer) == "" {
		missing = append(missing, "--reviewer")
	}
	if len(missing) > 0 {
		return usageErr("review record: %s required", strings.Join(missing, " and "))
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
	// The agent as collect builds it, with no collector selected: the
	// review goes through the same chain, sign, spool and store.
	w, err := wire(ctx, cfg, reg, cat, log, nil, []string{reviewJobs})
	if err != nil {
		return err
	}
	reviews, err := review.ReadDecisions(ctx, w.store, splitAll(decisions))
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("review record: nothing recorded:\n%w", err)}
	}
	var written []agent.Written
	for _, r := range reviews {
		j := reviewAgentJob(review.NewJob(r, strings.TrimSpace(*reviewer)), cfg)
		got, err := w.agent.Run(ctx, j)
		written = append(written, got...)
		if err != nil {
			printWritten(s.out, written, outputWidth(s.out))
			return fmt.Errorf("review record: %w", err)
		}
	}
	printWritten(s.out, written, outputWidth(s.out))
	if left, _ := w.agent.FlushSpool(ctx); left > 0 {
		return &exitError{code: 1, err: fmt.Errorf("the store %s is unavailable: %d snapshot(s) wait in the spool %s and will be uploaded by the next collect or run", w.store, left, cfg.SpoolDir)}
	}
	return collectionResult(written)
}

// reviewJobs is the --only value that selects no configured collector,
// only the review jobs wire adds.
const reviewJobs = review.FollowUpType

func reviewAgentJob(j review.Job, cfg *config.Config) agent.Job {
	spec := ""
	if cfg.Reviews != nil {
		spec = cfg.Reviews.Spec()
	}
	return agent.Job{ID: j.ID, Type: "review", Version: "1", Provider: j.Provider, Schedule: spec, Timeout: 10 * time.Minute,
		Collector: j.Collector, Checks: []string{review.CheckCompleted}}
}

// followUpJobs is the review follow-up, with reviews configured: a job
// like the collectors', run by collect and run, reading only the store.
func followUpJobs(cfg *config.Config, st store.Store, only []string) []agent.Job {
	if cfg.Reviews == nil || (len(only) > 0 && !contains(only, review.FollowUpType)) {
		return nil
	}
	return []agent.Job{{
		ID: review.FollowUpType, Type: review.FollowUpType, Version: "1", Provider: "review", Schedule: "@daily", Timeout: 10 * time.Minute,
		Collector: &review.FollowUp{Store: st, GraceDays: cfg.Reviews.GraceDays},
		Checks:    []string{review.CheckRevocationApplied},
	}}
}
