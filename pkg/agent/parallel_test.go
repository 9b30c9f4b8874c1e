package agent_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func accounts(n int) []evidence.Scope {
	out := make([]evidence.Scope, n)
	for i := range out {
		out[i] = evidence.Scope{Provider: "test", Account: fmt.Sprintf("acct-%02d", i)}
	}
	return out
}

// inFlight counts collections running at once and the most seen.
type inFlight struct {
	now, peak atomic.Int64
}

func (f *inFlight) enter() {
	n := f.now.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (f *inFlight) leave() { f.now.Add(-1) }

// Scopes run side by side up to the job's bound, never more; every series
// is chained as if alone, and the results keep the scopes' order, run
// after run.
func TestScopesRunInParallelWithinTheBound(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	var f inFlight
	// Each collection waits until the bound is reached (or a while), so a
	// bound that is not honoured, or scopes run one by one, shows.
	reached := make(chan struct{})
	var once sync.Once
	c := &scripted{
		scopes: func(context.Context) ([]evidence.Scope, error) { return accounts(10), nil },
		collect: func(ctx context.Context, req collector.Request) (*collector.Result, error) {
			f.enter()
			defer f.leave()
			if f.now.Load() >= 3 {
				once.Do(func() { close(reached) })
			}
			select {
			case <-reached:
			case <-time.After(2 * time.Second):
			}
			return agenttest.Passing(req)
		},
	}
	job := agenttest.Job("t", "@hourly", c)
	job.ScopeConcurrency = 3
	for run := range 3 {
		w, err := env.Agent.Run(t.Context(), job)
		require.NoError(t, err)
		require.Len(t, w, 10)
		for i, got := range w {
			require.Equal(t, fmt.Sprintf("t/acct-%02d", i), got.Series, "results keep the order of the scopes")
			require.Equal(t, int64(run+1), got.Seq)
			require.Equal(t, evidence.StatusComplete, got.Status)
		}
		env.Clock.Advance(time.Hour)
	}
	require.Equal(t, int64(3), f.peak.Load(), "at most scope_concurrency scopes at once, and that many")
	rep := requireVerified(t, env.Store)
	require.Equal(t, 30, rep.Snapshots)
}

// One scope's failure, collection or write, stops none of the others.
func TestOneScopeFailingStopsNoOther(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &scripted{
		scopes: func(context.Context) ([]evidence.Scope, error) { return accounts(6), nil },
		collect: func(_ context.Context, req collector.Request) (*collector.Result, error) {
			if req.Scope.Account == "acct-02" {
				return nil, errors.New("AccessDenied: assume role")
			}
			return agenttest.Passing(req)
		},
	}
	job := agenttest.Job("t", "@hourly", c)
	job.ScopeConcurrency = 4
	w, err := env.Agent.Run(t.Context(), job)
	require.NoError(t, err)
	require.Len(t, w, 6)
	for i, got := range w {
		want := evidence.StatusComplete
		if i == 2 {
			want = evidence.StatusFailed
		}
		require.Equal(t, want, got.Status, got.Series)
	}
	require.Contains(t, w[2].Errors[0].Message, "AccessDenied")
	requireVerified(t, env.Store)
}

// With scopes in parallel, a shutdown still writes exactly the work that
// had started (failed, with the reason) and nothing for scopes that had
// not.
func TestShutdownWithParallelScopesWritesOnlyWorkStarted(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	ctx, interrupt := context.WithCancel(t.Context())
	var started sync.WaitGroup
	started.Add(2)
	c := &scripted{
		scopes: func(context.Context) ([]evidence.Scope, error) { return accounts(5), nil },
		collect: func(ctx context.Context, req collector.Request) (*collector.Result, error) {
			started.Done()
			if req.Scope.Account == "acct-00" {
				started.Wait() // both slots busy, then Ctrl-C
				interrupt()
			}
			<-ctx.Done()
			return nil, fmt.Errorf("list things: %w", ctx.Err())
		},
	}
	job := agenttest.Job("t", "@hourly", c)
	job.ScopeConcurrency = 2
	w, err := env.Agent.Run(ctx, job)
	require.NoError(t, err)
	require.Len(t, w, 2)
	for _, got := range w {
		require.Equal(t, evidence.StatusFailed, got.Status)
		require.Contains(t, got.Errors[0].Message, "run interrupted by a shutdown: list things: context canceled")
	}
	require.ElementsMatch(t, []string{"t/acct-00", "t/acct-01"}, seriesIn(t, env.Store))
	requireVerified(t, env.Store)
}

// The job's timeout covers the whole run, scopes in parallel or not: a
// scope that outlasts it fails as a timeout, the others are written.
func TestTimeoutWithParallelScopes(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &scripted{
		scopes: func(context.Context) ([]evidence.Scope, error) { return accounts(4), nil },
		collect: func(ctx context.Context, req collector.Request) (*collector.Result, error) {
			if req.Scope.Account == "acct-01" {
				<-ctx.Done()
				return nil, fmt.Errorf("list things: %w", ctx.Err())
			}
			return agenttest.Passing(req)
		},
	}
	job := agenttest.Job("t", "@hourly", c)
	job.ScopeConcurrency = 4
	job.Timeout = 50 * time.Millisecond
	w, err := env.Agent.Run(t.Context(), job)
	require.NoError(t, err)
	require.Len(t, w, 4)
	require.Equal(t, evidence.StatusFailed, w[1].Status)
	require.Contains(t, w[1].Errors[0].Message, "run exceeded its timeout of 50ms")
	for _, i := range []int{0, 2, 3} {
		require.Equal(t, evidence.StatusComplete, w[i].Status)
	}
	requireVerified(t, env.Store)
}

// BenchmarkScopes runs one job over a simulated estate of 20 accounts
// whose collection takes 30 ms of API latency each, one after another and
// with scopes in parallel; it reports the wall time per run and the
// collections made per run.
func BenchmarkScopes(b *testing.B) {
	const accountsN, latency = 20, 30 * time.Millisecond
	for _, conc := range []int{1, 4, 10, 20} {
		b.Run(fmt.Sprintf("scope_concurrency=%d", conc), func(b *testing.B) {
			env := agenttest.NewEnv(b, t0)
			var calls atomic.Int64
			c := &scripted{
				scopes: func(context.Context) ([]evidence.Scope, error) { return accounts(accountsN), nil },
				collect: func(ctx context.Context, req collector.Request) (*collector.Result, error) {
					calls.Add(1)
					select {
					case <-time.After(latency):
					case <-ctx.Done():
						return nil, ctx.Err()
					}
					return agenttest.Passing(req)
				},
			}
			job := agenttest.Job("t", "@hourly", c)
			job.ScopeConcurrency = conc
			b.ResetTimer()
			for range b.N {
				w, err := env.Agent.Run(context.Background(), job)
				if err != nil || len(w) != accountsN {
					b.Fatalf("run: %d written, %v", len(w), err)
				}
				env.Clock.Advance(time.Hour)
			}
			b.ReportMetric(float64(calls.Load())/float64(b.N), "collections/run")
			b.ReportMetric(float64(accountsN)*latency.Seconds()/(b.Elapsed().Seconds()/float64(b.N)), "speedup_vs_sum")
		})
	}
}

// Scopes in parallel through an outage: every scope's snapshot is spooled,
// then uploaded in order per series when the store is back.
func TestParallelScopesThroughAnOutage(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	st := &outage{Store: env.Store}
	a, _ := newSpooled(t, env, st, filepath.Join(env.Dir, "spool"))
	c := &scripted{
		scopes: func(context.Context) ([]evidence.Scope, error) { return accounts(8), nil },
		collect: func(_ context.Context, req collector.Request) (*collector.Result, error) {
			return agenttest.Passing(req)
		},
	}
	job := agenttest.Job("t", "@hourly", c)
	job.ScopeConcurrency = 4
	run := func() []agent.Written {
		w, err := a.Run(t.Context(), job)
		require.NoError(t, err)
		require.Len(t, w, 8)
		env.Clock.Advance(time.Hour)
		return w
	}
	run()
	st.down.Store(true)
	for range 2 {
		for _, w := range run() {
			require.True(t, w.Spooled, w.Series)
		}
	}
	require.Equal(t, 16, a.Backlog())
	st.down.Store(false)
	n, err := a.FlushSpool(t.Context())
	require.NoError(t, err)
	require.Equal(t, 0, n, "nothing left waiting")
	for i, w := range run() {
		require.Equal(t, fmt.Sprintf("t/acct-%02d", i), w.Series)
		require.Equal(t, int64(4), w.Seq, "two spooled snapshots landed first, in order")
	}
	rep := requireVerified(t, env.Store)
	require.Equal(t, 32, rep.Snapshots)
}

// With DropSnapshots, Run returns each scope's summary but not its
// snapshot, which stays in the store whole.
func TestDropSnapshotsKeepsOnlyTheSummary(t *testing.T) {
	env := agenttest.NewEnvWith(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), func(o *agent.Options) { o.DropSnapshots = true })
	c := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: agenttest.Passing}
	written, err := env.Agent.Run(t.Context(), agenttest.Job("t", "@hourly", c))
	require.NoError(t, err)
	require.Len(t, written, 2)
	for _, w := range written {
		require.Nil(t, w.Snapshot, w.Series)
		require.Equal(t, evidence.StatusComplete, w.Status)
		require.NotEmpty(t, w.Summary)
		raw, err := env.Store.Get(t.Context(), w.Key)
		require.NoError(t, err)
		snap, err := evidence.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, w.Seq, snap.Seq)
		require.NotEmpty(t, snap.Findings)
	}
}
