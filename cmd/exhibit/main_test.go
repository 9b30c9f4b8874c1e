package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// binary is the exhibit command built once for the end-to-end tests, which
// run it as a user does: as a process, judged by its output and exit code.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exhibit-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "exhibit")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build exhibit: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// exhibit runs the binary in dir with the given extra environment.
func exhibit(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestUsage(t *testing.T) {
	r := exhibit(t, t.TempDir(), nil)
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "Commands:")
	r = exhibit(t, t.TempDir(), nil, "frobnicate")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, `unknown command "frobnicate"`)
	r = exhibit(t, t.TempDir(), nil, "verify")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--store is required")
	r = exhibit(t, t.TempDir(), nil, "version")
	require.Equal(t, 0, r.code)
	require.True(t, strings.HasPrefix(r.stdout, "exhibit "))
}
