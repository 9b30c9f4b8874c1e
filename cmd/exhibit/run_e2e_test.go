package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// seriesSnapshots reads every snapshot of a series from any store, in order.
func seriesSnapshots(t *testing.T, st store.Store, series string) []*evidence.Snapshot {
	t.Helper()
	var out []*evidence.Snapshot
	require.NoError(t, st.List(t.Context(), store.SeriesPrefix(series), "", func(key string) error {
		if _, _, ok := store.ParseSnapshotKey(key); !ok {
			return nil
		}
		b, err := st.Get(t.Context(), key)
		if err != nil {
			return err
		}
		s, err := evidence.Parse(b)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, s)
		return nil
	}))
	return out
}

// The daemon runs two collectors every 2 seconds, never overlaps a run that
// outlasts its interval, and on SIGTERM finishes what is in flight and exits
// 0 leaving no temporary or partial files.
func TestRunDaemonSchedulesWithoutOverlapAndStopsCleanly(t *testing.T) {
	sim := ghsim.New(time.Now())
	// GraphQL answers slowly, so each pull-request run outlasts its interval.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/graphql") {
			time.Sleep(900 * time.Millisecond)
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := sim.Source(srv.URL)

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), fmt.Sprintf(`store: file://./evidence
signing_key: file://./key.pem
listen: 127.0.0.1:0
shutdown:
  grace: 1m
sources:
  github:
    base_url: %s
    token: ${EXHIBIT_GH_TOKEN}
    orgs: [%s]
collectors:
  - type: github.access
    schedule: "@every 2s"
  - type: github.pull_requests
    schedule: "@every 2s"
`, src.BaseURL, src.Orgs[0]))

	cmd := exec.Command(binary, "run", "-c", "exhibit.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "EXHIBIT_GH_TOKEN="+src.Token.Reveal())
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()

	st, err := fsstore.Open(filepath.Join(dir, "evidence"))
	require.NoError(t, err)
	access := evidence.SeriesName("github.access", src.Orgs[0])
	prs := evidence.SeriesName("github.pull_requests", src.Orgs[0])
	deadline := time.Now().Add(90 * time.Second)
	for {
		n1 := len(listKeys(t, st, store.SeriesPrefix(access)))
		n2 := len(listKeys(t, st, store.SeriesPrefix(prs)))
		if n1 >= 3*2 && n2 >= 2*2 && strings.Contains(logs.String(), "previous run still going") {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("daemon exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not produce repeated runs in time\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Health, readiness and metrics, on the address the daemon logged.
	addr := loggedListen(t, logs.String())
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": `exhibit_runs_total{collector="github.access",outcome="ok"}`} {
		resp, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Contains(t, string(body), want, path)
	}

	// A one-off collect with the daemon's configuration would share its
	// spool; it is refused before collecting, naming the holder.
	r := exhibit(t, dir, []string{"EXHIBIT_GH_TOKEN=" + src.Token.Reveal()}, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "spool_dir: ")
	require.Contains(t, r.stderr, fmt.Sprintf("in use by another exhibit process (pid %d): give each process its own spool_dir", cmd.Process.Pid))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "SIGTERM must end the daemon with exit 0\n%s", logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("daemon did not stop after SIGTERM\n%s", logs.String())
	}

	temps, err := st.TempFiles()
	require.NoError(t, err)
	require.Empty(t, temps, "no temporary files may remain")
	for _, series := range []string{access, prs} {
		snaps := seriesSnapshots(t, st, series)
		require.GreaterOrEqual(t, len(snaps), 2, series)
		for i, s := range snaps {
			// Every snapshot is whole: parsed, signed (checked by verify below).
			require.Equal(t, int64(i+1), s.Seq)
			if i > 0 {
				require.False(t, s.StartedAt.Before(snaps[i-1].FinishedAt),
					"%s: run %d started before run %d finished: overlapping runs", series, i+1, i)
			}
		}
	}
	// Log lines are JSON when not on a terminal.
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "log line is not JSON: %s", sc.Text())
	}
	require.NotContains(t, logs.String(), src.Token.Reveal(), "the token must never be logged")

	r = exhibit(t, dir, nil, "verify", "--store", "file://./evidence")
	require.Equal(t, 0, r.code, r.stdout)
}

// loggedListen finds the health server's address in the JSON logs.
func loggedListen(t *testing.T, logs string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving health and metrics" {
			return line.Listen
		}
	}
	t.Fatalf("no listen address in the logs:\n%s", logs)
	return ""
}

func listKeys(t *testing.T, st *fsstore.Store, prefix string) []string {
	t.Helper()
	var keys []string
	require.NoError(t, st.List(t.Context(), prefix, "", func(k string) error { keys = append(keys, k); return nil }))
	return keys
}

// memory_limit is the daemon's soft memory limit, as its Go runtime
// reports it on /metrics; unset, the runtime's own (none here).
func TestRunAppliesMemoryLimit(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"memory_limit: 200MiB\n", "go_gc_gomemlimit_bytes 2.097152e+08\n"},
		{"", "go_gc_gomemlimit_bytes 9.223372036854776e+18\n"},
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "exhibit.yaml"), "store: file://./evidence\nsigning_key: file://./key.pem\nlisten: 127.0.0.1:0\n"+tc.line+
			"sources:\n  github:\n    base_url: http://127.0.0.1:1/api/v3/\n    token: ${EXHIBIT_GH_TOKEN}\n    orgs: [acme]\n"+
			"collectors:\n  - type: github.access\n    schedule: \"@yearly\"\n")
		cmd := exec.Command(binary, "run", "-c", "exhibit.yaml")
		cmd.Dir = dir
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOMEMLIMIT=") })
		cmd.Env = append(env, "EXHIBIT_GH_TOKEN=not-used")
		var logs syncBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		var metrics string
		deadline := time.Now().Add(30 * time.Second)
		for metrics == "" {
			require.True(t, time.Now().Before(deadline), "no metrics in time\n%s", logs.String())
			time.Sleep(50 * time.Millisecond)
			addr := daemonListen(logs.String())
			if addr == "" {
				continue
			}
			resp, err := http.Get("http://" + addr + "/metrics")
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			metrics = string(b)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, <-exited, logs.String())
		require.Contains(t, metrics, tc.want, "memory_limit %q", tc.line)
	}
}
