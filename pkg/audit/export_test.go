package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/audit/audittest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/controls"
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
	require.NoError(t, audit.Export(t.Context(), &a, format, audit.Slice(members), opts))
	require.NoError(t, audit.Export(t.Context(), &b, format, audit.Slice(members), opts))
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
		"test.check", "thing-111122223333", "fail", "hipaa:164.312(a)(1);soc2:CC6.1", "user \"bob\", no MFA;\nsee <policy>",
		"", "", "", "", "", "", "", ""}, fail, "no accepted risk; test.check is not in the catalog, so no severity")
}

// The CSV's severity column, last so the columns before it keep their
// places, is the check's catalog severity on every row.
func TestExportCSVSeverity(t *testing.T) {
	acct := evidence.Scope{Provider: "aws", Account: "111122223333"}
	members := []audit.Member{ocsfMember("aws.iam/111122223333", 1, 0, acct,
		ocsfFinding("aws.iam.root_mfa", "arn:aws:iam::111122223333:root", evidence.Fail),
		ocsfFinding("aws.s3.versioning", "arn:aws:s3:::logs", evidence.Fail),
		ocsfFinding("aws.s3.access_logging", "arn:aws:s3:::logs", evidence.Pass),
		ocsfFinding("aws.iam.nope", "x", evidence.Fail))}
	rows, err := csv.NewReader(bytes.NewReader(export(t, audit.FormatCSV, members))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, "severity", rows[0][len(rows[0])-1])
	require.Equal(t, []string{"snapshot_key", "snapshot_sha256", "series", "collected_at", "check", "resource", "status", "controls", "reason"}, rows[0][:9],
		"the first columns keep their places")
	cat, err := controls.Default()
	require.NoError(t, err)
	var got []string
	for _, r := range rows[1:] {
		require.Len(t, r, len(audit.CSVHeader))
		want := ""
		if ch, ok := cat.Check(r[4]); ok {
			want = ch.Severity
		}
		require.Equal(t, want, r[len(r)-1], r[4])
		got = append(got, r[len(r)-1])
	}
	require.Equal(t, []string{"critical", "low", "low", ""}, got)
}

// Every OCSF event is valid against OCSF's compiled 1.8.0 schema, and
// carries what a GRC tool keys on.
func TestExportOCSF(t *testing.T) {
	schema := audittest.RequireOCSFSchema(t)
	members := mixed(t)
	events := schema.RequireValidEvents(t, export(t, audit.FormatOCSF, members))
	require.Len(t, events, 3, "not-applicable findings have no OCSF compliance status")
	var compliance, statuses, eventUIDs []string
	for i, ev := range events {
		require.EqualValues(t, 2003, ev["class_uid"])
		require.EqualValues(t, 2, ev["category_uid"])
		require.EqualValues(t, 200301, ev["type_uid"])
		require.EqualValues(t, 1, ev["activity_id"])
		md := ev["metadata"].(map[string]any)
		require.Equal(t, "1.8.0", md["version"])
		require.Equal(t, "exhibit", md["product"].(map[string]any)["name"])
		require.Equal(t, []any{"cloud"}, md["profiles"], "the scope has an account")
		require.Equal(t, map[string]any{"provider": "test", "account": map[string]any{"uid": "111122223333"}}, ev["cloud"])
		comp := ev["compliance"].(map[string]any)
		require.Equal(t, []any{"hipaa:164.312(a)(1)", "soc2:CC6.1"}, comp["requirements"])
		require.Equal(t, "soc2:CC6.1", comp["control"], "the first criterion in catalog order")
		require.NotEmpty(t, comp["desc"], "the criterion's title")
		require.Equal(t, []any{map[string]any{"uid": "test.check", "name": "test.check"}}, comp["checks"])
		compliance = append(compliance, comp["status"].(string))
		statuses = append(statuses, ev["status"].(string))
		require.Equal(t, events[0]["finding_info"].(map[string]any)["uid"], ev["finding_info"].(map[string]any)["uid"],
			"the same check on the same resource is the same finding in every snapshot")
		eventUIDs = append(eventUIDs, md["uid"].(string))
		require.Equal(t, members[i].SHA256, ev["unmapped"].(map[string]any)["exhibit.snapshot_sha256"])
	}
	require.Equal(t, []string{"Pass", "Fail", "Warning"}, compliance)
	var severities []string
	for _, ev := range events {
		severities = append(severities, fmt.Sprintf("%v %v", ev["severity_id"], ev["severity"]))
	}
	require.Equal(t, []string{"1 Informational", "0 Unknown", "2 Low"}, severities,
		"pass: nothing to do; fail of a check the catalog does not know: unknown; error: look at the collector")
	require.Equal(t, []string{"Passing", "New", "Unknown"}, statuses)
	require.Len(t, slices.Compact(slices.Sorted(slices.Values(eventUIDs))), 3, "every event has its own metadata.uid")
}

// ocsfMember is a snapshot of one AWS account's IAM checks, as stored.
func ocsfMember(series string, seq int64, day int, scope evidence.Scope, findings ...evidence.Finding) audit.Member {
	return audit.Member{
		Key: fmt.Sprintf("snapshots/%s/%d.json", series, seq), SHA256: fmt.Sprintf("%064d", seq),
		Snapshot: &evidence.Snapshot{Series: series, Seq: seq, Scope: scope, StartedAt: t0.AddDate(0, 0, day),
			Status: evidence.StatusComplete, Findings: findings},
	}
}

func ocsfFinding(check, resource string, r evidence.Result) evidence.Finding {
	return evidence.Finding{Check: check, Resource: resource, Status: r, Reason: string(r),
		Controls: []string{"hipaa:164.312(a)(1)", "soc2:CC6.1"}}
}

// A finding keeps its finding_info.uid from snapshot to snapshot and across
// series, and its status follows it: New, In Progress while it keeps
// failing, Resolved once it passes, New again if it fails after that.
func TestExportOCSFFollowsAFindingOverThePeriod(t *testing.T) {
	schema := audittest.RequireOCSFSchema(t)
	acct := evidence.Scope{Provider: "aws", Account: "111122223333", Regions: []string{"us-east-1"}}
	root, user := "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/bob"
	const rootMFA, userMFA = "aws.iam.root_mfa", "aws.iam.console_user_mfa"
	members := []audit.Member{
		// Sorted by key, as LoadPeriod gives them: this series' one run is
		// the last in time, after the instance was renamed.
		ocsfMember("aws.iam-renamed/111122223333", 1, 4, acct, ocsfFinding(rootMFA, root, evidence.Fail)),
		ocsfMember("aws.iam/111122223333", 1, 0, acct, ocsfFinding(rootMFA, root, evidence.Fail), ocsfFinding(userMFA, user, evidence.Pass)),
		ocsfMember("aws.iam/111122223333", 2, 1, acct, ocsfFinding(rootMFA, root, evidence.Fail), ocsfFinding(userMFA, user, evidence.Fail)),
		ocsfMember("aws.iam/111122223333", 3, 2, acct, ocsfFinding(rootMFA, root, evidence.Pass), ocsfFinding(userMFA, user, evidence.Fail)),
		ocsfMember("aws.iam/111122223333", 4, 3, acct, ocsfFinding(rootMFA, root, evidence.Pass), ocsfFinding(userMFA, user, evidence.Error)),
	}
	events := schema.RequireValidEvents(t, export(t, audit.FormatOCSF, members))
	require.Len(t, events, 9)

	type seen struct {
		day              int
		status           string
		statusID         float64
		compliance       string
		uid, resourceUID string
	}
	byCheck := map[string][]seen{}
	for _, ev := range events {
		comp := ev["compliance"].(map[string]any)
		check := comp["checks"].([]any)[0].(map[string]any)
		day := int(time.UnixMilli(int64(ev["time"].(float64))).UTC().Sub(t0).Hours() / 24)
		res := ev["resources"].([]any)[0].(map[string]any)
		byCheck[check["uid"].(string)] = append(byCheck[check["uid"].(string)], seen{day, ev["status"].(string), ev["status_id"].(float64),
			comp["status"].(string), ev["finding_info"].(map[string]any)["uid"].(string), res["uid"].(string)})

		// The cloud profile, declared, with what it requires.
		require.Equal(t, []any{"cloud"}, ev["metadata"].(map[string]any)["profiles"])
		require.Equal(t, map[string]any{"provider": "AWS", "region": "us-east-1", "account": map[string]any{"uid": "111122223333"}}, ev["cloud"])
		require.Equal(t, "us-east-1", res["region"])
		cat, err := controls.Default()
		require.NoError(t, err)
		ch, ok := cat.Check(check["uid"].(string))
		require.True(t, ok)
		require.Equal(t, ch.Title, check["name"])
	}
	rootUID := byCheck[rootMFA][0].uid
	require.Equal(t, []seen{
		{0, "New", 1, "Fail", rootUID, root},
		{1, "In Progress", 2, "Fail", rootUID, root},
		{2, "Resolved", 4, "Pass", rootUID, root},
		{3, "Resolved", 4, "Pass", rootUID, root},
		{4, "New", 1, "Fail", rootUID, root}, // another series, the same finding: failing again
	}, byCheck[rootMFA])
	userUID := byCheck[userMFA][0].uid
	require.NotEqual(t, rootUID, userUID)
	require.Equal(t, []seen{
		{0, "Passing", 99, "Pass", userUID, user},
		{1, "New", 1, "Fail", userUID, user},
		{2, "In Progress", 2, "Fail", userUID, user},
		{3, "Unknown", 0, "Warning", userUID, user},
	}, byCheck[userMFA])

	// Another account's root is another finding.
	other := acct
	other.Account = "444455556666"
	ev := schema.RequireValidEvents(t, export(t, audit.FormatOCSF, []audit.Member{
		ocsfMember("aws.iam/444455556666", 1, 0, other, ocsfFinding(rootMFA, root, evidence.Fail)),
	}))[0]
	require.NotEqual(t, rootUID, ev["finding_info"].(map[string]any)["uid"])
}

// A failure's severity_id is its check's severity in the catalog, so two
// checks of different severity export different severities; a pass is
// Informational and an error Low, whatever the check.
func TestExportOCSFSeverityFromCatalog(t *testing.T) {
	schema := audittest.RequireOCSFSchema(t)
	cat, err := controls.Default()
	require.NoError(t, err)
	acct := evidence.Scope{Provider: "aws", Account: "111122223333", Regions: []string{"us-east-1"}}
	root, bucket := "arn:aws:iam::111122223333:root", "arn:aws:s3:::logs"
	var findings []evidence.Finding
	for _, ch := range []string{"aws.iam.root_mfa", "aws.s3.versioning", "aws.iam.console_user_mfa", "aws.iam.access_key_age", "aws.iam.access_list"} {
		findings = append(findings, ocsfFinding(ch, root, evidence.Fail))
	}
	findings = append(findings,
		ocsfFinding("aws.iam.root_access_keys", root, evidence.Pass),
		ocsfFinding("aws.s3.default_encryption", bucket, evidence.Error))
	events := schema.RequireValidEvents(t, export(t, audit.FormatOCSF, []audit.Member{ocsfMember("aws.iam/111122223333", 1, 0, acct, findings...)}))
	require.Len(t, events, len(findings))

	type sev struct {
		id      float64
		caption string
		catalog any
	}
	got := map[string]sev{}
	for _, ev := range events {
		um := ev["unmapped"].(map[string]any)
		got[um["exhibit.check"].(string)] = sev{ev["severity_id"].(float64), ev["severity"].(string), um["exhibit.check_severity"]}
	}
	want := map[string]sev{
		"aws.iam.root_mfa":          {5, "Critical", "critical"},
		"aws.iam.console_user_mfa":  {4, "High", "high"},
		"aws.iam.access_key_age":    {3, "Medium", "medium"},
		"aws.s3.versioning":         {2, "Low", "low"},
		"aws.iam.access_list":       {1, "Informational", "info"},
		"aws.iam.root_access_keys":  {1, "Informational", "critical"}, // passing
		"aws.s3.default_encryption": {2, "Low", "high"},               // not determined
	}
	require.Equal(t, want, got)
	for id, w := range want {
		ch, ok := cat.Check(id)
		require.True(t, ok)
		require.Equal(t, ch.Severity, w.catalog, "the catalog says %s", id)
	}
	require.NotEqual(t, got["aws.iam.root_mfa"].id, got["aws.s3.versioning"].id,
		"root without MFA is not the same severity as missing versioning")
}

// The cloud profile is declared exactly when the scope names an account or
// a region; a region only when the scope has exactly one.
func TestExportOCSFScopes(t *testing.T) {
	schema := audittest.RequireOCSFSchema(t)
	f := ocsfFinding("aws.s3.bucket_encryption", "arn:aws:s3:::logs", evidence.Fail)
	for _, tc := range []struct {
		name    string
		scope   evidence.Scope
		profile bool
		cloud   map[string]any
		region  any
	}{
		{"one region", evidence.Scope{Provider: "aws", Account: "111122223333", Regions: []string{"eu-west-1"}}, true,
			map[string]any{"provider": "AWS", "region": "eu-west-1", "account": map[string]any{"uid": "111122223333"}}, "eu-west-1"},
		{"two regions", evidence.Scope{Provider: "aws", Account: "111122223333", Regions: []string{"eu-west-1", "us-east-1"}}, true,
			map[string]any{"provider": "AWS", "account": map[string]any{"uid": "111122223333"}}, nil},
		{"an org", evidence.Scope{Provider: "github", Account: "acme"}, true,
			map[string]any{"provider": "GitHub", "account": map[string]any{"uid": "acme"}}, nil},
		{"a region, no account", evidence.Scope{Provider: "aws", Regions: []string{"eu-west-1"}}, true,
			map[string]any{"provider": "AWS", "region": "eu-west-1"}, "eu-west-1"},
		{"nothing", evidence.Scope{}, false, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := schema.RequireValidEvents(t, export(t, audit.FormatOCSF, []audit.Member{ocsfMember("s/x", 1, 0, tc.scope, f)}))[0]
			md := ev["metadata"].(map[string]any)
			if tc.profile {
				require.Equal(t, []any{"cloud"}, md["profiles"])
				require.Equal(t, tc.cloud, ev["cloud"])
			} else {
				require.NotContains(t, md, "profiles")
				require.NotContains(t, ev, "cloud")
			}
			require.Equal(t, tc.region, ev["resources"].([]any)[0].(map[string]any)["region"])
			if tc.region == nil {
				return
			}
			// Without the profile, the region is what OCSF rejects.
			delete(md, "profiles")
			delete(ev, "cloud")
			b, err := json.Marshal(ev)
			require.NoError(t, err)
			require.Equal(t, []string{"resources[0].region: unknown attribute: it belongs to profile cloud, which metadata.profiles does not declare"},
				schema.ValidateComplianceFinding(b))
		})
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

// noFindings returns the members of a store whose two daily runs completed
// without a single finding (an account with nothing to check).
func noFindings(t *testing.T) []audit.Member {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(req collector.Request) (*collector.Result, error) {
		res, err := agenttest.Passing(req)
		res.Findings = nil
		return res, err
	}}
	env.Fill(t, agenttest.Job("t", "@daily", c), 2, 24*time.Hour)
	members, err := audit.LoadPeriod(t.Context(), env.Store, audit.Period{From: t0, To: t0.AddDate(0, 0, 3)})
	require.NoError(t, err)
	require.Len(t, members, 2)
	return members
}

// A period without evidence is a valid document in every format, saying
// so, rather than an error: OSCAL a result with no findings and the
// evidence=none property, OCSF no events, CSV the header alone. The same
// holds for a period whose snapshots carry no finding.
func TestExportWithoutEvidence(t *testing.T) {
	oscalSchema := audittest.RequireOSCALSchema(t)
	for _, tc := range []struct {
		name    string
		members []audit.Member
		obs     int
		desc    string
	}{
		{"no snapshot", nil, 0, "No evidence: no snapshot written by exhibit was started in [2026-03-01T00:00:00Z, 2026-03-04T00:00:00Z)"},
		{"snapshots without findings", noFindings(t), 2, "No evidence for any control: 2 snapshot(s) written by exhibit were started in [2026-03-01T00:00:00Z, 2026-03-04T00:00:00Z), none with a finding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("oscal", func(t *testing.T) {
				out := export(t, audit.FormatOSCAL, tc.members)
				require.NoError(t, oscalSchema.Validate(out), "OSCAL 1.2.2 JSON schema")
				var doc map[string]any
				require.NoError(t, json.Unmarshal(out, &doc))
				require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))
				res := doc["assessment-results"].(map[string]any)["results"].([]any)[0].(map[string]any)
				require.Contains(t, res["description"], tc.desc)
				require.Equal(t, []any{map[string]any{"name": "evidence", "ns": "https://exhibit.dev/ns/oscal", "value": "none"}}, res["props"])
				require.NotContains(t, res, "findings", "no control reads as satisfied")
				sel := res["reviewed-controls"].(map[string]any)["control-selections"].([]any)
				require.Equal(t, map[string]any{}, sel[0].(map[string]any)["include-all"])
				require.NotContains(t, sel[0], "include-controls")
				obs, _ := res["observations"].([]any)
				require.Len(t, obs, tc.obs, "the snapshots there are stay observations")
				// The schema would refuse the selection the export used to lack.
				bad := strings.Replace(string(out), `"include-all": {}`, `"include-controls": []`, 1)
				require.NotEqual(t, string(out), bad)
				require.Error(t, oscalSchema.Validate([]byte(bad)))
			})
			t.Run("ocsf", func(t *testing.T) {
				require.Empty(t, export(t, audit.FormatOCSF, tc.members), "no findings, no events: an empty file")
			})
			t.Run("csv", func(t *testing.T) {
				out := export(t, audit.FormatCSV, tc.members)
				rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
				require.NoError(t, err)
				require.Equal(t, [][]string{audit.CSVHeader}, rows, "the header alone")
				require.True(t, bytes.HasSuffix(out, []byte("\r\n")))
			})
		})
	}
	// A period with evidence never carries the none marker.
	out := export(t, audit.FormatOSCAL, mixed(t))
	require.NotContains(t, string(out), `"value": "none"`)
	require.NotContains(t, string(out), "include-all")
}
