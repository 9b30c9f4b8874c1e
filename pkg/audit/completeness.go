package audit

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/exhibit-dev/exhibit/pkg/schedule"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// MaxExpectedRuns bounds how many scheduled runs the completeness stage
// enumerates for one series. A schedule such as "@every 2s" over a year calls
// for millions of runs; listing a gap for each would bury every other
// problem, so such a series is reported once, asking for a shorter period.
const MaxExpectedRuns = 100_000

// discoveryScope is the scope of the snapshot the agent writes when a
// collector could not even list its scopes. That series only exists when
// discovery fails, so it is not expected to run on the schedule itself.
const discoveryScope = "discovery"

// now is the clock that tells which runs can already be missing: a run due
// at slot may start until the next slot, so a slot is only judged once that
// window has closed. A period that reaches into the future is not a gap.
var now = time.Now

// run is what the completeness stage needs of one snapshot.
type run struct {
	started  time.Time
	schedule string
}

// observeRun records a readable snapshot of a series for the completeness
// stage, whether or not it started inside the period: the schedule in force
// and a late run can both come from outside it.
func (v *verifier) observeRun(series string, started time.Time, spec string) {
	if v.runs == nil {
		v.runs = map[string][]run{}
	}
	v.runs[series] = append(v.runs[series], run{started: started.UTC(), schedule: spec})
}

// completenessWanted reports whether a period was asked for. Its end is
// needed to count the runs a schedule called for; Verify makes it now when
// only the start was given. Without a start, each series is judged from its
// first snapshot.
func (v *verifier) completenessWanted() bool {
	return !v.opts.To.IsZero()
}

// completeness compares, for every series, the runs its schedule called for
// in [From, To) with the snapshots that exist, and reports each run that left
// no snapshot. A snapshot counts for a run due at slot when it started in
// [slot, next slot): a run may start late (jitter, a busy agent) but not
// before it was due, and one snapshot never covers two slots.
//
// The schedule is the one the snapshots themselves record. It applies from
// the first snapshot that carries it until a snapshot carries another, so a
// changed schedule is honoured from the run that introduced it, and a series
// is not expected to have run before its first snapshot. Runs due after the
// last snapshot are expected: a collector that stopped is a gap. An
// "@every" schedule has no fixed slots; everyGaps says how it is judged.
func (v *verifier) completeness(names []string) {
	for _, name := range names {
		runs := v.runs[name]
		if len(runs) == 0 || seriesScope(name) == discoveryScope {
			continue
		}
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].started.Before(runs[j].started) })
		for _, seg := range segments(runs, v.opts.To) {
			v.checkSegment(name, runs, seg)
		}
	}
}

// segment is a span of a series during which one schedule was in force.
type segment struct {
	spec       string
	start, end time.Time
}

func segments(runs []run, end time.Time) []segment {
	var out []segment
	for _, r := range runs {
		if r.schedule == "" {
			// Written without a schedule: nothing was promised.
			if n := len(out); n > 0 && out[n-1].spec != "" {
				out[n-1].end = r.started
			}
			out = append(out, segment{start: r.started})
			continue
		}
		if n := len(out); n > 0 && out[n-1].spec == r.schedule {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].end = r.started
		}
		out = append(out, segment{spec: r.schedule, start: r.started})
	}
	if n := len(out); n > 0 {
		out[n-1].end = end
	}
	return slices.DeleteFunc(out, func(s segment) bool { return s.spec == "" })
}

func (v *verifier) checkSegment(name string, runs []run, seg segment) {
	key := store.SeriesPrefix(name)
	gaps, err := segmentGaps(runs, seg, Period{From: v.opts.From, To: v.opts.To})
	if err != nil {
		v.problem(key, "%v", err)
		return
	}
	for _, slot := range gaps {
		v.problem(key, "gap: no snapshot for the run due %s (schedule %s)", slot.UTC().Format(time.RFC3339), seg.spec)
	}
}

// segmentGaps lists the slots of seg's schedule in the period (and in the
// segment) that no run covers. runs are the series' runs, sorted by start.
func segmentGaps(runs []run, seg segment, p Period) ([]time.Time, error) {
	sched, err := schedule.Parse(seg.spec)
	if err != nil {
		return nil, fmt.Errorf("completeness not checked: the snapshots record schedule %q, which is not a valid cron expression", seg.spec)
	}
	current := now()
	from := maxTime(p.From, seg.start)
	to := minTime(minTime(p.To, seg.end), current)
	if !from.Before(to) {
		return nil, nil
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		if n := to.Sub(from) / every.Delay; n > MaxExpectedRuns {
			return nil, tooMany(seg.spec, from, to)
		}
		return everyGaps(runs, seg, every.Delay, from, to, current), nil
	}
	// The slot the segment's first run belongs to started before that run;
	// that run is its evidence, so counting starts at the next slot. The
	// loop below is schedule.Expected, bounded.
	var slots []time.Time
	for t := sched.Next(from.UTC().Add(-time.Nanosecond)); t.Before(to); t = sched.Next(t) {
		if len(slots) == MaxExpectedRuns {
			return nil, tooMany(seg.spec, from, to)
		}
		slots = append(slots, t)
	}
	var gaps []time.Time
	for _, slot := range slots {
		next := sched.Next(slot)
		if next.After(current) {
			break // its window is still open
		}
		// The first run that started at or after the slot.
		i := sort.Search(len(runs), func(i int) bool { return !runs[i].started.Before(slot) })
		if i < len(runs) && runs[i].started.Before(next) {
			continue
		}
		gaps = append(gaps, slot)
	}
	return gaps, nil
}

func tooMany(spec string, from, to time.Time) error {
	return fmt.Errorf("completeness not checked: schedule %s calls for more than %d runs between %s and %s; verify a shorter period",
		spec, MaxExpectedRuns, from.Format(time.RFC3339), to.Format(time.RFC3339))
}

// everyGaps finds the gaps of an "@every d" segment. The daemon fires such a
// schedule every d counted from when it started, not at set times of the
// clock, and it restarts the count whenever it restarts; so the runs are due
// relative to one another, not on a grid. After a run that started at a, the
// next was due by a+d at the latest (the run at a was itself due at or
// before a), and a run that started at a+2d or later cannot be that one:
// each run anchors the slots after it, [a+kd, a+(k+1)d) for k ≥ 1, until the
// next run starts, and a slot whose window closed before then is a gap.
// Anchoring on the run rather than on the segment's first snapshot (or the
// period's start) never reports a run the daemon was not yet due to make,
// at a shutdown, say, while a run that was missed is still found.
func everyGaps(runs []run, seg segment, d time.Duration, from, to, current time.Time) []time.Time {
	var gaps []time.Time
	for i, r := range runs {
		if r.started.Before(seg.start) || !r.started.Before(seg.end) {
			continue
		}
		k := int64(1)
		if r.started.Add(d).Before(from) {
			k = int64((from.Sub(r.started) + d - 1) / d) // the first slot in the period
		}
		for ; ; k++ {
			slot := r.started.Add(time.Duration(k) * d)
			closes := slot.Add(d)
			if !slot.Before(to) || closes.After(current) {
				break
			}
			if i+1 < len(runs) && closes.After(runs[i+1].started) {
				break // the next run is in this slot's window, or an earlier one's
			}
			gaps = append(gaps, slot)
		}
	}
	return gaps
}

// Gap is a scheduled run of a series that left no snapshot.
type Gap struct {
	Series   string
	Due      time.Time
	Schedule string
}

// periodGaps finds the gaps of every series among members, knowing only the
// runs that started in the period: before a series' first snapshot in the
// period nothing is expected. Verify, which reads whole series, is the
// authority; this is for the report. A series whose schedule calls for too
// many runs is skipped.
func periodGaps(members []Member, p Period) []Gap {
	bySeries := map[string][]run{}
	for _, m := range members {
		s := m.Snapshot
		bySeries[s.Series] = append(bySeries[s.Series], run{started: s.StartedAt.UTC(), schedule: s.Schedule})
	}
	var out []Gap
	for _, name := range sortedSet(bySeries) {
		runs := bySeries[name]
		if seriesScope(name) == discoveryScope {
			continue
		}
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].started.Before(runs[j].started) })
		for _, seg := range segments(runs, p.To) {
			gaps, err := segmentGaps(runs, seg, p)
			if err != nil {
				continue
			}
			for _, g := range gaps {
				out = append(out, Gap{Series: name, Due: g, Schedule: seg.spec})
			}
		}
	}
	return out
}

func seriesScope(series string) string {
	for i := len(series) - 1; i >= 0; i-- {
		if series[i] == '/' {
			return series[i+1:]
		}
	}
	return series
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
