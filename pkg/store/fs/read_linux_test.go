//go:build linux

package fs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// readBeneath reads a plain file below the root and gives up on anything
// else, leaving the refusal, and its reason, to the portable path.
func TestReadBeneathTakesOnlyPlainFiles(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("outside the store"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "b", "plain"), []byte("snapshot"), 0o444))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "big"), make([]byte, 100), 0o444))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "a", "fifo"), 0o644))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "a", "zero")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "a", "out")))
	require.NoError(t, os.Symlink("b/plain", filepath.Join(dir, "a", "inside")))
	require.NoError(t, os.Symlink(filepath.Dir(outside), filepath.Join(dir, "linkdir")))
	require.NoError(t, os.Symlink("a", filepath.Join(dir, "alias")))

	b, ok := readBeneath(dir, filepath.Join("a", "b", "plain"), 99)
	require.True(t, ok, "a plain file below the root")
	require.Equal(t, "snapshot", string(b))

	for _, name := range []string{
		"a/big",          // over the limit
		"a/fifo",         // not regular
		"a/zero",         // a link to a device
		"a/out",          // a link out of the root
		"a/inside",       // a link, even one that stays inside
		"linkdir/secret", // a linked directory out of the root
		"alias/b/plain",  // a linked directory inside the root
		"../" + filepath.Base(dir) + "/a/b/plain",
		"a",      // a directory
		"a/nope", // nothing
	} {
		b, ok := readBeneath(dir, filepath.FromSlash(name), 99)
		require.False(t, ok, name)
		require.Nil(t, b, name)
	}
}
