package awssim

import (
	"fmt"
	"sort"
	"strings"
)

// IAM Identity Center answers JSON 1.1 from two services: SSO Admin
// (X-Amz-Target SWBExternalService.<Op>, signed as "sso") for the instance,
// permission sets and account assignments, and Identity Store
// (AWSIdentityStore.<Op>, signed as "identitystore") for users, groups and
// memberships. Field names are the API references' (and the SDK's
// schemas); timestamps are epoch seconds; every list pages by NextToken
// and MaxResults.

func (ic *IdentityCenter) instanceARN() string {
	return "arn:aws:sso:::instance/" + ic.InstanceID
}

func (ic *IdentityCenter) setARN(id string) string {
	return fmt.Sprintf("arn:aws:sso:::permissionSet/%s/%s", ic.InstanceID, id)
}

// instanceHere is the account's instance when the call is in its region.
func (c *call) instanceHere() *IdentityCenter {
	ic := c.acct.IdentityCenter
	if ic == nil || ic.Region != c.region {
		return nil
	}
	return ic
}

// jsonPage pages items by the request's NextToken and MaxResults.
func (s *Sim) jsonPage(c *call, key string, items any) map[string]any {
	var n int
	switch l := items.(type) {
	case []map[string]any:
		n = len(l)
	case []string:
		n = len(l)
	}
	start, end, next := page(n, s.pageSize(int(numberField(c.json, "MaxResults"))), c.str("NextToken"))
	out := map[string]any{}
	switch l := items.(type) {
	case []map[string]any:
		out[key] = append([]map[string]any{}, l[start:end]...)
	case []string:
		out[key] = append([]string{}, l[start:end]...)
	}
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

func (s *Sim) ssoAdmin(c *call) int {
	if c.op == "ListInstances" {
		items := []map[string]any{}
		if ic := c.instanceHere(); ic != nil {
			items = append(items, map[string]any{
				"InstanceArn": ic.instanceARN(), "IdentityStoreId": ic.StoreID, "Name": ic.Name,
				"OwnerAccountId": c.acct.ID, "CreatedDate": epoch(ic.Created), "Status": "ACTIVE",
			})
		}
		return c.jsonOK(s.jsonPage(c, "Instances", items))
	}
	ic := c.instanceHere()
	if ic == nil || c.str("InstanceArn") != ic.instanceARN() {
		return c.fail(400, "ResourceNotFoundException", "Instance "+c.str("InstanceArn")+" does not exist")
	}
	if c.op == "ListPermissionSets" {
		arns := []string{}
		for _, ps := range ic.Sets {
			arns = append(arns, ic.setARN(ps.ID))
		}
		return c.jsonOK(s.jsonPage(c, "PermissionSets", arns))
	}
	var ps *PermissionSet
	for i := range ic.Sets {
		if ic.setARN(ic.Sets[i].ID) == c.str("PermissionSetArn") {
			ps = &ic.Sets[i]
		}
	}
	if ps == nil {
		return c.fail(400, "ResourceNotFoundException", "PermissionSet "+c.str("PermissionSetArn")+" does not exist")
	}
	switch c.op {
	case "DescribePermissionSet":
		out := map[string]any{"Name": ps.Name, "PermissionSetArn": ic.setARN(ps.ID), "CreatedDate": epoch(ps.Created), "SessionDuration": ps.SessionDuration}
		if ps.Description != "" {
			out["Description"] = ps.Description
		}
		return c.jsonOK(map[string]any{"PermissionSet": out})
	case "ListManagedPoliciesInPermissionSet":
		items := []map[string]any{}
		for _, arn := range ps.Managed {
			items = append(items, map[string]any{"Arn": arn, "Name": arn[strings.LastIndex(arn, "/")+1:]})
		}
		return c.jsonOK(s.jsonPage(c, "AttachedManagedPolicies", items))
	case "ListCustomerManagedPolicyReferencesInPermissionSet":
		items := []map[string]any{}
		for _, n := range ps.CustomerManaged {
			items = append(items, map[string]any{"Name": n, "Path": "/"})
		}
		return c.jsonOK(s.jsonPage(c, "CustomerManagedPolicyReferences", items))
	case "GetInlinePolicyForPermissionSet":
		// A set without an inline policy answers an empty document.
		return c.jsonOK(map[string]any{"InlinePolicy": ps.Inline})
	case "ListAccountsForProvisionedPermissionSet":
		seen := map[string]bool{}
		accts := []string{}
		for _, a := range ic.Assignments {
			if a.PermissionSet == ps.ID && !seen[a.Account] {
				seen[a.Account] = true
				accts = append(accts, a.Account)
			}
		}
		sort.Strings(accts)
		return c.jsonOK(s.jsonPage(c, "AccountIds", accts))
	case "ListAccountAssignments":
		items := []map[string]any{}
		for _, a := range ic.Assignments {
			if a.PermissionSet == ps.ID && a.Account == c.str("AccountId") {
				items = append(items, map[string]any{"AccountId": a.Account, "PermissionSetArn": ic.setARN(ps.ID),
					"PrincipalType": a.PrincipalType, "PrincipalId": a.PrincipalID})
			}
		}
		return c.jsonOK(s.jsonPage(c, "AccountAssignments", items))
	}
	return c.fail(400, "UnknownOperationException", "SSO Admin operation "+c.op+" is not simulated")
}

func (s *Sim) identityStore(c *call) int {
	ic := c.instanceHere()
	if ic == nil || c.str("IdentityStoreId") != ic.StoreID {
		return c.fail(400, "ResourceNotFoundException", "Identity store "+c.str("IdentityStoreId")+" does not exist")
	}
	switch c.op {
	case "ListUsers":
		items := []map[string]any{}
		for _, u := range ic.Users {
			given, family, _ := strings.Cut(u.DisplayName, " ")
			status := "ENABLED"
			if u.Disabled {
				status = "DISABLED"
			}
			m := map[string]any{
				"UserId": u.ID, "IdentityStoreId": ic.StoreID, "UserName": u.UserName, "DisplayName": u.DisplayName,
				"UserArn": "arn:aws:identitystore:::user/" + u.ID, "Revision": "1",
				"Name":       map[string]any{"GivenName": given, "FamilyName": family, "Formatted": u.DisplayName},
				"Emails":     []map[string]any{{"Value": u.Email, "Type": "work", "Primary": true}},
				"UserStatus": status, "CreatedAt": epoch(u.Created), "UpdatedAt": epoch(u.Created),
			}
			if u.ExternalID != "" {
				m["ExternalIds"] = []map[string]any{{"Issuer": "https://scim.example/okta", "Id": u.ExternalID}}
			}
			items = append(items, m)
		}
		return c.jsonOK(s.jsonPage(c, "Users", items))
	case "ListGroups":
		items := []map[string]any{}
		for _, g := range ic.Groups {
			items = append(items, map[string]any{"GroupId": g.ID, "IdentityStoreId": ic.StoreID, "DisplayName": g.Name,
				"Description": g.Description, "GroupArn": "arn:aws:identitystore:::group/" + g.ID, "Revision": "1"})
		}
		return c.jsonOK(s.jsonPage(c, "Groups", items))
	case "ListGroupMemberships":
		for _, g := range ic.Groups {
			if g.ID != c.str("GroupId") {
				continue
			}
			items := []map[string]any{}
			for i, m := range g.Members {
				items = append(items, map[string]any{"IdentityStoreId": ic.StoreID, "MembershipId": fmt.Sprintf("%s-m%d", g.ID, i),
					"GroupId": g.ID, "MemberId": map[string]any{"UserId": m}})
			}
			return c.jsonOK(s.jsonPage(c, "GroupMemberships", items))
		}
		return c.fail(400, "ResourceNotFoundException", "GROUP not found: "+c.str("GroupId"))
	}
	return c.fail(400, "UnknownOperationException", "Identity Store operation "+c.op+" is not simulated")
}
