package agent_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/schedule"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// seriesKeys lists the snapshot keys of a series.
func seriesKeys(t testing.TB, st store.Store, series string) []string {
	var keys []string
	require.NoError(t, st.List(t.Context(), store.SeriesPrefix(series), "", func(key string) error {
		if _, _, ok := store.ParseSnapshotKey(key); ok {
			keys = append(keys, key)
		}
		return nil
	}))
	return keys
}

func seriesNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = evidence.SeriesName("aws.iam", fmt.Sprintf("%012d", 100000000000+i))
	}
	return out
}

func TestAssignIsDeterministicAndBalanced(t *testing.T) {
	const n, replicas = 3000, 3
	primaries, standbys := make([]int, replicas), make([]int, replicas)
	for _, s := range seriesNames(n) {
		p, sb := agent.Assign(s, replicas)
		p2, sb2 := agent.Assign(s, replicas)
		require.Equal(t, [2]int{p, sb}, [2]int{p2, sb2}, "%s: the same answer every time", s)
		require.NotEqual(t, p, sb, "%s: the standby is another replica", s)
		require.True(t, p >= 0 && p < replicas && sb >= 0 && sb < replicas)
		primaries[p]++
		standbys[sb]++
	}
	for r := range replicas {
		// An even share is 1000; a hash this size stays within 10%.
		require.InDelta(t, n/replicas, primaries[r], 100, "replica %d primary for %d of %d series", r, primaries[r], n)
		require.InDelta(t, n/replicas, standbys[r], 100, "replica %d standby for %d of %d series", r, standbys[r], n)
	}

	p, sb := agent.Assign("t/acme", 1)
	require.Equal(t, [2]int{0, 0}, [2]int{p, sb}, "one replica is everything")
}

func TestRemovingAReplicaMovesOnlyItsSeries(t *testing.T) {
	moved := 0
	for _, s := range seriesNames(2000) {
		p5, sb5 := agent.Assign(s, 5)
		p4, sb4 := agent.Assign(s, 4)
		switch {
		case p5 == 4:
			moved++
			require.Equal(t, sb5, p4, "%s: its standby becomes its primary", s)
		case sb5 == 4:
			require.Equal(t, p5, p4, "%s: the primary stays", s)
		default:
			require.Equal(t, [2]int{p5, sb5}, [2]int{p4, sb4}, "%s: a series the removed replica had no part in does not move", s)
		}
	}
	require.InDelta(t, 400, moved, 80, "about a fifth of the series had replica 4 as primary")
}

// shardEnvs starts replicas agents on one store, each with its own clock.
func shardEnvs(t *testing.T, replicas int, start time.Time) []*agenttest.Env {
	envs := []*agenttest.Env{agenttest.NewEnv(t, start)}
	for range replicas - 1 {
		envs = append(envs, agenttest.NewEnvOn(t, envs[0], start))
	}
	return envs
}

func shardJob(c collector.Collector, spec string, replicas, ordinal int, delay time.Duration) agent.Job {
	job := agenttest.Job("t", spec, c)
	job.OncePerSlot = true
	job.Shard = agent.Shard{Replicas: replicas, Ordinal: ordinal, StandbyDelay: delay}
	return job
}

// Three replicas over ten series and six hourly slots; the replica that is
// primary for most of them stops after the second slot. Every slot of every
// series is recorded exactly once, by its primary while it lives and by its
// standby after, and the store verifies.
func TestShardedReplicasRecordEverySlotOnce(t *testing.T) {
	const replicas, slots = 3, 6
	accounts := make([]string, 10)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("acct-%02d", i)
	}
	c := &agenttest.Collector{Accounts: accounts, Fn: agenttest.Passing}
	primaryOf := map[string]int{}
	standbyOf := map[string]int{}
	count := make([]int, replicas)
	for _, a := range accounts {
		s := evidence.SeriesName("t", a)
		primaryOf[s], standbyOf[s] = agent.Assign(s, replicas)
		count[primaryOf[s]]++
	}
	dead := 0
	for r := range replicas {
		if count[r] > count[dead] {
			dead = r
		}
	}
	require.Positive(t, count[dead])

	envs := shardEnvs(t, replicas, t0)
	// The standbys' takeovers are counted by each replica.
	regs := make([]*prometheus.Registry, replicas)
	for r := range envs {
		regs[r] = prometheus.NewRegistry()
		a, err := agent.New(t.Context(), agent.Options{Store: envs[r].Store, Signer: envs[r].Signer, Now: envs[r].Clock.Now, Metrics: agent.NewMetrics(regs[r])})
		require.NoError(t, err)
		envs[r].Agent = a
	}
	wrote := map[string][]int{} // series → the replica that wrote each seq
	for slot := range slots {
		var live []int
		for r := range envs {
			if r != dead || slot < 2 {
				live = append(live, r)
			}
		}
		// Each live replica fires at the slot: it collects its primary
		// series, then its run waits on its clock for the standby deadline
		// (15 minutes of an hourly schedule).
		due := t0.Add(time.Duration(slot) * time.Hour)
		type result struct {
			r   int
			w   []agent.Written
			err error
		}
		done := make(chan result, len(live))
		for _, r := range live {
			env := envs[r]
			env.Clock.Advance(due.Add(time.Duration(r+1) * time.Second).Sub(env.Clock.Now()))
			go func() {
				w, err := env.Agent.Run(t.Context(), shardJob(c, "@hourly", replicas, r, 0))
				done <- result{r, w, err}
			}()
		}
		// Once the live primaries have recorded the slot, the deadline passes.
		require.Eventually(t, func() bool {
			for _, a := range accounts {
				s := evidence.SeriesName("t", a)
				if primaryOf[s] != dead || slot < 2 {
					if len(seriesKeys(t, envs[0].Store, s)) < slot+1 {
						return false
					}
				}
			}
			return true
		}, time.Minute, 20*time.Millisecond)
		for _, r := range live {
			envs[r].Clock.Advance(16 * time.Minute)
		}
		var results []result
		for range live {
			results = append(results, <-done)
		}
		slices.SortFunc(results, func(a, b result) int { return a.r - b.r })
		for _, res := range results {
			require.NoError(t, res.err)
			for _, w := range res.w {
				require.False(t, w.Duplicate, "no replica collects a slot already recorded")
				wrote[w.Series] = append(wrote[w.Series], res.r)
				require.Equal(t, int64(slot+1), w.Seq, w.Series)
			}
		}
	}
	for _, a := range accounts {
		s := evidence.SeriesName("t", a)
		require.Len(t, wrote[s], slots, "%s: one snapshot per slot", s)
		for slot, r := range wrote[s] {
			want := primaryOf[s]
			if want == dead && slot >= 2 {
				want = standbyOf[s]
			}
			require.Equal(t, want, r, "%s slot %d", s, slot)
		}
		requireChain(t, envs[0].Store, s, slots)
	}
	rep := requireVerified(t, envs[0].Store)
	require.Equal(t, len(accounts)*slots, rep.Snapshots)
	for r, reg := range regs {
		want := 0
		if r != dead {
			for _, a := range accounts {
				if s := evidence.SeriesName("t", a); primaryOf[s] == dead && standbyOf[s] == r {
					want += slots - 2
				}
			}
		}
		require.Equal(t, float64(want), takeovers(t, reg), "replica %d: its takeovers", r)
	}
}

// takeovers is the standby collections a replica counted.
func takeovers(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	n := 0.0
	for _, f := range families {
		if f.GetName() == "exhibit_standby_collections_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// A late primary and its standby collect the same slot at once: the store's
// conditional write gives the slot to one, the other finds it recorded and
// stores nothing. The "@every" schedule's slots are the clock's windows.
func TestLatePrimaryAndStandbyRecordTheSlotOnce(t *testing.T) {
	series := evidence.SeriesName("t", "acme")
	primary, standby := agent.Assign(series, 3)
	start := t0.Add(time.Minute) // a slot of "@every 10m" starts at t0
	envs := shardEnvs(t, 2, start)

	collecting, release := make(chan struct{}), make(chan struct{})
	slow := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(req collector.Request) (*collector.Result, error) {
		close(collecting)
		<-release
		return agenttest.Passing(req)
	}}
	fast := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}

	type result struct {
		w   []agent.Written
		err error
	}
	late := make(chan result, 1)
	go func() {
		w, err := envs[0].Agent.Run(t.Context(), shardJob(slow, "@every 10m", 3, primary, 2*time.Minute))
		late <- result{w, err}
	}()
	<-collecting
	envs[1].Clock.Advance(2 * time.Minute) // past the standby deadline
	w, err := envs[1].Agent.Run(t.Context(), shardJob(fast, "@every 10m", 3, standby, 2*time.Minute))
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.False(t, w[0].Duplicate)
	require.Equal(t, int64(1), w[0].Seq)
	close(release)
	r := <-late
	require.NoError(t, r.err)
	require.Len(t, r.w, 1)
	require.True(t, r.w[0].Duplicate, "the primary's late run finds its slot recorded")

	// The next window is the primary's again.
	envs[0].Clock.Advance(10 * time.Minute)
	w, err = envs[0].Agent.Run(t.Context(), shardJob(fast, "@every 10m", 3, primary, 2*time.Minute))
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.False(t, w[0].Duplicate)
	require.Equal(t, int64(2), w[0].Seq)
	requireChain(t, envs[0].Store, series, 2)
	requireVerified(t, envs[0].Store)
}

// A replica neither primary nor standby of a series writes nothing for it.
func TestReplicaSkipsSeriesItHasNoPartIn(t *testing.T) {
	series := evidence.SeriesName("t", "acme")
	primary, standby := agent.Assign(series, 3)
	other := 3 - primary - standby
	env := agenttest.NewEnv(t, t0.Add(30*time.Minute))
	called := 0
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(req collector.Request) (*collector.Result, error) {
		called++
		return agenttest.Passing(req)
	}}
	w, err := env.Agent.Run(t.Context(), shardJob(c, "@hourly", 3, other, 0))
	require.NoError(t, err)
	require.Empty(t, w)
	require.Zero(t, called)
}

// A standby's collection has the job's whole timeout, counted from its
// deadline: the wait for the primary does not use it up.
func TestStandbyCollectionGetsTheWholeTimeout(t *testing.T) {
	series := evidence.SeriesName("t", "acme")
	_, standby := agent.Assign(series, 3)
	env := agenttest.NewEnv(t, t0.Add(time.Minute))
	var ctxErr error
	c := &scripted{
		scopes: func(context.Context) ([]evidence.Scope, error) {
			return []evidence.Scope{{Provider: "test", Account: "acme"}}, nil
		},
		collect: func(ctx context.Context, req collector.Request) (*collector.Result, error) {
			ctxErr = ctx.Err()
			return agenttest.Passing(req)
		},
	}
	job := shardJob(c, "@hourly", 3, standby, 0)
	job.Timeout = 200 * time.Millisecond
	done := make(chan []agent.Written, 1)
	go func() {
		w, err := env.Agent.Run(t.Context(), job)
		require.NoError(t, err)
		done <- w
	}()
	// Longer than the timeout passes (in real time) before the deadline
	// comes on the agent's clock.
	time.Sleep(3 * job.Timeout)
	env.Clock.Advance(15 * time.Minute)
	w := <-done
	require.NoError(t, ctxErr)
	require.Len(t, w, 1)
	require.Equal(t, evidence.StatusComplete, w[0].Status)
}

// Sharded, a failed scope discovery is recorded once per slot: by the
// discovery series' primary, or by its standby when the primary did not.
func TestShardedDiscoveryFailureIsRecordedOnce(t *testing.T) {
	series := evidence.SeriesName("t", "discovery")
	primary, standby := agent.Assign(series, 3)
	envs := shardEnvs(t, 3, t0.Add(time.Minute))
	c := &scripted{scopes: func(context.Context) ([]evidence.Scope, error) {
		return nil, fmt.Errorf("list accounts: access denied")
	}}
	run := func(r int) []agent.Written {
		w, err := envs[r].Agent.Run(t.Context(), shardJob(c, "@hourly", 3, r, 0))
		require.NoError(t, err)
		return w
	}
	order := []int{primary, standby, 3 - primary - standby}
	require.Len(t, run(order[0]), 1, "the primary records the failure")
	for _, r := range order[1:] {
		envs[r].Clock.Advance(20 * time.Minute) // past the standby deadline
		require.Empty(t, run(r), "replica %d: the slot is recorded", r)
	}
	// The next slot, without the primary.
	for _, r := range order[1:] {
		envs[r].Clock.Advance(time.Hour)
		w := run(r)
		if r == standby {
			require.Len(t, w, 1)
			require.Equal(t, evidence.StatusFailed, w[0].Status)
			require.Equal(t, int64(2), w[0].Seq)
		} else {
			require.Empty(t, w)
		}
	}
	require.Len(t, seriesKeys(t, envs[0].Store, series), 2)
}

// A primary's failed run does not close its slot: the standby collects it
// at the deadline, and the store keeps both, the failure as evidence.
func TestStandbyRetriesASlotItsPrimaryFailed(t *testing.T) {
	series := evidence.SeriesName("t", "acme")
	primary, standby := agent.Assign(series, 3)
	envs := shardEnvs(t, 2, t0.Add(time.Minute))
	broken := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(collector.Request) (*collector.Result, error) {
		return nil, fmt.Errorf("get credential report: access denied")
	}}
	fast := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
	w, err := envs[0].Agent.Run(t.Context(), shardJob(broken, "@hourly", 3, primary, 0))
	require.NoError(t, err)
	require.Equal(t, evidence.StatusFailed, w[0].Status)
	envs[1].Clock.Advance(20 * time.Minute)
	w, err = envs[1].Agent.Run(t.Context(), shardJob(fast, "@hourly", 3, standby, 0))
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.Equal(t, evidence.StatusComplete, w[0].Status)
	require.Equal(t, int64(2), w[0].Seq)
}

// An "@every" slot is the window the runner fires it at, counted from the
// Unix epoch. Seven minutes do not divide a day, so those windows are not
// the ones counted from the zero time: a standby past its deadline in the
// window its (late) primary recorded finds the slot recorded and collects
// nothing.
func TestStandbyCountsEveryWindowsFromTheEpoch(t *testing.T) {
	const every, delay = 7 * time.Minute, 30 * time.Second
	w := schedule.Window(every, t0.Add(time.Hour))
	recorded, standbyAt := w.Add(5*time.Minute), w.Add(6*time.Minute+50*time.Second)
	require.NotEqual(t, recorded.Truncate(every), standbyAt.Truncate(every), "counted from the zero time, these are two windows")

	series := evidence.SeriesName("t", "acme")
	primary, standby := agent.Assign(series, 3)
	envs := shardEnvs(t, 2, recorded)
	calls := 0
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(req collector.Request) (*collector.Result, error) {
		calls++
		return agenttest.Passing(req)
	}}
	written, err := envs[0].Agent.Run(t.Context(), shardJob(c, "@every 7m", 3, primary, delay))
	require.NoError(t, err)
	require.Len(t, written, 1)

	envs[1].Clock.Advance(standbyAt.Sub(recorded))
	written, err = envs[1].Agent.Run(t.Context(), shardJob(c, "@every 7m", 3, standby, delay))
	require.NoError(t, err)
	require.Empty(t, written, "the slot is recorded")
	require.Equal(t, 1, calls, "the standby did not collect")
	requireChain(t, envs[0].Store, series, 1)
}
