package fs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// Temporary files a crash left (at any depth, read-only as Put makes them)
// are removed; stored objects are not touched.
func TestRemoveTempsLeavesStoredObjects(t *testing.T) {
	s, err := fsstore.Open(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, s.Put(t.Context(), "evidence/c/s/000000000001.json", []byte("x")))
	left := []string{
		filepath.Join(s.Root(), "evidence", "c", "s", ".tmp-0123456789abcdef"),
		filepath.Join(s.Root(), "index", "2026-03-01", "c", "s", ".tmp-fedcba9876543210"),
	}
	for _, p := range left {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("half"), 0o444))
	}
	temps, err := s.TempFiles()
	require.NoError(t, err)
	require.Len(t, temps, 2)

	removed, err := s.RemoveTemps()
	require.NoError(t, err)
	require.ElementsMatch(t, left, removed)
	temps, err = s.TempFiles()
	require.NoError(t, err)
	require.Empty(t, temps)
	got, err := s.Get(t.Context(), "evidence/c/s/000000000001.json")
	require.NoError(t, err)
	require.Equal(t, "x", string(got))
}
