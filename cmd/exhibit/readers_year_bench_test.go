package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/schedule"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// estateYearStart is the first day of the estate's year.
var estateYearStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkReadersYearOfTheEstate runs the real binary's readers — report,
// export as csv, ocsf and oscal, diff (first day to last), sample and
// verify — as child processes over a year of the whole simulated estate,
// and reports each one's peak RSS (the child's rusage), wall and CPU time.
//
// The estate is issue 17's: 20 AWS accounts (awssim.IssueScale), 50 GitHub
// repositories with 400 merged pull requests each, 10,000 Okta users,
// served without rate limits or latency. Every collector of
// configs/exhibit.example.yaml runs once per scope against it through the
// real collectors (see captureEstate); then every series is written on the
// example's schedule (aws.iam every six hours, github.pull_requests
// hourly, the rest daily) through the real agent into a file store, each
// run replaying its series' captured result (see replay).
//
// Making the store takes long: EXHIBIT_YEAR_STORE names a directory to
// keep it in (made when it has no evidence/ yet; built in building/ and
// renamed when whole), EXHIBIT_YEAR_DAYS how many days of the year to
// write (default 365), EXHIBIT_READ_DAYS how many of them, from the first,
// the period readers read (default all; verify reads the whole store),
// and EXHIBIT_BIN a binary to measure instead of the one built from this
// tree.
//
//	EXHIBIT_YEAR_STORE=/tmp/estate go test ./cmd/exhibit/ -run '^$' \
//	  -bench BenchmarkReadersYearOfTheEstate -benchtime 1x -timeout 6h
func BenchmarkReadersYearOfTheEstate(b *testing.B) {
	days, err := envDays("EXHIBIT_YEAR_DAYS", 365)
	if err != nil {
		b.Fatal(err)
	}
	read, err := envDays("EXHIBIT_READ_DAYS", days)
	if err != nil {
		b.Fatal(err)
	}
	dir := os.Getenv("EXHIBIT_YEAR_STORE")
	if dir == "" {
		dir = b.TempDir()
	}
	if _, err := os.Stat(filepath.Join(dir, "evidence")); err != nil {
		writeEstateYear(b, dir, estateYearStart.AddDate(0, 0, days))
	}
	end := estateYearStart.AddDate(0, 0, read)
	bin := binary
	if v := os.Getenv("EXHIBIT_BIN"); v != "" {
		bin = v
	}
	store := "file://" + filepath.Join(dir, "evidence")
	period := []string{"--store", store, "--from", estateYearStart.Format(time.DateOnly), "--to", end.Format(time.DateOnly)}
	out := b.TempDir()
	cmds := []struct {
		name string
		args []string
	}{
		{"report", append([]string{"report", "-o", filepath.Join(out, "report.html")}, period...)},
		{"export-csv", append([]string{"export", "--format", "csv", "-o", "-"}, period...)},
		{"export-ocsf", append([]string{"export", "--format", "ocsf", "-o", "-"}, period...)},
		{"export-oscal", append([]string{"export", "--format", "oscal", "-o", filepath.Join(out, "export.oscal")}, period...)},
		{"diff", append([]string{"diff", "-o", filepath.Join(out, "diff.txt")}, period...)},
		{"sample", append([]string{"sample", "--control", "CC6.1", "--seed", "bench", "-o", filepath.Join(out, "sample.zip")}, period...)},
		{"verify", []string{"verify", "--store", store}},
	}
	for _, c := range cmds {
		b.Run(c.name, func(b *testing.B) {
			var rss int64
			var cpu, wall time.Duration
			var written int64
			for b.Loop() {
				// The child's peak RSS as /usr/bin/time reports it: the
				// rusage of a process this benchmark starts would count
				// this process's own pages, which the child shares until
				// it execs.
				usage := filepath.Join(out, c.name+".time")
				cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M %e %U %S", "-o", usage, bin}, c.args...)...)
				var stdout countingWriter
				var stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("%s: %v\n%s\n%s", c.name, err, stdout.tail, lastLines(stderr.String()))
				}
				raw, err := os.ReadFile(usage)
				if err != nil {
					b.Fatal(err)
				}
				var kib int64
				var e, u, s float64
				if _, err := fmt.Sscan(string(raw), &kib, &e, &u, &s); err != nil {
					b.Fatalf("%s: %q: %v", usage, raw, err)
				}
				rss = max(rss, kib)
				wall += time.Duration(e * float64(time.Second))
				cpu += time.Duration((u + s) * float64(time.Second))
				written = stdout.n
				if c.name == "verify" {
					b.Logf("verify: %s", strings.TrimSpace(stdout.tail))
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(rss)/1024, "peak-RSS-MiB")
			b.ReportMetric(wall.Seconds()/n, "wall-s")
			b.ReportMetric(cpu.Seconds()/n, "cpu-s")
			if written > 0 {
				b.ReportMetric(float64(written)/(1<<20), "stdout-MiB")
			}
		})
	}
}

// countingWriter counts what a child writes to standard output and keeps
// its last 200 bytes, for a failure message or verify's summary.
type countingWriter struct {
	n    int64
	tail string
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.tail = (w.tail + string(p[max(0, len(p)-200):]))
	w.tail = w.tail[max(0, len(w.tail)-200):]
	return len(p), nil
}

// envDays is the number of days in the environment variable name, from 2
// to 365, or def when it is unset.
func envDays(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 2 || n > 365 {
		return 0, fmt.Errorf("%s=%q: want a number of days from 2 to 365", name, v)
	}
	return n, nil
}

// lastLines is the last few lines of s, for a failure message.
func lastLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

// exampleSchedules are the collectors of configs/exhibit.example.yaml with
// their schedules, in its order.
func exampleSchedules(tb testing.TB) [][2]string {
	raw, err := os.ReadFile(filepath.Join("..", "..", "configs", "exhibit.example.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		Collectors []struct{ Type, Schedule string }
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		tb.Fatal(err)
	}
	var out [][2]string
	for _, c := range doc.Collectors {
		out = append(out, [2]string{c.Type, c.Schedule})
	}
	return out
}

// captured is what one scope's real run gave.
type captured struct {
	res *collector.Result
	err error
}

// scopeKey names a scope for the maps below.
func scopeKey(s evidence.Scope) string { return s.Provider + "/" + s.Account + "/" + s.Endpoint }

// recorder passes a real collector's runs through and keeps each scope's.
// A series' first run (Since zero) is asked, as a run following one an
// interval earlier is, for the last interval only: the hourly pull
// requests of an hour, not the 90 days of lookback.
type recorder struct {
	collector.Collector
	interval time.Duration
	mu       sync.Mutex
	got      map[string]captured
	scopes   []evidence.Scope
}

func (r *recorder) Scopes(ctx context.Context) ([]evidence.Scope, error) {
	s, err := r.Collector.Scopes(ctx)
	r.mu.Lock()
	r.scopes = s
	r.mu.Unlock()
	return s, err
}

func (r *recorder) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	if req.Since.IsZero() {
		req.Since = req.Now.Add(-r.interval)
	}
	res, err := r.Collector.Collect(ctx, req)
	r.mu.Lock()
	r.got[scopeKey(req.Scope)] = captured{res, err}
	r.mu.Unlock()
	return res, err
}

// captureEstate serves the estate and runs each collector of the example
// configuration once per scope through the real wiring of `exhibit
// collect`, into a throwaway store under dir (identity.reconcile joins
// what the others wrote there). It returns the jobs, each collector a
// recorder holding its scopes' results.
func captureEstate(b *testing.B, dir string) ([]agent.Job, *wiring) {
	now := time.Now().UTC()
	aws := awssim.NewScale(now, awssim.IssueScale)
	aws.Limits, aws.Latency, aws.Jitter = nil, 0, 0
	gh := ghsim.NewScale(now, 50, 400)
	okta := oktasim.New(now)
	okta.Org.AddUsers(now, 10000-len(okta.Org.Users))
	okta.RateLimit, okta.PageSize = 1<<30, 200
	var urls []string
	for _, srv := range []*httptest.Server{httptest.NewServer(aws), httptest.NewServer(gh), httptest.NewServer(okta)} {
		b.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	src, g, o := aws.Source(urls[0]), gh.Source(urls[1]), okta.Source(urls[2])
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIADEMODEMODEMO0000", "AWS_SECRET_ACCESS_KEY": "demo-secret-not-a-real-key", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_PROFILE": "", "AWS_SESSION_TOKEN": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "", "AWS_CA_BUNDLE": "",
		"EXHIBIT_GH_TOKEN": g.Token.Reveal(), "EXHIBIT_OKTA_TOKEN": o.Token.Reveal(), "EXHIBIT_EXTERNAL_ID": awssim.ScaleExternalID,
	} {
		b.Setenv(k, v)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "store: file://%s\nsigning_key: file://%s\nspool_dir: %s\nlog:\n  level: error\n",
		filepath.Join(dir, "evidence"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "spool"))
	fmt.Fprintf(&cfg, "sources:\n  aws:\n    endpoint: %s\n    regions: [%s]\n    accounts:\n", src.Endpoint, strings.Join(src.Regions, ", "))
	for _, a := range src.Accounts {
		fmt.Fprintf(&cfg, "      - id: %q\n", a.ID)
		if a.RoleARN != "" {
			fmt.Fprintf(&cfg, "        role_arn: %s\n        external_id: ${EXHIBIT_EXTERNAL_ID}\n", a.RoleARN)
		}
	}
	fmt.Fprintf(&cfg, "  github:\n    base_url: %s\n    token: ${EXHIBIT_GH_TOKEN}\n    orgs: [%s]\n    protected_branches: [release]\n", g.BaseURL, g.Orgs[0])
	fmt.Fprintf(&cfg, "  okta:\n    org_url: %s\n    token: ${EXHIBIT_OKTA_TOKEN}\n", o.OrgURL)
	cfg.WriteString("collectors:\n")
	for _, c := range exampleSchedules(b) {
		fmt.Fprintf(&cfg, "  - type: %s\n    schedule: %q\n    scope_concurrency: 20\n    timeout: 1h\n", c[0], c[1])
	}
	path := filepath.Join(dir, "exhibit.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	conf, reg, cat, err := loadConfig(path)
	if err != nil {
		b.Fatal(err)
	}
	w, err := wire(b.Context(), conf, reg, cat, zap.NewNop(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var jobs []agent.Job
	for _, job := range w.jobs {
		sched, err := schedule.Parse(job.Schedule)
		if err != nil {
			b.Fatal(err)
		}
		rec := &recorder{Collector: job.Collector, interval: schedule.Interval(sched, now), got: map[string]captured{}}
		job.Collector = rec
		start := time.Now()
		written, err := w.agent.Run(b.Context(), job)
		if err != nil {
			b.Fatalf("%s: %v", job.ID, err)
		}
		findings, failed := 0, 0
		for _, c := range rec.got {
			if c.res != nil {
				findings += len(c.res.Findings)
			}
			if c.err != nil {
				failed++
			}
		}
		// Replayed as captured, errors included; the count says what the
		// year is made of (a collector whose service the scale estate
		// lacks records that, as it would in a real account).
		b.Logf("captured %s: %d scopes (%d with an error), %d snapshots, %d findings, %s",
			job.ID, len(rec.scopes), failed, len(written), findings, time.Since(start).Round(time.Millisecond))
		jobs = append(jobs, job)
	}
	return jobs, w
}

// replay is a series' captured run given again: the same scopes, and for
// each the captured result (or error) with the run's window. Every 97th
// run of a scope turns one of its passing findings (a different one each
// time) to failing, and the run after it turns it back, so that the
// readers see findings change.
type replay struct {
	rec  *recorder
	mu   sync.Mutex
	runs map[string]int
}

func (r *replay) Scopes(context.Context) ([]evidence.Scope, error) { return r.rec.scopes, nil }

func (r *replay) Collect(_ context.Context, req collector.Request) (*collector.Result, error) {
	c, ok := r.rec.got[scopeKey(req.Scope)]
	if !ok {
		return nil, fmt.Errorf("scope %v was not captured", req.Scope)
	}
	if c.res == nil {
		return nil, c.err
	}
	r.mu.Lock()
	n := r.runs[scopeKey(req.Scope)]
	r.runs[scopeKey(req.Scope)] = n + 1
	r.mu.Unlock()
	res := *c.res
	res.Records = slices.Clone(c.res.Records)
	res.Findings = slices.Clone(c.res.Findings)
	res.Attachments = slices.Clone(c.res.Attachments)
	if res.Window != nil {
		res.Window = &evidence.Window{Start: req.Since, End: req.Now}
		if req.Since.IsZero() {
			res.Window.Start = req.Now.Add(-r.rec.interval)
		}
	}
	if n%97 == 0 && n > 0 && len(res.Findings) > 0 {
		i := (n / 97 * 31) % len(res.Findings)
		if res.Findings[i].Status == evidence.Pass {
			res.Findings[i].Status = evidence.Fail
			res.Findings[i].Reason = fmt.Sprintf("changed for run %d", n)
		}
	}
	return &res, c.err
}

// writeEstateYear captures the estate and writes every series from
// estateYearStart to end on its schedule into dir/evidence, through the
// real agent (the catalog's control references, a file signing key) on a
// clock set to each run's time. Runs due at the same time run together,
// four jobs at once, each over its scopes 20 at a time.
func writeEstateYear(b *testing.B, dir string, end time.Time) {
	jobs, w := captureEstate(b, b.TempDir())
	build := filepath.Join(dir, "building")
	if err := os.RemoveAll(build); err != nil {
		b.Fatal(err)
	}
	st, err := fsstore.Open(filepath.Join(build, "evidence"))
	if err != nil {
		b.Fatal(err)
	}
	key, err := signing.GenerateFileKey(filepath.Join(build, "key.pem"))
	if err != nil {
		b.Fatal(err)
	}
	clock := &agenttest.Clock{}
	clock.Advance(time.Duration(estateYearStart.UnixNano()))
	a, err := agent.New(b.Context(), agent.Options{Store: st, Signer: key, Refs: w.cat.Refs, Version: version, Logger: zap.NewNop(), Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	due := map[time.Time][]agent.Job{}
	for _, job := range jobs {
		job.Collector = &replay{rec: job.Collector.(*recorder), runs: map[string]int{}}
		job.ScopeConcurrency = 20
		at, err := schedule.Expected(job.Schedule, estateYearStart, end)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range at {
			due[t] = append(due[t], job)
		}
	}
	times := make([]time.Time, 0, len(due))
	for t := range due {
		times = append(times, t)
	}
	slices.SortFunc(times, time.Time.Compare)
	start, snapshots := time.Now(), 0
	for i, t := range times {
		// A run starts a second after its slot, as a daemon's does.
		clock.Advance(t.Add(time.Second).Sub(clock.Now()))
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 4)
		for _, job := range due[t] {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				written, err := a.Run(b.Context(), job)
				mu.Lock()
				defer mu.Unlock()
				snapshots += len(written)
				if err != nil {
					b.Errorf("%s at %s: %v", job.ID, t, err)
				}
			}()
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
		if i%(24*7) == 0 {
			b.Logf("%s: %d snapshots written in %s", t.Format(time.DateOnly), snapshots, time.Since(start).Round(time.Second))
		}
	}
	b.Logf("the year to %s: %d snapshots in %s", end.Format(time.DateOnly), snapshots, time.Since(start).Round(time.Second))
	if err := os.Rename(filepath.Join(build, "evidence"), filepath.Join(dir, "evidence")); err != nil {
		b.Fatal(err)
	}
}
