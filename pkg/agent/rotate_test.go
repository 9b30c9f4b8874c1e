package agent_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/timestamp"
	"github.com/exhibit-dev/exhibit/pkg/timestamp/tsatest"
)

func TestRotateAnnouncesTheNewKeyWithTheOld(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	next, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "next.pem"))
	require.NoError(t, err)
	oldPub, err := env.Signer.PublicKey(t.Context())
	require.NoError(t, err)
	oldID, _ := signing.KeyID(oldPub)
	nextPub, err := next.PublicKey(t.Context())
	require.NoError(t, err)
	nextID, _ := signing.KeyID(nextPub)

	r, err := agent.Rotate(t.Context(), env.Store, env.Signer, next, nil, "yearly rotation", t0)
	require.NoError(t, err)
	require.Equal(t, oldID, r.From)
	require.Equal(t, nextID, r.To)

	b, err := env.Store.Get(t.Context(), store.RotationKey(nextID))
	require.NoError(t, err)
	got, err := evidence.ParseRotation(b)
	require.NoError(t, err)
	require.Equal(t, "yearly rotation", got.Reason)
	raw, err := env.Store.Get(t.Context(), store.SignatureKey(store.RotationKey(nextID)))
	require.NoError(t, err)
	der, err := signing.DecodeSignature(raw)
	require.NoError(t, err)
	require.NoError(t, signing.Verify(oldPub, b, der), "the statement is signed by the previous key")
	require.Error(t, signing.Verify(nextPub, b, der))
	_, err = env.Store.Get(t.Context(), store.PublicKeyKey(nextID))
	require.NoError(t, err, "the new key is published")

	// Again: nothing changes, nothing fails.
	_, err = agent.Rotate(t.Context(), env.Store, env.Signer, next, nil, "yearly rotation", t0)
	require.NoError(t, err)

	// A key the store does not publish vouches for nothing.
	stranger, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "stranger.pem"))
	require.NoError(t, err)
	other, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "other.pem"))
	require.NoError(t, err)
	_, err = agent.Rotate(t.Context(), env.Store, stranger, other, nil, "", t0)
	require.ErrorContains(t, err, "is not published")
	_, err = agent.Rotate(t.Context(), env.Store, env.Signer, env.Signer, nil, "", t0)
	require.ErrorContains(t, err, "is the key in use")
}

// An interrupted rotation (statement stored, no signature, key not yet
// published) is completed by the next attempt.
func TestRotateCompletesAnInterruptedRotation(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	next, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "next.pem"))
	require.NoError(t, err)
	oldPub, _ := env.Signer.PublicKey(t.Context())
	oldID, _ := signing.KeyID(oldPub)
	nextPub, _ := next.PublicKey(t.Context())
	nextID, _ := signing.KeyID(nextPub)
	b, err := evidence.EncodeRotation(&evidence.Rotation{From: oldID, To: nextID, At: t0})
	require.NoError(t, err)
	require.NoError(t, env.Store.Put(t.Context(), store.RotationKey(nextID), b))

	_, err = agent.Rotate(t.Context(), env.Store, env.Signer, next, nil, "a different reason", t0.Add(1))
	require.NoError(t, err)
	raw, err := env.Store.Get(t.Context(), store.SignatureKey(store.RotationKey(nextID)))
	require.NoError(t, err)
	der, _ := signing.DecodeSignature(raw)
	require.NoError(t, signing.Verify(oldPub, b, der), "the statement first stored is the one signed")
	_, err = env.Store.Get(t.Context(), store.PublicKeyKey(nextID))
	require.NoError(t, err)
}

// With a TSA the statement is time-stamped: when the key changed rests on
// the TSA's clock, not on the statement's word.
func TestRotateTimestampsTheStatement(t *testing.T) {
	tsa := tsatest.Start(t)
	env := agenttest.NewEnv(t, time.Now())
	next, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "next.pem"))
	require.NoError(t, err)
	r, err := agent.Rotate(t.Context(), env.Store, env.Signer, next, &timestamp.Client{URL: tsa.URL}, "", time.Now())
	require.NoError(t, err)
	key := store.RotationKey(r.To)
	b, err := env.Store.Get(t.Context(), key)
	require.NoError(t, err)
	tok, err := env.Store.Get(t.Context(), store.TokenKey(key))
	require.NoError(t, err)
	roots, err := os.ReadFile(tsa.RootsFile)
	require.NoError(t, err)
	pool, err := timestamp.ParseCertificates(roots)
	require.NoError(t, err)
	_, err = timestamp.Verify(tok, b, pool)
	require.NoError(t, err)

	// A TSA that does not answer leaves the rotation to be run again.
	tsa.Down()
	third, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "third.pem"))
	require.NoError(t, err)
	_, err = agent.Rotate(t.Context(), env.Store, next, third, &timestamp.Client{URL: tsa.URL}, "", time.Now())
	require.ErrorContains(t, err, "run the rotation again once the TSA answers")
}
