package fs_test

import (
	"os"
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
