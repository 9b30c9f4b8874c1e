package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

const baseConfig = `store: file://./evidence
signing_key: file://./key.pem
sources:
  github:
    token: ${EXHIBIT_TEST_TOKEN}
    orgs: [acme]
collectors:
  - type: github.access
    schedule: "@daily"
`

// manyCollectors is a configuration listing n collectors through one alias,
// so that even 200,000 fit in the size limit.
func manyCollectors(n int) string {
	return "collectors: [&c {type: github.access, schedule: '@daily'}" + strings.Repeat(", *c", n-1) + "]\n"
}

// Bad configuration exits 2, names the field, and runs nothing: no store,
// no key, no spool, nothing at all in the working directory.
func TestBadConfigExitsBeforeRunning(t *testing.T) {
	token := []string{"EXHIBIT_TEST_TOKEN=x"}
	sched := func(spec string) string { return strings.Replace(baseConfig, `"@daily"`, spec, 1) }
	cases := []struct {
		name, config string
		env          []string
		want         string
	}{
		{"unknown key", strings.Replace(baseConfig, "orgs:", "orgz:", 1), token, "sources.github.orgz: unknown key"},
		{"invalid cron", sched(`"61 * * * *"`), token, `collectors[0].schedule: invalid cron expression "61 * * * *"`},
		{"missing variable", baseConfig, nil, "sources.github.token: environment variable EXHIBIT_TEST_TOKEN is not set"},
		{"never fires", sched(`"0 0 30 2 *"`), token, `collectors[0].schedule: invalid cron expression "0 0 30 2 *": it never fires`},
		{"every 0s", sched(`"@every 0s"`), token, `collectors[0].schedule: invalid schedule "@every 0s": the interval must be at least 1s`},
		{"every -5s", sched(`"@every -5s"`), token, `collectors[0].schedule: invalid schedule "@every -5s": the interval must be at least 1s`},
		{"every 1ns", sched(`"@every 1ns"`), token, `collectors[0].schedule: invalid schedule "@every 1ns": the interval must be at least 1s`},
		{"huge jitter", baseConfig + "    jitter: 2000000h\n", token, "collectors[0].jitter: 2000000h0m0s must be shorter than the schedule's interval (24h0m0s)"},
		{"empty", "", token, "(top level): the file is empty"},
		{"null", "null\n", token, "(top level): the file is empty"},
		{"null collector", strings.Replace(baseConfig, "collectors:\n  - type: github.access\n    schedule: \"@daily\"\n", "collectors: [~]\n", 1), token, "collectors[0]: empty list item"},
		{"port out of range", baseConfig + "listen: 127.0.0.1:99999\n", token, `listen: port "99999" in "127.0.0.1:99999": want a number from 0 to 65535`},
		{"200000 collectors", strings.Replace(baseConfig, "collectors:\n  - type: github.access\n    schedule: \"@daily\"\n", manyCollectors(200_000), 1), token, "collectors: 200000 entries; at most 1000 are supported"},
	}
	for _, tc := range cases {
		for _, cmd := range []string{"collect", "run"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				dir := t.TempDir()
				writeFile(t, filepath.Join(dir, "exhibit.yaml"), tc.config)
				r := exhibit(t, dir, tc.env, cmd, "-c", "exhibit.yaml")
				require.Equal(t, 2, r.code, "stderr: %s", r.stderr)
				require.Contains(t, r.stderr, "exhibit: config exhibit.yaml: ")
				require.Contains(t, r.stderr, tc.want)
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				require.Len(t, entries, 1, "nothing may run before the config is valid: no store, no key, no spool")
			})
		}
	}
}

// Every kind of problem, in one run and in the order of the file.
func TestBadConfigReportsEveryProblemAtOnce(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), `store: file://./evidence
stor: typo
listen: 127.0.0.1:99999
sources:
  github:
    token: ${EXHIBIT_UNSET_TOKEN}
    orgs: [acme]
collectors:
  - type: github.access
    schedule: "0 0 30 2 *"
    timeout: soon
  - type: github.pull_requests
    schedule: "@every 1ns"
    jitter: 2000000h
  - ~
`)
	r := exhibit(t, dir, nil, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code, r.stderr)
	want := []string{
		"stor: unknown key (line 2)",
		`listen: port "99999"`,
		"sources.github.token: environment variable EXHIBIT_UNSET_TOKEN is not set",
		`collectors[0].schedule: invalid cron expression "0 0 30 2 *": it never fires`,
		"collectors[0].timeout: want a duration",
		`collectors[1].schedule: invalid schedule "@every 1ns"`,
		"collectors[2]: empty list item (line 15)",
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.Len(t, lines, len(want), r.stderr)
	for i, w := range want {
		require.Contains(t, lines[i], w, r.stderr)
	}
}

// The file is read only if it is a regular file: a FIFO would block the
// read forever, a device might never end.
func TestConfigMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o600))
	r := exhibit(t, dir, nil, "collect", "-c", "fifo.yaml")
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "config: fifo.yaml: a named pipe (FIFO), not a regular file")

	r = exhibit(t, dir, nil, "run", "-c", "/dev/zero")
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "config: /dev/zero: a character device, not a regular file")
}

func TestMissingConfigFile(t *testing.T) {
	r := exhibit(t, t.TempDir(), nil, "collect", "-c", "nope.yaml")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "nope.yaml")
}
