package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// commandPaths are every command and subcommand in the command table, as
// a user types them.
func commandPaths() [][]string {
	var paths [][]string
	for _, c := range commands() {
		paths = append(paths, []string{c.name})
		for _, sc := range subcommands()[c.name] {
			paths = append(paths, []string{c.name, sc.name})
		}
	}
	return paths
}

func TestHelpEveryCommand(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"help", "help"}} {
		r := exhibit(t, dir, nil, args...)
		require.Equal(t, 0, r.code, "%v", args)
		require.Empty(t, r.stderr, "%v", args)
		require.Contains(t, r.stdout, "Usage: exhibit COMMAND")
	}
	for _, path := range commandPaths() {
		name := strings.Join(path, " ")
		_, isGroup := subcommands()[name]
		want := "Usage: exhibit " + name + " "
		if !isGroup {
			want = "Usage: exhibit " + name
		}
		for _, args := range [][]string{
			append(append([]string{}, path...), "-h"),
			append(append([]string{}, path...), "--help"),
			append([]string{"help"}, path...),
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := exhibit(t, dir, nil, args...)
				require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
				require.Empty(t, r.stderr)
				require.True(t, strings.HasPrefix(r.stdout, want), "stdout: %s", r.stdout)
				// The summary is the command table's, not the top level's.
				require.Contains(t, r.stdout, summaryOf(name))
				require.NotContains(t, r.stdout, "Commands:")
			})
		}
	}
	// Nothing was written where the commands ran.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestUsageErrorsEveryCommand(t *testing.T) {
	dir := t.TempDir()
	for _, path := range commandPaths() {
		name := strings.Join(path, " ")
		t.Run(name, func(t *testing.T) {
			r := exhibit(t, dir, nil, append(append([]string{}, path...), "--no-such-flag")...)
			require.Equal(t, 2, r.code)
			require.Empty(t, r.stdout)
			if _, isGroup := subcommands()[name]; isGroup {
				require.Contains(t, r.stderr, `unknown subcommand "--no-such-flag"`)
				return
			}
			require.Contains(t, r.stderr, "flag provided but not defined: -no-such-flag")
			require.Contains(t, r.stderr, "Usage: exhibit "+name)
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage: exhibit COMMAND"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `help: unknown command "frobnicate"`},
		{[]string{"keys"}, "keys: want a subcommand: generate, rotate, public"},
		{[]string{"keys", "help", "frobnicate"}, `help: unknown command "keys frobnicate"`},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
		{[]string{"completion"}, "want a shell"},
		{[]string{"completion", "tcsh"}, `unknown shell "tcsh"`},
		{[]string{"completion", "bash", "zsh"}, `unexpected argument "zsh"`},
	} {
		r := exhibit(t, dir, nil, tc.args...)
		require.Equal(t, 2, r.code, "%v", tc.args)
		require.Empty(t, r.stdout, "%v", tc.args)
		require.Contains(t, r.stderr, tc.want, "%v", tc.args)
	}
}

func TestVersion(t *testing.T) {
	// The test binary is built without -ldflags: "dev", and the commit
	// from the toolchain's VCS stamp, or "unknown" when the build had none
	// (GOFLAGS=-buildvcs=false, or no checkout).
	format := regexp.MustCompile(`^exhibit dev \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n$`)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := exhibit(t, t.TempDir(), nil, args...)
		require.Equal(t, 0, r.code)
		require.Empty(t, r.stderr)
		require.Regexp(t, format, r.stdout)
	}

	// A release build sets both, as the Makefile does.
	bin := filepath.Join(t.TempDir(), "exhibit")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X main.version=1.4.0-rc.1 -X main.commit=0123456789abcdef0123456789abcdef01234567", ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	require.Equal(t, "exhibit 1.4.0-rc.1 (commit 0123456789ab)\n", string(got))

	build = exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version=2.0.0 -X main.commit=fedcba9876543210-dirty", ".")
	out, err = build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err = exec.Command(bin, "version").Output()
	require.NoError(t, err)
	require.Equal(t, "exhibit 2.0.0 (commit fedcba987654-dirty)\n", string(got))
}

func TestMakefileVersionFlags(t *testing.T) {
	// The Makefile's ldflags name the variables the binary has.
	mk, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	require.Contains(t, string(mk), "-X main.version=$(VERSION)")
	require.Contains(t, string(mk), "-X main.commit=$(COMMIT)")
}

// shellOrSkip finds a shell; under CI=true a missing one fails (.ci/deps
// installs all three).
func shellOrSkip(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; .ci/deps installs it", name)
		}
		t.Skipf("%s is not installed: its completion script is not syntax-checked here", name)
	}
	return p
}

func TestCompletion(t *testing.T) {
	nodes := completionNodes(t.Context())
	byPath := map[string]compNode{}
	for _, n := range nodes {
		byPath[n.path] = n
	}
	// Every command and subcommand, with the flags it defines itself.
	for _, path := range commandPaths() {
		name := strings.Join(path, " ")
		n, ok := byPath[name]
		require.True(t, ok, name)
		if _, isGroup := subcommands()[name]; !isGroup {
			require.NotEmpty(t, n.flags, name)
		}
	}
	require.Contains(t, flagNames(byPath["collect"]), "only")
	require.Contains(t, flagNames(byPath["keys rotate"]), "to")
	require.Contains(t, flagNames(byPath["check"]), "json")

	dir := t.TempDir()
	scripts := map[string]string{}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := exhibit(t, dir, nil, "completion", sh)
		require.Equal(t, 0, r.code, r.stderr)
		require.Empty(t, r.stderr)
		for _, c := range commands() {
			require.Contains(t, r.stdout, c.name, sh)
		}
		path := filepath.Join(dir, "exhibit."+sh)
		writeFile(t, path, r.stdout)
		scripts[sh] = path
	}

	t.Run("bash", func(t *testing.T) {
		bash := shellOrSkip(t, "bash")
		out, err := exec.Command(bash, "-n", scripts["bash"]).CombinedOutput()
		require.NoError(t, err, "%s", out)
		// And it completes: commands, subcommands, flags, a flag's value
		// left to file names.
		complete := func(words ...string) string {
			script := "source " + scripts["bash"] + "\nCOMP_WORDS=(" + strings.Join(words, " ") + ")\nCOMP_CWORD=" +
				strconv.Itoa(len(words)-1) + "\n_exhibit\necho \"${COMPREPLY[*]}\"\n"
			out, err := exec.Command(bash, "-c", script).CombinedOutput()
			require.NoError(t, err, "%s", out)
			return strings.TrimSpace(string(out))
		}
		require.Equal(t, "collect", complete("exhibit", "col"))
		require.Equal(t, "completion", complete("exhibit", "comp"))
		require.Equal(t, "rotate", complete("exhibit", "keys", "ro"))
		require.Equal(t, "--to", complete("exhibit", "keys", "rotate", "--t"))
		require.Equal(t, "--only", complete("exhibit", "collect", "--o"))
		require.Equal(t, "", complete("exhibit", "collect", "-c", "''"))
		require.Equal(t, "zsh", complete("exhibit", "completion", "z"))
	})
	t.Run("zsh", func(t *testing.T) {
		zsh := shellOrSkip(t, "zsh")
		out, err := exec.Command(zsh, "-n", scripts["zsh"]).CombinedOutput()
		require.NoError(t, err, "%s", out)
		// Loaded after compinit it registers itself.
		out, err = exec.Command(zsh, "-f", "-c", "autoload -U compinit && compinit -u -D && source "+scripts["zsh"]+" && print ${_comps[exhibit]}").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "_exhibit", strings.TrimSpace(string(out)))
	})
	t.Run("fish", func(t *testing.T) {
		fish := shellOrSkip(t, "fish")
		out, err := exec.Command(fish, "-n", scripts["fish"]).CombinedOutput()
		require.NoError(t, err, "%s", out)
		complete := func(line string) string {
			out, err := exec.Command(fish, "--no-config", "-c", "source "+scripts["fish"]+"; complete -C '"+line+"'").CombinedOutput()
			require.NoError(t, err, "%s", out)
			var names []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				name, _, _ := strings.Cut(l, "\t")
				names = append(names, name)
			}
			return strings.Join(names, " ")
		}
		require.Equal(t, "collect", complete("exhibit col"))
		require.Equal(t, "completion", complete("exhibit comp"))
		require.Equal(t, "rotate", complete("exhibit keys ro"))
		require.Equal(t, "--to", complete("exhibit keys rotate --t"))
		require.Equal(t, "--only", complete("exhibit collect --on"))
	})
}

func flagNames(n compNode) []string {
	var names []string
	for _, f := range n.flags {
		names = append(names, f.name)
	}
	return names
}

// The collect summary fits the width it is given (COLUMNS here; the
// terminal's on a terminal), and piped without one it is not cut.
func TestCollectSummaryWidth(t *testing.T) {
	dir := t.TempDir()
	cfg, env := ghConfig(t, "./key.pem")
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
	r := exhibit(t, dir, append(env, "COLUMNS=40"), "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "SNAPSHOT"), r.stdout)
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		require.LessOrEqual(t, len([]rune(l)), 40, "%q", l)
	}
	r = exhibit(t, dir, append(env, "COLUMNS="), "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "evidence/github.access/acme/000000000002.json")
}
