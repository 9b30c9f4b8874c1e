package fs_test

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
	"github.com/exhibit-dev/exhibit/pkg/store/storetest"
)

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := fsstore.Open(t.TempDir())
		require.NoError(t, err)
		return s
	})
}

func TestStoredFilesAreReadOnlyAndNoTempsRemain(t *testing.T) {
	s, err := fsstore.Open(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, s.Put(t.Context(), "a/b", []byte("x")))
	st, err := os.Stat(s.Root() + "/a/b")
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o444), st.Mode().Perm())
	temps, err := s.TempFiles()
	require.NoError(t, err)
	require.Empty(t, temps)
}

func TestOpenExistingRefusesMissingDir(t *testing.T) {
	_, err := fsstore.OpenExisting(t.TempDir() + "/nope")
	require.ErrorContains(t, err, "nope")
}

// List shows every name, including a leftover temporary file and names Put
// would refuse, so that verify can report them.
func TestListShowsEveryName(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Put(t.Context(), "a/b", []byte("x")))
	for _, name := range []string{"a/.tmp-0123", "a/back\\slash", "a/new\nline"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), nil, 0o644))
	}
	var got []string
	require.NoError(t, s.List(t.Context(), "a/", "", func(k string) error {
		got = append(got, k)
		return nil
	}))
	require.Equal(t, []string{"a/.tmp-0123", "a/b", "a/back\\slash", "a/new\nline"}, got)
}

// A store whose root is a symbolic link to its directory lists whole.
func TestListThroughALinkedRoot(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.Open(filepath.Join(dir, "real"))
	require.NoError(t, err)
	require.NoError(t, s.Put(t.Context(), "a/b", []byte("x")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")))
	linked, err := fsstore.OpenExisting(filepath.Join(dir, "link"))
	require.NoError(t, err)
	for _, prefix := range []string{"", "a/"} {
		var got []string
		require.NoError(t, linked.List(t.Context(), prefix, "", func(k string) error {
			got = append(got, k)
			return nil
		}))
		require.Equal(t, []string{"a/b"}, got, "prefix %q", prefix)
	}
	b, err := linked.Get(t.Context(), "a/b")
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
}

// TestGetAllocatesTheObjectOnce counts the bytes Get allocates: one buffer
// the size of the object (and a little), not the doubling copies of a
// buffer grown while reading, which cost a verify of a large store more in
// garbage than in reading.
func TestGetAllocatesTheObjectOnce(t *testing.T) {
	s, err := fsstore.Open(t.TempDir())
	require.NoError(t, err)
	const size = 1 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	require.NoError(t, s.Put(t.Context(), "snapshots/big.json", body))
	// Each Get is measured alone and the least is kept: the counter is
	// the process's, and whatever else runs meanwhile only adds to it.
	least := uint64(math.MaxUint64)
	for range 20 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := s.Get(t.Context(), "snapshots/big.json")
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		require.Len(t, got, size)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	require.Less(t, float64(least), 1.1*size, "bytes allocated by a Get of a %d-byte object", size)
}
