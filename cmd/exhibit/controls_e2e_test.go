package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/controls"
)

// controlsTable is `exhibit controls` read back: for each criterion its R/A
// cell, title and checks, for each (check, reference) its reason, and for
// each check its severity and the reason for it.
type controlsTable struct {
	flag, title map[string]string
	checks      map[string][]string
	reason      map[[2]string]string
	severity    map[string][2]string
}

var cells = regexp.MustCompile(`\s{2,}`)

func parseControlsTable(t *testing.T, out string) controlsTable {
	t.Helper()
	sections := strings.Split(strings.TrimSuffix(out, "\n"), "\n\n")
	require.Len(t, sections, 3, "blank lines separate the criteria, the checks and the severities:\n%s", out)
	criteria, checks, severities := sections[0], sections[1], sections[2]
	tab := controlsTable{flag: map[string]string{}, title: map[string]string{}, checks: map[string][]string{},
		reason: map[[2]string]string{}, severity: map[string][2]string{}}

	lines := strings.Split(criteria, "\n")
	require.Regexp(t, `^CRITERION\s+R/A\s+CHECKS\s+TITLE$`, lines[0])
	var cur string
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, " ") { // one more check of the criterion above
			require.NotEmpty(t, cur, "continuation row before any criterion: %q", line)
			tab.checks[cur] = append(tab.checks[cur], strings.TrimSpace(line))
			continue
		}
		c := cells.Split(line, 4)
		require.Len(t, c, 4, "criterion row %q", line)
		cur = c[0]
		tab.flag[cur], tab.title[cur] = c[1], c[3]
		if c[2] != "-" && c[2] != "(out of scope)" {
			tab.checks[cur] = append(tab.checks[cur], c[2])
		}
	}

	lines = strings.Split(checks, "\n")
	require.Regexp(t, `^CHECK\s+REFERENCE\s+REASON$`, lines[0])
	for _, line := range lines[1:] {
		c := cells.Split(line, 3)
		require.Len(t, c, 3, "check row %q", line)
		tab.reason[[2]string{c[0], c[1]}] = c[2]
	}

	lines = strings.Split(severities, "\n")
	require.Regexp(t, `^CHECK\s+SEVERITY\s+SEVERITY REASON$`, lines[0])
	for _, line := range lines[1:] {
		c := cells.Split(line, 3)
		require.Len(t, c, 3, "severity row %q", line)
		require.NotContains(t, tab.severity, c[0], "one severity row per check")
		tab.severity[c[0]] = [2]string{c[1], c[2]}
	}
	return tab
}

// The HIPAA administrative safeguards and the SOC 2 Availability criteria
// are listed with the flag 45 CFR 164.308 gives each, and each check mapped
// to them with the reason an auditor reads. The checks named here are a
// floor: collectors added later may map more.
func TestControlsListsAdministrativeSafeguards(t *testing.T) {
	want := []struct {
		ref, flag string
		checks    []string
	}{
		{"soc2:A1.2", "-", []string{"aws.dynamodb.pitr"}},
		{"soc2:A1.3", "-", nil},
		{"hipaa:164.308(a)(1)(ii)(D)", "R", []string{"aws.cloudtrail.cloudwatch", "aws.cloudtrail.delivery", "aws.cloudtrail.multi_region", "aws.s3.access_logging"}},
		{"hipaa:164.308(a)(3)(ii)(C)", "A", []string{"aws.iam.unused_credentials", "okta.user.deprovisioned_access", "okta.user.inactive"}},
		{"hipaa:164.308(a)(4)(ii)(B)", "A", []string{"aws.iam.access_list", "aws.iam.no_direct_admin", "okta.access_list"}},
		{"hipaa:164.308(a)(4)(ii)(C)", "A", []string{"aws.iam.access_list", "github.org.access_list", "okta.access_list"}},
		{"hipaa:164.308(a)(5)(ii)(C)", "A", []string{"aws.cloudtrail.cloudwatch", "aws.cloudtrail.multi_region"}},
		{"hipaa:164.308(a)(5)(ii)(D)", "A", []string{"aws.iam.password_policy"}},
		{"hipaa:164.308(a)(7)(ii)(A)", "R", []string{"aws.dynamodb.pitr"}},
		{"hipaa:164.308(a)(7)(ii)(B)", "R", []string{"aws.dynamodb.pitr"}},
		{"hipaa:164.308(a)(7)(ii)(D)", "A", nil},
	}
	requirement := map[string]string{"-": "", "R": "required", "A": "addressable"}

	r := exhibit(t, t.TempDir(), nil, "controls")
	require.Equal(t, 0, r.code, r.stderr)
	tab := parseControlsTable(t, r.stdout)

	r = exhibit(t, t.TempDir(), nil, "controls", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	type criterion struct {
		Ref         string   `json:"ref"`
		Requirement string   `json:"requirement"`
		InScope     bool     `json:"in_scope"`
		Checks      []string `json:"checks"`
	}
	var js struct {
		Criteria []criterion `json:"criteria"`
		Checks   []struct {
			ID       string `json:"id"`
			Mappings []struct {
				Ref    string `json:"ref"`
				Reason string `json:"reason"`
			} `json:"mappings"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &js))
	jsReason := map[[2]string]string{}
	for _, ch := range js.Checks {
		for _, m := range ch.Mappings {
			jsReason[[2]string{ch.ID, m.Ref}] = m.Reason
		}
	}

	for _, w := range want {
		t.Run(w.ref, func(t *testing.T) {
			require.Contains(t, tab.flag, w.ref, "not listed")
			require.Equal(t, w.flag, tab.flag[w.ref], "R/A flag")
			require.NotEmpty(t, tab.title[w.ref])
			got := tab.checks[w.ref]
			for _, ch := range w.checks {
				require.Contains(t, got, ch)
			}
			for _, ch := range got {
				reason := tab.reason[[2]string{ch, w.ref}]
				require.NotEmpty(t, reason, "%s is listed under %s with no reason", ch, w.ref)
				require.Equal(t, jsReason[[2]string{ch, w.ref}], reason, "table and JSON give the same reason")
			}

			i := slices.IndexFunc(js.Criteria, func(c criterion) bool { return c.Ref == w.ref })
			require.GreaterOrEqual(t, i, 0, "not in the JSON")
			require.Equal(t, requirement[w.flag], js.Criteria[i].Requirement)
			require.True(t, js.Criteria[i].InScope)
			require.Equal(t, got, nilIfEmpty(js.Criteria[i].Checks), "table and JSON list the same checks")
		})
	}
}

// Every check has a severity, the same in the table, the JSON and the
// catalog, and an auditor reads why.
func TestControlsShowsSeverity(t *testing.T) {
	cat, err := controls.Default()
	require.NoError(t, err)

	r := exhibit(t, t.TempDir(), nil, "controls")
	require.Equal(t, 0, r.code, r.stderr)
	tab := parseControlsTable(t, r.stdout)

	r = exhibit(t, t.TempDir(), nil, "controls", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var js struct {
		Checks []struct {
			ID             string `json:"id"`
			Severity       string `json:"severity"`
			SeverityReason string `json:"severity_reason"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &js))

	checks := cat.Checks()
	require.Len(t, tab.severity, len(checks))
	require.Len(t, js.Checks, len(checks))
	for i, ch := range checks {
		require.Contains(t, controls.Severities, ch.Severity, ch.ID)
		require.Equal(t, [2]string{ch.Severity, ch.SeverityReason}, tab.severity[ch.ID], "table, %s", ch.ID)
		require.Equal(t, ch.ID, js.Checks[i].ID)
		require.Equal(t, ch.Severity, js.Checks[i].Severity, "json, %s", ch.ID)
		require.Equal(t, ch.SeverityReason, js.Checks[i].SeverityReason, "json, %s", ch.ID)
	}
	require.Equal(t, "critical", tab.severity["aws.iam.root_mfa"][0])
	require.Equal(t, "low", tab.severity["aws.s3.versioning"][0])
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
