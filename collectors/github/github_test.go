package github

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json")

// now is the reference time of every test run.
var now = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

type harness struct {
	sim *ghsim.Sim
	srv *httptest.Server
	rec *collector.Recorder
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	sim := ghsim.New(now)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{sim: sim, srv: srv, rec: collector.NewRecorder()}
}

func (h *harness) settings(th collector.Thresholds) collector.Settings {
	return collector.Settings{
		ID:         "test",
		Sources:    collector.Sources{GitHub: h.sim.Source(h.srv.URL)},
		Thresholds: th,
		HTTPClient: collector.NewHTTPClient(nil),
	}
}

func (h *harness) collect(t *testing.T, f collector.Factory, th collector.Thresholds, req collector.Request) (*collector.Result, error) {
	t.Helper()
	c, err := f.New(h.settings(th))
	require.NoError(t, err)
	scopes, err := c.Scopes(t.Context())
	require.NoError(t, err)
	require.Len(t, scopes, 1)
	req.Scope = scopes[0]
	if req.Now.IsZero() {
		req.Now = now
	}
	return c.Collect(collector.WithRecorder(t.Context(), h.rec), req)
}

func thresholds(required int) collector.Thresholds {
	th := collector.DefaultThresholds()
	th.RequiredApprovals = required
	return th
}

// golden is the part of a result a case is about.
type golden struct {
	Window   *evidence.Window    `json:"window,omitempty"`
	Records  []evidence.Record   `json:"records"`
	Findings []evidence.Finding  `json:"findings"`
	Errors   []evidence.RunError `json:"errors,omitempty"`
}

// checkGolden compares g with testdata/name/expected.json, the test
// server's random address replaced by a fixed one.
func checkGolden(t *testing.T, name, serverURL string, g golden) {
	t.Helper()
	raw, err := json.MarshalIndent(g, "", "  ")
	require.NoError(t, err)
	got := []byte(strings.ReplaceAll(string(raw), serverURL, "http://127.0.0.1:0") + "\n")
	path := filepath.Join("testdata", name, "expected.json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(got))
}

// about keeps the records and findings whose id or resource is res or
// starts with res followed by '@'.
func about(res *collector.Result, resources ...string) golden {
	match := func(id string) bool {
		for _, r := range resources {
			if id == r || strings.HasPrefix(id, r+"@") {
				return true
			}
		}
		return false
	}
	g := golden{Records: []evidence.Record{}, Findings: []evidence.Finding{}}
	for _, r := range res.Records {
		if match(r.ID) {
			g.Records = append(g.Records, r)
		}
	}
	for _, f := range res.Findings {
		if match(f.Resource) {
			g.Findings = append(g.Findings, f)
		}
	}
	return g
}

func since(days int) time.Time { return now.AddDate(0, 0, -days) }

func TestPullRequestCases(t *testing.T) {
	pr := func(n int) string { return fmt.Sprintf("acme/api#%d", n) }
	cases := []struct {
		name     string
		required int
		setup    func(*ghsim.Sim)
		resource []string
		// want is each finding's status, by check, for the first resource.
		want map[string]evidence.Result
	}{
		{name: "pr_approved", required: 1, resource: []string{pr(ghsim.PRApproved)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Pass, CheckPRApprovedFinal: evidence.Pass}},
		{name: "pr_self_merged_no_review", required: 1, resource: []string{pr(ghsim.PRSelfMerged)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Fail, CheckPRApprovedFinal: evidence.Fail}},
		{name: "pr_commits_after_approval", required: 1, resource: []string{pr(ghsim.PRPushedAfter)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Pass, CheckPRApprovedFinal: evidence.Fail}},
		{name: "pr_approval_dismissed", required: 1, resource: []string{pr(ghsim.PRDismissed)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Fail, CheckPRApprovedFinal: evidence.Fail}},
		{name: "pr_changes_requested", required: 1, resource: []string{pr(ghsim.PRChangesRequested)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Fail, CheckPRApprovedFinal: evidence.Fail}},
		{name: "pr_bot_approval_only", required: 1, resource: []string{pr(ghsim.PRBotApproved)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Fail, CheckPRApprovedFinal: evidence.Fail}},
		{name: "pr_two_required_two_given", required: 2, resource: []string{pr(ghsim.PRTwoApprovals)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Pass, CheckPRApprovedFinal: evidence.Pass}},
		{name: "pr_two_required_one_given", required: 2, resource: []string{pr(ghsim.PRApproved)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Fail, CheckPRApprovedFinal: evidence.Pass}},
		{name: "pr_protected_release_branch", required: 1, resource: []string{pr(ghsim.PRReleaseBranch)},
			want: map[string]evidence.Result{CheckPRApproved: evidence.Pass, CheckPRApprovedFinal: evidence.Pass}},
		{name: "direct_push", required: 1, resource: []string{"acme/api@" + ghsim.OID("acme/api direct push")},
			want: map[string]evidence.Result{CheckDirectPush: evidence.Fail}},
		{name: "no_direct_push", required: 1, resource: []string{"acme/web"},
			want: map[string]evidence.Result{CheckDirectPush: evidence.Pass}},
		{name: "protection_classic", required: 1, resource: []string{"acme/api:main"},
			want: map[string]evidence.Result{CheckProtection: evidence.Pass}},
		{name: "protection_ruleset", required: 1, resource: []string{"acme/web:main"},
			want: map[string]evidence.Result{CheckProtection: evidence.Pass}},
		{name: "protection_not_protected_404", required: 1, resource: []string{"acme/infra:main"},
			want: map[string]evidence.Result{CheckProtection: evidence.Fail}},
		{name: "protection_forbidden_403", required: 1, resource: []string{"acme/infra:main"},
			setup: func(s *ghsim.Sim) { s.Org.Repo("infra").ProtectionStatus = http.StatusForbidden },
			want:  map[string]evidence.Result{CheckProtection: evidence.Error}},
		{name: "protection_weak", required: 1, resource: []string{"acme/api:main"},
			setup: func(s *ghsim.Sim) {
				p := s.Org.Repo("api").Protection
				p.RequiredPullRequestReviews.DismissStaleReviews = false
				p.EnforceAdmins.Enabled = false
				p.AllowForcePushes.Enabled = true
			},
			want: map[string]evidence.Result{CheckProtection: evidence.Fail}},
		// protected_branches: [release] is checked besides each default
		// branch, in the repositories that have such a branch.
		{name: "protected_branch_unprotected", required: 1, resource: []string{"acme/api:release"},
			setup: func(s *ghsim.Sim) { s.Org.Repo("api").Branches["release"] = nil },
			want:  map[string]evidence.Result{CheckProtection: evidence.Fail}},
		{name: "protected_branch_ruleset", required: 1, resource: []string{"acme/web:release"},
			setup: func(s *ghsim.Sim) {
				web := s.Org.Repo("web")
				web.Branches = map[string]*gh.Protection{"release": nil}
				web.Rulesets[0].Conditions.RefName.Include = append(web.Rulesets[0].Conditions.RefName.Include, "refs/heads/release")
			},
			want: map[string]evidence.Result{CheckProtection: evidence.Pass}},
		{name: "protected_branch_missing", required: 1, resource: []string{"acme/infra:release"},
			want: map[string]evidence.Result{CheckProtection: evidence.NotApplicable}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h.sim)
			}
			res, err := h.collect(t, pullRequestsFactory(), thresholds(tc.required), collector.Request{Since: since(60)})
			var partial *collector.PartialError
			if err != nil {
				require.ErrorAs(t, err, &partial, "only a partial failure is expected")
			}
			g := about(res, tc.resource...)
			if partial != nil {
				g.Errors = partial.Errors
			}
			got := map[string]evidence.Result{}
			for _, f := range g.Findings {
				if f.Resource == tc.resource[0] {
					require.NotContains(t, got, f.Check, "one finding per check and resource")
					got[f.Check] = f.Status
					require.NotEmpty(t, f.Reason)
					require.Empty(t, f.Controls, "controls are filled by the agent from the catalog")
					if f.Status == evidence.Fail {
						require.Contains(t, f.Reason, tc.resource[0], "a failure names its resource")
					}
				}
			}
			require.Equal(t, tc.want, got)
			checkGolden(t, tc.name, h.srv.URL, g)
		})
	}
}

// TestPullRequestsWholeRun pins a whole run's evidence, and that exactly
// the non-compliant pull requests fail.
func TestPullRequestsWholeRun(t *testing.T) {
	h := newHarness(t)
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
	require.NoError(t, err)
	require.Equal(t, &evidence.Window{Start: since(60), End: now}, res.Window)

	failing := map[string]bool{}
	for _, f := range res.Findings {
		if f.Check == CheckPRApproved && f.Status == evidence.Fail {
			failing[f.Resource] = true
		}
	}
	require.Equal(t, map[string]bool{
		"acme/api#102": true, "acme/api#104": true, "acme/api#105": true, "acme/api#106": true,
	}, failing)
	for _, r := range res.Records {
		require.NotEqual(t, "acme/api#90", r.ID, "a pull request merged before the window is not in it")
		require.NotEqual(t, "github.pull_request", r.Type+strings.TrimPrefix(r.ID, "acme/legacy"), "archived repositories are not read")
	}
	checkGolden(t, "whole_run", h.srv.URL, golden{Window: res.Window, Records: res.Records, Findings: res.Findings})
}

// TestConsecutiveWindows: a period split in two runs, the second starting
// where the first ended, covers every merged pull request exactly once,
// including one merged exactly at the split.
func TestConsecutiveWindows(t *testing.T) {
	t0, t1, t2 := since(60), ghsim.BoundaryTime(now), now
	prs := func(req collector.Request) []string {
		h := newHarness(t)
		res, err := h.collect(t, pullRequestsFactory(), thresholds(1), req)
		require.NoError(t, err)
		var out []string
		for _, r := range res.Records {
			if r.Type == "github.pull_request" {
				out = append(out, r.ID)
			}
		}
		return out
	}
	first := prs(collector.Request{Since: t0, Now: t1})
	second := prs(collector.Request{Since: t1, Now: t2})
	whole := prs(collector.Request{Since: t0, Now: t2})

	seen := map[string]int{}
	for _, id := range append(first, second...) {
		seen[id]++
	}
	for id, n := range seen {
		require.Equal(t, 1, n, "%s counted twice", id)
	}
	require.ElementsMatch(t, whole, append(first, second...))
	require.Contains(t, second, fmt.Sprintf("acme/api#%d", ghsim.PRBoundary), "merged at t1 belongs to [t1, t2)")
	require.NotContains(t, first, fmt.Sprintf("acme/api#%d", ghsim.PRBoundary))
}

func TestFirstRunLooksBack(t *testing.T) {
	h := newHarness(t)
	src := h.sim.Source(h.srv.URL)
	src.LookbackDays = 8
	s := h.settings(thresholds(1))
	s.Sources.GitHub = src
	c, err := pullRequestsFactory().New(s)
	require.NoError(t, err)
	res, err := c.Collect(t.Context(), collector.Request{Scope: evidence.Scope{Provider: "github", Account: "acme"}, Now: now})
	require.NoError(t, err)
	require.Equal(t, since(8), res.Window.Start)
	for _, r := range res.Records {
		if r.Type == "github.pull_request" {
			require.Contains(t, []string{"acme/api#109", "acme/web#7", "acme/infra#12"}, r.ID)
		}
	}
}

// TestRESTFallback: without GraphQL the pull requests and their reviews
// come from REST, with the same verdicts.
func TestRESTFallback(t *testing.T) {
	h := newHarness(t)
	want, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
	require.NoError(t, err)
	h.sim.NoGraphQL = true
	got, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
	require.NoError(t, err)
	require.Equal(t, want.Findings, got.Findings, "the same verdicts for the same reasons")
}

// TestRateLimitRetry: secondary-limit refusals with Retry-After are waited
// out and retried, and each wait is recorded.
func TestRateLimitRetry(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			h := newHarness(t)
			h.sim.Throttle(2, status, "0")
			res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
			require.NoError(t, err)
			var waits []evidence.Record
			for _, r := range res.Records {
				if r.Type == "rate_limit_wait" {
					waits = append(waits, r)
				}
			}
			require.Len(t, waits, 2)
			require.Equal(t, status, waits[0].Attributes["http_status"])
			refused := 0
			for _, c := range h.rec.Calls() {
				if c.HTTPStatus == status {
					refused++
				}
			}
			require.Equal(t, 2, refused, "the refused attempts are in the provenance too")
		})
	}
}

// TestSecondaryLimitWithoutHeaders: a 403 that says "secondary rate limit"
// but carries no header is waited out, not taken for a permission answer.
func TestSecondaryLimitWithoutHeaders(t *testing.T) {
	defer func(d time.Duration) { secondaryDefaultWait = d }(secondaryDefaultWait)
	secondaryDefaultWait = 0
	h := newHarness(t)
	h.sim.Throttle(1, http.StatusForbidden, "")
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
	require.NoError(t, err)
	var reasons []any
	for _, r := range res.Records {
		if r.Type == "rate_limit_wait" {
			reasons = append(reasons, r.Attributes["reason"])
		}
	}
	require.Equal(t, []any{"secondary rate limit (no Retry-After)"}, reasons)
}

// TestRateLimitExhausted: a limit that does not lift, or would take longer
// than a run may wait, ends the run with the refusal as its error instead
// of hanging it.
func TestRateLimitExhausted(t *testing.T) {
	for name, retryAfter := range map[string]string{"retries used up": "0", "wait too long": "3600"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.sim.Throttle(1000, http.StatusTooManyRequests, retryAfter)
			_, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
			require.ErrorContains(t, err, "429")
		})
	}
}

// TestRateLimitWaitRespectsContext: a run told to wait ten minutes stops
// waiting when its context ends.
func TestRateLimitWaitRespectsContext(t *testing.T) {
	sim := ghsim.New(now)
	sim.Throttle(1, http.StatusForbidden, "600")
	refused := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sim.ServeHTTP(w, r)
		once.Do(func() { close(refused) })
	}))
	t.Cleanup(srv.Close)
	h := &harness{sim: sim, srv: srv, rec: collector.NewRecorder()}
	c, err := pullRequestsFactory().New(h.settings(thresholds(1)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Collect(ctx, collector.Request{Scope: evidence.Scope{Provider: "github", Account: "acme"}, Since: since(60), Now: now})
		done <- err
	}()
	<-refused
	cancel()
	err = <-done
	require.ErrorIs(t, err, context.Canceled)
}

func TestAccess(t *testing.T) {
	h := newHarness(t)
	res, err := h.collect(t, accessFactory(), thresholds(1), collector.Request{})
	require.NoError(t, err)
	checkGolden(t, "access", h.srv.URL, golden{Records: res.Records, Findings: res.Findings})

	t.Run("two factor hidden is an error", func(t *testing.T) {
		h := newHarness(t)
		h.sim.Org.TwoFactorRequired = nil
		res, err := h.collect(t, accessFactory(), thresholds(1), collector.Request{})
		require.NoError(t, err)
		for _, f := range res.Findings {
			if f.Check == CheckTwoFactor {
				require.Equal(t, evidence.Error, f.Status)
			}
		}
	})
}

// TestCallsHaveDeclaredPermissions: every call the collectors make names an
// operation whose permission its factory declares.
func TestCallsHaveDeclaredPermissions(t *testing.T) {
	for _, tc := range []struct {
		f   collector.Factory
		ops map[string]permission
		ng  bool
	}{
		{pullRequestsFactory(), pullRequestOperations, false},
		{pullRequestsFactory(), pullRequestOperations, true},
		{accessFactory(), accessOperations, false},
		{vulnerabilitiesFactory(), vulnerabilityOperations, false},
	} {
		h := newHarness(t)
		h.sim.NoGraphQL = tc.ng
		_, _ = h.collect(t, tc.f, thresholds(1), collector.Request{Since: since(60)})
		calls := h.rec.Calls()
		require.NotEmpty(t, calls)
		for _, c := range calls {
			require.Equal(t, "github", c.Service, "operation %s is not named", c.Operation)
			p, ok := tc.ops[c.Operation]
			require.True(t, ok, "%s: operation %s has no declared permission", tc.f.Type, c.Operation)
			require.Contains(t, tc.f.Permissions, p.token)
			require.Contains(t, tc.f.Permissions, p.app)
		}
	}
}

func TestNoSecretsInEvidence(t *testing.T) {
	h := newHarness(t)
	h.sim.Org.Repo("infra").ProtectionStatus = http.StatusForbidden
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
	b, jerr := json.Marshal(struct {
		R   *collector.Result
		Err string
		C   []evidence.Call
	}{res, fmt.Sprint(err), h.rec.Calls()})
	require.NoError(t, jerr)
	require.NotContains(t, string(b), ghsim.Token)
}

func TestGraphQLURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.github.com/":         "https://api.github.com/graphql",
		"https://ghe.example.com/api/v3/": "https://ghe.example.com/api/graphql",
		"http://127.0.0.1:8080/api/v3/":   "http://127.0.0.1:8080/api/graphql",
		"https://ghe.example.com/prefix/": "https://ghe.example.com/prefix/graphql",
	} {
		got, err := graphqlURL(in)
		require.NoError(t, err)
		require.Equal(t, want, got, in)
	}
}

func FuzzDecodeGraphQL(f *testing.F) {
	f.Add([]byte(`{"data":{"repository":{"pullRequests":{"pageInfo":{"hasNextPage":true,"endCursor":"x"},"nodes":[{"number":1,"mergedAt":"2026-01-01T00:00:00Z","reviews":{"totalCount":1,"nodes":[{"author":null,"state":"APPROVED","commit":null}]}}]}}}}`))
	f.Add([]byte(`{"data":null,"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}`))
	f.Add([]byte(`{"data":{"repository":null}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var prs gqlPullRequests
		_ = decodeGraphQL(b, &prs)
		var hist gqlHistory
		_ = decodeGraphQL(b, &hist)
	})
}

func FuzzRateLimitDelay(f *testing.F) {
	f.Add(403, "60", "0", "1700000000")
	f.Add(429, "", "", "")
	f.Add(200, "", "0", "99999999999999999999")
	f.Fuzz(func(t *testing.T, status int, retryAfter, remaining, reset string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		resp.Header.Set("Retry-After", retryAfter)
		resp.Header.Set("X-RateLimit-Remaining", remaining)
		resp.Header.Set("X-RateLimit-Reset", reset)
		d, _, _ := rateLimitDelay(resp, now)
		if d < 0 {
			t.Fatalf("negative wait %v", d)
		}
	})
}

// TestGitHubAppAuth: a GitHub App signs a JWT with its private key, trades
// it for an installation token, and reads with that; neither the key nor
// the token reaches the evidence.
func TestGitHubAppAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))

	h := newHarness(t)
	s := h.settings(thresholds(1))
	s.Sources.GitHub.Token = ""
	s.Sources.GitHub.AppID = 12345
	s.Sources.GitHub.InstallationID = 67890
	s.Sources.GitHub.PrivateKeyFile = keyFile
	c, err := pullRequestsFactory().New(s)
	require.NoError(t, err)
	res, err := c.Collect(collector.WithRecorder(t.Context(), h.rec), collector.Request{
		Scope: evidence.Scope{Provider: "github", Account: "acme"}, Since: since(60), Now: now})
	require.NoError(t, err)
	require.NotEmpty(t, res.Findings)

	var tokenCalls int
	for _, call := range h.rec.Calls() {
		_, ok := pullRequestOperations[call.Operation]
		require.True(t, ok, "operation %s has no declared permission", call.Operation)
		if call.Operation == "apps.create_installation_access_token" {
			tokenCalls++
		}
	}
	require.Equal(t, 1, tokenCalls, "the installation token is fetched once and reused")

	b, err := json.Marshal(struct {
		R *collector.Result
		C []evidence.Call
	}{res, h.rec.Calls()})
	require.NoError(t, err)
	require.NotContains(t, string(b), ghsim.AppToken)
	require.NotContains(t, string(b), "PRIVATE KEY")

	t.Run("missing key file names the field, not the content", func(t *testing.T) {
		s.Sources.GitHub.PrivateKeyFile = filepath.Join(t.TempDir(), "absent.pem")
		_, err := pullRequestsFactory().New(s)
		require.ErrorContains(t, err, "sources.github.private_key_file")
	})
}

// TestPRUpdatedWhilePaging: a merged pull request that is updated (and so
// jumps to the front of the listing) while later pages are being read is
// still collected, once.
func TestPRUpdatedWhilePaging(t *testing.T) {
	sim := ghsim.New(now)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		sim.ServeHTTP(w, r)
		if bytes.Contains(body, []byte("pullRequests(")) && bytes.Contains(body, []byte(`"name":"api"`)) && bytes.Contains(body, []byte(`"base":"main"`)) {
			// After the first page: someone comments on an old one.
			once.Do(func() { sim.Org.Repo("api").PR(ghsim.PRApproved).UpdatedAt = time.Now() })
		}
	}))
	t.Cleanup(srv.Close)
	h := &harness{sim: sim, srv: srv, rec: collector.NewRecorder()}
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
	require.NoError(t, err)
	count := 0
	for _, r := range res.Records {
		if r.ID == fmt.Sprintf("acme/api#%d", ghsim.PRApproved) {
			count++
		}
	}
	require.Equal(t, 1, count)
}
