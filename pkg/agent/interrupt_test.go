package agent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// scripted is a collector whose scope discovery and collection are given
// by functions of their context.
type scripted struct {
	scopes  func(ctx context.Context) ([]evidence.Scope, error)
	collect func(ctx context.Context, req collector.Request) (*collector.Result, error)
}

func (s *scripted) Scopes(ctx context.Context) ([]evidence.Scope, error) { return s.scopes(ctx) }

func (s *scripted) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	return s.collect(ctx, req)
}

func threeScopes(context.Context) ([]evidence.Scope, error) {
	return []evidence.Scope{{Provider: "test", Account: "a"}, {Provider: "test", Account: "b"}, {Provider: "test", Account: "c"}}, nil
}

// seriesIn lists the series that have any snapshot.
func seriesIn(t *testing.T, st store.Store) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	require.NoError(t, st.List(t.Context(), store.EvidencePrefix, "", func(key string) error {
		if s, _, ok := store.ParseSnapshotKey(key); ok && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
		return nil
	}))
	return out
}

// A shutdown during a collection writes that collection (failed, with the
// reason) and nothing for the scopes not started.
func TestShutdownWritesOnlyWorkStarted(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	ctx, interrupt := context.WithCancel(t.Context())
	c := &scripted{scopes: threeScopes, collect: func(ctx context.Context, req collector.Request) (*collector.Result, error) {
		if req.Scope.Account == "a" {
			interrupt() // Ctrl-C while the first scope is being read
			<-ctx.Done()
			return nil, fmt.Errorf("list things: %w", ctx.Err())
		}
		return agenttest.Passing(req)
	}}
	w, err := env.Agent.Run(ctx, agenttest.Job("t", "@hourly", c))
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.Equal(t, evidence.StatusFailed, w[0].Status)
	require.Contains(t, w[0].Errors[0].Message, "run interrupted by a shutdown: list things: context canceled")
	require.Equal(t, []string{"t/a"}, seriesIn(t, env.Store))
	requireVerified(t, env.Store)
}

// A partial collection cut short by a shutdown keeps what it gathered and
// records why it stopped.
func TestShutdownDuringAPartialCollectionSaysWhy(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	ctx, interrupt := context.WithCancel(t.Context())
	c := &scripted{scopes: threeScopes, collect: func(ctx context.Context, req collector.Request) (*collector.Result, error) {
		res, _ := agenttest.Passing(req)
		interrupt()
		pe := &collector.PartialError{}
		pe.Add("eu-west-1", "ListThings", ctx.Err())
		return res, pe
	}}
	w, err := env.Agent.Run(ctx, agenttest.Job("t", "@hourly", c))
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.Equal(t, evidence.StatusPartial, w[0].Status)
	require.Len(t, w[0].Snapshot.Findings, 1)
	require.Equal(t, []evidence.RunError{
		{Where: "eu-west-1", Operation: "ListThings", Message: "context canceled"},
		{Where: "test:a", Message: "run interrupted by a shutdown"},
	}, w[0].Errors)
}

// A shutdown during scope discovery writes nothing: neither a "discovery"
// snapshot made of the cancellation nor series for a list cut short.
func TestShutdownDuringDiscoveryWritesNothing(t *testing.T) {
	for name, scopes := range map[string]func(context.Context) ([]evidence.Scope, error){
		"error": func(ctx context.Context) ([]evidence.Scope, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
		"list cut short": func(ctx context.Context) ([]evidence.Scope, error) {
			<-ctx.Done()
			return make([]evidence.Scope, 3), nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := agenttest.NewEnv(t, t0)
			ctx, interrupt := context.WithCancel(t.Context())
			c := &scripted{scopes: scopes, collect: func(_ context.Context, req collector.Request) (*collector.Result, error) {
				return agenttest.Passing(req)
			}}
			time.AfterFunc(10*time.Millisecond, interrupt)
			w, err := env.Agent.Run(ctx, agenttest.Job("t", "@hourly", c))
			require.NoError(t, err)
			require.Empty(t, w)
			require.Empty(t, seriesIn(t, env.Store))
		})
	}
}

// The job's own timeout is not a shutdown: every scope's run is a failure
// on record, and a list of empty scopes is a failed discovery, never a
// series named "default".
func TestTimeoutAndEmptyScopesAreRecordedFailures(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &scripted{scopes: threeScopes, collect: func(ctx context.Context, req collector.Request) (*collector.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	job := agenttest.Job("t", "@hourly", c)
	job.Timeout = 50 * time.Millisecond
	w, err := env.Agent.Run(t.Context(), job)
	require.NoError(t, err)
	require.Len(t, w, 3)
	for _, x := range w {
		require.Equal(t, evidence.StatusFailed, x.Status)
		require.Contains(t, x.Errors[0].Message, "run exceeded its timeout of 50ms")
	}

	env.Clock.Advance(time.Hour)
	c.scopes = func(context.Context) ([]evidence.Scope, error) {
		return []evidence.Scope{{Provider: "test", Account: "a"}, {Provider: "test"}}, nil
	}
	w, err = env.Agent.Run(t.Context(), agenttest.Job("u", "@hourly", c))
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.Equal(t, "u/discovery", w[0].Series)
	require.Contains(t, w[0].Errors[0].Message, "scope 2 of 2 has no account")
	require.NotContains(t, seriesIn(t, env.Store), "u/default")
}
