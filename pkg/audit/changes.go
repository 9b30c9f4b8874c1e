package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// ChangesSchema names the JSON document exhibit diff writes.
const ChangesSchema = "exhibit.dev/changes/v1"

// The kinds of change a finding (check × resource) can go through over a
// period. Only decided statuses count: an error or not_applicable (a failed
// collection, say) neither resolves nor reopens a finding.
const (
	// ChangeAppeared: passing (or not yet there) when the period began,
	// failing at its end, with one change in between.
	ChangeAppeared = "appeared"
	// ChangeResolved: failing when the period began, passing (or no longer
	// reported by a complete run) at its end.
	ChangeResolved = "resolved"
	// ChangeFlipped: changed more than once (pass → fail → pass …).
	ChangeFlipped = "flipped"
)

// StatusAbsent is a finding's status at the start of the period when its
// series had already reported without it: a resource or check that came
// later.
const StatusAbsent = "absent"

// ChangeEvidence names one snapshot a change is read from.
type ChangeEvidence struct {
	Series    string    `json:"series"`
	Seq       int64     `json:"seq"`
	Key       string    `json:"key"`
	SHA256    string    `json:"sha256"`
	StartedAt time.Time `json:"started_at"`
	// Status is the finding's status in that snapshot.
	Status string `json:"status"`
}

// Change is what happened to one finding over the period.
type Change struct {
	Check    string `json:"check"`
	Resource string `json:"resource"`
	Kind     string `json:"change"`
	// Start and End are the finding's first and last status in the period
	// ("pass", "fail" or "absent"): Start is absent for a finding that came
	// after its series' first snapshot of the period, End for one that a
	// later complete run of its series no longer reports.
	Start string `json:"status_at_start"`
	End   string `json:"status_at_end"`
	// Transitions counts the changes between pass and fail (absent → fail
	// is one).
	Transitions int `json:"transitions"`
	// Before is the last evidence of the finding before its first change
	// (none when it was absent).
	Before *ChangeEvidence `json:"before,omitempty"`
	// First is the first evidence of the change: the first failing
	// snapshot of an appeared finding, the first passing one of a resolved
	// finding, the first changed one of a flipped finding.
	First ChangeEvidence `json:"first"`
	// LastChange is the evidence of the latest change (First when there was
	// one change).
	LastChange ChangeEvidence `json:"last_change"`
	// Last is the latest evidence of the finding in the period.
	Last     ChangeEvidence `json:"last"`
	controls []string
}

// ControlChanges are the changes of the findings that support one control.
type ControlChanges struct {
	Control  string   `json:"control"`
	Title    string   `json:"title,omitempty"`
	Appeared []Change `json:"appeared"`
	Resolved []Change `json:"resolved"`
	Flipped  []Change `json:"flipped"`
}

// Total is the number of changes.
func (c ControlChanges) Total() int { return len(c.Appeared) + len(c.Resolved) + len(c.Flipped) }

// Changes is the document exhibit diff writes.
type Changes struct {
	Schema    string           `json:"schema"`
	From      time.Time        `json:"from"`
	To        time.Time        `json:"to"`
	Store     string           `json:"store,omitempty"`
	Snapshots int              `json:"snapshots"`
	Findings  int              `json:"findings"`
	Controls  []ControlChanges `json:"controls"`
}

type changeState struct {
	start, cur              string
	transitions             int
	before                  *ChangeEvidence
	first, lastChange, prev ChangeEvidence
	controls                []string
}

// ChangeTracker follows every finding through a period, one snapshot at a
// time in the order they started, holding one small state per (check,
// resource) and nothing of the snapshots themselves: a year of hourly runs
// costs what its distinct findings cost.
type ChangeTracker struct {
	state     map[[2]string]*changeState
	seen      map[string]bool // series that reported a decided finding
	bySeries  map[string]map[[2]string]*changeState
	last      time.Time
	snapshots int
}

// NewChangeTracker starts an empty tracker.
func NewChangeTracker() *ChangeTracker {
	return &ChangeTracker{state: map[[2]string]*changeState{}, seen: map[string]bool{}, bySeries: map[string]map[[2]string]*changeState{}}
}

// Add takes the next snapshot of the period. Snapshots must come in the
// order they started (see SortByStart); one that started earlier than the
// one before is refused, since the changes would be read backwards.
func (t *ChangeTracker) Add(m Member) error {
	s := m.Snapshot
	if s.StartedAt.Before(t.last) {
		return fmt.Errorf("changes: %s started at %s, before the snapshot added before it", Escape(m.Key), s.StartedAt.UTC().Format(time.RFC3339))
	}
	t.last = s.StartedAt
	t.snapshots++
	decided := false
	here := map[[2]string]bool{}
	for _, f := range s.Findings {
		k := [2]string{f.Check, f.Resource}
		here[k] = true // undecided is still reported, not gone
		if f.Status != evidence.Pass && f.Status != evidence.Fail {
			continue
		}
		decided = true
		t.observe(k, s.Series, string(f.Status), m, f.Controls)
	}
	// A complete run that no longer reports a finding says it is gone (the
	// resource was deleted, or the failure no longer applies). A partial or
	// failed run says nothing about what it did not reach.
	if decided && s.Status == evidence.StatusComplete {
		for k, fs := range t.bySeries[s.Series] {
			if !here[k] && fs.cur != StatusAbsent {
				t.observe(k, s.Series, StatusAbsent, m, nil)
			}
		}
	}
	if decided {
		t.seen[s.Series] = true
	}
	return nil
}

// observe moves one finding to a status seen in m: "pass", "fail" or
// "absent". Only a change that involves a failure counts: pass → absent
// (a passing resource deleted) and absent → pass are not changes.
func (t *ChangeTracker) observe(k [2]string, series, st string, m Member, refs []string) {
	s := m.Snapshot
	ev := ChangeEvidence{Series: s.Series, Seq: s.Seq, Key: m.Key, SHA256: m.SHA256, StartedAt: s.StartedAt.UTC(), Status: st}
	fs := t.state[k]
	if fs == nil {
		fs = &changeState{start: st, cur: st}
		if t.seen[series] {
			fs.start = StatusAbsent
			if st == string(evidence.Fail) {
				fs.transitions, fs.first, fs.lastChange = 1, ev, ev
			}
		}
		t.state[k] = fs
		if t.bySeries[series] == nil {
			t.bySeries[series] = map[[2]string]*changeState{}
		}
		t.bySeries[series][k] = fs
	} else if st != fs.cur {
		if fs.cur == string(evidence.Fail) || st == string(evidence.Fail) {
			fs.transitions++
			if fs.transitions == 1 {
				before := fs.prev
				fs.before, fs.first = &before, ev
			}
			fs.lastChange = ev
		}
		fs.cur = st
	}
	fs.prev = ev
	if refs != nil {
		fs.controls = refs
	}
}

// Result groups the changes by control, in catalog order; within a control
// the worst checks come first (severityRank), then by check and resource.
func (t *ChangeTracker) Result(cat *controls.Catalog, p Period) Changes {
	out := Changes{Schema: ChangesSchema, From: p.From.UTC(), To: p.To.UTC(), Snapshots: t.snapshots, Findings: len(t.state), Controls: []ControlChanges{}}
	byRef := map[string]*ControlChanges{}
	for k, fs := range t.state {
		if fs.transitions == 0 {
			continue
		}
		c := Change{Check: k[0], Resource: k[1], Start: fs.start, End: fs.cur, Transitions: fs.transitions,
			Before: fs.before, First: fs.first, LastChange: fs.lastChange, Last: fs.prev, controls: fs.controls}
		switch {
		case fs.transitions > 1:
			c.Kind = ChangeFlipped
		case fs.cur == string(evidence.Fail):
			c.Kind = ChangeAppeared
		default:
			c.Kind = ChangeResolved
		}
		for _, ref := range c.controls {
			cc := byRef[ref]
			if cc == nil {
				cc = &ControlChanges{Control: ref, Appeared: []Change{}, Resolved: []Change{}, Flipped: []Change{}}
				if cr, ok := cat.Criterion(ref); ok {
					cc.Title = cr.Title
				}
				byRef[ref] = cc
			}
			switch c.Kind {
			case ChangeAppeared:
				cc.Appeared = append(cc.Appeared, c)
			case ChangeResolved:
				cc.Resolved = append(cc.Resolved, c)
			default:
				cc.Flipped = append(cc.Flipped, c)
			}
		}
	}
	order := func(a, b Change) int {
		return cmp.Or(cmp.Compare(severityRank(cat, a.Check), severityRank(cat, b.Check)),
			cmp.Compare(a.Check, b.Check), cmp.Compare(a.Resource, b.Resource))
	}
	for _, ref := range sortRefs(cat, sortedSet(byRef)) {
		cc := byRef[ref]
		slices.SortFunc(cc.Appeared, order)
		slices.SortFunc(cc.Resolved, order)
		slices.SortFunc(cc.Flipped, order)
		out.Controls = append(out.Controls, *cc)
	}
	return out
}

// SortByStart returns the members in the order they started (then by key):
// the order a ChangeTracker reads them in.
func SortByStart(members []Member) []Member {
	out := slices.Clone(members)
	slices.SortStableFunc(out, func(a, b Member) int {
		return cmp.Or(a.Snapshot.StartedAt.Compare(b.Snapshot.StartedAt), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// PeriodChanges reads the changes of a period from its members, in start
// order, one at a time.
func PeriodChanges(ctx context.Context, members Members, cat *controls.Catalog, p Period) (Changes, error) {
	t := NewChangeTracker()
	if err := members.Each(ctx, ByStart, t.Add); err != nil {
		return Changes{}, err
	}
	return t.Result(cat, p), nil
}

// WriteChangesJSON writes the changes as one indented JSON document.
func WriteChangesJSON(w io.Writer, c Changes) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// WriteChangesText writes the changes for a terminal: one line per change,
// every name from the store escaped.
func WriteChangesText(w io.Writer, c Changes) error {
	pr := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	pr("changes from %s to %s: %d snapshot(s), %d finding(s)\n", c.From.Format(time.RFC3339), c.To.Format(time.RFC3339), c.Snapshots, c.Findings)
	if c.Snapshots == 0 {
		pr("no snapshot started in the period: nothing to compare\n")
	} else if len(c.Controls) == 0 {
		pr("no finding changed in the period\n")
	}
	ev := func(e ChangeEvidence) string {
		return fmt.Sprintf("%s #%d %s (%s)", Escape(e.Series), e.Seq, e.StartedAt.Format(time.RFC3339), e.SHA256)
	}
	for _, cc := range c.Controls {
		pr("\n%s %s: %d appeared, %d resolved, %d flipped\n", Escape(cc.Control), EscapeText(cc.Title), len(cc.Appeared), len(cc.Resolved), len(cc.Flipped))
		for _, group := range [][]Change{cc.Appeared, cc.Resolved, cc.Flipped} {
			for _, ch := range group {
				pr("  %-8s %s %s: %s → %s, %d change(s)\n", ch.Kind, Escape(ch.Check), Escape(ch.Resource), ch.Start, ch.End, ch.Transitions)
				pr("           first %s\n           last  %s\n", ev(ch.First), ev(ch.Last))
			}
		}
	}
	return nil
}
