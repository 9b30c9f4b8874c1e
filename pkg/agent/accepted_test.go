package agent_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/exceptions"
)

// riskFile is an exception for test.check on every resource of account
// 111122223333, approved on t0's day and in force through 2026-03-02.
const riskFile = `accepted_risks:
  - id: AR-7
    check: test.*
    resource: "thing-1111*"
    owner: platform-team
    reason: replaced by the new estate in April
    until: 2026-03-02
    approver: ciso
    approved: 2026-03-01
`

// failingAndPassing is a failing finding for the account's thing, and a
// passing one the same exception's glob also matches.
func failingAndPassing(req collector.Request) (*collector.Result, error) {
	res, err := agenttest.Passing(req)
	res.Findings[0].Status, res.Findings[0].Reason = evidence.Fail, "not fine"
	res.Findings = append(res.Findings, evidence.Finding{Check: "test.check", Resource: "thing-" + req.Scope.Account + "-ok", Status: evidence.Pass, Reason: "fine"},
		evidence.Finding{Check: "test.check", Resource: "thing-" + req.Scope.Account + "-undecided", Status: evidence.Error, Reason: "AccessDenied"})
	return res, err
}

func riskEnv(t *testing.T, path string, log *zap.Logger) *agenttest.Env {
	t.Helper()
	return agenttest.NewEnvWith(t, t0.Add(9*time.Hour), func(o *agent.Options) {
		o.Logger = log
		o.AcceptedRisks = func() (*exceptions.Set, error) { return exceptions.Load(path, []string{"test.check"}) }
	})
}

// A matching failing finding stays fail and carries the acceptance in the
// signed evidence; passing and undecided findings never carry one; after
// the until day the acceptance no longer applies and the lapse is recorded.
func TestAcceptedRisksAnnotateNeverHide(t *testing.T) {
	path := filepath.Join(t.TempDir(), "risks.yaml")
	require.NoError(t, os.WriteFile(path, []byte(riskFile), 0o600))
	core, logs := observer.New(zapcore.WarnLevel)
	env := riskEnv(t, path, zap.New(core))
	c := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: failingAndPassing}
	job := agenttest.Job("t", "@daily", c)

	// 2026-03-01 and 2026-03-02 (the until day, to its end): accepted.
	// 2026-03-03: expired.
	written := env.Fill(t, job, 3, 24*time.Hour)
	require.Len(t, written, 6)
	for _, w := range written {
		s, _ := read(t, env.Store, w.Key)
		require.Equal(t, evidence.StatusComplete, s.Status)
		require.Len(t, s.Findings, 3)
		fail, pass, undecided := s.Findings[0], s.Findings[1], s.Findings[2]
		require.Equal(t, evidence.Fail, fail.Status, "an acceptance never changes a status")
		require.Equal(t, evidence.Pass, pass.Status)
		require.Nil(t, pass.Accepted, "a pass never carries an acceptance")
		require.Nil(t, pass.AcceptanceExpired)
		require.Nil(t, undecided.Accepted, "an error never carries an acceptance")
		require.Equal(t, 1, s.Summary()[evidence.Fail], "the accepted finding still counts as failing")

		day := s.StartedAt.Format(time.DateOnly)
		switch {
		case s.Scope.Account == "444455556666":
			require.Nil(t, fail.Accepted, "the resource glob does not match another account's thing")
			require.Nil(t, fail.AcceptanceExpired)
		case day <= "2026-03-02":
			require.Equal(t, &evidence.Acceptance{ID: "AR-7", Owner: "platform-team", Reason: "replaced by the new estate in April",
				Until: "2026-03-02", Approver: "ciso", Approved: "2026-03-01"}, fail.Accepted, day)
			require.Nil(t, fail.AcceptanceExpired)
		default:
			require.Nil(t, fail.Accepted, "expired on %s", day)
			require.Equal(t, &evidence.ExpiredAcceptance{ID: "AR-7", Owner: "platform-team", Until: "2026-03-02"}, fail.AcceptanceExpired)
		}
	}
	require.Equal(t, 1, logs.FilterMessageSnippet("expired accepted risk").Len())
}

// The file is read on every run: one that no longer parses at a later run
// is recorded in that run's snapshots, which apply nothing, and logged;
// once it is fixed, acceptances apply again.
func TestUnreadableAcceptedRisksAreRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "risks.yaml")
	require.NoError(t, os.WriteFile(path, []byte(riskFile), 0o600))
	core, logs := observer.New(zapcore.WarnLevel)
	env := riskEnv(t, path, zap.New(core))
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: failingAndPassing}
	job := agenttest.Job("t", "@daily", c)

	first := env.Fill(t, job, 1, time.Hour)
	require.NotNil(t, first[0].Snapshot.Findings[0].Accepted)

	for name, broken := range map[string]func(){
		"bad entry": func() {
			require.NoError(t, os.WriteFile(path, []byte(riskFile+"    colour: blue\n"), 0o600))
		},
		"removed": func() { require.NoError(t, os.Remove(path)) },
	} {
		t.Run(name, func(t *testing.T) {
			broken()
			w := env.Fill(t, job, 1, time.Hour)
			s, _ := read(t, env.Store, w[0].Key)
			require.Equal(t, evidence.StatusPartial, s.Status, "the run's acceptances are missing: it is not complete")
			require.Len(t, s.Errors, 1)
			require.Equal(t, "accepted_risks", s.Errors[0].Where)
			require.Contains(t, s.Errors[0].Message, "no accepted risk is applied to this run")
			require.Contains(t, s.Errors[0].Message, path)
			if name == "bad entry" {
				require.Contains(t, s.Errors[0].Message, "accepted_risks[0].colour: unknown field")
			}
			for _, f := range s.Findings {
				require.Nil(t, f.Accepted)
				require.Nil(t, f.AcceptanceExpired)
			}
			require.Equal(t, evidence.Fail, s.Findings[0].Status)
		})
	}
	require.Equal(t, 2, logs.FilterMessageSnippet("accepted risks could not be read").Len())

	require.NoError(t, os.WriteFile(path, []byte(riskFile), 0o600))
	w := env.Fill(t, job, 1, time.Hour)
	s, _ := read(t, env.Store, w[0].Key)
	require.Equal(t, evidence.StatusComplete, s.Status)
	require.Equal(t, "AR-7", s.Findings[0].Accepted.ID)
}

// A collector cannot set an acceptance itself: only the file does.
func TestAcceptancesComeOnlyFromTheFile(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(req collector.Request) (*collector.Result, error) {
		res, err := failingAndPassing(req)
		res.Findings[0].Accepted = &evidence.Acceptance{ID: "self", Owner: "me", Reason: "trust me", Until: "2099-01-01", Approver: "me", Approved: "2026-01-01"}
		return res, err
	}}
	w := env.Fill(t, agenttest.Job("t", "@daily", c), 1, time.Hour)
	s, _ := read(t, env.Store, w[0].Key)
	require.Nil(t, s.Findings[0].Accepted)
}
