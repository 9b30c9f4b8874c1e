// Command exhibit collects signed, hash-chained audit evidence and lets an
// auditor verify, sample and export it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"
)

// readerMemoryLimit is the soft limit on the Go heap of the commands that
// read stored evidence (verify, sample, export, report, diff), unless
// GOMEMLIMIT sets one. They keep little from one snapshot to the next, but
// parsing a large one (an access list of 10,000 users) leaves garbage that
// the collector would otherwise let grow to twice the heap in use; with
// the limit it collects sooner, so that such a store is read in well under
// 256 MB (docs/performance.md, "A year of the whole estate").
const readerMemoryLimit = 160 << 20

// limitReaderHeap sets readerMemoryLimit when args name a reading command.
func limitReaderHeap(args []string) {
	if len(args) > 0 && slices.Contains([]string{"verify", "sample", "export", "report", "diff"}, args[0]) && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(readerMemoryLimit)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	limitReaderHeap(os.Args[1:])
	err := run(ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	if err != nil && ctx.Err() != nil {
		// A reader stopped by SIGINT or SIGTERM gave no verdict; say so
		// rather than leave "context canceled" to explain it.
		err = fmt.Errorf("interrupted: %w", err)
	}
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode maps an error to the documented exit codes: 0 ok, 1 integrity
// failure or incomplete collection, 2 usage, configuration or store-setup
// error. Commands mark 2 (usageErr, configErr) where they know; anything
// unmarked is 1.
func exitCode(err error, w interface{ Write([]byte) (int, error) }) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(w, "exhibit: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(w, "exhibit: %v\n", err)
	return 1
}
