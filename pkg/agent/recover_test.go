package agent_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// dying is a real store that stops answering for good at its n-th Put, as
// the store looks to a process killed at that instant: the Put is lost, or
// with after it lands and the answer is lost.
type dying struct {
	store.Store
	n     int64
	after bool
	puts  atomic.Int64
	dead  atomic.Bool
}

var errDied = errors.New("the process died here")

func (d *dying) Put(ctx context.Context, key string, b []byte) error {
	if d.dead.Load() {
		return errDied
	}
	if d.puts.Add(1) == d.n {
		d.dead.Store(true)
		if d.after {
			d.Store.Put(ctx, key, b) //nolint:errcheck // the answer is what is lost
		}
		return errDied
	}
	return d.Store.Put(ctx, key, b)
}

func (d *dying) Get(ctx context.Context, key string) ([]byte, error) {
	if d.dead.Load() {
		return nil, errDied
	}
	return d.Store.Get(ctx, key)
}

func (d *dying) List(ctx context.Context, prefix, after string, fn func(string) error) error {
	if d.dead.Load() {
		return errDied
	}
	return d.Store.List(ctx, prefix, after, fn)
}

// requireChain checks that the series is seqs 1..n, each chained to the one
// before, and that no run was stored twice.
func requireChain(t *testing.T, st store.Store, series string, n int) []*evidence.Snapshot {
	t.Helper()
	var out []*evidence.Snapshot
	prev := ""
	started := map[time.Time]int64{}
	for seq := int64(1); seq <= int64(n); seq++ {
		s, b := read(t, st, store.SnapshotKey(series, seq))
		require.Equal(t, prev, s.Prev, "seq %d", seq)
		if other, dup := started[s.StartedAt]; dup {
			t.Fatalf("seq %d and %d record the same run", other, seq)
		}
		started[s.StartedAt] = seq
		prev = evidence.Digest(b)
		out = append(out, s)
	}
	_, err := st.Get(t.Context(), store.SnapshotKey(series, int64(n+1)))
	require.ErrorIs(t, err, store.ErrNotExist, "only %d snapshots", n)
	return out
}

// A process that dies at any step of a snapshot's write (before or after
// each Put lands) leaves a store that a restarted process completes: the
// snapshot journaled in the spool is written exactly once, and the store
// verifies.
func TestDeathAtEveryStepOfAWriteIsCompletedOnRestart(t *testing.T) {
	// The Puts of one write after the first: the head's marker (already
	// there), the attachment (already there), snapshot, signature, marker.
	for n := int64(1); n <= 5; n++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("put %d, after %v", n, after), func(t *testing.T) {
				env := agenttest.NewEnv(t, t0)
				c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
				job := agenttest.Job("t", "@hourly", c)
				_, err := env.Agent.Run(t.Context(), job)
				require.NoError(t, err)
				env.Clock.Advance(time.Hour)

				spoolDir := filepath.Join(env.Dir, "spool")
				st := &dying{Store: env.Store}
				a, sp := newSpooled(t, env, st, spoolDir)
				st.puts.Store(0)
				st.n, st.after = n, after
				w, err := a.Run(t.Context(), job)
				require.NoError(t, err)
				require.True(t, w[0].Spooled, "the store died under the write")
				require.NoError(t, sp.Close())
				env.Clock.Advance(time.Hour)

				// The restarted process: its spool goes first, then its own run.
				b, sp := newSpooled(t, env, env.Store, spoolDir)
				require.Equal(t, 1, sp.Backlog())
				w, err = b.Run(t.Context(), job)
				require.NoError(t, err)
				require.Equal(t, int64(3), w[0].Seq)
				require.Zero(t, sp.Backlog())
				requireChain(t, env.Store, "t/acme", 3)
				rep := requireVerified(t, env.Store)
				require.Equal(t, 3, rep.Snapshots)
			})
		}
	}
}

// Another process (no spool of ours knows of it) stopped after storing a
// snapshot: the next write signs it again with the same key and adds its
// marker before chaining after it.
func TestHeadLeftUnsignedOrUnindexedIsCompleted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int64
		problem string
	}{
		{"no signature", 3, "missing signature"},
		{"no marker", 4, "no date-index marker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := agenttest.NewEnv(t, t0)
			c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
			job := agenttest.Job("t", "@hourly", c)
			// Puts: attachment, snapshot, signature, marker.
			st := &dying{Store: env.Store}
			crashed, err := agent.New(t.Context(), agent.Options{Store: st, Signer: env.Signer, Now: env.Clock.Now})
			require.NoError(t, err)
			st.puts.Store(0)
			st.n = tc.n
			_, err = crashed.Run(t.Context(), job)
			require.ErrorIs(t, err, errDied)
			rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{})
			require.NoError(t, err)
			require.False(t, rep.OK())
			require.Contains(t, fmt.Sprint(rep.Problems), tc.problem)

			env.Clock.Advance(time.Hour)
			restarted, err := agent.New(t.Context(), agent.Options{Store: env.Store, Signer: env.Signer, Now: env.Clock.Now})
			require.NoError(t, err)
			w, err := restarted.Run(t.Context(), job)
			require.NoError(t, err)
			require.Equal(t, evidence.StatusComplete, w[0].Status)
			requireChain(t, env.Store, "t/acme", 2)
			requireVerified(t, env.Store)
		})
	}
}

// A head this agent cannot sign (it names another key) is completed as far
// as it can be, its marker, and left to its writer and to verify; bytes that
// are not a snapshot are recorded in the next snapshot's errors, which makes
// that snapshot partial: the chain explains the damage to an auditor.
func TestHeadThatCannotBeCompleted(t *testing.T) {
	t.Run("another key", func(t *testing.T) {
		env := agenttest.NewEnv(t, t0)
		c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
		job := agenttest.Job("t", "@hourly", c)
		other, err := signing.GenerateFileKey(filepath.Join(env.Dir, "other.pem"))
		require.NoError(t, err)
		st := &dying{Store: env.Store}
		crashed, err := agent.New(t.Context(), agent.Options{Store: st, Signer: other, Now: env.Clock.Now})
		require.NoError(t, err)
		st.puts.Store(0)
		st.n = 3 // dies storing the signature
		_, err = crashed.Run(t.Context(), job)
		require.ErrorIs(t, err, errDied)

		env.Clock.Advance(time.Hour)
		w, err := env.Agent.Run(t.Context(), job)
		require.NoError(t, err)
		require.Equal(t, evidence.StatusComplete, w[0].Status, "its writer may still be about to sign it")
		requireChain(t, env.Store, "t/acme", 2)
		// The marker was added; the signature stays missing, for verify.
		// (So does the other key's place in the series: two keys signed it
		// with no rotation between them, which verify reports as well.)
		rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{})
		require.NoError(t, err)
		require.Len(t, rep.Problems, 3, "%v", rep.Problems)
		require.Equal(t, store.SignatureKey(store.SnapshotKey("t/acme", 1)), rep.Problems[0].Key)
		require.Contains(t, rep.Problems[0].Message, "missing signature")
		require.Contains(t, rep.Problems[1].Message, "the series changes signing key here")
		require.Contains(t, rep.Problems[2].Message, "a key that appeared without notice")
	})
	t.Run("not a snapshot", func(t *testing.T) {
		env := agenttest.NewEnv(t, t0)
		c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
		job := agenttest.Job("t", "@hourly", c)
		cut := []byte(`{"schema":"exhibit.dev/evidence/v1","seq":1,`)
		require.NoError(t, env.Store.Put(t.Context(), store.SnapshotKey("t/acme", 1), cut))
		w, err := env.Agent.Run(t.Context(), job)
		require.NoError(t, err)
		require.Equal(t, evidence.StatusPartial, w[0].Status)
		require.Len(t, w[0].Errors, 1)
		require.Contains(t, w[0].Errors[0].Message, "the stored bytes are not a whole snapshot")
		s, _ := read(t, env.Store, store.SnapshotKey("t/acme", 2))
		require.Equal(t, evidence.Digest(cut), s.Prev, "the chain goes on from the bytes stored")
		require.True(t, strings.HasPrefix(s.Errors[0].Message, "the stored bytes"))
	})
}

// A crash while a spool entry was being written leaves its temporary file;
// the next open removes it and loads only whole entries.
func TestSpoolRemovesHalfWrittenEntries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	tmp := filepath.Join(dir, "t", "acme", ".01JZZZZZZZZZZZZZZZZZZZZZZZ.json.tmp")
	require.NoError(t, os.MkdirAll(filepath.Dir(tmp), 0o700))
	require.NoError(t, os.WriteFile(tmp, []byte(`{"snapshot":`), 0o600))
	sp, err := agent.OpenSpool(dir)
	require.NoError(t, err)
	defer sp.Close()
	require.Zero(t, sp.Backlog())
	_, err = os.Stat(tmp)
	require.ErrorIs(t, err, os.ErrNotExist)
}
