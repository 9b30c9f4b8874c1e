package awscollector

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// ssoAdminAPI lists the only SSO Admin calls the collector makes: reads.
type ssoAdminAPI interface {
	ssoadmin.ListInstancesAPIClient
	ssoadmin.ListPermissionSetsAPIClient
	DescribePermissionSet(ctx context.Context, in *ssoadmin.DescribePermissionSetInput, optFns ...func(*ssoadmin.Options)) (*ssoadmin.DescribePermissionSetOutput, error)
	ssoadmin.ListManagedPoliciesInPermissionSetAPIClient
	GetInlinePolicyForPermissionSet(ctx context.Context, in *ssoadmin.GetInlinePolicyForPermissionSetInput, optFns ...func(*ssoadmin.Options)) (*ssoadmin.GetInlinePolicyForPermissionSetOutput, error)
	ssoadmin.ListCustomerManagedPolicyReferencesInPermissionSetAPIClient
	ssoadmin.ListAccountsForProvisionedPermissionSetAPIClient
	ssoadmin.ListAccountAssignmentsAPIClient
}

// identityStoreAPI lists the only Identity Store calls the collector makes.
type identityStoreAPI interface {
	identitystore.ListUsersAPIClient
	identitystore.ListGroupsAPIClient
	identitystore.ListGroupMembershipsAPIClient
}

var (
	_ ssoAdminAPI      = (*ssoadmin.Client)(nil)
	_ identityStoreAPI = (*identitystore.Client)(nil)
)

type identityCenterCollector struct{ s *session }

func newIdentityCenter(s collector.Settings, tune tuning) (*identityCenterCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &identityCenterCollector{s: sess}, nil
}

// Scopes lists one scope per account with its regions. The instance lives
// in one account (the management account or a delegated administrator)
// and one region; which ones is not configuration but what ListInstances
// answers, so every configured account and region is asked and the
// answer recorded. Member accounts simply answer none.
func (c *identityCenterCollector) Scopes(ctx context.Context) ([]evidence.Scope, error) {
	return c.s.scopes(ctx, true)
}

func (c *identityCenterCollector) clients(cfg aws.Config, region string) (ssoAdminAPI, identityStoreAPI) {
	sso := ssoadmin.NewFromConfig(cfg, func(o *ssoadmin.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
	ids := identitystore.NewFromConfig(cfg, func(o *identitystore.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
	return sso, ids
}

// Collect finds the account's instances, region by region, and reads each
// one whole: its identity store, its permission sets and every account
// assignment.
func (c *identityCenterCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	root := accountARN(part, acct)
	var mu sync.Mutex
	searched := map[string]int{} // regions answered in full, with their instance count
	insts, ok := eachRegion(ctx, c.s, run, req.Scope, listing{op: "sso:ListInstances", noun: "Identity Center instance", checks: IdentityCenter.Checks},
		func(ctx context.Context, region string) ([]*icInstance, error) {
			sso, _ := c.clients(cfg, region)
			var got []*icInstance
			p := ssoadmin.NewListInstancesPaginator(sso, &ssoadmin.ListInstancesInput{MaxResults: aws.Int32(100)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return got, fmt.Errorf("list instances: %w", err)
				}
				for _, m := range page.Instances {
					got = append(got, &icInstance{region: region, meta: m})
				}
			}
			mu.Lock()
			searched[region] = len(got)
			mu.Unlock()
			return got, nil
		})
	if !ok {
		return res, partial.Err()
	}
	regions := make([]string, 0, len(searched))
	for r := range searched {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		res.Records = append(res.Records, evidence.Record{Type: "aws.identity_center.region", ID: root, Region: r,
			Attributes: map[string]any{"instances": searched[r]}})
	}
	if len(insts) == 0 {
		if len(partial.Errors) == 0 {
			// Some customers do not use Identity Center, and in an
			// organization only the account holding the instance has one:
			// neither is a failure.
			res.Findings = append(res.Findings, finding(checkICAccessList, root, evidence.NotApplicable,
				"No IAM Identity Center instance in this account's regions: Identity Center is not used here, or its instance is held by another account.",
				map[string]any{"regions_searched": regions}))
		}
		return res, partial.Err()
	}
	sort.Slice(insts, func(i, j int) bool {
		return aws.ToString(insts[i].meta.InstanceArn) < aws.ToString(insts[j].meta.InstanceArn)
	})
	th := c.s.thresholds()
	for _, in := range insts {
		sso, ids := c.clients(cfg, in.region)
		c.readInstance(ctx, sso, ids, in)
		for _, e := range in.errs {
			partial.Add(where(acct, in.region, e.resource), e.op, e.err)
		}
		res.Records = append(res.Records, in.records(part, acct)...)
		res.Findings = append(res.Findings, in.findings(part, th.AdminAssignmentAccounts)...)
	}
	return res, partial.Err()
}

// icInstance is everything read about one instance. errs lists what could
// not be read; the findings say which parts that leaves undetermined.
type icInstance struct {
	region string
	meta   ssotypes.InstanceMetadata

	users       []icUser
	usersErr    error
	groups      []*icGroup
	groupsErr   error
	sets        []*icSet
	setsErr     error
	assignments []ssotypes.AccountAssignment
	// assignmentsErr is set when any permission set's accounts or any
	// account's assignments could not be listed.
	assignmentsErr error

	mu   sync.Mutex
	errs []icError
}

type icError struct {
	resource, op string
	err          error
}

func (in *icInstance) fail(resource, op string, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.errs = append(in.errs, icError{resource: resource, op: op, err: err})
}

func (in *icInstance) arn() string { return aws.ToString(in.meta.InstanceArn) }
