package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
)

// version is the release's semantic version, set at build time with
// -ldflags "-X main.version=1.2.3" (the Makefile takes it from the nearest
// v* tag); "dev" for any other build.
var version = "dev"

// commit is the source revision, set at build time with -ldflags
// "-X main.commit=…" (with "-dirty" after it for a modified checkout); when it is not, the Go toolchain's record of the
// checkout (vcs.revision) is used, and "unknown" without either.
var commit = ""

func cmdVersion(_ context.Context, args []string, s streams) error {
	fs := newFlags("version", s)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(s.out, versionLine())
	return nil
}

// versionLine is "exhibit 1.2.3 (commit 0123456789ab)", with "-dirty"
// after a commit built from a modified checkout.
func versionLine() string {
	rev, dirty := strings.CutSuffix(commit, "-dirty")
	if rev == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, kv := range bi.Settings {
				switch kv.Key {
				case "vcs.revision":
					rev = kv.Value
				case "vcs.modified":
					dirty = kv.Value == "true"
				}
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return fmt.Sprintf("exhibit %s (commit %s)", version, rev)
}
