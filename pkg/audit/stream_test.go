package audit_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/exceptions"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// The stream fixture is a store kept in testdata/stream/store, made once by
// the real agent (snapshot ids and signatures are random, so a store made
// afresh would not give the same bytes twice), and the exports, report and
// changes that the in-memory readers made of it before the readers streamed
// (testdata/stream/*.golden). The streaming readers must give the same bytes.
//
// It has three series over two days: two hourly scopes of one collector and a
// three-hourly one of another collector on the same account (so one finding
// is in two series), with failing, undecided and not-applicable findings, an
// accepted risk that lapses, partial and failed runs, a gap, and a run
// stored late whose start goes back in time along its chain.
var (
	writeStreamFixture = flag.Bool("write-stream-fixture", false, "make testdata/stream/store anew (it must not exist)")
	writeStreamGolden  = flag.Bool("write-stream-golden", false, "rewrite testdata/stream/*.golden from the readers as they are")
)

const streamDir = "testdata/stream"

var streamPeriod = audit.Period{From: t0, To: t0.AddDate(0, 0, 2)}

const streamRisks = `accepted_risks:
  - id: AR-9
    check: test.check
    resource: "thing-444455556666"
    owner: platform-team
    reason: "decommissioned next week"
    until: 2026-03-01
    approver: ciso
    approved: 2026-02-25
`

func makeStreamFixture(t *testing.T) {
	set, err := exceptions.Parse("risks.yaml", []byte(streamRisks), []string{"test.check"})
	require.NoError(t, err)
	env := agenttest.NewEnvWith(t, t0, func(o *agent.Options) {
		o.AcceptedRisks = func() (*exceptions.Set, error) { return set, nil }
	})
	hour := 0
	hourly := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: func(req collector.Request) (*collector.Result, error) {
		if hour == 20 {
			return nil, errors.New("ExpiredToken: the security token included in the request is expired")
		}
		res, err := agenttest.Passing(req)
		if err != nil {
			return nil, err
		}
		switch {
		case req.Scope.Account == "444455556666" && hour%7 < 4:
			res.Findings[0].Status, res.Findings[0].Reason = evidence.Fail, "thing is \"open\" <to all>"
		case req.Scope.Account == "111122223333" && hour >= 10 && hour < 30:
			res.Findings[0].Status, res.Findings[0].Reason = evidence.Fail, "thing is open"
		case hour%11 == 5:
			res.Findings[0].Status, res.Findings[0].Reason = evidence.Error, "AccessDenied"
		}
		res.Findings = append(res.Findings, evidence.Finding{Check: "test.check", Resource: "other-" + req.Scope.Account, Status: evidence.NotApplicable, Reason: "no such thing"})
		if hour%9 != 3 {
			res.Findings = append(res.Findings, evidence.Finding{Check: "test.check", Resource: "bucket-" + req.Scope.Account, Status: evidence.Pass, Reason: "encrypted"})
		}
		if hour == 15 {
			pe := &collector.PartialError{}
			pe.Add("eu-west-1", "ListThings", errors.New("AccessDenied: not authorized in eu-west-1"))
			return res, pe
		}
		return res, nil
	}}
	third := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(req collector.Request) (*collector.Result, error) {
		res, err := agenttest.Passing(req)
		if err == nil && req.Since.After(req.Now) {
			res.Window = nil // the late run's series has moved on
		}
		if err == nil && hour >= 24 {
			res.Findings[0].Status, res.Findings[0].Reason = evidence.Fail, "thing is open (seen by u)"
		}
		return res, err
	}}
	a, b := agenttest.Job("t", "@hourly", hourly), agenttest.Job("u", "0 */3 * * *", third)
	for hour = 0; hour < 47; hour++ {
		env.Clock.Advance(t0.Add(time.Duration(hour)*time.Hour + time.Minute).Sub(env.Clock.Now()))
		if hour != 33 {
			env.Fill(t, a, 1, 0)
		}
		if hour%3 == 0 {
			env.Fill(t, b, 1, 0)
		}
	}
	// A run of u spooled at 01:30 and stored after the others: its chain
	// goes back in time.
	late := agenttest.NewEnvOn(t, env, t0.Add(90*time.Minute))
	late.Fill(t, b, 1, 0)
	require.NoError(t, os.CopyFS(filepath.Join(streamDir, "store"), os.DirFS(filepath.Join(env.Dir, "evidence"))))
}

// streamStore opens a copy of the fixture store.
func streamStore(t *testing.T) *fsstore.Store {
	t.Helper()
	if *writeStreamFixture {
		makeStreamFixture(t)
	}
	dir := filepath.Join(t.TempDir(), "evidence")
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(streamDir, "store"))))
	st, err := fsstore.Open(dir)
	require.NoError(t, err)
	return st
}

// streamOutputs renders every reader over the fixture.
func streamOutputs(t *testing.T, st *fsstore.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	members, err := audit.OpenPeriod(t.Context(), st, streamPeriod)
	require.NoError(t, err)
	for _, format := range audit.Formats {
		var b bytes.Buffer
		require.NoError(t, audit.Export(t.Context(), &b, format, members, audit.ExportOptions{Period: streamPeriod, Version: "test"}))
		out[format] = b.Bytes()
	}
	var report bytes.Buffer
	require.NoError(t, audit.WriteReport(t.Context(), &report, members, audit.ReportOptions{Period: streamPeriod, Store: "file:///evidence",
		Organization: "Acme", Generated: t0.AddDate(0, 0, 2)}))
	out["report.html"] = report.Bytes()
	cat, err := controls.Default()
	require.NoError(t, err)
	ch, err := audit.PeriodChanges(t.Context(), members, cat, streamPeriod)
	require.NoError(t, err)
	var diff bytes.Buffer
	require.NoError(t, audit.WriteChangesJSON(&diff, ch))
	out["changes.json"] = diff.Bytes()
	return out
}

// TestStreamedOutputsAsBefore compares what every reader makes of the
// fixture with what the in-memory readers made of it.
func TestStreamedOutputsAsBefore(t *testing.T) {
	got := streamOutputs(t, streamStore(t))
	for name, b := range got {
		path := filepath.Join(streamDir, name+".golden")
		if *writeStreamGolden {
			require.NoError(t, os.WriteFile(path, b, 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, string(want), string(b), "%s differs from %s", name, path)
	}
}
