package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/audit/audittest"
	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

const yearFrom, yearTo = "2026-01-01", "2027-01-01"

// exhibit diff over a simulated year: what appeared, was resolved or
// flipped, per control, with the first and last evidence of each, as JSON
// on standard output, as text, and into a file.
func TestDiff(t *testing.T) {
	env := audittest.Year(t)
	url := "file://" + env.Store.Root()
	dir := t.TempDir()

	r := exhibit(t, dir, nil, "diff", "--store", url, "--from", yearFrom, "--to", yearTo, "--json", "-o", "-")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	var doc audit.Changes
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	require.Equal(t, audit.ChangesSchema, doc.Schema)
	require.Equal(t, audittest.YearRuns-1, doc.Snapshots)
	require.Equal(t, url, doc.Store)
	require.Len(t, doc.Controls, 2)
	day := func(d int) time.Time { return audittest.YearStart.AddDate(0, 0, d) }
	for _, cc := range doc.Controls {
		require.Len(t, cc.Appeared, 1)
		require.Len(t, cc.Resolved, 1)
		require.Len(t, cc.Flipped, 1)
		require.Equal(t, "bucket-new", cc.Appeared[0].Resource)
		require.Equal(t, day(audittest.YearAppeared), cc.Appeared[0].First.StartedAt)
		require.Equal(t, int64(audittest.YearAppeared), cc.Appeared[0].First.Seq, "one run was missed before it")
		require.Equal(t, day(audittest.YearRuns-1), cc.Appeared[0].Last.StartedAt)
		require.Equal(t, "bucket-old", cc.Resolved[0].Resource)
		require.Equal(t, day(audittest.YearResolved), cc.Resolved[0].First.StartedAt)
		require.Equal(t, "bucket-flip", cc.Flipped[0].Resource)
		require.Equal(t, day(audittest.YearFlipFrom), cc.Flipped[0].First.StartedAt)
		require.Equal(t, day(audittest.YearFlipTo+1), cc.Flipped[0].LastChange.StartedAt)
		require.Regexp(t, `^evidence/aws\.s3/111122223333/\d{12}\.json$`, cc.Flipped[0].First.Key)
		require.Regexp(t, `^[0-9a-f]{64}$`, cc.Flipped[0].First.SHA256)
	}

	// Text, on standard output by default.
	r = exhibit(t, dir, nil, "diff", "--store", url, "--from", yearFrom, "--to", yearTo)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "soc2:CC6.1 Logical access security software, infrastructure and architecture protect information assets: 1 appeared, 1 resolved, 1 flipped")
	require.Regexp(t, `(?m)^  appeared test\.check bucket-new: pass → fail, 1 change\(s\)\n           first aws\.s3/111122223333 #280 2026-10-08T06:00:00Z \([0-9a-f]{64}\)$`, r.stdout)
	require.Contains(t, r.stdout, "  flipped  test.check bucket-flip: pass → pass, 2 change(s)")

	// Into a file, written whole.
	r = exhibit(t, dir, nil, "diff", "--store", url, "--from", yearFrom, "--to", yearTo, "--json", "-o", "changes.json")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "compared 319 snapshot(s): 6 change(s) in 2 control(s), written to changes.json")
	b, err := os.ReadFile(filepath.Join(dir, "changes.json"))
	require.NoError(t, err)
	require.True(t, json.Valid(b))

	// Part of the year: the flip alone.
	r = exhibit(t, dir, nil, "diff", "--store", url, "--from", "2026-04-01", "--to", "2026-06-01", "--json")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	doc = audit.Changes{}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	require.Len(t, doc.Controls, 2)
	require.Len(t, doc.Controls[0].Flipped, 1)
	require.Empty(t, doc.Controls[0].Appeared)
	require.Empty(t, doc.Controls[0].Resolved)

	// A period with no snapshot: a valid answer that says so, not an error.
	r = exhibit(t, dir, nil, "diff", "--store", url, "--from", "2025-01-01", "--to", "2025-02-01", "--json")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	doc = audit.Changes{}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	require.Equal(t, 0, doc.Snapshots)
	require.Empty(t, doc.Controls)
	require.Contains(t, r.stdout, `"controls": []`)
	r = exhibit(t, dir, nil, "diff", "--store", url, "--from", "2025-01-01", "--to", "2025-02-01")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "no snapshot started in the period: nothing to compare")
}

func TestDiffBadInput(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing store", []string{"diff", "--from", auditFrom, "--to", auditTo}, 2, "--store is required"},
		{"missing from", []string{"diff", "--store", url, "--to", auditTo}, 2, "--from is required"},
		{"bad date", []string{"diff", "--store", url, "--from", auditFrom, "--to", "2026-02-30"}, 2, `invalid value "2026-02-30" for flag -to`},
		{"to before from", []string{"diff", "--store", url, "--from", auditTo, "--to", auditFrom}, 2, "must be after --from"},
		{"period too long", []string{"diff", "--store", url, "--from", "2000-01-01", "--to", auditTo}, 2, "longer than 3660 days"},
		{"unknown flag", []string{"diff", "--store", url, "--from", auditFrom, "--to", auditTo, "--format", "json"}, 2, "flag provided but not defined: -format"},
		{"output is a directory", []string{"diff", "--store", url, "--from", auditFrom, "--to", auditTo, "-o", dir}, 2, "is a directory"},
		{"bad store", []string{"diff", "--store", "ftp://x", "--from", auditFrom, "--to", auditTo, "-o", "out.json"}, 2, "ftp"},
		{"stray argument", []string{"diff", "--store", url, "--from", auditFrom, "--to", auditTo, "extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := exhibit(t, dir, nil, tc.args...)
			require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stderr, tc.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.NotEqual(t, "out.json", e.Name())
				require.False(t, strings.HasPrefix(e.Name(), ".exhibit-"), "no temporary file left: %s", e.Name())
			}
		})
	}
}

// Acceptance (issue 16): the report of a simulated year, in a real browser,
// shows the summary, the date axis, failed collections and changes; the
// screenshots are kept as artifacts (never compared by pixel).
func TestReportOfASimulatedYearInChromium(t *testing.T) {
	bin := testtool.Require(t, "chromium")
	env := audittest.Year(t)
	url := "file://" + env.Store.Root()
	dir := t.TempDir()
	r := exhibit(t, dir, nil, "report", "--store", url, "--from", yearFrom, "--to", yearTo, "--org", "Acme Health <Inc>", "-o", "year.html")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	page := filepath.Join(dir, "year.html")
	raw, err := os.ReadFile(page)
	require.NoError(t, err)
	for _, ref := range []string{"<script", "<link", "src=", "@import", "url("} {
		require.NotContains(t, string(raw), ref)
	}

	dom := string(chromium(t, bin, "--dump-dom", "file://"+page))
	require.Contains(t, dom, "Acme Health &lt;Inc&gt;: control report, 1 January 2026 to 31 December 2026")
	require.Regexp(t, `<dd class="generated"><time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">`, dom)
	require.Contains(t, dom, `<code class="store">`+url+`</code>`)
	require.Regexp(t, `<section class="v-failing" data-verdict="failing"><div class="n">2</div>`, dom)
	for _, ref := range []string{"soc2:CC6.1", "hipaa:164.312(a)(1)"} {
		section := regexp.MustCompile(`(?s)data-control="` + regexp.QuoteMeta(ref) + `" data-verdict="failing">(.*?)</section>`).FindStringSubmatch(dom)
		require.NotNil(t, section, ref)
		s := section[1]
		require.Len(t, regexp.MustCompile(`<span class="mo" `).FindAllString(s, -1), 12, "%s: a label per month", ref)
		require.Len(t, regexp.MustCompile(`<span class="wk" `).FindAllString(s, -1), 53, "%s: a label per week", ref)
		cells := regexp.MustCompile(`<span class="c ([a-z]+)" data-date="(2026-\d\d-\d\d)"`).FindAllStringSubmatch(s, -1)
		require.Len(t, cells, 365, ref)
		status := map[string]string{}
		for _, c := range cells {
			status[c[2]] = c[1]
		}
		require.Equal(t, "failed", status["2026-02-20"], "day 50: the collection failed")
		require.Equal(t, "gap", status["2026-05-31"], "day 150: no run")
		require.Equal(t, "future", status["2026-12-31"], "after the report: future, not missing")
		require.Equal(t, 3, strings.Count(s, `<td class="st-failed">failed</td>`), ref)
		require.Equal(t, 1, strings.Count(s, `<td class="st-partial">partial</td>`), ref)
		for _, kind := range []string{"appeared", "resolved", "flipped"} {
			require.Contains(t, s, fmt.Sprintf(`<tr data-change="%s">`, kind), ref)
		}
	}

	shots := artifactDir(t)
	for _, shot := range []struct{ name, size string }{{"report-year-summary.png", "1280,1100"}, {"report-year.png", "1280,3200"}} {
		png := filepath.Join(shots, shot.name)
		chromium(t, bin, "--screenshot="+png, "--window-size="+shot.size, "file://"+page)
		b, err := os.ReadFile(png)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(b), "\x89PNG\r\n\x1a\n"), "a PNG")
		t.Logf("screenshot: %s", png)
	}
	pdf := filepath.Join(shots, "report-year.pdf")
	chromium(t, bin, "--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+page)
	b, err := os.ReadFile(pdf)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "%PDF-"), "printed with the print stylesheet")
	t.Logf("printed: %s", pdf)
}
