// Package schedule runs collectors on cron schedules: standard five-field
// expressions and descriptors (@daily, @every 5m), never two runs of one job
// at once, each run under its own timeout, with optional jitter.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// MinEvery is the shortest interval "@every" accepts. The cron library
// silently rounds anything shorter, zero and negative intervals included, up
// to one second; a schedule must mean what it says.
const MinEvery = time.Second

// horizon is how far ahead the cron library looks for a spec's next run: a
// spec with no run within it, such as "0 0 30 2 *", never runs at all.
const horizon = "5 years"

// Parse reads a cron expression or descriptor. It refuses what the cron
// library would accept but not honour: an "@every" interval below MinEvery
// or with a fraction of a second (which would be truncated), an expression
// that never fires, and a time zone prefix.
func Parse(spec string) (cron.Schedule, error) {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		// Schedules are evaluated in UTC; the library also panics on a
		// prefix without a space after it.
		return nil, fmt.Errorf("invalid cron expression %q: a time zone prefix is not supported; schedules are evaluated in UTC", spec)
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q: %w", spec, err)
	}
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		// The parser has already accepted d as a duration.
		every, _ := time.ParseDuration(d)
		switch {
		case every < MinEvery:
			return nil, fmt.Errorf("invalid schedule %q: the interval must be at least %s", spec, MinEvery)
		case every%time.Second != 0:
			return nil, fmt.Errorf("invalid schedule %q: the interval must be a whole number of seconds", spec)
		}
		return s, nil
	}
	if s.Next(time.Now().UTC()).IsZero() {
		return nil, fmt.Errorf("invalid cron expression %q: it never fires (no run within %s)", spec, horizon)
	}
	return s, nil
}

// intervalRuns is how many upcoming runs Interval compares; enough to see
// every gap of a schedule whose pattern repeats within a month or two.
const intervalRuns = 64

// Interval is the shortest time between two runs of s, looking at its next
// runs after from. A delay (such as jitter) that reaches it would make a run
// overlap the next, which is then skipped.
func Interval(s cron.Schedule, from time.Time) time.Duration {
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		return c.Delay
	}
	var shortest time.Duration
	prev := s.Next(from.UTC())
	for range intervalRuns {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(prev); shortest == 0 || gap < shortest {
			shortest = gap
		}
		prev = next
	}
	return shortest
}

// Expected lists the times a schedule called for in [from, to).
func Expected(spec string, from, to time.Time) ([]time.Time, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	// A schedule with no run left returns the zero time, which is before
	// every to.
	for t := s.Next(from.UTC().Add(-time.Nanosecond)); !t.IsZero() && t.Before(to); t = s.Next(t) {
		out = append(out, t)
	}
	return out, nil
}

// MaxStandbyDelay caps the default standby delay of long schedules: a daily
// run missed by a dead primary is taken over within a quarter of an hour.
const MaxStandbyDelay = 15 * time.Minute

// StandbyDelay is how long, by default, a sharded series' standby replica
// waits after a slot starts for its primary's snapshot: a quarter of the
// schedule's interval, at most MaxStandbyDelay. Long enough for a primary to start a run it was late for
// (jitter, a busy node), short enough that the standby's run ends well
// before the next slot.
func StandbyDelay(s cron.Schedule, now time.Time) time.Duration {
	return min(Interval(s, now)/4, MaxStandbyDelay)
}
