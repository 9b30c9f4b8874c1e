package audit_test

import (
	"crypto/ecdsa"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// continued returns a store whose series t/111122223333 was written for
// three days with one key, then for two more with a second key, as an
// agent restarted with a new key writes it; rotate says whether the old key
// announced the new one first.
func continued(t *testing.T, rotate bool) (env *agenttest.Env, old, next *ecdsa.PublicKey, nextID string) {
	t.Helper()
	env = agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
	env.Fill(t, agenttest.Job("t", "@daily", c), 3, 24*time.Hour)
	key, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "next.pem"))
	require.NoError(t, err)
	if rotate {
		_, err := agent.Rotate(t.Context(), env.Store, env.Signer, key, nil, "yearly rotation", t0.AddDate(0, 0, 3))
		require.NoError(t, err)
	}
	later := agenttest.NewEnvWithKey(t, env, key, t0.AddDate(0, 0, 3))
	later.Fill(t, agenttest.Job("t", "@daily", c), 2, 24*time.Hour)
	old, err = env.Signer.PublicKey(t.Context())
	require.NoError(t, err)
	next, err = key.PublicKey(t.Context())
	require.NoError(t, err)
	nextID, err = signing.KeyID(next)
	require.NoError(t, err)
	return env, old, next, nextID
}

func TestKeyContinuity(t *testing.T) {
	k4 := store.SnapshotKey(series, 4)

	t.Run("a new key without notice", func(t *testing.T) {
		env, _, _, nextID := continued(t, false)
		rep := verify(t, env)
		requireProblem(t, rep, k4, "the series changes signing key here")
		requireProblem(t, rep, store.PublicKeyKey(nextID), "a key that appeared without notice")
	})

	t.Run("a rotation announced by the old key", func(t *testing.T) {
		env, old, _, nextID := continued(t, true)
		rep := verify(t, env)
		require.True(t, rep.OK(), "%v", rep.Problems)
		requireNote(t, rep, store.PublicKeyKey(nextID), "signed t/111122223333 seqs 4–5")

		// An auditor who pinned the old key trusts the one it announced.
		rep = verify(t, env, old)
		require.True(t, rep.OK(), "%v", rep.Problems)
		requireNote(t, rep, store.PublicKeyKey(nextID), "trusted: announced on 2026-03-04T00:00:00Z by key")
	})

	t.Run("a rotation signed by the new key itself", func(t *testing.T) {
		env, _, _, nextID := continued(t, true)
		// The insider signs the statement with a key of their own.
		b, err := env.Store.Get(t.Context(), store.RotationKey(nextID))
		require.NoError(t, err)
		r, err := evidence.ParseRotation(b)
		require.NoError(t, err)
		impostor, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "impostor.pem"))
		require.NoError(t, err)
		sig, err := impostor.Sign(t.Context(), b)
		require.NoError(t, err)
		overwrite(t, path(env, store.SignatureKey(store.RotationKey(r.To))), signing.EncodeSignature(sig))
		rep := verify(t, env)
		requireProblem(t, rep, store.SignatureKey(store.RotationKey(nextID)), "not signed by the key it rotates from")
		requireProblem(t, rep, k4, "the series changes signing key here")
	})

	t.Run("a pinned key does not trust what it never announced", func(t *testing.T) {
		env, old, _, _ := continued(t, false)
		requireProblem(t, verify(t, env, old), k4, "which is not among the trusted keys")
	})
}
