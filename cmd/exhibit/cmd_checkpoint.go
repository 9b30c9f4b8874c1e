package main

import (
	"context"
	"fmt"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// cmdCheckpoint writes the head of every series of a store to a file the
// auditor keeps: `verify --checkpoint FILE` later proves that the store
// still extends each of them.
func cmdCheckpoint(ctx context.Context, args []string, s streams) error {
	fs := newFlags("checkpoint", s)
	sf := addStoreFlags(fs, "take a checkpoint of")
	out := fs.String("o", "", "write the checkpoint to this `file` (required; - for standard output); keep it where the store's operators cannot change it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o, err := createOutput("checkpoint", *out, s)
	if err != nil {
		return err
	}
	defer o.abort()
	st, err := sf.open(ctx, "checkpoint")
	if err != nil {
		return err
	}
	cp, err := audit.TakeCheckpoint(ctx, st, time.Now())
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	b, err := evidence.EncodeCheckpoint(cp)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if _, err := o.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	if err := o.commit(); err != nil {
		return err
	}
	fmt.Fprintf(o.msgs, "checkpoint of %s: %d series, taken %s, written to %s\n", st, len(cp.Heads), cp.TakenAt.UTC().Format(time.RFC3339), o.name)
	return nil
}
