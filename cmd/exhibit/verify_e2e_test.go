package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/store"
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

	key := store.SnapshotKey("aws.iam/111122223333", 2)
	p := filepath.Join(env.Store.Root(), key)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)-3] ^= 0x01
	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, b, 0o644))
	r = exhibit(t, t.TempDir(), nil, "verify", "--store", url)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, "FAIL "+key)

	r = exhibit(t, t.TempDir(), nil, "verify", "--store", "file://"+t.TempDir()+"/absent")
	require.Equal(t, 2, r.code)
}

// The README's openssl commands, run exactly as written, verify a stored
// snapshot.
func TestREADMEOpenSSLCommandVerifies(t *testing.T) {
	requireTool(t, "openssl")
	bash := requireTool(t, "bash")
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
