package awscollector

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// principalARN names an identity store user or group. Their ids are
// globally unique, so the ARN carries neither account nor store; a deleted
// principal's ARN is still what its assignments name.
func principalARN(part string, typ ssotypes.PrincipalType, id string) string {
	kind := "user"
	if typ == ssotypes.PrincipalTypeGroup {
		kind = "group"
	}
	return fmt.Sprintf("arn:%s:identitystore:::%s/%s", part, kind, id)
}

// records are the access list: the instance, its users and groups with
// members, its permission sets with their policies, and every account
// assignment resolved to names.
func (in *icInstance) records(part, acct string) []evidence.Record {
	users, groups, sets := in.indexes()
	out := []evidence.Record{{Type: "aws.identity_center.instance", ID: in.arn(), Region: in.region, Attributes: map[string]any{
		"name":              aws.ToString(in.meta.Name),
		"identity_store_id": aws.ToString(in.meta.IdentityStoreId),
		"owner_account":     aws.ToString(in.meta.OwnerAccountId),
		"status":            string(in.meta.Status),
		"created":           ts(aws.ToTime(in.meta.CreatedDate)),
		"users":             len(in.users),
		"groups":            len(in.groups),
		"permission_sets":   len(in.sets),
		"assignments":       len(in.assignments),
	}}}
	memberOf := map[string][]string{}
	for _, g := range in.groups {
		for _, m := range g.members {
			memberOf[m] = append(memberOf[m], g.name)
		}
	}
	for _, u := range in.users {
		gs := append([]string{}, memberOf[u.id]...)
		sort.Strings(gs)
		out = append(out, evidence.Record{Type: "aws.identity_center.user", ID: principalARN(part, ssotypes.PrincipalTypeUser, u.id), Region: in.region, Attributes: map[string]any{
			"user_id": u.id, "user_name": u.name, "display_name": u.display, "emails": nonNil(u.emails),
			"status": u.status, "external_ids": nonNilMaps(u.externalIDs), "groups": gs,
		}})
	}
	for _, g := range in.groups {
		members := []map[string]any{}
		for _, m := range g.members {
			members = append(members, map[string]any{"user_id": m, "user_name": users[m].name})
		}
		attrs := map[string]any{"group_id": g.id, "name": g.name, "description": g.description, "members": members}
		if g.membersErr != nil {
			attrs["members_error"] = g.membersErr.Error()
		}
		out = append(out, evidence.Record{Type: "aws.identity_center.group", ID: principalARN(part, ssotypes.PrincipalTypeGroup, g.id), Region: in.region, Attributes: attrs})
	}
	for _, s := range in.sets {
		attrs := map[string]any{
			"name": s.name, "description": s.description, "session_duration": s.session,
			"managed_policies": nonNil(s.managed), "customer_managed_policies": nonNilMaps(s.customer),
			"inline_policy": s.inline, "accounts": nonNil(s.accounts),
		}
		if admin, _, err := s.admin(); err != nil {
			attrs["grants_admin_error"] = err.Error()
		} else {
			attrs["grants_admin"] = admin
		}
		out = append(out, evidence.Record{Type: "aws.identity_center.permission_set", ID: s.arn, Region: in.region, Attributes: attrs})
	}
	for _, a := range in.assignments {
		pid, typ := aws.ToString(a.PrincipalId), a.PrincipalType
		name, exists := principalName(users, groups, typ, pid)
		attrs := map[string]any{
			"account": aws.ToString(a.AccountId), "permission_set_arn": aws.ToString(a.PermissionSetArn),
			"permission_set": setName(sets, aws.ToString(a.PermissionSetArn)),
			"principal_type": string(typ), "principal_id": pid, "principal_arn": principalARN(part, typ, pid),
			"principal_name": name, "principal_exists": exists,
		}
		out = append(out, evidence.Record{Type: "aws.identity_center.assignment", Region: in.region, Attributes: attrs,
			ID: fmt.Sprintf("%s/account/%s/%s/%s", aws.ToString(a.PermissionSetArn), aws.ToString(a.AccountId), strings.ToLower(string(typ)), pid)})
	}
	return out
}

func nonNilMaps(l []map[string]any) []map[string]any {
	if l == nil {
		return []map[string]any{}
	}
	return l
}

func (in *icInstance) indexes() (map[string]icUser, map[string]*icGroup, map[string]*icSet) {
	users := map[string]icUser{}
	for _, u := range in.users {
		users[u.id] = u
	}
	groups := map[string]*icGroup{}
	for _, g := range in.groups {
		groups[g.id] = g
	}
	sets := map[string]*icSet{}
	for _, s := range in.sets {
		sets[s.arn] = s
	}
	return users, groups, sets
}

// principalName resolves an assignment's principal; exists is false when
// the store does not hold it (as far as the store was read).
func principalName(users map[string]icUser, groups map[string]*icGroup, typ ssotypes.PrincipalType, id string) (string, bool) {
	if typ == ssotypes.PrincipalTypeGroup {
		g, ok := groups[id]
		if !ok {
			return "", false
		}
		return g.name, true
	}
	u, ok := users[id]
	return u.name, ok
}

func setName(sets map[string]*icSet, arn string) string {
	if s, ok := sets[arn]; ok {
		return s.name
	}
	return ""
}

// incomplete lists the parts of the instance that were not read.
func (in *icInstance) incomplete() []string {
	var out []string
	for _, e := range in.errs {
		out = append(out, e.op+" "+e.resource+": "+e.err.Error())
	}
	sort.Strings(out)
	return out
}

// icParts names what each read holds, for the access list's reason.
var icParts = []struct{ op, part string }{
	{"identitystore:ListUsers", "users"},
	{"identitystore:ListGroups", "groups"},
	{"identitystore:ListGroupMemberships", "group members"},
	{"sso:ListPermissionSets", "permission sets"},
	{"sso:DescribePermissionSet", "permission set descriptions"},
	{"sso:ListManagedPoliciesInPermissionSet", "managed policies"},
	{"sso:GetInlinePolicyForPermissionSet", "inline policies"},
	{"sso:ListCustomerManagedPolicyReferencesInPermissionSet", "customer managed policy references"},
	{"sso:ListAccountsForProvisionedPermissionSet", "provisioned accounts"},
	{"sso:ListAccountAssignments", "account assignments"},
}

func (in *icInstance) unreadParts() []string {
	failed := map[string]bool{}
	for _, e := range in.errs {
		failed[e.op] = true
	}
	var out []string
	for _, p := range icParts {
		if failed[p.op] {
			out = append(out, p.part)
		}
	}
	return out
}

// principal is one user or group holding assignments.
type principal struct {
	typ         ssotypes.PrincipalType
	id          string
	assignments []ssotypes.AccountAssignment
}

func (in *icInstance) principals() []*principal {
	by := map[string]*principal{}
	var out []*principal
	for _, a := range in.assignments {
		k := string(a.PrincipalType) + "/" + aws.ToString(a.PrincipalId)
		p, ok := by[k]
		if !ok {
			p = &principal{typ: a.PrincipalType, id: aws.ToString(a.PrincipalId)}
			by[k] = p
			out = append(out, p)
		}
		p.assignments = append(p.assignments, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].typ != out[j].typ {
			return out[i].typ < out[j].typ
		}
		return out[i].id < out[j].id
	})
	return out
}

// findings judges the instance: the access list, administrator
// assignments and assignments to absent or disabled principals.
func (in *icInstance) findings(part string, adminAccounts int) []evidence.Finding {
	inst := in.arn()
	counts := map[string]any{"users": len(in.users), "groups": len(in.groups), "permission_sets": len(in.sets), "assignments": len(in.assignments)}
	var out []evidence.Finding
	if bad := in.incomplete(); len(bad) > 0 {
		counts["errors"] = bad
		out = append(out, finding(checkICAccessList, inst, evidence.Error,
			fmt.Sprintf("The Identity Center access list is incomplete: its %s could not all be read.", strings.Join(in.unreadParts(), ", ")), counts))
	} else {
		out = append(out, finding(checkICAccessList, inst, evidence.Pass,
			fmt.Sprintf("Complete access list of %d users, %d groups, %d permission sets and %d account assignments.", len(in.users), len(in.groups), len(in.sets), len(in.assignments)), counts))
	}
	if in.assignmentsErr != nil {
		msg := map[string]any{"error": in.assignmentsErr.Error()}
		out = append(out,
			finding(checkICAdminAssignments, inst, evidence.Error, "The account assignments could not all be listed, so administrator assignments were not all judged.", msg),
			finding(checkICAbsentPrincipals, inst, evidence.Error, "The account assignments could not all be listed, so assignments to absent users were not all judged.", msg))
	}
	if in.usersErr != nil || in.groupsErr != nil {
		err := in.usersErr
		if err == nil {
			err = in.groupsErr
		}
		out = append(out, finding(checkICAbsentPrincipals, inst, evidence.Error,
			"The identity store's users or groups could not all be listed, so whether assigned principals exist was not determined.", map[string]any{"error": err.Error()}))
	}
	users, groups, sets := in.indexes()
	for _, p := range in.principals() {
		name, exists := principalName(users, groups, p.typ, p.id)
		if f, ok := in.adminFinding(part, p, name, sets, adminAccounts); ok {
			out = append(out, f)
		}
		if in.usersErr == nil && in.groupsErr == nil {
			out = append(out, absentFinding(part, p, name, exists, users, sets))
		}
	}
	return out
}

// adminGrant is one administrator-equivalent permission set a principal
// holds directly, and where.
type adminGrant struct {
	set      *icSet
	policy   string
	accounts []string
}

func (in *icInstance) adminFinding(part string, p *principal, name string, sets map[string]*icSet, threshold int) (evidence.Finding, bool) {
	arn := principalARN(part, p.typ, p.id)
	grants := map[string]*adminGrant{}
	var unknown []string
	for _, a := range p.assignments {
		sa := aws.ToString(a.PermissionSetArn)
		s, ok := sets[sa]
		if !ok {
			unknown = append(unknown, sa)
			continue
		}
		admin, why, err := s.admin()
		if err != nil {
			unknown = append(unknown, sa)
			continue
		}
		if admin {
			g := grants[sa]
			if g == nil {
				g = &adminGrant{set: s, policy: why}
				grants[sa] = g
			}
			g.accounts = append(g.accounts, aws.ToString(a.AccountId))
		}
	}
	var list []map[string]any
	var over, under []string
	keys := make([]string, 0, len(grants))
	for k := range grants {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := grants[k]
		sort.Strings(g.accounts)
		list = append(list, map[string]any{"permission_set": g.set.name, "permission_set_arn": g.set.arn, "policy": g.policy, "accounts": g.accounts})
		held := fmt.Sprintf("%s in %s (%s)", displayName(g.set.name, g.set.arn), plural(len(g.accounts), "account"), strings.Join(g.accounts, ", "))
		if len(g.accounts) >= threshold {
			over = append(over, held)
		} else {
			under = append(under, held)
		}
	}
	who := fmt.Sprintf("%s %s", strings.ToLower(string(p.typ)), displayName(name, p.id))
	obs := map[string]any{"principal_type": string(p.typ), "principal_id": p.id, "principal_name": name,
		"admin_assignments": nonNilMaps(list), "threshold_accounts": threshold}
	switch {
	case len(over) > 0:
		return finding(checkICAdminAssignments, arn, evidence.Fail,
			fmt.Sprintf("Identity Center %s holds an administrator-equivalent permission set directly in at least %d accounts: %s.", who, threshold, strings.Join(over, "; ")), obs), true
	case len(unknown) > 0:
		sort.Strings(unknown)
		obs["unreadable_permission_sets"] = slices.Compact(unknown)
		return finding(checkICAdminAssignments, arn, evidence.Error,
			fmt.Sprintf("Some permission sets assigned to %s could not be read, so whether it holds administrator access is unknown.", who), obs), true
	case in.assignmentsErr != nil:
		// Its assignments may not all have been listed: no pass.
		return evidence.Finding{}, false
	case len(list) > 0:
		return finding(checkICAdminAssignments, arn, evidence.Pass,
			fmt.Sprintf("Identity Center %s holds an administrator-equivalent permission set directly in fewer than %d accounts, recorded: %s.", who, threshold, strings.Join(under, "; ")), obs), true
	}
	return finding(checkICAdminAssignments, arn, evidence.Pass,
		fmt.Sprintf("Identity Center %s holds no administrator-equivalent permission set.", who), obs), true
}

func displayName(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

func absentFinding(part string, p *principal, name string, exists bool, users map[string]icUser, sets map[string]*icSet) evidence.Finding {
	arn := principalARN(part, p.typ, p.id)
	var held []map[string]any
	for _, a := range p.assignments {
		held = append(held, map[string]any{"account": aws.ToString(a.AccountId), "permission_set": setName(sets, aws.ToString(a.PermissionSetArn)),
			"permission_set_arn": aws.ToString(a.PermissionSetArn)})
	}
	sort.Slice(held, func(i, j int) bool {
		if held[i]["account"] != held[j]["account"] {
			return held[i]["account"].(string) < held[j]["account"].(string)
		}
		return held[i]["permission_set_arn"].(string) < held[j]["permission_set_arn"].(string)
	})
	kind := strings.ToLower(string(p.typ))
	obs := map[string]any{"principal_type": string(p.typ), "principal_id": p.id, "principal_name": name, "assignments": held}
	switch {
	case !exists:
		return finding(checkICAbsentPrincipals, arn, evidence.Fail,
			fmt.Sprintf("%s %s holds %s but is no longer in the identity store (deleted).", strings.ToUpper(kind[:1])+kind[1:], p.id, plural(len(held), "account assignment")), obs)
	case p.typ == ssotypes.PrincipalTypeUser && users[p.id].status == "DISABLED":
		obs["status"] = "DISABLED"
		return finding(checkICAbsentPrincipals, arn, evidence.Fail,
			fmt.Sprintf("User %s holds %s but is disabled in the identity store.", name, plural(len(held), "account assignment")), obs)
	}
	if p.typ == ssotypes.PrincipalTypeUser {
		obs["status"] = users[p.id].status
	}
	return finding(checkICAbsentPrincipals, arn, evidence.Pass,
		fmt.Sprintf("%s %s, holding %s, exists in the identity store.", strings.ToUpper(kind[:1])+kind[1:], name, plural(len(held), "account assignment")), obs)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
