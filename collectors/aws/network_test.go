package awscollector

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func networkNew(s collector.Settings, t tuning) (collector.Collector, error) { return newNetwork(s, t) }

const (
	usDefaultSG = "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0a1b2c3d4e5f60001"
	bastionSG   = "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0b2c3d4e5f6a70002"
	webSG       = "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0c3d4e5f6a7b80003"
	patientsSG  = "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0d4e5f6a7b8c90004"
	euDefaultSG = "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0e5f6a7b8c9d00005"
	reportingSG = "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0f6a7b8c9d0e10006"
	stagingApp  = "arn:aws:ec2:eu-west-1:444455556666:security-group/sg-02b3c4d5e6f7a0008"
	stagingDef  = "arn:aws:ec2:eu-west-1:444455556666:security-group/sg-01a2b3c4d5e6f0007"
)

func TestNetworkDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.network", networkNew, nil)
	golden(t, "network_demo", out.results)
}

// TestNetworkDemoVerdicts: each planted group fails on its ARN naming the
// port, protocol and CIDR of the rule; the compliant counterparts pass.
func TestNetworkDemoVerdicts(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.network", networkNew, nil)
	p := out.results[0]
	require.Equal(t, evidence.StatusComplete, p.Status, "%v", p.Errors)
	for _, c := range []struct {
		check, resource string
		want            evidence.Result
	}{
		{checkNetworkAdminPorts, bastionSG, evidence.Fail},
		{checkNetworkAdminPorts, reportingSG, evidence.Fail},
		{checkNetworkAdminPorts, webSG, evidence.Pass},
		{checkNetworkAdminPorts, patientsSG, evidence.Pass},
		{checkNetworkAdminPorts, usDefaultSG, evidence.Pass},
		{checkNetworkAdminPorts, euDefaultSG, evidence.Pass},
		{checkNetworkDefaultSG, usDefaultSG, evidence.Fail},
		{checkNetworkDefaultSG, euDefaultSG, evidence.Pass},
	} {
		f := findingOf(t, p, c.check, c.resource)
		require.Equal(t, c.want, f.Status, "%s %s: %s", c.check, c.resource, f.Reason)
	}
	bastion := findingOf(t, p, checkNetworkAdminPorts, bastionSG)
	require.Contains(t, bastion.Reason, "sg-0b2c3d4e5f6a70002 (bastion-ssh)")
	require.Contains(t, bastion.Reason, "tcp 22 from 0.0.0.0/0 reaches port 22")
	require.Equal(t, []int{22}, bastion.Observed["exposed_ports"])
	require.Equal(t, []map[string]any{{"direction": "ingress", "protocol": "tcp", "from_port": int32(22), "to_port": int32(22), "cidr": "0.0.0.0/0", "ports": []int{22}}},
		bastion.Observed["open_rules"])
	reporting := findingOf(t, p, checkNetworkAdminPorts, reportingSG)
	require.Contains(t, reporting.Reason, "tcp 5432 from ::/0 reaches port 5432")
	require.NotContains(t, reporting.Reason, "10.1.0.0/16", "the VPC-internal rule is not an offence")
	web := findingOf(t, p, checkNetworkAdminPorts, webSG)
	require.Contains(t, web.Reason, "tcp 443 from 0.0.0.0/0; tcp 443 from ::/0", "what is open to the internet is recorded")
	require.Len(t, web.Observed["internet_ingress"], 2)
	def := findingOf(t, p, checkNetworkDefaultSG, usDefaultSG)
	require.Contains(t, def.Reason, "ingress all traffic from sg-0a1b2c3d4e5f60001 (itself); egress all traffic to 0.0.0.0/0")
	require.Equal(t, 1, def.Observed["ingress_rules"])
	require.Equal(t, 1, def.Observed["egress_rules"])
	// Only default groups are judged on being default groups.
	for _, f := range p.Findings {
		if f.Check == checkNetworkDefaultSG {
			require.Contains(t, []string{usDefaultSG, euDefaultSG}, f.Resource)
		}
	}
	// Staging is compliant: 443 open to the world, 22 from the VPN only.
	s := out.results[1]
	require.Equal(t, evidence.StatusComplete, s.Status)
	for _, f := range s.Findings {
		require.Equal(t, evidence.Pass, f.Status, "%s %s: %s", f.Check, f.Resource, f.Reason)
	}
	require.Equal(t, evidence.Pass, findingOf(t, s, checkNetworkAdminPorts, stagingApp).Status)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkNetworkDefaultSG, stagingDef).Status)
}

// TestNetworkPagination reads security groups one per page
// (MaxResults/NextToken, <nextToken>) to the end: the evidence is the same.
func TestNetworkPagination(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.PageSize = 1
	out := runCollector(t, sim, "aws.network", networkNew, nil)
	golden(t, "network_demo", out.results)
	// Four groups in us-east-1, two in eu-west-1: a page each.
	require.Equal(t, 6, sim.Count(prod, "ec2", "DescribeSecurityGroups"))
	// Staging: two in eu-west-1, and us-east-1's one empty page.
	require.Equal(t, 3, sim.Count(staging, "ec2", "DescribeSecurityGroups"))
}

// TestNetworkCallsPerGroup: one page per region however many rules, and
// nothing asked per group.
func TestNetworkCallsPerGroup(t *testing.T) {
	sim := awssim.NewAt(simNow)
	runCollector(t, sim, "aws.network", networkNew, nil)
	require.Equal(t, 2, sim.Count(prod, "ec2", "DescribeSecurityGroups"))
	require.Equal(t, 2, sim.Count(prod, "ec2", ""), "configured regions are not listed")
}

// TestNetworkRegionDenied: AccessDenied in eu-west-1 and ap-east-1 not
// enabled give an error finding of each check for those regions on the
// account and a partial snapshot; us-east-1 is judged as ever.
func TestNetworkRegionDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "")
	out := runCollector(t, sim, "aws.network", networkNew, func(src *collector.AWSSource) { src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"} })
	require.Len(t, out.results, 2)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	require.Len(t, p.Errors, 2)
	require.Equal(t, "account/111122223333/region/ap-east-1", p.Errors[0].Where)
	require.Contains(t, p.Errors[0].Message, "AuthFailure")
	require.Equal(t, "account/111122223333/region/eu-west-1", p.Errors[1].Where)
	require.Contains(t, p.Errors[1].Message, "UnauthorizedOperation")
	for _, e := range p.Errors {
		require.Equal(t, "ec2:DescribeSecurityGroups", e.Operation)
	}
	rootErrors := map[string]int{}
	for _, f := range p.Findings {
		require.NotContains(t, f.Resource, ":eu-west-1:", "nothing in the denied region is judged")
		if f.Resource == "arn:aws:iam::111122223333:root" {
			require.Equal(t, evidence.Error, f.Status)
			require.Contains(t, f.Reason, "security groups of region")
			require.Contains(t, f.Reason, "could not all be listed")
			rootErrors[f.Check]++
		}
	}
	require.Equal(t, map[string]int{checkNetworkAdminPorts: 2, checkNetworkDefaultSG: 2}, rootErrors)
	// us-east-1 intact.
	require.Equal(t, evidence.Fail, findingOf(t, p, checkNetworkAdminPorts, bastionSG).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkNetworkAdminPorts, webSG).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkNetworkDefaultSG, usDefaultSG).Status)
	// Staging only misses the region it has not enabled.
	s := out.results[1]
	require.Equal(t, evidence.StatusPartial, s.Status)
	require.Len(t, s.Errors, 1)
	require.Contains(t, s.Errors[0].Where, "ap-east-1")
	require.Equal(t, evidence.Pass, findingOf(t, s, checkNetworkAdminPorts, stagingApp).Status)
}

// TestNetworkAssumeRole: staging is read through its role and judged there.
func TestNetworkAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.network", networkNew, nil)
	s := out.results[1]
	require.Equal(t, staging, s.Scope.Account)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkNetworkAdminPorts, stagingApp).Status)
	var assumed int
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed++
			require.Equal(t, "exhibit-aws.network", r.RoleSessionName)
		}
	}
	require.NotZero(t, assumed)
	require.NotZero(t, sim.Count(staging, "ec2", "DescribeSecurityGroups"))
}

// TestNetworkThrottlingRetried: EC2's RequestLimitExceeded is retried and
// the evidence is unchanged.
func TestNetworkThrottlingRetried(t *testing.T) {
	requireRetried(t, "aws.network", networkNew, "network_demo", "DescribeSecurityGroups")
}

// TestNetworkPHITags: the tags in the DescribeSecurityGroups answer mark
// ePHI at no cost; without phi_tags nothing is marked.
func TestNetworkPHITags(t *testing.T) {
	sim := awssim.NewAt(simNow)
	p := runCollector(t, sim, "aws.network", networkNew, nil).results[0]
	calls := len(sim.Requests())
	db := findingOf(t, p, checkNetworkAdminPorts, patientsSG)
	require.Equal(t, true, db.Observed["phi"])
	require.Contains(t, db.Reason, "ePHI")
	bastion := findingOf(t, p, checkNetworkAdminPorts, bastionSG)
	require.Equal(t, evidence.Fail, bastion.Status, "untagged groups are still checked")
	require.Equal(t, false, bastion.Observed["phi"])

	sim = awssim.NewAt(simNow)
	p = runCollector(t, sim, "aws.network", networkNew, func(src *collector.AWSSource) { src.PHITags = nil }).results[0]
	require.Equal(t, calls, len(sim.Requests()), "tags cost no calls")
	require.NotContains(t, findingOf(t, p, checkNetworkAdminPorts, patientsSG).Observed, "phi")
}

// TestNetworkExposedPortsConfigured: sources.aws.exposed_ports replaces
// the defaults, and the snapshot records which ports were judged.
func TestNetworkExposedPortsConfigured(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.network", networkNew, func(src *collector.AWSSource) { src.ExposedPorts = []int{443, 22} })
	p := out.results[0]
	require.Equal(t, evidence.Fail, findingOf(t, p, checkNetworkAdminPorts, webSG).Status, "443 is now a listed port")
	require.Equal(t, evidence.Fail, findingOf(t, p, checkNetworkAdminPorts, bastionSG).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkNetworkAdminPorts, reportingSG).Status, "5432 is no longer listed")
	var rec *evidence.Record
	for i := range p.Records {
		if p.Records[i].Type == "aws.network.exposed_ports" {
			rec = &p.Records[i]
		}
	}
	require.NotNil(t, rec)
	require.Equal(t, []int{22, 443}, rec.Attributes["ports"])
}

func perm(proto string, from, to int32, cidrs ...string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(proto)}
	if proto != "-1" {
		p.FromPort, p.ToPort = aws.Int32(from), aws.Int32(to)
	}
	for _, c := range cidrs {
		if c == "::/0" || len(c) > 0 && c[0] == ':' {
			p.Ipv6Ranges = append(p.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(c)})
		} else {
			p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c)})
		}
	}
	return p
}

// TestNetworkCheckBoundaries: what opens an exposed port and what does not.
func TestNetworkCheckBoundaries(t *testing.T) {
	ports := slices.Sorted(slices.Values(collector.DefaultExposedPorts))
	group := func(perms ...ec2types.IpPermission) *sgState {
		return &sgState{arn: "arn:sg", region: "us-east-1", group: ec2types.SecurityGroup{
			GroupId: aws.String("sg-1"), GroupName: aws.String("g"), VpcId: aws.String("vpc-1"), IpPermissions: perms}}
	}
	for _, c := range []struct {
		name    string
		perms   []ec2types.IpPermission
		want    evidence.Result
		exposed []int
	}{
		{"no rules", nil, evidence.Pass, nil},
		{"443 from the world", []ec2types.IpPermission{perm("tcp", 443, 443, "0.0.0.0/0", "::/0")}, evidence.Pass, nil},
		{"22 from a private range", []ec2types.IpPermission{perm("tcp", 22, 22, "10.0.0.0/8")}, evidence.Pass, nil},
		{"22 from a narrow public range", []ec2types.IpPermission{perm("tcp", 22, 22, "203.0.113.0/24")}, evidence.Pass, nil},
		{"22 from the world", []ec2types.IpPermission{perm("tcp", 22, 22, "0.0.0.0/0")}, evidence.Fail, []int{22}},
		{"3389 over udp from ::/0", []ec2types.IpPermission{perm("udp", 3389, 3389, "::/0")}, evidence.Fail, []int{3389}},
		{"protocol number 6", []ec2types.IpPermission{perm("6", 5432, 5432, "0.0.0.0/0")}, evidence.Fail, []int{5432}},
		{"a range covering 3306 and 5432", []ec2types.IpPermission{perm("tcp", 3000, 6000, "0.0.0.0/0")}, evidence.Fail, []int{3306, 3389, 5432}},
		{"a range beside the ports", []ec2types.IpPermission{perm("tcp", 8000, 9199, "0.0.0.0/0")}, evidence.Pass, nil},
		{"all traffic", []ec2types.IpPermission{perm("-1", 0, 0, "0.0.0.0/0")}, evidence.Fail, []int{22, 1433, 1521, 3306, 3389, 5432, 6379, 9200, 27017}},
		{"all tcp", []ec2types.IpPermission{perm("tcp", 0, 65535, "::/0")}, evidence.Fail, []int{22, 1433, 1521, 3306, 3389, 5432, 6379, 9200, 27017}},
		{"icmp type 22", []ec2types.IpPermission{perm("icmp", 22, -1, "0.0.0.0/0")}, evidence.Pass, nil},
		{"self-referencing all traffic", []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-1")}}}}, evidence.Pass, nil},
		{"prefix list", []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String("pl-1")}}}}, evidence.Pass, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := adminPortsClosed(group(c.perms...), ports)
			require.Equal(t, c.want, f.Status, f.Reason)
			require.Equal(t, checkNetworkAdminPorts, f.Check)
			require.Equal(t, "arn:sg", f.Resource)
			if c.want == evidence.Fail {
				require.Equal(t, c.exposed, f.Observed["exposed_ports"])
				require.Contains(t, f.Reason, "sg-1 (g)")
			} else {
				require.NotContains(t, f.Observed, "open_rules")
			}
		})
	}
	two := adminPortsClosed(group(perm("tcp", 22, 22, "0.0.0.0/0"), perm("-1", 0, 0, "::/0")), ports)
	require.Contains(t, two.Reason, "tcp 22 from 0.0.0.0/0 reaches port 22; all traffic from ::/0 reaches ports 22, 1433")
	require.Len(t, two.Observed["open_rules"], 2)

	def := func(in, out []ec2types.IpPermission) evidence.Finding {
		g := group(in...)
		g.group.GroupName, g.group.IpPermissionsEgress = aws.String("default"), out
		require.True(t, isDefaultGroup(g.group))
		return defaultGroupClosed(g)
	}
	require.Equal(t, evidence.Pass, def(nil, nil).Status)
	egress := def(nil, []ec2types.IpPermission{perm("-1", 0, 0, "0.0.0.0/0", "::/0")})
	require.Equal(t, evidence.Fail, egress.Status, "egress alone is traffic")
	require.Contains(t, egress.Reason, "egress all traffic to 0.0.0.0/0; egress all traffic to ::/0")
	ingress := def([]ec2types.IpPermission{perm("tcp", 443, 443, "10.0.0.0/16")}, nil)
	require.Equal(t, evidence.Fail, ingress.Status, "any ingress, however narrow")
	require.Contains(t, ingress.Reason, "ingress tcp 443 from 10.0.0.0/16")
	require.False(t, isDefaultGroup(group().group))
}

// TestNetworkSimWire: the simulator's DescribeSecurityGroups answer and
// errors are what the SDK's ec2query deserializer reads into its own
// types: a rule for all traffic without ports, a self-referencing group
// pair, IPv6 ranges, the group's ARN and tags.
func TestNetworkSimWire(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRetryMaxAttempts(1))
	require.NoError(t, err)
	client := func(region string) *ec2.Client {
		return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region, o.BaseEndpoint = region, aws.String(srv.URL) })
	}
	out, err := client("us-east-1").DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0a1b2c3d4e5f60001", "sg-0d4e5f6a7b8c90004"}})
	require.NoError(t, err)
	require.Len(t, out.SecurityGroups, 2)
	def := out.SecurityGroups[0]
	require.Equal(t, "default", aws.ToString(def.GroupName))
	require.Equal(t, "vpc-0a1b2c3d4e5f60001", aws.ToString(def.VpcId))
	require.Equal(t, prod, aws.ToString(def.OwnerId))
	require.Equal(t, usDefaultSG, aws.ToString(def.SecurityGroupArn))
	require.Len(t, def.IpPermissions, 1)
	in := def.IpPermissions[0]
	require.Equal(t, "-1", aws.ToString(in.IpProtocol))
	require.Nil(t, in.FromPort, "all traffic has no ports")
	require.Nil(t, in.ToPort)
	require.Equal(t, []ec2types.UserIdGroupPair{{UserId: aws.String(prod), GroupId: aws.String("sg-0a1b2c3d4e5f60001")}}, in.UserIdGroupPairs)
	require.Equal(t, "0.0.0.0/0", aws.ToString(def.IpPermissionsEgress[0].IpRanges[0].CidrIp))
	db := out.SecurityGroups[1]
	require.Equal(t, int32(5432), aws.ToInt32(db.IpPermissions[0].FromPort))
	require.Equal(t, "10.0.0.0/16", aws.ToString(db.IpPermissions[0].IpRanges[0].CidrIp))
	require.Equal(t, map[string]string{"data-classification": "phi"}, ec2Tags(db.Tags))

	out, err = client("eu-west-1").DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0f6a7b8c9d0e10006"}})
	require.NoError(t, err)
	require.Equal(t, "::/0", aws.ToString(out.SecurityGroups[0].IpPermissions[0].Ipv6Ranges[0].CidrIpv6))

	_, err = client("us-east-1").DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0000000000000000f"}})
	require.Equal(t, "InvalidGroup.NotFound", apiErrorCode(err))
	sim.Deny(prod, "eu-west-1", "DescribeSecurityGroups")
	_, err = client("eu-west-1").DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{})
	require.Equal(t, "UnauthorizedOperation", apiErrorCode(err))
	_, err = client("ap-east-1").DescribeSecurityGroups(t.Context(), &ec2.DescribeSecurityGroupsInput{})
	require.Equal(t, "AuthFailure", apiErrorCode(err))
}

// TestNetworkRunEndsEarly: a run that ends while the first region's groups
// are listed judges nothing in the region never reached, and both regions
// are error findings of each check on the account.
func TestNetworkRunEndsEarly(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	ctx, cancel := context.WithCancel(collector.WithRecorder(t.Context(), collector.NewRecorder()))
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "Action=DescribeSecurityGroups") {
			cancel()
			<-r.Context().Done()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := sim.Source(srv.URL)
	src.Concurrency = 1
	c, err := newNetwork(collector.Settings{ID: "aws.network", Sources: collector.Sources{AWS: src}, HTTPClient: collector.NewHTTPClient(nil)}, fastTuning())
	require.NoError(t, err)
	res, err := c.Collect(ctx, collector.Request{Scope: evidence.Scope{Provider: "aws", Account: prod, Regions: src.Regions}, Now: simNow})
	var pe *collector.PartialError
	require.ErrorAs(t, err, &pe)
	rootErrors := map[string]int{}
	for _, f := range res.Findings {
		require.Equal(t, "arn:aws:iam::111122223333:root", f.Resource, "no group was judged")
		require.Equal(t, evidence.Error, f.Status)
		rootErrors[f.Check]++
	}
	require.Equal(t, map[string]int{checkNetworkAdminPorts: 2, checkNetworkDefaultSG: 2}, rootErrors)
	var where []string
	for _, e := range pe.Errors {
		require.Equal(t, "ec2:DescribeSecurityGroups", e.Operation)
		where = append(where, e.Where)
	}
	require.ElementsMatch(t, []string{"account/111122223333/region/eu-west-1", "account/111122223333/region/us-east-1"}, where)
}
