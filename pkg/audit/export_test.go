package audit_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/audit/audittest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// mixed returns a store whose three daily runs give, in turn, a pass, a
// fail (with a reason that needs quoting) and an error, plus a
// not-applicable finding each time; and the period's members.
func mixed(t *testing.T) []audit.Member {
	env := agenttest.NewEnv(t, t0)
	n := 0
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(req collector.Request) (*collector.Result, error) {
		res, err := agenttest.Passing(req)
		switch n % 3 {
		case 1:
			res.Findings[0].Status, res.Findings[0].Reason = evidence.Fail, "user \"bob\", no MFA;\nsee <policy>"
		case 2:
			res.Findings[0].Status, res.Findings[0].Reason = evidence.Error, "AccessDenied"
		}
		res.Findings = append(res.Findings, evidence.Finding{Check: "test.check", Resource: "other", Status: evidence.NotApplicable, Reason: "no such thing"})
		n++
		return res, err
	}}
	env.Fill(t, agenttest.Job("t", "@daily", c), 3, 24*time.Hour)
	members, err := audit.LoadPeriod(t.Context(), env.Store, audit.Period{From: t0, To: t0.AddDate(0, 0, 3)})
	require.NoError(t, err)
	require.Len(t, members, 3)
	return members
}

func export(t *testing.T, format string, members []audit.Member) []byte {
	t.Helper()
	var a, b bytes.Buffer
	opts := audit.ExportOptions{Period: audit.Period{From: t0, To: t0.AddDate(0, 0, 3)}, Version: "test"}
	require.NoError(t, audit.Export(&a, format, members, opts))
	require.NoError(t, audit.Export(&b, format, members, opts))
	require.Equal(t, a.String(), b.String(), "an export is deterministic")
	return a.Bytes()
}

func TestExportCSV(t *testing.T) {
	members := mixed(t)
	out := export(t, audit.FormatCSV, members)
	require.True(t, bytes.HasSuffix(out, []byte("\r\n")), "RFC 4180 CRLF line breaks")
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, audit.CSVHeader, rows[0])
	require.Len(t, rows, 1+6, "one row per finding")
	fail := rows[3]
	require.Equal(t, []string{members[1].Key, members[1].SHA256, "t/111122223333", "2026-03-02T00:00:00Z",
		"test.check", "thing-111122223333", "fail", "hipaa:164.312(a)(1);soc2:CC6.1", "user \"bob\", no MFA;\nsee <policy>"}, fail)
}

func TestExportOCSFHasEveryRequiredField(t *testing.T) {
	out := export(t, audit.FormatOCSF, mixed(t))
	var statuses []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	lines := 0
	for sc.Scan() {
		lines++
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "line %d", lines)
		problems := audittest.CheckOCSFComplianceFinding(ev)
		require.Empty(t, problems, "line %d: %s", lines, sc.Text())
		// The fields the issue names, explicitly.
		require.EqualValues(t, 2003, ev["class_uid"])
		require.EqualValues(t, 2, ev["category_uid"])
		require.EqualValues(t, 200301, ev["type_uid"])
		require.EqualValues(t, 1, ev["activity_id"])
		md := ev["metadata"].(map[string]any)
		require.Equal(t, "1.8.0", md["version"])
		require.Equal(t, "exhibit", md["product"].(map[string]any)["name"])
		comp := ev["compliance"].(map[string]any)
		require.Equal(t, []any{"hipaa:164.312(a)(1)", "soc2:CC6.1"}, comp["requirements"])
		statuses = append(statuses, comp["status"].(string))
		require.NotEmpty(t, ev["unmapped"].(map[string]any)["exhibit.snapshot_sha256"])
	}
	require.NoError(t, sc.Err())
	require.Equal(t, []string{"Pass", "Fail", "Warning"}, statuses, "not-applicable findings have no OCSF compliance status")

	// The checker is not a rubber stamp.
	var ev map[string]any
	first, _, _ := bytes.Cut(out, []byte("\n"))
	for _, tc := range []struct {
		mutate func(map[string]any)
		want   string
	}{
		{func(e map[string]any) { delete(e["metadata"].(map[string]any), "version") }, "metadata.version: required, missing"},
		{func(e map[string]any) { delete(e, "finding_info") }, "finding_info: required, missing"},
		{func(e map[string]any) { e["compliance"].(map[string]any)["result"] = "x" }, "compliance.result: not an attribute"},
		{func(e map[string]any) { e["activity_id"] = 7.0 }, "activity_id: 7 is not one of"},
		{func(e map[string]any) { e["type_uid"] = 200300.0 }, "type_uid is 200300"},
		{func(e map[string]any) { e["resources"] = []any{map[string]any{"region": "x"}} }, "needs at least one of name, uid"},
	} {
		require.NoError(t, json.Unmarshal(first, &ev))
		tc.mutate(ev)
		problems := audittest.CheckOCSFComplianceFinding(ev)
		require.Contains(t, strings.Join(problems, "\n"), tc.want)
	}
}

func TestExportOSCAL(t *testing.T) {
	members := mixed(t)
	out := export(t, audit.FormatOSCAL, members)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out, &doc))
	require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))

	ar := doc["assessment-results"].(map[string]any)
	require.Equal(t, "1.2.2", ar["metadata"].(map[string]any)["oscal-version"])
	res := ar["results"].([]any)[0].(map[string]any)
	obs := res["observations"].([]any)
	require.Len(t, obs, 3, "one observation per snapshot")
	ev := obs[0].(map[string]any)["relevant-evidence"].([]any)[0].(map[string]any)
	require.Equal(t, members[0].Key, ev["href"])
	require.Equal(t, members[0].SHA256, ev["props"].([]any)[0].(map[string]any)["value"])
	findings := res["findings"].([]any)
	require.Len(t, findings, 2, "one finding per control")
	for _, f := range findings {
		target := f.(map[string]any)["target"].(map[string]any)
		require.Equal(t, "objective-id", target["type"])
		require.Equal(t, "not-satisfied", target["status"].(map[string]any)["state"], "a failing day fails the period")
		require.Len(t, f.(map[string]any)["related-observations"], 3)
	}
	require.Equal(t, "soc2_cc6.1", findings[0].(map[string]any)["target"].(map[string]any)["target-id"])
	require.Equal(t, "hipaa_164.312_a_1", findings[1].(map[string]any)["target"].(map[string]any)["target-id"])

	// Only passing days: satisfied.
	out = export(t, audit.FormatOSCAL, members[:1])
	require.NoError(t, json.Unmarshal(out, &doc))
	require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))
	f0 := doc["assessment-results"].(map[string]any)["results"].([]any)[0].(map[string]any)["findings"].([]any)[0].(map[string]any)
	require.Equal(t, "satisfied", f0["target"].(map[string]any)["status"].(map[string]any)["state"])

	// The checker catches what it claims to.
	for _, tc := range []struct {
		mutate func(ar map[string]any)
		want   string
	}{
		{func(ar map[string]any) { delete(ar["metadata"].(map[string]any), "last-modified") }, "metadata.last-modified: required, missing"},
		{func(ar map[string]any) {
			ar["results"].([]any)[0].(map[string]any)["observations"].([]any)[0].(map[string]any)["methods"] = []any{"AUTOMATED"}
		}, "AUTOMATED is not EXAMINE, INTERVIEW, TEST or UNKNOWN"},
		{func(ar map[string]any) { ar["results"].([]any)[0].(map[string]any)["uuid"] = "not-a-uuid" }, "want a version 4 or 5 UUID"},
		{func(ar map[string]any) { delete(ar["results"].([]any)[0].(map[string]any), "reviewed-controls") }, "reviewed-controls: required, missing"},
		{func(ar map[string]any) { ar["import-ap"].(map[string]any)["href"] = "#0" }, "names no back-matter resource"},
		{func(ar map[string]any) { ar["results"].([]any)[0].(map[string]any)["observation"] = []any{} }, "observation: not allowed here"},
		{func(ar map[string]any) {
			ar["results"].([]any)[0].(map[string]any)["findings"].([]any)[0].(map[string]any)["target"].(map[string]any)["target-id"] = "soc2:CC6.1"
		}, `want a token, got "soc2:CC6.1"`},
	} {
		require.NoError(t, json.Unmarshal(out, &doc))
		tc.mutate(doc["assessment-results"].(map[string]any))
		require.Contains(t, strings.Join(audittest.CheckOSCALAssessmentResults(doc), "\n"), tc.want)
	}
}

// Validation against NIST's own OSCAL 1.2.2 JSON schema, which is not part of
// this repository: the test skips, saying so, where the file is absent.
func TestExportOSCALAgainstNISTSchema(t *testing.T) {
	schema := audittest.RequireOSCALSchema(t)
	members := mixed(t)
	for _, m := range [][]audit.Member{members, members[:1]} {
		require.NoError(t, schema.Validate(export(t, audit.FormatOSCAL, m)), "OSCAL 1.2.2 JSON schema")
	}
	out := export(t, audit.FormatOSCAL, members[:1])
	// The schema rejects what it should.
	for _, bad := range []string{
		`{"assessment-results":{"uuid":"x"}}`,
		strings.Replace(string(out), `"oscal-version"`, `"oscal_version"`, 1),
		strings.Replace(string(out), `"state": "satisfied"`, `"state": "fine"`, 1),
	} {
		require.Error(t, schema.Validate([]byte(bad)))
	}
}

func TestOSCALIdentifiers(t *testing.T) {
	for ref, want := range map[string]string{
		"soc2:CC6.1":              "soc2_cc6.1",
		"hipaa:164.312(a)(2)(iv)": "hipaa_164.312_a_2_iv",
		"hipaa:164.312(b)":        "hipaa_164.312_b",
		"custom:ACME-AC-01":       "custom_acme-ac-01",
	} {
		require.Equal(t, want, audit.OSCALControlID(ref))
	}
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, audit.UUID("x"))
	require.Equal(t, audit.UUID("x"), audit.UUID("x"))
	require.NotEqual(t, audit.UUID("x"), audit.UUID("y"))
}
