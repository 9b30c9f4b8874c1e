package main

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

// auditStart is the first day of the audit fixture's period.
var auditStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const (
	auditDays   = 30
	auditMissed = 12 // the day aws.s3 did not run
	auditFrom   = "2026-03-01"
	auditTo     = "2026-03-31"
)

// auditStore builds a store covering March 2026: aws.s3 runs daily, an
// hour late, except on day 10; okta.access runs daily and fails its check on
// days 3, 10, 17 and 24, and cannot decide it on day 5.
func auditStore(t *testing.T) (*agenttest.Env, string) {
	t.Helper()
	env := agenttest.NewEnv(t, auditStart)
	s3 := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
	day := 0
	okta := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(req collector.Request) (*collector.Result, error) {
		res, err := agenttest.Passing(req)
		f := &res.Findings[0]
		switch {
		case day%7 == 3:
			f.Status, f.Reason, f.Resource = evidence.Fail, "user <b>mallory</b> has no MFA", "user-mallory"
		case day == 5:
			f.Status, f.Reason = evidence.Error, "API returned 500"
		}
		return res, err
	}}
	for day = 0; day < auditDays; day++ {
		env.Clock.Advance(auditStart.AddDate(0, 0, day).Add(time.Hour).Sub(env.Clock.Now()))
		if day != auditMissed {
			env.Fill(t, agenttest.Job("aws.s3", "@daily", s3), 1, 0)
		}
		env.Fill(t, agenttest.Job("okta.access", "@daily", okta), 1, 0)
	}
	return env, "file://" + env.Store.Root()
}

func readZip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		out[f.Name] = b
	}
	return out
}

func zipSelection(t *testing.T, files map[string][]byte) []string {
	t.Helper()
	var p struct {
		Selected []string `json:"selected"`
	}
	require.NoError(t, json.Unmarshal(files["sample.json"], &p))
	return p.Selected
}

// Acceptance: the same sample command gives a byte-identical zip; another
// seed another selection; the README's openssl commands verify the sample.
func TestSampleIsReproducibleAndVerifiable(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	args := func(seed, out string) []string {
		return []string{"sample", "--store", url, "--control", "CC6.1", "--from", auditFrom, "--to", auditTo, "--seed", seed, "-o", out}
	}
	r := exhibit(t, dir, nil, args("audit-2026", "a.zip")...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "sampled 20 of 59 snapshot(s) carrying soc2:CC6.1 (runs daily)")
	r = exhibit(t, dir, nil, args("audit-2026", "b.zip")...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	r = exhibit(t, dir, nil, args("another seed", "c.zip")...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)

	a, err := os.ReadFile(filepath.Join(dir, "a.zip"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "b.zip"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(a, b), "the same command must give a byte-identical zip")

	files := readZip(t, filepath.Join(dir, "a.zip"))
	sel := zipSelection(t, files)
	require.Len(t, sel, 20)
	require.NotEqual(t, sel, zipSelection(t, readZip(t, filepath.Join(dir, "c.zip"))), "another seed draws another sample")

	// The package holds what the README promises.
	for _, name := range []string{"README.md", "sample.json", "population.csv", "verification.json"} {
		require.Contains(t, files, name)
	}
	for _, key := range sel {
		require.Contains(t, files, key)
		require.Contains(t, files, key+".sig")
	}
	require.Contains(t, files, "attachments/sha256/"+evidence.Digest([]byte("raw 111122223333")))
	rows, err := csv.NewReader(bytes.NewReader(files["population.csv"])).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"key", "sha256", "started_at", "status", "series"}, rows[0])
	require.Len(t, rows, 1+59, "29 aws.s3 and 30 okta.access runs")
	for _, row := range rows[1:] {
		if slices.Contains(sel, row[0]) {
			require.Equal(t, evidence.Digest(files[row[0]]), row[1])
		}
	}
	var ver struct {
		OK bool `json:"ok"`
	}
	require.NoError(t, json.Unmarshal(files["verification.json"], &ver))
	require.True(t, ver.OK)
	readme := string(files["README.md"])
	require.Contains(t, readme, "exhibit sample --store "+url+" --control soc2:CC6.1 --from 2026-03-01 --to 2026-03-31 --seed audit-2026 -o sample.zip")

	// Run the README's commands, as written, in the extracted archive.
	testtool.Require(t, "openssl")
	bash := testtool.Require(t, "bash")
	x := t.TempDir()
	for name, content := range files {
		writeFile(t, filepath.Join(x, filepath.FromSlash(name)), string(content))
	}
	m := regexp.MustCompile("(?s)<!-- verify -->\n```sh\n(.*?)```\n<!-- /verify -->").FindStringSubmatch(readme)
	require.NotNil(t, m, "README has no verify block")
	cmd := exec.Command(bash, "-euo", "pipefail", "-c", m[1])
	cmd.Dir = x
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, strings.Repeat("Verified OK\n", len(sel)), string(out))

	// The same commands catch an altered snapshot.
	p := filepath.Join(x, filepath.FromSlash(sel[0]))
	writeFile(t, p, strings.Replace(string(files[sel[0]]), `"status":"`, `"status":"x`, 1))
	cmd = exec.Command(bash, "-euo", "pipefail", "-c", m[1])
	cmd.Dir = x
	out, err = cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "Verification failure")
}

func TestSampleSizeAndSmallPopulation(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	r := exhibit(t, dir, nil, "sample", "--store", url, "--control", "hipaa:164.312(a)(1)", "--from", "2026-03-02", "--to", "2026-03-04", "--seed", "s", "-o", "small.zip")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "sampled 4 of 4 snapshot(s)")
	var p struct {
		Size     int    `json:"size"`
		SizeRule string `json:"size_rule"`
	}
	require.NoError(t, json.Unmarshal(readZip(t, filepath.Join(dir, "small.zip"))["sample.json"], &p))
	require.Equal(t, 4, p.Size)
	require.Contains(t, p.SizeRule, "capped at the population of 4")

	r = exhibit(t, dir, nil, "sample", "--store", url, "--control", "cc6.1", "--from", auditFrom, "--to", auditTo, "--seed", "s", "--size", "7", "-o", "seven.zip")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Len(t, zipSelection(t, readZip(t, filepath.Join(dir, "seven.zip"))), 7)
}

func TestSampleBadInput(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	good := map[string]string{"--store": url, "--control": "CC6.1", "--from": auditFrom, "--to": auditTo, "--seed": "s", "-o": "out.zip"}
	with := func(k, v string) []string {
		args := []string{"sample"}
		for _, f := range []string{"--store", "--control", "--from", "--to", "--seed", "-o"} {
			val := good[f]
			if f == k {
				val = v
			}
			if val != "" {
				args = append(args, f, val)
			}
		}
		return args
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad date", with("--from", "2026-13-01"), 2, `want YYYY-MM-DD or an RFC 3339 time, got "2026-13-01"`},
		{"to before from", with("--to", "2026-02-01"), 2, "--to (2026-02-01) must be after --from (2026-03-01)"},
		{"missing from", with("--from", ""), 2, "--from is required"},
		{"unknown control", with("--control", "CC9.9"), 2, `resolve control "CC9.9": not in the catalog`},
		{"missing control", with("--control", ""), 2, "--control is required"},
		{"missing seed", with("--seed", ""), 2, "--seed is required"},
		{"missing output", with("-o", ""), 2, "-o is required"},
		{"unwritable output", with("-o", filepath.Join(dir, "no", "such", "dir", "out.zip")), 2, "cannot write there"},
		{"missing store", with("--store", ""), 2, "--store is required"},
		{"absent store", with("--store", "file://"+filepath.Join(dir, "absent")), 2, "absent"},
		{"empty population", with("--control", "CC8.1"), 1, "empty population: no snapshot started between 2026-03-01T00:00:00Z and 2026-03-31T00:00:00Z carries soc2:CC8.1"},
		{"period without evidence", []string{"sample", "--store", url, "--control", "CC6.1", "--from", "2025-01-01", "--to", "2025-02-01", "--seed", "s", "-o", "out.zip"}, 1, "empty population"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := exhibit(t, dir, nil, tc.args...)
			require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stderr, tc.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.NotEqual(t, "out.zip", e.Name(), "no output on failure")
				require.False(t, strings.HasPrefix(e.Name(), ".exhibit-"), "no temporary file left: %s", e.Name())
			}
		})
	}
}

// Acceptance: a missing day in a daily series is a gap verify names.
func TestVerifyListsGaps(t *testing.T) {
	_, url := auditStore(t)
	r := exhibit(t, t.TempDir(), nil, "verify", "--store", url, "--from", auditFrom, "--to", auditTo)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	require.Equal(t, fmt.Sprintf("FAIL evidence/aws.s3/111122223333/: gap: no snapshot for the run due 2026-03-%02dT00:00:00Z (schedule @daily)", auditMissed+1), firstLine(r.stdout))
	require.Contains(t, r.stdout, "1 problem(s)")

	// Without a closed period only integrity is checked, and it holds.
	r = exhibit(t, t.TempDir(), nil, "verify", "--store", url)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	r = exhibit(t, t.TempDir(), nil, "verify", "--store", url, "--from", "2026-03-14", "--to", auditTo)
	require.Equal(t, 0, r.code, "a period after the gap: %s", r.stdout)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
