package agent_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/signing"
)

// signerOutage is a real signer that refuses while down, as a KMS key does
// when KMS cannot be reached or the key is disabled for a while.
type signerOutage struct {
	signing.Signer
	down atomic.Bool
}

var errKMS = errors.New("operation error KMS: Sign, https response error StatusCode: 503, KMSInternalException")

func (s *signerOutage) Sign(ctx context.Context, b []byte) ([]byte, error) {
	if s.down.Load() {
		return nil, errKMS
	}
	return s.Signer.Sign(ctx, b)
}

// TestSignerOutageLosesNoRun: while the signer refuses, each run's
// snapshot waits in the spool unsigned and the run reports the cause; once
// the signer answers again they are signed, chained in order and stored,
// and the store verifies.
func TestSignerOutageLosesNoRun(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	sig := &signerOutage{Signer: env.Signer}
	sp, err := agent.OpenSpool(filepath.Join(env.Dir, "spool"))
	require.NoError(t, err)
	t.Cleanup(func() { sp.Close() })
	a, err := agent.New(t.Context(), agent.Options{Store: env.Store, Signer: sig, Spool: sp, Now: env.Clock.Now})
	require.NoError(t, err)
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
	job := agenttest.Job("t", "@hourly", c)

	// A first run stores, so the series' head is known when the signer
	// fails: the case where the spool used to sign again, and lose the
	// snapshot when that failed too.
	_, err = a.Run(t.Context(), job)
	require.NoError(t, err)
	sig.down.Store(true)
	for i := range 3 {
		env.Clock.Advance(time.Hour)
		w, err := a.Run(t.Context(), job)
		require.Error(t, err, "run %d", i)
		require.ErrorContains(t, err, "KMSInternalException")
		require.ErrorContains(t, err, "waits in the spool")
		require.Len(t, w, 0)
		require.Equal(t, i+1, a.Backlog())
	}
	sig.down.Store(false)
	left, err := a.FlushSpool(t.Context())
	require.NoError(t, err)
	require.Zero(t, left)
	rep := requireVerified(t, env.Store)
	require.Equal(t, 4, rep.Snapshots)
}
