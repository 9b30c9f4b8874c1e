package awssim

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"sort"
	"time"
)

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

var roleARN = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):role/(.+)$`)

func (s *Sim) sts(c *call) int {
	a := c.acct
	switch c.op {
	case "GetCallerIdentity":
		arn := fmt.Sprintf("arn:aws:iam::%s:user/exhibit-agent", a.ID)
		if a.ID != s.Home {
			arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/exhibit-reader/exhibit", a.ID)
		}
		return c.queryXML(stsNS, struct {
			XMLName xml.Name `xml:"R"`
			Arn     string   `xml:"Arn"`
			UserID  string   `xml:"UserId"`
			Account string   `xml:"Account"`
		}{Arn: arn, UserID: "AIDASIMEXHIBIT", Account: a.ID})
	case "AssumeRole":
		m := roleARN.FindStringSubmatch(c.form.Get("RoleArn"))
		if m == nil {
			return c.fail(400, "ValidationError", "RoleArn is not a role ARN")
		}
		target := s.Accounts[m[1]]
		if target == nil || m[2] != "exhibit-reader" || (target.ExternalID != "" && c.form.Get("ExternalId") != target.ExternalID) {
			return c.fail(403, "AccessDenied", fmt.Sprintf("User: arn:aws:iam::%s:user/exhibit-agent is not authorized to perform: sts:AssumeRole on resource: %s", a.ID, c.form.Get("RoleArn")))
		}
		name := c.form.Get("RoleSessionName")
		type creds struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		}
		type user struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		}
		return c.queryXML(stsNS, struct {
			XMLName     xml.Name `xml:"R"`
			Credentials creds    `xml:"Credentials"`
			User        user     `xml:"AssumedRoleUser"`
		}{
			Credentials: creds{
				AccessKeyID:     "ASIASIM" + target.ID,
				SecretAccessKey: "simulated-secret-not-a-real-key",
				SessionToken:    "simulated-session-token",
				Expiration:      iso(time.Now().Add(time.Hour)),
			},
			User: user{Arn: fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", target.ID, m[2], name), AssumedRoleID: "AROASIM:" + name},
		})
	}
	return c.fail(400, "InvalidAction", "STS action "+c.op+" is not simulated")
}

func (s *Sim) ec2(c *call) int {
	if c.op == "DescribeSecurityGroups" {
		return s.describeSecurityGroups(c)
	}
	if c.op == "DescribeVpcs" || c.op == "DescribeFlowLogs" {
		return s.vpcs(c)
	}
	if c.op != "DescribeRegions" {
		return s.ebs(c)
	}
	type region struct {
		RegionName     string `xml:"regionName"`
		RegionEndpoint string `xml:"regionEndpoint"`
		OptInStatus    string `xml:"optInStatus"`
	}
	var regs []region
	for _, r := range c.acct.Regions {
		if r.OptIn == "not-opted-in" && c.form.Get("AllRegions") != "true" {
			continue
		}
		regs = append(regs, region{r.Name, "ec2." + r.Name + ".amazonaws.com", r.OptIn})
	}
	c.w.Header().Set("Content-Type", "text/xml")
	b, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"DescribeRegionsResponse"`
		NS        string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Regions   []region `xml:"regionInfo>item"`
	}{NS: "http://ec2.amazonaws.com/doc/2016-11-15/", RequestID: requestID(), Regions: regs})
	_, _ = c.w.Write(b)
	return 200
}

func (s *Sim) organizations(c *call) int {
	if c.op != "ListAccounts" {
		return c.fail(400, "InvalidAction", "Organizations action "+c.op+" is not simulated")
	}
	if c.acct.ID != s.Home || len(s.Org) == 0 {
		return c.fail(400, "AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
	}
	size := s.pageSize(int(numberField(c.json, "MaxResults")))
	start, end, next := page(len(s.Org), size, c.str("NextToken"))
	var accts []map[string]any
	for _, o := range s.Org[start:end] {
		status := o.State
		if status != "ACTIVE" && status != "SUSPENDED" {
			status = "SUSPENDED"
		}
		accts = append(accts, map[string]any{
			"Id": o.ID, "Arn": fmt.Sprintf("arn:aws:organizations::%s:account/o-sim0example/%s", s.Home, o.ID),
			"Name": o.Name, "Email": o.Name + "@example.com", "State": o.State, "Status": status,
			"JoinedMethod": "CREATED", "JoinedTimestamp": float64(s.Now.AddDate(-2, 0, 0).Unix()),
		})
	}
	out := map[string]any{"Accounts": accts}
	if next != "" {
		out["NextToken"] = next
	}
	return c.jsonOK(out)
}

func numberField(m map[string]any, k string) float64 {
	f, _ := m[k].(float64)
	return f
}

func sortedIDs(m map[string]*Account) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
