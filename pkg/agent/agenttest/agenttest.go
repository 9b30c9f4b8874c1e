// Package agenttest builds real evidence stores for tests of the agent and of
// the audit tools: a scripted collector, a real file store and a real key.
package agenttest

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// Collector returns, for each scope, the result and error its Fn gives.
type Collector struct {
	Accounts []string
	Fn       func(req collector.Request) (*collector.Result, error)
	Calls    atomic.Int64
}

// Scopes implements collector.Collector.
func (c *Collector) Scopes(context.Context) ([]evidence.Scope, error) {
	out := make([]evidence.Scope, 0, len(c.Accounts))
	for _, a := range c.Accounts {
		out = append(out, evidence.Scope{Provider: "test", Account: a})
	}
	return out, nil
}

// Collect implements collector.Collector.
func (c *Collector) Collect(_ context.Context, req collector.Request) (*collector.Result, error) {
	c.Calls.Add(1)
	return c.Fn(req)
}

// Passing is a result with one passing finding and an attachment.
func Passing(req collector.Request) (*collector.Result, error) {
	return &collector.Result{
		Records:     []evidence.Record{{Type: "thing", ID: "thing-" + req.Scope.Account, Attributes: map[string]any{"ok": true}}},
		Findings:    []evidence.Finding{{Check: "test.check", Resource: "thing-" + req.Scope.Account, Status: evidence.Pass, Reason: "fine"}},
		Attachments: []collector.Attachment{{Name: "raw.txt", MediaType: "text/plain", Data: []byte("raw " + req.Scope.Account)}},
		Window:      &evidence.Window{Start: req.Since, End: req.Now},
	}, nil
}

// Env is a store, key and agent under a temp dir.
type Env struct {
	Dir    string
	Store  *fsstore.Store
	Signer *signing.FileKey
	Agent  *agent.Agent
	Clock  *Clock
}

// Clock is a settable time source.
type Clock struct{ t atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.t.Load()).UTC() }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.t.Add(int64(d)) }

// NewEnv makes a fresh store and agent. The clock starts at start.
func NewEnv(t testing.TB, start time.Time) *Env {
	t.Helper()
	dir := t.TempDir()
	st, err := fsstore.Open(filepath.Join(dir, "evidence"))
	require.NoError(t, err)
	key, err := signing.GenerateFileKey(filepath.Join(dir, "key.pem"))
	require.NoError(t, err)
	return newEnv(t, dir, st, key, start)
}

// NewEnvOn starts a second agent, with its own clock, on the store and key
// of env: another process, or one restarted, knowing nothing of env's.
func NewEnvOn(t testing.TB, env *Env, start time.Time) *Env {
	t.Helper()
	return newEnv(t, env.Dir, env.Store, env.Signer, start)
}

// NewEnvWithKey starts an agent on the store of env that signs with key:
// one restarted with a new signing key.
func NewEnvWithKey(t testing.TB, env *Env, key *signing.FileKey, start time.Time) *Env {
	t.Helper()
	return newEnv(t, env.Dir, env.Store, key, start)
}

// NewEnvWith is NewEnv with the agent's options changed by opt (a
// Timestamper, say).
func NewEnvWith(t testing.TB, start time.Time, opt func(*agent.Options)) *Env {
	t.Helper()
	dir := t.TempDir()
	st, err := fsstore.Open(filepath.Join(dir, "evidence"))
	require.NoError(t, err)
	key, err := signing.GenerateFileKey(filepath.Join(dir, "key.pem"))
	require.NoError(t, err)
	return newEnv(t, dir, st, key, start, opt)
}

func newEnv(t testing.TB, dir string, st *fsstore.Store, key *signing.FileKey, start time.Time, opts ...func(*agent.Options)) *Env {
	t.Helper()
	clock := &Clock{}
	clock.t.Store(start.UnixNano())
	o := agent.Options{
		Store: st, Signer: key, Version: "test", Now: clock.Now,
		Refs: func(check string) []string {
			if check == "test.check" {
				return []string{"soc2:CC6.1", "hipaa:164.312(a)(1)"}
			}
			return nil
		},
	}
	for _, opt := range opts {
		opt(&o)
	}
	a, err := agent.New(context.Background(), o)
	require.NoError(t, err)
	return &Env{Dir: dir, Store: st, Signer: key, Agent: a, Clock: clock}
}

// Job wraps c as a job with the given id and schedule.
func Job(id, spec string, c collector.Collector) agent.Job {
	return agent.Job{ID: id, Type: "test.collector", Version: "1", Provider: "test", Schedule: spec, Collector: c, Checks: []string{"test.check"}}
}

// Fill runs job n times, advancing the clock by step between runs.
func (e *Env) Fill(t testing.TB, job agent.Job, n int, step time.Duration) []agent.Written {
	t.Helper()
	var out []agent.Written
	for range n {
		w, err := e.Agent.Run(context.Background(), job)
		require.NoError(t, err)
		out = append(out, w...)
		e.Clock.Advance(step)
	}
	return out
}
