// Package collector is the contract between the agent and its pluggable
// collectors: a Factory per type, a Registry of factories, and the Collector
// that gathers evidence for one scope at a time.
package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Collector gathers evidence. Scopes lists what one run covers (accounts,
// orgs); Collect is called once per scope and yields one snapshot's content.
//
// Collect returns what it observed. When some calls failed it returns the
// partial result together with a *PartialError; the snapshot is then written
// with status partial. Any other error marks the snapshot failed.
type Collector interface {
	Scopes(ctx context.Context) ([]evidence.Scope, error)
	Collect(ctx context.Context, req Request) (*Result, error)
}

// Request is one scope's run.
type Request struct {
	Scope evidence.Scope
	// Since is where the series' last complete snapshot's window ended; zero
	// on a series' first run. Period collectors start their window here so
	// nothing falls between two runs.
	Since time.Time
	// Now is the run's reference time: the end of any window it covers.
	Now time.Time
	// Evidence reads the store the run writes to, for steps whose Factory
	// lists Inputs; nil when the agent was given no reader.
	Evidence EvidenceReader
}

// Result is the content of one snapshot.
type Result struct {
	Records     []evidence.Record
	Findings    []evidence.Finding
	Attachments []Attachment
	Window      *evidence.Window
}

// Attachment is a raw artefact kept beside the snapshot, content-addressed.
type Attachment struct {
	Name      string
	MediaType string
	Data      []byte
}

// PartialError carries the failures of a run that still produced evidence.
type PartialError struct {
	Errors []evidence.RunError
}

func (e *PartialError) Error() string {
	msgs := make([]string, 0, len(e.Errors))
	for _, x := range e.Errors {
		msgs = append(msgs, x.Where+": "+x.Message)
	}
	return fmt.Sprintf("%d errors: %s", len(e.Errors), strings.Join(msgs, "; "))
}

// Add records one failure.
func (e *PartialError) Add(where, operation string, err error) {
	e.Errors = append(e.Errors, evidence.RunError{Where: where, Operation: operation, Message: err.Error()})
}

// Err returns e when it holds any failure, else nil, so a collector can end
// with `return res, partial.Err()`.
func (e *PartialError) Err() error {
	if e == nil || len(e.Errors) == 0 {
		return nil
	}
	return e
}

// Settings is what the agent hands a collector when constructing it.
type Settings struct {
	// ID is the configured instance id (the type unless the config names it).
	ID         string
	Sources    Sources
	Thresholds Thresholds
	// HTTPClient records the provenance of every call into the run's
	// snapshot. Collectors must make all API calls through it.
	HTTPClient *http.Client
	Logger     *zap.Logger
	// Identity configures identity.reconcile.
	Identity Identity
}

// Factory describes one collector type.
type Factory struct {
	Type        string
	Version     string
	Description string
	// Provider is the source the collector reads: aws, github or okta.
	Provider string
	// Permissions lists every API permission the collector uses (IAM actions,
	// OAuth scopes); the deploy policy and tests are checked against it.
	Permissions []string
	// Checks lists the check ids the collector can emit.
	Checks []string
	// Inputs are the collector types whose latest stored snapshots the
	// step reads (through Request.Evidence) instead of calling a provider.
	// collect and demo run such a step after every other collector.
	Inputs []string
	New    func(s Settings) (Collector, error)
}

// Registry holds the known collector types.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds f; registering a type twice or an incomplete factory is a
// programming error and panics at start-up.
func (r *Registry) Register(f Factory) {
	if f.Type == "" || f.New == nil || f.Version == "" {
		panic("collector: incomplete factory " + f.Type)
	}
	if _, dup := r.factories[f.Type]; dup {
		panic("collector: type registered twice: " + f.Type)
	}
	r.factories[f.Type] = f
}

// Lookup returns the factory for typ.
func (r *Registry) Lookup(typ string) (Factory, bool) {
	f, ok := r.factories[typ]
	return f, ok
}

// Types lists the registered types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.factories))
	for t := range r.factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// ErrNoSource is returned by a factory whose source is not configured.
var ErrNoSource = errors.New("source not configured")
