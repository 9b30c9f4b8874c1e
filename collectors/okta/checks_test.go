package okta

import (
	"testing"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func user(status string, lastLogin *time.Time) *okta.User {
	p := okta.UserProfile{"login": "u@acme.example"}
	return &okta.User{Id: "00u1", Status: status, LastLogin: lastLogin, Profile: &p}
}

func factor(typ, status string) *okta.UserFactor {
	return &okta.UserFactor{FactorType: typ, Provider: "OKTA", Status: status}
}

func TestMFABoundaries(t *testing.T) {
	cases := []struct {
		name    string
		status  string
		factors []*okta.UserFactor
		read    bool
		want    evidence.Result
		reason  string
	}{
		{"push", "ACTIVE", []*okta.UserFactor{factor("push", "ACTIVE")}, true, evidence.Pass, "strong"},
		{"hardware token", "ACTIVE", []*okta.UserFactor{factor("token:hardware", "ACTIVE")}, true, evidence.Pass, "strong"},
		{"FastPass", "ACTIVE", []*okta.UserFactor{factor("signed_nonce", "ACTIVE")}, true, evidence.Pass, "strong"},
		{"sms beside totp", "ACTIVE", []*okta.UserFactor{factor("sms", "ACTIVE"), factor("token:software:totp", "ACTIVE")}, true, evidence.Pass, "strong"},
		{"voice call only", "ACTIVE", []*okta.UserFactor{factor("call", "ACTIVE")}, true, evidence.Fail, "weak factor"},
		{"email only", "ACTIVE", []*okta.UserFactor{factor("email", "ACTIVE")}, true, evidence.Fail, "weak factor"},
		{"security question only", "ACTIVE", []*okta.UserFactor{factor("question", "ACTIVE")}, true, evidence.Fail, "weak factor"},
		{"push not yet activated", "ACTIVE", []*okta.UserFactor{factor("push", "PENDING_ACTIVATION")}, true, evidence.Fail, "no active MFA factor"},
		{"none", "ACTIVE", nil, true, evidence.Fail, "no active MFA factor"},
		{"locked out users are still checked", "LOCKED_OUT", nil, true, evidence.Fail, "no active MFA factor"},
		{"factors not read", "ACTIVE", nil, false, evidence.Error, "could not be read"},
		{"suspended", "SUSPENDED", nil, false, evidence.NotApplicable, "cannot sign in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mfaFinding(user(tc.status, nil), tc.factors, tc.read)
			require.Equal(t, tc.want, f.Status)
			require.Contains(t, f.Reason, tc.reason)
		})
	}
}

func TestInactiveBoundaries(t *testing.T) {
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	ago := func(d int) *time.Time { t := now.AddDate(0, 0, -d); return &t }
	for _, tc := range []struct {
		last *time.Time
		want evidence.Result
	}{{ago(90), evidence.Pass}, {ago(91), evidence.Fail}, {nil, evidence.Fail}, {ago(0), evidence.Pass}} {
		f, ok := inactiveFinding(user("ACTIVE", tc.last), now, 90)
		require.True(t, ok)
		require.Equal(t, tc.want, f.Status, f.Reason)
	}
	_, ok := inactiveFinding(user("SUSPENDED", nil), now, 90)
	require.False(t, ok, "only active users are judged")
}

func TestSessionIdleBoundaries(t *testing.T) {
	p := &okta.Policy{Id: "00p1", Name: "Default Policy", Status: "ACTIVE", Type: "OKTA_SIGN_ON"}
	rule := func(name, status, access string, idle *int64, mfa bool) *okta.PolicyRule {
		return &okta.PolicyRule{Name: name, Status: status, Actions: &okta.PolicyRuleActions{Signon: &okta.OktaSignOnPolicyRuleSignonActions{
			Access: access, RequireFactor: &mfa, Session: &okta.OktaSignOnPolicyRuleSignonSessionActions{MaxSessionIdleMinutesPtr: idle},
		}}}
	}
	n := func(v int64) *int64 { return &v }
	cases := []struct {
		name     string
		rules    []*okta.PolicyRule
		idle     evidence.Result
		mfaCheck evidence.Result
	}{
		{"at the limit", []*okta.PolicyRule{rule("r", "ACTIVE", "ALLOW", n(30), true)}, evidence.Pass, evidence.Pass},
		{"one minute over", []*okta.PolicyRule{rule("r", "ACTIVE", "ALLOW", n(31), true)}, evidence.Fail, evidence.Pass},
		{"two hours", []*okta.PolicyRule{rule("r", "ACTIVE", "ALLOW", n(120), false)}, evidence.Fail, evidence.Fail},
		{"inactive rule ignored", []*okta.PolicyRule{rule("r", "ACTIVE", "ALLOW", n(15), true), rule("old", "INACTIVE", "ALLOW", n(600), false)}, evidence.Pass, evidence.Pass},
		{"deny rule ignored", []*okta.PolicyRule{rule("r", "ACTIVE", "ALLOW", n(15), true), rule("block", "ACTIVE", "DENY", n(600), false)}, evidence.Pass, evidence.Pass},
		{"idle timeout not stated", []*okta.PolicyRule{rule("r", "ACTIVE", "ALLOW", nil, true)}, evidence.Error, evidence.Pass},
		{"no rule lets anyone in", []*okta.PolicyRule{rule("block", "ACTIVE", "DENY", n(600), false)}, evidence.NotApplicable, evidence.NotApplicable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := sessionIdleFinding(p, tc.rules, true, 30)
			require.Equal(t, tc.idle, f.Status, f.Reason)
			m := policyMFAFinding(p, tc.rules, true, classicEngine)
			require.Equal(t, tc.mfaCheck, m.Status, m.Reason)
		})
	}
}

// A global session rule without MFA fails on Classic Engine; on Identity
// Engine the apps' authentication policies decide; when it is not known
// which engine the org runs, nothing can be concluded.
func TestSessionPolicyMFAByEngine(t *testing.T) {
	p := &okta.Policy{Id: "00p1", Name: "Default Policy", Status: "ACTIVE", Type: "OKTA_SIGN_ON"}
	no, yes := false, true
	rule := func(mfa *bool) []*okta.PolicyRule {
		return []*okta.PolicyRule{{Name: "r", Status: "ACTIVE", Actions: &okta.PolicyRuleActions{Signon: &okta.OktaSignOnPolicyRuleSignonActions{Access: "ALLOW", RequireFactor: mfa}}}}
	}
	for engine, want := range map[string]evidence.Result{classicEngine: evidence.Fail, identityEngine: evidence.NotApplicable, "": evidence.Error} {
		f := policyMFAFinding(p, rule(&no), true, engine)
		require.Equal(t, want, f.Status, "%q: %s", engine, f.Reason)
		f = policyMFAFinding(p, rule(&yes), true, engine)
		require.Equal(t, evidence.Pass, f.Status, "a rule requiring MFA passes on any engine (%q)", engine)
	}
}

func TestAuthenticationPolicyMFA(t *testing.T) {
	p := &okta.Policy{Id: "00p2", Name: "Salesforce", Status: "ACTIVE", Type: "ACCESS_POLICY"}
	rule := func(name, status, access, mode string) *okta.AccessPolicyRule {
		r := &okta.AccessPolicyRule{Name: name, Status: status, Actions: &okta.AccessPolicyRuleActions{AppSignOn: &okta.AccessPolicyRuleApplicationSignOn{Access: access}}}
		if mode != "" {
			r.Actions.AppSignOn.VerificationMethod = &okta.VerificationMethod{Type: "ASSURANCE", FactorMode: mode}
		}
		return r
	}
	for _, tc := range []struct {
		name  string
		rules []*okta.AccessPolicyRule
		want  evidence.Result
	}{
		{"two factors", []*okta.AccessPolicyRule{rule("MFA", "ACTIVE", "ALLOW", "2FA")}, evidence.Pass},
		{"one factor", []*okta.AccessPolicyRule{rule("MFA", "ACTIVE", "ALLOW", "2FA"), rule("Catch-all", "ACTIVE", "ALLOW", "1FA")}, evidence.Fail},
		{"one factor but denied", []*okta.AccessPolicyRule{rule("MFA", "ACTIVE", "ALLOW", "2FA"), rule("Block", "ACTIVE", "DENY", "1FA")}, evidence.Pass},
		{"one factor but inactive", []*okta.AccessPolicyRule{rule("MFA", "ACTIVE", "ALLOW", "2FA"), rule("Old", "INACTIVE", "ALLOW", "1FA")}, evidence.Pass},
		{"factor mode not stated", []*okta.AccessPolicyRule{rule("MFA", "ACTIVE", "ALLOW", "2FA"), rule("Odd", "ACTIVE", "ALLOW", "")}, evidence.Error},
		{"nobody let in", []*okta.AccessPolicyRule{rule("Block", "ACTIVE", "DENY", "")}, evidence.NotApplicable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := authPolicyMFAFinding(p, tc.rules, true, []string{"Salesforce"})
			require.Equal(t, tc.want, f.Status, f.Reason)
			require.Equal(t, "policies/00p2", f.Resource)
		})
	}
	f := authPolicyMFAFinding(p, nil, false, nil)
	require.Equal(t, evidence.Error, f.Status, "rules that could not be read decide nothing")
}

func TestDeprovisionedBoundaries(t *testing.T) {
	for _, tc := range []struct {
		status   string
		a        assignments
		complete bool
		want     evidence.Result
		judged   bool
	}{
		{"DEPROVISIONED", assignments{apps: []string{"Salesforce"}}, true, evidence.Fail, true},
		{"SUSPENDED", assignments{groups: []string{"Engineering"}}, true, evidence.Fail, true},
		{"SUSPENDED", assignments{}, true, evidence.Pass, true},
		{"SUSPENDED", assignments{}, false, evidence.Error, true},
		{"ACTIVE", assignments{apps: []string{"AWS"}}, true, "", false},
	} {
		f, ok := deprovisionedFinding(user(tc.status, nil), tc.a, tc.complete)
		require.Equal(t, tc.judged, ok)
		require.Equal(t, tc.want, f.Status)
	}
}

func TestAccessPolicyOf(t *testing.T) {
	for href, want := range map[any]string{
		"https://acme.okta.com/api/v1/policies/rst1abc": "rst1abc",
		"https://acme.okta.com/api/v1/apps/0oa1":        "",
		"https://acme.okta.com/api/v1/policies/a/rules": "",
		42: "",
	} {
		a := &okta.Application{Links: map[string]any{"accessPolicy": map[string]any{"href": href}}}
		require.Equal(t, want, accessPolicyOf(a), "%v", href)
	}
	require.Empty(t, accessPolicyOf(&okta.Application{}))
}
