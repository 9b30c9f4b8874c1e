package github

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func vulnerabilitiesFactory() collector.Factory {
	return collector.Factory{
		Type:     TypeVulnerabilities,
		Version:  Version,
		Provider: "github",
		Description: "Open Dependabot, code-scanning and secret-scanning alerts judged against remediation SLAs by severity, " +
			"alerts fixed or dismissed in the window, and the repositories with Dependabot alerts or secret scanning off",
		Permissions: permissionsFor(vulnerabilityOperations),
		Checks:      []string{CheckDependabotSLA, CheckCodeScanningSLA, CheckSecretScanningOpen, CheckAlertsEnabled},
		New: func(s collector.Settings) (collector.Collector, error) {
			c, err := newClients(s)
			if err != nil {
				return nil, err
			}
			return &vulnerabilities{settings: s, clients: c}, nil
		},
	}
}

type vulnerabilities struct {
	settings collector.Settings
	clients  *clients
}

var _ collector.Collector = (*vulnerabilities)(nil)

func (v *vulnerabilities) Scopes(context.Context) ([]evidence.Scope, error) {
	return orgScopes(v.settings.Sources.GitHub, v.clients), nil
}

// alertRun is what one organization's run shares between the alert kinds.
type alertRun struct {
	org string
	src *collector.GitHubSource
	w   window
	sla slaPolicy
	res *collector.Result
	// failed counts the listings that could not be read, of four.
	failed  int
	partial *collector.PartialError
}

// listFailed records that a listing could not be read: an error on the
// organization for check, naming the cause, never a pass.
func (r *alertRun) listFailed(check, op, what string, err error, read int) {
	r.failed++
	r.partial.Add(r.org, op, err)
	r.res.Findings = append(r.res.Findings, evidence.Finding{
		Check: check, Resource: r.org, Status: evidence.Error,
		Reason:   fmt.Sprintf("the %s of %s could not all be read, so not every alert was judged", what, r.org),
		Observed: map[string]any{"error": err.Error(), "http_status": apiStatus(err), "alerts_read": read},
	})
}

// Collect reads the three organization-level alert listings (open alerts,
// and those closed in the window) and whether each repository has
// Dependabot alerts and secret scanning on. A listing that cannot be read
// is an error for its check alone; the others stand.
func (v *vulnerabilities) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	src := v.settings.Sources.GitHub
	w, err := runWindow(req, src.LookbackDays)
	if err != nil {
		return nil, err
	}
	waits := &waitLog{}
	ctx = withWaitLog(ctx, waits)
	run := &alertRun{
		org: req.Scope.Account, src: src, w: w, sla: slaFrom(v.settings.Thresholds),
		res: &collector.Result{Window: w.evidence()}, partial: &collector.PartialError{},
	}
	run.res.Records = append(run.res.Records, run.sla.record(run.org))

	v.dependabot(ctx, run)
	v.codeScanning(ctx, run)
	v.secretScanning(ctx, run)
	v.alertsEnabled(ctx, run)

	run.res.Records = append(run.res.Records, waits.records()...)
	sortResult(run.res)
	if run.failed == 4 {
		// Nothing was observed: the run failed, with its findings. Not
		// wrapped, so that it is not taken for a partial result.
		return run.res, fmt.Errorf("no alert listing or repository of %s could be read: %s", run.org, run.partial.Error())
	}
	return run.res, run.partial.Err()
}

// slaPolicy is how many days an alert of each judged severity may stay
// open. Low severity is recorded, not judged: the SLA table ends at medium.
type slaPolicy map[string]int

func slaFrom(th collector.Thresholds) slaPolicy {
	d := collector.DefaultThresholds()
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return slaPolicy{
		"critical": pick(th.VulnSLACriticalDays, d.VulnSLACriticalDays),
		"high":     pick(th.VulnSLAHighDays, d.VulnSLAHighDays),
		"medium":   pick(th.VulnSLAMediumDays, d.VulnSLAMediumDays),
	}
}

func (p slaPolicy) record(org string) evidence.Record {
	return evidence.Record{Type: "github.vulnerability_sla", ID: org, Attributes: map[string]any{
		"critical_days": p["critical"], "high_days": p["high"], "medium_days": p["medium"],
		"low": "recorded, not judged",
	}}
}

// openAlert is what an SLA verdict needs of an open alert.
type openAlert struct {
	kind     string // "Dependabot" or "code-scanning"
	resource string
	severity string
	// what names the package or rule.
	what    string
	created time.Time
}

// daysBetween is whole days from a to b.
func daysBetween(a, b time.Time) int {
	if b.Before(a) {
		return 0
	}
	return int(b.Sub(a).Hours() / 24)
}

// slaFinding judges one open alert at now: past its severity's SLA fails,
// within it passes; low severity is not_applicable (recorded, not judged)
// and a severity GitHub did not report is an error.
func (p slaPolicy) finding(check string, a openAlert, now time.Time, observed map[string]any) evidence.Finding {
	age := daysBetween(a.created, now)
	observed["severity"] = a.severity
	observed["created_at"] = a.created.UTC().Format(time.RFC3339)
	observed["age_days"] = age
	f := evidence.Finding{Check: check, Resource: a.resource, Observed: observed}
	days, judged := p[a.severity]
	switch {
	case a.created.IsZero():
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("GitHub did not report when %s alert %s (%s) was opened", a.kind, a.resource, a.what)
	case a.severity == "low":
		f.Status = evidence.NotApplicable
		f.Reason = fmt.Sprintf("low-severity %s alert %s (%s), open %d days: recorded, not judged against an SLA", a.kind, a.resource, a.what, age)
	case !judged:
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("%s alert %s (%s) has no severity GitHub reported as critical, high, medium or low (%q)", a.kind, a.resource, a.what, a.severity)
	default:
		due := a.created.AddDate(0, 0, days)
		observed["sla_days"] = days
		observed["due"] = due.UTC().Format(time.RFC3339)
		if now.After(due) {
			f.Status = evidence.Fail
			f.Reason = fmt.Sprintf("%s %s alert %s (%s) has been open %d days, past its %d-day SLA", a.severity, a.kind, a.resource, a.what, age, days)
		} else {
			f.Status = evidence.Pass
			f.Reason = fmt.Sprintf("%s %s alert %s (%s) has been open %d days, within its %d-day SLA", a.severity, a.kind, a.resource, a.what, age, days)
		}
	}
	return f
}

// noOpenAlerts is the organization's pass when a listing read to its end
// held no open alert to judge.
func noOpenAlerts(check, org, what string) evidence.Finding {
	return evidence.Finding{Check: check, Resource: org, Status: evidence.Pass,
		Reason:   fmt.Sprintf("no open %s in %s", what, org),
		Observed: map[string]any{"open_alerts": 0}}
}

// alertResource names an alert as its page on GitHub does:
// org/repo/security/<kind>/<number>.
func alertResource(repo *gh.Repository, kind string, number int) string {
	return repo.GetFullName() + "/security/" + kind + "/" + strconv.Itoa(number)
}

// closedInWindow says whether t, when an alert was fixed, dismissed or
// resolved, falls in the run's window.
func (r *alertRun) closedInWindow(t *gh.Timestamp) bool {
	return t != nil && r.w.contains(t.Time)
}

// before says the listing, sorted by update newest first, has reached
// alerts last updated before the window: none after it can have been
// closed in it.
func (r *alertRun) before(updated *gh.Timestamp) bool {
	return updated != nil && updated.Time.Before(r.w.Start)
}

// inScope says whether the include/exclude lists read the alert's
// repository.
func (r *alertRun) inScope(repo *gh.Repository) bool {
	return skippedByConfig(r.src, r.org, repo.GetName()) == ""
}

func login(u *gh.User) any {
	if u == nil {
		return nil
	}
	return u.GetLogin()
}

func timeOrNil(t *gh.Timestamp) any {
	if t == nil {
		return nil
	}
	return t.Time.UTC().Format(time.RFC3339)
}

// alertPerPage is the largest page GitHub serves for alert listings.
const alertPerPage = 100

// pageCursor is where the next page of a listing starts: an after cursor
// for the listings GitHub pages by cursor, a page number for those it
// pages by number. GitHub's Link header says which.
type pageCursor struct {
	after string
	page  int
}

// nextCursor reads the next page from a response's Link header as go-github
// parsed it; ok is false on the last page.
func nextCursor(resp *gh.Response, prev pageCursor) (pageCursor, bool, error) {
	var next pageCursor
	switch {
	case resp == nil:
		return next, false, nil
	case resp.After != "":
		next.after = resp.After
	case resp.NextPage != 0:
		next.page = resp.NextPage
	default:
		return next, false, nil
	}
	if next == prev {
		return next, false, fmt.Errorf("the Link header's next page is the page just read (%+v)", next)
	}
	return next, true, nil
}

// listAlerts reads a listing page by page until its last page, or until
// done says (after a page) that the rest cannot matter.
func listAlerts[T any](page func(pageCursor) ([]T, *gh.Response, error), done func([]T) bool) ([]T, error) {
	var out []T
	var cur pageCursor
	for {
		items, resp, err := page(cur)
		if err != nil {
			return out, err
		}
		out = append(out, items...)
		if len(items) > 0 && done != nil && done(items) {
			return out, nil
		}
		next, more, err := nextCursor(resp, cur)
		if err != nil || !more {
			return out, err
		}
		cur = next
	}
}

// getOrgList requests one page of an organization-level listing with the
// documented query GitHub accepts, through go-github's client (its
// authentication, rate-limit handling, error and Link parsing), for the
// listings whose go-github v60 options cannot express it: neither
// AlertListOptions (code scanning) nor SecretScanningAlertListOptions has
// sort or direction, and without sort=updated the alerts closed in the
// window cannot be read without paging through every alert ever closed.
func getOrgList[T any](ctx context.Context, c *clients, path string, q url.Values, cur pageCursor) ([]T, *gh.Response, error) {
	q = cloneValues(q)
	q.Set("per_page", strconv.Itoa(alertPerPage))
	if cur.after != "" {
		q.Set("after", cur.after)
	}
	if cur.page != 0 {
		q.Set("page", strconv.Itoa(cur.page))
	}
	req, err := c.rest.NewRequest("GET", path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, nil, err
	}
	var out []T
	resp, err := c.rest.Do(ctx, req, &out)
	return out, resp, err
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
