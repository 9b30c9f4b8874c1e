package awssim

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

type attachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type policyDetail struct {
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type userDetail struct {
	Path                    string           `xml:"Path"`
	UserName                string           `xml:"UserName"`
	UserID                  string           `xml:"UserId"`
	Arn                     string           `xml:"Arn"`
	CreateDate              string           `xml:"CreateDate"`
	GroupList               []string         `xml:"GroupList>member"`
	AttachedManagedPolicies []attachedPolicy `xml:"AttachedManagedPolicies>member"`
	UserPolicyList          []policyDetail   `xml:"UserPolicyList>member"`
	Tags                    []rdsTag         `xml:"Tags>member"`
}

type groupDetail struct {
	Path                    string           `xml:"Path"`
	GroupName               string           `xml:"GroupName"`
	GroupID                 string           `xml:"GroupId"`
	Arn                     string           `xml:"Arn"`
	CreateDate              string           `xml:"CreateDate"`
	AttachedManagedPolicies []attachedPolicy `xml:"AttachedManagedPolicies>member"`
	GroupPolicyList         []policyDetail   `xml:"GroupPolicyList>member"`
}

type roleDetail struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument"`
	AttachedManagedPolicies  []attachedPolicy `xml:"AttachedManagedPolicies>member"`
	RolePolicyList           []policyDetail   `xml:"RolePolicyList>member"`
}

type policyVersion struct {
	Document         string `xml:"Document"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type managedPolicy struct {
	PolicyName        string          `xml:"PolicyName"`
	PolicyID          string          `xml:"PolicyId"`
	Arn               string          `xml:"Arn"`
	Path              string          `xml:"Path"`
	DefaultVersionID  string          `xml:"DefaultVersionId"`
	AttachmentCount   int             `xml:"AttachmentCount"`
	IsAttachable      bool            `xml:"IsAttachable"`
	CreateDate        string          `xml:"CreateDate"`
	PolicyVersionList []policyVersion `xml:"PolicyVersionList>member"`
}

type authDetailsResult struct {
	XMLName         xml.Name        `xml:"R"`
	UserDetailList  []userDetail    `xml:"UserDetailList>member"`
	GroupDetailList []groupDetail   `xml:"GroupDetailList>member"`
	RoleDetailList  []roleDetail    `xml:"RoleDetailList>member"`
	Policies        []managedPolicy `xml:"Policies>member"`
	IsTruncated     bool            `xml:"IsTruncated"`
	Marker          string          `xml:"Marker,omitempty"`
}

type passwordPolicyXML struct {
	MinimumPasswordLength      int  `xml:"MinimumPasswordLength"`
	RequireSymbols             bool `xml:"RequireSymbols"`
	RequireNumbers             bool `xml:"RequireNumbers"`
	RequireUppercaseCharacters bool `xml:"RequireUppercaseCharacters"`
	RequireLowercaseCharacters bool `xml:"RequireLowercaseCharacters"`
	AllowUsersToChangePassword bool `xml:"AllowUsersToChangePassword"`
	ExpirePasswords            bool `xml:"ExpirePasswords"`
	PasswordReusePrevention    int  `xml:"PasswordReusePrevention,omitempty"`
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func reportTime(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.UTC().Format("2006-01-02T15:04:05+00:00")
}

func inlineList(m map[string]string) []policyDetail {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []policyDetail
	for _, n := range names {
		out = append(out, policyDetail{PolicyName: n, PolicyDocument: url.QueryEscape(m[n])})
	}
	return out
}

func attached(l []string) []attachedPolicy {
	var out []attachedPolicy
	for _, a := range l {
		out = append(out, attachedPolicy{PolicyName: a[strings.LastIndex(a, "/")+1:], PolicyArn: a})
	}
	return out
}

func (s *Sim) iam(c *call) int {
	a := c.acct
	switch c.op {
	case "GenerateCredentialReport":
		s.mu.Lock()
		if s.reportGen == nil {
			s.reportGen, s.reportGet = map[string]int{}, map[string]int{}
		}
		s.reportGen[a.ID]++
		n := s.reportGen[a.ID]
		s.mu.Unlock()
		state, desc := "COMPLETE", "Report generated"
		if n <= s.ReportPolls {
			state, desc = "STARTED", "No report exists. Starting a new report generation task"
		}
		return c.queryXML(iamNS, struct {
			XMLName     xml.Name `xml:"R"`
			State       string   `xml:"State"`
			Description string   `xml:"Description"`
		}{State: state, Description: desc})
	case "GetCredentialReport":
		s.mu.Lock()
		if s.reportGet == nil {
			s.reportGen, s.reportGet = map[string]int{}, map[string]int{}
		}
		s.reportGet[a.ID]++
		n := s.reportGet[a.ID]
		s.mu.Unlock()
		if n <= s.ReportInProgress {
			return c.fail(410, "ReportInProgress", "Report generation in progress.")
		}
		return c.queryXML(iamNS, struct {
			XMLName       xml.Name `xml:"R"`
			Content       string   `xml:"Content"`
			ReportFormat  string   `xml:"ReportFormat"`
			GeneratedTime string   `xml:"GeneratedTime"`
		}{Content: base64.StdEncoding.EncodeToString(s.credentialReport(a)), ReportFormat: "text/csv", GeneratedTime: iso(s.Now)})
	case "GetAccountPasswordPolicy":
		p := a.PasswordPolicy
		if p == nil {
			return c.fail(404, "NoSuchEntity", fmt.Sprintf("The Password Policy with domain name %s cannot be found.", a.ID))
		}
		return c.queryXML(iamNS, struct {
			XMLName xml.Name          `xml:"R"`
			P       passwordPolicyXML `xml:"PasswordPolicy"`
		}{P: passwordPolicyXML{p.MinLength, p.Symbol, p.Numbers, p.Upper, p.Lower, true, false, p.Reuse}})
	case "GetAccountAuthorizationDetails":
		return s.authDetails(c)
	case "ListVirtualMFADevices":
		type dev struct {
			SerialNumber string `xml:"SerialNumber"`
			User         *struct {
				Path, UserName, UserId, Arn, CreateDate string
			} `xml:"User"`
			EnableDate string `xml:"EnableDate"`
		}
		var devs []dev
		if a.Root.MFA && a.Root.VirtualMFA {
			devs = append(devs, dev{SerialNumber: fmt.Sprintf("arn:aws:iam::%s:mfa/root-account-mfa-device", a.ID),
				User:       &struct{ Path, UserName, UserId, Arn, CreateDate string }{"", "", a.ID, fmt.Sprintf("arn:aws:iam::%s:root", a.ID), iso(s.Now.AddDate(-2, 0, 0))},
				EnableDate: iso(s.Now.AddDate(-2, 0, 0))})
		}
		for _, u := range a.Users {
			if u.MFA {
				devs = append(devs, dev{SerialNumber: fmt.Sprintf("arn:aws:iam::%s:mfa/%s", a.ID, u.Name),
					User:       &struct{ Path, UserName, UserId, Arn, CreateDate string }{"/", u.Name, userID(a, u.Name), fmt.Sprintf("arn:aws:iam::%s:user/%s", a.ID, u.Name), iso(u.Created)},
					EnableDate: iso(u.Created)})
			}
		}
		maxItems, _ := strconv.Atoi(c.form.Get("MaxItems"))
		start, end, next := page(len(devs), s.pageSize(maxItems), c.form.Get("Marker"))
		return c.queryXML(iamNS, struct {
			XMLName     xml.Name `xml:"R"`
			Devices     []dev    `xml:"VirtualMFADevices>member"`
			IsTruncated bool     `xml:"IsTruncated"`
			Marker      string   `xml:"Marker,omitempty"`
		}{Devices: devs[start:end], IsTruncated: next != "", Marker: next})
	}
	return c.fail(400, "InvalidAction", "IAM action "+c.op+" is not simulated")
}

func userID(a *Account, name string) string {
	return fmt.Sprintf("AIDA%s%s", a.ID[:6], strings.ToUpper(name))
}

// authDetails pages users, then groups, then roles, then policies, as one
// list, the way IAM spreads them across pages.
func (s *Sim) authDetails(c *call) int {
	a := c.acct
	type item struct {
		u *userDetail
		g *groupDetail
		r *roleDetail
		p *managedPolicy
	}
	var items []item
	for _, u := range a.Users {
		items = append(items, item{u: &userDetail{Path: "/", UserName: u.Name, UserID: userID(a, u.Name),
			Arn: fmt.Sprintf("arn:aws:iam::%s:user/%s", a.ID, u.Name), CreateDate: iso(u.Created),
			GroupList: u.Groups, AttachedManagedPolicies: attached(u.Attached), UserPolicyList: inlineList(u.Inline), Tags: rdsTags(u.Tags)}})
	}
	for _, g := range a.Groups {
		items = append(items, item{g: &groupDetail{Path: "/", GroupName: g.Name, GroupID: "AGPA" + strings.ToUpper(g.Name),
			Arn: fmt.Sprintf("arn:aws:iam::%s:group/%s", a.ID, g.Name), CreateDate: iso(s.Now.AddDate(-3, 0, 0)),
			AttachedManagedPolicies: attached(g.Attached), GroupPolicyList: inlineList(g.Inline)}})
	}
	for _, r := range a.Roles {
		items = append(items, item{r: &roleDetail{Path: "/", RoleName: r.Name, RoleID: "AROA" + strings.ToUpper(r.Name),
			Arn: fmt.Sprintf("arn:aws:iam::%s:role/%s", a.ID, r.Name), CreateDate: iso(s.Now.AddDate(-1, 0, 0)),
			AssumeRolePolicyDocument: url.QueryEscape(r.Trust), AttachedManagedPolicies: attached(r.Attached), RolePolicyList: inlineList(r.Inline)}})
	}
	for _, p := range a.Policies {
		items = append(items, item{p: &managedPolicy{PolicyName: p.Name, PolicyID: "ANPA" + strings.ToUpper(p.Name),
			Arn: fmt.Sprintf("arn:aws:iam::%s:policy/%s", a.ID, p.Name), Path: "/", DefaultVersionID: "v1",
			AttachmentCount: p.Attached, IsAttachable: true, CreateDate: iso(s.Now.AddDate(-1, 0, 0)),
			PolicyVersionList: []policyVersion{{Document: url.QueryEscape(p.Document), VersionID: "v1", IsDefaultVersion: true, CreateDate: iso(s.Now.AddDate(-1, 0, 0))}}}})
	}
	maxItems, _ := strconv.Atoi(c.form.Get("MaxItems"))
	start, end, next := page(len(items), s.pageSize(maxItems), c.form.Get("Marker"))
	res := authDetailsResult{IsTruncated: next != "", Marker: next}
	for _, it := range items[start:end] {
		switch {
		case it.u != nil:
			res.UserDetailList = append(res.UserDetailList, *it.u)
		case it.g != nil:
			res.GroupDetailList = append(res.GroupDetailList, *it.g)
		case it.r != nil:
			res.RoleDetailList = append(res.RoleDetailList, *it.r)
		default:
			res.Policies = append(res.Policies, *it.p)
		}
	}
	return c.queryXML(iamNS, res)
}

// credentialReport renders the account's report in IAM's CSV layout.
func (s *Sim) credentialReport(a *Account) []byte {
	var b strings.Builder
	b.WriteString("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n")
	created := s.Now.AddDate(-3, 0, 0)
	rootKey := "false,N/A,N/A,N/A,N/A"
	if a.Root.AccessKey {
		rootKey = fmt.Sprintf("true,%s,%s,us-east-1,s3", reportTime(s.Now.AddDate(-2, 0, 0)), reportTime(s.Now.AddDate(0, 0, -3)))
	}
	fmt.Fprintf(&b, "<root_account>,arn:aws:iam::%s:root,%s,not_supported,%s,not_supported,not_supported,%t,%s,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
		a.ID, reportTime(created), reportTime(s.Now.AddDate(0, 0, -40)), a.Root.MFA, rootKey)
	for _, u := range a.Users {
		pwUsed, pwChanged := "N/A", "N/A"
		if u.Password {
			pwUsed, pwChanged = "no_information", reportTime(u.Created)
			if !u.PasswordLastUsed.IsZero() {
				pwUsed = reportTime(u.PasswordLastUsed)
			}
		}
		fmt.Fprintf(&b, "%s,arn:aws:iam::%s:user/%s,%s,%t,%s,%s,N/A,%t", u.Name, a.ID, u.Name, reportTime(u.Created), u.Password, pwUsed, pwChanged, u.MFA)
		for i := range 2 {
			if i >= len(u.Keys) {
				b.WriteString(",false,N/A,N/A,N/A,N/A")
				continue
			}
			k := u.Keys[i]
			region, svc := "N/A", "N/A"
			if !k.LastUsed.IsZero() {
				region, svc = "us-east-1", "s3"
			}
			fmt.Fprintf(&b, ",%t,%s,%s,%s,%s", k.Active, reportTime(k.Rotated), reportTime(k.LastUsed), region, svc)
		}
		b.WriteString(",false,N/A,false,N/A\n")
	}
	return []byte(b.String())
}

// CredentialReport returns the CSV IAM would serve for account id.
func (s *Sim) CredentialReport(id string) []byte {
	a := s.Accounts[id]
	if a == nil {
		return nil
	}
	return s.credentialReport(a)
}
