package collector

import "context"

// Prober is implemented by a collector that can show, without collecting,
// whether its credentials allow what it needs: exhibit check calls it.
//
// Probe reaches the source with the configured credentials (identities,
// assumed roles, installations, tokens) and makes at most one harmless
// read per permission — of those given, the factory's Permissions — and
// scope. It reports every permission given: one it has no harmless read
// for is ProbeNotProbed with the reason, never ProbeOK. It writes nothing
// and records nothing.
type Prober interface {
	Probe(ctx context.Context, permissions []string) []ProbeResult
}

// ProbeStatus is a probe's verdict.
type ProbeStatus string

const (
	// ProbeOK: the source answered the read (or refused it for a reason
	// that shows it was authorized, such as a missing resource).
	ProbeOK ProbeStatus = "ok"
	// ProbeDenied: the source refused it for want of the permission.
	ProbeDenied ProbeStatus = "denied"
	// ProbeError: the read failed otherwise (unreachable, bad credentials,
	// a server error), so whether the permission is held is unknown.
	ProbeError ProbeStatus = "error"
	// ProbeNotProbed: no harmless read exists for it here; Detail says why.
	ProbeNotProbed ProbeStatus = "not probed"
)

// ProbeResult is one check of access.
type ProbeResult struct {
	// Scope is where: "account 111122223333", "account … region eu-west-1",
	// "org example", "okta example.okta.com".
	Scope string `json:"scope"`
	// Permission is the IAM action or scope checked, or what was reached
	// ("region eu-west-1", "token").
	Permission string      `json:"permission"`
	Status     ProbeStatus `json:"status"`
	Detail     string      `json:"detail,omitempty"`
}

// Failed reports whether the result means the collector lacks something
// it needs (denied, or the read failed).
func (r ProbeResult) Failed() bool { return r.Status == ProbeDenied || r.Status == ProbeError }
