// Package awssim serves a simulated AWS estate over HTTP with the wire
// formats the real services use (IAM and STS query-XML, EC2 query, S3 and
// S3 Control REST-XML, CloudTrail, CloudWatch Logs and Organizations JSON
// 1.1), so the real SDK clients can run against it in the demo and tests.
package awssim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Sim is a simulated AWS estate. Exported fields may be changed before the
// first request; Fault methods are safe at any time.
type Sim struct {
	// Now is the estate's present: report dates and key ages are relative to it.
	Now time.Time
	// Home is the account the caller's own credentials belong to.
	Home     string
	Accounts map[string]*Account
	// Org, when set, is what Organizations ListAccounts returns; Home is its
	// management account.
	Org []OrgAccount
	// PageSize caps every paginated answer (IAM MaxItems, NextToken pages).
	PageSize int
	// ReportPolls is how many GenerateCredentialReport calls answer STARTED
	// before COMPLETE; ReportInProgress how many GetCredentialReport calls
	// then answer ReportInProgress.
	ReportPolls      int
	ReportInProgress int

	mu        sync.Mutex
	throttles map[string]int
	denials   []denial
	requests  []Request
	reportGen map[string]int
	reportGet map[string]int
}

// Account is one simulated account.
type Account struct {
	ID         string
	Name       string
	ExternalID string // required by AssumeRole when set
	Regions    []Region
	Root       Root
	Users      []User
	Groups     []Group
	Roles      []Role
	Policies   []Policy
	// PasswordPolicy nil means the account has none.
	PasswordPolicy *PasswordPolicy
	// PublicAccessBlock is the account-level setting; nil means none.
	PublicAccessBlock *PublicAccessBlock
	Buckets           []*Bucket
	Trails            []Trail
	LogGroups         []LogGroup
}

// Region is an account's view of one region.
type Region struct {
	Name      string
	OptIn     string // opt-in-not-required, opted-in, not-opted-in
	NoService bool   // calls answer an opt-in error
}

// Root is the root user's credential state.
type Root struct {
	MFA         bool
	VirtualMFA  bool
	AccessKey   bool
	PasswordAge time.Duration
}

// User is an IAM user with its credential report state.
type User struct {
	Name             string
	Created          time.Time
	Password         bool
	PasswordLastUsed time.Time
	MFA              bool
	Keys             []Key
	Groups           []string
	Attached         []string // managed policy ARNs
	Inline           map[string]string
}

// Key is an access key.
type Key struct {
	Active   bool
	Rotated  time.Time
	LastUsed time.Time
}

// Group is an IAM group.
type Group struct {
	Name     string
	Attached []string
	Inline   map[string]string
}

// Role is an IAM role.
type Role struct {
	Name     string
	Trust    string
	Attached []string
	Inline   map[string]string
}

// Policy is a customer managed policy.
type Policy struct {
	Name     string
	Document string
	Attached int
}

// PasswordPolicy is the account password policy.
type PasswordPolicy struct {
	MinLength       int
	Reuse           int
	Upper, Lower    bool
	Numbers, Symbol bool
}

// PublicAccessBlock is the four S3 public access block settings.
type PublicAccessBlock struct {
	BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets bool
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name              string
	Region            string
	Created           time.Time
	Encryption        string // "", AES256, aws:kms, aws:kms:dsse
	KMSKey            string
	BucketKey         bool
	Policy            string
	PublicAccessBlock *PublicAccessBlock
	Versioning        string // "", Enabled, Suspended
	LoggingTarget     string
	ObjectLockDays    int // default retention in days; 0 without Object Lock
	Lifecycle         []LifecycleRule
}

// LifecycleRule is one S3 lifecycle rule.
type LifecycleRule struct {
	ID             string
	Prefix         string
	Enabled        bool
	ExpireDays     int
	NoncurrentDays int
}

// Trail is a CloudTrail trail.
type Trail struct {
	Name           string
	HomeRegion     string
	MultiRegion    bool
	Validation     bool
	KMSKey         string
	Bucket, Prefix string
	LogGroup       string // name; "" for no CloudWatch Logs delivery
	Logging        bool
	LastDelivery   time.Time
	DeliveryError  string
	ManagementRW   string // All, ReadOnly, WriteOnly, "" for no management events
	// Owner is the account that created an organization trail listed in a
	// member account; "" for the account's own trails.
	Owner string
}

// LogGroup is a CloudWatch Logs group.
type LogGroup struct {
	Name      string
	Region    string
	Retention int // days; 0 = never expire
}

// OrgAccount is one account as Organizations lists it.
type OrgAccount struct {
	ID, Name, State string
}

// Request is one request the sim answered, for tests that count calls.
type Request struct {
	Account, Region, Service, Operation string
	Status                              int
	// RoleSessionName is what an AssumeRole call named its session.
	RoleSessionName string
}

type denial struct{ account, region, operation string }

// Throttle makes the next n calls of operation (e.g. "GetCredentialReport")
// answer a throttling error.
func (s *Sim) Throttle(operation string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttles == nil {
		s.throttles = map[string]int{}
	}
	s.throttles[operation] += n
}

// Deny makes operation answer AccessDenied in account and region ("" for
// any operation or any region).
func (s *Sim) Deny(account, region, operation string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denials = append(s.denials, denial{account, region, operation})
}

// Requests returns the requests answered so far.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests went to service ("iam", "s3", …) in
// account, and, when operation is not "", to that operation.
func (s *Sim) Count(account, service, operation string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Account == account && r.Service == service && (operation == "" || r.Operation == operation) {
			n++
		}
	}
	return n
}

// Source returns the collector configuration that reads this estate at
// endpoint: the home account with its own credentials, the others through
// their exhibit-reader role with their external id, in two regions.
func (s *Sim) Source(endpoint string) *collector.AWSSource {
	src := &collector.AWSSource{Regions: []string{"eu-west-1", "us-east-1"}, Endpoint: endpoint, Concurrency: 4}
	for _, id := range sortedIDs(s.Accounts) {
		a := s.Accounts[id]
		acc := collector.AWSAccount{ID: id}
		if id != s.Home {
			acc.RoleARN = fmt.Sprintf("arn:aws:iam::%s:role/exhibit-reader", id)
			acc.ExternalID = collector.Secret(a.ExternalID)
		}
		src.Accounts = append(src.Accounts, acc)
	}
	return src
}

// call is one decoded request.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	acct    *Account
	region  string
	service string
	op      string
	form    url.Values
	json    map[string]any
	status  int
}

var credScope = regexp.MustCompile(`Credential=([^/]+)/[0-9]+/([^/]+)/([^/]+)/aws4_request`)

// assumedKey encodes the account of credentials AssumeRole handed out.
var assumedKey = regexp.MustCompile(`^ASIASIM([0-9]{12})`)

// ServeHTTP answers one AWS API request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := credScope.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		http.Error(w, "missing signature", http.StatusForbidden)
		return
	}
	c := &call{w: w, r: r, region: m[2], service: m[3]}
	acctID := s.Home
	if k := assumedKey.FindStringSubmatch(m[1]); k != nil {
		acctID = k[1]
	}
	c.acct = s.Accounts[acctID]
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		t := r.Header.Get("X-Amz-Target")
		c.op = t[strings.LastIndex(t, ".")+1:]
		_ = json.Unmarshal(body, &c.json)
	case c.service == "s3" && strings.HasPrefix(r.URL.Path, "/v20180820/"):
		c.service = "s3control"
		c.op = "GetPublicAccessBlock"
	case c.service == "s3":
		c.op = s3Operation(r)
	default:
		c.form, _ = url.ParseQuery(string(body))
		c.op = c.form.Get("Action")
	}
	status := s.serve(c)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Account: acctID, Region: c.region, Service: c.service, Operation: c.op, Status: status, RoleSessionName: c.form.Get("RoleSessionName")})
	s.mu.Unlock()
}

func (s *Sim) serve(c *call) int {
	if c.acct == nil {
		return c.fail(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if s.fault(c) {
		return c.status
	}
	switch c.service {
	case "iam":
		return s.iam(c)
	case "sts":
		return s.sts(c)
	case "ec2":
		return s.ec2(c)
	case "organizations":
		return s.organizations(c)
	case "cloudtrail":
		return s.cloudtrail(c)
	case "logs":
		return s.logs(c)
	case "s3":
		return s.s3(c)
	case "s3control":
		return s.s3control(c)
	}
	return c.fail(400, "UnknownService", "service "+c.service+" is not simulated")
}

// fault answers injected throttling, denials and regions not enabled.
func (s *Sim) fault(c *call) bool {
	s.mu.Lock()
	throttle := s.throttles[c.op] > 0
	if throttle {
		s.throttles[c.op]--
	}
	deny := false
	for _, d := range s.denials {
		if (d.account == "" || d.account == c.acct.ID) && (d.region == "" || d.region == c.region) && (d.operation == "" || d.operation == c.op) {
			deny = true
		}
	}
	s.mu.Unlock()
	switch {
	case throttle:
		code := "Throttling"
		switch c.service {
		case "s3":
			code = "SlowDown"
		case "cloudtrail", "logs", "organizations":
			code = "ThrottlingException"
		case "ec2":
			code = "RequestLimitExceeded"
		}
		c.status = c.fail(400, code, "Rate exceeded")
		if c.service == "s3" {
			c.status = 503
		}
		return true
	case deny:
		c.status = c.fail(403, accessDeniedCode(c.service), fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/exhibit-reader/exhibit is not authorized to perform: %s:%s", c.acct.ID, c.service, c.op))
		return true
	}
	for _, r := range c.acct.Regions {
		if r.Name == c.region && r.NoService {
			c.status = c.fail(400, "UnrecognizedClientException", "The security token included in the request is invalid (region "+c.region+" is not enabled).")
			return true
		}
	}
	return false
}

func accessDeniedCode(service string) string {
	switch service {
	case "cloudtrail", "logs", "organizations":
		return "AccessDeniedException"
	case "ec2":
		return "UnauthorizedOperation"
	}
	return "AccessDenied"
}

func requestID() string {
	return fmt.Sprintf("sim-%d", time.Now().UnixNano())
}

// fail writes the service's own error shape.
func (c *call) fail(status int, code, msg string) int {
	id := requestID()
	h := c.w.Header()
	switch c.service {
	case "cloudtrail", "logs", "organizations":
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Requestid", id)
		h.Set("X-Amzn-Errortype", code)
		c.w.WriteHeader(status)
		_ = json.NewEncoder(c.w).Encode(map[string]string{"__type": code, "message": msg})
	case "ec2":
		h.Set("Content-Type", "text/xml")
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, xmlText(msg), id)
	case "s3":
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", id)
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`, code, xmlText(msg), id)
	case "s3control":
		// S3 Control wraps its errors, unlike S3.
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", id)
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, code, xmlText(msg), id)
	default:
		h.Set("Content-Type", "text/xml")
		h.Set("X-Amzn-Requestid", id)
		c.w.WriteHeader(status)
		fmt.Fprintf(c.w, `<ErrorResponse xmlns="https://%s.amazonaws.com/doc/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, c.service, code, xmlText(msg), id)
	}
	return status
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// queryXML writes a query-protocol answer: <OpResponse><OpResult>…</OpResult>.
func (c *call) queryXML(ns string, result any) int {
	id := requestID()
	c.w.Header().Set("Content-Type", "text/xml")
	c.w.Header().Set("X-Amzn-Requestid", id)
	inner, err := xml.Marshal(result)
	if err != nil {
		return c.fail(500, "InternalFailure", err.Error())
	}
	fmt.Fprintf(c.w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		c.op, ns, c.op, stripRoot(inner), c.op, id, c.op)
	return 200
}

// stripRoot removes the outer element xml.Marshal adds around a struct.
func stripRoot(b []byte) []byte {
	s := string(b)
	i := strings.Index(s, ">")
	j := strings.LastIndex(s, "</")
	if i < 0 || j < i || strings.HasSuffix(s[:i+1], "/>") {
		return nil
	}
	return []byte(s[i+1 : j])
}

// jsonOK writes a JSON 1.1 answer.
func (c *call) jsonOK(v any) int {
	c.w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	c.w.Header().Set("X-Amzn-Requestid", requestID())
	_ = json.NewEncoder(c.w).Encode(v)
	return 200
}

// restXML writes an S3-style answer.
func (c *call) restXML(v any) int {
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.Header().Set("X-Amz-Request-Id", requestID())
	b, err := xml.Marshal(v)
	if err != nil {
		return c.fail(500, "InternalError", err.Error())
	}
	_, _ = c.w.Write([]byte(xml.Header))
	_, _ = c.w.Write(b)
	return 200
}

func (c *call) str(key string) string {
	if v, ok := c.json[key].(string); ok {
		return v
	}
	return ""
}

// page returns the slice [start:end) a token selects and the next token.
func page(total, size int, token string) (start, end int, next string) {
	fmt.Sscanf(token, "p%d", &start)
	if start < 0 || start > total {
		start = total
	}
	end = min(start+size, total)
	if end < total {
		next = fmt.Sprintf("p%d", end)
	}
	return start, end, next
}

func (s *Sim) pageSize(requested int) int {
	n := s.PageSize
	if n <= 0 {
		n = 100
	}
	if requested > 0 && requested < n {
		n = requested
	}
	return n
}
