package awscollector

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// networkAPI lists the only EC2 call the collector makes: security groups
// come with their rules and tags, a page per 1000 groups, so nothing is
// asked per group.
type networkAPI interface {
	ec2.DescribeSecurityGroupsAPIClient
}

var _ networkAPI = (*ec2.Client)(nil)

type networkCollector struct{ perAccount }

func newNetwork(s collector.Settings, tune tuning) (*networkCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &networkCollector{perAccount{sess}}, nil
}

// sgState is one security group as listed.
type sgState struct {
	arn, region string
	group       ec2types.SecurityGroup
}

func (c *networkCollector) client(cfg aws.Config, region string) networkAPI {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

// securityGroupARN names a group by the account that owns it, which in a
// shared VPC may not be the account reading it.
func securityGroupARN(part, region, owner, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:security-group/%s", part, region, owner, id)
}

// exposedPorts are the ports judged: the configured ones, or the defaults.
func (c *networkCollector) exposedPorts() []int {
	ports := c.s.src.ExposedPorts
	if len(ports) == 0 {
		ports = collector.DefaultExposedPorts
	}
	out := append([]int(nil), ports...)
	sort.Ints(out)
	return out
}

// Collect pages through each region's security groups once; every group
// is judged on its ingress to the exposed ports, and each VPC's default
// group on having no rules at all.
func (c *networkCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	root := accountARN(part, acct)
	ports := c.exposedPorts()
	res.Records = append(res.Records, phiRecord(root, c.s.src.PHITags),
		evidence.Record{Type: "aws.network.exposed_ports", ID: root, Attributes: map[string]any{"ports": ports}})
	groups, ok := eachRegion(ctx, c.s, run, req.Scope, listing{op: "ec2:DescribeSecurityGroups", noun: "security group", checks: Network.Checks},
		func(ctx context.Context, region string) ([]*sgState, error) {
			var got []*sgState
			p := ec2.NewDescribeSecurityGroupsPaginator(c.client(cfg, region), &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(1000)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return got, fmt.Errorf("describe security groups: %w", err)
				}
				for _, g := range page.SecurityGroups {
					owner := aws.ToString(g.OwnerId)
					if owner == "" {
						owner = acct
					}
					got = append(got, &sgState{arn: securityGroupARN(part, region, owner, aws.ToString(g.GroupId)), region: region, group: g})
				}
			}
			return got, nil
		})
	if !ok {
		return res, partial.Err()
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].arn < groups[j].arn })
	conf := len(c.s.src.PHITags) > 0
	for _, g := range groups {
		phi := conf && phiTagged(c.s.src.PHITags, ec2Tags(g.group.Tags))
		rec := securityGroupRecord(g)
		if conf {
			rec.Attributes["phi"] = phi
		}
		res.Records = append(res.Records, rec)
		res.Findings = append(res.Findings, markPHI(adminPortsClosed(g, ports), conf, phi, nil))
		if isDefaultGroup(g.group) {
			res.Findings = append(res.Findings, markPHI(defaultGroupClosed(g), conf, phi, nil))
		}
	}
	return res, partial.Err()
}
