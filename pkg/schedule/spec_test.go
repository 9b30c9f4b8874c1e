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
