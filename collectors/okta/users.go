package okta

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// strongFactors resist phishing or at least interception: push, TOTP
// apps, WebAuthn/FIDO2, U2F, Okta FastPass (signed_nonce), hardware tokens.
var strongFactors = map[string]bool{
	"push":                true,
	"token:software:totp": true,
	"webauthn":            true,
	"u2f":                 true,
	"signed_nonce":        true,
	"token:hardware":      true,
	"token":               true, // RSA SecurID / Symantec VIP style OTP tokens
	"token:hotp":          true,
}

// weakFactors ride on channels that can be intercepted or guessed.
var weakFactors = map[string]bool{"sms": true, "call": true, "email": true, "question": true}

func mfaFinding(u *okta.User, factors []*okta.UserFactor, read bool) evidence.Finding {
	f := evidence.Finding{Check: CheckUserMFA, Resource: login(u)}
	if !canSignIn(u.Status) {
		f.Status = evidence.NotApplicable
		f.Reason = fmt.Sprintf("%s cannot sign in (status %s)", login(u), u.Status)
		f.Observed = map[string]any{"status": u.Status}
		return f
	}
	if !read {
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("the factors of %s could not be read", login(u))
		f.Observed = map[string]any{"status": u.Status}
		return f
	}
	var strong, weak, inactive []string
	for _, fa := range factors {
		name := fa.FactorType + "/" + fa.Provider
		switch {
		case fa.Status != "ACTIVE":
			inactive = append(inactive, name+" ("+fa.Status+")")
		case strongFactors[fa.FactorType]:
			strong = append(strong, name)
		default:
			weak = append(weak, name)
		}
	}
	sort.Strings(strong)
	sort.Strings(weak)
	sort.Strings(inactive)
	f.Observed = map[string]any{"status": u.Status, "strong_factors": nonNil(strong), "weak_factors": nonNil(weak), "inactive_factors": nonNil(inactive)}
	switch {
	case len(strong) > 0:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s has a strong factor enrolled (%s)", login(u), strings.Join(strong, ", "))
	case len(weak) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s has only a weak factor (%s): weak factor", login(u), strings.Join(weak, ", "))
	default:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s has no active MFA factor enrolled", login(u))
	}
	return f
}

// assignments is what a user can reach: apps (directly or via a group) and
// group memberships.
type assignments struct {
	apps   []string // app labels
	groups []string // group names, built-in Everyone excluded
}

func deprovisionedFinding(u *okta.User, a assignments, complete bool) (evidence.Finding, bool) {
	if u.Status != "SUSPENDED" && u.Status != "DEPROVISIONED" {
		return evidence.Finding{}, false
	}
	f := evidence.Finding{Check: CheckDeprovisioned, Resource: login(u), Observed: map[string]any{
		"status": u.Status, "apps": nonNil(a.apps), "groups": nonNil(a.groups), "status_changed": timeString(u.StatusChanged),
	}}
	switch {
	case len(a.apps) > 0 || len(a.groups) > 0:
		f.Status = evidence.Fail
		var what []string
		if len(a.apps) > 0 {
			what = append(what, "apps "+strings.Join(a.apps, ", "))
		}
		if len(a.groups) > 0 {
			what = append(what, "groups "+strings.Join(a.groups, ", "))
		}
		f.Reason = fmt.Sprintf("%s is %s but still assigned to %s", login(u), u.Status, strings.Join(what, " and "))
	case !complete:
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("%s is %s; its assignments could not all be read", login(u), u.Status)
	default:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s is %s and has no app or group assignment", login(u), u.Status)
	}
	return f, true
}

func inactiveFinding(u *okta.User, now time.Time, maxDays int) (evidence.Finding, bool) {
	if u.Status != "ACTIVE" {
		return evidence.Finding{}, false
	}
	f := evidence.Finding{Check: CheckInactive, Resource: login(u), Observed: map[string]any{
		"last_login": timeString(u.LastLogin), "max_inactive_days": maxDays, "created": timeString(u.Created),
	}}
	if u.LastLogin == nil {
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s is active but has never signed in", login(u))
		return f, true
	}
	days := int(now.Sub(*u.LastLogin).Hours() / 24)
	f.Observed["days_since_login"] = days
	if days > maxDays {
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s is active but last signed in %d days ago (limit %d)", login(u), days, maxDays)
	} else {
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s last signed in %d days ago (limit %d)", login(u), days, maxDays)
	}
	return f, true
}

func userRecord(u *okta.User, factors []*okta.UserFactor, a assignments) evidence.Record {
	fs := make([]any, 0, len(factors))
	for _, f := range factors {
		fs = append(fs, map[string]any{"type": f.FactorType, "provider": f.Provider, "status": f.Status, "created": timeString(f.Created)})
	}
	return evidence.Record{Type: "okta.user", ID: u.Id, Attributes: map[string]any{
		"login":          login(u),
		"email":          email(u),
		"status":         u.Status,
		"created":        timeString(u.Created),
		"activated":      timeString(u.Activated),
		"status_changed": timeString(u.StatusChanged),
		"last_login":     timeString(u.LastLogin),
		"factors":        fs,
		"apps":           nonNil(a.apps),
		"groups":         nonNil(a.groups),
	}}
}

func timeString(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
