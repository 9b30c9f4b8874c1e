package audit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

func verifyWith(t *testing.T, env *agenttest.Env, kept ...*evidence.Checkpoint) *audit.VerifyReport {
	t.Helper()
	opts := audit.VerifyOptions{}
	for i, cp := range kept {
		opts.Checkpoints = append(opts.Checkpoints, audit.KeptCheckpoint{Name: "kept-" + string(rune('a'+i)) + ".json", Checkpoint: cp})
	}
	rep, err := audit.Verify(t.Context(), env.Store, opts)
	require.NoError(t, err)
	return rep
}

// remove deletes stored objects as an insider with write access to the
// directory can.
func remove(t *testing.T, env *agenttest.Env, keys ...string) {
	t.Helper()
	for _, k := range keys {
		require.NoError(t, os.Remove(path(env, k)), k)
	}
}

func indexMarkers(t *testing.T, env *agenttest.Env, series string, seqs ...int64) []string {
	t.Helper()
	var out []string
	require.NoError(t, env.Store.List(t.Context(), store.IndexPrefix, "", func(k string) error {
		if _, s, seq, ok := store.ParseIndexKey(k); ok && s == series && (len(seqs) == 0 || containsSeq(seqs, seq)) {
			out = append(out, k)
		}
		return nil
	}))
	return out
}

func containsSeq(seqs []int64, seq int64) bool {
	for _, s := range seqs {
		if s == seq {
			return true
		}
	}
	return false
}

// resign replaces a snapshot with an edited one, signed with the agent's
// own key: what an insider holding the key can do.
func resign(t *testing.T, env *agenttest.Env, key string, edit func(*evidence.Snapshot)) {
	t.Helper()
	b, err := os.ReadFile(path(env, key))
	require.NoError(t, err)
	snap, err := evidence.Parse(b)
	require.NoError(t, err)
	edit(snap)
	nb, err := evidence.Encode(snap)
	require.NoError(t, err)
	sig, err := env.Signer.Sign(t.Context(), nb)
	require.NoError(t, err)
	overwrite(t, path(env, key), nb)
	overwrite(t, path(env, store.SignatureKey(key)), signing.EncodeSignature(sig))
}

// Truncation and rewritten history pass the chain walk: the chain that is
// left is intact. A checkpoint an auditor kept shows every one.
func TestCheckpointDetectsTruncationAndRewrites(t *testing.T) {
	k5 := store.SnapshotKey(series, 5)
	cases := []struct {
		name, key, what string
		insider         func(t *testing.T, env *agenttest.Env)
	}{
		{"newest snapshot deleted with its marker", k5, "cut short: checkpoint kept-a.json", func(t *testing.T, env *agenttest.Env) {
			remove(t, env, append([]string{k5, store.SignatureKey(k5)}, indexMarkers(t, env, series, 5)...)...)
		}},
		{"series deleted with its index", store.SeriesPrefix(series), "deleted: checkpoint kept-a.json", func(t *testing.T, env *agenttest.Env) {
			require.NoError(t, os.RemoveAll(filepath.Join(env.Store.Root(), "evidence", "t", "111122223333")))
			remove(t, env, indexMarkers(t, env, series)...)
		}},
		{"newest snapshot edited and re-signed", k5, "rewritten: checkpoint kept-a.json", func(t *testing.T, env *agenttest.Env) {
			resign(t, env, k5, func(s *evidence.Snapshot) { s.Findings[0].Status, s.Findings[0].Reason = evidence.Pass, "all good" })
		}},
		{"re-chained from seq 1", k5, "cut short", func(t *testing.T, env *agenttest.Env) {
			require.NoError(t, os.RemoveAll(filepath.Join(env.Store.Root(), "evidence", "t", "111122223333")))
			remove(t, env, indexMarkers(t, env, series)...)
			// A fresh agent with the same key writes a new, shorter history.
			fresh := agenttest.NewEnvOn(t, env, t0)
			c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
			fresh.Fill(t, agenttest.Job("t", "@daily", c), 2, 24*time.Hour)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := populated(t)
			cp, err := audit.TakeCheckpoint(t.Context(), env.Store, time.Now())
			require.NoError(t, err)
			require.Len(t, cp.Heads, 2)
			require.True(t, verify(t, env).OK(), "the store is sound when the checkpoint is taken")

			tc.insider(t, env)
			require.True(t, verify(t, env).OK(), "without the checkpoint the insider goes unseen: %v", verify(t, env).Problems)
			rep := verifyWith(t, env, cp)
			requireProblem(t, rep, tc.key, tc.what)
		})
	}

	t.Run("the store grows honestly", func(t *testing.T) {
		env := populated(t)
		cp, err := audit.TakeCheckpoint(t.Context(), env.Store, time.Now())
		require.NoError(t, err)
		c := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: agenttest.Passing}
		env.Fill(t, agenttest.Job("t", "@daily", c), 2, 24*time.Hour)
		rep := verifyWith(t, env, cp)
		require.True(t, rep.OK(), "%v", rep.Problems)
	})

	t.Run("checkpoints that disagree", func(t *testing.T) {
		env := populated(t)
		cp, err := audit.TakeCheckpoint(t.Context(), env.Store, time.Now())
		require.NoError(t, err)
		other := *cp
		other.Heads = append([]evidence.Head(nil), cp.Heads...)
		other.Heads[0].SHA256 = strings.Repeat("0", 64)
		rep := verifyWith(t, env, cp, &other)
		requireProblem(t, rep, store.SnapshotKey(other.Heads[0].Series, other.Heads[0].Seq), "two checkpoints pin different snapshots")
	})
}

// The agent's own checkpoints, signed and in the store, catch the same
// truncation without a kept copy, as long as the insider leaves them there
// (on S3 with Object Lock, deleting them leaves delete markers verify sees).
func TestStoredCheckpoints(t *testing.T) {
	env := populated(t)
	key, err := env.Agent.WriteCheckpoint(t.Context())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(key, store.CheckpointPrefix), key)
	again, err := env.Agent.WriteCheckpoint(t.Context())
	require.NoError(t, err)
	require.Empty(t, again, "nothing new since the last checkpoint: none is written")
	require.True(t, verify(t, env).OK(), "%v", verify(t, env).Problems)

	k5 := store.SnapshotKey(series, 5)
	remove(t, env, append([]string{k5, store.SignatureKey(k5)}, indexMarkers(t, env, series, 5)...)...)
	requireProblem(t, verify(t, env), k5, "cut short: stored checkpoint "+key)

	// A checkpoint that is not the agent's signed one is not relied on.
	overwrite(t, path(env, store.SignatureKey(key)), []byte("AAAA"))
	requireProblem(t, verify(t, env), store.SignatureKey(key), "signature")
	require.NoError(t, os.WriteFile(path(env, store.CheckpointPrefix+"stray.txt"), []byte("x"), 0o644))
	requireProblem(t, verify(t, env), store.CheckpointPrefix+"stray.txt", "unexpected object among checkpoints")
}

func TestCheckpointEncoding(t *testing.T) {
	cp := &evidence.Checkpoint{
		ID: "01JABCDEFGHJKMNPQRSTVWXYZ0", TakenAt: t0, TakenBy: evidence.TakenByReader, Store: "file:///e",
		Heads: []evidence.Head{
			{Series: "b/2", Seq: 3, SHA256: strings.Repeat("b", 64)},
			{Series: "a/1", Seq: 9, SHA256: strings.Repeat("a", 64), FinishedAt: t0},
		},
	}
	b, err := evidence.EncodeCheckpoint(cp)
	require.NoError(t, err)
	got, err := evidence.ParseCheckpoint(b)
	require.NoError(t, err)
	require.Equal(t, "a/1", got.Heads[0].Series, "heads are sorted by series")

	for name, bad := range map[string]string{
		"not canonical": strings.Replace(string(b), `{"heads"`, `{ "heads"`, 1),
		"unknown field": strings.Replace(string(b), `"id"`, `"extra":1,"id"`, 1),
		"bad digest":    strings.Replace(string(b), strings.Repeat("a", 64), "zz", 1),
		"bad taker":     strings.Replace(string(b), `"taken_by":"reader"`, `"taken_by":"someone"`, 1),
		"agent no key":  strings.Replace(string(b), `"taken_by":"reader"`, `"taken_by":"agent"`, 1),
	} {
		_, err := evidence.ParseCheckpoint([]byte(bad))
		require.Error(t, err, name)
	}
}
