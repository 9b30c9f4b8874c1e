//go:build unix

package fs_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// Get reads only regular files inside the store, bounded, and never blocks:
// whatever was planted in the directory, a reader gets an error it can
// report and goes on.
func TestGetRefusesWhatIsNotAPlainObject(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir)
	require.NoError(t, err)
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("outside the store"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "a", "fifo"), 0o644))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "a", "zero")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "a", "out")))
	require.NoError(t, os.Symlink(filepath.Dir(outside), filepath.Join(dir, "linkdir")))
	huge := filepath.Join(dir, "a", "huge")
	f, err := os.Create(huge)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Truncate(huge, store.MaxObjectSize+1)) // sparse: no disk used

	cases := map[string]error{
		"a/fifo":         store.ErrNotRegular,
		"a/zero":         store.ErrNotRegular,
		"a/out":          store.ErrNotRegular,
		"a":              store.ErrNotRegular,
		"a/huge":         store.ErrTooLarge,
		"linkdir/secret": nil, // escapes the root through a linked directory
	}
	for key, want := range cases {
		t.Run(key, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := s.Get(t.Context(), key)
				done <- err
			}()
			select {
			case err := <-done:
				require.Error(t, err)
				require.ErrorContains(t, err, key)
				if want != nil {
					require.ErrorIs(t, err, want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("Get %s hangs", key)
			}
		})
	}

}
