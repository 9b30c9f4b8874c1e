package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// ReportOptions shape an HTML report.
type ReportOptions struct {
	Period Period
	// Store names the store in the heading.
	Store string
	// Organization is the name of the organisation the evidence is about.
	Organization string
	// Generated is when the report is made; now when zero. Days of the
	// period after it are shown as future, not as missing evidence.
	Generated time.Time
	// Catalog names criteria; Default() when nil.
	Catalog *controls.Catalog
}

// Day statuses in the report, from worst to best. A day takes the worst
// status of the control's findings, collections and gaps that day.
const (
	DayFail = "fail"
	// DayFailed is a day with a collection that failed as a whole: the
	// control was not evidenced by that run, which is a failure of its own
	// kind rather than an absence of evidence.
	DayFailed = "failed"
	DayError  = "error"
	// DayPartial is a day whose collection was partial (some calls or
	// scopes failed) and no check failed: not a day the control is shown
	// to hold.
	DayPartial = "partial"
	DayGap     = "gap"
	DayPass    = "pass"
	DayNone    = "none"
	// DayFuture is a day of the period after the report was made.
	DayFuture = "future"
)

var dayRank = map[string]int{DayFail: 0, DayFailed: 1, DayError: 2, DayPartial: 3, DayGap: 4, DayPass: 5, DayNone: 6, DayFuture: 7}

var dayNote = map[string]string{DayFail: "a check failed", DayFailed: "a collection failed", DayError: "a check could not be decided",
	DayPartial: "a collection was partial", DayGap: "a scheduled run left no snapshot", DayPass: "every check passed",
	DayNone: "no evidence", DayFuture: "after this report was made"}

// Verdicts of a control over the period, worst first.
const (
	VerdictFailing    = "failing"
	VerdictIncomplete = "incomplete"
	VerdictHolding    = "holding"
	VerdictNone       = "no-evidence"
)

// severityRank orders checks worst first (lower is worse) for the report's
// and the changes' "worst failures first", by the catalog's severity of
// each check; a check the catalog does not know ranks last.
func severityRank(cat *controls.Catalog, check string) int {
	ch, ok := cat.Check(check)
	if !ok {
		return len(controls.Severities) + 1
	}
	return controls.SeverityRank(ch.Severity)
}

type reportDay struct {
	Date   string
	Status string
	Note   string
	Col    int // grid column of the day's week
	Row    int // grid row of its weekday
}

// reportCalendar is up to 53 weeks of a control's days, one column per
// week (Monday first), with month and ISO week labels.
type reportCalendar struct {
	Columns int
	Label   string
	Months  []reportLabel
	Weeks   []reportLabel
	Days    []reportDay
}

type reportLabel struct {
	Col, Span int
	Text      string
	Title     string
}

// reportFinding is one failing or undecided (check, resource, status) over
// the period: a finding that fails in every run of an hourly collector is
// one row, with when it was first and last seen and the evidence of both,
// not one row per run. Reason is the latest one, and so are Accepted and
// Expired: the accepted risk the latest sighting carried, or the one that
// had lapsed by then. Accepted counts the sightings that carried one.
type reportFinding struct {
	Check, Resource, Status, Reason string
	Times                           int
	AcceptedTimes                   int
	Accepted                        *evidence.Acceptance
	Expired                         *evidence.ExpiredAcceptance
	First, Last                     reportSighting
}

type reportSighting struct {
	Started, Key, SHA256 string
}

// reportCollection is a failed or partial collection: what failed, with
// the snapshot that says so.
type reportCollection struct {
	Started, Key, SHA256, Status string
	Errors                       []evidence.RunError
	MoreErrors                   int
}

// maxCollectionsShown bounds the failed and partial collections listed per
// control; the rest are counted (exhibit verify and sample list them all).
const maxCollectionsShown = 50

// reportSeries summarises one series' snapshots for a control.
type reportSeries struct {
	Series                    string
	Snapshots                 int
	Complete, Partial, Failed int
	First, Last               reportSighting
}

type reportGap struct {
	Series, Due, Schedule string
}

type reportControl struct {
	Ref, Title, Requirement string
	anchor                  int // the control's number in the order first seen; its anchor is "c" and the number
	Verdict                 string
	VerdictText             string
	Latest                  string
	days                    []reportDay
	Calendars               []reportCalendar
	DayCounts               map[string]int
	Counts                  map[string]int
	Failing                 []*reportFinding
	FailingTimes            int
	failingBy               map[[3]string]*reportFinding
	Gaps                    []reportGap
	Collections             []reportCollection
	MoreCollections         int
	Series                  []*reportSeries
	seriesBy                map[string]*reportSeries
	Changes                 *ControlChanges
}

type reportSummary struct {
	Verdict, Heading, Text string
	Controls               []*reportControl
	Uncovered              []controls.Criterion
}

type reportData struct {
	Organization string
	Store        string
	From, To     string
	FromDay      string
	ToDay        string
	Days         int
	Generated    string
	Future       bool
	Snapshots    int
	Series       int
	Controls     []*reportControl
	Summary      []reportSummary
	Uncovered    []controls.Criterion
	Changes      int
	Legend       []reportLabel
}

// ErrNoSnapshots means the period has no snapshot to report on.
var ErrNoSnapshots = errors.New("no snapshot started in the period")

// WriteReport renders one self-contained HTML page for the person who
// takes it into the audit: a summary of every control's verdict, then per
// control the verdict in words, a calendar of its days (pass, fail, failed
// or partial collection, gap, no evidence, future), the findings that
// changed over the period, the failing findings worst first, the failed
// and partial collections and the gaps, and its evidence series with
// digests. Gaps are counted from the snapshots in the period (see
// periodGaps); exhibit verify --from --to is the authority on completeness.
// The page has no scripts and loads nothing; it prints as a clean document.
//
// The members are read in start order and let go: what is kept is per
// control (its days, its distinct failing findings, at most
// maxCollectionsShown collections), per finding (its changes) and, for
// the gaps, the start, schedule and status of each run. The page is
// written once every member is read, so nothing is written when one
// cannot be, nor (ErrNoSnapshots) when none started in the period.
func WriteReport(ctx context.Context, w io.Writer, members Members, opts ReportOptions) error {
	cat := opts.Catalog
	if cat == nil {
		var err error
		if cat, err = controls.Default(); err != nil {
			return err
		}
	}
	generated := opts.Generated
	if generated.IsZero() {
		generated = now()
	}
	generated = generated.UTC()
	days := opts.Period.Days()
	dayIndex := map[string]int{}
	for i, d := range days {
		dayIndex[d.Format(time.DateOnly)] = i
	}
	byRef := map[string]*reportControl{}
	get := func(ref string) *reportControl {
		c := byRef[ref]
		if c == nil {
			c = &reportControl{Ref: ref, Title: "(not in the catalog)", anchor: len(byRef), Counts: map[string]int{},
				DayCounts: map[string]int{}, failingBy: map[[3]string]*reportFinding{}, seriesBy: map[string]*reportSeries{}}
			if cr, ok := cat.Criterion(ref); ok {
				c.Title, c.Requirement = cr.Title, cr.Requirement
			}
			c.days = make([]reportDay, len(days))
			for i, d := range days {
				c.days[i] = reportDay{Date: d.Format(time.DateOnly), Status: DayNone}
			}
			byRef[ref] = c
		}
		return c
	}
	mark := func(c *reportControl, day time.Time, status string) {
		i, ok := dayIndex[day.UTC().Format(time.DateOnly)]
		if ok && dayRank[status] < dayRank[c.days[i].Status] {
			c.days[i].Status = status
		}
	}
	tracker := NewChangeTracker()
	seriesRefs := map[string][]string{}
	runs := map[string][]run{}
	snapshots := 0
	err := members.Each(ctx, ByStart, func(m Member) error {
		s := m.Snapshot
		if err := tracker.Add(m); err != nil {
			return err
		}
		snapshots++
		runs[s.Series] = append(runs[s.Series], newRun(s.Seq, s))
		started := s.StartedAt.UTC().Format(time.RFC3339)
		at := reportSighting{Started: started, Key: m.Key, SHA256: m.SHA256}
		refsHere := map[string]bool{}
		for _, ref := range s.Controls {
			refsHere[ref] = true
		}
		for _, f := range s.Findings {
			for _, ref := range f.Controls {
				c := get(ref)
				refsHere[ref] = true
				switch f.Status {
				case evidence.Pass:
					mark(c, s.StartedAt, DayPass)
				case evidence.Fail, evidence.Error:
					status := DayFail
					switch {
					case f.Status == evidence.Fail:
					case s.Status == evidence.StatusFailed:
						status = DayFailed
					default:
						status = DayError
					}
					mark(c, s.StartedAt, status)
					c.failing(f, at)
				}
				c.Counts[string(f.Status)]++
			}
		}
		for ref := range refsHere {
			c := get(ref)
			switch s.Status {
			case evidence.StatusFailed:
				c.Counts[DayFailed]++
				mark(c, s.StartedAt, DayFailed)
				c.collection(m, at)
			case evidence.StatusPartial:
				c.Counts[DayPartial]++
				mark(c, s.StartedAt, DayPartial)
				c.collection(m, at)
			}
			c.series(s, at)
			if !slices.Contains(seriesRefs[s.Series], ref) {
				seriesRefs[s.Series] = append(seriesRefs[s.Series], ref)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if snapshots == 0 {
		return ErrNoSnapshots
	}
	for _, g := range periodGaps(runs, opts.Period) {
		if g.Due.After(generated) {
			continue // not missed yet when the report was made
		}
		for _, ref := range seriesRefs[g.Series] {
			c := byRef[ref]
			mark(c, g.Due, DayGap)
			c.Gaps = append(c.Gaps, reportGap{Series: g.Series, Due: g.Due.UTC().Format(time.RFC3339), Schedule: g.Schedule})
			c.Counts[DayGap]++
		}
	}
	changes := tracker.Result(cat, opts.Period)
	for i := range changes.Controls {
		if c := byRef[changes.Controls[i].Control]; c != nil {
			c.Changes = &changes.Controls[i]
		}
	}
	today := generated.Format(time.DateOnly)
	future := false
	for _, c := range byRef {
		for i := range c.days {
			d := &c.days[i]
			if d.Date > today && d.Status == DayNone {
				d.Status, future = DayFuture, true
			}
			d.Note = d.Date + " (" + days[i].Weekday().String()[:3] + "): " + dayNote[d.Status]
			c.DayCounts[d.Status]++
		}
		c.Calendars = calendars(c.days, days)
		c.verdict()
		slices.SortStableFunc(c.Failing, func(a, b *reportFinding) int {
			return cmp.Or(cmp.Compare(severityRank(cat, a.Check), severityRank(cat, b.Check)),
				cmp.Compare(statusRank(a.Status), statusRank(b.Status)), cmp.Compare(b.Times, a.Times),
				cmp.Compare(a.Check, b.Check), cmp.Compare(a.Resource, b.Resource))
		})
	}

	data := reportData{
		Organization: opts.Organization,
		Store:        opts.Store,
		From:         opts.Period.From.UTC().Format(time.RFC3339),
		To:           opts.Period.To.UTC().Format(time.RFC3339),
		FromDay:      opts.Period.From.UTC().Format("2 January 2006"),
		ToDay:        opts.Period.To.UTC().Add(-time.Nanosecond).Format("2 January 2006"),
		Days:         len(days),
		Generated:    generated.Format(time.RFC3339),
		Future:       future,
		Snapshots:    snapshots,
	}
	for _, st := range []string{DayPass, DayFail, DayFailed, DayPartial, DayError, DayGap, DayNone, DayFuture} {
		data.Legend = append(data.Legend, reportLabel{Text: st, Title: dayNote[st]})
	}
	data.Series = len(runs)
	ordered := sortRefs(cat, sortedSet(byRef))
	verdicts := []string{VerdictFailing, VerdictIncomplete, VerdictHolding}
	for _, v := range verdicts {
		for _, ref := range ordered {
			if byRef[ref].Verdict == v {
				data.Controls = append(data.Controls, byRef[ref])
			}
		}
	}
	for _, cr := range cat.Criteria() {
		if cr.InScope && byRef[cr.Ref] == nil {
			data.Uncovered = append(data.Uncovered, cr)
		}
	}
	for _, cc := range changes.Controls {
		data.Changes += cc.Total()
	}
	heads := map[string][2]string{
		VerdictFailing:    {"Failing", "a check failed on at least one day of the period"},
		VerdictIncomplete: {"Not shown every day", "no failing check, but failed or partial collections, gaps, or days without evidence"},
		VerdictHolding:    {"Holding", "every check passed on every day of the period so far"},
		VerdictNone:       {"Without evidence", "in-scope criteria no snapshot of the period evidences"},
	}
	for _, v := range append(verdicts, VerdictNone) {
		sum := reportSummary{Verdict: v, Heading: heads[v][0], Text: heads[v][1]}
		for _, c := range data.Controls {
			if c.Verdict == v {
				sum.Controls = append(sum.Controls, c)
			}
		}
		if v == VerdictNone {
			sum.Uncovered = data.Uncovered
		}
		data.Summary = append(data.Summary, sum)
	}
	return writeReportHTML(w, &data)
}

func statusRank(s string) int {
	if s == string(evidence.Fail) {
		return 0
	}
	return 1
}

// verdict puts the control's days into words.
func (c *reportControl) verdict() {
	n := c.DayCounts
	past := len(c.days) - n[DayFuture]
	for i := len(c.days) - 1; i >= 0; i-- {
		if st := c.days[i].Status; st != DayFuture && st != DayNone && st != DayGap {
			c.Latest = c.days[i].Date + ": " + dayNote[st]
			break
		}
	}
	var issues []string
	add := func(k, one string) {
		if n[k] > 0 {
			issues = append(issues, fmt.Sprintf("%d day(s) %s", n[k], one))
		}
	}
	// Collections and runs are counted as such: a partial run on a day a
	// check failed anyway is still named.
	count := func(k, what string) {
		if c.Counts[k] > 0 {
			issues = append(issues, fmt.Sprintf("%d %s", c.Counts[k], what))
		}
	}
	count(DayFailed, "failed collection(s)")
	count(DayPartial, "partial collection(s)")
	count(DayGap, "scheduled run(s) that left no snapshot")
	add(DayError, "with a check that could not be decided")
	add(DayNone, "without evidence")
	switch {
	case n[DayFail] > 0:
		c.Verdict = VerdictFailing
		c.VerdictText = fmt.Sprintf("Failing: a check failed on %d of the %d day(s) of the period so far.", n[DayFail], past)
		if len(issues) > 0 {
			c.VerdictText += " Also " + strings.Join(issues, ", ") + "."
		}
	case len(issues) > 0:
		c.Verdict = VerdictIncomplete
		c.VerdictText = fmt.Sprintf("Not shown to hold every day of the %d so far: no check failed, but %s.", past, strings.Join(issues, ", "))
		if n[DayPass] == 0 {
			c.VerdictText += " No day of the period shows every check passing."
		}
	default:
		c.Verdict = VerdictHolding
		c.VerdictText = fmt.Sprintf("Held on every one of the %d day(s) of the period so far.", past)
	}
	if n[DayFuture] > 0 {
		c.VerdictText += fmt.Sprintf(" %d day(s) of the period are still to come.", n[DayFuture])
	}
}

// calendars lays the days out in columns of weeks, Monday first, in
// blocks of at most 53 weeks so a long period stays readable.
func calendars(cells []reportDay, days []time.Time) []reportCalendar {
	if len(days) == 0 {
		return nil
	}
	monday := func(d time.Time) time.Time {
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	}
	var out []reportCalendar
	var cal *reportCalendar
	var start time.Time
	lastMonthCol := -10
	for i, d := range days {
		week := monday(d)
		if cal == nil || int(week.Sub(start).Hours()/24/7) >= 53 {
			out = append(out, reportCalendar{})
			cal = &out[len(out)-1]
			start, lastMonthCol = week, -10
		}
		col := int(week.Sub(start).Hours()/24/7) + 2 // column 1 holds the weekday names
		if col > cal.Columns {
			cal.Columns = col
			_, wk := week.ISOWeek()
			cal.Weeks = append(cal.Weeks, reportLabel{Col: col, Text: fmt.Sprint(wk), Title: "week " + fmt.Sprint(wk) + ", from " + week.Format("2 Jan 2006")})
		}
		if i == 0 || d.Day() == 1 {
			if col-lastMonthCol < 3 && len(cal.Months) > 0 {
				// Too close to the last label to have its own: share it.
				prev := &cal.Months[len(cal.Months)-1]
				prev.Text = strings.TrimSuffix(prev.Text, d.Format(" 2006")) + " / " + d.Format("Jan 2006")
				prev.Title += " / " + d.Format("January 2006")
			} else {
				text := d.Format("Jan") // the year only where it starts or changes, so labels fit a printed page
				if len(cal.Months) == 0 || d.Month() == time.January {
					text = d.Format("Jan 2006")
				}
				cal.Months = append(cal.Months, reportLabel{Col: col, Span: 3, Text: text, Title: d.Format("January 2006")})
				lastMonthCol = col
			}
		}
		c := cells[i]
		c.Col, c.Row = col, (int(d.Weekday())+6)%7+2 // row 1 holds the months
		cal.Days = append(cal.Days, c)
	}
	for i := range out {
		cal := &out[i]
		cal.Columns-- // weeks, without the weekday column
		cal.Label = cal.Days[0].Date + " to " + cal.Days[len(cal.Days)-1].Date
	}
	return out
}

// failing adds one sighting of a failing or undecided finding.
func (c *reportControl) failing(f evidence.Finding, at reportSighting) {
	c.FailingTimes++
	k := [3]string{f.Check, f.Resource, string(f.Status)}
	rf := c.failingBy[k]
	if rf == nil {
		rf = &reportFinding{Check: f.Check, Resource: f.Resource, Status: string(f.Status), First: at}
		c.failingBy[k] = rf
		c.Failing = append(c.Failing, rf)
	}
	rf.Times++
	if f.Accepted != nil {
		rf.AcceptedTimes++
		c.Counts["accepted"]++
	}
	if at.Started >= rf.Last.Started {
		rf.Last, rf.Reason = at, f.Reason
		rf.Accepted, rf.Expired = f.Accepted, f.AcceptanceExpired
	}
	if at.Started < rf.First.Started {
		rf.First = at
	}
}

// collection records a failed or partial collection.
func (c *reportControl) collection(m Member, at reportSighting) {
	if len(c.Collections) >= maxCollectionsShown {
		c.MoreCollections++
		return
	}
	rc := reportCollection{Started: at.Started, Key: at.Key, SHA256: at.SHA256, Status: string(m.Snapshot.Status)}
	rc.Errors = m.Snapshot.Errors
	if len(rc.Errors) > 3 {
		rc.Errors, rc.MoreErrors = rc.Errors[:3], len(rc.Errors)-3
	}
	c.Collections = append(c.Collections, rc)
}

// series counts one snapshot of a series that evidences the control.
func (c *reportControl) series(s *evidence.Snapshot, at reportSighting) {
	rs := c.seriesBy[s.Series]
	if rs == nil {
		rs = &reportSeries{Series: s.Series, First: at}
		c.seriesBy[s.Series] = rs
		c.Series = append(c.Series, rs)
	}
	rs.Snapshots++
	switch s.Status {
	case evidence.StatusFailed:
		rs.Failed++
	case evidence.StatusPartial:
		rs.Partial++
	default:
		rs.Complete++
	}
	rs.Last = at
}
