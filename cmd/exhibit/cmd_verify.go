package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/localfile"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/timestamp"
)

// maxKeyFile bounds a --key file: a PEM public key is a few hundred bytes.
const maxKeyFile = 64 << 10

func cmdVerify(ctx context.Context, args []string, s streams) error {
	fs := newFlags("verify", s)
	sf := addStoreFlags(fs, "verify")
	var from, to dateFlag
	fs.Var(&from, "from", "check snapshots started on or after this `date` (YYYY-MM-DD or RFC 3339)")
	fs.Var(&to, "to", "check snapshots started before this `date`")
	var keys multiFlag
	fs.Var(&keys, "key", "trust only this public key `file` (PEM; repeatable) instead of the keys the store publishes")
	storeDelay := fs.Duration("store-delay", audit.DefaultStoreDelay, "on S3, how much later than its finished_at a snapshot may have been stored by the server's clock")
	minRetain := fs.Int("min-retain-days", audit.DefaultMinRetainDays, "on S3, the Object Lock retention every snapshot and signature must have (0: only that each is locked in COMPLIANCE mode)")
	tsaCerts := fs.String("tsa-certs", "", "the time-stamping authority's certificates (PEM `file`, obtained from the TSA): check every snapshot's RFC 3161 token against them")
	tsaTolerance := fs.Duration("tsa-tolerance", audit.DefaultTSATolerance, "how far a token's time may lie from the snapshot's finished_at")
	var checkpoints multiFlag
	fs.Var(&checkpoints, "checkpoint", "a checkpoint `file` kept from exhibit checkpoint (repeatable): every series it pins must still be extended")
	allowFailed := fs.Bool("allow-failed-runs", false, "with a period, print runs that failed as notes instead of problems (they are still listed and counted; a missing run still fails)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !from.t.IsZero() && !to.t.IsZero() && !to.t.After(from.t) {
		return usageErr("verify: --to must be after --from")
	}
	if *allowFailed && from.t.IsZero() && to.t.IsZero() {
		return usageErr("verify: --allow-failed-runs needs a period (--from, --to): runs are only judged in one")
	}
	if *storeDelay <= 0 {
		return usageErr("verify: --store-delay must be positive")
	}
	if *minRetain < 0 {
		return usageErr("verify: --min-retain-days must not be negative")
	}
	opts := audit.VerifyOptions{From: from.t, To: to.t, StoreDelay: *storeDelay, MinRetainDays: *minRetain, AllowFailedRuns: *allowFailed}
	for _, k := range keys {
		b, err := localfile.Read(k, maxKeyFile)
		if err != nil {
			return usageErr("verify: --key: %v", err)
		}
		pub, err := signing.ParsePublicKey(b)
		if err != nil {
			return usageErr("verify: --key %s: %v", k, err)
		}
		opts.TrustedKeys = append(opts.TrustedKeys, pub)
	}
	if *tsaTolerance <= 0 {
		return usageErr("verify: --tsa-tolerance must be positive")
	}
	opts.TSATolerance = *tsaTolerance
	if *tsaCerts != "" {
		b, err := localfile.Read(*tsaCerts, maxCertificatesSize)
		if err != nil {
			return usageErr("verify: --tsa-certs: %v", err)
		}
		if opts.TSACerts, err = timestamp.ParseCertificates(b); err != nil {
			return usageErr("verify: --tsa-certs %s: %v", *tsaCerts, err)
		}
	}
	for _, name := range checkpoints {
		b, err := localfile.Read(name, maxCheckpointSize)
		if err != nil {
			return usageErr("verify: --checkpoint: %v", err)
		}
		cp, err := evidence.ParseCheckpoint(bytes.TrimSuffix(b, []byte("\n")))
		if err != nil {
			return usageErr("verify: --checkpoint %s: %v", name, err)
		}
		opts.Checkpoints = append(opts.Checkpoints, audit.KeptCheckpoint{Name: name, Checkpoint: cp})
	}
	st, err := sf.open(ctx, "verify")
	if err != nil {
		return err
	}
	if !*asJSON {
		opts.OnProblem = func(p audit.Problem) { fmt.Fprintf(s.out, "FAIL %s\n", p) }
		opts.OnNote = func(p audit.Problem) { fmt.Fprintf(s.out, "NOTE %s\n", p) }
		if isTerminal(s.err) {
			opts.OnProgress = func(series string, done, total int) {
				fmt.Fprintf(s.err, "\r[%d/%d] %-60.60s", done, total, audit.Escape(series))
				if done == total {
					fmt.Fprintln(s.err)
				}
			}
		}
	}
	rep, err := audit.Verify(ctx, st, opts)
	if err != nil {
		return fmt.Errorf("verify %s: %w", audit.Escape(st.String()), err)
	}
	if *asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, r := range rep.Runs {
			unchecked := ""
			if !r.Checked {
				unchecked = " (part of the period not checked)"
			}
			fmt.Fprintf(s.out, "RUNS %s: %d complete, %d partial, %d failed, %d missing%s\n", audit.Escape(r.Series),
				r.Complete, r.Partial, r.Failed, r.Missing, unchecked)
		}
		verdict := "OK"
		if !rep.OK() {
			verdict = fmt.Sprintf("%d problem(s)", len(rep.Problems))
		}
		if len(rep.Notes) > 0 {
			verdict += fmt.Sprintf(", %d note(s)", len(rep.Notes))
		}
		fmt.Fprintf(s.out, "verified %s: %d snapshot(s) in %d series, %d key(s): %s\n", audit.Escape(st.String()), rep.Snapshots, rep.Series, rep.Keys, verdict)
	}
	if !rep.OK() {
		return failed
	}
	return nil
}

// maxCertificatesSize bounds a PEM file of a TSA's certificates.
const maxCertificatesSize = 1 << 20

// maxCheckpointSize bounds a kept checkpoint file: about 150 bytes a series.
const maxCheckpointSize = 64 << 20
