// Package evidence defines the v1 evidence contract: the snapshot document, its
// canonical encoding, digests and the hash chain that links a series.
package evidence

import (
	"time"
)

// Schema is the value of every v1 snapshot's schema field.
const Schema = "exhibit.dev/evidence/v1"

// Status says how much of a run's evidence was gathered.
type Status string

// Snapshot statuses.
const (
	StatusComplete Status = "complete"
	StatusPartial  Status = "partial"
	StatusFailed   Status = "failed"
)

// Result is the outcome of one check against one resource.
type Result string

// Check results. Error means the outcome could not be determined; it is never
// reported as a pass.
const (
	Pass          Result = "pass"
	Fail          Result = "fail"
	Error         Result = "error"
	NotApplicable Result = "not_applicable"
)

// Valid reports whether r is one of the four defined results.
func (r Result) Valid() bool {
	switch r {
	case Pass, Fail, Error, NotApplicable:
		return true
	}
	return false
}

// Snapshot is the result of one run of one collector over one scope.
type Snapshot struct {
	Schema      string       `json:"schema"`
	ID          string       `json:"id"`
	Series      string       `json:"series"`
	Seq         int64        `json:"seq"`
	Prev        string       `json:"prev"`
	Collector   CollectorRef `json:"collector"`
	Scope       Scope        `json:"scope"`
	Schedule    string       `json:"schedule,omitempty"`
	Agent       Agent        `json:"agent"`
	StartedAt   time.Time    `json:"started_at"`
	FinishedAt  time.Time    `json:"finished_at"`
	Window      *Window      `json:"window,omitempty"`
	Status      Status       `json:"status"`
	Errors      []RunError   `json:"errors"`
	Warnings    []string     `json:"warnings,omitempty"`
	Records     []Record     `json:"records"`
	Attachments []Attachment `json:"attachments"`
	Findings    []Finding    `json:"findings"`
	Controls    []string     `json:"controls"`
	Calls       []Call       `json:"calls"`
	KeyID       string       `json:"key_id"`
}

// CollectorRef names the collector that produced a snapshot.
type CollectorRef struct {
	Type    string `json:"type"`
	Version string `json:"version"`
	ID      string `json:"id"`
}

// Scope is what one snapshot covers: an AWS account, a GitHub org, an Okta org.
type Scope struct {
	Provider string `json:"provider"`
	// Account is the account, organization or tenant the evidence belongs to.
	Account string   `json:"account"`
	Regions []string `json:"regions,omitempty"`
	// Endpoint is the API base the evidence was read from, when not the
	// provider's public default (GitHub Enterprise Server, an Okta org URL).
	Endpoint string `json:"endpoint,omitempty"`
}

// Agent identifies the process that wrote a snapshot.
type Agent struct {
	Version  string `json:"version"`
	Hostname string `json:"hostname,omitempty"`
}

// Window is the period that period evidence (merged changes) covers.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// RunError is one thing that failed during a run: where, which operation, and why.
type RunError struct {
	Where     string `json:"where"`
	Operation string `json:"operation,omitempty"`
	Message   string `json:"message"`
}

// Record is one observed resource with its relevant attributes.
type Record struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Region     string         `json:"region,omitempty"`
	Attributes map[string]any `json:"attributes"`
}

// Attachment references a raw artefact stored content-addressed beside the
// snapshot.
type Attachment struct {
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
}

// Finding is the outcome of one check against one resource.
type Finding struct {
	Check    string         `json:"check"`
	Resource string         `json:"resource"`
	Status   Result         `json:"status"`
	Controls []string       `json:"controls"`
	Reason   string         `json:"reason"`
	Observed map[string]any `json:"observed,omitempty"`
	// Accepted is the accepted risk (exception) that applied to this
	// failing finding when the run took place. The status stays fail: an
	// acceptance annotates a finding, it never changes or hides it.
	Accepted *Acceptance `json:"accepted,omitempty"`
	// AcceptanceExpired names an accepted risk that matched this failing
	// finding but whose until date had passed at the run: the lapse is
	// itself reported.
	AcceptanceExpired *ExpiredAcceptance `json:"acceptance_expired,omitempty"`
}

// Acceptance is an accepted risk as it applied to one finding: who owns it,
// why it is accepted, until when, and who approved it when. Dates are
// YYYY-MM-DD (UTC days).
type Acceptance struct {
	ID       string `json:"id"`
	Owner    string `json:"owner"`
	Reason   string `json:"reason"`
	Until    string `json:"until"`
	Approver string `json:"approver"`
	Approved string `json:"approved"`
}

// ExpiredAcceptance is an accepted risk that would have matched a failing
// finding had its until date (YYYY-MM-DD) not passed.
type ExpiredAcceptance struct {
	ID    string `json:"id"`
	Owner string `json:"owner"`
	Until string `json:"until"`
}

// Call is the provenance of one HTTP request a collector made, so an auditor
// can match evidence to the provider's own audit trail.
type Call struct {
	Service    string    `json:"service"`
	Operation  string    `json:"operation"`
	Region     string    `json:"region,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	Time       time.Time `json:"time"`
	HTTPStatus int       `json:"http_status,omitempty"`
	Attempt    int       `json:"attempt"`
	Error      string    `json:"error,omitempty"`
}
