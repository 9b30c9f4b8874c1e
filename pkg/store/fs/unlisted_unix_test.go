//go:build unix

package fs_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// asNobody is set in the copy of this test binary that
// TestListGoesOnPastAnUnreadableDirectory runs as an unprivileged user:
// root reads a directory whatever its mode, so the test needs a user for
// whom mode 000 means something.
const asNobody = "EXHIBIT_TEST_LIST_AS_NOBODY"

// TestListGoesOnPastAnUnreadableDirectory: a directory of the store that
// cannot be read is named in an UnlistedError, and every key elsewhere is
// still listed, before and after it.
func TestListGoesOnPastAnUnreadableDirectory(t *testing.T) {
	if dir := os.Getenv(asNobody); dir != "" {
		listPastUnreadable(t, dir)
		return
	}
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// The test binary runs again as nobody, over a store it may write.
		require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
		require.NoError(t, os.Chmod(dir, 0o777))
		// A copy of the binary nobody may run: go test builds it in a
		// directory only root may enter.
		bin := filepath.Join(filepath.Dir(dir), "fs.test")
		b, err := os.ReadFile(os.Args[0])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(bin, b, 0o755))
		cmd := exec.Command(bin, "-test.run=^TestListGoesOnPastAnUnreadableDirectory$", "-test.v")
		cmd.Env = append(os.Environ(), asNobody+"="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "--- PASS: TestListGoesOnPastAnUnreadableDirectory")
		return
	}
	listPastUnreadable(t, dir)
}

func listPastUnreadable(t *testing.T, dir string) {
	s, err := fsstore.Open(dir)
	require.NoError(t, err)
	for _, k := range []string{"evidence/a/1.json", "evidence/b/1.json", "evidence/c/1.json"} {
		require.NoError(t, s.Put(t.Context(), k, []byte("x")))
	}
	hidden := filepath.Join(dir, "evidence", "b")
	require.NoError(t, os.Chmod(hidden, 0))
	t.Cleanup(func() { os.Chmod(hidden, 0o755) })

	var got []string
	err = s.List(t.Context(), "evidence/", "", func(k string) error {
		got = append(got, k)
		return nil
	})
	require.Equal(t, []string{"evidence/a/1.json", "evidence/c/1.json"}, got)
	var ue *store.UnlistedError
	require.True(t, errors.As(err, &ue), "%v", err)
	require.Len(t, ue.Places, 1)
	require.Equal(t, "evidence/b/", ue.Places[0].Prefix)
	require.ErrorIs(t, ue.Places[0].Err, os.ErrPermission)
}
