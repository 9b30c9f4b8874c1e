package okta

import (
	"fmt"
	"sort"
	"strings"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// signonRule is the part of an OKTA_SIGN_ON rule the checks read.
type signonRule struct {
	Name, Status, Access, FactorPromptMode string
	RequireFactor                          *bool
	IdleMinutes, LifetimeMinutes           *int64
	PersistentCookie                       *bool
}

func signon(r *okta.PolicyRule) signonRule {
	s := signonRule{Name: r.Name, Status: r.Status}
	if r.Actions == nil || r.Actions.Signon == nil {
		return s
	}
	a := r.Actions.Signon
	s.Access, s.FactorPromptMode, s.RequireFactor = a.Access, a.FactorPromptMode, a.RequireFactor
	if a.Session != nil {
		s.IdleMinutes, s.LifetimeMinutes, s.PersistentCookie = a.Session.MaxSessionIdleMinutesPtr, a.Session.MaxSessionLifetimeMinutesPtr, a.Session.UsePersistentCookie
	}
	return s
}

// effective lists the active rules that let a user in: the ones whose
// settings govern real sessions.
func effective(rules []*okta.PolicyRule) []signonRule {
	var out []signonRule
	for _, r := range rules {
		s := signon(r)
		if s.Status == "ACTIVE" && s.Access == "ALLOW" {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func policyResource(p *okta.Policy) string { return "policies/" + p.Id }

// policyMFAFinding: every active rule of a global session policy that lets
// users in requires MFA. On Identity Engine a rule that does not is no
// verdict: each app's authentication policy decides (its own finding).
func policyMFAFinding(p *okta.Policy, rules []*okta.PolicyRule, read bool, engine string) evidence.Finding {
	f := evidence.Finding{Check: CheckPolicyMFA, Resource: policyResource(p)}
	if !read {
		f.Status, f.Reason = evidence.Error, fmt.Sprintf("the rules of sign-on policy %q could not be read", p.Name)
		return f
	}
	var without, with []string
	for _, r := range effective(rules) {
		if r.RequireFactor != nil && *r.RequireFactor {
			with = append(with, r.Name)
		} else {
			without = append(without, r.Name)
		}
	}
	f.Observed = map[string]any{"policy": p.Name, "rules_requiring_mfa": nonNil(with), "rules_without_mfa": nonNil(without)}
	switch {
	case len(without) > 0 && engine == identityEngine:
		f.Status = evidence.NotApplicable
		f.Reason = fmt.Sprintf("global session policy %q does not require MFA under rule(s) %s; on Identity Engine each app's authentication policy decides (checked separately)", p.Name, strings.Join(without, ", "))
	case len(without) > 0 && engine == "":
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("global session policy %q does not require MFA under rule(s) %s, and the authentication policies that may require it could not be read", p.Name, strings.Join(without, ", "))
	case len(without) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("sign-on policy %q lets users in without MFA under rule(s) %s", p.Name, strings.Join(without, ", "))
	case len(with) == 0:
		f.Status = evidence.NotApplicable
		f.Reason = fmt.Sprintf("sign-on policy %q has no active rule that allows access", p.Name)
	default:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("every active rule of sign-on policy %q that allows access requires MFA", p.Name)
	}
	return f
}

func sessionIdleFinding(p *okta.Policy, rules []*okta.PolicyRule, read bool, maxMinutes int) evidence.Finding {
	f := evidence.Finding{Check: CheckSessionIdle, Resource: policyResource(p)}
	if !read {
		f.Status, f.Reason = evidence.Error, fmt.Sprintf("the rules of global session policy %q could not be read", p.Name)
		return f
	}
	idle := map[string]any{}
	var over, unset []string
	eff := effective(rules)
	for _, r := range eff {
		if r.IdleMinutes == nil {
			unset = append(unset, r.Name)
			idle[r.Name] = nil
			continue
		}
		idle[r.Name] = *r.IdleMinutes
		if *r.IdleMinutes > int64(maxMinutes) {
			over = append(over, fmt.Sprintf("%s (%d min)", r.Name, *r.IdleMinutes))
		}
	}
	f.Observed = map[string]any{"policy": p.Name, "max_session_idle_minutes": idle, "limit_minutes": maxMinutes}
	switch {
	case len(over) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("global session policy %q allows idle sessions longer than %d minutes: %s", p.Name, maxMinutes, strings.Join(over, ", "))
	case len(unset) > 0:
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("global session policy %q: rule(s) %s do not state an idle timeout", p.Name, strings.Join(unset, ", "))
	case len(eff) == 0:
		f.Status = evidence.NotApplicable
		f.Reason = fmt.Sprintf("global session policy %q has no active rule that allows access", p.Name)
	default:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("global session policy %q logs idle sessions off within %d minutes", p.Name, maxMinutes)
	}
	return f
}

func policyRecord(p *okta.Policy, rules []*okta.PolicyRule) evidence.Record {
	rs := make([]any, 0, len(rules))
	for _, r := range rules {
		s := signon(r)
		rs = append(rs, map[string]any{
			"id": r.Id, "name": s.Name, "status": s.Status, "access": s.Access,
			"require_factor": boolOrNil(s.RequireFactor), "factor_prompt_mode": s.FactorPromptMode,
			"max_session_idle_minutes": intOrNil(s.IdleMinutes), "max_session_lifetime_minutes": intOrNil(s.LifetimeMinutes),
			"use_persistent_cookie": boolOrNil(s.PersistentCookie), "priority": intOrNil(r.PriorityPtr),
		})
	}
	return evidence.Record{Type: "okta.policy", ID: p.Id, Attributes: map[string]any{
		"name": p.Name, "type": p.Type, "status": p.Status, "priority": intOrNil(p.PriorityPtr), "system": boolOrNil(p.System), "rules": rs,
	}}
}

func boolOrNil(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func intOrNil(i *int64) any {
	if i == nil {
		return nil
	}
	return *i
}
