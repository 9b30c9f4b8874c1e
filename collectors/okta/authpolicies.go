package okta

import (
	"fmt"
	"sort"
	"strings"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// authRule is the part of an authentication policy (ACCESS_POLICY) rule the
// checks read.
type authRule struct {
	Name, Status, Access               string
	FactorMode, Method, Reauthenticate string
}

func authRuleOf(r *okta.AccessPolicyRule) authRule {
	a := authRule{Name: r.Name, Status: r.Status}
	if r.Actions == nil || r.Actions.AppSignOn == nil {
		return a
	}
	a.Access = r.Actions.AppSignOn.Access
	if v := r.Actions.AppSignOn.VerificationMethod; v != nil {
		a.FactorMode, a.Method, a.Reauthenticate = v.FactorMode, v.Type, v.ReauthenticateIn
	}
	return a
}

// accessPolicyOf is the id of the authentication policy an app links to
// (_links.accessPolicy on Identity Engine), or "".
func accessPolicyOf(a *okta.Application) string {
	links, _ := a.Links.(map[string]any)
	link, _ := links["accessPolicy"].(map[string]any)
	href, _ := link["href"].(string)
	_, id, ok := strings.Cut(href, "/api/v1/policies/")
	if !ok || strings.ContainsAny(id, "/?#") {
		return ""
	}
	return id
}

// appsByPolicy maps authentication policy ids to the labels of the apps
// they govern, sorted.
func appsByPolicy(apps []*okta.Application) map[string][]string {
	out := map[string][]string{}
	for _, a := range apps {
		if id := accessPolicyOf(a); id != "" {
			out[id] = append(out[id], a.Label)
		}
	}
	for _, labels := range out {
		sort.Strings(labels)
	}
	return out
}

// authPolicyMFAFinding: every active rule of an authentication policy that
// lets users into its apps asks for two factors (factorMode 2FA). apps are
// the apps known to use the policy, for the record: a policy is judged even
// when no listed app uses it, since Okta's own apps may.
func authPolicyMFAFinding(p *okta.Policy, rules []*okta.AccessPolicyRule, read bool, apps []string) evidence.Finding {
	f := evidence.Finding{Check: CheckPolicyMFA, Resource: policyResource(p)}
	if !read {
		f.Status, f.Reason = evidence.Error, fmt.Sprintf("the rules of authentication policy %q could not be read", p.Name)
		return f
	}
	var with, oneFactor, unknown []string
	for _, r := range rules {
		a := authRuleOf(r)
		if a.Status != "ACTIVE" || a.Access != "ALLOW" {
			continue
		}
		switch a.FactorMode {
		case "2FA":
			with = append(with, a.Name)
		case "1FA":
			oneFactor = append(oneFactor, a.Name)
		default:
			unknown = append(unknown, fmt.Sprintf("%s (verification method %q, factor mode %q)", a.Name, a.Method, a.FactorMode))
		}
	}
	for _, l := range [][]string{with, oneFactor, unknown} {
		sort.Strings(l)
	}
	f.Observed = map[string]any{"policy": p.Name, "type": p.Type, "apps": nonNil(apps), "rules_requiring_mfa": nonNil(with), "rules_one_factor": nonNil(oneFactor), "rules_not_evaluated": nonNil(unknown)}
	switch {
	case len(oneFactor) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("authentication policy %q lets users into its apps with one factor under rule(s) %s", p.Name, strings.Join(oneFactor, ", "))
	case len(unknown) > 0:
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("authentication policy %q: rule(s) %s do not state a factor mode", p.Name, strings.Join(unknown, ", "))
	case len(with) == 0:
		f.Status = evidence.NotApplicable
		f.Reason = fmt.Sprintf("authentication policy %q has no active rule that allows access", p.Name)
	default:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("every active rule of authentication policy %q that allows access requires two factors", p.Name)
	}
	return f
}

func authPolicyRecord(p *okta.Policy, rules []*okta.AccessPolicyRule) evidence.Record {
	rs := make([]any, 0, len(rules))
	for _, r := range rules {
		a := authRuleOf(r)
		rs = append(rs, map[string]any{
			"id": r.Id, "name": a.Name, "status": a.Status, "access": a.Access,
			"factor_mode": a.FactorMode, "verification_method": a.Method, "reauthenticate_in": a.Reauthenticate,
			"priority": intOrNil(r.PriorityPtr),
		})
	}
	return evidence.Record{Type: "okta.policy", ID: p.Id, Attributes: map[string]any{
		"name": p.Name, "type": p.Type, "status": p.Status, "priority": intOrNil(p.PriorityPtr), "system": boolOrNil(p.System), "rules": rs,
	}}
}
