package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// dependabot reads the organization's Dependabot alerts in two listings of
// GET /orgs/{org}/dependabot/alerts, paged by cursor: every open alert,
// judged against its severity's SLA; and the alerts fixed or dismissed,
// newest update first, up to the first one last updated before the window
// (nothing older can have been closed in it), recorded as remediation.
func (v *vulnerabilities) dependabot(ctx context.Context, run *alertRun) {
	ctx = collector.WithOperation(ctx, "github", "dependabot.list_org_alerts")
	list := func(state, sort string, done func([]*gh.DependabotAlert) bool) ([]*gh.DependabotAlert, error) {
		return listAlerts(func(cur pageCursor) ([]*gh.DependabotAlert, *gh.Response, error) {
			// go-github v60's ListAlertsOptions carries everything this
			// listing takes: state (a comma-separated list), sort,
			// direction and the cursor.
			opts := &gh.ListAlertsOptions{State: gh.String(state), Sort: gh.String(sort), Direction: gh.String("desc"),
				ListCursorOptions: gh.ListCursorOptions{PerPage: alertPerPage, After: cur.after}}
			return v.clients.rest.Dependabot.ListOrgAlerts(ctx, run.org, opts)
		}, done)
	}

	open, err := list("open", "created", nil)
	if err != nil {
		run.listFailed(CheckDependabotSLA, "dependabot.list_org_alerts", "open Dependabot alerts",
			fmt.Errorf("list open Dependabot alerts of %s: %w", run.org, err), len(open))
	}
	judged := 0
	for _, a := range open {
		if !run.inScope(a.Repository) {
			continue
		}
		judged++
		rec := dependabotRecord(a)
		run.res.Records = append(run.res.Records, rec)
		run.res.Findings = append(run.res.Findings, run.sla.finding(CheckDependabotSLA, openAlert{
			kind: "Dependabot", resource: rec.ID, severity: dependabotSeverity(a), what: dependabotPackage(a), created: a.GetCreatedAt().Time,
		}, run.w.End, map[string]any{
			"repository": a.Repository.GetFullName(), "number": a.GetNumber(), "ecosystem": a.Dependency.GetPackage().GetEcosystem(),
			"package": a.Dependency.GetPackage().GetName(), "manifest_path": a.Dependency.GetManifestPath(),
			"advisory": a.SecurityAdvisory.GetGHSAID(), "html_url": a.GetHTMLURL(),
		}))
	}
	if err == nil && judged == 0 {
		run.res.Findings = append(run.res.Findings, noOpenAlerts(CheckDependabotSLA, run.org, "Dependabot alerts (in the repositories with Dependabot alerts on)"))
	}

	closed, err := list("fixed,dismissed", "updated", func(page []*gh.DependabotAlert) bool {
		return run.before(page[len(page)-1].UpdatedAt)
	})
	if err != nil {
		// Remediation records are evidence, not a verdict: the open
		// alerts' findings stand, the run is partial.
		run.partial.Add(run.org, "dependabot.list_org_alerts", fmt.Errorf("list fixed and dismissed Dependabot alerts of %s: %w", run.org, err))
	}
	for _, a := range closed {
		if run.inScope(a.Repository) && (run.closedInWindow(a.FixedAt) || run.closedInWindow(a.DismissedAt)) {
			run.res.Records = append(run.res.Records, dependabotRecord(a))
		}
	}
}

func dependabotSeverity(a *gh.DependabotAlert) string {
	if s := a.SecurityAdvisory.GetSeverity(); s != "" {
		return s
	}
	return a.SecurityVulnerability.GetSeverity()
}

func dependabotPackage(a *gh.DependabotAlert) string {
	p := a.Dependency.GetPackage()
	s := p.GetEcosystem() + " " + p.GetName()
	if id := a.SecurityAdvisory.GetGHSAID(); id != "" {
		s += ", " + id
	}
	return s
}

// dependabotRecord keeps what an auditor asks of an alert: what is
// vulnerable, since when, and how it was closed, by whom and why.
func dependabotRecord(a *gh.DependabotAlert) evidence.Record {
	attrs := map[string]any{
		"repository":        a.Repository.GetFullName(),
		"number":            a.GetNumber(),
		"state":             a.GetState(),
		"severity":          dependabotSeverity(a),
		"ecosystem":         a.Dependency.GetPackage().GetEcosystem(),
		"package":           a.Dependency.GetPackage().GetName(),
		"manifest_path":     a.Dependency.GetManifestPath(),
		"ghsa_id":           a.SecurityAdvisory.GetGHSAID(),
		"cve_id":            a.SecurityAdvisory.GetCVEID(),
		"summary":           a.SecurityAdvisory.GetSummary(),
		"vulnerable":        a.SecurityVulnerability.GetVulnerableVersionRange(),
		"first_patched":     a.SecurityVulnerability.GetFirstPatchedVersion().GetIdentifier(),
		"created_at":        timeOrNil(a.CreatedAt),
		"fixed_at":          timeOrNil(a.FixedAt),
		"dismissed_at":      timeOrNil(a.DismissedAt),
		"dismissed_by":      login(a.DismissedBy),
		"dismissed_reason":  strOrNil(a.DismissedReason),
		"dismissed_comment": strOrNil(a.DismissedComment),
		"html_url":          a.GetHTMLURL(),
	}
	if closed := firstTime(a.FixedAt, a.DismissedAt); closed != nil {
		attrs["days_open"] = daysBetween(a.GetCreatedAt().Time, closed.Time)
	}
	return evidence.Record{Type: "github.dependabot_alert", ID: alertResource(a.Repository, "dependabot", a.GetNumber()), Attributes: attrs}
}

func strOrNil(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func firstTime(ts ...*gh.Timestamp) *gh.Timestamp {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}
