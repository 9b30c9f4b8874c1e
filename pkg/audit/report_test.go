package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// hourly is n snapshots of one hourly series from start, each with the same
// failing finding (its reason changing every run) and one passing one.
func hourly(start time.Time, n int) []audit.Member {
	members := make([]audit.Member, n)
	for i := range members {
		at := start.Add(time.Duration(i) * time.Hour)
		members[i] = audit.Member{
			Key:    fmt.Sprintf("evidence/aws.iam/111122223333/%012d.json", i+1),
			SHA256: fmt.Sprintf("%064x", i+1),
			Snapshot: &evidence.Snapshot{
				Series: "aws.iam/111122223333", Seq: int64(i + 1), Schedule: "@hourly",
				StartedAt: at, FinishedAt: at.Add(time.Minute), Status: evidence.StatusComplete,
				Findings: []evidence.Finding{
					{Check: "aws.iam.access_key_age", Resource: "arn:aws:iam::111122223333:user/ci", Status: evidence.Fail,
						Controls: []string{"soc2:CC6.1"}, Reason: fmt.Sprintf("key is %d hours old", 2400+i)},
					{Check: "aws.iam.root_mfa", Resource: "arn:aws:iam::111122223333:root", Status: evidence.Pass,
						Controls: []string{"soc2:CC6.1"}, Reason: "root has MFA"},
				},
			},
		}
	}
	return members
}

// A finding that fails in every run is one row, however many runs: when it
// was first and last seen, with the evidence of both, how often, and the
// latest reason.
func TestReportGroupsRepeatedFailures(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	members := hourly(from, 24*30)
	var out bytes.Buffer
	require.NoError(t, audit.WriteReport(t.Context(), &out, audit.Slice(members), audit.ReportOptions{Period: audit.Period{From: from, To: from.AddDate(0, 0, 30)}}))
	html := out.String()

	require.Contains(t, html, "<h3>720 failing or undecided finding(s): 1 check and resource pair(s), worst first</h3>")
	require.Equal(t, 1, strings.Count(html, "<td>aws.iam.access_key_age</td>"))
	require.Contains(t, html, "<td>720</td><td>key is 3119 hours old</td>")
	require.Contains(t, html, `<span class="mono">2026-03-01T00:00:00Z</span><code>evidence/aws.iam/111122223333/000000000001.json</code>`)
	require.Contains(t, html, `<span class="mono">2026-03-30T23:00:00Z</span><code>evidence/aws.iam/111122223333/000000000720.json</code>`)
	require.NotContains(t, html, "key is 2401 hours old", "only the latest reason is shown")
}

// failAfter accepts n bytes, then fails every write, counting those
// attempted after the first failure.
type failAfter struct {
	n      int
	failed bool
	after  int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.failed {
		f.after++
	}
	if len(p) > f.n {
		w := f.n
		f.n, f.failed = 0, true
		return w, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

// A page that cannot be written whole is an error, whether the first
// write fails or one in the middle of the page.
func TestReportReturnsAFailedWrite(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	opts := audit.ReportOptions{Period: audit.Period{From: from, To: from.AddDate(0, 0, 30)}}
	var whole bytes.Buffer
	require.NoError(t, audit.WriteReport(t.Context(), &whole, audit.Slice(hourly(from, 24*30)), opts))
	for _, n := range []int{0, whole.Len() / 2, whole.Len() - 1} {
		f := &failAfter{n: n}
		err := audit.WriteReport(t.Context(), f, audit.Slice(hourly(from, 24*30)), opts)
		require.EqualError(t, err, "disk full", "failing after %d of %d bytes", n, whole.Len())
		require.True(t, f.failed)
		require.Zero(t, f.after, "nothing is written after the failed write")
	}
}

// BenchmarkReportYearOfHourlyRuns reports the size of the HTML report for a
// year of an hourly collector with a finding that fails throughout.
func BenchmarkReportYearOfHourlyRuns(b *testing.B) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	members := hourly(from, 24*365)
	opts := audit.ReportOptions{Period: audit.Period{From: from, To: from.AddDate(1, 0, 0)}}
	var size int
	for b.Loop() {
		var out bytes.Buffer
		if err := audit.WriteReport(b.Context(), &out, audit.Slice(members), opts); err != nil {
			b.Fatal(err)
		}
		size = out.Len()
	}
	b.ReportMetric(float64(size)/1e6, "MB/report")
}
