package localfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadsARegularFileAndFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.yaml")
	require.NoError(t, os.WriteFile(p, []byte("store: file://x\n"), 0o600))
	b, err := Read(p, 1<<10)
	require.NoError(t, err)
	require.Equal(t, "store: file://x\n", string(b))

	// A Kubernetes ConfigMap or Secret volume: the name is a symlink.
	link := filepath.Join(dir, "link.yaml")
	require.NoError(t, os.Symlink(p, link))
	b, err = Read(link, 1<<10)
	require.NoError(t, err)
	require.Equal(t, "store: file://x\n", string(b))
}

func TestRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	linkToFifo := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(fifo, linkToFifo))
	cases := map[string]struct{ path, want string }{
		// Reading a FIFO with no writer would block forever.
		"fifo":            {fifo, fifo + ": a named pipe (FIFO), not a regular file"},
		"symlink to fifo": {linkToFifo, "a named pipe (FIFO), not a regular file"},
		"directory":       {dir, dir + ": a directory, not a regular file"},
		// Endless: without a bound, reading it would exhaust memory.
		"device": {"/dev/zero", "/dev/zero: a character device, not a regular file"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Read(tc.path, 1<<10)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestBoundsTheSize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(p, make([]byte, 1025), 0o600))
	_, err := Read(p, 1024)
	require.ErrorContains(t, err, p+": larger than 1 KiB")
	b, err := Read(p, 1025)
	require.NoError(t, err)
	require.Len(t, b, 1025)
}

func TestMissingFileIsNotExist(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "nope"), 10)
	require.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
}

func TestSize(t *testing.T) {
	require.Equal(t, "1 MiB", Size(1<<20))
	require.Equal(t, "64 KiB", Size(64<<10))
	require.Equal(t, "1000 bytes", Size(1000))
}
