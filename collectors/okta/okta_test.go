package okta

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.json")

var now = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

type harness struct {
	sim *oktasim.Sim
	srv *httptest.Server
	rec *collector.Recorder
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	sim := oktasim.New(now)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{sim: sim, srv: srv, rec: collector.NewRecorder()}
}

func (h *harness) collect(t *testing.T, th collector.Thresholds) (*collector.Result, error) {
	t.Helper()
	c, err := accessFactory().New(collector.Settings{
		ID: "test", Sources: collector.Sources{Okta: h.sim.Source(h.srv.URL)},
		Thresholds: th, HTTPClient: collector.NewHTTPClient(nil),
	})
	require.NoError(t, err)
	scopes, err := c.Scopes(t.Context())
	require.NoError(t, err)
	require.Len(t, scopes, 1)
	require.Equal(t, "okta", scopes[0].Provider)
	require.Equal(t, strings.TrimPrefix(h.srv.URL, "http://"), scopes[0].Account)
	return c.Collect(collector.WithRecorder(t.Context(), h.rec), collector.Request{Scope: scopes[0], Now: now})
}

type golden struct {
	Records  []evidence.Record  `json:"records"`
	Findings []evidence.Finding `json:"findings"`
}

// checkGolden compares g with testdata/name/expected.json, the test
// server's random address replaced by a fixed one.
func checkGolden(t *testing.T, name, serverURL string, g golden) {
	t.Helper()
	raw, err := json.MarshalIndent(g, "", "  ")
	require.NoError(t, err)
	host := strings.TrimPrefix(serverURL, "http://")
	got := []byte(strings.ReplaceAll(string(raw), host, "127.0.0.1:0") + "\n")
	path := filepath.Join("testdata", name, "expected.json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(got))
}

// about keeps the findings on resource and the records of the same object.
func about(res *collector.Result, resource string) golden {
	g := golden{Records: []evidence.Record{}, Findings: []evidence.Finding{}}
	for _, f := range res.Findings {
		if f.Resource == resource {
			g.Findings = append(g.Findings, f)
		}
	}
	for _, r := range res.Records {
		if r.Attributes["login"] == resource || "policies/"+r.ID == resource {
			g.Records = append(g.Records, r)
		}
	}
	return g
}

func TestAccessCases(t *testing.T) {
	cases := []struct {
		name, resource string
		want           map[string]evidence.Result
	}{
		{"user_no_factor", oktasim.UserNoFactor, map[string]evidence.Result{CheckUserMFA: evidence.Fail, CheckInactive: evidence.Pass}},
		{"user_sms_only", oktasim.UserSMSOnly, map[string]evidence.Result{CheckUserMFA: evidence.Fail, CheckInactive: evidence.Pass}},
		{"user_push", oktasim.UserPush, map[string]evidence.Result{CheckUserMFA: evidence.Pass, CheckInactive: evidence.Pass}},
		{"user_webauthn", oktasim.UserWebAuthn, map[string]evidence.Result{CheckUserMFA: evidence.Pass, CheckInactive: evidence.Pass}},
		{"user_idle_120_days", oktasim.UserIdle, map[string]evidence.Result{CheckUserMFA: evidence.Pass, CheckInactive: evidence.Fail}},
		{"user_deprovisioned_assigned", oktasim.UserDeprovisioned, map[string]evidence.Result{CheckUserMFA: evidence.NotApplicable, CheckDeprovisioned: evidence.Fail}},
		{"user_suspended_unassigned", oktasim.UserSuspended, map[string]evidence.Result{CheckUserMFA: evidence.NotApplicable, CheckDeprovisioned: evidence.Pass}},
		{"policy_session_idle_2h", "policies/" + oktasim.PolicyDefault, map[string]evidence.Result{CheckPolicyMFA: evidence.Pass, CheckSessionIdle: evidence.Fail}},
		{"policy_session_idle_15m", "policies/" + oktasim.PolicyAdmins, map[string]evidence.Result{CheckPolicyMFA: evidence.Pass, CheckSessionIdle: evidence.Pass}},
		{"auth_policy_two_factors", "policies/" + oktasim.PolicyAuthDashboard, map[string]evidence.Result{CheckPolicyMFA: evidence.Pass}},
		{"auth_policy_one_factor", "policies/" + oktasim.PolicyAuthOneFactor, map[string]evidence.Result{CheckPolicyMFA: evidence.Fail}},
	}
	h := newHarness(t)
	res, err := h.collect(t, collector.DefaultThresholds())
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := about(res, tc.resource)
			got := map[string]evidence.Result{}
			for _, f := range g.Findings {
				require.NotContains(t, got, f.Check, "one finding per check and resource")
				got[f.Check] = f.Status
				require.Empty(t, f.Controls)
				require.NotEmpty(t, f.Reason)
			}
			require.Equal(t, tc.want, got)
			checkGolden(t, tc.name, h.srv.URL, g)
		})
	}
	t.Run("sms only is a weak factor", func(t *testing.T) {
		for _, f := range about(res, oktasim.UserSMSOnly).Findings {
			if f.Check == CheckUserMFA {
				require.Contains(t, f.Reason, "weak factor")
			}
		}
	})
	checkGolden(t, "whole_run", h.srv.URL, golden{Records: res.Records, Findings: res.Findings})
}

// On Identity Engine a global session rule without MFA is no verdict (the
// apps' authentication policies decide, and are checked); on Classic Engine,
// which has no authentication policies and refuses to list them, it fails.
func TestEngines(t *testing.T) {
	for _, classic := range []bool{false, true} {
		h := newHarness(t)
		h.sim.Org.Classic = classic
		no := false
		h.sim.Org.Rules[oktasim.PolicyDefault][0].Actions.Signon.RequireFactor = &no
		res, err := h.collect(t, collector.DefaultThresholds())
		require.NoError(t, err, "a Classic org's refusal to list authentication policies is not a failure")
		status := map[string]evidence.Result{}
		for _, f := range res.Findings {
			if f.Check == CheckPolicyMFA {
				status[f.Resource] = f.Status
			}
		}
		if classic {
			require.Equal(t, map[string]evidence.Result{
				"policies/" + oktasim.PolicyDefault: evidence.Fail,
				"policies/" + oktasim.PolicyAdmins:  evidence.Pass,
			}, status)
			continue
		}
		require.Equal(t, map[string]evidence.Result{
			"policies/" + oktasim.PolicyDefault:       evidence.NotApplicable,
			"policies/" + oktasim.PolicyAdmins:        evidence.Pass,
			"policies/" + oktasim.PolicyAuthDashboard: evidence.Pass,
			"policies/" + oktasim.PolicyAuthOneFactor: evidence.Fail,
		}, status)
	}
}

func TestThresholds(t *testing.T) {
	h := newHarness(t)
	th := collector.DefaultThresholds()
	th.SessionIdleMaxMinutes = 120
	th.UserInactiveDays = 150
	res, err := h.collect(t, th)
	require.NoError(t, err)
	for _, f := range res.Findings {
		if f.Check == CheckSessionIdle || f.Check == CheckInactive {
			require.Equal(t, evidence.Pass, f.Status, "%s %s: %s", f.Check, f.Resource, f.Reason)
		}
	}
}

// TestRateLimitRetry: the SDK waits out 429s as X-Rate-Limit-Reset says;
// each wait is recorded and the run completes.
func TestRateLimitRetry(t *testing.T) {
	h := newHarness(t)
	h.sim.Throttle(2)
	res, err := h.collect(t, collector.DefaultThresholds())
	require.NoError(t, err)
	var waits int
	for _, r := range res.Records {
		if r.Type == "rate_limit_wait" {
			waits++
			require.Equal(t, http.StatusTooManyRequests, r.Attributes["http_status"])
		}
	}
	require.Equal(t, 2, waits)
}

// TestRateLimitExhausted: a limit that does not lift makes the run partial,
// with the failure named.
func TestRateLimitExhausted(t *testing.T) {
	h := newHarness(t)
	h.sim.Throttle(1000)
	_, err := h.collect(t, collector.DefaultThresholds())
	require.Error(t, err)
}

// TestPartialRead: what could not be read makes the checks that need it
// errors and the run partial; the rest is still evidence.
func TestPartialRead(t *testing.T) {
	h := newHarness(t)
	h.sim.Fail("/api/v1/users/00u1carol00000000003/factors", http.StatusForbidden)
	h.sim.Fail("/api/v1/policies/"+oktasim.PolicyDefault+"/rules", http.StatusForbidden)
	h.sim.Fail("/api/v1/policies/"+oktasim.PolicyAuthOneFactor+"/rules", http.StatusForbidden)
	res, err := h.collect(t, collector.DefaultThresholds())
	var partial *collector.PartialError
	require.ErrorAs(t, err, &partial)
	require.Len(t, partial.Errors, 3)
	status := map[string]evidence.Result{}
	for _, f := range res.Findings {
		status[f.Check+" "+f.Resource] = f.Status
	}
	require.Equal(t, evidence.Error, status[CheckUserMFA+" "+oktasim.UserSMSOnly])
	require.Equal(t, evidence.Error, status[CheckSessionIdle+" policies/"+oktasim.PolicyDefault])
	require.Equal(t, evidence.Error, status[CheckPolicyMFA+" policies/"+oktasim.PolicyDefault])
	require.Equal(t, evidence.Error, status[CheckPolicyMFA+" policies/"+oktasim.PolicyAuthOneFactor])
	require.Equal(t, evidence.Pass, status[CheckPolicyMFA+" policies/"+oktasim.PolicyAuthDashboard])
	require.Equal(t, evidence.Fail, status[CheckUserMFA+" "+oktasim.UserNoFactor])
	require.Equal(t, evidence.Error, status[CheckAccessList+" "+strings.TrimPrefix(h.srv.URL, "http://")])
}

func TestCallsHaveDeclaredPermissions(t *testing.T) {
	h := newHarness(t)
	_, err := h.collect(t, collector.DefaultThresholds())
	require.NoError(t, err)
	f := accessFactory()
	calls := h.rec.Calls()
	require.NotEmpty(t, calls)
	for _, c := range calls {
		require.Equal(t, "okta", c.Service)
		scope, ok := operations[c.Operation]
		require.True(t, ok, "operation %s has no declared scope", c.Operation)
		require.Contains(t, f.Permissions, scope)
		require.NotEmpty(t, c.RequestID)
	}
}

func TestNoSecretsInEvidence(t *testing.T) {
	h := newHarness(t)
	res, err := h.collect(t, collector.DefaultThresholds())
	b, jerr := json.Marshal(struct {
		R   *collector.Result
		Err string
		C   []evidence.Call
	}{res, fmt.Sprint(err), h.rec.Calls()})
	require.NoError(t, jerr)
	require.NotContains(t, string(b), oktasim.Token)
}

func TestBadToken(t *testing.T) {
	h := newHarness(t)
	src := h.sim.Source(h.srv.URL)
	src.Token = "wrong-token"
	c, err := accessFactory().New(collector.Settings{Sources: collector.Sources{Okta: src}, Thresholds: collector.DefaultThresholds(), HTTPClient: collector.NewHTTPClient(nil)})
	require.NoError(t, err)
	_, err = c.Collect(t.Context(), collector.Request{Scope: evidence.Scope{Provider: "okta", Account: "x"}, Now: now})
	require.Error(t, err)
	require.Contains(t, err.Error(), "Invalid token")
	require.NotContains(t, err.Error(), "wrong-token")
}

func TestHTTPSRequiredUnlessLoopback(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8080":      true,
		"http://localhost:1234":      true,
		"http://[::1]:99":            true,
		"http://acme.okta.com":       false,
		"https://acme.okta.com":      false,
		"http://10.0.0.1":            false,
		"http://127.0.0.1.evil.test": false,
	} {
		require.Equal(t, want, isLoopbackHTTP(u), u)
	}
	_, _, err := newClient(t.Context(), collector.Settings{Sources: collector.Sources{Okta: &collector.OktaSource{OrgURL: "http://acme.okta.com", Token: "x"}}})
	require.Error(t, err, "a remote plain-http org is refused")
}

func FuzzOktaBackoff(f *testing.F) {
	f.Add("Mon, 29 Jun 2026 12:00:00 GMT", "1782734460")
	f.Add("", "")
	f.Add("garbage", "-99999999999999999")
	f.Fuzz(func(t *testing.T, date, reset string) {
		h := http.Header{}
		h.Set("Date", date)
		h.Set("X-Rate-Limit-Reset", reset)
		secs, ok := oktaBackoff(h)
		if ok && (secs < 0 || secs > rateLimitMaxBackoffSec) {
			t.Fatalf("wait %d out of bounds", secs)
		}
	})
}

// TestCancelledRunIsNotComplete: a run whose context ends part-way reports
// what it could not read instead of passing silently.
func TestCancelledRunIsNotComplete(t *testing.T) {
	sim := oktasim.New(now)
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/factors") {
			once.Do(cancel)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := accessFactory().New(collector.Settings{Sources: collector.Sources{Okta: sim.Source(srv.URL)},
		Thresholds: collector.DefaultThresholds(), HTTPClient: collector.NewHTTPClient(nil)})
	require.NoError(t, err)
	_, err = c.Collect(ctx, collector.Request{Scope: evidence.Scope{Provider: "okta", Account: "x"}, Now: now})
	require.Error(t, err)
	require.ErrorContains(t, err, "context canceled")
}

// TestOAuthPrivateKey: a service app signs a client assertion with its
// private key, asks for exactly the declared read scopes, and reads with
// the access token; neither the key nor the token reaches the evidence.
func TestOAuthPrivateKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "okta.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))

	h := newHarness(t)
	src := h.sim.Source(h.srv.URL)
	src.Token = ""
	src.ClientID = "0oaserviceapp000001"
	src.PrivateKeyFile = keyFile
	c, err := accessFactory().New(collector.Settings{Sources: collector.Sources{Okta: src}, Thresholds: collector.DefaultThresholds(), HTTPClient: collector.NewHTTPClient(nil)})
	require.NoError(t, err)
	res, err := c.Collect(collector.WithRecorder(t.Context(), h.rec), collector.Request{Scope: evidence.Scope{Provider: "okta", Account: "x"}, Now: now})
	require.NoError(t, err)
	require.NotEmpty(t, res.Findings)
	// The SDK may fetch a token per concurrent first request; each asks for
	// exactly the declared scopes.
	grants := h.sim.GrantedScopes()
	require.NotEmpty(t, grants)
	for _, g := range grants {
		require.Equal(t, strings.Join(accessFactory().Permissions, " "), g)
	}

	b, err := json.Marshal(struct {
		R *collector.Result
		C []evidence.Call
	}{res, h.rec.Calls()})
	require.NoError(t, err)
	require.NotContains(t, string(b), oktasim.AccessToken)
	require.NotContains(t, string(b), "client_assertion")
}
