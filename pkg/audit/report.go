package audit

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// ReportOptions shape an HTML report.
type ReportOptions struct {
	Period Period
	// Store names the store in the heading.
	Store string
	// Catalog names criteria; Default() when nil.
	Catalog *controls.Catalog
}

// Day statuses in the report, from worst to best. A day takes the worst
// status of the control's findings and gaps that day.
const (
	DayFail = "fail"
	// DayFailed is a day with a collection that failed as a whole: the
	// control was not evidenced by that run, which is a failure of its own
	// kind rather than an absence of evidence.
	DayFailed = "failed"
	DayError  = "error"
	DayGap    = "gap"
	DayPass   = "pass"
	DayNone   = "none"
)

var dayRank = map[string]int{DayFail: 0, DayFailed: 1, DayError: 2, DayGap: 3, DayPass: 4, DayNone: 5}

type reportDay struct {
	Date   string
	Status string
	Note   string
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

type reportEvidence struct {
	Key, SHA256, Started, Status string
}

type reportGap struct {
	Series, Due, Schedule string
}

type reportControl struct {
	Ref, Title, Requirement string
	Anchor                  string
	Days                    []reportDay
	Counts                  map[string]int
	Failing                 []*reportFinding
	FailingTimes            int
	failingBy               map[[3]string]*reportFinding
	Gaps                    []reportGap
	Evidence                []reportEvidence
}

type reportData struct {
	Title     string
	Store     string
	From, To  string
	Snapshots int
	Series    int
	Controls  []*reportControl
	Uncovered []controls.Criterion
	Legend    []string
}

// WriteReport renders one self-contained HTML page: per control, a strip of
// one cell per day of the period (pass, fail, error, gap, or no evidence),
// and below it the failing findings, the gaps and every snapshot with its
// digest. Gaps are counted from the snapshots in the period (see
// periodGaps); exhibit verify --from --to is the authority on completeness.
// The page has no scripts and loads nothing.
func WriteReport(w io.Writer, members []Member, opts ReportOptions) error {
	cat := opts.Catalog
	if cat == nil {
		var err error
		if cat, err = controls.Default(); err != nil {
			return err
		}
	}
	days := opts.Period.Days()
	dayIndex := map[string]int{}
	for i, d := range days {
		dayIndex[d.Format(time.DateOnly)] = i
	}
	byRef := map[string]*reportControl{}
	get := func(ref string) *reportControl {
		c := byRef[ref]
		if c == nil {
			c = &reportControl{Ref: ref, Title: "(not in the catalog)", Anchor: fmt.Sprintf("c%d", len(byRef)), Counts: map[string]int{},
				failingBy: map[[3]string]*reportFinding{}}
			if cr, ok := cat.Criterion(ref); ok {
				c.Title, c.Requirement = cr.Title, cr.Requirement
			}
			c.Days = make([]reportDay, len(days))
			for i, d := range days {
				c.Days[i] = reportDay{Date: d.Format(time.DateOnly), Status: DayNone}
			}
			byRef[ref] = c
		}
		return c
	}
	mark := func(c *reportControl, day time.Time, status string) {
		i, ok := dayIndex[day.UTC().Format(time.DateOnly)]
		if ok && dayRank[status] < dayRank[c.Days[i].Status] {
			c.Days[i].Status = status
		}
	}
	seriesRefs := map[string][]string{}
	for _, m := range members {
		s := m.Snapshot
		started := s.StartedAt.UTC().Format(time.RFC3339)
		refsHere := map[string]bool{}
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
					c.failing(f, reportSighting{Started: started, Key: m.Key, SHA256: m.SHA256})
				}
				c.Counts[string(f.Status)]++
			}
		}
		for ref := range refsHere {
			c := byRef[ref]
			if s.Status == evidence.StatusFailed {
				c.Counts[DayFailed]++
			}
			c.Evidence = append(c.Evidence, reportEvidence{Key: m.Key, SHA256: m.SHA256, Started: started, Status: string(s.Status)})
			if !slices.Contains(seriesRefs[s.Series], ref) {
				seriesRefs[s.Series] = append(seriesRefs[s.Series], ref)
			}
		}
	}
	for _, g := range periodGaps(members, opts.Period) {
		for _, ref := range seriesRefs[g.Series] {
			c := byRef[ref]
			mark(c, g.Due, DayGap)
			c.Gaps = append(c.Gaps, reportGap{Series: g.Series, Due: g.Due.UTC().Format(time.RFC3339), Schedule: g.Schedule})
			c.Counts[DayGap]++
		}
	}
	for _, c := range byRef {
		for i := range c.Days {
			d := &c.Days[i]
			d.Note = d.Date + ": " + map[string]string{DayFail: "a check failed", DayFailed: "a collection failed", DayError: "a check could not be decided",
				DayGap: "a scheduled run left no snapshot", DayPass: "every check passed", DayNone: "no evidence"}[d.Status]
		}
	}

	data := reportData{
		Store:     opts.Store,
		From:      opts.Period.From.UTC().Format(time.RFC3339),
		To:        opts.Period.To.UTC().Format(time.RFC3339),
		Snapshots: len(members),
		Legend:    []string{DayPass, DayFail, DayFailed, DayError, DayGap, DayNone},
	}
	series := map[string]bool{}
	for _, m := range members {
		series[m.Snapshot.Series] = true
	}
	data.Series = len(series)
	for _, ref := range sortRefs(cat, sortedSet(byRef)) {
		data.Controls = append(data.Controls, byRef[ref])
	}
	for _, cr := range cat.Criteria() {
		if cr.InScope && byRef[cr.Ref] == nil {
			data.Uncovered = append(data.Uncovered, cr)
		}
	}
	return reportTemplate.Execute(w, data)
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

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>exhibit: controls from {{.From}} to {{.To}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:0}
.meta{color:#57606a;margin:0 0 16px}
.legend span.c{vertical-align:middle}
.legend{margin:0 0 20px}
.legend label{margin-right:14px}
section.control{border:1px solid #d0d7de;border-radius:6px;padding:12px 14px;margin:0 0 14px}
.head{display:flex;gap:12px;align-items:baseline;flex-wrap:wrap}
.ref{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:600}
.req{font-size:12px;color:#57606a;border:1px solid #d0d7de;border-radius:10px;padding:0 6px}
.counts{color:#57606a;font-size:12px}
.strip{display:flex;flex-wrap:wrap;gap:2px;margin:10px 0 6px}
.c{display:inline-block;width:12px;height:18px;border-radius:2px}
.pass{background:#2da44e}.fail{background:#cf222e}.error{background:#bf8700}.failed{background:repeating-linear-gradient(45deg,#cf222e,#cf222e 3px,#bf8700 3px,#bf8700 6px)}.gap{background:repeating-linear-gradient(45deg,#8c959f,#8c959f 3px,#eaeef2 3px,#eaeef2 6px)}.none{background:#eaeef2}
details{margin-top:6px}
summary{cursor:pointer;color:#0969da}
table{border-collapse:collapse;margin:6px 0;width:100%}
th,td{border-bottom:1px solid #eaeef2;text-align:left;padding:3px 6px;vertical-align:top;font-size:13px}
td.k{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
.accepted{margin-top:4px;padding:2px 6px;border-left:3px solid #8250df;background:#fbefff}
.expired{margin-top:4px;padding:2px 6px;border-left:3px solid #cf222e;background:#ffebe9;font-weight:600}
.st-fail{color:#cf222e;font-weight:600}.st-error{color:#9a6700;font-weight:600}
ul.uncovered{columns:2}
</style>
</head>
<body>
<h1>Controls from {{.From}} to {{.To}}</h1>
<p class="meta">Store {{.Store}}: {{.Snapshots}} snapshot(s) in {{.Series}} series; {{len .Controls}} control(s) with evidence in the period. One cell per UTC day.</p>
<p class="legend">{{range .Legend}}<label><span class="c {{.}}"></span> {{.}}</label>{{end}}</p>
{{range .Controls}}
<section class="control" id="{{.Anchor}}" data-control="{{.Ref}}">
<div class="head"><h2 class="ref">{{.Ref}}</h2><span>{{.Title}}</span>{{if .Requirement}}<span class="req">{{.Requirement}}</span>{{end}}
<span class="counts">findings: {{index .Counts "pass"}} pass · {{index .Counts "fail"}} fail · {{index .Counts "error"}} error · {{index .Counts "gap"}} gap(s) · {{index .Counts "failed"}} failed collection(s){{with index .Counts "accepted"}} · {{.}} failure(s) with an accepted risk{{end}}</span></div>
<div class="strip" role="img" aria-label="{{.Ref}} day by day">{{range .Days}}<span class="c {{.Status}}" title="{{.Note}}"></span>{{end}}</div>
{{if .Failing}}<details><summary>{{.FailingTimes}} failing or undecided finding(s): {{len .Failing}} check and resource pair(s)</summary>
<table><thead><tr><th>check</th><th>resource</th><th>status</th><th>times</th><th>latest reason</th><th>first seen (evidence, sha256)</th><th>last seen (evidence, sha256)</th></tr></thead><tbody>
{{range .Failing}}<tr><td>{{.Check}}</td><td>{{.Resource}}</td><td class="st-{{.Status}}">{{.Status}}</td><td>{{.Times}}</td><td>{{.Reason}}{{with .Accepted}}<div class="accepted">accepted by {{.Owner}} until {{.Until}}: {{.Reason}} (accepted risk {{.ID}}, approved by {{.Approver}} on {{.Approved}}); still failing</div>{{end}}{{with .Expired}}<div class="expired">acceptance expired: accepted risk {{.ID}} (owner {{.Owner}}) ended {{.Until}}; no longer accepted</div>{{end}}{{if .AcceptedTimes}}<div class="meta">{{.AcceptedTimes}} of {{.Times}} sighting(s) carried an accepted risk</div>{{end}}</td><td class="k">{{.First.Started}}<br>{{.First.Key}}<br>{{.First.SHA256}}</td><td class="k">{{.Last.Started}}<br>{{.Last.Key}}<br>{{.Last.SHA256}}</td></tr>
{{end}}</tbody></table></details>{{end}}
{{if .Gaps}}<details><summary>{{len .Gaps}} gap(s)</summary>
<table><thead><tr><th>series</th><th>run due</th><th>schedule</th></tr></thead><tbody>
{{range .Gaps}}<tr><td class="k">{{.Series}}</td><td>{{.Due}}</td><td>{{.Schedule}}</td></tr>
{{end}}</tbody></table></details>{{end}}
<details><summary>{{len .Evidence}} snapshot(s) of evidence</summary>
<table><thead><tr><th>started</th><th>status</th><th>key</th><th>sha256</th></tr></thead><tbody>
{{range .Evidence}}<tr><td>{{.Started}}</td><td>{{.Status}}</td><td class="k">{{.Key}}</td><td class="k">{{.SHA256}}</td></tr>
{{end}}</tbody></table></details>
</section>
{{end}}
{{if .Uncovered}}<section class="control"><h2>In-scope criteria without evidence in the period</h2>
<ul class="uncovered">{{range .Uncovered}}<li><span class="ref">{{.Ref}}</span> {{.Title}}</li>{{end}}</ul></section>{{end}}
<p class="meta">Each snapshot's signature can be checked with openssl or cosign against the store's keys/; exhibit verify --from {{.From}} --to {{.To}} checks every hash, signature, chain and scheduled run.</p>
</body>
</html>
`))
