// Package testtool finds the programs the test suite runs for real
// (openssl, Chromium, MinIO, cosign, helm…).
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Find returns the path of the program name: PATH first, then the Go bin
// directories, where `make test-deps` installs Go tools. "" when absent.
func Find(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.SplitList(gp)...)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.SplitList(strings.TrimSpace(string(out)))...)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "bin", name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Require returns the path of name. Without it the test is skipped on a
// developer's machine, and fails under CI, where a missing dependency must
// never pass silently.
func Require(t testing.TB, name string) string {
	t.Helper()
	p := Find(name)
	if p == "" {
		msg := name + " not found in PATH or $(go env GOPATH)/bin; `make test-deps` installs it"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}
