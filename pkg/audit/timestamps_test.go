package audit_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/timestamp"
	"github.com/exhibit-dev/exhibit/pkg/timestamp/tsatest"
)

// stamped is an agent that gets a token from a real TSA (OpenSSL's) for
// every snapshot, with its clock at the real time: the TSA's clock is the
// machine's.
func stamped(t *testing.T) (*agenttest.Env, *tsatest.TSA, audit.VerifyOptions) {
	t.Helper()
	tsa := tsatest.Start(t)
	env := agenttest.NewEnvWith(t, time.Now(), func(o *agent.Options) {
		o.Timestamper = &timestamp.Client{URL: tsa.URL}
	})
	b, err := os.ReadFile(tsa.RootsFile)
	require.NoError(t, err)
	pool, err := timestamp.ParseCertificates(b)
	require.NoError(t, err)
	return env, tsa, audit.VerifyOptions{TSACerts: pool}
}

func runOnce(t *testing.T, env *agenttest.Env) {
	t.Helper()
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
	_, err := env.Agent.Run(t.Context(), agenttest.Job("t", "", c))
	require.NoError(t, err)
	env.Clock.Advance(time.Second)
}

func verifyOpts(t *testing.T, env *agenttest.Env, opts audit.VerifyOptions) *audit.VerifyReport {
	t.Helper()
	rep, err := audit.Verify(t.Context(), env.Store, opts)
	require.NoError(t, err)
	return rep
}

func TestTimestampTokens(t *testing.T) {
	k := func(seq int64) string { return store.SnapshotKey(series, seq) }

	t.Run("every snapshot is time-stamped", func(t *testing.T) {
		env, _, opts := stamped(t)
		runOnce(t, env)
		runOnce(t, env)
		_, err := env.Store.Get(t.Context(), store.TokenKey(k(2)))
		require.NoError(t, err)
		// The agent's checkpoint is time-stamped too.
		cp, err := env.Agent.WriteCheckpoint(t.Context())
		require.NoError(t, err)
		_, err = env.Store.Get(t.Context(), store.TokenKey(cp))
		require.NoError(t, err)
		rep := verifyOpts(t, env, opts)
		require.True(t, rep.OK(), "%v", rep.Problems)
		// Without the TSA's certificates nothing is claimed of the tokens.
		requireNote(t, verifyOpts(t, env, audit.VerifyOptions{}), store.EvidencePrefix, "3 snapshot(s) or other object(s) carry an RFC 3161 time-stamp token that was not checked")
		// A checkpoint's token that is not over its bytes is a problem.
		other, err := env.Store.Get(t.Context(), store.TokenKey(k(1)))
		require.NoError(t, err)
		overwrite(t, path(env, store.TokenKey(cp)), other)
		requireProblem(t, verifyOpts(t, env, opts), store.TokenKey(cp), "not over these bytes")
	})

	for _, back := range []time.Duration{time.Hour, 48 * time.Hour} {
		t.Run("backdated by "+back.String(), func(t *testing.T) {
			// The insider rewrites the newest snapshot as if it ran earlier,
			// re-signs it and gets it a new token: the TSA dates it now.
			env, tsa, opts := stamped(t)
			runOnce(t, env)
			runOnce(t, env)
			resign(t, env, k(2), func(s *evidence.Snapshot) {
				s.StartedAt, s.FinishedAt = s.StartedAt.Add(-back), s.FinishedAt.Add(-back)
			})
			b, err := os.ReadFile(path(env, k(2)))
			require.NoError(t, err)
			tok, err := (&timestamp.Client{URL: tsa.URL}).Stamp(t.Context(), b)
			require.NoError(t, err)
			overwrite(t, path(env, store.TokenKey(k(2))), tok)
			requireProblem(t, verifyOpts(t, env, opts), store.TokenKey(k(2)), "after the finished_at it claims")
		})
	}

	t.Run("an edited snapshot keeps its old token", func(t *testing.T) {
		env, _, opts := stamped(t)
		runOnce(t, env)
		resign(t, env, k(1), func(s *evidence.Snapshot) { s.Findings[0].Reason = "edited" })
		requireProblem(t, verifyOpts(t, env, opts), store.TokenKey(k(1)), "not over these bytes")
	})

	t.Run("another TSA", func(t *testing.T) {
		env, _, _ := stamped(t)
		runOnce(t, env)
		_, _, other := stamped(t)
		requireProblem(t, verifyOpts(t, env, other), store.TokenKey(k(1)), "does not verify")
	})

	t.Run("a TSA outage loses no evidence", func(t *testing.T) {
		env, tsa, opts := stamped(t)
		runOnce(t, env)
		tsa.Down()
		runOnce(t, env)
		_, err := env.Store.Get(t.Context(), k(2))
		require.NoError(t, err, "the snapshot is written without its token")
		_, err = env.Store.Get(t.Context(), store.TokenKey(k(2)))
		require.ErrorIs(t, err, store.ErrNotExist)
		requireProblem(t, verifyOpts(t, env, opts), store.TokenKey(k(2)), "missing: earlier snapshots of the series carry a time-stamp token")

		// The TSA answers again: the pending token is attached.
		tsa.Up()
		env.Agent.AttachPendingTokens(t.Context())
		_, err = env.Store.Get(t.Context(), store.TokenKey(k(2)))
		require.NoError(t, err)
		rep := verifyOpts(t, env, opts)
		require.True(t, rep.OK(), "%v", rep.Problems)
	})

	t.Run("a token pending when the agent stopped", func(t *testing.T) {
		env, tsa, opts := stamped(t)
		runOnce(t, env)
		tsa.Down()
		runOnce(t, env)
		tsa.Up()
		// A new process knows nothing of what was pending: its first write
		// to the series attaches the predecessor's token.
		restarted := agenttest.NewEnvOn(t, env, env.Clock.Now())
		restarted.Agent = withTimestamper(t, env, tsa)
		runOnce(t, restarted)
		for seq := int64(1); seq <= 3; seq++ {
			_, err := env.Store.Get(t.Context(), store.TokenKey(k(seq)))
			require.NoError(t, err, "seq %d", seq)
		}
		rep := verifyOpts(t, env, opts)
		require.True(t, rep.OK(), "%v", rep.Problems)
	})
}

func withTimestamper(t *testing.T, env *agenttest.Env, tsa *tsatest.TSA) *agent.Agent {
	t.Helper()
	a, err := agent.New(t.Context(), agent.Options{Store: env.Store, Signer: env.Signer, Now: env.Clock.Now,
		Timestamper: &timestamp.Client{URL: tsa.URL}})
	require.NoError(t, err)
	return a
}
