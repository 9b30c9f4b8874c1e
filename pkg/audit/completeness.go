package audit

import (
	"fmt"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
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
	seq      int64
	status   evidence.Status
	errs     int    // how many errors it records
	firstErr string // the first of them, escaped and cut to maxErrorText
}

// maxErrorText bounds the error a run keeps for its problem or note: the
// stage holds every run of the store, and an error can be as long as a
// snapshot.
const maxErrorText = 500

func newRun(seq int64, snap *evidence.Snapshot) run {
	r := run{started: snap.StartedAt.UTC(), schedule: snap.Schedule, seq: seq, status: snap.Status, errs: len(snap.Errors)}
	if len(snap.Errors) > 0 {
		e := snap.Errors[0]
		text := e.Where + ": "
		if e.Operation != "" {
			text += e.Operation + ": "
		}
		text += e.Message
		if len(text) > maxErrorText {
			cut := maxErrorText
			for cut > 0 && !utf8.RuneStart(text[cut]) {
				cut--
			}
			text = text[:cut] + "…"
		}
		r.firstErr = EscapeText(text)
	}
	return r
}

// observeRun records a readable snapshot of a series for the completeness
// stage, whether or not it started inside the period: the schedule in force
// and a late run can both come from outside it.
func (v *verifier) observeRun(series string, seq int64, snap *evidence.Snapshot) {
	if v.runs == nil {
		v.runs = map[string][]run{}
	}
	v.runs[series] = append(v.runs[series], newRun(seq, snap))
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
// no snapshot, or only failed ones, as a problem and each run that was only
// partly collected as a note; it counts them per series in the report. A
// snapshot counts for a run due at slot when it started in [slot, next
// slot): a run may start late (jitter, a busy agent) but not before it was
// due, and one snapshot never covers two slots. Of several snapshots in one
// slot (a run retried, two replicas) the best decides it: complete, then
// partial, then failed.
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
		if len(runs) == 0 {
			continue
		}
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].started.Before(runs[j].started) })
		counts := SeriesRuns{Series: name, Checked: true}
		if seriesScope(name) == discoveryScope {
			v.checkDiscovery(name, runs, &counts)
		} else {
			for _, seg := range segments(runs, v.opts.To) {
				v.checkSegment(name, runs, seg, &counts)
			}
		}
		v.report.Runs = append(v.report.Runs, counts)
	}
}

// SeriesRuns counts, for one series, how the runs its schedule called for in
// the period went.
type SeriesRuns struct {
	Series   string `json:"series"`
	Complete int    `json:"complete"`
	Partial  int    `json:"partial"`
	Failed   int    `json:"failed"`
	Missing  int    `json:"missing"`
	// Checked is false when part of the period could not be judged (a
	// schedule that is not valid, or calls for too many runs): a problem
	// says why, and the counts leave that part out.
	Checked bool `json:"checked"`
}

// checkDiscovery judges a discovery series: each of its snapshots is a run
// whose collector could not list its scopes, so it collected nothing. The
// series has no schedule of its own to hold it to (it exists only when
// discovery fails), so each snapshot in the period is judged as it stands.
// The runs its failure cost the collector's other series show as their gaps.
func (v *verifier) checkDiscovery(name string, runs []run, counts *SeriesRuns) {
	for i := range runs {
		if v.inPeriod(runs[i].started) {
			v.judge(name, runs[i].schedule, slot{by: &runs[i]}, counts)
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

func (v *verifier) checkSegment(name string, runs []run, seg segment, counts *SeriesRuns) {
	slots, err := segmentSlots(runs, seg, Period{From: v.opts.From, To: v.opts.To})
	if err != nil {
		v.problem(store.SeriesPrefix(name), "%v", err)
		counts.Checked = false
		return
	}
	for _, s := range slots {
		v.judge(name, seg.spec, s, counts)
	}
}

// judge counts one slot and reports it unless its run was complete: missing
// and failed runs are problems (failed ones notes with AllowFailedRuns), a
// partial one is a note, since what it did gather stands.
func (v *verifier) judge(name, spec string, s slot, counts *SeriesRuns) {
	key := store.SeriesPrefix(name)
	r := s.by
	if r == nil {
		counts.Missing++
		v.problem(key, "gap: no snapshot for the run %s (schedule %s)", s.when(), spec)
		return
	}
	snapKey := Escape(store.SnapshotKey(name, r.seq))
	switch r.status {
	case evidence.StatusComplete:
		counts.Complete++
	case evidence.StatusPartial:
		counts.Partial++
		v.note(key, "partial collection: the run %s (schedule %s) gathered only part of its evidence, %d error(s), the first: %s (%s)",
			s.when(), spec, r.errs, r.firstErr, snapKey)
	default: // failed: Parse admits no other status
		counts.Failed++
		report := v.problem
		if v.opts.AllowFailedRuns {
			report = v.note
		}
		report(key, "collection failed: the run %s (schedule %s) failed: %s (%s)", s.when(), spec, r.firstErr, snapKey)
	}
}

// slot is one run a schedule called for, and the snapshot that decides it:
// the best one in its window, or nil when it left none.
type slot struct {
	due time.Time // zero when only the run's start is known (@every, discovery)
	by  *run
}

func (s slot) when() string {
	if s.due.IsZero() {
		return "started " + s.by.started.Format(time.RFC3339)
	}
	return "due " + s.due.UTC().Format(time.RFC3339)
}

// rank orders statuses from worst to best, for the run that decides a slot.
func rank(s evidence.Status) int {
	switch s {
	case evidence.StatusComplete:
		return 3
	case evidence.StatusPartial:
		return 2
	}
	return 1
}

// bestRun is the best of the runs (sorted by start) that started in
// [start, end), the earliest of equals; nil when none did.
func bestRun(runs []run, start, end time.Time) *run {
	var best *run
	for i := sort.Search(len(runs), func(i int) bool { return !runs[i].started.Before(start) }); i < len(runs) && runs[i].started.Before(end); i++ {
		if best == nil || rank(runs[i].status) > rank(best.status) {
			best = &runs[i]
		}
	}
	return best
}

// segmentSlots lists the slots of seg's schedule in the period (and in the
// segment) whose window has closed, each with the run that decides it. runs
// are the series' runs, sorted by start.
func segmentSlots(runs []run, seg segment, p Period) ([]slot, error) {
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
		return everySlots(runs, seg, every.Delay, from, to, current), nil
	}
	var slots []slot
	first := sched.Next(from.UTC().Add(-time.Nanosecond))
	// The slot the period (or the segment) begins in was due before it:
	// nothing was expected of it, so it is no gap, but a run that started
	// in it since is judged as that slot's run. The segment's first run is
	// one: its slot began before it did.
	if first.After(from) && !first.After(current) {
		if due, ok := prevSlot(sched, from); ok {
			if r := bestRun(runs, from, minTime(first, to)); r != nil {
				slots = append(slots, slot{due: due, by: r})
			}
		}
	}
	// The loop below is schedule.Expected, bounded.
	var due []time.Time
	for t := first; t.Before(to); t = sched.Next(t) {
		if len(due) == MaxExpectedRuns {
			return nil, tooMany(seg.spec, from, to)
		}
		due = append(due, t)
	}
	for _, t := range due {
		next := sched.Next(t)
		if next.After(current) {
			break // its window is still open
		}
		slots = append(slots, slot{due: t, by: bestRun(runs, t, next)})
	}
	return slots, nil
}

// prevSlot is the latest time at or before t that sched fires, looking back
// by doubling steps: once a step finds none, the schedule's interval is
// longer than half the next, so that one holds only a few firings.
func prevSlot(sched cron.Schedule, t time.Time) (time.Time, bool) {
	for back := time.Second; back < 20*365*24*time.Hour; back *= 2 {
		s := sched.Next(t.Add(-back))
		if s.IsZero() || s.After(t) {
			continue
		}
		for n := sched.Next(s); !n.IsZero() && !n.After(t); n = sched.Next(n) {
			s = n
		}
		return s, true
	}
	return time.Time{}, false
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

// everySlots is the slots of an "@every" segment: each run in the period
// stands for its own slot, and everyGaps adds the slots no run covers.
func everySlots(runs []run, seg segment, d time.Duration, from, to, current time.Time) []slot {
	var slots []slot
	for i := range runs {
		r := &runs[i]
		if !r.started.Before(seg.start) && r.started.Before(seg.end) && !r.started.Before(from) && r.started.Before(to) {
			slots = append(slots, slot{by: r})
		}
	}
	for _, g := range everyGaps(runs, seg, d, from, to, current) {
		slots = append(slots, slot{due: g})
	}
	slices.SortStableFunc(slots, func(a, b slot) int { return a.start().Compare(b.start()) })
	return slots
}

// start is when a slot's window opened, as far as is known.
func (s slot) start() time.Time {
	if s.due.IsZero() {
		return s.by.started
	}
	return s.due
}

// Gap is a scheduled run of a series that left no snapshot.
type Gap struct {
	Series   string
	Due      time.Time
	Schedule string
}

// periodGaps finds the gaps of every series among its runs (bySeries, by
// series name), knowing only the runs that started in the period: before a
// series' first snapshot in the period nothing is expected. Verify, which
// reads whole series, is the authority; this is for the report. A series
// whose schedule calls for too many runs is skipped.
func periodGaps(bySeries map[string][]run, p Period) []Gap {
	var out []Gap
	for _, name := range sortedSet(bySeries) {
		runs := bySeries[name]
		if seriesScope(name) == discoveryScope {
			continue
		}
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].started.Before(runs[j].started) })
		for _, seg := range segments(runs, p.To) {
			slots, err := segmentSlots(runs, seg, p)
			if err != nil {
				continue
			}
			for _, s := range slots {
				if s.by == nil {
					out = append(out, Gap{Series: name, Due: s.due, Schedule: seg.spec})
				}
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
