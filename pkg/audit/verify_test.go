package audit_test

import (
	"context"
	"crypto/ecdsa"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const series = "t/111122223333"

// populated returns a store with two series of five daily snapshots each.
func populated(t *testing.T) *agenttest.Env {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: agenttest.Passing}
	env.Fill(t, agenttest.Job("t", "@daily", c), 5, 24*time.Hour)
	return env
}

func path(env *agenttest.Env, key string) string {
	return filepath.Join(env.Store.Root(), filepath.FromSlash(key))
}

func overwrite(t *testing.T, p string, b []byte) {
	t.Helper()
	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

func verify(t *testing.T, env *agenttest.Env, trusted ...*ecdsa.PublicKey) *audit.VerifyReport {
	t.Helper()
	var streamed []audit.Problem
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{TrustedKeys: trusted, OnProblem: func(p audit.Problem) { streamed = append(streamed, p) }})
	require.NoError(t, err)
	require.ElementsMatch(t, rep.Problems, streamed, "every problem is streamed as found")
	return rep
}

// requireProblem asserts some problem names key and says what.
func requireProblem(t *testing.T, rep *audit.VerifyReport, key, what string) {
	t.Helper()
	for _, p := range rep.Problems {
		if p.Key == key && strings.Contains(p.Message, what) {
			return
		}
	}
	t.Fatalf("no problem on %s saying %q; got %v", key, what, rep.Problems)
}

func TestCleanStoreVerifies(t *testing.T) {
	env := populated(t)
	rep := verify(t, env)
	require.True(t, rep.OK(), "%v", rep.Problems)
	require.Equal(t, 10, rep.Snapshots)
	require.Equal(t, 2, rep.Series)
	require.Equal(t, 1, rep.Keys)
}

func TestTamperIsDetected(t *testing.T) {
	k3 := store.SnapshotKey(series, 3)
	cases := []struct {
		name   string
		tamper func(t *testing.T, env *agenttest.Env)
		key    string
		what   string
	}{
		{"flipped byte", func(t *testing.T, env *agenttest.Env) {
			b, err := os.ReadFile(path(env, k3))
			require.NoError(t, err)
			i := strings.Index(string(b), `"status":"pass"`) + len(`"status":"`)
			b[i] = 'P'
			overwrite(t, path(env, k3), b)
		}, store.SignatureKey(k3), "does not verify"},
		{"flipped byte that breaks the JSON", func(t *testing.T, env *agenttest.Env) {
			b, err := os.ReadFile(path(env, k3))
			require.NoError(t, err)
			b[0] = '['
			overwrite(t, path(env, k3), b)
		}, k3, "altered or corrupt"},
		{"snapshot deleted from the middle", func(t *testing.T, env *agenttest.Env) {
			require.NoError(t, os.Remove(path(env, k3)))
			require.NoError(t, os.Remove(path(env, store.SignatureKey(k3))))
		}, k3, "missing: seq 3 of 5"},
		{"last snapshot deleted", func(t *testing.T, env *agenttest.Env) {
			k5 := store.SnapshotKey(series, 5)
			require.NoError(t, os.Remove(path(env, k5)))
			require.NoError(t, os.Remove(path(env, store.SignatureKey(k5))))
		}, store.SnapshotKey(series, 5), "the date index lists it"},
		{"signatures swapped", func(t *testing.T, env *agenttest.Env) {
			k2 := store.SnapshotKey(series, 2)
			s2, err := os.ReadFile(path(env, store.SignatureKey(k2)))
			require.NoError(t, err)
			s3, err := os.ReadFile(path(env, store.SignatureKey(k3)))
			require.NoError(t, err)
			overwrite(t, path(env, store.SignatureKey(k2)), s3)
			overwrite(t, path(env, store.SignatureKey(k3)), s2)
		}, store.SignatureKey(k3), "does not verify"},
		{"published key replaced", func(t *testing.T, env *agenttest.Env) {
			other, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "other.pem"))
			require.NoError(t, err)
			pub, err := other.PublicKey(t.Context())
			require.NoError(t, err)
			pemBytes, err := signing.MarshalPublicKey(pub)
			require.NoError(t, err)
			overwrite(t, path(env, store.PublicKeyKey(env.Agent.KeyID())), pemBytes)
		}, store.PublicKeyKey(""), "the key was replaced"},
		{"snapshot replayed into another slot", func(t *testing.T, env *agenttest.Env) {
			k1 := store.SnapshotKey(series, 1)
			for _, k := range []string{k1, store.SignatureKey(k1)} {
				b, err := os.ReadFile(path(env, k))
				require.NoError(t, err)
				overwrite(t, path(env, strings.Replace(k, "000000000001", "000000000003", 1)), b)
			}
		}, k3, "stored under the wrong name"},
		{"chain relinked after replacement", func(t *testing.T, env *agenttest.Env) {
			// A re-signed, different snapshot 3 breaks the link from 4.
			s, err := evidence.Parse(mustRead(t, path(env, k3)))
			require.NoError(t, err)
			s.Findings[0].Status = evidence.Fail
			b, err := evidence.Encode(s)
			require.NoError(t, err)
			sig, err := env.Signer.Sign(t.Context(), b)
			require.NoError(t, err)
			overwrite(t, path(env, k3), b)
			overwrite(t, path(env, store.SignatureKey(k3)), signing.EncodeSignature(sig))
		}, store.SnapshotKey(series, 4), "chain broken"},
		{"attachment altered", func(t *testing.T, env *agenttest.Env) {
			d := evidence.Digest([]byte("raw 111122223333"))
			overwrite(t, path(env, store.AttachmentKey(d)), []byte("raw 999"))
		}, store.AttachmentKey(evidence.Digest([]byte("raw 111122223333"))), "altered"},
		{"index marker deleted", func(t *testing.T, env *agenttest.Env) {
			var marker string
			require.NoError(t, env.Store.List(t.Context(), store.IndexPrefix, "", func(k string) error {
				if _, name, seq, _ := store.ParseIndexKey(k); name == series && seq == 3 {
					marker = k
				}
				return nil
			}))
			require.NoError(t, os.Remove(path(env, marker)))
		}, k3, "no date-index marker"},
		{"signature deleted", func(t *testing.T, env *agenttest.Env) {
			require.NoError(t, os.Remove(path(env, store.SignatureKey(k3))))
		}, store.SignatureKey(k3), "missing signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := populated(t)
			tc.tamper(t, env)
			rep := verify(t, env)
			require.False(t, rep.OK())
			key := tc.key
			if key == store.PublicKeyKey("") {
				key = store.PublicKeyKey(env.Agent.KeyID())
			}
			requireProblem(t, rep, key, tc.what)
			if tc.name == "published key replaced" {
				// Every snapshot signed by that key is now unproven.
				requireProblem(t, rep, store.SnapshotKey("t/444455556666", 1), "not among the published keys")
				return
			}
			// The other series is untouched and raises nothing.
			for _, p := range rep.Problems {
				require.NotContains(t, p.Key, "444455556666", "only the tampered series is named: %v", p)
			}
		})
	}
}

func TestTrustedKeyPinsTheSigner(t *testing.T) {
	env := populated(t)
	pub, err := env.Signer.PublicKey(t.Context())
	require.NoError(t, err)
	require.True(t, verify(t, env, pub).OK())

	other, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "other.pem"))
	require.NoError(t, err)
	otherPub, err := other.PublicKey(t.Context())
	require.NoError(t, err)
	rep := verify(t, env, otherPub)
	require.False(t, rep.OK())
	requireProblem(t, rep, store.SnapshotKey(series, 1), "not among the trusted keys")
}

func TestPeriodLimitsWhatIsChecked(t *testing.T) {
	env := populated(t)
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: t0.Add(24 * time.Hour), To: t0.Add(72 * time.Hour)})
	require.NoError(t, err)
	require.True(t, rep.OK())
	require.Equal(t, 4, rep.Snapshots, "two days of two series")
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func TestEmptyStoreOrPeriodIsAProblem(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	rep := verify(t, env)
	requireProblem(t, rep, store.EvidencePrefix, "holds no evidence")

	env = populated(t)
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: t0.AddDate(1, 0, 0), To: t0.AddDate(1, 1, 0)})
	require.NoError(t, err)
	requireProblem(t, rep, store.EvidencePrefix, "no snapshot started in the period")
}

// gets counts the reads of each key.
type gets struct {
	store.Store
	mu sync.Mutex
	n  map[string]int
}

func (g *gets) Get(ctx context.Context, key string) ([]byte, error) {
	g.mu.Lock()
	g.n[key]++
	g.mu.Unlock()
	return g.Store.Get(ctx, key)
}

// An attachment named by every run of a series is read once, and still
// judged for every snapshot that names it.
func TestAnAttachmentIsReadOnce(t *testing.T) {
	env := populated(t)
	att := store.AttachmentKey(evidence.Digest([]byte("raw 111122223333")))
	overwrite(t, path(env, att), []byte("raw 999"))
	st := &gets{Store: env.Store, n: map[string]int{}}
	rep, err := audit.Verify(t.Context(), st, audit.VerifyOptions{})
	require.NoError(t, err)

	require.Equal(t, 1, st.n[att])
	altered := 0
	for _, p := range rep.Problems {
		if p.Key == att && strings.Contains(p.Message, "altered") {
			altered++
		}
	}
	require.Equal(t, 5, altered, "one problem for each of the five snapshots naming it: %v", rep.Problems)
	for key, n := range st.n {
		require.Equal(t, 1, n, "%s read %d times", key, n)
	}
}
