package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
)

// BenchmarkScaleProcess runs `exhibit collect` as a user does, as a child
// process, over issue 17's estate (awssim.IssueScale: 20 accounts, 2,000
// IAM users, 5,000 buckets, 40 trails, two regions each) served in scale
// mode from this process (IAM 10/s, S3 100/s, CloudTrail 5/s per account;
// 30 ms ± 20 ms latency): aws.iam, aws.s3 and aws.cloudtrail, one after
// another as collect runs them, each over every account at once
// (scope_concurrency 20), into a file store. Each run starts with a new
// store and the simulator's buckets full; the store is verified after it
// (`exhibit verify`, exit 0), outside the measured time.
//
// "all" runs the three, as collect does; the others run one (--only), to
// tell which of them sets the peak.
//
// It reports the child's peak RSS (as /usr/bin/time reports it, the
// largest over the runs), its wall and CPU time, and the calls the
// simulator answered and refused for their rate.
func BenchmarkScaleProcess(b *testing.B) {
	sim := awssim.NewScale(time.Now(), awssim.IssueScale)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	src := sim.Source(srv.URL)

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "store: file://./evidence\nsigning_key: file://./key.pem\nspool_dir: ./spool\n")
	fmt.Fprintf(&cfg, "sources:\n  aws:\n    endpoint: %s\n    regions: [%s]\n    accounts:\n", src.Endpoint, strings.Join(src.Regions, ", "))
	for _, a := range src.Accounts {
		fmt.Fprintf(&cfg, "      - id: %q\n", a.ID)
		if a.RoleARN != "" {
			fmt.Fprintf(&cfg, "        role_arn: %s\n        external_id: ${EXHIBIT_EXTERNAL_ID}\n", a.RoleARN)
		}
	}
	cfg.WriteString("collectors:\n")
	for _, typ := range []string{"aws.iam", "aws.s3", "aws.cloudtrail"} {
		fmt.Fprintf(&cfg, "  - type: %s\n    schedule: \"@daily\"\n    scope_concurrency: %d\n", typ, len(src.Accounts))
	}
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID=AKIADEMODEMODEMO0000", "AWS_SECRET_ACCESS_KEY=demo-secret-not-a-real-key", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_PROFILE=", "AWS_SESSION_TOKEN=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3=", "AWS_CA_BUNDLE=",
		"EXHIBIT_EXTERNAL_ID="+awssim.ScaleExternalID)

	// The child runs under /usr/bin/time, which reports its peak RSS: the
	// rusage of a process this benchmark starts would begin from this
	// process's own resident set, simulator and all, which the child
	// shares until it execs.
	run := func(dir string, args ...string) (*os.ProcessState, string, error) {
		usage := filepath.Join(dir, "time.out")
		cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", usage, binary}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return cmd.ProcessState, out.String(), err
	}

	for _, only := range []string{"", "aws.iam", "aws.s3", "aws.cloudtrail"} {
		name, args := "all", []string{"collect", "-c", "exhibit.yaml"}
		if only != "" {
			name, args = only, append(args, "--only", only)
		}
		b.Run(name, func(b *testing.B) { scaleProcess(b, sim, cfg.String(), run, args) })
	}
}

// scaleProcess is one sub-benchmark of BenchmarkScaleProcess: the child
// run with args.
func scaleProcess(b *testing.B, sim *awssim.Sim, cfg string, run func(dir string, args ...string) (*os.ProcessState, string, error), args []string) {
	var wall, cpu time.Duration
	var calls, throttled int
	var peakKiB int64
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "exhibit.yaml"), []byte(cfg), 0o644); err != nil {
			b.Fatal(err)
		}
		sim.Reset()
		b.StartTimer()

		start := time.Now()
		st, out, err := run(dir, args...)
		wall += time.Since(start)
		if err != nil {
			b.Fatalf("collect: %v\n%s", err, out)
		}
		ru := st.SysUsage().(*syscall.Rusage) // /usr/bin/time's: it waits for the child
		cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		raw, err := os.ReadFile(filepath.Join(dir, "time.out"))
		var kib int64
		if err == nil {
			_, err = fmt.Sscan(string(raw), &kib)
		}
		if err != nil {
			b.Fatalf("the child's peak RSS from /usr/bin/time: %q: %v", raw, err)
		}
		peakKiB = max(peakKiB, kib)
		for _, r := range sim.Requests() {
			calls++
			if r.Throttled {
				throttled++
			}
		}

		b.StopTimer()
		if _, out, err := run(dir, "verify", "--store", "file://./evidence"); err != nil {
			b.Fatalf("verify: %v\n%s", err, out)
		} else {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			b.Logf("verify: %s", lines[len(lines)-1])
		}
		b.StartTimer()
	}
	runs := float64(b.N)
	b.ReportMetric(float64(peakKiB)/1024, "peak-rss-MiB")
	b.ReportMetric(wall.Seconds()/runs, "wall-s")
	b.ReportMetric(cpu.Seconds()/runs, "cpu-s")
	b.ReportMetric(float64(calls)/runs, "calls/op")
	b.ReportMetric(float64(throttled)/runs, "throttled/op")
}
