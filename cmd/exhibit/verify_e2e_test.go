package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

func testStore(t *testing.T) *agenttest.Env {
	env := agenttest.NewEnv(t, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
	env.Fill(t, agenttest.Job("aws.iam", "@daily", c), 3, 24*time.Hour)
	return env
}

func TestVerifyExitCodes(t *testing.T) {
	env := testStore(t)
	url := "file://" + env.Store.Root()
	r := exhibit(t, t.TempDir(), nil, "verify", "--store", url)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "3 snapshot(s) in 1 series, 1 key(s): OK")

	r = exhibit(t, t.TempDir(), nil, "verify", "--store", "file://"+t.TempDir()+"/absent")
	require.Equal(t, 2, r.code)
	r = exhibit(t, t.TempDir(), nil, "verify", "--store", url, "--from", "2026-13-01")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "want YYYY-MM-DD")
}

// A store whose runs all failed does not verify over its period: each failed
// run is listed. Allowing failed runs makes them notes, still listed.
func TestVerifyFailsOnFailedRuns(t *testing.T) {
	env := agenttest.NewEnv(t, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: func(collector.Request) (*collector.Result, error) {
		return nil, errors.New("ExpiredToken: the security token included in the request is expired")
	}}
	env.Fill(t, agenttest.Job("aws.iam", "@daily", c), 3, 24*time.Hour)
	url := "file://" + env.Store.Root()
	period := []string{"verify", "--store", url, "--from", "2026-05-01", "--to", "2026-05-04"}
	failedRun := func(day, seq string) string {
		return "evidence/aws.iam/111122223333/: collection failed: the run due 2026-05-0" + day + "T00:00:00Z (schedule @daily) failed: " +
			"test:111122223333: ExpiredToken: the security token included in the request is expired (evidence/aws.iam/111122223333/00000000000" + seq + ".json)\n"
	}

	r := exhibit(t, t.TempDir(), nil, period...)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	for i, day := range []string{"1", "2", "3"} {
		require.Contains(t, r.stdout, "FAIL "+failedRun(day, strconv.Itoa(i+1)))
	}
	require.Contains(t, r.stdout, "RUNS aws.iam/111122223333: 0 complete, 0 partial, 3 failed, 0 missing\n")
	require.Contains(t, r.stdout, ": 3 problem(s)")

	r = exhibit(t, t.TempDir(), nil, append(period, "--allow-failed-runs")...)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.NotContains(t, r.stdout, "FAIL ")
	for i, day := range []string{"1", "2", "3"} {
		require.Contains(t, r.stdout, "NOTE "+failedRun(day, strconv.Itoa(i+1)))
	}
	require.Contains(t, r.stdout, "RUNS aws.iam/111122223333: 0 complete, 0 partial, 3 failed, 0 missing\n")

	r = exhibit(t, t.TempDir(), nil, append(period, "--json")...)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	var rep struct {
		Problems []struct{ Key, Message string }
		Runs     []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Len(t, rep.Problems, 3)
	require.Equal(t, []map[string]any{{"series": "aws.iam/111122223333", "complete": 0.0, "partial": 0.0, "failed": 3.0, "missing": 0.0, "checked": true}}, rep.Runs)

	r = exhibit(t, t.TempDir(), nil, "verify", "--store", url, "--allow-failed-runs")
	require.Equal(t, 2, r.code, "without a period no run is judged: %s", r.stdout)
	require.Contains(t, r.stderr, "--allow-failed-runs needs a period")
}

// Each kind of tampering makes verify exit 1 and name the object.
func TestVerifyNamesTamperedObjects(t *testing.T) {
	series := "aws.iam/111122223333"
	k2 := store.SnapshotKey(series, 2)
	cases := []struct {
		name   string
		tamper func(t *testing.T, root string, env *agenttest.Env)
		names  string
	}{
		{"flipped byte", func(t *testing.T, root string, _ *agenttest.Env) {
			b := readFile(t, filepath.Join(root, k2))
			b[len(b)/2] ^= 0x01
			rewrite(t, filepath.Join(root, k2), b)
		}, k2},
		{"deleted from the middle", func(t *testing.T, root string, _ *agenttest.Env) {
			require.NoError(t, os.Remove(filepath.Join(root, k2)))
			require.NoError(t, os.Remove(filepath.Join(root, k2+".sig")))
		}, k2},
		{"signatures swapped", func(t *testing.T, root string, _ *agenttest.Env) {
			k3 := store.SnapshotKey(series, 3)
			a, b := readFile(t, filepath.Join(root, k2+".sig")), readFile(t, filepath.Join(root, k3+".sig"))
			rewrite(t, filepath.Join(root, k2+".sig"), b)
			rewrite(t, filepath.Join(root, k3+".sig"), a)
		}, k2 + ".sig"},
		{"published key replaced", func(t *testing.T, root string, env *agenttest.Env) {
			out := exhibit(t, t.TempDir(), nil, "keys", "generate", "--key", "file://"+filepath.Join(t.TempDir(), "other.pem"))
			require.Equal(t, 0, out.code, out.stderr)
			rewrite(t, filepath.Join(root, store.PublicKeyKey(env.Agent.KeyID())), []byte(out.stdout))
		}, "keys/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testStore(t)
			tc.tamper(t, env.Store.Root(), env)
			r := exhibit(t, t.TempDir(), nil, "verify", "--store", "file://"+env.Store.Root())
			require.Equal(t, 1, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stdout, "FAIL "+tc.names)
		})
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func rewrite(t *testing.T, p string, b []byte) {
	t.Helper()
	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	r := exhibit(t, dir, nil, "keys", "public", "--key", "file://missing.pem")
	require.Equal(t, 2, r.code)
	require.NoFileExists(t, filepath.Join(dir, "missing.pem"), "printing a key never creates one")

	r = exhibit(t, dir, nil, "keys", "generate", "--key", "file://k.pem")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "-----BEGIN PUBLIC KEY-----"))
	st, err := os.Stat(filepath.Join(dir, "k.pem"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	pub := exhibit(t, dir, nil, "keys", "public", "--key", "file://k.pem")
	require.Equal(t, 0, pub.code)
	require.Equal(t, r.stdout, pub.stdout)

	again := exhibit(t, dir, nil, "keys", "generate", "--key", "file://k.pem")
	require.Equal(t, 2, again.code, "an existing key is never replaced")

	require.NoError(t, os.Chmod(filepath.Join(dir, "k.pem"), 0o644))
	loose := exhibit(t, dir, nil, "keys", "public", "--key", "file://k.pem")
	require.Equal(t, 2, loose.code)
	require.Contains(t, loose.stderr, "lets others read it")
}

// The README's openssl commands, run exactly as written, verify a stored
// snapshot.
func TestREADMEOpenSSLCommandVerifies(t *testing.T) {
	testtool.Require(t, "openssl")
	bash := testtool.Require(t, "bash")
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- openssl-verify -->\n```sh\n(.*?)```\n<!-- /openssl-verify -->").FindSubmatch(readme)
	require.NotNil(t, m, "README has no openssl-verify block")
	script := string(m[1])
	require.Contains(t, script, "S=evidence/aws.iam/111122223333/000000000001.json")

	env := testStore(t)
	for _, seq := range []string{"000000000001", "000000000003"} {
		s := strings.Replace(script, "000000000001", seq, 1)
		cmd := exec.Command(bash, "-euo", "pipefail", "-c", s)
		cmd.Dir = env.Store.Root()
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		require.Equal(t, "Verified OK\n", string(out))
	}

	// The same command fails on an altered snapshot.
	p := filepath.Join(env.Store.Root(), "evidence/aws.iam/111122223333/000000000001.json")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), `"status":"pass"`, `"status":"fail"`, 1)), 0o644))
	cmd := exec.Command(bash, "-euo", "pipefail", "-c", script)
	cmd.Dir = env.Store.Root()
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "Verification failure")
}

// The README's cosign command, run as written after its openssl block's
// variable lines, verifies a stored snapshot. cosign runs in a network
// namespace of its own, so its attempt to refresh a trust root cannot leave
// this machine.
func TestREADMECosignCommandVerifies(t *testing.T) {
	cosign := testtool.Require(t, "cosign")
	unshare := testtool.Require(t, "unshare")
	readme := string(readFile(t, "../../README.md"))
	block := func(name string) string {
		m := regexp.MustCompile("(?s)<!-- " + name + " -->\n```sh\n(.*?)```\n<!-- /" + name + " -->").FindStringSubmatch(readme)
		require.NotNil(t, m, "README has no %s block", name)
		return m[1]
	}
	var vars []string
	for _, line := range strings.Split(block("openssl-verify"), "\n") {
		if strings.HasPrefix(line, "S=") || strings.HasPrefix(line, "K=") {
			vars = append(vars, line)
		}
	}
	require.Len(t, vars, 2)
	cmdLine := strings.Replace(block("cosign-verify"), "cosign ", cosign+" ", 1)
	script := strings.Join(vars, "\n") + "\n" + cmdLine

	env := testStore(t)
	run := func() (string, error) {
		cmd := exec.Command(unshare, "-n", "bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = env.Store.Root()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run()
	if err != nil && strings.Contains(out, "unshare failed") {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot make a network namespace under CI: %s", out)
		}
		t.Skipf("no network namespaces here: %s", out)
	}
	require.NoError(t, err, out)
	require.Contains(t, out, "Verified OK")

	p := filepath.Join(env.Store.Root(), "evidence/aws.iam/111122223333/000000000001.json")
	rewrite(t, p, []byte(strings.Replace(string(readFile(t, p)), `"status":"pass"`, `"status":"fail"`, 1)))
	out, err = run()
	require.Error(t, err, "an altered snapshot must not verify: %s", out)
	require.NotContains(t, out, "Verified OK")
}
