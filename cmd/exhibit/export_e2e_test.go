package main

import (
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
	"github.com/exhibit-dev/exhibit/pkg/controls"
)

// The OSCAL export meets the assessment-results rules audittest checks (and
// NIST's OSCAL 1.2.2 JSON schema where that file is provided; the subtest
// skips, saying so, where it is not), every OCSF line is valid against
// OCSF's compiled 1.8.0 schema, and the CSV is RFC 4180 with a
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
	require.Equal(t, ocsf, run("ocsf", "findings2.ocsf.jsonl"), "the same export twice is byte-identical")
	events := audittest.RequireOCSFSchema(t).RequireValidEvents(t, ocsf)
	require.Len(t, events, 59, "one event per finding")
	var mallory []string
	uids := map[string]bool{}
	for _, ev := range events {
		if ev["compliance"].(map[string]any)["status"] == "Fail" {
			mallory = append(mallory, ev["status"].(string))
			uids[ev["finding_info"].(map[string]any)["uid"].(string)] = true
		}
	}
	require.Equal(t, []string{"New", "In Progress", "In Progress", "In Progress"}, mallory,
		"okta.access failed on days 3, 10, 17 and 24: one finding, open since day 3")
	require.Len(t, uids, 1)

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

// A period without evidence exits 0 with a note on standard error, and
// writes a valid document that says there was none, in every format and
// to a file or standard output alike.
func TestExportEmptyPeriod(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	base := []string{"export", "--store", url, "--from", "2020-01-01", "--to", "2020-02-01"}
	const note = "export: no evidence: no snapshot started between 2020-01-01T00:00:00Z and 2020-02-01T00:00:00Z; wrote "
	for _, format := range []string{"oscal", "ocsf", "csv"} {
		t.Run(format, func(t *testing.T) {
			r := exhibit(t, dir, nil, append(base, "--format", format, "-o", "empty."+format)...)
			require.Equal(t, 0, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stderr, note)
			require.NotContains(t, r.stdout, "exported")
			b, err := os.ReadFile(filepath.Join(dir, "empty."+format))
			require.NoError(t, err)

			r = exhibit(t, dir, nil, append(base, "--format", format, "-o", "-")...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stderr, note)
			require.Equal(t, string(b), r.stdout, "standard output gets the same document")

			switch format {
			case "oscal":
				require.NoError(t, audittest.RequireOSCALSchema(t).Validate(b))
				var doc map[string]any
				require.NoError(t, json.Unmarshal(b, &doc))
				require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))
				res := doc["assessment-results"].(map[string]any)["results"].([]any)[0].(map[string]any)
				require.Contains(t, res["description"], "No evidence")
				require.NotContains(t, res, "findings")
				require.Contains(t, r.stderr, "an OSCAL document with no findings")
			case "ocsf":
				require.Empty(t, b, "no events")
				require.Contains(t, r.stderr, "no OCSF events (an empty file)")
			case "csv":
				rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
				require.NoError(t, err)
				require.Len(t, rows, 1, "the header alone")
				require.Equal(t, "snapshot_key", rows[0][0])
				require.Equal(t, "severity", rows[0][len(rows[0])-1])
				require.Contains(t, r.stderr, "a CSV with the header row only")
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
	events := audittest.RequireOCSFSchema(t).RequireValidEvents(t, b)
	require.Greater(t, len(events), 50)
	regions := 0
	for _, ev := range events {
		if r := ev["resources"].([]any)[0].(map[string]any)["region"]; r != nil {
			regions++
			require.Equal(t, r, ev["cloud"].(map[string]any)["region"])
		}
	}
	t.Logf("%d of %d events from single-region scopes", regions, len(events))

	// Real failures carry their checks' catalog severities, not one level.
	cat, err := controls.Default()
	require.NoError(t, err)
	ocsfID := map[string]float64{"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}
	failSeverities := map[float64]bool{}
	for _, ev := range events {
		if ev["compliance"].(map[string]any)["status"] != "Fail" {
			continue
		}
		check := ev["unmapped"].(map[string]any)["exhibit.check"].(string)
		ch, ok := cat.Check(check)
		require.True(t, ok, check)
		require.Equal(t, ocsfID[ch.Severity], ev["severity_id"], check)
		failSeverities[ev["severity_id"].(float64)] = true
	}
	require.Greater(t, len(failSeverities), 1, "the demo's failures span more than one severity")
}
