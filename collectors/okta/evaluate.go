package okta

import (
	"fmt"
	"sort"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// evaluate turns what was read into records and findings. Checks whose
// inputs were not (fully) read are errors, never passes.
func (d *directory) evaluate(org string, now time.Time, th collector.Thresholds) ([]evidence.Record, []evidence.Finding) {
	maxInactive := th.UserInactiveDays
	if maxInactive < 1 {
		maxInactive = collector.DefaultThresholds().UserInactiveDays
	}
	maxIdle := th.SessionIdleMaxMinutes
	if maxIdle < 1 {
		maxIdle = collector.DefaultThresholds().SessionIdleMaxMinutes
	}
	var recs []evidence.Record
	var finds []evidence.Finding

	loginOf := map[string]string{}
	for _, u := range d.users {
		loginOf[u.Id] = login(u)
	}
	nameOf := func(id string) string {
		if l, ok := loginOf[id]; ok {
			return l
		}
		return id
	}

	// Memberships, leaving out the built-in Everyone group that every
	// user is in until deleted.
	assigned := map[string]*assignments{}
	at := func(id string) *assignments {
		if assigned[id] == nil {
			assigned[id] = &assignments{}
		}
		return assigned[id]
	}
	complete := d.groupsRead && d.appsRead
	groupNames := map[string]string{}
	usersIn := map[string][]string{}
	for _, g := range d.groups {
		name := groupName(g)
		groupNames[g.Id] = name
		members, ok := d.groupMembers[g.Id]
		if !ok {
			complete = false
		}
		logins := make([]string, 0, len(members))
		for _, id := range members {
			logins = append(logins, nameOf(id))
			if g.Type != "BUILT_IN" {
				at(id).groups = append(at(id).groups, name)
			}
		}
		usersIn[g.Id] = members
		sort.Strings(logins)
		recs = append(recs, evidence.Record{Type: "okta.group", ID: g.Id, Attributes: map[string]any{
			"name": name, "type": g.Type, "members": logins, "members_read": ok,
		}})
	}
	for _, a := range d.apps {
		users, okU := d.appUsers[a.Id]
		groups, okG := d.appGroups[a.Id]
		if !okU || !okG {
			complete = false
		}
		reach := map[string]bool{}
		assignedUsers := make([]any, 0, len(users))
		for _, au := range users {
			reach[au.Id] = true
			assignedUsers = append(assignedUsers, map[string]any{"user": nameOf(au.Id), "scope": au.Scope, "status": au.Status})
		}
		gnames := make([]string, 0, len(groups))
		for _, ga := range groups {
			gnames = append(gnames, groupNames[ga.Id])
			for _, id := range usersIn[ga.Id] {
				reach[id] = true
			}
		}
		for id := range reach {
			at(id).apps = append(at(id).apps, a.Label)
		}
		sort.Strings(gnames)
		recs = append(recs, evidence.Record{Type: "okta.app", ID: a.Id, Attributes: map[string]any{
			"label": a.Label, "name": a.Name, "status": a.Status, "sign_on_mode": a.SignOnMode,
			"users": assignedUsers, "groups": gnames, "assignments_read": okU && okG,
			"authentication_policy": accessPolicyOf(a),
		}})
	}
	for _, a := range assigned {
		sort.Strings(a.apps)
		sort.Strings(a.groups)
	}

	active := 0
	for _, u := range d.users {
		a := assigned[u.Id]
		if a == nil {
			a = &assignments{}
		}
		factors, read := d.factors[u.Id]
		recs = append(recs, userRecord(u, factors, *a))
		if canSignIn(u.Status) {
			active++
		}
		finds = append(finds, mfaFinding(u, factors, read))
		if f, ok := deprovisionedFinding(u, *a, complete); ok {
			finds = append(finds, f)
		}
		if f, ok := inactiveFinding(u, now, maxInactive); ok {
			finds = append(finds, f)
		}
	}

	if !d.usersRead {
		// Without the user list no user is judged; each user check says so
		// for the org rather than holding no finding at all.
		for _, check := range []string{CheckUserMFA, CheckDeprovisioned, CheckInactive} {
			finds = append(finds, evidence.Finding{Check: check, Resource: "users", Status: evidence.Error,
				Reason: "the org's users could not be listed, so no user was judged"})
		}
	}

	activePolicies := 0
	for _, p := range d.policies {
		rules, read := d.rules[p.Id]
		recs = append(recs, policyRecord(p, rules))
		if p.Status != "ACTIVE" {
			for _, check := range []string{CheckPolicyMFA, CheckSessionIdle} {
				finds = append(finds, evidence.Finding{Check: check, Resource: policyResource(p), Status: evidence.NotApplicable,
					Reason: fmt.Sprintf("sign-on policy %q is %s", p.Name, p.Status), Observed: map[string]any{"policy": p.Name, "status": p.Status}})
			}
			continue
		}
		activePolicies++
		finds = append(finds, policyMFAFinding(p, rules, read, d.engine), sessionIdleFinding(p, rules, read, maxIdle))
	}
	policyApps := appsByPolicy(d.apps)
	for _, p := range d.authPolicies {
		rules, read := d.authRules[p.Id]
		recs = append(recs, authPolicyRecord(p, rules))
		if p.Status != "ACTIVE" {
			finds = append(finds, evidence.Finding{Check: CheckPolicyMFA, Resource: policyResource(p), Status: evidence.NotApplicable,
				Reason: fmt.Sprintf("authentication policy %q is %s", p.Name, p.Status), Observed: map[string]any{"policy": p.Name, "status": p.Status}})
			continue
		}
		finds = append(finds, authPolicyMFAFinding(p, rules, read, policyApps[p.Id]))
	}
	if !d.policiesRead {
		for _, check := range []string{CheckPolicyMFA, CheckSessionIdle} {
			finds = append(finds, evidence.Finding{Check: check, Resource: "policies", Status: evidence.Error,
				Reason: "the org's global session (OKTA_SIGN_ON) policies could not be listed"})
		}
	}
	if d.engine == "" {
		// Neither Classic (no such policies) nor a list of them: on
		// Identity Engine the policies not read would decide MFA per app.
		finds = append(finds, evidence.Finding{Check: CheckPolicyMFA, Resource: "authentication_policies", Status: evidence.Error,
			Reason: "the org's authentication (ACCESS_POLICY) policies could not be listed"})
	}
	if d.policiesRead && activePolicies == 0 {
		for _, check := range []string{CheckPolicyMFA, CheckSessionIdle} {
			finds = append(finds, evidence.Finding{Check: check, Resource: "policies", Status: evidence.Fail,
				Reason: "the org has no active global session (OKTA_SIGN_ON) policy"})
		}
	}

	list := evidence.Finding{Check: CheckAccessList, Resource: org, Observed: map[string]any{
		"users": len(d.users), "users_able_to_sign_in": active, "groups": len(d.groups), "apps": len(d.apps),
		"engine": engineOrUnknown(d.engine),
	}}
	if d.usersRead && complete && len(d.partial.Errors) == 0 {
		list.Status = evidence.Pass
		list.Reason = fmt.Sprintf("access list recorded: %d users (%d able to sign in), %d groups, %d apps with their assignments", len(d.users), active, len(d.groups), len(d.apps))
	} else {
		list.Status = evidence.Error
		list.Reason = "the access list is incomplete: some users, groups or assignments could not be read"
	}
	finds = append(finds, list)
	return recs, finds
}

func engineOrUnknown(e string) string {
	if e == "" {
		return "unknown"
	}
	return e
}
