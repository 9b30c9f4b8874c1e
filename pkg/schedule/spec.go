// Package schedule runs collectors on cron schedules: standard five-field
// expressions and descriptors (@daily, @every 5m), never two runs of one job
// at once, each run under its own timeout, with optional jitter. An
// "@every d" schedule fires at the start of each of the clock's d-long
// windows (multiples of d since the Unix epoch), not every d from when the
// process started, so replicas and restarts keep to the same slots.
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

// Window is the start of the clock's d-long window that t falls in: the
// latest multiple of d since the Unix epoch at or before t, in UTC. These are
// the slots of an "@every d" schedule, at whose starts the runner fires it,
// so every process that runs one agrees on them whenever it started. A d of
// zero or less has no windows: t is returned as it is.
func Window(d time.Duration, t time.Time) time.Time {
	t = t.UTC()
	switch {
	case d <= 0:
		return t
	case d%time.Second == 0:
		// Whole seconds, as Parse requires, count from Unix seconds, which
		// do not overflow for any time of a practical year.
		sec, n := t.Unix(), int64(d/time.Second)
		return time.Unix(sec-mod(sec, n), 0).UTC()
	}
	ns, n := t.UnixNano(), int64(d)
	return time.Unix(0, ns-mod(ns, n)).UTC()
}

// mod is a modulo n that is never negative, for times before 1970.
func mod(a, n int64) int64 {
	m := a % n
	if m < 0 {
		m += n
	}
	return m
}

// windows is how the runner fires an "@every" schedule: at the start of
// each of the clock's windows of its interval (see Window), rather than every
// interval from when the process started as the cron library's own
// schedule does.
type windows struct{ every time.Duration }

// Next is the start of the window after the one t falls in: always after t.
func (w windows) Next(t time.Time) time.Time { return Window(w.every, t).Add(w.every) }

// firing is the schedule the runner follows for s: the clock's windows for
// an "@every" schedule, s itself for a cron expression or another descriptor.
func firing(s cron.Schedule) cron.Schedule {
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		return windows{every: c.Delay}
	}
	return s
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
