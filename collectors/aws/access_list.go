package awscollector

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// authDetails is the account's whole authorization picture.
type authDetails struct {
	users    []types.UserDetail
	groups   []types.GroupDetail
	roles    []types.RoleDetail
	policies map[string]types.ManagedPolicyDetail // customer managed, by ARN
}

// readAuthDetails pages through GetAccountAuthorizationDetails. AWS managed
// policies are left out: there are over a thousand, and the one that
// matters here (AdministratorAccess) is known by its ARN.
func readAuthDetails(ctx context.Context, api iamAPI) (*authDetails, error) {
	d := &authDetails{policies: map[string]types.ManagedPolicyDetail{}}
	p := iam.NewGetAccountAuthorizationDetailsPaginator(api, &iam.GetAccountAuthorizationDetailsInput{
		Filter: []types.EntityType{
			types.EntityTypeUser, types.EntityTypeGroup, types.EntityTypeRole, types.EntityTypeLocalManagedPolicy,
		},
		MaxItems: aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return d, fmt.Errorf("get account authorization details: %w", err)
		}
		d.users = append(d.users, page.UserDetailList...)
		d.groups = append(d.groups, page.GroupDetailList...)
		d.roles = append(d.roles, page.RoleDetailList...)
		for _, pol := range page.Policies {
			d.policies[aws.ToString(pol.Arn)] = pol
		}
	}
	return d, nil
}

func attachedARNs(l []types.AttachedPolicy) []string {
	out := make([]string, 0, len(l))
	for _, a := range l {
		out = append(out, aws.ToString(a.PolicyArn))
	}
	sort.Strings(out)
	return out
}

func inlineNames(l []types.PolicyDetail) []string {
	out := make([]string, 0, len(l))
	for _, p := range l {
		out = append(out, aws.ToString(p.PolicyName))
	}
	sort.Strings(out)
	return out
}

// accessList returns the inventory records, the per-account access_list
// finding and the per-user no_direct_admin findings.
func (c *iamCollector) accessList(ctx context.Context, api iamAPI, root string) ([]evidence.Record, []evidence.Finding, *authDetails, error) {
	d, err := readAuthDetails(ctx, api)
	var recs []evidence.Record
	for _, u := range d.users {
		attrs := map[string]any{
			"name":              aws.ToString(u.UserName),
			"path":              aws.ToString(u.Path),
			"created":           ts(aws.ToTime(u.CreateDate)),
			"groups":            sortedCopy(u.GroupList),
			"attached_policies": attachedARNs(u.AttachedManagedPolicies),
			"inline_policies":   inlineNames(u.UserPolicyList),
		}
		if len(u.Tags) > 0 {
			// identity.reconcile joins a user to its person by a tag.
			tags := map[string]any{}
			for _, t := range u.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			attrs["tags"] = tags
		}
		recs = append(recs, evidence.Record{Type: "aws.iam.user", ID: aws.ToString(u.Arn), Attributes: attrs})
	}
	for _, g := range d.groups {
		recs = append(recs, evidence.Record{Type: "aws.iam.group", ID: aws.ToString(g.Arn), Attributes: map[string]any{
			"name":              aws.ToString(g.GroupName),
			"attached_policies": attachedARNs(g.AttachedManagedPolicies),
			"inline_policies":   inlineNames(g.GroupPolicyList),
		}})
	}
	for _, r := range d.roles {
		attrs := map[string]any{
			"name":              aws.ToString(r.RoleName),
			"path":              aws.ToString(r.Path),
			"created":           ts(aws.ToTime(r.CreateDate)),
			"attached_policies": attachedARNs(r.AttachedManagedPolicies),
			"inline_policies":   inlineNames(r.RolePolicyList),
		}
		if r.RoleLastUsed != nil {
			attrs["last_used"] = ts(aws.ToTime(r.RoleLastUsed.LastUsedDate))
		}
		if doc, err := parsePolicy(aws.ToString(r.AssumeRolePolicyDocument)); err == nil {
			attrs["trusted_principals"] = trustedPrincipals(doc)
		}
		recs = append(recs, evidence.Record{Type: "aws.iam.role", ID: aws.ToString(r.Arn), Attributes: attrs})
	}
	arns := make([]string, 0, len(d.policies))
	for a := range d.policies {
		arns = append(arns, a)
	}
	sort.Strings(arns)
	for _, a := range arns {
		p := d.policies[a]
		recs = append(recs, evidence.Record{Type: "aws.iam.policy", ID: a, Attributes: map[string]any{
			"name":             aws.ToString(p.PolicyName),
			"attachment_count": aws.ToInt32(p.AttachmentCount),
			"default_version":  aws.ToString(p.DefaultVersionId),
			"grants_admin":     managedGrantsAdmin(p),
		}})
	}
	counts := map[string]any{"users": len(d.users), "groups": len(d.groups), "roles": len(d.roles), "customer_managed_policies": len(d.policies)}
	if err != nil {
		counts["error"] = err.Error()
		return recs, []evidence.Finding{
			finding(checkAccessList, root, evidence.Error, "The access list is incomplete: the authorization details could not all be read.", counts),
			finding(checkNoDirectAdmin, root, evidence.Error, "Users' policies could not all be read, so direct admin grants were not determined.", map[string]any{"error": err.Error()}),
		}, d, err
	}
	fs := []evidence.Finding{finding(checkAccessList, root, evidence.Pass,
		fmt.Sprintf("Complete inventory of %d users, %d groups, %d roles and %d customer managed policies.", len(d.users), len(d.groups), len(d.roles), len(d.policies)), counts)}
	for _, u := range d.users {
		fs = append(fs, directAdmin(u, d.policies))
	}
	return recs, fs, d, nil
}

func sortedCopy(l []string) []string {
	out := append([]string{}, l...)
	sort.Strings(out)
	return out
}

func managedGrantsAdmin(p types.ManagedPolicyDetail) bool {
	for _, v := range p.PolicyVersionList {
		if v.IsDefaultVersion {
			doc, err := parsePolicy(aws.ToString(v.Document))
			return err == nil && doc.grantsAdmin()
		}
	}
	return false
}

// directAdmin judges one user's own (not group-inherited) policies.
func directAdmin(u types.UserDetail, local map[string]types.ManagedPolicyDetail) evidence.Finding {
	arn, name := aws.ToString(u.Arn), aws.ToString(u.UserName)
	var admin, unknown []string
	for _, a := range u.AttachedManagedPolicies {
		pa := aws.ToString(a.PolicyArn)
		switch {
		case strings.HasSuffix(pa, ":iam::aws:policy/AdministratorAccess"):
			admin = append(admin, pa)
		case strings.Contains(pa, ":iam::aws:policy/"):
			// AWS managed policies other than AdministratorAccess do not grant *:*.
		default:
			p, ok := local[pa]
			if !ok {
				unknown = append(unknown, pa)
			} else if managedGrantsAdmin(p) {
				admin = append(admin, pa)
			}
		}
	}
	for _, p := range u.UserPolicyList {
		doc, err := parsePolicy(aws.ToString(p.PolicyDocument))
		if err != nil {
			unknown = append(unknown, "inline:"+aws.ToString(p.PolicyName))
			continue
		}
		if doc.grantsAdmin() {
			admin = append(admin, "inline:"+aws.ToString(p.PolicyName))
		}
	}
	obs := map[string]any{
		"attached_policies": attachedARNs(u.AttachedManagedPolicies),
		"inline_policies":   inlineNames(u.UserPolicyList),
	}
	switch {
	case len(admin) > 0:
		obs["admin_policies"] = admin
		return finding(checkNoDirectAdmin, arn, evidence.Fail, fmt.Sprintf("User %s has administrator access attached directly.", name), obs)
	case len(unknown) > 0:
		obs["unreadable_policies"] = unknown
		return finding(checkNoDirectAdmin, arn, evidence.Error, fmt.Sprintf("Some of user %s's policies could not be read.", name), obs)
	}
	return finding(checkNoDirectAdmin, arn, evidence.Pass, fmt.Sprintf("User %s has no administrator policy attached directly.", name), obs)
}

// trustedPrincipals lists who may assume a role, from its trust policy.
func trustedPrincipals(doc *policyDoc) []string {
	var out []string
	for _, st := range doc.Statement {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		var s string
		if err := jsonUnmarshal(st.Principal, &s); err == nil {
			out = append(out, s)
			continue
		}
		var m map[string]stringList
		if err := jsonUnmarshal(st.Principal, &m); err == nil {
			for k, v := range m {
				for _, x := range v {
					out = append(out, k+":"+x)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
