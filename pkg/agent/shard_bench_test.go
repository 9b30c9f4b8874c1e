package agent_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// counted counts the calls made to a store.
type counted struct {
	store.Store
	puts, gets, lists atomic.Int64
}

func (c *counted) Put(ctx context.Context, key string, b []byte) error {
	c.puts.Add(1)
	return c.Store.Put(ctx, key, b)
}

func (c *counted) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *counted) List(ctx context.Context, prefix, after string, fn func(string) error) error {
	c.lists.Add(1)
	return c.Store.List(ctx, prefix, after, fn)
}

func (c *counted) calls() int64 { return c.puts.Load() + c.gets.Load() + c.lists.Load() }

// BenchmarkShardedSlot runs one hourly slot of 60 series on 1 and on 3
// replicas sharing a store, all replicas alive, and reports per slot: the
// collections made in all (one per series means no work is done twice),
// those of the busiest replica (its share of the estate), and the store
// calls of all replicas together (what the standbys' checks add). Each
// slot waits up to a second of real time for the standbys' deadline, which
// the agent follows on its clock.
func BenchmarkShardedSlot(b *testing.B) {
	const series = 60
	accounts := make([]string, series)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("acct-%03d", i)
	}
	for _, replicas := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			base := agenttest.NewEnv(b, t0)
			st := &counted{Store: base.Store}
			collects := make([]atomic.Int64, replicas)
			agents := make([]*agent.Agent, replicas)
			clocks := make([]*agenttest.Clock, replicas)
			jobs := make([]agent.Job, replicas)
			for r := range replicas {
				clocks[r] = &agenttest.Clock{}
				clocks[r].Advance(time.Duration(t0.UnixNano()))
				a, err := agent.New(b.Context(), agent.Options{Store: st, Signer: base.Signer, Now: clocks[r].Now})
				require.NoError(b, err)
				agents[r] = a
				c := &agenttest.Collector{Accounts: accounts, Fn: func(req collector.Request) (*collector.Result, error) {
					collects[r].Add(1)
					return agenttest.Passing(req)
				}}
				jobs[r] = shardJob(c, "@hourly", replicas, r, 0)
			}
			recorded := func(slot int) bool {
				for _, a := range accounts {
					if len(seriesKeys(b, base.Store, evidence.SeriesName("t", a))) < slot+1 {
						return false
					}
				}
				return true
			}
			calls0 := st.calls()
			b.ResetTimer()
			for slot := range b.N {
				due := t0.Add(time.Duration(slot) * time.Hour)
				var wg sync.WaitGroup
				for r := range replicas {
					clocks[r].Advance(due.Add(time.Second).Sub(clocks[r].Now()))
					wg.Go(func() {
						_, err := agents[r].Run(b.Context(), jobs[r])
						require.NoError(b, err)
					})
				}
				require.Eventually(b, func() bool { return recorded(slot) }, time.Minute, 10*time.Millisecond)
				for r := range replicas {
					clocks[r].Advance(16 * time.Minute)
				}
				wg.Wait()
			}
			b.StopTimer()
			var all []int64
			for r := range collects {
				all = append(all, collects[r].Load())
			}
			total := int64(0)
			for _, n := range all {
				total += n
			}
			n := float64(b.N)
			b.ReportMetric(float64(total)/n, "collects/slot")
			b.ReportMetric(float64(slices.Max(all))/n, "busiest-replica-collects/slot")
			b.ReportMetric(float64(st.calls()-calls0)/n, "store-calls/slot")
		})
	}
}
