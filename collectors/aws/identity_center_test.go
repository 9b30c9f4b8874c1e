package awscollector

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func icNew(s collector.Settings, t tuning) (collector.Collector, error) {
	return newIdentityCenter(s, t)
}

const (
	icInstanceARN = "arn:aws:sso:::instance/" + awssim.ICInstanceID
	icDave        = "arn:aws:identitystore:::user/9a6710a0-0004-4a11-8a11-000000000004"
	icFrank       = "arn:aws:identitystore:::user/9a6710a0-0006-4a11-8a11-000000000006"
	icDeleted     = "arn:aws:identitystore:::user/" + awssim.DeletedUserID
	icAdmins      = "arn:aws:identitystore:::group/4a6b1c2d-0001-4e5f-9a0b-00000000ad01"
	icDevelopers  = "arn:aws:identitystore:::group/4a6b1c2d-0002-4e5f-9a0b-00000000de02"
)

func TestIdentityCenterDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.identity_center", icNew, nil)
	golden(t, "identity_center_demo", out.results)
}

// TestIdentityCenterAccessList: the instance's users, groups with members,
// permission sets with policies and assignments resolved to names are
// records; the access list passes when all was read; an account without
// an instance is not_applicable, not a failure.
func TestIdentityCenterAccessList(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.identity_center", icNew, nil)
	p := out.results[0]
	f := findingOf(t, p, checkICAccessList, icInstanceARN)
	require.Equal(t, evidence.Pass, f.Status)
	require.Equal(t, 5, f.Observed["users"])
	require.Equal(t, 9, f.Observed["assignments"])
	recs := map[string]evidence.Record{}
	for _, r := range p.Records {
		recs[r.Type+" "+r.ID] = r
	}
	dave := recs["aws.identity_center.user "+icDave]
	require.Equal(t, "dave@acme.example", dave.Attributes["user_name"])
	require.Equal(t, "ENABLED", dave.Attributes["status"])
	require.Equal(t, []string{"dave@acme.example"}, dave.Attributes["emails"])
	require.Equal(t, []map[string]any{{"issuer": "https://scim.example/okta", "id": "00u1dave000000000004"}}, dave.Attributes["external_ids"])
	devs := recs["aws.identity_center.group "+icDevelopers]
	require.Len(t, devs.Attributes["members"], 3)
	require.Equal(t, []string{"Developers"}, recs["aws.identity_center.user "+icFrank].Attributes["groups"])
	var sets, assigned int
	for _, r := range p.Records {
		switch r.Type {
		case "aws.identity_center.permission_set":
			sets++
			if r.Attributes["name"] == "ReadOnly" {
				require.Equal(t, []map[string]any{{"name": "deploy-artifacts", "path": "/"}}, r.Attributes["customer_managed_policies"])
				require.Contains(t, r.Attributes["inline_policy"], "DenyData")
				require.Equal(t, false, r.Attributes["grants_admin"])
				require.Equal(t, "PT8H", r.Attributes["session_duration"])
			}
		case "aws.identity_center.assignment":
			assigned++
			if r.Attributes["principal_id"] == awssim.DeletedUserID {
				require.Equal(t, false, r.Attributes["principal_exists"])
			} else {
				require.Equal(t, true, r.Attributes["principal_exists"])
				require.NotEmpty(t, r.Attributes["principal_name"])
			}
		}
	}
	require.Equal(t, 2, sets)
	require.Equal(t, 9, assigned)

	s := out.results[1]
	require.Equal(t, staging, s.Scope.Account)
	require.Equal(t, evidence.StatusComplete, s.Status)
	require.Len(t, s.Findings, 1)
	require.Equal(t, evidence.NotApplicable, s.Findings[0].Status)
	require.Equal(t, checkICAccessList, s.Findings[0].Check)
	require.Equal(t, []string{"eu-west-1", "us-east-1"}, s.Findings[0].Observed["regions_searched"])
}

// TestIdentityCenterAccessListError: a part not read (one group's
// members) makes the access list error, with the failure named, while the
// checks that do not rest on it are still judged.
func TestIdentityCenterAccessListError(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "", "ListGroupMemberships")
	out := runCollector(t, sim, "aws.identity_center", icNew, nil)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	f := findingOf(t, p, checkICAccessList, icInstanceARN)
	require.Equal(t, evidence.Error, f.Status)
	require.Contains(t, f.Reason, "group members could not all be read")
	require.Len(t, f.Observed["errors"], 2)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkICAdminAssignments, icDave).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkICAbsentPrincipals, icDeleted).Status)
}

// TestIdentityCenterAdminAssignments: an administrator-equivalent set held
// directly in as many accounts as the threshold fails, naming principal,
// set and accounts; fewer are a pass that records the set and accounts;
// an inline "*" on "*" counts like AdministratorAccess; the threshold is
// configuration.
func TestIdentityCenterAdminAssignments(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.identity_center", icNew, nil)
	p := out.results[0]
	dave := findingOf(t, p, checkICAdminAssignments, icDave)
	require.Equal(t, evidence.Fail, dave.Status)
	for _, s := range []string{"dave@acme.example", "AdministratorAccess", "111122223333", "444455556666", "777788889999"} {
		require.Contains(t, dave.Reason, s)
	}
	admins := findingOf(t, p, checkICAdminAssignments, icAdmins)
	require.Equal(t, evidence.Pass, admins.Status)
	require.Contains(t, admins.Reason, "recorded")
	require.Equal(t, []map[string]any{{
		"permission_set": "AdministratorAccess", "permission_set_arn": "arn:aws:sso:::permissionSet/" + awssim.ICInstanceID + "/ps-1a2b3c4d5e6f7a80",
		"policy": "arn:aws:iam::aws:policy/AdministratorAccess", "accounts": []string{prod, staging},
	}}, admins.Observed["admin_assignments"])
	devs := findingOf(t, p, checkICAdminAssignments, icDevelopers)
	require.Equal(t, evidence.Pass, devs.Status)
	require.Empty(t, devs.Observed["admin_assignments"])

	t.Run("inline", func(t *testing.T) {
		sim := awssim.NewAt(simNow)
		inlineAdmin(sim, nil)
		p := runCollector(t, sim, "aws.identity_center", icNew, nil).results[0]
		f := findingOf(t, p, checkICAdminAssignments, icDave)
		require.Equal(t, evidence.Fail, f.Status)
		require.Equal(t, "inline", f.Observed["admin_assignments"].([]map[string]any)[0]["policy"])
	})
	t.Run("threshold", func(t *testing.T) {
		for _, c := range []struct {
			limit       int
			dave, group evidence.Result
		}{{2, evidence.Fail, evidence.Fail}, {4, evidence.Pass, evidence.Pass}} {
			p := runThreshold(t, c.limit)
			require.Equal(t, c.dave, findingOf(t, p, checkICAdminAssignments, icDave).Status, "limit %d", c.limit)
			require.Equal(t, c.group, findingOf(t, p, checkICAdminAssignments, icAdmins).Status, "limit %d", c.limit)
			require.Equal(t, c.limit, findingOf(t, p, checkICAdminAssignments, icDave).Observed["threshold_accounts"])
		}
	})
	t.Run("unreadable set", func(t *testing.T) {
		sim := awssim.NewAt(simNow)
		sim.Deny(prod, "", "ListManagedPoliciesInPermissionSet")
		p := runCollector(t, sim, "aws.identity_center", icNew, nil).results[0]
		f := findingOf(t, p, checkICAdminAssignments, icDave)
		require.Equal(t, evidence.Error, f.Status)
		require.Len(t, f.Observed["unreadable_permission_sets"], 1)
	})
}

// runThreshold reads production with the admin assignment threshold set.
func runThreshold(t *testing.T, limit int) scopeResult {
	t.Helper()
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	th := collector.DefaultThresholds()
	th.AdminAssignmentAccounts = limit
	c, err := newIdentityCenter(collector.Settings{ID: "aws.identity_center", Sources: collector.Sources{AWS: sim.Source(srv.URL)},
		Thresholds: th, HTTPClient: collector.NewHTTPClient(nil), Logger: zap.NewNop()}, fastTuning())
	require.NoError(t, err)
	scopes, err := c.Scopes(t.Context())
	require.NoError(t, err)
	res, err := c.Collect(t.Context(), collector.Request{Scope: scopes[0], Now: sim.Now})
	require.NoError(t, err)
	return scopeResult{Scope: scopes[0], Findings: res.Findings}
}

// TestIdentityCenterAbsentPrincipals: assignments to a deleted user, a
// disabled user or a deleted group fail naming them; existing ones pass.
func TestIdentityCenterAbsentPrincipals(t *testing.T) {
	sim := awssim.NewAt(simNow)
	ic := sim.Accounts[prod].IdentityCenter
	ic.Users[4].Disabled = true // frank
	ic.Groups = ic.Groups[:1]   // Developers deleted, its assignments left
	p := runCollector(t, sim, "aws.identity_center", icNew, nil).results[0]
	deleted := findingOf(t, p, checkICAbsentPrincipals, icDeleted)
	require.Equal(t, evidence.Fail, deleted.Status)
	require.Contains(t, deleted.Reason, awssim.DeletedUserID)
	require.Contains(t, deleted.Reason, "deleted")
	require.Equal(t, []map[string]any{{"account": staging, "permission_set": "ReadOnly",
		"permission_set_arn": "arn:aws:sso:::permissionSet/" + awssim.ICInstanceID + "/ps-2b3c4d5e6f7a8b91"}}, deleted.Observed["assignments"])
	frank := findingOf(t, p, checkICAbsentPrincipals, icFrank)
	require.Equal(t, evidence.Fail, frank.Status)
	require.Contains(t, frank.Reason, "frank@acme.example")
	require.Contains(t, frank.Reason, "disabled")
	require.Equal(t, evidence.Fail, findingOf(t, p, checkICAbsentPrincipals, icDevelopers).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkICAbsentPrincipals, icDave).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkICAbsentPrincipals, icAdmins).Status)
}

// TestIdentityCenterNoInstance: an estate without Identity Center gives
// each account one not_applicable finding, and no failure.
func TestIdentityCenterNoInstance(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Accounts[prod].IdentityCenter = nil
	out := runCollector(t, sim, "aws.identity_center", icNew, nil)
	for _, r := range out.results {
		require.Equal(t, evidence.StatusComplete, r.Status)
		require.Len(t, r.Findings, 1)
		require.Equal(t, evidence.NotApplicable, r.Findings[0].Status)
		require.Contains(t, r.Findings[0].Reason, "No IAM Identity Center instance")
	}
	require.Zero(t, sim.Count(prod, "identitystore", ""))
	require.Equal(t, 2, sim.Count(prod, "sso", ""), "one ListInstances per region")
}

// TestIdentityCenterPagination reads everything one item per page: every
// list (ListInstances, ListUsers, ListGroups, ListGroupMemberships,
// ListPermissionSets, the policy lists, ListAccountsForProvisionedPermissionSet,
// ListAccountAssignments) is followed to the end; the evidence is the same.
func TestIdentityCenterPagination(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.PageSize = 1
	out := runCollector(t, sim, "aws.identity_center", icNew, nil)
	golden(t, "identity_center_demo", out.results)
	for op, want := range map[string]int{
		"ListUsers": 5, "ListGroups": 2, "ListGroupMemberships": 1 + 3, "ListPermissionSets": 2,
		"ListAccountsForProvisionedPermissionSet": 3 + 2, "ListManagedPoliciesInPermissionSet": 2,
		"ListCustomerManagedPolicyReferencesInPermissionSet": 1 + 1,
		// AdministratorAccess: 2, 2 and 1 assignments in its three
		// accounts; ReadOnly: 2 and 2 in its two.
		"ListAccountAssignments": 2 + 2 + 1 + 2 + 2,
	} {
		svc := "sso"
		if op == "ListUsers" || op == "ListGroups" || op == "ListGroupMemberships" {
			svc = "identitystore"
		}
		require.Equal(t, want, sim.Count(prod, svc, op), op)
	}
}

// TestIdentityCenterRegionDenied: AccessDenied in one region and a region
// not enabled are run errors with error findings for the region; the
// instance in the region that answered is read and judged in full.
func TestIdentityCenterRegionDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "")
	out := runCollector(t, sim, "aws.identity_center", icNew, func(src *collector.AWSSource) {
		src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"}
	})
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	require.Len(t, p.Errors, 2)
	require.Equal(t, "account/111122223333/region/ap-east-1", p.Errors[0].Where)
	require.Equal(t, "account/111122223333/region/eu-west-1", p.Errors[1].Where)
	require.Contains(t, p.Errors[0].Message, "UnrecognizedClientException")
	require.Contains(t, p.Errors[1].Message, "AccessDeniedException")
	regionErrors := 0
	for _, f := range p.Findings {
		if f.Resource == "arn:aws:iam::111122223333:root" {
			require.Equal(t, evidence.Error, f.Status)
			regionErrors++
		}
	}
	require.Equal(t, 2*3, regionErrors)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkICAccessList, icInstanceARN).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkICAdminAssignments, icDave).Status)
	// Staging misses only the region it has not enabled, and has no
	// instance elsewhere: no not_applicable while a region is unread.
	s := out.results[1]
	require.Equal(t, evidence.StatusPartial, s.Status)
	for _, f := range s.Findings {
		require.Equal(t, evidence.Error, f.Status)
	}
}

// TestIdentityCenterAssumeRole: an instance held by a delegated
// administrator account is read there through its role.
func TestIdentityCenterAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Accounts[staging].IdentityCenter, sim.Accounts[prod].IdentityCenter = sim.Accounts[prod].IdentityCenter, nil
	out := runCollector(t, sim, "aws.identity_center", icNew, nil)
	s := out.results[1]
	require.Equal(t, staging, s.Scope.Account)
	require.Equal(t, evidence.StatusComplete, s.Status)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkICAccessList, icInstanceARN).Status)
	require.Equal(t, evidence.Fail, findingOf(t, s, checkICAdminAssignments, icDave).Status)
	require.Equal(t, evidence.NotApplicable, out.results[0].Findings[0].Status)
	require.NotZero(t, sim.Count(staging, "identitystore", "ListUsers"))
	require.NotZero(t, sim.Count(staging, "sso", "ListAccountAssignments"))
	var assumed bool
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed = true
			require.Equal(t, "exhibit-aws.identity_center", r.RoleSessionName)
		}
	}
	require.True(t, assumed)
}

// TestIdentityCenterThrottlingRetried: ThrottlingException from both
// services is retried and the evidence is unchanged.
func TestIdentityCenterThrottlingRetried(t *testing.T) {
	requireRetried(t, "aws.identity_center", icNew, "identity_center_demo", []string{"ListInstances", "ListUsers", "ListGroups", "ListGroupMemberships", "ListPermissionSets", "DescribePermissionSet",
		"ListManagedPoliciesInPermissionSet", "GetInlinePolicyForPermissionSet", "ListCustomerManagedPolicyReferencesInPermissionSet",
		"ListAccountsForProvisionedPermissionSet", "ListAccountAssignments"}...)
}
