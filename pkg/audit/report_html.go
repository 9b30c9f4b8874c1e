package audit

import (
	"io"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/htmlout"
)

// writeReportHTML writes the report page, top to bottom as it reads:
// header, summary, legend, one section per control, the criteria without
// evidence, footer. Markup goes out as written and every value through
// Text or Int, so a name from the store is never markup. It is the page
// html/template wrote before, byte for byte (the blank lines at the end
// included), written without a template so that the linker need not keep
// every method a template could look up by name. The first failed write
// is returned.
func writeReportHTML(w io.Writer, d *reportData) error {
	p := htmlout.New(w)
	p.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
	organizationPrefix(p, d.Organization)
	p.Raw("controls from ").Text(d.FromDay).Raw(" to ").Text(d.ToDay).Raw("</title>\n<style>\n")
	p.Raw(reportCSS)
	p.Raw("</style>\n</head>\n<body>\n")
	reportHeader(p, d)
	reportSummaries(p, d.Summary)
	reportLegend(p, d.Legend)
	for _, c := range d.Controls {
		reportControlSection(p, c)
	}
	p.Raw("\n")
	reportUncovered(p, d.Uncovered)
	p.Raw("\n<footer>Each snapshot's signature can be checked with openssl or cosign against the store's keys/; " +
		"<code>exhibit verify --from ").Text(d.From).Raw(" --to ").Text(d.To).
		Raw("</code> checks every hash, signature, chain and scheduled run, and <code>exhibit diff</code> gives the changes as JSON. Generated ").
		Text(d.Generated).Raw(".</footer>\n</body>\n</html>\n\n\n\n")
	return p.Flush()
}

// organizationPrefix is "Org: " before a heading, when the organisation is
// named.
func organizationPrefix(p *htmlout.Writer, org string) {
	if org != "" {
		p.Text(org).Raw(": ")
	}
}

func reportHeader(p *htmlout.Writer, d *reportData) {
	p.Raw("<header>\n<h1>")
	organizationPrefix(p, d.Organization)
	p.Raw("control report, ").Text(d.FromDay).Raw(" to ").Text(d.ToDay).Raw("</h1>\n<dl class=\"facts\">\n")
	p.Raw("<dt>Organisation</dt><dd class=\"org\">")
	if d.Organization != "" {
		p.Text(d.Organization)
	} else {
		p.Raw("(not given: exhibit report --org)")
	}
	p.Raw("</dd>\n<dt>Period</dt><dd class=\"period\">").Text(d.From).Raw(" to ").Text(d.To).
		Raw(" (from the first instant, up to the last, excluded): ").Int(int64(d.Days)).Raw(" UTC day(s)</dd>\n")
	p.Raw("<dt>Store</dt><dd><code class=\"store\">").Text(d.Store).Raw("</code></dd>\n")
	p.Raw("<dt>Generated</dt><dd class=\"generated\"><time datetime=\"").Text(d.Generated).Raw("\">").Text(d.Generated).Raw("</time>")
	if d.Future {
		p.Raw("; days after it are shown as future, not as missing evidence")
	}
	p.Raw("</dd>\n<dt>Evidence</dt><dd>").Int(int64(d.Snapshots)).Raw(" snapshot(s) in ").Int(int64(d.Series)).
		Raw(" series; ").Int(int64(len(d.Controls))).Raw(" control(s) with evidence; ").Int(int64(d.Changes)).
		Raw(" finding change(s) over the period</dd>\n</dl>\n</header>\n")
}

func reportSummaries(p *htmlout.Writer, sums []reportSummary) {
	p.Raw("<section id=\"summary\" aria-label=\"summary\">\n<h2>Summary</h2>\n<div class=\"summary\">\n")
	for _, s := range sums {
		p.Raw("<section class=\"v-").Text(s.Verdict).Raw("\" data-verdict=\"").Text(s.Verdict).Raw("\"><div class=\"n\">")
		if s.Verdict == VerdictNone {
			p.Int(int64(len(s.Uncovered)))
		} else {
			p.Int(int64(len(s.Controls)))
		}
		p.Raw("</div><strong>").Text(s.Heading).Raw("</strong><p>").Text(s.Text).Raw("</p>\n<ul>")
		for _, c := range s.Controls {
			p.Raw("<li><a href=\"#")
			anchor(p, c)
			p.Raw("\" class=\"ref\" title=\"").Text(c.Title).Raw("\">").Text(c.Ref).Raw("</a></li>")
		}
		for _, cr := range s.Uncovered {
			p.Raw("<li><span class=\"ref\" title=\"").Text(cr.Title).Raw("\">").Text(cr.Ref).Raw("</span></li>")
		}
		p.Raw("</ul></section>\n")
	}
	p.Raw("</div>\n</section>\n")
}

// anchor writes the control's fragment identifier, "c" and its number:
// letters and digits, the same in an id and, unencoded, in a URL.
func anchor(p *htmlout.Writer, c *reportControl) {
	p.Raw("c").Int(int64(c.anchor))
}

func reportLegend(p *htmlout.Writer, legend []reportLabel) {
	p.Raw("<p class=\"legend\">")
	for _, l := range legend {
		p.Raw("<span><span class=\"c ").Text(l.Text).Raw("\"></span>").Text(l.Text).Raw(": ").Text(l.Title).Raw("</span>")
	}
	p.Raw("</p>\n")
}

// reportControlSection is one control: its verdict, calendars, changes,
// failing findings, failed and partial collections, gaps and evidence.
func reportControlSection(p *htmlout.Writer, c *reportControl) {
	p.Raw("\n<section class=\"control v-").Text(c.Verdict).Raw("\" id=\"")
	anchor(p, c)
	p.Raw("\" data-control=\"").Text(c.Ref).Raw("\" data-verdict=\"").Text(c.Verdict).Raw("\">\n")
	p.Raw("<div class=\"head\"><h2 class=\"ref\">").Text(c.Ref).Raw("</h2><span>").Text(c.Title).Raw("</span>")
	if c.Requirement != "" {
		p.Raw("<span class=\"req\">").Text(c.Requirement).Raw("</span>")
	}
	p.Raw("<span class=\"badge v-").Text(c.Verdict).Raw("\">").Text(c.Verdict).Raw("</span></div>\n")
	p.Raw("<p class=\"verdict\">").Text(c.VerdictText).Raw("</p>\n")
	if c.Latest != "" {
		p.Raw("<p class=\"counts\">Latest evidence ").Text(c.Latest).Raw(".</p>")
	}
	n := func(k string) int64 { return int64(c.Counts[k]) }
	p.Raw("\n<p class=\"counts\">findings: ").Int(n("pass")).Raw(" pass · ").Int(n("fail")).Raw(" fail · ").
		Int(n("error")).Raw(" error · ").Int(n(DayGap)).Raw(" gap(s) · ").Int(n(DayFailed)).Raw(" failed collection(s) · ").
		Int(n(DayPartial)).Raw(" partial collection(s)")
	if n("accepted") != 0 {
		p.Raw(" · ").Int(n("accepted")).Raw(" failure(s) with an accepted risk")
	}
	p.Raw("</p>\n")
	for _, cal := range c.Calendars {
		reportCalendarGrid(p, c.Ref, cal)
	}
	p.Raw("\n<h3>Changes over the period</h3>\n")
	reportChanges(p, c.Changes)
	p.Raw("\n")
	reportFailing(p, c)
	p.Raw("\n")
	reportCollections(p, c)
	p.Raw("\n")
	reportGaps(p, c.Gaps)
	p.Raw("\n<h3>Evidence</h3>\n<div class=\"scroll\"><table class=\"series\"><thead><tr><th>series</th><th>snapshots</th>" +
		"<th>first in the period</th><th>last in the period</th></tr></thead><tbody>\n")
	for _, s := range c.Series {
		p.Raw("<tr><td><code>").Text(s.Series).Raw("</code></td><td>").Int(int64(s.Snapshots)).Raw(" (").Int(int64(s.Complete)).Raw(" complete")
		if s.Partial != 0 {
			p.Raw(", <span class=\"st-partial\">").Int(int64(s.Partial)).Raw(" partial</span>")
		}
		if s.Failed != 0 {
			p.Raw(", <span class=\"st-failed\">").Int(int64(s.Failed)).Raw(" failed</span>")
		}
		p.Raw(")</td><td class=\"ev\">")
		sighting(p, s.First)
		p.Raw("</td><td class=\"ev\">")
		sighting(p, s.Last)
		p.Raw("</td></tr>\n")
	}
	p.Raw("</tbody></table></div>\n</section>\n")
}

// reportCalendarGrid is one calendar: a column per week, a row per
// weekday, with month and week labels.
func reportCalendarGrid(p *htmlout.Writer, ref string, cal reportCalendar) {
	p.Raw("<div class=\"cal\" role=\"img\" aria-label=\"").Text(ref).Raw(" day by day, ").Text(cal.Label).
		Raw("\" style=\"grid-template-columns:26px repeat(").Int(int64(cal.Columns)).Raw(", var(--cell))\">\n")
	for _, m := range cal.Months {
		p.Raw("<span class=\"mo\" style=\"grid-column:").Int(int64(m.Col)).Raw(" / span ").Int(int64(m.Span)).
			Raw("\" title=\"").Text(m.Title).Raw("\">").Text(m.Text).Raw("</span>")
	}
	p.Raw("\n<span class=\"wd\" style=\"grid-row:2\">Mon</span><span class=\"wd\" style=\"grid-row:4\">Wed</span>" +
		"<span class=\"wd\" style=\"grid-row:6\">Fri</span><span class=\"wd\" style=\"grid-row:8\">Sun</span>" +
		"<span class=\"wd\" style=\"grid-row:9\">wk</span>\n")
	for _, d := range cal.Days {
		p.Raw("<span class=\"c ").Text(d.Status).Raw("\" data-date=\"").Text(d.Date).Raw("\" title=\"").Text(d.Note).
			Raw("\" style=\"grid-column:").Int(int64(d.Col)).Raw(";grid-row:").Int(int64(d.Row)).Raw("\"></span>")
	}
	p.Raw("\n")
	for _, wk := range cal.Weeks {
		p.Raw("<span class=\"wk\" style=\"grid-column:").Int(int64(wk.Col)).Raw("\" title=\"").Text(wk.Title).Raw("\">").
			Text(wk.Text).Raw("</span>")
	}
	p.Raw("\n</div>")
}

// reportChanges is the table of the control's findings that changed
// between pass and fail, or a line saying none did.
func reportChanges(p *htmlout.Writer, cc *ControlChanges) {
	if cc == nil {
		p.Raw("<p class=\"none-text\">No finding of this control changed between pass and fail in the period.</p>")
		return
	}
	p.Raw("<div class=\"scroll\"><table class=\"changes\"><thead><tr><th>change</th><th>check</th><th>resource</th>" +
		"<th>status</th><th>first evidence of the change, and the last</th></tr></thead><tbody>\n")
	for _, list := range [][]Change{cc.Appeared, cc.Resolved, cc.Flipped} {
		for _, ch := range list {
			change(p, ch)
		}
	}
	p.Raw("\n</tbody></table></div>")
}

func change(p *htmlout.Writer, ch Change) {
	p.Raw("<tr data-change=\"").Text(ch.Kind).Raw("\"><td class=\"ch-").Text(ch.Kind).Raw("\">").Text(ch.Kind).
		Raw("</td><td>").Text(ch.Check).Raw("</td><td>").Text(ch.Resource).Raw("</td><td>").Text(ch.Start).Raw(" → ").Text(ch.End)
	if ch.Transitions > 1 {
		p.Raw(" (").Int(int64(ch.Transitions)).Raw(" changes)")
	}
	p.Raw("</td><td class=\"ev\">")
	changeEvidence(p, ch.First)
	p.Raw("<hr>")
	changeEvidence(p, ch.Last)
	p.Raw("</td></tr>")
}

func changeEvidence(p *htmlout.Writer, e ChangeEvidence) {
	p.Raw("<span class=\"mono\">").Text(e.StartedAt.Format(time.RFC3339)).Raw(" · ").Text(e.Status).
		Raw("</span><code>").Text(e.Series).Raw(" #").Int(e.Seq).Raw("</code><code>").Text(e.Key).
		Raw("</code><code class=\"h\">").Text(e.SHA256).Raw("</code>")
}

// reportFailing is the table of failing or undecided findings, one row
// per check, resource and status, worst first.
func reportFailing(p *htmlout.Writer, c *reportControl) {
	if len(c.Failing) == 0 {
		return
	}
	p.Raw("<h3>").Int(int64(c.FailingTimes)).Raw(" failing or undecided finding(s): ").Int(int64(len(c.Failing))).
		Raw(" check and resource pair(s), worst first</h3>\n<div class=\"scroll\"><table class=\"failing\"><thead><tr>" +
			"<th>check</th><th>resource</th><th>status</th><th>times</th><th>latest reason</th><th>first and last seen</th>" +
			"</tr></thead><tbody>\n")
	for _, f := range c.Failing {
		p.Raw("<tr><td>").Text(f.Check).Raw("</td><td>").Text(f.Resource).Raw("</td><td class=\"st-").Text(f.Status).
			Raw("\">").Text(f.Status).Raw("</td><td>").Int(int64(f.Times)).Raw("</td><td>").Text(f.Reason)
		if a := f.Accepted; a != nil {
			p.Raw("<div class=\"accepted\">accepted by ").Text(a.Owner).Raw(" until ").Text(a.Until).Raw(": ").Text(a.Reason).
				Raw(" (accepted risk ").Text(a.ID).Raw(", approved by ").Text(a.Approver).Raw(" on ").Text(a.Approved).
				Raw("); still failing</div>")
		}
		if e := f.Expired; e != nil {
			p.Raw("<div class=\"expired\">acceptance expired: accepted risk ").Text(e.ID).Raw(" (owner ").Text(e.Owner).
				Raw(") ended ").Text(e.Until).Raw("; no longer accepted</div>")
		}
		if f.AcceptedTimes != 0 {
			p.Raw("<div class=\"meta\">").Int(int64(f.AcceptedTimes)).Raw(" of ").Int(int64(f.Times)).
				Raw(" sighting(s) carried an accepted risk</div>")
		}
		p.Raw("</td><td class=\"ev\">")
		sighting(p, f.First)
		if f.First.Key != f.Last.Key {
			p.Raw("<hr>")
			sighting(p, f.Last)
		}
		p.Raw("</td></tr>\n")
	}
	p.Raw("</tbody></table></div>")
}

// reportCollections is the table of failed and partial collections.
func reportCollections(p *htmlout.Writer, c *reportControl) {
	if len(c.Collections) == 0 {
		return
	}
	p.Raw("<h3>").Int(int64(len(c.Collections)))
	if c.MoreCollections != 0 {
		p.Raw(" (and ").Int(int64(c.MoreCollections)).Raw(" more)")
	}
	p.Raw(" failed or partial collection(s)</h3>\n<div class=\"scroll\"><table class=\"collections\"><thead><tr>" +
		"<th>started</th><th>status</th><th>what failed</th><th>evidence</th></tr></thead><tbody>\n")
	for _, rc := range c.Collections {
		p.Raw("<tr><td class=\"mono\">").Text(rc.Started).Raw("</td><td class=\"st-").Text(rc.Status).Raw("\">").Text(rc.Status).
			Raw("</td><td>")
		for _, e := range rc.Errors {
			p.Raw("<div><code>").Text(e.Where).Raw("</code>")
			if e.Operation != "" {
				p.Raw(" ").Text(e.Operation)
			}
			p.Raw(": ").Text(e.Message).Raw("</div>")
		}
		if rc.MoreErrors != 0 {
			p.Raw("<div class=\"meta\">and ").Int(int64(rc.MoreErrors)).Raw(" more</div>")
		}
		p.Raw("</td><td class=\"ev\"><code>").Text(rc.Key).Raw("</code><code class=\"h\">").Text(rc.SHA256).Raw("</code></td></tr>\n")
	}
	p.Raw("</tbody></table></div>")
}

// reportGaps is the table of scheduled runs that left no snapshot.
func reportGaps(p *htmlout.Writer, gaps []reportGap) {
	if len(gaps) == 0 {
		return
	}
	p.Raw("<h3>").Int(int64(len(gaps))).Raw(" gap(s)</h3>\n<div class=\"scroll\"><table class=\"gaps\"><thead><tr>" +
		"<th>series</th><th>run due</th><th>schedule</th></tr></thead><tbody>\n")
	for _, g := range gaps {
		p.Raw("<tr><td><code>").Text(g.Series).Raw("</code></td><td class=\"mono\">").Text(g.Due).Raw("</td><td>").
			Text(g.Schedule).Raw("</td></tr>\n")
	}
	p.Raw("</tbody></table></div>")
}

// sighting is when a snapshot started, its key and its digest.
func sighting(p *htmlout.Writer, s reportSighting) {
	p.Raw("<span class=\"mono\">").Text(s.Started).Raw("</span><code>").Text(s.Key).Raw("</code><code class=\"h\">").
		Text(s.SHA256).Raw("</code>")
}

func reportUncovered(p *htmlout.Writer, crs []controls.Criterion) {
	if len(crs) == 0 {
		return
	}
	p.Raw("<section class=\"uncovered-criteria\"><h2>In-scope criteria without evidence in the period</h2>\n<ul class=\"uncovered\">")
	for _, cr := range crs {
		p.Raw("<li><span class=\"ref\">").Text(cr.Ref).Raw("</span> ").Text(cr.Title).Raw("</li>")
	}
	p.Raw("</ul></section>")
}

// reportCSS is the page's style sheet; it holds no value.
const reportCSS = `:root{--cell:11px;--gapx:2px}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1180px;padding:0 20px;color:#1b1f24;background:#fff}
h1{font-size:24px;margin:0 0 2px}
h2{font-size:17px;margin:0}
h3{font-size:14px;margin:14px 0 4px}
.meta{color:#57606a;margin:0 0 8px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0 18px}
dl.facts dt{color:#57606a}dl.facts dd{margin:0}
.summary{display:grid;grid-template-columns:repeat(4,1fr);gap:10px;margin:0 0 18px;align-items:start}
.summary section{border:1px solid #d0d7de;border-radius:6px;padding:10px 12px;border-top-width:5px}
.summary .n{font-size:28px;font-weight:700;line-height:1.1}
.summary .v-failing{border-top-color:#cf222e}.summary .v-incomplete{border-top-color:#bf8700}.summary .v-holding{border-top-color:#2da44e}.summary .v-no-evidence{border-top-color:#8c959f}
.summary ul{margin:6px 0 0;padding:0;list-style:none;font-size:11px;display:flex;flex-wrap:wrap;gap:2px 8px}
.summary a.ref{color:#0969da;text-decoration:none}
.summary p{margin:2px 0;font-size:12px;color:#57606a}
.legend{margin:0 0 20px;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.legend .c{vertical-align:middle;margin-right:4px}
section.control{border:1px solid #d0d7de;border-left-width:6px;border-radius:6px;padding:12px 14px;margin:0 0 16px;break-inside:auto}
section.control.v-failing{border-left-color:#cf222e}section.control.v-incomplete{border-left-color:#bf8700}section.control.v-holding{border-left-color:#2da44e}
.head{display:flex;gap:12px;align-items:baseline;flex-wrap:wrap;break-after:avoid}
.ref{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-weight:600}
.req{font-size:12px;color:#57606a;border:1px solid #d0d7de;border-radius:10px;padding:0 6px}
.badge{font-size:12px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;padding:1px 8px;border-radius:10px;color:#fff}
.badge.v-failing{background:#cf222e}.badge.v-incomplete{background:#9a6700}.badge.v-holding{background:#1a7f37}
p.verdict{margin:6px 0;font-weight:600}
.counts{color:#57606a;font-size:12px;margin:2px 0 6px}
.cal{display:grid;grid-auto-rows:var(--cell);gap:var(--gapx);margin:8px 0 4px;font-size:9px;line-height:var(--cell);color:#57606a;break-inside:avoid;overflow-x:auto;padding-bottom:2px}
.cal .mo{grid-row:1;white-space:nowrap;overflow:visible;font-weight:600;color:#1b1f24}
.cal .wd{grid-column:1;white-space:nowrap;padding-right:4px}
.cal .wk{grid-row:9;text-align:center;font-size:8px}
.cal .axis{grid-row:10;grid-column:2 / -1;font-size:9px}
.c{display:inline-block;width:var(--cell);height:var(--cell);border-radius:2px;print-color-adjust:exact;-webkit-print-color-adjust:exact}
.pass{background:#2da44e}.fail{background:#cf222e}.error{background:#bf8700}.partial{background:repeating-linear-gradient(45deg,#2da44e,#2da44e 2px,#bf8700 2px,#bf8700 4px)}
.failed{background:repeating-linear-gradient(45deg,#cf222e,#cf222e 2px,#bf8700 2px,#bf8700 4px)}
.gap{background:repeating-linear-gradient(45deg,#57606a,#57606a 2px,#eaeef2 2px,#eaeef2 4px)}
.none{background:#d0d7de}.future{background:#fff;border:1px dashed #afb8c1}
table{border-collapse:collapse;margin:4px 0 8px;width:100%}
.scroll{overflow-x:auto}
th,td{border-bottom:1px solid #eaeef2;text-align:left;padding:3px 6px;vertical-align:top;font-size:13px}
th{font-size:12px;color:#57606a;font-weight:600}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:11px}
.ev code{display:block;white-space:nowrap}
.ev .h{color:#57606a;font-size:10px}
.ev hr{border:0;border-top:1px dotted #d0d7de;margin:2px 0}
td.ev{width:1%}
.accepted{margin-top:4px;padding:2px 6px;border-left:3px solid #8250df;background:#fbefff}
.expired{margin-top:4px;padding:2px 6px;border-left:3px solid #cf222e;background:#ffebe9;font-weight:600}
.st-fail,.ch-appeared{color:#cf222e;font-weight:600}.st-error,.ch-flipped{color:#9a6700;font-weight:600}.ch-resolved{color:#1a7f37;font-weight:600}
.st-failed{color:#cf222e;font-weight:600}.st-partial{color:#9a6700;font-weight:600}
.none-text{color:#57606a;font-size:12px;margin:4px 0}
ul.uncovered{columns:2}
details summary{cursor:pointer;color:#0969da}
footer{color:#57606a;font-size:12px;margin-top:20px;border-top:1px solid #d0d7de;padding-top:8px}
@media print{
 @page{size:A4;margin:14mm 12mm}
 :root{--cell:9px;--gapx:1px}
 body{margin:0;padding:0;max-width:none;font-size:11px}
 h1{font-size:18px}
 a{color:inherit;text-decoration:none}
 .summary{grid-template-columns:repeat(2,1fr)}
 section.control{break-inside:auto;page-break-inside:auto}
 .cal,.head,tr{break-inside:avoid}
 .scroll,.cal{overflow:visible}
 th,td{font-size:10px;padding:2px 4px}
 code,.mono{font-size:8.5px}.ev .h{font-size:8px}
 .cal .wk{font-size:6px}
 .cal .mo{font-size:7.5px}
 details::details-content{content-visibility:visible;display:contents}
 details summary{color:inherit;list-style:none}
}
`
