package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// reconcileType is the collector that joins the others' snapshots from the
// store; it is scheduled after them, as configs/exhibit.example.yaml does.
const reconcileType = "identity.reconcile"

// reconcileAfter is how long after the sources identity.reconcile fires:
// long enough for the slowest source (okta.access, about 100 s) to have
// written its snapshot, so that the join has every input.
const reconcileAfter = 3 * time.Minute

// BenchmarkScaleDaemon runs `exhibit run` as a user does, as a child
// process, over issue 17's whole estate served in scale mode from this
// process: AWS (awssim.IssueScale: 20 accounts, 2,000 IAM users, 5,000
// buckets, 40 trails, two regions; IAM 10/s, S3 100/s, CloudTrail 5/s per
// account), GitHub (ghsim.NewScale: 50 repositories, 20,000 merged pull
// requests; GitHub's documented secondary limits) and Okta (10,000 users
// besides the demo's; every bucket at 100 calls a second, Okta's minute
// windows scaled to seconds as BenchmarkPacing does), each answer 30 ms
// late (± 20 ms for AWS and GitHub).
//
// The configuration lists every collector type of the three sources
// (aws.*, github.*, okta.access; aws.* with scope_concurrency 20), all on
// one daily cron schedule for the next minute, so that they fire together
// at once as every "@daily" job does at midnight: the worst case.
// identity.reconcile, which calls no API and joins their snapshots from the
// store, fires reconcileAfter later. Once every collector has recorded its
// first run (exhibit_runs_total on the daemon's /metrics) the daemon gets
// SIGTERM and must exit 0; then `exhibit verify` must exit 0 on the store
// and every snapshot in it must be complete, and none may be missing a
// collector (outside the measured time).
//
// It reports the child's peak RSS (its VmHWM before it is stopped, the
// largest over the runs) and the largest anonymous and file-backed parts
// of its resident set, the wall time from the moment the schedule fired
// to the last source collector's first snapshot, the child's CPU time, the calls the
// simulators answered and those they refused for their rate, and the
// snapshots stored. Nothing is asserted on time or memory. ns/op is not
// a figure: the timer is stopped while waiting for the schedule to fire.
//
// "default" runs the daemon without memory_limit; "memory_limit=…" with
// each soft limit measured, 180MiB being what the Helm chart and the plain
// manifest set.
//
//	go test ./cmd/exhibit/ -run '^$' -bench BenchmarkScaleDaemon -benchtime 1x -count 3
func BenchmarkScaleDaemon(b *testing.B) {
	for _, limit := range []string{"", "200MiB", "180MiB", "160MiB"} {
		name := "default"
		if limit != "" {
			name = "memory_limit=" + limit
		}
		b.Run(name, func(b *testing.B) { scaleDaemon(b, limit) })
	}
}

// scaleDaemon is one sub-benchmark of BenchmarkScaleDaemon: the daemon
// with memoryLimit as its memory_limit ("" for none).
func scaleDaemon(b *testing.B, memoryLimit string) {
	var wall, cpu time.Duration
	var calls, throttled, snapshots int
	var peakKiB, anonKiB, fileKiB int64
	for b.Loop() {
		b.StopTimer()
		r := daemonOnce(b, memoryLimit)
		wall += r.wall
		cpu += r.cpu
		peakKiB = max(peakKiB, r.maxRSSKiB)
		anonKiB, fileKiB = max(anonKiB, r.anonKiB), max(fileKiB, r.fileKiB)
		calls += r.calls
		throttled += r.throttled
		snapshots += r.snapshots
		b.StartTimer()
	}
	runs := float64(b.N)
	b.ReportMetric(float64(peakKiB)/1024, "peak-rss-MiB")
	b.ReportMetric(float64(anonKiB)/1024, "peak-anon-MiB")
	b.ReportMetric(float64(fileKiB)/1024, "peak-file-MiB")
	b.ReportMetric(wall.Seconds()/runs, "wall-s")
	b.ReportMetric(cpu.Seconds()/runs, "cpu-s")
	b.ReportMetric(float64(calls)/runs, "calls/op")
	b.ReportMetric(float64(throttled)/runs, "throttled/op")
	b.ReportMetric(float64(snapshots)/runs, "snapshots/op")
}

// daemonRun is what one daemon run measured.
type daemonRun struct {
	wall, cpu time.Duration
	// maxRSSKiB is the daemon's own peak resident set (VmHWM), read just
	// before it is stopped. getrusage's max RSS of a child is no measure
	// of it: it starts from this process's resident set at the spawn,
	// simulators and all (a child of a process holding 500 MiB reports
	// 500 MiB for /bin/true).
	maxRSSKiB int64
	// anonKiB and fileKiB are the largest anonymous (heap, stacks) and
	// file-backed (the executable's pages) parts of the resident set seen
	// while the daemon ran, sampled with the metrics every 250 ms: the
	// first is the process's memory, the second what the kernel can drop
	// and read back from the binary.
	anonKiB, fileKiB            int64
	calls, throttled, snapshots int
}

// daemonOnce serves a new estate, runs one daemon over it until every
// collector has run once, stops it and checks the store.
func daemonOnce(b *testing.B, memoryLimit string) daemonRun {
	now := time.Now()
	aws := awssim.NewScale(now, awssim.IssueScale)
	gh := ghsim.NewScale(now, 50, 400)
	limits := ghsim.DocumentedLimits
	gh.Limits = &limits
	gh.Latency, gh.Jitter = 30*time.Millisecond, 20*time.Millisecond
	okta := oktasim.New(now)
	okta.Org.AddUsers(now, 10000)
	okta.PageSize = 200 // the collector's page limit
	okta.RateLimit, okta.RateWindow, okta.Latency = 100, time.Second, 30*time.Millisecond
	var urls []string
	for _, h := range []http.Handler{aws, gh, okta} {
		srv := httptest.NewServer(h)
		defer srv.Close()
		urls = append(urls, srv.URL)
	}
	awsSrc, ghSrc, oktaSrc := aws.Source(urls[0]), gh.Source(urls[1]), okta.Source(urls[2])

	// The next whole minute at least 15 s away: the daemon has started
	// and scheduled its jobs by then.
	fire := time.Now().UTC().Add(15 * time.Second).Truncate(time.Minute).Add(time.Minute)
	daily := func(t time.Time) string { return fmt.Sprintf("%d %d * * *", t.Minute(), t.Hour()) }

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "store: file://./evidence\nsigning_key: file://./key.pem\nspool_dir: ./spool\nlisten: 127.0.0.1:0\n")
	if memoryLimit != "" {
		fmt.Fprintf(&cfg, "memory_limit: %s\n", memoryLimit)
	}
	fmt.Fprintf(&cfg, "sources:\n  aws:\n    endpoint: %s\n    regions: [%s]\n    accounts:\n", awsSrc.Endpoint, strings.Join(awsSrc.Regions, ", "))
	for _, a := range awsSrc.Accounts {
		fmt.Fprintf(&cfg, "      - id: %q\n", a.ID)
		if a.RoleARN != "" {
			fmt.Fprintf(&cfg, "        role_arn: %s\n        external_id: ${EXHIBIT_EXTERNAL_ID}\n", a.RoleARN)
		}
	}
	fmt.Fprintf(&cfg, "  github:\n    base_url: %s\n    token: ${EXHIBIT_GH_TOKEN}\n    orgs: [%s]\n    protected_branches: [release]\n",
		ghSrc.BaseURL, strings.Join(ghSrc.Orgs, ", "))
	fmt.Fprintf(&cfg, "  okta:\n    org_url: %s\n    token: ${EXHIBIT_OKTA_TOKEN}\n", oktaSrc.OrgURL)
	cfg.WriteString("collectors:\n")
	types := all.Registry().Types()
	for _, typ := range types {
		spec := daily(fire)
		if typ == reconcileType {
			spec = daily(fire.Add(reconcileAfter))
		}
		fmt.Fprintf(&cfg, "  - type: %s\n    schedule: %q\n", typ, spec)
		if strings.HasPrefix(typ, "aws.") {
			fmt.Fprintf(&cfg, "    scope_concurrency: %d\n", len(awsSrc.Accounts))
		}
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "exhibit.yaml"), []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	env := append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMEMLIMIT=") }),
		"AWS_ACCESS_KEY_ID=AKIADEMODEMODEMO0000", "AWS_SECRET_ACCESS_KEY=demo-secret-not-a-real-key", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_PROFILE=", "AWS_SESSION_TOKEN=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3=", "AWS_CA_BUNDLE=",
		"EXHIBIT_EXTERNAL_ID="+awssim.ScaleExternalID, "EXHIBIT_GH_TOKEN="+ghSrc.Token.Reveal(), "EXHIBIT_OKTA_TOKEN="+oktaSrc.Token.Reveal())

	cmd := exec.Command(binary, "run", "-c", "exhibit.yaml")
	cmd.Dir, cmd.Env = dir, env
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	}()

	// Every collector's first run, as the daemon counts runs.
	addr := ""
	var anonKiB, fileKiB, hwmKiB int64
	var sourcesDone time.Time
	deadline := fire.Add(reconcileAfter + 10*time.Minute)
	for {
		select {
		case err := <-exited:
			b.Fatalf("daemon exited early: %v\n%s", err, tail(logs.String()))
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("not every collector ran by %s\n%s", deadline, tail(logs.String()))
		}
		if anon, file, hwm, ok := residentParts(cmd.Process.Pid); ok {
			anonKiB, fileKiB, hwmKiB = max(anonKiB, anon), max(fileKiB, file), hwm
		}
		if addr == "" {
			if addr = daemonListen(logs.String()); addr == "" {
				continue
			}
		}
		ran, err := runsCounted(addr)
		if err != nil {
			b.Fatalf("metrics: %v", err)
		}
		pending := slices.DeleteFunc(slices.Clone(types), func(t string) bool { return ran[t] })
		if sourcesDone.IsZero() && (len(pending) == 0 || slices.Equal(pending, []string{reconcileType})) {
			sourcesDone = time.Now()
		}
		if len(pending) == 0 {
			break
		}
	}
	if _, _, hwm, ok := residentParts(cmd.Process.Pid); ok {
		hwmKiB = hwm
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			b.Fatalf("SIGTERM must end the daemon with exit 0: %v\n%s", err, tail(logs.String()))
		}
	case <-time.After(2 * time.Minute):
		b.Fatalf("daemon did not stop after SIGTERM\n%s", tail(logs.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	out := daemonRun{
		wall:      sourcesDone.Sub(fire),
		cpu:       time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		maxRSSKiB: hwmKiB,
		anonKiB:   anonKiB,
		fileKiB:   fileKiB,
		calls:     gh.Requests() + okta.Requests(),
		throttled: gh.Refused().Total() + okta.TooManyRequests(),
	}
	for _, r := range aws.Requests() {
		out.calls++
		if r.Throttled {
			out.throttled++
		}
	}

	v := exec.Command(binary, "verify", "--store", "file://./evidence")
	v.Dir, v.Env = dir, env
	vout, err := v.CombinedOutput()
	if err != nil {
		b.Fatalf("verify: %v\n%s", err, vout)
	}
	lines := strings.Split(strings.TrimSpace(string(vout)), "\n")
	b.Logf("verify: %s", lines[len(lines)-1])
	out.snapshots = checkComplete(b, filepath.Join(dir, "evidence"), types)
	return out
}

// checkComplete reads every snapshot in the file store at dir: each must be
// complete, and each collector of types must have one. It returns how many
// there are.
func checkComplete(b *testing.B, dir string, types []string) int {
	st, err := fsstore.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	var keys []string
	if err := st.List(b.Context(), store.EvidencePrefix, "", func(k string) error {
		if _, _, ok := store.ParseSnapshotKey(k); ok {
			keys = append(keys, k)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	seen := map[string]int{}
	var bad []string
	for _, k := range keys {
		raw, err := st.Get(b.Context(), k)
		if err != nil {
			b.Fatal(err)
		}
		s, err := evidence.Parse(raw)
		if err != nil {
			b.Fatalf("%s: %v", k, err)
		}
		seen[s.Collector.Type]++
		if s.Status != evidence.StatusComplete {
			bad = append(bad, fmt.Sprintf("%s is %s: %v", k, s.Status, s.Errors))
		}
	}
	for _, t := range types {
		if seen[t] == 0 {
			bad = append(bad, t+": no snapshot")
		}
	}
	if len(bad) > 0 {
		b.Fatalf("%d problem(s):\n%s", len(bad), strings.Join(bad, "\n"))
	}
	return len(keys)
}

// runsCounted reads the daemon's /metrics at addr: the collectors with at
// least one run counted, whatever its outcome.
func runsCounted(addr string) (map[string]bool, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	ran := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `exhibit_runs_total{collector="`)
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, `"`)
		ran[id] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return ran, err
}

// daemonListen is the health server's address in the daemon's JSON logs,
// or "" before it is logged.
func daemonListen(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"serving health and metrics"`) {
			continue
		}
		_, rest, ok := strings.Cut(sc.Text(), `"listen":"`)
		if !ok {
			continue
		}
		addr, _, _ := strings.Cut(rest, `"`)
		return addr
	}
	return ""
}

// tail is the end of the daemon's logs, for a failure message.
func tail(logs string) string {
	const n = 8000
	if len(logs) > n {
		return "…" + logs[len(logs)-n:]
	}
	return logs
}

// residentParts reads a process's resident anonymous and file-backed
// memory and its peak resident set (VmHWM, its own since its exec), in
// KiB, from /proc/PID/status (Linux).
func residentParts(pid int) (anon, file, hwm int64, ok bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, false
	}
	for line := range strings.Lines(string(raw)) {
		name, value, _ := strings.Cut(line, ":")
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case err != nil:
		case name == "RssAnon":
			anon = kib
		case name == "RssFile":
			file = kib
		case name == "VmHWM":
			hwm = kib
		}
	}
	return anon, file, hwm, hwm > 0
}
