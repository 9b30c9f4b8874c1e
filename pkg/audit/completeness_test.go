package audit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
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
