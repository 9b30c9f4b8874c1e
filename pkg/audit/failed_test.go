package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
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

// failing returns the members of a store whose first daily run passed and
// whose two later runs failed as a whole (the credentials were revoked).
func failing(t *testing.T) []audit.Member {
	members, err := audit.LoadPeriod(t.Context(), failingStore(t).Store, audit.Period{From: t0, To: t0.AddDate(0, 0, 3)})
	require.NoError(t, err)
	require.Len(t, members, 3)
	require.Equal(t, evidence.StatusFailed, members[2].Snapshot.Status)
	return members
}

func failingStore(t *testing.T) *agenttest.Env {
	env := agenttest.NewEnv(t, t0)
	n := 0
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(req collector.Request) (*collector.Result, error) {
		n++
		if n > 1 {
			return nil, errors.New("ExpiredToken: the security token included in the request is expired")
		}
		return agenttest.Passing(req)
	}}
	env.Fill(t, agenttest.Job("t", "@daily", c), 3, 24*time.Hour)
	return env
}

// A failed collection is a failure in every output: never a quiet absence
// of findings that leaves the last passing day standing.
func TestFailedCollectionsCountEverywhere(t *testing.T) {
	members := failing(t)

	t.Run("csv", func(t *testing.T) {
		rows, err := csv.NewReader(bytes.NewReader(export(t, audit.FormatCSV, members))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 1+3, "the passing run's finding and one row per failed run")
		for _, row := range rows[2:] {
			require.Equal(t, []string{"test.check", "test:111122223333", "error", "hipaa:164.312(a)(1);soc2:CC6.1"}, row[4:8])
			require.Contains(t, row[8], "the collection failed: ExpiredToken")
		}
	})

	t.Run("ocsf", func(t *testing.T) {
		var compliance, statuses []string
		for _, ev := range audittest.RequireOCSFSchema(t).RequireValidEvents(t, export(t, audit.FormatOCSF, members)) {
			compliance = append(compliance, ev["compliance"].(map[string]any)["status"].(string))
			statuses = append(statuses, ev["status"].(string))
		}
		require.Equal(t, []string{"Pass", "Warning", "Warning"}, compliance)
		require.Equal(t, []string{"Passing", "Unknown", "Unknown"}, statuses, "a failed run determines nothing")
	})

	t.Run("oscal", func(t *testing.T) {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(export(t, audit.FormatOSCAL, members), &doc))
		require.Empty(t, audittest.CheckOSCALAssessmentResults(doc))
		findings := doc["assessment-results"].(map[string]any)["results"].([]any)[0].(map[string]any)["findings"].([]any)
		require.Len(t, findings, 2)
		for _, f := range findings {
			status := f.(map[string]any)["target"].(map[string]any)["status"].(map[string]any)
			require.Equal(t, "not-satisfied", status["state"], "later runs failed: the control is not shown as satisfied")
		}
	})

	t.Run("report", func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, audit.WriteReport(t.Context(), &out, audit.Slice(members), audit.ReportOptions{Period: audit.Period{From: t0, To: t0.AddDate(0, 0, 3)}}))
		html := out.String()
		for _, ref := range []string{"soc2:CC6.1", "hipaa:164.312(a)(1)"} {
			section := controlSection(t, html, ref)
			require.Equal(t, []string{"pass", "failed", "failed"}, dayStatuses(section), "%s: the later runs failed, so the control is not green", ref)
			require.Contains(t, section, `<span class="badge v-incomplete">`, ref)
			require.Contains(t, section, "2 failed collection(s)", ref)
			require.Contains(t, section, "ExpiredToken", "%s: the failed collection is listed with what failed", ref)
			require.Equal(t, 2, strings.Count(section, `<td class="st-failed">failed</td>`), ref)
		}
		require.Contains(t, html, "2 failed collection(s)")
		require.Contains(t, html, "not determined: the collection failed: ExpiredToken")
	})
}

// A control's sample population holds the runs that were to evidence it and
// failed: drawing from the passing runs alone would hide the failure.
func TestSamplePopulationIncludesFailedRuns(t *testing.T) {
	env := failingStore(t)
	s, err := audit.DrawSample(t.Context(), env.Store, audit.SampleOptions{
		Control: "soc2:CC6.1", Period: audit.Period{From: t0, To: t0.AddDate(0, 0, 3)}, Seed: "s",
	})
	require.NoError(t, err)
	var statuses []evidence.Status
	for _, m := range s.Population {
		statuses = append(statuses, m.Snapshot.Status)
	}
	require.Equal(t, []evidence.Status{evidence.StatusComplete, evidence.StatusFailed, evidence.StatusFailed}, statuses)

	// A period in which every run failed still has its population.
	s, err = audit.DrawSample(t.Context(), env.Store, audit.SampleOptions{
		Control: "soc2:CC6.1", Period: audit.Period{From: t0.AddDate(0, 0, 1), To: t0.AddDate(0, 0, 3)}, Seed: "s",
	})
	require.NoError(t, err)
	require.Len(t, s.Population, 2)
	require.Len(t, s.Selected, 2)
	for _, m := range s.Population {
		require.Equal(t, evidence.StatusFailed, m.Snapshot.Status)
	}
}
