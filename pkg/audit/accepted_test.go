package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/audit/audittest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/exceptions"
)

// acceptedRiskFile accepts test.check's failure on thing-111122223333
// through 2026-03-02 (the second of four daily runs from t0).
const acceptedRiskFile = `accepted_risks:
  - id: AR-7
    check: test.check
    resource: "thing-*"
    owner: platform-team
    reason: "replaced in April; <b>no</b> new data"
    until: 2026-03-02
    approver: ciso
    approved: 2026-02-20
`

// accepted is a store of four daily runs of one failing and one passing
// finding, the failure accepted on the first two days and lapsed after.
func accepted(t *testing.T) []audit.Member {
	set, err := exceptions.Parse("risks.yaml", []byte(acceptedRiskFile), []string{"test.check"})
	require.NoError(t, err)
	env := agenttest.NewEnvWith(t, t0, func(o *agent.Options) {
		o.AcceptedRisks = func() (*exceptions.Set, error) { return set, nil }
	})
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(req collector.Request) (*collector.Result, error) {
		res, err := agenttest.Passing(req)
		res.Findings[0].Status, res.Findings[0].Reason = evidence.Fail, "not encrypted"
		res.Findings = append(res.Findings, evidence.Finding{Check: "test.check", Resource: "thing-ok", Status: evidence.Pass, Reason: "fine"})
		return res, err
	}}
	env.Fill(t, agenttest.Job("t", "@daily", c), 4, 24*time.Hour)
	members, err := audit.LoadPeriod(t.Context(), env.Store, audit.Period{From: t0, To: t0.AddDate(0, 0, 4)})
	require.NoError(t, err)
	require.Len(t, members, 4)
	return members
}

func exportPeriod(t *testing.T, format string, members []audit.Member) []byte {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, audit.Export(t.Context(), &out, format, audit.Slice(members), audit.ExportOptions{Period: audit.Period{From: t0, To: t0.AddDate(0, 0, 4)}, Version: "test"}))
	return out.Bytes()
}

// An accepted risk shows on its finding in the evidence, the report, the
// CSV, OCSF and OSCAL exports; it stops applying after its until day, and
// the lapse shows too. The finding counts as failing throughout.
func TestAcceptedRiskShowsEverywhere(t *testing.T) {
	members := accepted(t)
	want := &evidence.Acceptance{ID: "AR-7", Owner: "platform-team", Reason: "replaced in April; <b>no</b> new data",
		Until: "2026-03-02", Approver: "ciso", Approved: "2026-02-20"}
	lapsed := &evidence.ExpiredAcceptance{ID: "AR-7", Owner: "platform-team", Until: "2026-03-02"}

	t.Run("evidence", func(t *testing.T) {
		for i, m := range members {
			fail, pass := m.Snapshot.Findings[0], m.Snapshot.Findings[1]
			require.Equal(t, evidence.Fail, fail.Status)
			require.Nil(t, pass.Accepted, "a pass never carries an acceptance")
			require.Nil(t, pass.AcceptanceExpired)
			if i < 2 {
				require.Equal(t, want, fail.Accepted)
				require.Nil(t, fail.AcceptanceExpired)
			} else {
				require.Nil(t, fail.Accepted, "expired after 2026-03-02")
				require.Equal(t, lapsed, fail.AcceptanceExpired)
			}
		}
	})

	t.Run("csv", func(t *testing.T) {
		rows, err := csv.NewReader(bytes.NewReader(exportPeriod(t, audit.FormatCSV, members))).ReadAll()
		require.NoError(t, err)
		require.Equal(t, audit.CSVHeader, rows[0])
		require.Len(t, rows, 1+8)
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		var fails [][]string
		for _, r := range rows[1:] {
			if r[col["status"]] == "pass" {
				require.Empty(t, r[col["accepted_id"]]+r[col["acceptance_expired"]], "a pass never carries an acceptance")
				continue
			}
			require.Equal(t, "fail", r[col["status"]])
			fails = append(fails, r)
		}
		require.Len(t, fails, 4)
		for _, r := range fails[:2] {
			require.Equal(t, []string{"AR-7", "platform-team", "2026-03-02", "replaced in April; <b>no</b> new data", "ciso", "2026-02-20", ""},
				r[col["accepted_id"]:col["acceptance_expired"]+1])
		}
		for _, r := range fails[2:] {
			require.Equal(t, []string{"", "", "", "", "", "", "AR-7 (owner platform-team, until 2026-03-02)"}, r[col["accepted_id"]:col["acceptance_expired"]+1])
		}
	})

	t.Run("ocsf", func(t *testing.T) {
		events := audittest.RequireOCSFSchema(t).RequireValidEvents(t, exportPeriod(t, audit.FormatOCSF, members))
		require.Len(t, events, 8)
		var statuses []string
		for _, ev := range events {
			comp := ev["compliance"].(map[string]any)
			um := ev["unmapped"].(map[string]any)
			if comp["status"] == "Pass" {
				require.Nil(t, um["exhibit.accepted_id"])
				require.NotEqual(t, "Suppressed", ev["status"])
				continue
			}
			require.Equal(t, "Fail", comp["status"], "an accepted risk is still a failing control")
			require.EqualValues(t, 3, comp["status_id"])
			statuses = append(statuses, ev["status"].(string))
			if ev["status"] == "Suppressed" {
				require.EqualValues(t, 3, ev["status_id"])
				require.Equal(t, "accepted by platform-team until 2026-03-02: replaced in April; <b>no</b> new data (accepted risk AR-7, approved by ciso on 2026-02-20)", ev["status_detail"])
				require.Equal(t, "AR-7", um["exhibit.accepted_id"])
				require.Equal(t, "platform-team", um["exhibit.accepted_owner"])
				require.Equal(t, "2026-03-02", um["exhibit.accepted_until"])
				require.Equal(t, "ciso", um["exhibit.accepted_approver"])
			} else {
				require.Equal(t, "AR-7", um["exhibit.acceptance_expired_id"])
				require.Contains(t, ev["status_detail"], "has expired: the finding is no longer accepted")
			}
		}
		require.Equal(t, []string{"Suppressed", "Suppressed", "In Progress", "In Progress"}, statuses,
			"suppressed while accepted, open again once the acceptance lapsed")
	})

	t.Run("oscal", func(t *testing.T) {
		out := exportPeriod(t, audit.FormatOSCAL, members)
		require.NoError(t, audittest.RequireOSCALSchema(t).Validate(out))
		var doc map[string]any
		require.NoError(t, json.Unmarshal(out, &doc))
		require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))
		res := doc["assessment-results"].(map[string]any)["results"].([]any)[0].(map[string]any)
		risks := res["risks"].([]any)
		require.Len(t, risks, 1)
		risk := risks[0].(map[string]any)
		require.Equal(t, "open", risk["status"], "the acceptance lapsed within the period")
		require.Equal(t, "replaced in April; <b>no</b> new data", risk["statement"])
		require.Equal(t, "2026-03-02T23:59:59Z", risk["deadline"])
		log := risk["risk-log"].(map[string]any)["entries"].([]any)
		require.Len(t, log, 2)
		require.Equal(t, "deviation-approved", log[0].(map[string]any)["status-change"])
		require.Equal(t, "2026-02-20T00:00:00Z", log[0].(map[string]any)["start"])
		require.Equal(t, "open", log[1].(map[string]any)["status-change"])
		require.Equal(t, "2026-03-03T00:00:00Z", log[1].(map[string]any)["start"])
		require.Len(t, risk["related-observations"], 4)
		for _, f := range res["findings"].([]any) {
			fm := f.(map[string]any)
			require.Equal(t, "not-satisfied", fm["target"].(map[string]any)["status"].(map[string]any)["state"], "never hides a finding")
			require.Equal(t, []any{map[string]any{"risk-uuid": risk["uuid"]}}, fm["related-risks"])
			require.Contains(t, fm["description"], "2 of the failures carried an accepted risk")
		}

		// The checker catches what it claims to about risks.
		for _, tc := range []struct {
			mutate func(res map[string]any)
			want   string
		}{
			{func(res map[string]any) { res["risks"].([]any)[0].(map[string]any)["status"] = "waived" }, "waived is not a risk status"},
			{func(res map[string]any) { delete(res["risks"].([]any)[0].(map[string]any), "statement") }, "statement: required, missing"},
			{func(res map[string]any) { res["risks"].([]any)[0].(map[string]any)["uuid"] = audit.UUID("other") }, "names no risk of this result"},
		} {
			require.NoError(t, json.Unmarshal(out, &doc))
			tc.mutate(doc["assessment-results"].(map[string]any)["results"].([]any)[0].(map[string]any))
			require.Contains(t, strings.Join(audittest.CheckOSCALAssessmentResults(doc), "\n"), tc.want)
		}

		// Within the acceptance, the risk is a deviation approved.
		out = exportPeriod(t, audit.FormatOSCAL, members[:2])
		require.NoError(t, audittest.RequireOSCALSchema(t).Validate(out))
		require.NoError(t, json.Unmarshal(out, &doc))
		require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))
		risk = doc["assessment-results"].(map[string]any)["results"].([]any)[0].(map[string]any)["risks"].([]any)[0].(map[string]any)
		require.Equal(t, "deviation-approved", risk["status"])
		rem := risk["remediations"].([]any)[0].(map[string]any)
		require.Equal(t, "Risk accepted by platform-team", rem["title"])
		require.Len(t, risk["risk-log"].(map[string]any)["entries"], 1)
	})

	t.Run("report", func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, audit.WriteReport(t.Context(), &out, audit.Slice(members), audit.ReportOptions{Period: audit.Period{From: t0, To: t0.AddDate(0, 0, 4)}}))
		html := out.String()
		require.Contains(t, html, "acceptance expired: accepted risk AR-7 (owner platform-team) ended 2026-03-02; no longer accepted",
			"the latest sighting is past the acceptance")
		require.Contains(t, html, "2 of 4 sighting(s) carried an accepted risk")
		require.Contains(t, html, "2 failure(s) with an accepted risk")
		require.Equal(t, 8, strings.Count(html, `<span class="c fail" data-date="2026-03-0`), "all four days of both controls stay failing")

		out.Reset()
		require.NoError(t, audit.WriteReport(t.Context(), &out, audit.Slice(members[:2]), audit.ReportOptions{Period: audit.Period{From: t0, To: t0.AddDate(0, 0, 2)}}))
		html = out.String()
		require.Contains(t, html, "accepted by platform-team until 2026-03-02: replaced in April; &lt;b&gt;no&lt;/b&gt; new data (accepted risk AR-7, approved by ciso on 2026-02-20); still failing")
		require.NotContains(t, html, "<b>no</b>", "escaped")
		require.Contains(t, html, `<span class="c fail" data-date="2026-03-01" title="2026-03-01 (Sun): a check failed"`)
	})
}
