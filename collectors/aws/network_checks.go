package awscollector

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// sgRule is one source of one IpPermission: EC2 answers a protocol and
// port range with a list of sources each, and every source is a rule of
// its own to an auditor.
type sgRule struct {
	direction string // ingress or egress
	protocol  string // all, tcp, udp, icmp, icmpv6, or a protocol number
	// from and to are the port range; both nil for all traffic. For ICMP
	// they are the type and code.
	from, to *int32
	// kind names what source is: cidr (IPv4 or IPv6), security_group or
	// prefix_list.
	kind, source string
}

// protocolName spells EC2's protocol as people read it: -1 is all traffic,
// and numbers with a name are named.
func protocolName(p string) string {
	switch strings.ToLower(p) {
	case "-1", "all":
		return "all"
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "58", "icmpv6":
		return "icmpv6"
	}
	return p
}

// sgRules flattens permissions into one rule per source.
func sgRules(direction string, perms []ec2types.IpPermission) []sgRule {
	var out []sgRule
	for _, p := range perms {
		base := sgRule{direction: direction, protocol: protocolName(aws.ToString(p.IpProtocol))}
		if base.protocol != "all" {
			base.from, base.to = p.FromPort, p.ToPort
		}
		add := func(kind, source string) {
			r := base
			r.kind, r.source = kind, source
			out = append(out, r)
		}
		for _, r := range p.IpRanges {
			add("cidr", aws.ToString(r.CidrIp))
		}
		for _, r := range p.Ipv6Ranges {
			add("cidr", aws.ToString(r.CidrIpv6))
		}
		for _, g := range p.UserIdGroupPairs {
			add("security_group", aws.ToString(g.GroupId))
		}
		for _, l := range p.PrefixListIds {
			add("prefix_list", aws.ToString(l.PrefixListId))
		}
		if len(p.IpRanges)+len(p.Ipv6Ranges)+len(p.UserIdGroupPairs)+len(p.PrefixListIds) == 0 {
			out = append(out, base)
		}
	}
	return out
}

// world says whether the rule's source is the whole internet.
func (r sgRule) world() bool {
	return r.kind == "cidr" && (r.source == "0.0.0.0/0" || r.source == "::/0")
}

// reaches returns the ports of the list the rule lets traffic reach: all
// of them for all traffic, those in the range for TCP and UDP (a missing
// or -1 bound is the whole range). Other protocols carry no ports.
func (r sgRule) reaches(ports []int) []int {
	switch r.protocol {
	case "all":
		return append([]int(nil), ports...)
	case "tcp", "udp":
	default:
		return nil
	}
	from, to := 0, 65535
	if r.from != nil && *r.from >= 0 {
		from = int(*r.from)
	}
	if r.to != nil && *r.to >= 0 {
		to = int(*r.to)
	}
	var out []int
	for _, p := range ports {
		if p >= from && p <= to {
			out = append(out, p)
		}
	}
	return out
}

func (r sgRule) portText() string {
	switch {
	case r.protocol == "all":
		return "all traffic"
	case r.from == nil && r.to == nil:
		return r.protocol
	case aws.ToInt32(r.from) == aws.ToInt32(r.to):
		return fmt.Sprintf("%s %d", r.protocol, aws.ToInt32(r.from))
	}
	return fmt.Sprintf("%s %d-%d", r.protocol, aws.ToInt32(r.from), aws.ToInt32(r.to))
}

// text is the rule as a reason names it, relative to group self.
func (r sgRule) text(self string) string {
	way := "from"
	if r.direction == "egress" {
		way = "to"
	}
	src := r.source
	switch {
	case r.kind == "security_group" && r.source == self:
		src = r.source + " (itself)"
	case r.kind == "prefix_list":
		src = "prefix list " + r.source
	case r.kind == "":
		src = "no source"
	}
	return fmt.Sprintf("%s %s %s %s", r.direction, r.portText(), way, src)
}

// evidence is the rule as observed and recorded.
func (r sgRule) evidence() map[string]any {
	m := map[string]any{"direction": r.direction, "protocol": r.protocol}
	if r.from != nil {
		m["from_port"] = aws.ToInt32(r.from)
	}
	if r.to != nil {
		m["to_port"] = aws.ToInt32(r.to)
	}
	if r.kind != "" {
		m[r.kind] = r.source
	}
	return m
}

func rulesEvidence(rules []sgRule) []map[string]any {
	out := []map[string]any{}
	for _, r := range rules {
		out = append(out, r.evidence())
	}
	return out
}

// isDefaultGroup says whether g is a VPC's default security group, which
// AWS names "default" and lets no other group be named.
func isDefaultGroup(g ec2types.SecurityGroup) bool {
	return aws.ToString(g.GroupName) == "default"
}

func securityGroupRecord(g *sgState) evidence.Record {
	sg := g.group
	return evidence.Record{Type: "aws.network.security_group", ID: g.arn, Region: g.region, Attributes: map[string]any{
		"group_id":    aws.ToString(sg.GroupId),
		"group_name":  aws.ToString(sg.GroupName),
		"description": aws.ToString(sg.Description),
		"vpc_id":      aws.ToString(sg.VpcId),
		"owner_id":    aws.ToString(sg.OwnerId),
		"default":     isDefaultGroup(sg),
		"ingress":     rulesEvidence(sgRules("ingress", sg.IpPermissions)),
		"egress":      rulesEvidence(sgRules("egress", sg.IpPermissionsEgress)),
	}}
}

func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}

// adminPortsClosed judges a group's ingress: no rule from 0.0.0.0/0 or
// ::/0 may reach an exposed port, whether it names the port, a range
// holding it, or all traffic. The group's other internet ingress (HTTPS,
// say) is recorded beside the verdict.
func adminPortsClosed(g *sgState, ports []int) evidence.Finding {
	sg := g.group
	id, name := aws.ToString(sg.GroupId), aws.ToString(sg.GroupName)
	var internet, open []map[string]any
	var texts, other []string
	var exposed []int
	for _, r := range sgRules("ingress", sg.IpPermissions) {
		if !r.world() {
			continue
		}
		internet = append(internet, r.evidence())
		reached := r.reaches(ports)
		if len(reached) == 0 {
			other = append(other, fmt.Sprintf("%s from %s", r.portText(), r.source))
			continue
		}
		e := r.evidence()
		e["ports"] = reached
		open = append(open, e)
		noun := "port"
		if len(reached) > 1 {
			noun = "ports"
		}
		texts = append(texts, fmt.Sprintf("%s from %s reaches %s %s", r.portText(), r.source, noun, portList(reached)))
		for _, p := range reached {
			if !slices.Contains(exposed, p) {
				exposed = append(exposed, p)
			}
		}
	}
	slices.Sort(exposed)
	obs := map[string]any{"group_id": id, "group_name": name, "vpc_id": aws.ToString(sg.VpcId), "ports_checked": ports}
	if internet == nil {
		internet = []map[string]any{}
	}
	obs["internet_ingress"] = internet
	if len(open) == 0 {
		why := fmt.Sprintf("Security group %s (%s) allows no ingress from 0.0.0.0/0 or ::/0 to an administrative or database port (%s).", id, name, portList(ports))
		if len(other) > 0 {
			why += " Its internet ingress: " + strings.Join(other, "; ") + "."
		}
		return finding(checkNetworkAdminPorts, g.arn, evidence.Pass, why, obs)
	}
	obs["open_rules"], obs["exposed_ports"] = open, exposed
	return finding(checkNetworkAdminPorts, g.arn, evidence.Fail,
		fmt.Sprintf("Security group %s (%s) opens administrative or database ports to the internet: %s.", id, name, strings.Join(texts, "; ")), obs)
}

// defaultGroupClosed judges a VPC's default security group: any rule at
// all, in or out, is a failure (CIS AWS Foundations 5.4), since a
// resource launched without a group of its own gets this one.
func defaultGroupClosed(g *sgState) evidence.Finding {
	sg := g.group
	id, vpc := aws.ToString(sg.GroupId), aws.ToString(sg.VpcId)
	in, out := sgRules("ingress", sg.IpPermissions), sgRules("egress", sg.IpPermissionsEgress)
	rules := append(in, out...)
	obs := map[string]any{"group_id": id, "vpc_id": vpc, "ingress_rules": len(in), "egress_rules": len(out), "rules": rulesEvidence(rules)}
	if len(rules) == 0 {
		return finding(checkNetworkDefaultSG, g.arn, evidence.Pass,
			fmt.Sprintf("The default security group %s of %s allows no traffic: it has no inbound or outbound rules.", id, vpc), obs)
	}
	texts := make([]string, len(rules))
	for i, r := range rules {
		texts[i] = r.text(id)
	}
	return finding(checkNetworkDefaultSG, g.arn, evidence.Fail,
		fmt.Sprintf("The default security group %s of %s allows traffic, so anything launched without a group of its own gets it: %s.", id, vpc, strings.Join(texts, "; ")), obs)
}
