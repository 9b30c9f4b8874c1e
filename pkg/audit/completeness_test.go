package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// runAt runs job once at each time, moving the env's clock forward to it.
func runAt(t *testing.T, env *agenttest.Env, job agent.Job, times ...time.Time) {
	t.Helper()
	for _, at := range times {
		d := at.Sub(env.Clock.Now())
		require.GreaterOrEqual(t, d, time.Duration(0), "times must not go backwards")
		env.Clock.Advance(d)
		_, err := env.Agent.Run(t.Context(), job)
		require.NoError(t, err)
	}
}

func days(from time.Time, offsets ...float64) []time.Time {
	out := make([]time.Time, len(offsets))
	for i, o := range offsets {
		out[i] = from.Add(time.Duration(o * float64(24*time.Hour)))
	}
	return out
}

func minutes(from time.Time, offsets ...float64) []time.Time {
	out := make([]time.Time, len(offsets))
	for i, o := range offsets {
		out[i] = from.Add(time.Duration(o * float64(time.Minute))).Round(time.Second)
	}
	return out
}

func TestCompleteness(t *testing.T) {
	defer audit.SetNow(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) })()
	const prefix = "evidence/aws.s3/111122223333/"
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	gap := func(d int, spec string) audit.Problem {
		return audit.Problem{Key: prefix, Message: "gap: no snapshot for the run due " + day(d).Format(time.RFC3339) + " (schedule " + spec + ")"}
	}
	type run struct {
		spec  string
		times []time.Time
	}
	cases := []struct {
		name     string
		runs     []run
		from, to time.Time
		want     []audit.Problem
	}{
		{
			name: "a missing day in a daily series",
			runs: []run{{"@daily", days(t0, 0, 1, 2, 4, 5, 6)}},
			from: day(0), to: day(7),
			want: []audit.Problem{gap(3, "@daily")},
		},
		{
			name: "late starts within the slot count",
			runs: []run{{"@daily", days(t0, 0.01, 1.5, 2.99, 3.2)}},
			from: day(0), to: day(4),
		},
		{
			name: "two runs in one slot do not cover the next",
			runs: []run{{"@daily", days(t0, 0, 0.5, 2)}},
			from: day(0), to: day(3),
			want: []audit.Problem{gap(1, "@daily")},
		},
		{
			name: "a collector that stopped leaves gaps to the end of the period",
			runs: []run{{"@daily", days(t0, 0, 1)}},
			from: day(0), to: day(4),
			want: []audit.Problem{gap(2, "@daily"), gap(3, "@daily")},
		},
		{
			name: "nothing is expected before a series' first snapshot",
			runs: []run{{"@daily", days(t0, 2.4, 3, 4)}},
			from: day(0), to: day(5),
		},
		{
			name: "only the period is checked",
			runs: []run{{"@daily", days(t0, 0, 1, 5, 6)}},
			from: day(5), to: day(7),
		},
		{
			name: "a changed schedule applies from the run that carries it",
			runs: []run{
				{"@daily", days(t0, 0, 1)},
				{"0 0 * * 1", days(t0, 2)}, // 2026-03-03 is a Tuesday; the next Monday is 03-09
				{"0 0 * * 1", []time.Time{day(8)}},
			},
			from: day(0), to: day(16),
			want: []audit.Problem{gap(15, "0 0 * * 1")},
		},
		{
			// The daemon fires "@every 5m" 5, 10, 15 and 20 minutes after
			// it started; jitter delays each run. Slots drawn from the
			// first run (40 s late) would call the last one, 2 s late, a
			// run of the slot before, and invent a gap at the shutdown.
			name: "@every runs line up with the daemon, not with the first snapshot",
			runs: []run{{"@every 5m", minutes(t0, 5+40.0/60, 10+5.0/60, 15+30.0/60, 20+2.0/60)}},
			from: t0, to: t0.Add(22 * time.Minute),
		},
		{
			name: "@every: a run missed between two others is a gap",
			runs: []run{{"@every 5m", minutes(t0, 5+1.0/60, 10+1.0/60, 20+2.0/60)}},
			from: t0, to: t0.Add(22 * time.Minute),
			want: []audit.Problem{{Key: prefix, Message: "gap: no snapshot for the run due 2026-03-01T00:15:01Z (schedule @every 5m)"}},
		},
		{
			name: "too many slots are refused with a clear message",
			runs: []run{{"@every 2s", days(t0, 0)}},
			from: day(0), to: day(365),
			want: []audit.Problem{{Key: prefix, Message: "completeness not checked: schedule @every 2s calls for more than 100000 runs between 2026-03-01T00:00:00Z and 2027-03-01T00:00:00Z; verify a shorter period"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := agenttest.NewEnv(t, t0)
			c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
			for _, r := range tc.runs {
				runAt(t, env, agenttest.Job("aws.s3", r.spec, c), r.times...)
			}
			rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: tc.from, To: tc.to})
			require.NoError(t, err)
			if len(tc.want) == 0 {
				require.True(t, rep.OK(), "%v", rep.Problems)
				return
			}
			require.Equal(t, tc.want, rep.Problems)
			require.Len(t, rep.Runs, 1)
			notChecked := strings.HasPrefix(tc.want[0].Message, "completeness not checked")
			require.Equal(t, !notChecked, rep.Runs[0].Checked, "a series not judged says so")
			if !notChecked {
				require.Equal(t, len(tc.want), rep.Runs[0].Missing)
			}

			// A period without an end ends now: the same problems are
			// found, and more, since the collector stopped long ago.
			rep, err = audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: tc.from})
			require.NoError(t, err)
			require.NotEmpty(t, rep.Problems)
			enumerated := !strings.Contains(rep.Problems[0].Message, "completeness not checked")
			for _, p := range tc.want {
				if enumerated && strings.HasPrefix(p.Message, "gap:") {
					require.Contains(t, rep.Problems, p)
				}
			}
		})
	}
}

// Gaps sit with the store's other problems, in key order, and streamed.
func TestCompletenessGapsAreStreamed(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: agenttest.Passing}
	job := agenttest.Job("t", "@daily", c)
	runAt(t, env, job, days(t0, 0, 1, 3)...)
	var streamed []audit.Problem
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{
		From: t0, To: t0.AddDate(0, 0, 4),
		OnProblem: func(p audit.Problem) { streamed = append(streamed, p) },
	})
	require.NoError(t, err)
	require.Equal(t, rep.Problems, streamed)
	require.Len(t, rep.Problems, 2)
	for i, acct := range []string{"111122223333", "444455556666"} {
		require.Equal(t, store.SeriesPrefix("t/"+acct), rep.Problems[i].Key)
		require.Contains(t, rep.Problems[i].Message, "2026-03-03T00:00:00Z")
	}
}

// A run whose window has not closed yet cannot be missing: a period may
// reach past today.
func TestCompletenessStopsAtNow(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
	runAt(t, env, agenttest.Job("aws.s3", "@daily", c), days(t0, 0, 2)...)
	defer audit.SetNow(func() time.Time { return t0.AddDate(0, 0, 3).Add(12 * time.Hour) })()
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: t0, To: t0.AddDate(1, 0, 0)})
	require.NoError(t, err)
	require.Len(t, rep.Problems, 1, "%v", rep.Problems)
	require.Contains(t, rep.Problems[0].Message, "due 2026-03-02T00:00:00Z", "day 1 was missed; day 3 may still run")
}

// outcomes scripts a collector's runs in order: "pass", "partial", or any
// other text, which fails the run with that error.
func outcomes(list ...string) func(collector.Request) (*collector.Result, error) {
	n := 0
	return func(req collector.Request) (*collector.Result, error) {
		o := list[n]
		n++
		switch o {
		case "pass":
			return agenttest.Passing(req)
		case "partial":
			res, _ := agenttest.Passing(req)
			pe := &collector.PartialError{}
			pe.Add("us-east-1", "ListBuckets", errors.New("AccessDenied"))
			pe.Add("eu-west-1", "ListBuckets", errors.New("AccessDenied"))
			return res, pe
		}
		return nil, errors.New(o)
	}
}

// A slot covered only by failed snapshots is a failure of its own, naming
// the snapshot and its error; one only partly collected is a note; each
// series' runs are counted.
func TestCompletenessJudgesFailedAndPartialRuns(t *testing.T) {
	defer audit.SetNow(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) })()
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: outcomes(
		"pass",                           // day 0
		"ExpiredToken: \x1b[2Jexpired\n", // day 1
		"partial",                        // day 2; day 3 left no snapshot
		"Throttling", "pass",             // day 4: retried, and the retry passed
		"Throttling", "Throttling", // day 5: retried, and failed again
	)}
	runAt(t, env, agenttest.Job("aws.s3", "@daily", c), days(t0, 0, 1, 2, 4, 4.5, 5, 5.5)...)
	const prefix = "evidence/aws.s3/111122223333/"
	failedRun := func(day int, seq, err string) audit.Problem {
		return audit.Problem{Key: prefix, Message: "collection failed: the run due " + t0.AddDate(0, 0, day).Format(time.RFC3339) +
			" (schedule @daily) failed: test:111122223333: " + err + " (" + prefix + seq + ".json)"}
	}
	failed := []audit.Problem{
		failedRun(1, "000000000002", `ExpiredToken: \x1b[2Jexpired\n`),
		failedRun(5, "000000000006", "Throttling"),
	}
	gap := audit.Problem{Key: prefix, Message: "gap: no snapshot for the run due 2026-03-04T00:00:00Z (schedule @daily)"}
	partial := audit.Problem{Key: prefix, Message: "partial collection: the run due 2026-03-03T00:00:00Z (schedule @daily) gathered only part of its evidence, " +
		"2 error(s), the first: us-east-1: ListBuckets: AccessDenied (" + prefix + "000000000003.json)"}
	period := audit.VerifyOptions{From: t0, To: t0.AddDate(0, 0, 6)}

	rep, err := audit.Verify(t.Context(), env.Store, period)
	require.NoError(t, err)
	require.Equal(t, []audit.Problem{failed[0], gap, failed[1]}, rep.Problems)
	require.Equal(t, []audit.Problem{partial}, notesUnder(rep, prefix))
	counts := []audit.SeriesRuns{{Series: "aws.s3/111122223333", Complete: 2, Partial: 1, Failed: 2, Missing: 1, Checked: true}}
	require.Equal(t, counts, rep.Runs)

	// Allowed, failed runs are still listed, as notes; a gap stays a problem.
	period.AllowFailedRuns = true
	rep, err = audit.Verify(t.Context(), env.Store, period)
	require.NoError(t, err)
	require.Equal(t, []audit.Problem{gap}, rep.Problems)
	require.Equal(t, []audit.Problem{failed[0], partial, failed[1]}, notesUnder(rep, prefix))
	require.Equal(t, counts, rep.Runs)

	// Without a period nothing is judged or counted.
	rep, err = audit.Verify(t.Context(), env.Store, audit.VerifyOptions{})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Problems)
	require.Empty(t, rep.Runs)
}

// notesUnder is the report's notes on keys under prefix: the others (which
// key signed what) are not the completeness stage's.
func notesUnder(rep *audit.VerifyReport, prefix string) []audit.Problem {
	var out []audit.Problem
	for _, n := range rep.Notes {
		if strings.HasPrefix(n.Key, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// A run that started after its slot began, as a series' first run does, is
// judged as that slot's run: a failure there is not hidden for want of a
// slot that began in the period.
func TestCompletenessJudgesTheFirstRunOfASeries(t *testing.T) {
	defer audit.SetNow(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) })()
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: outcomes("AccessDenied", "pass")}
	runAt(t, env, agenttest.Job("aws.s3", "@daily", c), days(t0, 0.5, 1)...)
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: t0, To: t0.AddDate(0, 0, 2)})
	require.NoError(t, err)
	require.Equal(t, []audit.Problem{{Key: "evidence/aws.s3/111122223333/",
		Message: "collection failed: the run due 2026-03-01T00:00:00Z (schedule @daily) failed: test:111122223333: AccessDenied (evidence/aws.s3/111122223333/000000000001.json)"}},
		rep.Problems)
	require.Equal(t, []audit.SeriesRuns{{Series: "aws.s3/111122223333", Complete: 1, Failed: 1, Checked: true}}, rep.Runs)
}

// "@every" runs are judged each by its own status, named by when it
// started.
func TestCompletenessJudgesEveryRuns(t *testing.T) {
	defer audit.SetNow(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) })()
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: outcomes("pass", "Throttling", "pass")}
	runAt(t, env, agenttest.Job("aws.s3", "@every 5m", c), minutes(t0, 5, 10, 15)...)
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: t0, To: t0.Add(17 * time.Minute)})
	require.NoError(t, err)
	require.Equal(t, []audit.Problem{{Key: "evidence/aws.s3/111122223333/",
		Message: "collection failed: the run started 2026-03-01T00:10:00Z (schedule @every 5m) failed: test:111122223333: Throttling (evidence/aws.s3/111122223333/000000000002.json)"}},
		rep.Problems)
	require.Equal(t, []audit.SeriesRuns{{Series: "aws.s3/111122223333", Complete: 2, Failed: 1, Checked: true}}, rep.Runs)
}

// A run whose collector could not list its scopes is a failed run, in its
// discovery series; the series it would have extended show the gap.
func TestCompletenessDiscoveryFailures(t *testing.T) {
	defer audit.SetNow(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) })()
	env := agenttest.NewEnv(t, t0)
	c := &discoveryFails{Collector: agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}, fail: []bool{false, true, false}}
	runAt(t, env, agenttest.Job("aws.s3", "@daily", c), days(t0, 0, 1, 2)...)
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: t0, To: t0.AddDate(0, 0, 3)})
	require.NoError(t, err)
	require.Equal(t, []audit.Problem{
		{Key: "evidence/aws.s3/111122223333/", Message: "gap: no snapshot for the run due 2026-03-02T00:00:00Z (schedule @daily)"},
		{Key: "evidence/aws.s3/discovery/", Message: "collection failed: the run started 2026-03-02T00:00:00Z (schedule @daily) failed: test:discovery: ListAccounts: AccessDenied (evidence/aws.s3/discovery/000000000001.json)"},
	}, rep.Problems)
	require.Equal(t, []audit.SeriesRuns{
		{Series: "aws.s3/111122223333", Complete: 2, Missing: 1, Checked: true},
		{Series: "aws.s3/discovery", Failed: 1, Checked: true},
	}, rep.Runs)
}

// discoveryFails fails its scope discovery on the runs fail says.
type discoveryFails struct {
	agenttest.Collector
	fail []bool
	n    int
}

func (d *discoveryFails) Scopes(ctx context.Context) ([]evidence.Scope, error) {
	d.n++
	if d.fail[d.n-1] {
		return nil, errors.New("ListAccounts: AccessDenied")
	}
	return d.Collector.Scopes(ctx)
}

// A failed run's error is quoted cut short, on a character boundary: the
// stage keeps one per run, and an error can be as long as a snapshot.
func TestCompletenessCutsLongErrors(t *testing.T) {
	defer audit.SetNow(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) })()
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: outcomes(strings.Repeat("é", 400))}
	runAt(t, env, agenttest.Job("aws.s3", "@daily", c), t0)
	rep, err := audit.Verify(t.Context(), env.Store, audit.VerifyOptions{From: t0, To: t0.AddDate(0, 0, 1)})
	require.NoError(t, err)
	require.Len(t, rep.Problems, 1)
	msg := rep.Problems[0].Message
	require.True(t, utf8.ValidString(msg), msg)
	// "test:111122223333: " is 19 bytes; 500 leave room for 240 é.
	require.Contains(t, msg, "failed: test:111122223333: "+strings.Repeat("é", 240)+"… (evidence/aws.s3/111122223333/000000000001.json)")
}
