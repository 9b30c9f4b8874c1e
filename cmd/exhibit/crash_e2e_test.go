package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
	"github.com/exhibit-dev/exhibit/pkg/store/minio"
)

// storeProxy stands between the daemon and MinIO on loopback. It can kill
// the daemon (SIGKILL) at the n-th write of evidence (a PUT of a snapshot,
// signature, marker or attachment): before forwarding it, so the process
// dies before that write, or after MinIO answered and before the answer
// reaches the daemon, so it dies just after. It can also freeze: accept
// requests and never answer them, as a stopped server does.
type storeProxy struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu     sync.Mutex
	puts   int // evidence writes since arm
	killAt int
	after  bool
	victim *exec.Cmd
	killed chan string // what the victim died at
	frozen chan struct{}
}

func newStoreProxy(t *testing.T, upstream string) *storeProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	require.NoError(t, err)
	p := &storeProxy{proxy: httputil.NewSingleHostReverseProxy(u)}
	p.proxy.ModifyResponse = func(resp *http.Response) error {
		if n, ok := resp.Request.Context().Value(writeNumber{}).(int); ok && p.kill(n, true, resp.Request) {
			return errors.New("killed")
		}
		return nil
	}
	// Never an answer the daemon could take for the store's.
	p.proxy.ErrorHandler = func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) }
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *storeProxy) Endpoint() string { return p.srv.URL }

// writeNumber keys the number of an evidence write in its context.
type writeNumber struct{}

func (p *storeProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	frozen := p.frozen
	n := 0
	if frozen == nil && isEvidenceWrite(r) {
		p.puts++
		n = p.puts
	}
	p.mu.Unlock()
	if frozen != nil {
		// Read the request to its end so that a client leaving is noticed,
		// then never answer; at the thaw the connection is dropped.
		io.Copy(io.Discard, r.Body) //nolint:errcheck
		select {
		case <-r.Context().Done():
		case <-frozen:
		}
		panic(http.ErrAbortHandler)
	}
	if n > 0 {
		if p.kill(n, false, r) {
			panic(http.ErrAbortHandler)
		}
		r = r.WithContext(context.WithValue(r.Context(), writeNumber{}, n))
	}
	p.proxy.ServeHTTP(w, r)
}

// isEvidenceWrite tells the writes of a snapshot from the key published
// at start and from reads.
func isEvidenceWrite(r *http.Request) bool {
	if r.Method != http.MethodPut {
		return false
	}
	for _, part := range []string{"/" + store.EvidencePrefix, "/" + store.IndexPrefix, "/" + store.AttachmentPrefix} {
		if strings.Contains(r.URL.Path, part) {
			return true
		}
	}
	return false
}

// kill kills the victim if write n is the one it is to die at: before it
// is forwarded, or after it was answered.
func (p *storeProxy) kill(n int, answered bool, r *http.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.victim == nil || n != p.killAt || p.after != answered {
		return false
	}
	when := "before"
	if answered {
		when = "after"
	}
	// Told before the kill, so that the test never sees the exit first.
	p.killed <- when + " " + writeKind(r.URL.Path)
	p.victim.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may be dying already
	p.victim = nil
	return true
}

// writeKind names the step of a snapshot's write a PUT is.
func writeKind(path string) string {
	switch {
	case strings.Contains(path, "/"+store.IndexPrefix):
		return "marker"
	case strings.Contains(path, "/"+store.AttachmentPrefix):
		return "attachment"
	case strings.HasSuffix(path, ".sig"):
		return "signature"
	}
	return "snapshot"
}

// arm makes the proxy kill the next process at its n-th evidence write,
// counted from now.
func (p *storeProxy) arm(n int, after bool) chan string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.puts, p.killAt, p.after = 0, n, after
	p.killed = make(chan string, 1)
	return p.killed
}

func (p *storeProxy) target(cmd *exec.Cmd) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.victim = cmd
}

func (p *storeProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = make(chan struct{})
}

func (p *storeProxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.frozen)
	p.frozen = nil
}

// startProc starts `exhibit run` in dir; done is closed when it has exited.
func startProc(t *testing.T, dir string, env []string, logs io.Writer) (*exec.Cmd, chan struct{}) {
	t.Helper()
	cmd := exec.Command(binary, "run", "-c", "exhibit.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() {
		cmd.Wait() //nolint:errcheck // killed on purpose
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck
		<-done
	})
	return cmd, done
}

// requireWholeChains checks each series is seqs 1..n chained without a gap
// and without a run stored twice.
func requireWholeChains(t *testing.T, st store.Store, series []string) {
	t.Helper()
	for _, s := range series {
		snaps := seriesSnapshots(t, st, s)
		require.NotEmpty(t, snaps, s)
		started := map[time.Time]bool{}
		for i, snap := range snaps {
			require.Equal(t, int64(i+1), snap.Seq, "%s: seqs are contiguous", s)
			require.False(t, started[snap.StartedAt], "%s: seq %d records a run already stored", s, snap.Seq)
			started[snap.StartedAt] = true
		}
	}
}

// The daemon is killed with SIGKILL 62 times in all: 48 through a proxy at
// each step of a snapshot's write (before and after each PUT of snapshot,
// signature and marker, and of the recovery's own writes) on S3, and at
// 14 spread-out instants on a file store. After each kill it is started again;
// at the end every store verifies, with contiguous seqs, no run stored
// twice and no temporary file left.
func TestSIGKILLAnywhereLeavesAStoreThatVerifies(t *testing.T) {
	t.Run("s3, at each write", func(t *testing.T) {
		t.Parallel()
		srv := minio.Start(t)
		srv.CreateBucket(t, "evidence", true)
		proxy := newStoreProxy(t, srv.Endpoint())
		sources, env, series := estate(t)
		env = append(env, srv.Env()...)
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "exhibit.yaml"), proxiedConfig(proxy, sources, "@every 1s", "30s"))
		var logs syncBuffer
		const kills = 48
		where := map[string]int{}
		for i := range kills {
			// Writes 1..8 cover the first writes of the process: the
			// recovery of what the last kill interrupted, and a run.
			n, after := 1+(i/2)%8, i%2 == 1
			killed := proxy.arm(n, after)
			cmd, done := startProc(t, dir, env, &logs)
			proxy.target(cmd)
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("kill %d: no evidence write %d reached the store\n%s", i, n, logs.String())
			}
			select {
			case w := <-killed:
				where[w]++
			default:
				t.Fatalf("kill %d: the daemon exited on its own\n%s", i, logs.String())
			}
		}
		for _, step := range []string{"snapshot", "signature", "marker"} {
			require.Positive(t, where["before "+step], "no kill before a %s was stored: %v", step, where)
			require.Positive(t, where["after "+step], "no kill after a %s was stored: %v", step, where)
		}
		t.Logf("killed at: %v", where)
		finishAfterKills(t, dir, env, &logs, series, func() store.Store { return readerStore(t, srv) })
		r := exhibit(t, t.TempDir(), srv.ReadOnlyEnv(t), "verify", "--store", "s3://evidence/prod", "--endpoint", srv.Endpoint(), "--region", minio.Region, "--min-retain-days", "1")
		require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	})
	t.Run("file store, at any instant", func(t *testing.T) {
		t.Parallel()
		sources, env, series := estate(t)
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "exhibit.yaml"), fmt.Sprintf(`store: file://./evidence
signing_key: file://./key.pem
spool_dir: ./spool
listen: 127.0.0.1:0
%scollectors:
  - type: github.access
    schedule: "@every 1s"
  - type: okta.access
    schedule: "@every 1s"
`, sources))
		var logs syncBuffer
		rnd := rand.New(rand.NewPCG(11, 12))
		for range 14 {
			cmd, done := startProc(t, dir, env, &logs)
			time.Sleep(time.Duration(300+rnd.IntN(2200)) * time.Millisecond)
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			<-done
		}
		st, err := fsstore.Open(filepath.Join(dir, "evidence"))
		require.NoError(t, err)
		finishAfterKills(t, dir, env, &logs, series, func() store.Store { return st })
		temps, err := st.TempFiles()
		require.NoError(t, err)
		require.Empty(t, temps, "no temporary file is left")
		r := exhibit(t, dir, nil, "verify", "--store", "file://./evidence")
		require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	})
}

// finishAfterKills runs the daemon once more until it has written each
// series again and emptied its spool, stops it, and checks the chains.
func finishAfterKills(t *testing.T, dir string, env []string, logs *syncBuffer, series []string, open func() store.Store) {
	t.Helper()
	st := open()
	before := map[string]int{}
	for _, s := range series {
		before[s] = len(seriesSnapshots(t, st, s))
	}
	d := startDaemon(t, dir, env)
	waitUntil(t, 2*time.Minute, "the restarted daemon to write every series and empty its spool", func() bool {
		for _, s := range series {
			if len(seriesSnapshots(t, st, s)) < before[s]+2 {
				return false
			}
		}
		return spoolFiles(t, dir) == 0
	}, d.logs)
	d.stop(t)
	requireWholeChains(t, st, series)
	require.NotContains(t, d.logs.String(), `"level":"error"`)
}

func proxiedConfig(p *storeProxy, sources, schedule, timeout string) string {
	return fmt.Sprintf(`store: s3://evidence/prod
store_options:
  endpoint: %s
  region: %s
  retain_days: 1
  timeout: %s
signing_key: file://./key.pem
spool_dir: ./spool
listen: 127.0.0.1:0
%scollectors:
  - type: github.access
    schedule: %q
  - type: okta.access
    schedule: %q
`, p.Endpoint(), minio.Region, timeout, sources, schedule, schedule)
}

func readyz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// With the S3 store frozen (connections accepted, never answered) runs go
// to the spool and /readyz answers 503; once it answers again the spool
// drains in order and the store verifies.
func TestFrozenStoreSpoolsAndIsNotReady(t *testing.T) {
	srv := minio.Start(t)
	srv.CreateBucket(t, "evidence", true)
	proxy := newStoreProxy(t, srv.Endpoint())
	sources, env, series := estate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), proxiedConfig(proxy, sources, "@every 1s", "2s"))
	d := startDaemon(t, dir, append(env, srv.Env()...))
	reader := readerStore(t, srv)
	waitUntil(t, time.Minute, "snapshots before the freeze", func() bool {
		for _, s := range series {
			if len(seriesSnapshots(t, reader, s)) < 2 {
				return false
			}
		}
		return true
	}, d.logs)
	addr := loggedListen(t, d.logs.String())
	code, _ := readyz(t, addr)
	require.Equal(t, http.StatusOK, code)

	proxy.freeze()
	var body string
	waitUntil(t, time.Minute, "/readyz to answer 503", func() bool {
		code, body = readyz(t, addr)
		return code == http.StatusServiceUnavailable
	}, d.logs)
	require.Contains(t, body, "no answer within 2s")
	waitUntil(t, 2*time.Minute, "runs spooled while the store is frozen", func() bool { return spoolFiles(t, dir) >= 4 }, d.logs)
	frozenAt := map[string]int{}
	for _, s := range series {
		frozenAt[s] = len(seriesSnapshots(t, reader, s))
	}

	proxy.thaw()
	waitUntil(t, 3*time.Minute, "the spool to drain and /readyz to answer 200", func() bool {
		code, _ := readyz(t, addr)
		return spoolFiles(t, dir) == 0 && code == http.StatusOK
	}, d.logs)
	d.stop(t)
	logs := d.logs.String()
	require.Contains(t, logs, "no answer within 2s")
	require.Contains(t, logs, "spooled snapshot uploaded")
	requireWholeChains(t, reader, series)
	for _, s := range series {
		snaps := seriesSnapshots(t, reader, s)
		require.Greater(t, len(snaps), frozenAt[s]+1, "%s: the runs spooled during the freeze landed", s)
		for i := 1; i < len(snaps); i++ {
			require.True(t, snaps[i].StartedAt.After(snaps[i-1].StartedAt), "%s: seq %d was run after seq %d", s, i+1, i)
		}
	}
	r := exhibit(t, t.TempDir(), srv.ReadOnlyEnv(t), "verify", "--store", "s3://evidence/prod", "--endpoint", srv.Endpoint(), "--region", minio.Region, "--min-retain-days", "1")
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
}

// hangOn serves h, except that requests matching hang are read and never
// answered; the first of them is reported on reached.
func hangOn(h http.Handler, hang func(*http.Request) bool) (*httptest.Server, chan struct{}) {
	reached := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang(r) {
			io.Copy(io.Discard, r.Body) //nolint:errcheck
			once.Do(func() { close(reached) })
			<-r.Context().Done()
			return
		}
		h.ServeHTTP(w, r)
	}))
	return srv, reached
}

// SIGINT during collect writes nothing for work not started: not during
// AWS scope discovery (no snapshot, no aws.s3/default), not for the
// collectors after the interrupted one; the collection in progress is
// recorded as failed with the reason. collect exits 1.
func TestInterruptedCollectWritesOnlyWorkStarted(t *testing.T) {
	sources, env, series := estate(t)
	aws := awssim.New()
	hangInDiscovery := func(t *testing.T) (*httptest.Server, chan struct{}) {
		srv, reached := hangOn(aws, func(r *http.Request) bool {
			return strings.Contains(r.Header.Get("Authorization"), "/ec2/aws4_request")
		})
		t.Cleanup(srv.Close)
		return srv, reached
	}
	ghSrv, inCollection := hangOn(http.NotFoundHandler(), func(*http.Request) bool { return true })
	defer ghSrv.Close()
	awsEnv := []string{
		"AWS_ACCESS_KEY_ID=AKIADEMODEMODEMO0000", "AWS_SECRET_ACCESS_KEY=not-a-secret", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
	collect := func(t *testing.T, cfg string, reached chan struct{}) (string, result) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
		cmd := exec.Command(binary, "collect", "-c", "exhibit.yaml")
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), env...), awsEnv...)
		var out, errb syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		require.NoError(t, cmd.Start())
		select {
		case <-reached:
		case <-time.After(time.Minute):
			cmd.Process.Kill() //nolint:errcheck
			t.Fatalf("collect never reached the point to interrupt\n%s", errb.String())
		}
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return dir, result{code: code, stdout: out.String(), stderr: errb.String()}
	}

	awsConfig := func(awsURL string) string {
		return fmt.Sprintf(`sources:
  aws:
    endpoint: %s
    accounts:
      - id: %q
%s`, awsURL, aws.Home, strings.TrimPrefix(sources, "sources:\n"))
	}
	t.Run("during scope discovery", func(t *testing.T) {
		awsSrv, inDiscovery := hangInDiscovery(t)
		dir, r := collect(t, fmt.Sprintf(`store: file://./evidence
signing_key: file://./key.pem
spool_dir: ./spool
%scollectors:
  - type: aws.s3
    schedule: "@daily"
  - type: okta.access
    schedule: "@daily"
`, awsConfig(awsSrv.URL)), inDiscovery)
		require.Equal(t, 1, r.code, "%s\n%s", r.stdout, r.stderr)
		require.Contains(t, r.stderr, "interrupted")
		st, err := fsstore.Open(filepath.Join(dir, "evidence"))
		require.NoError(t, err)
		require.Empty(t, listKeys(t, st, store.EvidencePrefix), "nothing was collected, so nothing is recorded")
	})
	t.Run("the daemon's grace expiring during scope discovery", func(t *testing.T) {
		awsSrv, inDiscovery := hangInDiscovery(t)
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "exhibit.yaml"), fmt.Sprintf(`store: file://./evidence
signing_key: file://./key.pem
spool_dir: ./spool
listen: 127.0.0.1:0
shutdown:
  grace: 1s
%scollectors:
  - type: aws.s3
    schedule: "@every 1s"
`, awsConfig(awsSrv.URL)))
		d := startDaemon(t, dir, append(append([]string(nil), env...), awsEnv...))
		select {
		case <-inDiscovery:
		case <-time.After(time.Minute):
			t.Fatalf("the daemon never reached scope discovery\n%s", d.logs.String())
		}
		d.stop(t)
		require.Contains(t, d.logs.String(), "interrupted during scope discovery; nothing is written for this run")
		st, err := fsstore.Open(filepath.Join(dir, "evidence"))
		require.NoError(t, err)
		require.Empty(t, listKeys(t, st, store.EvidencePrefix))
	})
	t.Run("during a collection", func(t *testing.T) {
		cfg := strings.Replace(fmt.Sprintf(`store: file://./evidence
signing_key: file://./key.pem
spool_dir: ./spool
%scollectors:
  - type: github.access
    schedule: "@daily"
  - type: okta.access
    schedule: "@daily"
`, sources), strings.SplitN(strings.SplitN(sources, "base_url: ", 2)[1], "\n", 2)[0], ghSrv.URL, 1)
		dir, r := collect(t, cfg, inCollection)
		require.Equal(t, 1, r.code, "%s\n%s", r.stdout, r.stderr)
		st, err := fsstore.Open(filepath.Join(dir, "evidence"))
		require.NoError(t, err)
		keys := listKeys(t, st, store.EvidencePrefix)
		require.Len(t, keys, 2, "one snapshot and its signature: %v", keys)
		snaps := seriesSnapshots(t, st, series[0])
		require.Len(t, snaps, 1)
		require.Equal(t, evidence.StatusFailed, snaps[0].Status)
		require.True(t, slices.ContainsFunc(snaps[0].Errors, func(e evidence.RunError) bool {
			return strings.Contains(e.Message, "run interrupted by a shutdown")
		}), "the snapshot says why it stopped: %v", snaps[0].Errors)
		require.Empty(t, seriesSnapshots(t, st, series[1]), "okta.access was not started")
		v := exhibit(t, dir, nil, "verify", "--store", "file://./evidence")
		require.Equal(t, 0, v.code, "%s\n%s", v.stdout, v.stderr)
	})
}
