package awscollector

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// orgAPI is the part of AWS Organizations the collectors read.
type orgAPI interface {
	organizations.ListAccountsAPIClient
}

// regionAPI is the part of EC2 the collectors read.
type regionAPI interface {
	DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// orgAccount is one member account as Organizations lists it.
type orgAccount struct {
	id, arn, name, status string
}

// discover lists the organization's accounts with the agent's own
// credentials, which must be the management account's or a delegated
// administrator's. It also returns the caller's account.
func (s *session) discover(ctx context.Context, cfg aws.Config) ([]orgAccount, string, error) {
	self, err := s.callerAccount(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	var api orgAPI = organizations.NewFromConfig(cfg, func(o *organizations.Options) {
		if s.src.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.src.Endpoint)
		}
	})
	var out []orgAccount
	p := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("list organization accounts: %w", err)
		}
		for _, a := range page.Accounts {
			st := string(a.State)
			if st == "" {
				st = string(a.Status) //nolint:staticcheck // older organizations answer Status only
			}
			out = append(out, orgAccount{id: aws.ToString(a.Id), arn: aws.ToString(a.Arn), name: aws.ToString(a.Name), status: st})
		}
	}
	return out, self, nil
}

// skippedRecords describes the organization accounts not read because they
// are not active, in the management account's evidence only, so the
// population an auditor sees is complete.
func (s *session) skippedRecords(account string) []evidence.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.manager == "" || s.manager != account {
		return nil
	}
	var recs []evidence.Record
	for _, a := range s.skipped {
		recs = append(recs, evidence.Record{
			Type: "aws.organizations.account",
			ID:   a.arn,
			Attributes: map[string]any{
				"account_id": a.id,
				"name":       a.name,
				"status":     a.status,
				"skipped":    true,
				"reason":     "account is not active in the organization; not read",
			},
		})
	}
	return recs
}

// enabledRegions lists the regions enabled in the account (opted-in or not
// requiring opt-in).
func (s *session) enabledRegions(ctx context.Context, cfg aws.Config) ([]string, error) {
	var api regionAPI = ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if s.src.Endpoint != "" {
			o.BaseEndpoint = aws.String(s.src.Endpoint)
		}
	})
	out, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, fmt.Errorf("describe regions: %w", err)
	}
	var regs []string
	for _, r := range out.Regions {
		if st := aws.ToString(r.OptInStatus); st == "not-opted-in" {
			continue
		}
		regs = append(regs, aws.ToString(r.RegionName))
	}
	return regs, nil
}
