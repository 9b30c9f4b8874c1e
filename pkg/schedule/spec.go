// Package schedule runs collectors on cron schedules: standard five-field
// expressions and descriptors (@daily, @every 5m), never two runs of one job
// at once, each run under its own timeout, with optional jitter.
package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse reads a cron expression or descriptor.
func Parse(spec string) (cron.Schedule, error) {
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q: %w", spec, err)
	}
	return s, nil
}

// Expected lists the times a schedule called for in [from, to).
func Expected(spec string, from, to time.Time) ([]time.Time, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for t := s.Next(from.UTC().Add(-time.Nanosecond)); t.Before(to); t = s.Next(t) {
		out = append(out, t)
	}
	return out, nil
}
