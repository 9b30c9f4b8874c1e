// Command exhibit collects signed, hash-chained audit evidence and lets an
// auditor verify, sample and export it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
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
