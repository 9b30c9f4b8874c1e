package review

import (
	"io"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/htmlout"
)

const pageStyle = `<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}.joiner,.granted{background:#eef8ee}.leaver{background:#fbeeee}code{font-size:12px}
</style>`

// writePage writes the human view of one package. Every value read from
// the store goes through Text, which escapes it.
func writePage(out io.Writer, p *Package) error {
	w := htmlout.New(out)
	w.Raw("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access review: ").Text(p.System).Raw("</title>\n")
	w.Raw(pageStyle).Raw("</head><body>\n")
	w.Raw("<h1>Access review: ").Text(p.System).Raw("</h1>\n")
	w.Raw("<p>Provider ").Text(p.Provider).Raw(", account ").Text(p.Account).
		Raw(". Access list <code>").Text(p.Snapshot.Key).Raw("</code>\n(seq ").Int(p.Snapshot.Seq).
		Raw(", sha256 <code>").Text(p.Snapshot.SHA256).Raw("</code>), collected ").
		Text(p.Snapshot.StartedAt.Format("2006-01-02 15:04 MST")).Raw(".</p>\n")
	if p.Status != evidence.StatusComplete {
		w.Raw("<p><b>This access list is ").Text(string(p.Status)).Raw(": its collection read only part of the access; see the snapshot's errors.</b></p>")
	}
	w.Raw("\n<p>Compared with: ").Text(p.Basis)
	if b := p.Baseline; b != nil {
		w.Raw(", access list <code>").Text(b.Key).Raw("</code> (sha256 <code>").Text(b.SHA256).Raw("</code>)")
	}
	w.Raw(".</p>\n<h2>Changes</h2>\n")
	c := p.Changes
	w.Raw("<p>").Int(int64(len(c.Joiners))).Raw(" joiner(s), ").Int(int64(len(c.Movers))).Raw(" mover(s), ").
		Int(int64(len(c.Leavers))).Raw(" leaver(s).</p>\n")
	if len(c.Joiners) > 0 {
		w.Raw("<h3>Joiners</h3><table><tr><th>type</th><th>principal</th><th>granted</th></tr>\n")
		for _, j := range c.Joiners {
			w.Raw(`<tr class="joiner"><td>`).Text(j.Type).Raw("</td><td>").Text(j.Name).Raw("</td><td>")
			lines(w, j.Granted)
			w.Raw("</td></tr>")
		}
		w.Raw("</table>")
	}
	w.Raw("\n")
	if len(c.Movers) > 0 {
		w.Raw("<h3>Movers</h3><table><tr><th>type</th><th>principal</th><th>granted</th><th>removed</th></tr>\n")
		for _, m := range c.Movers {
			w.Raw("<tr><td>").Text(m.Type).Raw("</td><td>").Text(m.Name).Raw("</td><td>")
			lines(w, m.Granted)
			w.Raw("</td><td>")
			lines(w, m.Removed)
			w.Raw("</td></tr>")
		}
		w.Raw("</table>")
	}
	w.Raw("\n")
	if len(c.Leavers) > 0 {
		w.Raw("<h3>Leavers</h3><table><tr><th>type</th><th>principal</th><th>had</th></tr>\n")
		for _, l := range c.Leavers {
			w.Raw(`<tr class="leaver"><td>`).Text(l.Type).Raw("</td><td>").Text(l.Name).Raw("</td><td>")
			lines(w, l.Removed)
			w.Raw("</td></tr>")
		}
		w.Raw("</table>")
	}
	w.Raw("\n<h2>Who has what access (").Int(int64(p.Grants)).Raw(" grants)</h2>\n")
	w.Raw("<p>Decide each row in ").Text(p.CSV).Raw(": <b>keep</b> or <b>revoke</b>, with notes, then run <code>exhibit review record</code>.</p>\n")
	w.Raw("<table><tr><th>row</th><th>type</th><th>principal</th><th>grant</th><th>detail</th><th>change</th></tr>\n")
	for _, r := range p.Rows {
		w.Raw(`<tr class="`).Text(r.Change).Raw(`"><td><code>`).Text(r.ID).Raw("</code></td><td>").Text(r.PrincipalType).
			Raw("</td><td>").Text(r.Principal).Raw("</td><td>").Text(r.Grant).Raw("</td><td>").Text(r.Detail).
			Raw("</td><td>").Text(r.Change).Raw("</td></tr>\n")
	}
	w.Raw("</table></body></html>\n")
	return w.Flush()
}

// lines writes each value followed by a line break.
func lines(w *htmlout.Writer, vs []string) {
	for _, v := range vs {
		w.Text(v).Raw("<br>")
	}
}
