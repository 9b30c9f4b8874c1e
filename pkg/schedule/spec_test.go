package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRefusesSchedulesThatWouldNotBeHonoured(t *testing.T) {
	cases := []struct{ spec, want string }{
		{"0 0 30 2 *", `invalid cron expression "0 0 30 2 *": it never fires`},
		{"0 0 31 4,6,9,11 *", "it never fires"},
		{"@every 0s", `invalid schedule "@every 0s": the interval must be at least 1s`},
		{"@every -5s", "the interval must be at least 1s"},
		{"@every 1ns", "the interval must be at least 1s"},
		{"@every 999ms", "the interval must be at least 1s"},
		{"@every 1500ms", "the interval must be a whole number of seconds"},
		{"TZ=Europe/Paris 0 * * * *", "a time zone prefix is not supported"},
		{"CRON_TZ=UTC", "a time zone prefix is not supported"},
		{"61 * * * *", `invalid cron expression "61 * * * *"`},
		{"", "invalid cron expression"},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := Parse(tc.spec)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParseAcceptsRareButRealSchedules(t *testing.T) {
	for _, spec := range []string{"0 0 29 2 *", "@every 1s", "@every 1m30s", "@yearly", "0 */6 * * *", "0 0 * * 1-5"} {
		_, err := Parse(spec)
		require.NoError(t, err, spec)
	}
}

func TestInterval(t *testing.T) {
	from := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		spec string
		want time.Duration
	}{
		{"@every 90s", 90 * time.Second},
		{"0 */6 * * *", 6 * time.Hour},
		{"0 0,1 * * *", time.Hour},       // 1h, then 23h
		{"0 0 * * 1-5", 24 * time.Hour},  // weekends are longer
		{"0 0 1,31 * *", 24 * time.Hour}, // the 31st, then the 1st
		{"@daily", 24 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := Parse(tc.spec)
			require.NoError(t, err)
			require.Equal(t, tc.want, Interval(s, from))
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 */6 * * *", "@every 5m", "@every -1s", "TZ=UTC", "0 0 30 2 *", "@daily"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec)
		if err != nil {
			return
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		require.False(t, s.Next(from).IsZero(), "an accepted schedule fires")
		require.GreaterOrEqual(t, Interval(s, from), MinEvery)
	})
}

func TestWindow(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	cases := []struct {
		every    time.Duration
		t, start string
	}{
		{10 * time.Minute, "2026-03-01T12:34:56.789Z", "2026-03-01T12:30:00Z"},
		{10 * time.Minute, "2026-03-01T12:30:00Z", "2026-03-01T12:30:00Z"}, // a window's start is in it
		{10 * time.Minute, "2026-03-01T12:29:59.999999999Z", "2026-03-01T12:20:00Z"},
		{time.Hour, "2026-03-01T14:34:56+02:00", "2026-03-01T12:00:00Z"}, // in UTC
		{24 * time.Hour, "2026-03-01T23:59:59Z", "2026-03-01T00:00:00Z"},
		// 7m does not divide a day: the windows count from the Unix epoch
		// (1,690,000 seven-minute windows to 1992-06-29T06:40Z), not from
		// midnight and not from the zero time.
		{7 * time.Minute, "1992-06-29T06:46:59Z", "1992-06-29T06:40:00Z"},
		{7 * time.Minute, "1992-06-29T06:47:00Z", "1992-06-29T06:47:00Z"},
		{90 * time.Second, "1970-01-01T00:02:59Z", "1970-01-01T00:01:30Z"},
		{90 * time.Second, "1969-12-31T23:59:59Z", "1969-12-31T23:58:30Z"}, // before the epoch too
		{1500 * time.Millisecond, "1970-01-01T00:00:04Z", "1970-01-01T00:00:03Z"},
	}
	for _, tc := range cases {
		t.Run(tc.every.String()+" "+tc.t, func(t *testing.T) {
			got := Window(tc.every, at(tc.t))
			require.Equal(t, at(tc.start), got)
			require.Equal(t, time.UTC, got.Location())
			require.Zero(t, got.Sub(time.Unix(0, 0))%tc.every, "a multiple of the interval since the epoch")
		})
	}
	// Time.Truncate counts from the zero time, whose windows of 7m are not
	// the epoch's.
	tm := at("1992-06-29T06:46:59Z")
	require.NotEqual(t, tm.Truncate(7*time.Minute), Window(7*time.Minute, tm))
	require.Equal(t, tm, Window(0, tm), "no windows without an interval")
}

// The runner fires an "@every" schedule at the start of the window after
// the one t is in, whatever t is; cron expressions as the library does.
func TestFiringFollowsTheClocksWindows(t *testing.T) {
	from := time.Date(2026, 3, 1, 12, 3, 17, 5, time.UTC)
	for _, tc := range []struct {
		spec string
		want []time.Time
	}{
		{"@every 10m", []time.Time{
			time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC),
			time.Date(2026, 3, 1, 12, 20, 0, 0, time.UTC),
			time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC),
		}},
		{"@every 7m", []time.Time{
			Window(7*time.Minute, from).Add(7 * time.Minute),
			Window(7*time.Minute, from).Add(14 * time.Minute),
			Window(7*time.Minute, from).Add(21 * time.Minute),
		}},
		{"@hourly", []time.Time{
			time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC),
		}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := Parse(tc.spec)
			require.NoError(t, err)
			f := firing(s)
			var got []time.Time
			for next := f.Next(from); len(got) < len(tc.want); next = f.Next(next) {
				got = append(got, next)
			}
			require.Equal(t, tc.want, got)
			// Parse itself is unchanged: the interval, and so the jitter and
			// standby-delay checks, are the same.
			require.Equal(t, Interval(s, from), Interval(f, from))
		})
	}
}
