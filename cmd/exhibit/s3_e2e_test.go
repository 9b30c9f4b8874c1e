package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/schedule"
	"github.com/exhibit-dev/exhibit/pkg/signing/kmstest"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/minio"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

// estate serves the GitHub and Okta simulators and returns the sources part
// of a configuration plus the environment holding their tokens.
func estate(t *testing.T) (sources string, env []string, series []string) {
	t.Helper()
	gh := ghsim.New(time.Now())
	ghSrv := httptest.NewServer(gh)
	t.Cleanup(ghSrv.Close)
	okta := oktasim.New(time.Now())
	oktaSrv := httptest.NewServer(okta)
	t.Cleanup(oktaSrv.Close)
	g, o := gh.Source(ghSrv.URL), okta.Source(oktaSrv.URL)
	sources = fmt.Sprintf(`sources:
  github:
    base_url: %s
    token: ${EXHIBIT_GH_TOKEN}
    orgs: [%s]
  okta:
    org_url: %s
    token: ${EXHIBIT_OKTA_TOKEN}
`, g.BaseURL, g.Orgs[0], o.OrgURL)
	env = []string{"EXHIBIT_GH_TOKEN=" + g.Token.Reveal(), "EXHIBIT_OKTA_TOKEN=" + o.Token.Reveal()}
	host := strings.TrimPrefix(strings.TrimPrefix(o.OrgURL, "http://"), "https://")
	series = []string{evidence.SeriesName("github.access", g.Orgs[0]), evidence.SeriesName("okta.access", host)}
	return sources, env, series
}

// daemon is one `exhibit run` process.
type daemon struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

func startDaemon(t *testing.T, dir string, env []string) *daemon {
	t.Helper()
	d := &daemon{logs: &syncBuffer{}, exited: make(chan error, 1)}
	d.cmd = exec.Command(binary, "run", "-c", "exhibit.yaml")
	d.cmd.Dir = dir
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	require.NoError(t, d.cmd.Start())
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
		}
	})
	return d
}

func (d *daemon) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM), "the daemon stopped before SIGTERM\n%s", d.logs.String())
	select {
	case err := <-d.exited:
		require.NoError(t, err, "SIGTERM must end the daemon with exit 0\n%s", d.logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("daemon did not stop\n%s", d.logs.String())
	}
}

// waitUntil polls cond; the limit only guards against a hung test.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool, logs ...*syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			var all []string
			for _, l := range logs {
				all = append(all, l.String())
			}
			t.Fatalf("timed out waiting for %s\n%s", what, strings.Join(all, "\n---\n"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func s3Config(srv *minio.Server, sources, schedule string) string {
	return fmt.Sprintf(`store: s3://evidence/prod
store_options:
  endpoint: %s
  region: %s
  retain_days: 1
signing_key: file://./key.pem
spool_dir: ./spool
listen: 127.0.0.1:0
%scollectors:
  - type: github.access
    schedule: %q
  - type: okta.access
    schedule: %q
`, srv.Endpoint(), minio.Region, sources, schedule, schedule)
}

func readerStore(t *testing.T, srv *minio.Server) *s3store.Store {
	t.Helper()
	st, err := s3store.Open(t.Context(), "evidence", "prod", s3store.Options{Endpoint: srv.Endpoint(), Region: minio.Region, Credentials: srv.CredentialsProvider()})
	require.NoError(t, err)
	return st
}

func spoolFiles(t *testing.T, dir string) int {
	n := 0
	filepath.Walk(filepath.Join(dir, "spool"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".json") {
			n++
		}
		return nil
	})
	return n
}

// The store is stopped for a minute under a running daemon: runs go on into
// the spool, and once the store is back every snapshot lands, in order, and
// the store verifies with no gap.
func TestStoreOutageLosesNoRun(t *testing.T) {
	srv := minio.Start(t)
	srv.CreateBucket(t, "evidence", true)
	sources, env, series := estate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), s3Config(srv, sources, "@every 5s"))
	start := time.Now().UTC()
	d := startDaemon(t, dir, append(env, srv.Env()...))
	reader := readerStore(t, srv)

	waitUntil(t, 90*time.Second, "snapshots before the outage", func() bool {
		for _, s := range series {
			if len(seriesSnapshots(t, reader, s)) < 2 {
				return false
			}
		}
		return true
	}, d.logs)

	srv.Stop()
	outage := time.Now()
	waitUntil(t, 90*time.Second, "runs spooled during the outage", func() bool { return spoolFiles(t, dir) >= 4 }, d.logs)
	addr := loggedListen(t, d.logs.String())
	resp, err := http.Get("http://" + addr + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "not ready while snapshots wait in the spool")
	if rest := time.Minute - time.Since(outage); rest > 0 {
		time.Sleep(rest)
	}
	spooledDuringOutage := spoolFiles(t, dir)
	require.NoError(t, srv.Restart())

	waitUntil(t, 3*time.Minute, "the spool to drain", func() bool { return spoolFiles(t, dir) == 0 }, d.logs)
	d.stop(t)
	end := time.Now().UTC()

	logs := d.logs.String()
	spooled := strings.Count(logs, "store unavailable; snapshot spooled")
	uploaded := strings.Count(logs, "spooled snapshot uploaded")
	require.GreaterOrEqual(t, spooled, spooledDuringOutage)
	require.Equal(t, spooled, uploaded, "every spooled run was uploaded")
	for _, s := range series {
		snaps := seriesSnapshots(t, reader, s)
		for i, snap := range snaps {
			require.Equal(t, int64(i+1), snap.Seq, s)
		}
		var during int
		for _, snap := range snaps {
			if snap.StartedAt.After(outage) && snap.StartedAt.Before(outage.Add(time.Minute)) {
				during++
			}
		}
		require.GreaterOrEqual(t, during, 2, "%s: runs during the outage are in the store", s)
	}

	// Verify from the store alone with read-only credentials, including the
	// schedule's completeness over the period.
	r := exhibit(t, t.TempDir(), srv.ReadOnlyEnv(t), "verify", "--store", "s3://evidence/prod",
		"--endpoint", srv.Endpoint(), "--region", minio.Region, "--min-retain-days", "1",
		"--from", start.Add(10*time.Second).Format(time.RFC3339), "--to", end.Add(-10*time.Second).Format(time.RFC3339))
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	require.NotContains(t, r.stdout, "gap")
}

// Two daemons share one bucket: each series stays one unbroken chain, no
// seq is written twice, and no schedule slot is recorded complete twice.
func TestTwoReplicasOneBucket(t *testing.T) {
	srv := minio.Start(t)
	srv.CreateBucket(t, "evidence", true)
	sources, env, series := estate(t)
	var daemons []*daemon
	// Replicas of one agent sign with one key (a KMS key, or one key file
	// from a Secret): a series both write must not change key mid-chain.
	keyDir := t.TempDir()
	r := exhibit(t, keyDir, nil, "keys", "generate", "--key", "file://./key.pem")
	require.Equal(t, 0, r.code, r.stderr)
	key := readFile(t, filepath.Join(keyDir, "key.pem"))
	for range 2 {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "exhibit.yaml"), s3Config(srv, sources, "@every 3s"))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), key, 0o600))
		daemons = append(daemons, startDaemon(t, dir, append(env, srv.Env()...)))
	}
	reader := readerStore(t, srv)
	time.Sleep(2 * time.Minute)
	for _, d := range daemons {
		d.stop(t)
	}
	for _, s := range series {
		snaps := seriesSnapshots(t, reader, s)
		require.GreaterOrEqual(t, len(snaps), 20, s)
		sched, err := schedule.Parse(snaps[0].Schedule)
		require.NoError(t, err)
		for i, snap := range snaps {
			require.Equal(t, int64(i+1), snap.Seq)
			if i > 0 && snaps[i-1].Status == evidence.StatusComplete {
				require.NotEqual(t, sched.Next(snaps[i-1].StartedAt), sched.Next(snap.StartedAt),
					"%s: seq %d and %d record the same run slot", s, i, i+1)
			}
		}
	}
	written := 0
	for _, d := range daemons {
		written += strings.Count(d.logs.String(), `"msg":"snapshot written"`)
	}
	dup := 0
	for _, d := range daemons {
		dup += strings.Count(d.logs.String(), "run slot already recorded by another writer")
	}
	require.NotZero(t, dup, "both replicas ran the same slots; one of each pair was set aside")
	r = exhibit(t, t.TempDir(), srv.ReadOnlyEnv(t), "verify", "--store", "s3://evidence/prod", "--endpoint", srv.Endpoint(), "--region", minio.Region, "--min-retain-days", "1")
	require.Equal(t, 0, r.code, r.stdout)
	require.Contains(t, r.stdout, fmt.Sprintf("%d snapshot(s)", written))
}

// A snapshot signed with an AWS KMS key verifies with the README's openssl
// command.
func TestKMSSignedSnapshotVerifiesWithOpenSSL(t *testing.T) {
	testtool.Require(t, "openssl")
	kms := kmstest.Start(t)
	sources, env, series := estate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), fmt.Sprintf(`store: file://./evidence
signing_key: awskms:///%s
%scollectors:
  - type: github.access
    schedule: "@daily"
`, kms.KeyARN(), sources))
	r := exhibit(t, dir, append(env, kms.Env()...), "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Positive(t, kms.Calls("Sign"))

	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- openssl-verify -->\n```sh\n(.*?)```\n<!-- /openssl-verify -->").FindSubmatch(readme)
	require.NotNil(t, m)
	script := strings.Replace(string(m[1]), "evidence/aws.iam/111122223333/000000000001.json", store.SnapshotKey(series[0], 1), 1)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = filepath.Join(dir, "evidence")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "Verified OK\n", string(out))
}

// An auditor reads an s3:// store with read-only credentials: sample, export
// and report reach it through --endpoint and --region like verify does, and
// the sample's redraw command names them.
func TestAuditorCommandsReadS3Store(t *testing.T) {
	srv := minio.Start(t)
	srv.CreateBucket(t, "evidence", true)
	sources, env, _ := estate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), s3Config(srv, sources, "@daily"))
	from := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for range 2 {
		r := exhibit(t, dir, append(env, srv.Env()...), "collect", "-c", "exhibit.yaml")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
	}
	to := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)

	out := t.TempDir()
	where := []string{"--store", "s3://evidence/prod", "--endpoint", srv.Endpoint(), "--region", minio.Region}
	run := func(args ...string) result {
		t.Helper()
		r := exhibit(t, out, srv.ReadOnlyEnv(t), append(append(args[:1:1], where...), args[1:]...)...)
		require.Equal(t, 0, r.code, "%s\n%s\n%s", args, r.stdout, r.stderr)
		return r
	}

	run("export", "--format", "csv", "--from", from, "--to", to, "-o", "findings.csv")
	csvOut, err := os.ReadFile(filepath.Join(out, "findings.csv"))
	require.NoError(t, err)
	require.Contains(t, string(csvOut), "github.org.two_factor")
	require.Contains(t, string(csvOut), "okta.user.mfa")

	r := run("sample", "--control", "CC6.1", "--from", from, "--to", to, "--seed", "s3", "-o", "sample.zip")
	require.Contains(t, r.stdout, "of 4 snapshot(s) carrying soc2:CC6.1")
	readme := string(readZip(t, filepath.Join(out, "sample.zip"))["README.md"])
	require.Contains(t, readme, "exhibit sample --store s3://evidence/prod --region "+minio.Region+" --endpoint "+srv.Endpoint()+" --control soc2:CC6.1")

	run("report", "--from", from, "--to", to, "-o", "report.html")
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	require.NoError(t, err)
	require.Contains(t, string(html), "okta.user.mfa")
}
