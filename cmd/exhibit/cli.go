package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type streams struct {
	in       io.Reader
	out, err io.Writer
}

// exitError carries an exit code; a nil err prints nothing.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func configErr(err error) error { return &exitError{code: 2, err: err} }

// failed is exit 1 with the message already printed.
var failed = &exitError{code: 1}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, s streams) error
}

func commands() []command {
	return []command{
		{"run", "run the daemon: collectors on their schedules, /healthz /readyz /metrics", cmdRun},
		{"collect", "run collectors once now", cmdCollect},
		{"verify", "check a store's hashes, signatures, chains and gaps", cmdVerify},
		{"checkpoint", "write the head of every series to a file an auditor keeps (verify --checkpoint)", cmdCheckpoint},
		{"sample", "draw a reproducible sample of a control's evidence for an auditor, as a zip", cmdSample},
		{"export", "export findings for GRC tools: OSCAL assessment results, OCSF findings or CSV", cmdExport},
		{"report", "write a self-contained HTML page: per control, day by day, over a period", cmdReport},
		{"diff", "per control, the findings that appeared, were resolved or flipped over a period", cmdDiff},
		{"controls", "print the control catalog and which checks map to which references", cmdControls},
		{"review", "prepare an access review as of a date (prepare), or record the reviewer's signed decisions (record)", cmdReview},
		{"keys", "generate or rotate a signing key (never replacing a file), or print a key's public half", cmdKeys},
		{"demo", "collect from a simulated estate on loopback, verify and summarize", cmdDemo},
		{"version", "print the version", cmdVersion},
	}
}

func run(ctx context.Context, args []string, s streams) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(s.err)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], s)
		}
	}
	printUsage(s.err)
	return usageErr("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "exhibit collects signed, hash-chained evidence for SOC 2 and HIPAA audits.")
	fmt.Fprintln(w, "\nUsage: exhibit COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'exhibit COMMAND -h' for a command's flags.")
}

func cmdVersion(_ context.Context, args []string, s streams) error {
	fs := newFlags("version", s)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(s.out, "exhibit", version)
	return nil
}

func newFlags(name string, s streams) *flag.FlagSet {
	fs := flag.NewFlagSet("exhibit "+name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	return fs
}

// parseFlags parses and refuses stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: 0}
		}
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return usageErr("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// dateFlag accepts 2026-01-31 or an RFC 3339 time.
type dateFlag struct{ t time.Time }

func (d *dateFlag) String() string {
	if d.t.IsZero() {
		return ""
	}
	return d.t.Format(time.RFC3339)
}

func (d *dateFlag) Set(v string) error {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		d.t = t
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("want YYYY-MM-DD or an RFC 3339 time, got %q", v)
	}
	d.t = t.UTC()
	return nil
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
