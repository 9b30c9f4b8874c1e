// Package awssim serves a simulated AWS estate over HTTP with the wire
// formats the real services use (IAM, STS and RDS query-XML, EC2 query, S3 and
// Package awssim serves a simulated AWS estate over HTTP with the wire
// formats the real services use (IAM, STS and RDS query-XML, EC2 query, S3
// and S3 Control REST-XML, CloudTrail, CloudWatch Logs, Organizations, AWS
// Config and IAM Identity Center's SSO Admin and Identity Store JSON 1.1,
// AWS Backup, GuardDuty and Security Hub REST-JSON, the
// Resource Groups Tagging API's and CloudWatch's RPC v2 CBOR), so the real
// SDK clients can run against it in the demo and tests.
package awssim

import (
	"fmt"
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
	// OmitBucketRegion leaves BucketRegion out of ListBuckets answers, as
	// S3-compatible stores do, so clients must ask GetBucketLocation.
	OmitBucketRegion bool
	// Limits, when set, are the calls a second each account may make to
	// a service ("iam", "s3", "cloudtrail", …: the simulator's names),
	// from a bucket holding one second's calls; a call over the limit
	// answers the service's throttling error. Latency, plus or minus a
	// uniform Jitter, delays every answer: half before the limit is
	// checked, half after. NewScale sets all three.
	Limits          map[string]float64
	Latency, Jitter time.Duration

	mu        sync.Mutex
	buckets   map[bucketKey]*rateBucket
	throttles map[string]int
	denials   []denial
	requests  []Request
	reportGen map[string]int
	reportGet map[string]int
}

// Request is one request the sim answered, for tests that count calls.
type Request struct {
	Account, Region, Service, Operation string
	Status                              int
	// RoleSessionName is what an AssumeRole call named its session.
	RoleSessionName string
	// Attempt is the SDK's attempt number for the call (its
	// Amz-Sdk-Request header): 1, or more for a retry.
	Attempt int
	// Throttled is set when the call was answered with the service's
	// throttling error, injected or over Limits.
	Throttled bool
}

// denial is an injected refusal; status 0 is AccessDenied (403).
type denial struct {
	account, region, service, operation string
	status                              int
}

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
	s.denials = append(s.denials, denial{account: account, region: region, operation: operation})
}

// Fail makes one service's operation fail in account ("" for any), in
// every region, as the service answers: status 403 is its AccessDenied,
// 500 an internal error. The service is the simulator's name for it
// ("s3", "s3control", "cloudtrail", "logs", "iam", …), since S3 and S3
// Control both have a GetPublicAccessBlock.
func (s *Sim) Fail(account, service, operation string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denials = append(s.denials, denial{account: account, service: service, operation: operation, status: status})
}

// Requests returns the requests answered so far.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many calls went to service ("iam", "s3", …) in
// account, and, when operation is not "", to that operation. A call is
// counted once however often the SDK retried it: a retry depends on the
// connection, not on what the collector asked for. (The SDK retries reads
// of a response whose connection closed under it, which happens now and
// then on loopback.)
func (s *Sim) Count(account, service, operation string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Attempt <= 1 && r.Account == account && r.Service == service && (operation == "" || r.Operation == operation) {
			n++
		}
	}
	return n
}

// Source returns the collector configuration that reads this estate at
// endpoint: the home account with its own credentials, the others through
// their exhibit-reader role with their external id, in two regions, with
// resources tagged data-classification: phi holding ePHI.
func (s *Sim) Source(endpoint string) *collector.AWSSource {
	src := &collector.AWSSource{Regions: []string{"eu-west-1", "us-east-1"}, Endpoint: endpoint, Concurrency: 4,
		PHITags: map[string]string{"data-classification": "phi"}}
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

// Reset forgets the requests answered so far and refills every rate
// bucket, for a benchmark's next run over the same estate.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.buckets = nil, nil
}
