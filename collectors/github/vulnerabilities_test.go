package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

const (
	depCritical60 = "acme/api/security/dependabot/1"
	depHigh5      = "acme/web/security/dependabot/4"
	depLow        = "acme/api/security/dependabot/3"
	depDismissed  = "acme/api/security/dependabot/2"
	depFixed      = "acme/web/security/dependabot/3"
	depFixedOld   = "acme/web/security/dependabot/1"
	csHigh12      = "acme/api/security/code-scanning/5"
	csMedium120   = "acme/api/security/code-scanning/4"
	csNote        = "acme/web/security/code-scanning/1"
	csFixed       = "acme/web/security/code-scanning/2"
	csDismissed   = "acme/api/security/code-scanning/3"
	secretOpen    = "acme/infra/security/secret-scanning/1"
	secretRevoked = "acme/web/security/secret-scanning/2"
)

func collectVulns(t *testing.T, h *harness, th collector.Thresholds) (*collector.Result, error) {
	t.Helper()
	return h.collect(t, vulnerabilitiesFactory(), th, collector.Request{Since: since(60)})
}

// statuses maps check → resource → status.
func statuses(res *collector.Result) map[string]map[string]evidence.Result {
	out := map[string]map[string]evidence.Result{}
	for _, f := range res.Findings {
		if out[f.Check] == nil {
			out[f.Check] = map[string]evidence.Result{}
		}
		if _, dup := out[f.Check][f.Resource]; dup {
			panic(fmt.Sprintf("two %s findings on %s", f.Check, f.Resource))
		}
		out[f.Check][f.Resource] = f.Status
	}
	return out
}

func recordIDs(res *collector.Result, typ string) []string {
	var out []string
	for _, r := range res.Records {
		if r.Type == typ {
			out = append(out, r.ID)
		}
	}
	return out
}

// demoVerdicts is every finding of the demo estate.
var demoVerdicts = map[string]map[string]evidence.Result{
	CheckDependabotSLA:      {depCritical60: evidence.Fail, depHigh5: evidence.Pass, depLow: evidence.NotApplicable},
	CheckCodeScanningSLA:    {csHigh12: evidence.Pass, csMedium120: evidence.Fail, csNote: evidence.NotApplicable},
	CheckSecretScanningOpen: {secretOpen: evidence.Fail},
	CheckAlertsEnabled:      {"acme/api": evidence.Pass, "acme/web": evidence.Pass, "acme/infra": evidence.Fail},
}

// TestVulnerabilitiesDemo pins the demo estate's evidence: the planted
// failures (a critical Dependabot alert open 60 days, a medium
// code-scanning alert open 120 days, an open leaked token, Dependabot
// alerts off in infra), their compliant counterparts, and the alerts fixed
// or dismissed in the window as remediation records.
func TestVulnerabilitiesDemo(t *testing.T) {
	h := newHarness(t)
	res, err := collectVulns(t, h, collector.DefaultThresholds())
	require.NoError(t, err)
	require.Equal(t, demoVerdicts, statuses(res))
	for _, f := range res.Findings {
		require.NotEmpty(t, f.Reason)
		require.Empty(t, f.Controls, "controls are filled by the agent from the catalog")
		if f.Status == evidence.Fail {
			require.Contains(t, f.Reason, f.Resource, "a failure names its resource")
		}
	}
	require.ElementsMatch(t, []string{depCritical60, depHigh5, depLow, depDismissed, depFixed}, recordIDs(res, "github.dependabot_alert"),
		"open alerts and those closed in the window; the one fixed 150 days ago is not in it")
	require.ElementsMatch(t, []string{csHigh12, csMedium120, csNote, csFixed, csDismissed}, recordIDs(res, "github.code_scanning_alert"))
	require.ElementsMatch(t, []string{secretOpen, secretRevoked}, recordIDs(res, "github.secret_scanning_alert"))

	byID := map[string]evidence.Record{}
	for _, r := range res.Records {
		byID[r.Type+" "+r.ID] = r
	}
	dismissed := byID["github.dependabot_alert "+depDismissed].Attributes
	require.Equal(t, "alice", dismissed["dismissed_by"])
	require.Equal(t, "tolerable_risk", dismissed["dismissed_reason"])
	require.NotEmpty(t, dismissed["dismissed_comment"])
	require.NotNil(t, byID["github.dependabot_alert "+depFixed].Attributes["fixed_at"])
	require.Equal(t, "revoked", byID["github.secret_scanning_alert "+secretRevoked].Attributes["resolution"])

	for _, f := range res.Findings {
		switch f.Resource {
		case depCritical60:
			require.Contains(t, f.Reason, "jsonwebtoken")
			require.Contains(t, f.Reason, "60 days")
			require.Equal(t, 60, f.Observed["age_days"])
		case csMedium120:
			require.Contains(t, f.Reason, "go/path-injection")
			require.Contains(t, f.Reason, "120 days")
		case secretOpen:
			require.Contains(t, f.Reason, "GitHub Personal Access Token")
		case "acme/infra":
			require.Contains(t, f.Reason, "Dependabot alerts are off")
		}
	}
	checkGolden(t, "vulnerabilities_demo", h.srv.URL, golden{Window: res.Window, Records: res.Records, Findings: res.Findings})
}

// TestVulnerabilitiesCursorPagination: one alert per page gives the same
// evidence, in as many calls as there are pages; the closed listings stop
// at the first alert last updated before the window.
func TestVulnerabilitiesCursorPagination(t *testing.T) {
	sim := ghsim.New(now)
	sim.RESTPageSize = 1
	// Older closed alerts beyond the one the demo has: never paged to.
	for i := range 5 {
		old := now.AddDate(0, 0, -300-i)
		sim.Org.Dependabot = append(sim.Org.Dependabot, &ghsim.DependabotAlert{Repo: "web", Number: 100 + i, Ecosystem: "npm", Package: "lodash",
			Severity: "high", GHSA: "GHSA-p6mc-m468-83gw", State: "fixed", CreatedAt: old.AddDate(0, 0, -1), UpdatedAt: old, FixedAt: old})
		sim.Org.SecretScanning = append(sim.Org.SecretScanning, &ghsim.SecretScanningAlert{Repo: "web", Number: 100 + i, SecretType: "npm_access_token",
			SecretTypeName: "npm Access Token", Secret: "npm_simulated", State: "resolved", Resolution: "revoked", CreatedAt: old.AddDate(0, 0, -1), UpdatedAt: old, ResolvedAt: old})
	}
	var mu sync.Mutex
	queries := map[string][]url.Values{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/alerts") {
			mu.Lock()
			p := strings.TrimSuffix(r.URL.Path, "/alerts")
			kind := p[strings.LastIndex(p, "/")+1:]
			queries[kind] = append(queries[kind], r.URL.Query())
			mu.Unlock()
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h := &harness{sim: sim, srv: srv, rec: collector.NewRecorder()}
	res, err := collectVulns(t, h, collector.DefaultThresholds())
	require.NoError(t, err)
	checkGolden(t, "vulnerabilities_demo", h.srv.URL, golden{Window: res.Window, Records: res.Records, Findings: res.Findings})

	calls := map[string]int{}
	for _, c := range h.rec.Calls() {
		calls[c.Operation]++
	}
	require.Equal(t, map[string]int{
		// open: 3 alerts in 3 pages; fixed or dismissed, newest update
		// first: 2 in the window, then the one fixed 150 days ago ends it.
		"dependabot.list_org_alerts": 3 + 3,
		// open: 3; closed: 2, both in the window, and the last page.
		"code_scanning.list_alerts_for_org": 3 + 2,
		// open: 1; resolved: the revoked one, then the first older one.
		"secret_scanning.list_alerts_for_org": 1 + 2,
		"repos.list_by_org":                   4,
		"repos.get_vulnerability_alerts":      3,
	}, calls)

	// Dependabot and secret scanning follow the Link header's after
	// cursor (the first page has none); code scanning its page numbers.
	for kind, qs := range queries {
		for _, q := range qs {
			require.Equal(t, "100", q.Get("per_page"), kind)
			switch kind {
			case "dependabot", "secret-scanning":
				require.Empty(t, q.Get("page"), kind)
			case "code-scanning":
				require.Empty(t, q.Get("after"), kind)
			default:
				t.Fatalf("unexpected listing %s", kind)
			}
		}
		paged := 0
		for _, q := range qs {
			if q.Get("after") != "" || q.Get("page") != "" {
				paged++
			}
		}
		require.Equal(t, len(qs)-2, paged, "%s: every request but each listing's first names its page", kind)
	}
}

// TestVulnerabilityAlertEndpointForbidden: a 403 or 404 on one
// organization alert listing (the feature or the permission missing) makes its check an error
// on the organization, naming the cause, and the run partial; every other
// check's findings are exactly what they are when all is readable.
func TestVulnerabilityAlertEndpointForbidden(t *testing.T) {
	for _, tc := range []struct {
		target, check, op string
	}{
		{"/api/v3/orgs/acme/dependabot/alerts", CheckDependabotSLA, "dependabot.list_org_alerts"},
		{"/api/v3/orgs/acme/code-scanning/alerts", CheckCodeScanningSLA, "code_scanning.list_alerts_for_org"},
		{"/api/v3/orgs/acme/secret-scanning/alerts", CheckSecretScanningOpen, "secret_scanning.list_alerts_for_org"},
	} {
		for _, status := range []int{http.StatusForbidden, http.StatusNotFound} {
			t.Run(fmt.Sprintf("%s/%d", tc.check, status), func(t *testing.T) {
				h := newHarness(t)
				h.sim.Fail(tc.target, status)
				res, err := collectVulns(t, h, collector.DefaultThresholds())
				var pe *collector.PartialError
				require.ErrorAs(t, err, &pe)
				var ops []string
				for _, e := range pe.Errors {
					ops = append(ops, e.Operation)
				}
				require.Contains(t, ops, tc.op)

				want := map[string]map[string]evidence.Result{}
				for chk, m := range demoVerdicts {
					want[chk] = m
				}
				want[tc.check] = map[string]evidence.Result{"acme": evidence.Error}
				require.Equal(t, want, statuses(res))
				for _, f := range res.Findings {
					if f.Check == tc.check {
						require.Contains(t, f.Reason, "could not all be read")
						require.Contains(t, f.Observed["error"], strconv.Itoa(status))
						require.Equal(t, status, f.Observed["http_status"])
					}
				}
			})
		}
	}
}

func TestVulnerabilityChecks(t *testing.T) {
	type want struct {
		check, resource string
		status          evidence.Result
		reason          string
	}
	cases := []struct {
		name  string
		th    func(*collector.Thresholds)
		setup func(*ghsim.Sim)
		src   func(*collector.GitHubSource)
		want  []want
	}{
		{name: "a shorter high SLA fails the 5-day-old alert",
			th:   func(th *collector.Thresholds) { th.VulnSLAHighDays = 3 },
			want: []want{{CheckDependabotSLA, depHigh5, evidence.Fail, "past its 3-day SLA"}}},
		{name: "a longer medium SLA passes the 120-day-old code-scanning alert",
			th:   func(th *collector.Thresholds) { th.VulnSLAMediumDays = 180 },
			want: []want{{CheckCodeScanningSLA, csMedium120, evidence.Pass, "within its 180-day SLA"}}},
		{name: "no open alerts pass on the organization",
			setup: func(s *ghsim.Sim) {
				s.Org.Dependabot, s.Org.CodeScanning, s.Org.SecretScanning = nil, nil, nil
			},
			want: []want{
				{CheckDependabotSLA, "acme", evidence.Pass, "no open Dependabot alerts"},
				{CheckCodeScanningSLA, "acme", evidence.Pass, "no open code-scanning alerts"},
				{CheckSecretScanningOpen, "acme", evidence.Pass, "no open secret-scanning alerts"},
			}},
		{name: "an alert without a severity is an error",
			setup: func(s *ghsim.Sim) { s.Org.Dependabot[0].Severity = "" },
			want:  []want{{CheckDependabotSLA, depCritical60, evidence.Error, "no severity"}}},
		{name: "secret scanning off fails the repository",
			setup: func(s *ghsim.Sim) { s.Org.Repo("web").SecretScanningDisabled = true },
			want:  []want{{CheckAlertsEnabled, "acme/web", evidence.Fail, "secret scanning is disabled"}}},
		{name: "security_and_analysis not shown is an error",
			setup: func(s *ghsim.Sim) { s.Org.Repo("api").HideSecurityAndAnalysis = true },
			want:  []want{{CheckAlertsEnabled, "acme/api", evidence.Error, "did not report secret scanning"}}},
		{name: "Dependabot off fails even when secret scanning is not shown",
			setup: func(s *ghsim.Sim) { s.Org.Repo("infra").HideSecurityAndAnalysis = true },
			want:  []want{{CheckAlertsEnabled, "acme/infra", evidence.Fail, "Dependabot alerts are off"}}},
		{name: "the Dependabot switch unreadable is an error",
			setup: func(s *ghsim.Sim) { s.Fail("/api/v3/repos/acme/api/vulnerability-alerts", http.StatusForbidden) },
			want:  []want{{CheckAlertsEnabled, "acme/api", evidence.Error, "could not be read"}}},
		{name: "excluded repositories' alerts are not judged",
			src:  func(src *collector.GitHubSource) { src.ExcludeRepos = []string{"web"} },
			want: []want{{CheckDependabotSLA, depHigh5, "", ""}, {CheckAlertsEnabled, "acme/web", "", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h.sim)
			}
			th := collector.DefaultThresholds()
			if tc.th != nil {
				tc.th(&th)
			}
			s := h.settings(th)
			if tc.src != nil {
				tc.src(s.Sources.GitHub)
			}
			c, err := vulnerabilitiesFactory().New(s)
			require.NoError(t, err)
			res, err := c.Collect(collector.WithRecorder(t.Context(), h.rec), collector.Request{
				Scope: evidence.Scope{Provider: "github", Account: "acme"}, Since: since(60), Now: now})
			var pe *collector.PartialError
			if err != nil {
				require.ErrorAs(t, err, &pe)
			}
			for _, w := range tc.want {
				found := false
				for _, f := range res.Findings {
					if f.Check == w.check && f.Resource == w.resource {
						found = true
						require.Equal(t, w.status, f.Status, f.Reason)
						require.Contains(t, f.Reason, w.reason)
					}
				}
				require.Equal(t, w.status != "", found, "%s on %s", w.check, w.resource)
			}
		})
	}
}

func TestSLABoundaries(t *testing.T) {
	sla := slaFrom(collector.DefaultThresholds())
	opened := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		severity string
		open     time.Duration
		want     evidence.Result
	}{
		{"critical", 15 * 24 * time.Hour, evidence.Pass},
		{"critical", 15*24*time.Hour + time.Second, evidence.Fail},
		{"high", 30 * 24 * time.Hour, evidence.Pass},
		{"high", 31 * 24 * time.Hour, evidence.Fail},
		{"medium", 90 * 24 * time.Hour, evidence.Pass},
		{"medium", 91 * 24 * time.Hour, evidence.Fail},
		{"low", 3650 * 24 * time.Hour, evidence.NotApplicable},
		{"moderate", time.Hour, evidence.Error},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.severity, tc.open), func(t *testing.T) {
			f := sla.finding(CheckDependabotSLA, openAlert{kind: "Dependabot", resource: "acme/x/security/dependabot/1", severity: tc.severity, what: "npm x", created: opened},
				opened.Add(tc.open), map[string]any{})
			require.Equal(t, tc.want, f.Status, f.Reason)
		})
	}
	t.Run("no creation time is an error", func(t *testing.T) {
		f := sla.finding(CheckDependabotSLA, openAlert{kind: "Dependabot", resource: "r", severity: "high"}, opened, map[string]any{})
		require.Equal(t, evidence.Error, f.Status)
	})
}

// TestSecretValueNeverInEvidence: GitHub sends the leaked secret in each
// secret-scanning alert; it appears nowhere in what a run produces, read
// whole or page by page, or when a listing fails part way.
func TestSecretValueNeverInEvidence(t *testing.T) {
	for name, setup := range map[string]func(*harness){
		"whole":      func(*harness) {},
		"paged":      func(h *harness) { h.sim.RESTPageSize = 1 },
		"code fails": func(h *harness) { h.sim.Fail("/api/v3/orgs/acme/code-scanning/alerts", http.StatusBadGateway) },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			setup(h)
			res, err := collectVulns(t, h, collector.DefaultThresholds())
			b, jerr := json.Marshal(struct {
				R   *collector.Result
				Err string
				C   []evidence.Call
			}{res, fmt.Sprint(err), h.rec.Calls()})
			require.NoError(t, jerr)
			require.Contains(t, string(b), "GitHub Personal Access Token", "the alert itself is recorded")
			for _, secret := range []string{ghsim.DemoLeakedSecret, ghsim.DemoRevokedSecret, "simulatedwebhooksecret", ghsim.Token} {
				require.NotContains(t, string(b), secret)
			}
		})
	}
}

// TestVulnerabilitiesNothingReadable: when no listing can be read the run
// fails (nothing observed), with an error finding for every check.
func TestVulnerabilitiesNothingReadable(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/api/v3/orgs/acme/dependabot/alerts", "/api/v3/orgs/acme/code-scanning/alerts", "/api/v3/orgs/acme/secret-scanning/alerts", "/api/v3/orgs/acme/repos"} {
		h.sim.Fail(p, http.StatusForbidden)
	}
	res, err := collectVulns(t, h, collector.DefaultThresholds())
	require.Error(t, err)
	var pe *collector.PartialError
	require.False(t, errors.As(err, &pe), "a failed run, not a partial result")
	got := statuses(res)
	for _, chk := range vulnerabilitiesFactory().Checks {
		require.Equal(t, map[string]evidence.Result{"acme": evidence.Error}, got[chk], chk)
	}
}

// BenchmarkVulnerabilities reports API calls per alert and per repository
// as an organization's alerts grow: the alert listings cost about one call
// per 100 alerts (one page), and only the Dependabot switch costs one call
// per repository.
func BenchmarkVulnerabilities(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("alerts=%d", n), func(b *testing.B) {
			sim := ghsim.New(now)
			sim.RESTPageSize = 100
			repos := n / 10
			for i := range repos {
				sim.Org.Repos = append(sim.Org.Repos, &ghsim.Repo{Name: fmt.Sprintf("svc-%03d", i), DefaultBranch: "main", Private: true})
			}
			for i := range n {
				repo := fmt.Sprintf("svc-%03d", i%repos)
				at := now.AddDate(0, 0, -(i % 50))
				sim.Org.Dependabot = append(sim.Org.Dependabot, &ghsim.DependabotAlert{Repo: repo, Number: i + 1000, Ecosystem: "npm", Package: fmt.Sprintf("pkg-%d", i),
					Severity: []string{"critical", "high", "medium", "low"}[i%4], GHSA: "GHSA-p6mc-m468-83gw", State: "open", CreatedAt: at, UpdatedAt: at})
				sim.Org.CodeScanning = append(sim.Org.CodeScanning, &ghsim.CodeScanningAlert{Repo: repo, Number: i + 1000, RuleID: "go/sql-injection", RuleSeverity: "error",
					SecuritySeverity: "high", Tool: "CodeQL", Path: "main.go", Line: 1, State: "open", CreatedAt: at, UpdatedAt: at})
				sim.Org.SecretScanning = append(sim.Org.SecretScanning, &ghsim.SecretScanningAlert{Repo: repo, Number: i + 1000, SecretType: "npm_access_token",
					SecretTypeName: "npm Access Token", Secret: "npm_x", State: "open", CreatedAt: at, UpdatedAt: at})
			}
			srv := httptest.NewServer(sim)
			defer srv.Close()
			h := &harness{sim: sim, srv: srv, rec: collector.NewRecorder()}
			s := h.settings(collector.DefaultThresholds())
			c, err := vulnerabilitiesFactory().New(s)
			require.NoError(b, err)
			totalRepos := len(sim.Org.Repos)
			demo := ghsim.New(now).Org
			alerts := 3*n + len(demo.Dependabot) + len(demo.CodeScanning) + len(demo.SecretScanning)
			b.ResetTimer()
			for range b.N {
				h.rec = collector.NewRecorder()
				if _, err := c.Collect(collector.WithRecorder(b.Context(), h.rec), collector.Request{Scope: evidence.Scope{Provider: "github", Account: "acme"}, Since: since(60), Now: now}); err != nil {
					b.Fatal(err)
				}
			}
			var alertCalls, repoCalls int
			for _, call := range h.rec.Calls() {
				switch call.Operation {
				case "repos.list_by_org", "repos.get_vulnerability_alerts":
					repoCalls++
				default:
					alertCalls++
				}
			}
			b.ReportMetric(float64(alertCalls+repoCalls), "calls/run")
			b.ReportMetric(float64(alertCalls)/float64(alerts), "alert_calls/alert")
			b.ReportMetric(float64(repoCalls)/float64(totalRepos), "repo_calls/repo")
		})
	}
}

// TestVulnerabilitiesRateLimited: secondary-limit refusals on the alert
// listings are waited out, retried and recorded, as for every GitHub call.
func TestVulnerabilitiesRateLimited(t *testing.T) {
	h := newHarness(t)
	h.sim.Throttle(2, http.StatusTooManyRequests, "0")
	res, err := collectVulns(t, h, collector.DefaultThresholds())
	require.NoError(t, err)
	require.Len(t, recordIDs(res, "rate_limit_wait"), 2)
	require.Equal(t, demoVerdicts, statuses(res))
}
