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
)

type streams struct {
	in       io.Reader
	out, err io.Writer
	// describe, when set, is handed each command's flag set in place of
	// running the command: completion reads the flags from the commands
	// themselves, so no script goes stale.
	describe func(*flag.FlagSet)
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
		{"check", "check a configuration and its access to every source, the store and the TSA, writing nothing", cmdCheck},
		{"version", "print the version and commit", cmdVersion},
		{"completion", "print a shell completion script: bash, zsh or fish", cmdCompletion},
	}
}

// subcommands are the tables of the commands that group subcommands, by
// the group's name; the group's run is runGroup.
func subcommands() map[string][]command {
	return map[string][]command{
		"keys": {
			{"generate", "generate a new signing key file (never replacing one) and print its public half", cmdKeysGenerate},
			{"rotate", "announce and publish a new signing key, signed by the key in use", cmdKeysRotate},
			{"public", "print a key's public half (PEM) and its key id", cmdKeysPublic},
		},
		"review": {
			{"prepare", "write each system's access list as of a date, with what changed since the last review, for a reviewer to decide", cmdReviewPrepare},
			{"record", "record a reviewer's decisions as a signed review snapshot", cmdReviewRecord},
		},
	}
}

func run(ctx context.Context, args []string, s streams) error {
	if len(args) == 0 {
		printUsage(s.err)
		return &exitError{code: 2}
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printUsage(s.out)
		return nil
	case "-version", "--version":
		return cmdVersion(ctx, args[1:], s)
	case "help":
		return help(ctx, "", commands(), args[1:], s)
	}
	return dispatch(ctx, "", commands(), args, s)
}

// dispatch runs the command of table named by args[0]; parent is "" at the
// top level, else the command the table is grouped under.
func dispatch(ctx context.Context, parent string, table []command, args []string, s streams) error {
	for _, c := range table {
		if c.name == args[0] {
			return c.run(ctx, args[1:], s)
		}
	}
	printGroupUsage(s.err, parent, table)
	if parent == "" {
		return usageErr("unknown command %q", args[0])
	}
	return usageErr("%s: unknown subcommand %q (want %s)", parent, args[0], names(table))
}

// help prints a command's usage on standard output: "help CMD [SUB]" is
// "CMD [SUB] -h".
func help(ctx context.Context, parent string, table []command, args []string, s streams) error {
	if len(args) == 0 || (len(args) == 1 && args[0] == "help") {
		printGroupUsage(s.out, parent, table)
		return nil
	}
	for _, c := range table {
		if c.name == args[0] {
			return c.run(ctx, append(append([]string(nil), args[1:]...), "-h"), s)
		}
	}
	printGroupUsage(s.err, parent, table)
	return usageErr("help: unknown command %q", strings.TrimSpace(parent+" "+args[0]))
}

// runGroup runs one of parent's subcommands (subcommands()[parent]).
func runGroup(ctx context.Context, parent string, args []string, s streams) error {
	table := subcommands()[parent]
	if len(args) == 0 {
		printGroupUsage(s.err, parent, table)
		return usageErr("%s: want a subcommand: %s", parent, names(table))
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printGroupUsage(s.out, parent, table)
		return nil
	case "help":
		return help(ctx, parent, table, args[1:], s)
	}
	return dispatch(ctx, parent, table, args, s)
}

func names(table []command) string {
	n := make([]string, len(table))
	for i, c := range table {
		n[i] = c.name
	}
	return strings.Join(n, ", ")
}

func printUsage(w io.Writer) { printGroupUsage(w, "", commands()) }

func printGroupUsage(w io.Writer, parent string, table []command) {
	if parent == "" {
		fmt.Fprintln(w, "exhibit collects signed, hash-chained evidence for SOC 2 and HIPAA audits.")
		fmt.Fprintln(w, "\nUsage: exhibit COMMAND [flags]\n\nCommands:")
	} else {
		fmt.Fprintf(w, "Usage: exhibit %s SUBCOMMAND [flags]\n\n%s\n\nSubcommands:\n", parent, summaryOf(parent))
	}
	for _, c := range table {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	if parent == "" {
		fmt.Fprintln(w, "\nRun 'exhibit help COMMAND' or 'exhibit COMMAND -h' for a command's flags, 'exhibit --version' for the version.")
	} else {
		fmt.Fprintf(w, "\nRun 'exhibit %s SUBCOMMAND -h' for a subcommand's flags.\n", parent)
	}
}

// summaryOf is the table's summary of a command ("keys" or "keys rotate").
func summaryOf(name string) string {
	parent, sub, _ := strings.Cut(name, " ")
	for _, c := range commands() {
		if c.name != parent {
			continue
		}
		if sub == "" {
			return c.summary
		}
		for _, sc := range subcommands()[parent] {
			if sc.name == sub {
				return sc.summary
			}
		}
	}
	return ""
}

// flagOutput is every flag set's output: standard error, carrying the
// streams so that parseArgs can print help on standard output.
type flagOutput struct {
	s        streams
	synopsis string
}

func (o *flagOutput) Write(p []byte) (int, error) { return o.s.err.Write(p) }

func newFlags(name string, s streams) *flag.FlagSet { return newFlagsArgs(name, "", s) }

// newFlagsArgs is newFlags for a command that takes arguments after its
// flags, shown as synopsis in its usage ("bash|zsh|fish").
func newFlagsArgs(name, synopsis string, s streams) *flag.FlagSet {
	fs := flag.NewFlagSet("exhibit "+name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{s: s, synopsis: synopsis})
	fs.Usage = func() {} // parseArgs prints usage, on the stream it belongs on
	return fs
}

// parseFlags parses and refuses stray arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	_, err := parseArgs(fs, args, 0)
	return err
}

// parseArgs parses fs and returns the arguments after the flags, refusing
// more than max. -h and --help print usage on standard output and end the
// command with exit 0; a usage error prints it on standard error, exit 2.
func parseArgs(fs *flag.FlagSet, args []string, max int) ([]string, error) {
	o, ok := fs.Output().(*flagOutput)
	if !ok {
		o = &flagOutput{s: streams{out: os.Stdout, err: os.Stderr}}
	}
	if o.s.describe != nil {
		o.s.describe(fs)
		return nil, &exitError{code: 0}
	}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(o)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printFlagUsage(o.s.out, fs, o.synopsis)
		return nil, &exitError{code: 0}
	case err != nil:
		printFlagUsage(o.s.err, fs, o.synopsis)
		return nil, usageErr("%s: %v", fs.Name(), err)
	case fs.NArg() > max:
		printFlagUsage(o.s.err, fs, o.synopsis)
		return nil, usageErr("%s: unexpected argument %q", fs.Name(), fs.Arg(max))
	}
	return fs.Args(), nil
}

// printFlagUsage is a command's help: synopsis, summary and flags.
func printFlagUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	name := strings.TrimPrefix(fs.Name(), "exhibit ")
	line := "Usage: " + fs.Name()
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		line += " [flags]"
	}
	if synopsis != "" {
		line += " " + synopsis
	}
	fmt.Fprintln(w, line)
	if sum := summaryOf(name); sum != "" {
		fmt.Fprintf(w, "\n%s\n", sum)
	}
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		prev := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(prev)
	}
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
