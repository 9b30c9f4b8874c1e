package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/audit/audittest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// controlSection is the HTML of one control's section of a report.
func controlSection(t *testing.T, html, ref string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section class="control v-[a-z-]+" id="c\d+" data-control="` + regexp.QuoteMeta(ref) + `"[^>]*>(.*?)</section>`).FindStringSubmatch(html)
	require.NotNil(t, m, "the report has a section for %s", ref)
	return m[1]
}

var dayCell = regexp.MustCompile(`<span class="c ([a-z]+)" data-date="(\d{4}-\d\d-\d\d)" title="[^"]*" style="grid-column:(\d+);grid-row:(\d+)"></span>`)

// dayStatuses lists the status of every day cell of a section, in order.
func dayStatuses(section string) []string {
	var out []string
	for _, m := range dayCell.FindAllStringSubmatch(section, -1) {
		out = append(out, m[1])
	}
	return out
}

var yearPeriod = audit.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}

// seqOfDay is the seq of the run of a day of the simulated year (the
// missed day has none).
func seqOfDay(day int) int64 {
	if day > audittest.YearMissed {
		return int64(day)
	}
	return int64(day + 1)
}

func yearMembers(t *testing.T) []audit.Member {
	t.Helper()
	members, err := audit.LoadPeriod(t.Context(), audittest.Year(t).Store, yearPeriod)
	require.NoError(t, err)
	require.Len(t, members, audittest.YearRuns-1)
	return members
}

// The changes of a year of daily runs: a finding that failed for a month
// flipped, one fixed in July resolved, one failing since October appeared,
// each with the snapshots that show it; failed collections neither resolve
// nor reopen anything.
func TestChangesOverASimulatedYear(t *testing.T) {
	cat, err := controls.Default()
	require.NoError(t, err)
	ch, err := audit.PeriodChanges(t.Context(), audit.Slice(yearMembers(t)), cat, yearPeriod)
	require.NoError(t, err)
	require.Equal(t, audittest.YearRuns-1, ch.Snapshots)

	ev := func(day int, status string) audit.ChangeEvidence {
		return audit.ChangeEvidence{Series: "aws.s3/111122223333", Seq: seqOfDay(day), StartedAt: audittest.YearStart.AddDate(0, 0, day), Status: status}
	}
	strip := func(e audit.ChangeEvidence) audit.ChangeEvidence {
		require.Regexp(t, `^[0-9a-f]{64}$`, e.SHA256)
		require.Equal(t, fmt.Sprintf("evidence/aws.s3/111122223333/%012d.json", e.Seq), e.Key)
		e.SHA256, e.Key = "", ""
		return e
	}
	require.Len(t, ch.Controls, 2)
	for _, cc := range ch.Controls {
		require.Contains(t, []string{"soc2:CC6.1", "hipaa:164.312(a)(1)"}, cc.Control)
		require.Len(t, cc.Appeared, 1)
		require.Len(t, cc.Resolved, 1)
		require.Len(t, cc.Flipped, 1)

		a := cc.Appeared[0]
		require.Equal(t, []any{"bucket-new", "appeared", "pass", "fail", 1}, []any{a.Resource, a.Kind, a.Start, a.End, a.Transitions})
		require.Equal(t, ev(audittest.YearAppeared-1, "pass"), strip(*a.Before))
		require.Equal(t, ev(audittest.YearAppeared, "fail"), strip(a.First))
		require.Equal(t, ev(audittest.YearRuns-1, "fail"), strip(a.Last))

		r := cc.Resolved[0]
		require.Equal(t, []any{"bucket-old", "resolved", "fail", "pass", 1}, []any{r.Resource, r.Kind, r.Start, r.End, r.Transitions})
		require.Equal(t, ev(audittest.YearResolved-1, "fail"), strip(*r.Before))
		require.Equal(t, ev(audittest.YearResolved, "pass"), strip(r.First))
		require.Equal(t, ev(audittest.YearRuns-1, "pass"), strip(r.Last))

		f := cc.Flipped[0]
		require.Equal(t, []any{"bucket-flip", "flipped", "pass", "pass", 2}, []any{f.Resource, f.Kind, f.Start, f.End, f.Transitions})
		require.Equal(t, ev(audittest.YearFlipFrom, "fail"), strip(f.First))
		require.Equal(t, ev(audittest.YearFlipTo+1, "pass"), strip(f.LastChange))
		require.Equal(t, ev(audittest.YearRuns-1, "pass"), strip(f.Last))
	}

	// The JSON document's shape.
	var buf bytes.Buffer
	require.NoError(t, audit.WriteChangesJSON(&buf, ch))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	require.Equal(t, audit.ChangesSchema, doc["schema"])
	require.Equal(t, "2026-01-01T00:00:00Z", doc["from"])
	c0 := doc["controls"].([]any)[0].(map[string]any)
	require.ElementsMatch(t, []string{"control", "title", "appeared", "resolved", "flipped"}, keys(c0))
	a0 := c0["appeared"].([]any)[0].(map[string]any)
	require.ElementsMatch(t, []string{"check", "resource", "change", "status_at_start", "status_at_end", "transitions", "before", "first", "last_change", "last"}, keys(a0))
	require.ElementsMatch(t, []string{"series", "seq", "key", "sha256", "started_at", "status"}, keys(a0["first"].(map[string]any)))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The rules of a change, on hand-made members: a resource that shows up
// failing after its series' first run appeared; errors change nothing; a
// snapshot out of time order is refused.
func TestChangeRules(t *testing.T) {
	cat, err := controls.Default()
	require.NoError(t, err)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
	member := func(i int, findings ...evidence.Finding) audit.Member {
		return audit.Member{Key: fmt.Sprintf("evidence/t/1/%012d.json", i+1), SHA256: fmt.Sprintf("%064x", i+1),
			Snapshot: &evidence.Snapshot{Series: "t/1", Seq: int64(i + 1), StartedAt: at(i), Status: evidence.StatusComplete, Findings: findings}}
	}
	f := func(res string, st evidence.Result) evidence.Finding {
		return evidence.Finding{Check: "aws.iam.root_mfa", Resource: res, Status: st, Controls: []string{"soc2:CC6.1"}}
	}
	members := []audit.Member{
		member(0, f("a", evidence.Pass)),
		member(1, f("a", evidence.Error), f("b", evidence.Fail)),
		member(2, f("a", evidence.Pass), f("b", evidence.Fail), f("c", evidence.Pass)),
	}
	slices.Reverse(members) // PeriodChanges puts them in time order itself
	ch, err := audit.PeriodChanges(t.Context(), audit.Slice(members), cat, audit.Period{From: t0, To: at(3)})
	require.NoError(t, err)
	require.Len(t, ch.Controls, 1)
	cc := ch.Controls[0]
	require.Empty(t, cc.Resolved, "an error between two passes is no change")
	require.Empty(t, cc.Flipped)
	require.Len(t, cc.Appeared, 1)
	b := cc.Appeared[0]
	require.Equal(t, []any{"b", audit.StatusAbsent, "fail", int64(2), int64(3)}, []any{b.Resource, b.Start, b.End, b.First.Seq, b.Last.Seq})
	require.Nil(t, b.Before)
	require.Equal(t, 3, ch.Findings)

	tr := audit.NewChangeTracker()
	require.NoError(t, tr.Add(members[0]))
	err = tr.Add(members[2])
	require.ErrorContains(t, err, "evidence/t/1/000000000001.json started at 2026-03-01T00:00:00Z, before the snapshot added before it")

	// A complete run that no longer reports a finding: gone. A partial run
	// that does not reach it: nothing.
	partial := member(4, f("a", evidence.Pass))
	partial.Snapshot.Status = evidence.StatusPartial
	gone := []audit.Member{
		member(0, f("a", evidence.Pass), f("d", evidence.Fail), f("e", evidence.Fail)),
		member(1, f("a", evidence.Pass), f("b", evidence.Fail), f("d", evidence.Fail), f("e", evidence.Fail)),
		member(2, f("a", evidence.Pass), f("e", evidence.Fail)),
		member(3, f("a", evidence.Pass), f("e", evidence.Fail)),
		partial,
	}
	ch, err = audit.PeriodChanges(t.Context(), audit.Slice(gone), cat, audit.Period{From: t0, To: at(5)})
	require.NoError(t, err)
	cc = ch.Controls[0]
	require.Empty(t, cc.Appeared, "e, failing throughout and missing from a partial run, did not change")
	require.Len(t, cc.Resolved, 1)
	require.Equal(t, []any{"d", "fail", audit.StatusAbsent, int64(3), int64(2)}, []any{cc.Resolved[0].Resource, cc.Resolved[0].Start, cc.Resolved[0].End, cc.Resolved[0].First.Seq, cc.Resolved[0].Before.Seq})
	require.Len(t, cc.Flipped, 1)
	require.Equal(t, []any{"b", audit.StatusAbsent, audit.StatusAbsent, 2}, []any{cc.Flipped[0].Resource, cc.Flipped[0].Start, cc.Flipped[0].End, cc.Flipped[0].Transitions})

	// An empty period: nothing to compare, said so.
	empty, err := audit.PeriodChanges(t.Context(), audit.Slice(nil), cat, audit.Period{From: t0, To: at(3)})
	require.NoError(t, err)
	require.Equal(t, 0, empty.Snapshots)
	require.NotNil(t, empty.Controls)
	var buf bytes.Buffer
	require.NoError(t, audit.WriteChangesText(&buf, empty))
	require.Contains(t, buf.String(), "no snapshot started in the period: nothing to compare")
}

// The report of a simulated year: the summary at the top, a calendar with
// months and weeks in which days after the report are future (not missing
// evidence), the failed and partial collections as such, the changes, the
// worst failures first.
func TestReportOfASimulatedYear(t *testing.T) {
	members := yearMembers(t)
	var out bytes.Buffer
	require.NoError(t, audit.WriteReport(t.Context(), &out, audit.Slice(members), audit.ReportOptions{Period: yearPeriod, Store: "file:///evidence",
		Organization: "Acme <Health>", Generated: audittest.YearGenerated}))
	html := out.String()

	require.Contains(t, html, `<dd class="org">Acme &lt;Health&gt;</dd>`)
	require.Contains(t, html, `<dd class="generated"><time datetime="2026-11-17T12:00:00Z">`)
	require.Contains(t, html, "2026-01-01T00:00:00Z to 2027-01-01T00:00:00Z")
	summary := regexp.MustCompile(`(?s)<section id="summary".*?</div>\n</section>`).FindString(html)
	require.NotEmpty(t, summary, "a summary at the top")
	require.Less(t, strings.Index(html, summary), strings.Index(html, `<section class="control`))
	failingBox := regexp.MustCompile(`(?s)<section class="v-failing" data-verdict="failing"><div class="n">(\d+)</div>.*?</section>`).FindStringSubmatch(summary)
	require.Equal(t, "2", failingBox[1])
	require.Contains(t, failingBox[0], ">soc2:CC6.1</a>")
	require.Contains(t, failingBox[0], ">hipaa:164.312(a)(1)</a>")

	for _, ref := range []string{"soc2:CC6.1", "hipaa:164.312(a)(1)"} {
		section := controlSection(t, html, ref)
		want := make([]string, 365)
		for day := range want {
			switch {
			case day > audittest.YearRuns:
				want[day] = audit.DayFuture
			case day == audittest.YearMissed, day == audittest.YearRuns: // the run due that morning never came
				want[day] = audit.DayGap
			case day >= audittest.YearFailedFrom && day <= audittest.YearFailedTo:
				want[day] = audit.DayFailed
			case day < audittest.YearResolved, day >= audittest.YearAppeared, day >= audittest.YearFlipFrom && day <= audittest.YearFlipTo:
				want[day] = audit.DayFail
			case day == audittest.YearPartial:
				want[day] = audit.DayPartial
			default:
				want[day] = audit.DayPass
			}
		}
		require.Equal(t, want, dayStatuses(section), ref)

		// The axis: twelve months, one column per week, Monday first.
		months := regexp.MustCompile(`<span class="mo" style="grid-column:(\d+) / span 3" title="([A-Za-z]+ 2026)">`).FindAllStringSubmatch(section, -1)
		require.Len(t, months, 12, ref)
		require.Equal(t, "January 2026", months[0][2])
		require.Equal(t, "December 2026", months[11][2])
		weeks := regexp.MustCompile(`<span class="wk" style="grid-column:\d+" title="week (\d+), from [^"]+">`).FindAllStringSubmatch(section, -1)
		require.Len(t, weeks, 53, "%s: 2026 touches 53 ISO weeks", ref)
		cells := dayCell.FindAllStringSubmatch(section, -1)
		require.Equal(t, []string{"2026-01-01", "2", "5"}, cells[0][2:], "1 January 2026 is a Thursday, in the first week's column")
		require.Equal(t, []string{"2026-01-05", "3", "2"}, cells[4][2:], "the Monday after starts the next column")

		require.Contains(t, section, `<span class="badge v-failing">`)
		require.Contains(t, section, "Failing: a check failed on ")
		require.Contains(t, section, "Also 3 failed collection(s), 1 partial collection(s), 2 scheduled run(s) that left no snapshot.")
		require.Contains(t, section, "44 day(s) of the period are still to come.")

		// Failed and partial collections, as such, with what failed.
		require.Equal(t, 3, strings.Count(section, `<td class="st-failed">failed</td>`), ref)
		require.Equal(t, 1, strings.Count(section, `<td class="st-partial">partial</td>`), ref)
		require.Contains(t, section, "ExpiredToken")
		require.Contains(t, section, "AccessDenied: not authorized in eu-west-1")

		// The changes, each with its evidence.
		rows := regexp.MustCompile(`<tr data-change="([a-z]+)"><td class="ch-[a-z]+">[a-z]+</td><td>test\.check</td><td>([a-z-]+)</td>`).FindAllStringSubmatch(section, -1)
		var got []string
		for _, r := range rows {
			got = append(got, r[1]+" "+r[2])
		}
		require.Equal(t, []string{"appeared bucket-new", "resolved bucket-old", "flipped bucket-flip"}, got, ref)
		require.Contains(t, section, fmt.Sprintf("<code>aws.s3/111122223333 #%d</code>", seqOfDay(audittest.YearAppeared)))

		// The worst failures first: fails before errors, the most often
		// first.
		failing := regexp.MustCompile(`<tr><td>test\.check</td><td>([^<]+)</td><td class="st-([a-z]+)">`).FindAllStringSubmatch(section, -1)
		var order []string
		for _, f := range failing {
			order = append(order, f[1]+" "+f[2])
		}
		require.Equal(t, []string{"bucket-old fail", "bucket-new fail", "bucket-flip fail", "test:111122223333 error"}, order, ref)
	}
	require.NotContains(t, html, "<script")
}

// A store whose every run failed shows failed collections, never "no
// evidence".
func TestReportOfAnAllFailedStore(t *testing.T) {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(collector.Request) (*collector.Result, error) {
		return nil, errors.New("AccessDenied: the role cannot be assumed")
	}}
	env.Fill(t, agenttest.Job("t", "@daily", c), 3, 24*time.Hour)
	p := audit.Period{From: t0, To: t0.AddDate(0, 0, 3)}
	members, err := audit.LoadPeriod(t.Context(), env.Store, p)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, audit.WriteReport(t.Context(), &out, audit.Slice(members), audit.ReportOptions{Period: p, Generated: t0.AddDate(0, 0, 3)}))
	html := out.String()
	for _, ref := range []string{"soc2:CC6.1", "hipaa:164.312(a)(1)"} {
		section := controlSection(t, html, ref)
		require.Equal(t, []string{"failed", "failed", "failed"}, dayStatuses(section))
		require.Contains(t, section, `<span class="badge v-incomplete">`)
		require.Contains(t, section, "3 failed collection(s)")
		require.Contains(t, section, "No day of the period shows every check passing.")
		require.Equal(t, 3, strings.Count(section, `<td class="st-failed">failed</td>`))
	}
	noEvidence := regexp.MustCompile(`(?s)<section class="v-no-evidence".*?</section>`).FindString(html)
	require.NotContains(t, noEvidence, ">soc2:CC6.1<")
	require.NotContains(t, noEvidence, ">hipaa:164.312(a)(1)<")
}

// Names from a hostile store reach the terminal escaped: a newline or an
// escape sequence in a resource cannot forge a line of exhibit diff.
func TestChangesTextEscapesNames(t *testing.T) {
	cat, err := controls.Default()
	require.NoError(t, err)
	evil := "bucket\n  resolved test.check all: fail → pass\x1b[2K"
	m := func(i int, st evidence.Result) audit.Member {
		return audit.Member{Key: fmt.Sprintf("evidence/t/1/%012d.json", i+1), SHA256: fmt.Sprintf("%064x", i+1),
			Snapshot: &evidence.Snapshot{Series: "t/1", Seq: int64(i + 1), StartedAt: t0.Add(time.Duration(i) * time.Hour), Status: evidence.StatusComplete,
				Findings: []evidence.Finding{{Check: "aws.iam.root_mfa", Resource: evil, Status: st, Controls: []string{"soc2:CC6.1"}}}}}
	}
	ch, err := audit.PeriodChanges(t.Context(), audit.Slice{m(0, evidence.Pass), m(1, evidence.Fail)}, cat, audit.Period{From: t0, To: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, audit.WriteChangesText(&buf, ch))
	out := buf.String()
	require.NotContains(t, out, "\x1b")
	require.NotContains(t, out, "\n  resolved")
	require.Contains(t, out, `"bucket\n  resolved test.check all: fail \u2192 pass\x1b[2K"`)
}
