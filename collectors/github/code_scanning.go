package github

import (
	"context"
	"fmt"
	"net/url"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// codeScanning reads the organization's code-scanning alerts (on each
// repository's default branch) from GET /orgs/{org}/code-scanning/alerts:
// every open alert, judged by its rule's security severity; and the closed
// ones (fixed or dismissed), newest update first, up to the first one last
// updated before the window. Alerts of rules without a security severity
// (maintainability, style) are recorded, not judged.
func (v *vulnerabilities) codeScanning(ctx context.Context, run *alertRun) {
	ctx = collector.WithOperation(ctx, "github", "code_scanning.list_alerts_for_org")
	path := "orgs/" + url.PathEscape(run.org) + "/code-scanning/alerts"
	list := func(state, sort string, done func([]*gh.Alert) bool) ([]*gh.Alert, error) {
		q := url.Values{"state": {state}, "sort": {sort}, "direction": {"desc"}}
		return listAlerts(func(cur pageCursor) ([]*gh.Alert, *gh.Response, error) {
			return getOrgList[*gh.Alert](ctx, v.clients, path, q, cur)
		}, done)
	}

	open, err := list("open", "created", nil)
	if err != nil {
		run.listFailed(CheckCodeScanningSLA, "code_scanning.list_alerts_for_org", "open code-scanning alerts",
			fmt.Errorf("list open code-scanning alerts of %s: %w", run.org, err), len(open))
	}
	judged := 0
	for _, a := range open {
		if !run.inScope(a.Repository) {
			continue
		}
		judged++
		rec := codeScanningRecord(a)
		run.res.Records = append(run.res.Records, rec)
		observed := map[string]any{
			"repository": a.Repository.GetFullName(), "number": a.GetNumber(), "rule": a.Rule.GetID(),
			"rule_severity": a.Rule.GetSeverity(), "tool": a.Tool.GetName(), "location": codeLocation(a), "html_url": a.GetHTMLURL(),
		}
		oa := openAlert{kind: "code-scanning", resource: rec.ID, severity: a.Rule.GetSecuritySeverityLevel(), what: "rule " + a.Rule.GetID(), created: a.GetCreatedAt().Time}
		if oa.severity == "" {
			run.res.Findings = append(run.res.Findings, evidence.Finding{Check: CheckCodeScanningSLA, Resource: rec.ID, Status: evidence.NotApplicable,
				Reason:   fmt.Sprintf("code-scanning alert %s (rule %s, severity %s) is not a security alert: recorded, not judged against an SLA", rec.ID, a.Rule.GetID(), a.Rule.GetSeverity()),
				Observed: observed})
			continue
		}
		run.res.Findings = append(run.res.Findings, run.sla.finding(CheckCodeScanningSLA, oa, run.w.End, observed))
	}
	if err == nil && judged == 0 {
		run.res.Findings = append(run.res.Findings, noOpenAlerts(CheckCodeScanningSLA, run.org, "code-scanning alerts"))
	}

	closed, err := list("closed", "updated", func(page []*gh.Alert) bool {
		return run.before(page[len(page)-1].UpdatedAt)
	})
	if err != nil {
		run.partial.Add(run.org, "code_scanning.list_alerts_for_org", fmt.Errorf("list closed code-scanning alerts of %s: %w", run.org, err))
	}
	for _, a := range closed {
		if run.inScope(a.Repository) && (run.closedInWindow(a.FixedAt) || run.closedInWindow(a.DismissedAt)) {
			run.res.Records = append(run.res.Records, codeScanningRecord(a))
		}
	}
}

func codeLocation(a *gh.Alert) string {
	l := a.MostRecentInstance.GetLocation()
	if l.GetPath() == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", l.GetPath(), l.GetStartLine())
}

func codeScanningRecord(a *gh.Alert) evidence.Record {
	attrs := map[string]any{
		"repository":              a.Repository.GetFullName(),
		"number":                  a.GetNumber(),
		"state":                   a.GetState(),
		"rule":                    a.Rule.GetID(),
		"rule_severity":           a.Rule.GetSeverity(),
		"security_severity_level": strOrNil(a.Rule.SecuritySeverityLevel),
		"description":             a.Rule.GetDescription(),
		"tool":                    a.Tool.GetName(),
		"ref":                     a.MostRecentInstance.GetRef(),
		"commit_sha":              a.MostRecentInstance.GetCommitSHA(),
		"location":                codeLocation(a),
		"created_at":              timeOrNil(a.CreatedAt),
		"fixed_at":                timeOrNil(a.FixedAt),
		"dismissed_at":            timeOrNil(a.DismissedAt),
		"dismissed_by":            login(a.DismissedBy),
		"dismissed_reason":        strOrNil(a.DismissedReason),
		"dismissed_comment":       strOrNil(a.DismissedComment),
		"html_url":                a.GetHTMLURL(),
	}
	if closed := firstTime(a.FixedAt, a.DismissedAt); closed != nil {
		attrs["days_open"] = daysBetween(a.GetCreatedAt().Time, closed.Time)
	}
	return evidence.Record{Type: "github.code_scanning_alert", ID: alertResource(a.Repository, "code-scanning", a.GetNumber()), Attributes: attrs}
}
