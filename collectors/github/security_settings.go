package github

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// repoSecurity is what one repository's alerts_enabled verdict rests on.
type repoSecurity struct {
	repo repository
	// dependabot is whether Dependabot alerts are on; err when unknown.
	dependabot bool
	err        error
}

// alertsEnabled judges, for every repository read, whether Dependabot
// alerts and secret scanning are on: an alert listing says nothing of a
// repository where the feature is off.
//
// Secret scanning's status comes with the repository list already read
// (security_and_analysis). Dependabot alerts' does not: GitHub reports it
// only per repository (GET /repos/{owner}/{repo}/vulnerability-alerts, 204
// on, 404 off), and security_and_analysis.dependabot_security_updates is
// the automatic fix pull requests, not the alerts. So that one call per
// repository remains; the alerts themselves are read per organization.
// Code scanning has no such switch to read: a repository with no analysis
// simply has no alerts, and is not judged here.
func (v *vulnerabilities) alertsEnabled(ctx context.Context, run *alertRun) {
	repos, err := v.clients.repositories(ctx, run.src, run.org)
	if err != nil {
		run.failed++
		run.partial.Add(run.org, "repos.list_by_org", err)
		run.res.Findings = append(run.res.Findings, evidence.Finding{Check: CheckAlertsEnabled, Resource: run.org, Status: evidence.Error,
			Reason:   fmt.Sprintf("the repositories of %s could not all be listed, so not every repository was judged", run.org),
			Observed: map[string]any{"error": err.Error(), "http_status": apiStatus(err), "repositories_listed": len(repos)}})
	}

	results := make([]repoSecurity, len(repos))
	sem := make(chan struct{}, repoConcurrency)
	var wg sync.WaitGroup
	octx := collector.WithOperation(ctx, "github", "repos.get_vulnerability_alerts")
	for i, repo := range repos {
		results[i].repo = repo
		run.res.Records = append(run.res.Records, repo.record())
		if repo.Skipped != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].err = fmt.Errorf("not read: %w", ctx.Err())
				return
			}
			defer func() { <-sem }()
			on, _, err := v.clients.rest.Repositories.GetVulnerabilityAlerts(octx, repo.Owner, repo.Name)
			if err != nil {
				results[i].err = fmt.Errorf("check Dependabot alerts of %s: %w", repo.fullName(), err)
			}
			results[i].dependabot = on
		}()
	}
	wg.Wait()

	for _, r := range results {
		if r.repo.Skipped != "" {
			continue
		}
		if r.err != nil {
			run.partial.Add(r.repo.fullName(), "repos.get_vulnerability_alerts", r.err)
		}
		f, rec := alertsEnabledFinding(r)
		run.res.Findings = append(run.res.Findings, f)
		run.res.Records = append(run.res.Records, rec)
	}
}

func alertsEnabledFinding(r repoSecurity) (evidence.Finding, evidence.Record) {
	name := r.repo.fullName()
	// Each status is "enabled", "disabled", or "" when GitHub did not say.
	sec := r.repo.Security
	secret := sec.GetSecretScanning().GetStatus()
	attrs := map[string]any{
		"secret_scanning":                 orNil(secret),
		"secret_scanning_push_protection": orNil(sec.GetSecretScanningPushProtection().GetStatus()),
		"advanced_security":               orNil(sec.GetAdvancedSecurity().GetStatus()),
		"dependabot_security_updates":     orNil(sec.GetDependabotSecurityUpdates().GetStatus()),
	}
	if r.err == nil {
		attrs["dependabot_alerts"] = r.dependabot
	} else {
		attrs["dependabot_alerts"] = nil
	}
	observed := map[string]any{"dependabot_alerts": attrs["dependabot_alerts"], "secret_scanning": attrs["secret_scanning"]}
	rec := evidence.Record{Type: "github.repository_security", ID: name, Attributes: attrs}

	var off, unknown []string
	switch {
	case r.err != nil:
		unknown = append(unknown, "whether Dependabot alerts are on could not be read")
		observed["error"] = r.err.Error()
	case !r.dependabot:
		off = append(off, "Dependabot alerts are off, so its vulnerable dependencies raise no alert")
	}
	switch secret {
	case "enabled":
	case "":
		unknown = append(unknown, "GitHub did not report secret scanning's status (security_and_analysis is shown only to admins, owners and security managers)")
	default:
		off = append(off, "secret scanning is "+secret+", so credentials pushed to it raise no alert")
	}
	sort.Strings(off)
	f := evidence.Finding{Check: CheckAlertsEnabled, Resource: name, Observed: observed}
	switch {
	case len(off) > 0:
		// What is known to be off fails whatever else is unknown.
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s: %s", name, strings.Join(off, "; "))
	case len(unknown) > 0:
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("%s: %s", name, strings.Join(unknown, "; "))
	default:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s has Dependabot alerts and secret scanning on", name)
	}
	return f, rec
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
