package audit_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// yearStart and yearHours are the hourly year the readers' benchmark reads.
var yearStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	yearHours    = 24 * 365
	yearFindings = 100
)

// writeHourlyYear writes a year of hourly snapshots of one series, each with
// yearFindings findings, through the real agent into a file store under dir
// (dir/evidence). Most pass; one fails throughout, a few flip by the day and
// one is undecided every 50th run, so every reader's accumulators have work.
func writeHourlyYear(t testing.TB, dir string) {
	env := agenttest.NewEnv(t, yearStart)
	hour := 0
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(req collector.Request) (*collector.Result, error) {
		res, err := agenttest.Passing(req)
		if err != nil {
			return nil, err
		}
		res.Findings = res.Findings[:0]
		for i := range yearFindings {
			f := evidence.Finding{Check: "test.check", Resource: fmt.Sprintf("arn:aws:s3:::bucket-%03d", i), Status: evidence.Pass,
				Reason: "default encryption SSE-KMS, bucket key enabled, TLS-only policy"}
			switch {
			case i == 0, i < 5 && (hour/24)%(i+2) == 0:
				f.Status, f.Reason = evidence.Fail, fmt.Sprintf("no default encryption (run %d)", hour)
			case i == 5 && hour%50 == 0:
				f.Status, f.Reason = evidence.Error, "AccessDenied: s3:GetEncryptionConfiguration"
			}
			res.Findings = append(res.Findings, f)
		}
		return res, nil
	}}
	job := agenttest.Job("s3", "@hourly", c)
	for hour = 0; hour < yearHours; hour++ {
		env.Clock.Advance(yearStart.Add(time.Duration(hour)*time.Hour + time.Minute).Sub(env.Clock.Now()))
		env.Fill(t, job, 1, 0)
	}
	require.NoError(t, os.Rename(filepath.Join(env.Dir, "evidence"), filepath.Join(dir, "evidence")))
}

// BenchmarkReadersYearOfHourlyRuns runs the real exhibit binary's readers —
// report, export as csv, ocsf and oscal, diff and sample — over a year of
// hourly snapshots of ~100 findings each, and reports each command's peak
// RSS (the child's rusage) and wall time. Making the year takes minutes:
// EXHIBIT_YEAR_STORE names a directory to keep it in between runs (made
// when it has no evidence/ yet), and EXHIBIT_BIN a binary to measure (by
// default the one built from this tree).
//
//	go test ./pkg/audit/ -run '^$' -bench BenchmarkReadersYearOfHourlyRuns -benchtime 1x -timeout 2h
func BenchmarkReadersYearOfHourlyRuns(b *testing.B) {
	dir := os.Getenv("EXHIBIT_YEAR_STORE")
	if dir == "" {
		dir = b.TempDir()
	}
	if _, err := os.Stat(filepath.Join(dir, "evidence")); err != nil {
		writeHourlyYear(b, dir)
	}
	bin := os.Getenv("EXHIBIT_BIN")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "exhibit")
		build := exec.Command("go", "build", "-o", bin, "github.com/exhibit-dev/exhibit/cmd/exhibit")
		build.Stderr = os.Stderr
		require.NoError(b, build.Run())
	}
	store := "file://" + filepath.Join(dir, "evidence")
	period := []string{"--store", store, "--from", "2026-01-01", "--to", "2027-01-01"}
	out := b.TempDir()
	cmds := []struct {
		name string
		args []string
	}{
		{"report", append([]string{"report", "-o", filepath.Join(out, "report.html")}, period...)},
		{"export-csv", append([]string{"export", "--format", "csv", "-o", filepath.Join(out, "export.csv")}, period...)},
		{"export-ocsf", append([]string{"export", "--format", "ocsf", "-o", filepath.Join(out, "export.ocsf")}, period...)},
		{"export-oscal", append([]string{"export", "--format", "oscal", "-o", filepath.Join(out, "export.oscal")}, period...)},
		{"diff", append([]string{"diff", "-o", filepath.Join(out, "diff.txt")}, period...)},
		{"sample", append([]string{"sample", "--control", "CC6.1", "--seed", "bench", "-o", filepath.Join(out, "sample.zip")}, period...)},
	}
	for _, c := range cmds {
		b.Run(c.name, func(b *testing.B) {
			var rss int64
			for b.Loop() {
				cmd := exec.Command(bin, c.args...)
				cmd.Stderr = os.Stderr
				if msg, err := cmd.Output(); err != nil {
					b.Fatalf("%s: %v\n%s", c.name, err, msg)
				}
				rss = max(rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
			}
			b.ReportMetric(float64(rss)/1024, "peak-RSS-MiB")
		})
	}
}
