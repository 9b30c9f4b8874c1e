package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/audit/audittest"
)

// The OSCAL export meets the assessment-results rules audittest checks (and
// NIST's OSCAL 1.2.2 JSON schema where that file is provided; the subtest
// skips, saying so, where it is not), every OCSF line has every field
// OCSF 1.8.0's Compliance Finding requires, and the CSV is RFC 4180 with a
// row per finding; each is reproducible.
func TestExportFormats(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	run := func(format, out string) []byte {
		t.Helper()
		r := exhibit(t, dir, nil, "export", "--store", url, "--format", format, "--from", auditFrom, "--to", auditTo, "-o", out)
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		require.Contains(t, r.stdout, "exported 59 snapshot(s) as "+format)
		b, err := os.ReadFile(filepath.Join(dir, out))
		require.NoError(t, err)
		return b
	}

	oscal := run("oscal", "ar.json")
	require.Equal(t, oscal, run("oscal", "ar2.json"), "the same export twice is byte-identical")
	t.Run("nist-schema", func(t *testing.T) {
		require.NoError(t, audittest.RequireOSCALSchema(t).Validate(oscal))
	})
	var doc map[string]any
	require.NoError(t, json.Unmarshal(oscal, &doc))
	require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))
	res := doc["assessment-results"].(map[string]any)["results"].([]any)[0].(map[string]any)
	require.Len(t, res["observations"], 59)
	states := map[string]string{}
	for _, f := range res["findings"].([]any) {
		tg := f.(map[string]any)["target"].(map[string]any)
		states[tg["target-id"].(string)] = tg["status"].(map[string]any)["state"].(string)
	}
	require.Equal(t, map[string]string{"soc2_cc6.1": "not-satisfied", "hipaa_164.312_a_1": "not-satisfied"}, states)

	ocsf := run("ocsf", "findings.ocsf.jsonl")
	sc := bufio.NewScanner(bytes.NewReader(ocsf))
	n, fails := 0, 0
	for sc.Scan() {
		n++
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "line %d", n)
		problems := audittest.CheckOCSFComplianceFinding(ev)
		require.Empty(t, problems, "line %d", n)
		if ev["compliance"].(map[string]any)["status"] == "Fail" {
			fails++
		}
	}
	require.Equal(t, 59, n, "one event per finding")
	require.Equal(t, 4, fails, "okta.access failed on days 3, 10, 17 and 24")

	rows, err := csv.NewReader(bytes.NewReader(run("csv", "findings.csv"))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+59)
	var failRow []string
	for _, row := range rows {
		if row[6] == "fail" {
			failRow = row
			break
		}
	}
	require.Equal(t, "user <b>mallory</b> has no MFA", failRow[8])
	require.Equal(t, "okta.access/acme", failRow[2])
}

func TestExportBadInput(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	base := []string{"export", "--store", url, "--from", auditFrom, "--to", auditTo}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing format", append(base, "-o", "out"), 2, "--format is required"},
		{"unknown format", append(base, "--format", "xml", "-o", "out"), 2, `--format "xml": want oscal, ocsf, csv`},
		{"missing output", append(base, "--format", "csv"), 2, "-o is required"},
		{"unwritable output", append(base, "--format", "csv", "-o", filepath.Join(dir, "none", "out")), 2, "cannot write there"},
		{"bad date", []string{"export", "--store", url, "--format", "csv", "--from", "yesterday", "--to", auditTo, "-o", "out"}, 2, `invalid value "yesterday" for flag -from`},
		{"to before from", []string{"export", "--store", url, "--format", "csv", "--from", auditTo, "--to", auditFrom, "-o", "out"}, 2, "must be after --from"},
		{"missing to", []string{"export", "--store", url, "--format", "csv", "--from", auditFrom, "-o", "out"}, 2, "--to is required"},
		{"nothing in the period", []string{"export", "--store", url, "--format", "oscal", "--from", "2020-01-01", "--to", "2020-02-01", "-o", "out"}, 1, "no snapshot started between 2020-01-01T00:00:00Z and 2020-02-01T00:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := exhibit(t, dir, nil, tc.args...)
			require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stderr, tc.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.NotEqual(t, "out", e.Name(), "no output on failure")
				require.False(t, strings.HasPrefix(e.Name(), ".exhibit-"), "no temporary file left: %s", e.Name())
			}
		})
	}
}

// demoStore runs the demo (real collectors against the simulated estate)
// into a temp dir and returns its store URL and a period around now.
func demoStore(t *testing.T) (dir, url, from, to string) {
	t.Helper()
	dir = t.TempDir()
	r := exhibit(t, dir, nil, "demo", "--dir", "estate")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	now := time.Now().UTC()
	return dir, "file://" + filepath.Join(dir, "estate", "evidence"),
		now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, 2).Format(time.DateOnly)
}

// The exports of real collectors' evidence pass the same checks: many
// checks, controls such as hipaa:164.312(a)(2)(iv), regions, failures.
func TestExportsOfTheDemoEstate(t *testing.T) {
	dir, url, from, to := demoStore(t)

	r := exhibit(t, dir, nil, "export", "--store", url, "--format", "oscal", "--from", from, "--to", to, "-o", "ar.json")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	b, err := os.ReadFile(filepath.Join(dir, "ar.json"))
	require.NoError(t, err)
	t.Run("nist-schema", func(t *testing.T) {
		require.NoError(t, audittest.RequireOSCALSchema(t).Validate(b))
	})
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))

	r = exhibit(t, dir, nil, "export", "--store", url, "--format", "ocsf", "--from", from, "--to", to, "-o", "f.jsonl")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	b, err = os.ReadFile(filepath.Join(dir, "f.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Greater(t, len(lines), 50)
	for i, line := range lines {
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &ev), "line %d", i+1)
		problems := audittest.CheckOCSFComplianceFinding(ev)
		require.Empty(t, problems, "line %d: %s", i+1, line)
	}
}
