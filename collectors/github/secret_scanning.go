package github

import (
	"context"
	"fmt"
	"net/url"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// secretScanning reads the organization's secret-scanning alerts from GET
// /orgs/{org}/secret-scanning/alerts, paged by cursor: every open alert
// fails (a leaked credential has no grace period); alerts resolved in the
// window are recorded with their resolution.
//
// GitHub returns the secret itself in each alert. It is never read here:
// records and findings are built field by field from everything else, so
// the value cannot reach evidence, logs or errors.
func (v *vulnerabilities) secretScanning(ctx context.Context, run *alertRun) {
	ctx = collector.WithOperation(ctx, "github", "secret_scanning.list_alerts_for_org")
	path := "orgs/" + url.PathEscape(run.org) + "/secret-scanning/alerts"
	list := func(state, sort string, done func([]*gh.SecretScanningAlert) bool) ([]*gh.SecretScanningAlert, error) {
		q := url.Values{"state": {state}, "sort": {sort}, "direction": {"desc"}}
		return listAlerts(func(cur pageCursor) ([]*gh.SecretScanningAlert, *gh.Response, error) {
			return getOrgList[*gh.SecretScanningAlert](ctx, v.clients, path, q, cur)
		}, done)
	}

	open, err := list("open", "created", nil)
	if err != nil {
		run.listFailed(CheckSecretScanningOpen, "secret_scanning.list_alerts_for_org", "open secret-scanning alerts",
			fmt.Errorf("list open secret-scanning alerts of %s: %w", run.org, err), len(open))
	}
	judged := 0
	for _, a := range open {
		if !run.inScope(a.Repository) {
			continue
		}
		judged++
		rec := secretScanningRecord(a)
		run.res.Records = append(run.res.Records, rec)
		age := daysBetween(a.GetCreatedAt().Time, run.w.End)
		run.res.Findings = append(run.res.Findings, evidence.Finding{
			Check: CheckSecretScanningOpen, Resource: rec.ID, Status: evidence.Fail,
			Reason: fmt.Sprintf("open secret-scanning alert %s: a %s found %d days ago is neither revoked nor resolved; a leaked credential has no grace period",
				rec.ID, secretTypeName(a), age),
			Observed: map[string]any{
				"repository": a.Repository.GetFullName(), "number": a.GetNumber(), "secret_type": a.GetSecretType(),
				"secret_type_display_name": a.GetSecretTypeDisplayName(), "created_at": timeOrNil(a.CreatedAt), "age_days": age,
				"push_protection_bypassed": a.GetPushProtectionBypassed(), "html_url": a.GetHTMLURL(),
			},
		})
	}
	if err == nil && judged == 0 {
		run.res.Findings = append(run.res.Findings, noOpenAlerts(CheckSecretScanningOpen, run.org, "secret-scanning alerts (in the repositories with secret scanning on)"))
	}

	closed, err := list("resolved", "updated", func(page []*gh.SecretScanningAlert) bool {
		return run.before(page[len(page)-1].UpdatedAt)
	})
	if err != nil {
		run.partial.Add(run.org, "secret_scanning.list_alerts_for_org", fmt.Errorf("list resolved secret-scanning alerts of %s: %w", run.org, err))
	}
	for _, a := range closed {
		if run.inScope(a.Repository) && run.closedInWindow(a.ResolvedAt) {
			run.res.Records = append(run.res.Records, secretScanningRecord(a))
		}
	}
}

func secretTypeName(a *gh.SecretScanningAlert) string {
	if n := a.GetSecretTypeDisplayName(); n != "" {
		return n
	}
	return a.GetSecretType()
}

// secretScanningRecord names the secret's type, never its value.
func secretScanningRecord(a *gh.SecretScanningAlert) evidence.Record {
	attrs := map[string]any{
		"repository":                  a.Repository.GetFullName(),
		"number":                      a.GetNumber(),
		"state":                       a.GetState(),
		"secret_type":                 a.GetSecretType(),
		"secret_type_display_name":    a.GetSecretTypeDisplayName(),
		"push_protection_bypassed":    a.GetPushProtectionBypassed(),
		"push_protection_bypassed_by": login(a.PushProtectionBypassedBy),
		"created_at":                  timeOrNil(a.CreatedAt),
		"resolution":                  strOrNil(a.Resolution),
		"resolved_at":                 timeOrNil(a.ResolvedAt),
		"resolved_by":                 login(a.ResolvedBy),
		"resolution_comment":          strOrNil(a.ResolutionComment),
		"html_url":                    a.GetHTMLURL(),
	}
	if a.ResolvedAt != nil {
		attrs["days_open"] = daysBetween(a.GetCreatedAt().Time, a.ResolvedAt.Time)
	}
	return evidence.Record{Type: "github.secret_scanning_alert", ID: alertResource(a.Repository, "secret-scanning", a.GetNumber()), Attributes: attrs}
}
