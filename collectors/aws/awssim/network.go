package awssim

import (
	"encoding/xml"
	"fmt"
	"slices"
)

// DescribeSecurityGroups answers each group with its rules in
// ipPermissions (ingress) and ipPermissionsEgress, each rule's sources in
// ipRanges, ipv6Ranges, prefixListIds and groups, as EC2 does; a rule of
// protocol -1 carries no ports. The group's tags come in tagSet.

type sgIPRange struct {
	CIDR string `xml:"cidrIp"`
}

type sgIPv6Range struct {
	CIDR string `xml:"cidrIpv6"`
}

type sgPrefixList struct {
	ID string `xml:"prefixListId"`
}

type sgGroupPair struct {
	UserID  string `xml:"userId"`
	GroupID string `xml:"groupId"`
}

type sgPermission struct {
	Protocol    string         `xml:"ipProtocol"`
	From        *int           `xml:"fromPort,omitempty"`
	To          *int           `xml:"toPort,omitempty"`
	Groups      []sgGroupPair  `xml:"groups>item"`
	IPRanges    []sgIPRange    `xml:"ipRanges>item"`
	IPv6Ranges  []sgIPv6Range  `xml:"ipv6Ranges>item"`
	PrefixLists []sgPrefixList `xml:"prefixListIds>item"`
}

type sgInfo struct {
	OwnerID     string         `xml:"ownerId"`
	GroupID     string         `xml:"groupId"`
	GroupName   string         `xml:"groupName"`
	Description string         `xml:"groupDescription"`
	VPCID       string         `xml:"vpcId"`
	Ingress     []sgPermission `xml:"ipPermissions>item"`
	Egress      []sgPermission `xml:"ipPermissionsEgress>item"`
	ARN         string         `xml:"securityGroupArn"`
	Tags        []ec2Tag       `xml:"tagSet>item"`
}

func sgPermissions(acct string, rules []SGRule) []sgPermission {
	var out []sgPermission
	for _, r := range rules {
		p := sgPermission{Protocol: r.Protocol}
		if r.Protocol != "-1" {
			from, to := r.From, r.To
			p.From, p.To = &from, &to
		}
		for _, g := range r.Groups {
			p.Groups = append(p.Groups, sgGroupPair{UserID: acct, GroupID: g})
		}
		for _, c := range r.CIDRs {
			p.IPRanges = append(p.IPRanges, sgIPRange{CIDR: c})
		}
		for _, c := range r.IPv6 {
			p.IPv6Ranges = append(p.IPv6Ranges, sgIPv6Range{CIDR: c})
		}
		for _, id := range r.PrefixLists {
			p.PrefixLists = append(p.PrefixLists, sgPrefixList{ID: id})
		}
		out = append(out, p)
	}
	return out
}

func (s *Sim) describeSecurityGroups(c *call) int {
	a := c.acct
	ids := c.list("GroupId")
	var groups []sgInfo
	for _, g := range a.SecurityGroups {
		if g.Region != c.region || (len(ids) > 0 && !slices.Contains(ids, g.ID)) {
			continue
		}
		groups = append(groups, sgInfo{
			OwnerID: a.ID, GroupID: g.ID, GroupName: g.Name, Description: g.Description, VPCID: g.VPC,
			Ingress: sgPermissions(a.ID, g.Ingress), Egress: sgPermissions(a.ID, g.Egress),
			ARN:  fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", g.Region, a.ID, g.ID),
			Tags: ec2Tags(g.Tags),
		})
	}
	for _, id := range ids {
		if !slices.ContainsFunc(groups, func(g sgInfo) bool { return g.GroupID == id }) {
			return c.fail(400, "InvalidGroup.NotFound", fmt.Sprintf("The security group '%s' does not exist", id))
		}
	}
	start, end, next := page(len(groups), s.pageSize(c.maxResults()), c.form.Get("NextToken"))
	return c.ec2XML(struct {
		XMLName xml.Name `xml:"R"`
		Groups  []sgInfo `xml:"securityGroupInfo>item"`
		Next    string   `xml:"nextToken,omitempty"`
	}{Groups: groups[start:end], Next: next})
}
