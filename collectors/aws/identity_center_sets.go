package awscollector

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
)

// icSet is one permission set with its policies and the accounts it is
// provisioned to. Customer managed policies are references by name and
// path: their documents live in each account's IAM, where aws.iam reads
// them, so here they are recorded and not judged.
type icSet struct {
	arn, name, description, session string
	managed                         []string // policy ARNs
	customer                        []map[string]any
	inline                          string
	accounts                        []string

	describeErr, managedErr, inlineErr, customerErr, accountsErr error
	read                                                         bool
}

// admin judges whether the set grants administrator access: AWS managed
// AdministratorAccess attached, or an inline policy allowing "*" on "*".
// why names the policy that does. Either one read is enough to say yes;
// saying no needs both, so err is the read that left it unknown.
// Customer managed policies are references only (see icSet) and decide
// nothing here.
func (s *icSet) admin() (admin bool, why string, err error) {
	if s.managedErr == nil {
		for _, a := range s.managed {
			if strings.HasSuffix(a, ":iam::aws:policy/AdministratorAccess") {
				return true, a, nil
			}
		}
	}
	if s.inlineErr == nil && strings.TrimSpace(s.inline) != "" {
		if doc, perr := parsePolicy(s.inline); perr == nil && doc.grantsAdmin() {
			return true, "inline", nil
		}
	}
	if s.managedErr != nil {
		return false, "", s.managedErr
	}
	return false, "", s.inlineErr
}

// readSets reads every permission set: its description, managed,
// customer managed and inline policies, and the accounts it is
// provisioned to. AWS answers one set at a time; there is no bulk form.
func (c *identityCenterCollector) readSets(ctx context.Context, api ssoAdminAPI, in *icInstance) {
	inst := in.arn()
	p := ssoadmin.NewListPermissionSetsPaginator(api, &ssoadmin.ListPermissionSetsInput{InstanceArn: aws.String(inst), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			in.setsErr = fmt.Errorf("list permission sets: %w", err)
			in.fail(inst, "sso:ListPermissionSets", in.setsErr)
			break
		}
		for _, a := range page.PermissionSets {
			in.sets = append(in.sets, &icSet{arn: a})
		}
	}
	sort.Slice(in.sets, func(i, j int) bool { return in.sets[i].arn < in.sets[j].arn })
	forEach(ctx, c.s.concurrency(), in.sets, func(ctx context.Context, s *icSet) {
		c.readSet(ctx, api, inst, s)
		s.read = true
	})
	for _, s := range in.sets {
		if !s.read {
			s.describeErr = notRead(ctx)
			s.accountsErr = s.describeErr
		}
		for _, e := range []struct {
			op  string
			err error
		}{
			{"sso:DescribePermissionSet", s.describeErr},
			{"sso:ListManagedPoliciesInPermissionSet", s.managedErr},
			{"sso:GetInlinePolicyForPermissionSet", s.inlineErr},
			{"sso:ListCustomerManagedPolicyReferencesInPermissionSet", s.customerErr},
			{"sso:ListAccountsForProvisionedPermissionSet", s.accountsErr},
		} {
			if e.err != nil {
				in.fail(s.arn, e.op, e.err)
			}
		}
	}
}

func (c *identityCenterCollector) readSet(ctx context.Context, api ssoAdminAPI, inst string, s *icSet) {
	key := func() (*string, *string) { return aws.String(inst), aws.String(s.arn) }
	i, a := key()
	out, err := api.DescribePermissionSet(ctx, &ssoadmin.DescribePermissionSetInput{InstanceArn: i, PermissionSetArn: a})
	if err != nil {
		s.describeErr = fmt.Errorf("describe permission set: %w", err)
	} else if ps := out.PermissionSet; ps != nil {
		s.name, s.description, s.session = aws.ToString(ps.Name), aws.ToString(ps.Description), aws.ToString(ps.SessionDuration)
	}
	mp := ssoadmin.NewListManagedPoliciesInPermissionSetPaginator(api, &ssoadmin.ListManagedPoliciesInPermissionSetInput{InstanceArn: i, PermissionSetArn: a, MaxResults: aws.Int32(100)})
	for mp.HasMorePages() {
		page, err := mp.NextPage(ctx)
		if err != nil {
			s.managedErr = fmt.Errorf("list managed policies in permission set: %w", err)
			break
		}
		for _, m := range page.AttachedManagedPolicies {
			s.managed = append(s.managed, aws.ToString(m.Arn))
		}
	}
	sort.Strings(s.managed)
	inl, err := api.GetInlinePolicyForPermissionSet(ctx, &ssoadmin.GetInlinePolicyForPermissionSetInput{InstanceArn: i, PermissionSetArn: a})
	if err != nil {
		s.inlineErr = fmt.Errorf("get inline policy for permission set: %w", err)
	} else {
		s.inline = aws.ToString(inl.InlinePolicy)
		if strings.TrimSpace(s.inline) != "" {
			if _, perr := parsePolicy(s.inline); perr != nil {
				s.inlineErr = fmt.Errorf("inline policy: %w", perr)
			}
		}
	}
	cp := ssoadmin.NewListCustomerManagedPolicyReferencesInPermissionSetPaginator(api, &ssoadmin.ListCustomerManagedPolicyReferencesInPermissionSetInput{InstanceArn: i, PermissionSetArn: a, MaxResults: aws.Int32(100)})
	for cp.HasMorePages() {
		page, err := cp.NextPage(ctx)
		if err != nil {
			s.customerErr = fmt.Errorf("list customer managed policy references in permission set: %w", err)
			break
		}
		for _, r := range page.CustomerManagedPolicyReferences {
			s.customer = append(s.customer, map[string]any{"name": aws.ToString(r.Name), "path": aws.ToString(r.Path)})
		}
	}
	ap := ssoadmin.NewListAccountsForProvisionedPermissionSetPaginator(api, &ssoadmin.ListAccountsForProvisionedPermissionSetInput{InstanceArn: i, PermissionSetArn: a, MaxResults: aws.Int32(100)})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			s.accountsErr = fmt.Errorf("list accounts for provisioned permission set: %w", err)
			break
		}
		s.accounts = append(s.accounts, page.AccountIds...)
	}
	sort.Strings(s.accounts)
}

// assignmentKey is one permission set in one account it is provisioned to.
type assignmentKey struct {
	set     *icSet
	account string
	got     []ssotypes.AccountAssignment
	err     error
	read    bool
}

// readAssignments lists who holds each permission set in each account it
// is provisioned to. ListAccountAssignments (one call per provisioned set
// and account) is the bulkest form AWS offers. The alternative,
// ListAccountAssignmentsForPrincipal, costs one call per user and group —
// usually more, since people outnumber provisioned set-account pairs — and
// can never show an assignment whose principal was deleted from the store,
// which is exactly what assignments_to_absent_users looks for.
func (c *identityCenterCollector) readAssignments(ctx context.Context, api ssoAdminAPI, in *icInstance) {
	inst := in.arn()
	var keys []*assignmentKey
	for _, s := range in.sets {
		if s.accountsErr != nil && in.assignmentsErr == nil {
			in.assignmentsErr = fmt.Errorf("permission set %s: %w", s.arn, s.accountsErr)
		}
		for _, a := range s.accounts {
			keys = append(keys, &assignmentKey{set: s, account: a})
		}
	}
	if in.setsErr != nil && in.assignmentsErr == nil {
		in.assignmentsErr = in.setsErr
	}
	forEach(ctx, c.s.concurrency(), keys, func(ctx context.Context, k *assignmentKey) {
		p := ssoadmin.NewListAccountAssignmentsPaginator(api, &ssoadmin.ListAccountAssignmentsInput{
			InstanceArn: aws.String(inst), PermissionSetArn: aws.String(k.set.arn), AccountId: aws.String(k.account), MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				k.err = fmt.Errorf("list account assignments (account %s): %w", k.account, err)
				break
			}
			k.got = append(k.got, page.AccountAssignments...)
		}
		k.read = true
	})
	for _, k := range keys {
		if !k.read {
			k.err = notRead(ctx)
		}
		in.assignments = append(in.assignments, k.got...)
		if k.err != nil {
			in.fail(k.set.arn+"/account/"+k.account, "sso:ListAccountAssignments", k.err)
			if in.assignmentsErr == nil {
				in.assignmentsErr = k.err
			}
		}
	}
}

// readInstance reads one instance whole.
func (c *identityCenterCollector) readInstance(ctx context.Context, sso ssoAdminAPI, ids identityStoreAPI, in *icInstance) {
	c.readStore(ctx, ids, in)
	c.readSets(ctx, sso, in)
	c.readAssignments(ctx, sso, in)
}
