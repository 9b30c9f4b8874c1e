package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// outage wraps a real store and refuses every call while down, as an
// unreachable endpoint does.
type outage struct {
	store.Store
	down atomic.Bool
}

var errUnreachable = errors.New("dial tcp 127.0.0.1:9000: connect: connection refused")

func (o *outage) Put(ctx context.Context, key string, b []byte) error {
	if o.down.Load() {
		return errUnreachable
	}
	return o.Store.Put(ctx, key, b)
}

func (o *outage) Get(ctx context.Context, key string) ([]byte, error) {
	if o.down.Load() {
		return nil, errUnreachable
	}
	return o.Store.Get(ctx, key)
}

func (o *outage) List(ctx context.Context, prefix, after string, fn func(string) error) error {
	if o.down.Load() {
		return errUnreachable
	}
	return o.Store.List(ctx, prefix, after, fn)
}

func newSpooled(t *testing.T, env *agenttest.Env, st store.Store, spoolDir string) (*agent.Agent, *agent.Spool) {
	t.Helper()
	sp, err := agent.OpenSpool(spoolDir)
	require.NoError(t, err)
	t.Cleanup(func() { sp.Close() })
	a, err := agent.New(t.Context(), agent.Options{Store: st, Signer: env.Signer, Spool: sp, Now: env.Clock.Now})
	require.NoError(t, err)
	return a, sp
}

func requireVerified(t *testing.T, st store.Store) *audit.VerifyReport {
	t.Helper()
	rep, err := audit.Verify(t.Context(), st, audit.VerifyOptions{})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Problems)
	return rep
}

func TestOutageSpoolsThenUploadsInOrder(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	st := &outage{Store: env.Store}
	spoolDir := filepath.Join(env.Dir, "spool")
	a, sp := newSpooled(t, env, st, spoolDir)
	var since []time.Time
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(req collector.Request) (*collector.Result, error) {
		since = append(since, req.Since)
		return agenttest.Passing(req)
	}}
	job := agenttest.Job("t", "@hourly", c)

	run := func() []agent.Written {
		w, err := a.Run(t.Context(), job)
		require.NoError(t, err, "an outage must not lose or fail the run")
		env.Clock.Advance(time.Hour)
		return w
	}
	run()
	st.down.Store(true)
	for range 3 {
		w := run()
		require.True(t, w[0].Spooled)
	}
	require.Equal(t, 3, a.Backlog())

	require.True(t, run()[0].Spooled)
	require.Equal(t, 4, a.Backlog())

	// The process restarts once the store is back (a start refuses an
	// unreachable store); the new process finds the spool and uploads it
	// before its own snapshot.
	st.down.Store(false)
	require.NoError(t, sp.Close())
	a, _ = newSpooled(t, env, st, spoolDir)
	require.Equal(t, 4, a.Backlog())
	w := run()
	require.False(t, w[0].Spooled)
	require.Equal(t, int64(6), w[0].Seq, "spooled snapshots land first, in order")
	require.Equal(t, 0, a.Backlog())
	rep := requireVerified(t, env.Store)
	require.Equal(t, 6, rep.Snapshots)
	// Each run's window starts where the previous one, spooled or not, ended.
	for i := 1; i < len(since); i++ {
		require.Equal(t, t0.Add(time.Duration(i-1)*time.Hour), since[i], "run %d", i)
	}
}

func TestSpooledSnapshotsRechainAfterAnotherWriter(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
	job := agenttest.Job("t", "@hourly", c)
	st := &outage{Store: env.Store}
	a, _ := newSpooled(t, env, st, filepath.Join(env.Dir, "spool"))
	_, err := a.Run(t.Context(), job)
	require.NoError(t, err)

	// a loses the store; a replica that can still reach it writes on.
	st.down.Store(true)
	env.Clock.Advance(time.Minute)
	w, err := a.Run(t.Context(), job)
	require.NoError(t, err)
	require.True(t, w[0].Spooled)
	require.Equal(t, int64(2), w[0].Seq, "chained on the cached head while spooled")
	env.Clock.Advance(time.Hour)
	b, err := agent.New(t.Context(), agent.Options{Store: env.Store, Signer: env.Signer, Now: env.Clock.Now})
	require.NoError(t, err)
	_, err = b.Run(t.Context(), job)
	require.NoError(t, err)

	st.down.Store(false)
	left, err := a.FlushSpool(t.Context())
	require.NoError(t, err)
	require.Zero(t, left)
	rep := requireVerified(t, env.Store)
	require.Equal(t, 3, rep.Snapshots, "the spooled snapshot was re-chained after the replica's, not forked")
}

func TestRunSlotRecordedOnce(t *testing.T) {
	env := agenttest.NewEnv(t, t0.Add(10*time.Minute))
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
	job := agenttest.Job("t", "@hourly", c)
	job.OncePerSlot = true
	replica, err := agent.New(t.Context(), agent.Options{Store: env.Store, Signer: env.Signer, Now: env.Clock.Now})
	require.NoError(t, err)

	w1, err := env.Agent.Run(t.Context(), job)
	require.NoError(t, err)
	env.Clock.Advance(time.Second)
	w2, err := replica.Run(t.Context(), job)
	require.NoError(t, err)
	require.False(t, w1[0].Duplicate)
	require.True(t, w2[0].Duplicate, "the same hourly slot is recorded once")

	env.Clock.Advance(time.Hour)
	w3, err := replica.Run(t.Context(), job)
	require.NoError(t, err)
	require.False(t, w3[0].Duplicate)
	require.Equal(t, int64(2), w3[0].Seq)

	// A partial record does not close the slot: better evidence may follow.
	c.Fn = func(req collector.Request) (*collector.Result, error) {
		res, _ := agenttest.Passing(req)
		pe := &collector.PartialError{}
		pe.Add("x", "op", errors.New("throttled"))
		return res, pe
	}
	env.Clock.Advance(time.Hour)
	_, err = env.Agent.Run(t.Context(), job)
	require.NoError(t, err)
	c.Fn = agenttest.Passing
	w5, err := replica.Run(t.Context(), job)
	require.NoError(t, err)
	require.False(t, w5[0].Duplicate)
	require.Equal(t, evidence.StatusComplete, w5[0].Status)
	requireVerified(t, env.Store)
}

// Unsharded writers on one store fire "@every" at the same window's start
// too, a few hundred milliseconds apart at most: one records the window.
// (Counting the slot from each run's start, the runs either side of a
// second would seem two slots.)
func TestEveryWindowRecordedOnceUnsharded(t *testing.T) {
	env := agenttest.NewEnv(t, t0.Add(10*time.Minute+900*time.Millisecond))
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
	job := agenttest.Job("t", "@every 10m", c)
	job.OncePerSlot = true
	replica, err := agent.New(t.Context(), agent.Options{Store: env.Store, Signer: env.Signer, Now: env.Clock.Now})
	require.NoError(t, err)

	w1, err := env.Agent.Run(t.Context(), job)
	require.NoError(t, err)
	env.Clock.Advance(200 * time.Millisecond)
	w2, err := replica.Run(t.Context(), job)
	require.NoError(t, err)
	require.False(t, w1[0].Duplicate)
	require.True(t, w2[0].Duplicate, "one window, recorded once")

	env.Clock.Advance(10 * time.Minute)
	w3, err := replica.Run(t.Context(), job)
	require.NoError(t, err)
	require.False(t, w3[0].Duplicate)
	require.Equal(t, int64(2), w3[0].Seq)
	requireVerified(t, env.Store)
}

// TestSpoolKeepsAChainedSnapshotOnce: a spooled snapshot already chained and
// signed is kept as its canonical bytes alone, not also as a second
// encoding of the snapshot; an entry written the old way, with both, still
// uploads.
func TestSpoolKeepsAChainedSnapshotOnce(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	st := &outage{Store: env.Store}
	spoolDir := filepath.Join(env.Dir, "spool")
	a, sp := newSpooled(t, env, st, spoolDir)
	job := agenttest.Job("t", "@hourly", &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing})
	_, err := a.Run(t.Context(), job)
	require.NoError(t, err)
	st.down.Store(true)
	for range 2 {
		env.Clock.Advance(time.Hour)
		w, err := a.Run(t.Context(), job)
		require.NoError(t, err)
		require.True(t, w[0].Spooled)
	}
	var files []string
	err = filepath.WalkDir(spoolDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".json" {
			files = append(files, p)
		}
		return err
	})
	require.NoError(t, err)
	require.Len(t, files, 2)
	for _, f := range files {
		var entry map[string]json.RawMessage
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &entry))
		require.Contains(t, entry, "bytes", f)
		require.NotContains(t, entry, "snapshot", "%s: the snapshot is its bytes; it is not kept twice", f)
	}
	// The first entry as an earlier version wrote it: the snapshot beside its bytes.
	old := files[0]
	b, err := os.ReadFile(old)
	require.NoError(t, err)
	var entry map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &entry))
	var raw []byte
	require.NoError(t, json.Unmarshal(entry["bytes"], &raw))
	snap, err := evidence.Parse(raw)
	require.NoError(t, err)
	entry["snapshot"], err = json.Marshal(snap)
	require.NoError(t, err)
	b, err = json.Marshal(entry)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(old, b, 0o600))

	st.down.Store(false)
	require.NoError(t, sp.Close())
	a, _ = newSpooled(t, env, st, spoolDir)
	n, err := a.FlushSpool(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "nothing left in the spool")
	require.Equal(t, 3, requireVerified(t, env.Store).Snapshots)
}
