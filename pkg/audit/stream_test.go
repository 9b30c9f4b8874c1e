package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// damage rewrites the stored bytes of a fixture member.
func damage(t *testing.T, st *fsstore.Store, key string, fn func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(st.Root(), filepath.FromSlash(key))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, fn(b), 0o644))
}

// A period with members that cannot be read is refused by every reader,
// naming each of them; what a streaming export had written stops before the
// first, in its order, and the others write nothing.
func TestReadersRefuseAPeriodWithBadMembers(t *testing.T) {
	const (
		truncated = "evidence/t/111122223333/000000000030.json" // no header either
		spaced    = "evidence/t/444455556666/000000000007.json" // a header, but not canonical
	)
	cat, err := controls.Default()
	require.NoError(t, err)
	run := func(t *testing.T, st *fsstore.Store, name string) ([]byte, error) {
		members, err := audit.OpenPeriod(t.Context(), st, streamPeriod)
		require.NoError(t, err)
		var out bytes.Buffer
		switch name {
		case "report":
			err = audit.WriteReport(t.Context(), &out, members, audit.ReportOptions{Period: streamPeriod})
		case "changes":
			_, err = audit.PeriodChanges(t.Context(), members, cat, streamPeriod)
		default:
			err = audit.Export(t.Context(), &out, name, members, audit.ExportOptions{Period: streamPeriod, Version: "test"})
		}
		return out.Bytes(), err
	}
	readers := append(slices.Clone(audit.Formats), "report", "changes")

	t.Run("both", func(t *testing.T) {
		st := streamStore(t)
		damage(t, st, truncated, func(b []byte) []byte { return b[:len(b)/2] })
		damage(t, st, spaced, func(b []byte) []byte { return append([]byte(" "), b...) })
		for _, name := range readers {
			out, err := run(t, st, name)
			require.ErrorContains(t, err, "snapshot "+truncated+":", name)
			require.ErrorContains(t, err, "snapshot "+spaced+":", name)
			if name != audit.FormatCSV {
				// OCSF reads in start order, after a pass over the headers
				// that already finds the truncated member.
				require.Empty(t, out, name)
				continue
			}
			rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
			require.NoError(t, err)
			require.Greater(t, len(rows), 1)
			for _, row := range rows[1:] {
				require.Less(t, row[0], truncated, "no row from the first bad member on")
			}
		}
	})

	t.Run("not canonical", func(t *testing.T) {
		st := streamStore(t)
		damage(t, st, spaced, func(b []byte) []byte { return append([]byte(" "), b...) })
		out, err := run(t, st, audit.FormatOCSF)
		require.ErrorContains(t, err, "snapshot "+spaced+":")
		require.NotEmpty(t, out)
		require.True(t, strings.HasSuffix(string(out), "}\n"), "whole events only")
		badAt := t0.Add(6*time.Hour + time.Minute).UnixMilli()
		for line := range strings.Lines(string(out)) {
			var ev struct {
				Time     int64             `json:"time"`
				Unmapped map[string]string `json:"unmapped"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &ev))
			key := ev.Unmapped["exhibit.snapshot_key"]
			require.True(t, ev.Time < badAt || ev.Time == badAt && key < spaced,
				"the stream stops before the member started at 06:01 (event of %s at %d)", key, ev.Time)
		}
		for _, name := range []string{audit.FormatOSCAL, "report", "changes"} {
			out, err := run(t, st, name)
			require.ErrorContains(t, err, "snapshot "+spaced+":", name)
			require.Empty(t, out, name)
		}
	})
}

// changing answers other bytes for a key on its second read.
type changing struct {
	*fsstore.Store
	key, other string
	reads      int
}

func (c *changing) Get(ctx context.Context, key string) ([]byte, error) {
	if key == c.key {
		if c.reads++; c.reads > 1 {
			key = c.other
		}
	}
	return c.Store.Get(ctx, key)
}

// Start order costs two reads of each member; one whose bytes differ the
// second time is named, not placed by a start it no longer has.
func TestPeriodReaderNamesAMemberChangedBetweenReads(t *testing.T) {
	st := &changing{Store: streamStore(t), key: "evidence/u/111122223333/000000000004.json", other: "evidence/u/111122223333/000000000005.json"}
	members, err := audit.OpenPeriod(t.Context(), st, streamPeriod)
	require.NoError(t, err)
	n := 0
	err = members.Each(t.Context(), audit.ByStart, func(audit.Member) error { n++; return nil })
	require.EqualError(t, err, "snapshot "+st.key+" changed while it was read (run exhibit verify)")
	require.Positive(t, n, "the members before it were handed over")
}
