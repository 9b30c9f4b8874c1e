package agent_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func read(t *testing.T, st store.Store, key string) (*evidence.Snapshot, []byte) {
	t.Helper()
	b, err := st.Get(t.Context(), key)
	require.NoError(t, err)
	s, err := evidence.Parse(b)
	require.NoError(t, err)
	return s, b
}

func TestChainsSignsAndFillsControls(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: agenttest.Passing}
	written := env.Fill(t, agenttest.Job("t", "@daily", c), 3, 24*time.Hour)
	require.Len(t, written, 6)

	pub, err := env.Signer.PublicKey(t.Context())
	require.NoError(t, err)
	for _, acct := range c.Accounts {
		series := evidence.SeriesName("t", acct)
		prev := ""
		for seq := int64(1); seq <= 3; seq++ {
			key := store.SnapshotKey(series, seq)
			s, b := read(t, env.Store, key)
			require.Equal(t, seq, s.Seq)
			require.Equal(t, prev, s.Prev)
			require.Equal(t, evidence.StatusComplete, s.Status)
			require.Equal(t, []string{"hipaa:164.312(a)(1)", "soc2:CC6.1"}, s.Findings[0].Controls)
			require.Equal(t, []string{"hipaa:164.312(a)(1)", "soc2:CC6.1"}, s.Controls)
			require.Equal(t, "@daily", s.Schedule)
			require.Len(t, s.Attachments, 1)
			sigB64, err := env.Store.Get(t.Context(), store.SignatureKey(key))
			require.NoError(t, err)
			sig, err := signing.DecodeSignature(sigB64)
			require.NoError(t, err)
			require.NoError(t, signing.Verify(pub, b, sig))
			prev = evidence.Digest(b)
		}
	}
}

func TestWindowsAreContiguous(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	var seen []collector.Request
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(req collector.Request) (*collector.Result, error) {
		seen = append(seen, req)
		return agenttest.Passing(req)
	}}
	env.Fill(t, agenttest.Job("prs", "@hourly", c), 3, time.Hour)
	require.True(t, seen[0].Since.IsZero(), "the first run has no previous window")
	require.Equal(t, seen[0].Now, seen[1].Since)
	require.Equal(t, seen[1].Now, seen[2].Since)

	// A fresh agent on the same store (a restart) continues from the store.
	a2, err := agent.New(t.Context(), agent.Options{Store: env.Store, Signer: env.Signer, Now: env.Clock.Now})
	require.NoError(t, err)
	_, err = a2.Run(t.Context(), agenttest.Job("prs", "@hourly", c))
	require.NoError(t, err)
	require.Equal(t, seen[2].Now, seen[3].Since)
}

func TestPartialAndFailedRunsAreRecorded(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	var mode string
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(req collector.Request) (*collector.Result, error) {
		res, _ := agenttest.Passing(req)
		switch mode {
		case "partial":
			pe := &collector.PartialError{}
			pe.Add("eu-west-1", "ListThings", errors.New("AccessDenied"))
			return res, pe
		case "failed":
			return nil, errors.New("credentials rejected")
		}
		return res, nil
	}}
	job := agenttest.Job("t", "@hourly", c)
	var since []time.Time
	c2 := c.Fn
	c.Fn = func(req collector.Request) (*collector.Result, error) {
		since = append(since, req.Since)
		return c2(req)
	}

	for _, m := range []string{"", "partial", "failed", ""} {
		mode = m
		_, err := env.Agent.Run(t.Context(), job)
		require.NoError(t, err)
		env.Clock.Advance(time.Hour)
	}
	s2, _ := read(t, env.Store, store.SnapshotKey("t/acme", 2))
	require.Equal(t, evidence.StatusPartial, s2.Status)
	require.Equal(t, []evidence.RunError{{Where: "eu-west-1", Operation: "ListThings", Message: "AccessDenied"}}, s2.Errors)
	require.Len(t, s2.Findings, 1, "a partial run keeps the evidence it gathered")
	s3, _ := read(t, env.Store, store.SnapshotKey("t/acme", 3))
	require.Equal(t, evidence.StatusFailed, s3.Status)
	require.Contains(t, s3.Errors[0].Message, "credentials rejected")
	// A failed run judged nothing: every check it was to run is undecided,
	// with the references it supports, so the failure shows against them.
	require.Equal(t, []evidence.Finding{{
		Check: "test.check", Resource: "test:acme", Status: evidence.Error,
		Controls: []string{"hipaa:164.312(a)(1)", "soc2:CC6.1"},
		Reason:   "not determined: the collection failed: credentials rejected",
	}}, s3.Findings)
	require.Equal(t, []string{"hipaa:164.312(a)(1)", "soc2:CC6.1"}, s3.Controls)
	// Windows restart from the last complete snapshot, so nothing a partial
	// run missed falls through.
	require.Equal(t, since[1], since[3])
}

func TestConcurrentWritersNeverFork(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
	// Three agents (replicas) on one store, each writing concurrently.
	agents := []*agent.Agent{env.Agent}
	for range 2 {
		a, err := agent.New(t.Context(), agent.Options{Store: env.Store, Signer: env.Signer, Now: env.Clock.Now})
		require.NoError(t, err)
		agents = append(agents, a)
	}
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				_, err := a.Run(context.Background(), agenttest.Job("t", "@hourly", c))
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	prev := ""
	for seq := int64(1); seq <= 15; seq++ {
		s, b := read(t, env.Store, store.SnapshotKey("t/acme", seq))
		require.Equal(t, prev, s.Prev, "seq %d", seq)
		prev = evidence.Digest(b)
	}
	_, err := env.Store.Get(t.Context(), store.SnapshotKey("t/acme", 16))
	require.ErrorIs(t, err, store.ErrNotExist)
}

func TestPublishedKeyMismatchIsRefused(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	other, err := signing.GenerateFileKey(env.Dir + "/other.pem")
	require.NoError(t, err)
	pub, err := other.PublicKey(t.Context())
	require.NoError(t, err)
	pemBytes, err := signing.MarshalPublicKey(pub)
	require.NoError(t, err)
	// A store where another key sits under this signer's key id.
	env2 := agenttest.NewEnv(t, t0)
	require.NoError(t, env2.Store.Put(t.Context(), store.PublicKeyKey(env.Agent.KeyID()), pemBytes))
	_, err = agent.New(t.Context(), agent.Options{Store: env2.Store, Signer: env.Signer})
	require.ErrorContains(t, err, "does not match the signing key")
}

// TestRunThatObservedNothingFailed: a partial error is a partial snapshot
// only when something was observed beside it; a run whose every read
// failed (no record, no finding decided on data) is failed, and keeps the
// collector's own account of what failed.
func TestRunThatObservedNothingFailed(t *testing.T) {
	denied := func() *collector.PartialError {
		pe := &collector.PartialError{}
		pe.Add("users", "users.list", errors.New("403 Forbidden"))
		pe.Add("groups", "groups.list", errors.New("403 Forbidden"))
		return pe
	}
	errFinding := evidence.Finding{Check: "test.check", Resource: "acme", Status: evidence.Error, Reason: "users could not be read"}
	record := evidence.Record{Type: "thing", ID: "thing-1"}
	for _, c := range []struct {
		name string
		res  *collector.Result
		err  error
		want evidence.Status
	}{
		{"no result", nil, denied(), evidence.StatusFailed},
		{"no result, wrapped", nil, fmt.Errorf("read org: %w", denied()), evidence.StatusFailed},
		{"only error findings", &collector.Result{Findings: []evidence.Finding{errFinding}}, denied(), evidence.StatusFailed},
		{"a record", &collector.Result{Records: []evidence.Record{record}, Findings: []evidence.Finding{errFinding}}, denied(), evidence.StatusPartial},
		{"a decided finding", &collector.Result{Findings: []evidence.Finding{errFinding, {Check: "test.check", Resource: "b", Status: evidence.Fail, Reason: "read and failed"}}}, denied(), evidence.StatusPartial},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := agenttest.NewEnv(t, t0)
			col := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(collector.Request) (*collector.Result, error) { return c.res, c.err }}
			w, err := env.Agent.Run(t.Context(), agenttest.Job("t", "@daily", col))
			require.NoError(t, err)
			require.Len(t, w, 1)
			s, _ := read(t, env.Store, w[0].Key)
			require.Equal(t, c.want, s.Status)
			require.Equal(t, []evidence.RunError{
				{Where: "users", Operation: "users.list", Message: "403 Forbidden"},
				{Where: "groups", Operation: "groups.list", Message: "403 Forbidden"},
			}, s.Errors)
		})
	}
}
