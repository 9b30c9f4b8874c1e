package agent_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
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

	r, err := agent.Rotate(t.Context(), env.Store, env.Signer, next, "yearly rotation", t0)
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
	_, err = agent.Rotate(t.Context(), env.Store, env.Signer, next, "yearly rotation", t0)
	require.NoError(t, err)

	// A key the store does not publish vouches for nothing.
	stranger, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "stranger.pem"))
	require.NoError(t, err)
	other, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "other.pem"))
	require.NoError(t, err)
	_, err = agent.Rotate(t.Context(), env.Store, stranger, other, "", t0)
	require.ErrorContains(t, err, "is not published")
	_, err = agent.Rotate(t.Context(), env.Store, env.Signer, env.Signer, "", t0)
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

	_, err = agent.Rotate(t.Context(), env.Store, env.Signer, next, "a different reason", t0.Add(1))
	require.NoError(t, err)
	raw, err := env.Store.Get(t.Context(), store.SignatureKey(store.RotationKey(nextID)))
	require.NoError(t, err)
	der, _ := signing.DecodeSignature(raw)
	require.NoError(t, signing.Verify(oldPub, b, der), "the statement first stored is the one signed")
	_, err = env.Store.Get(t.Context(), store.PublicKeyKey(nextID))
	require.NoError(t, err)
}
