package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
)

// An auditor keeps a checkpoint at the start of fieldwork; an insider then
// deletes the newest snapshot with its date-index marker, which leaves an
// intact chain. verify with the kept checkpoint names it and exits 1.
func TestCheckpointKeptByTheAuditor(t *testing.T) {
	env := testStore(t)
	url := "file://" + env.Store.Root()
	dir := t.TempDir()
	r := exhibit(t, dir, nil, "checkpoint", "--store", url, "-o", "fieldwork.json")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "1 series")
	kept := filepath.Join(dir, "fieldwork.json")
	b, err := os.ReadFile(kept)
	require.NoError(t, err)
	require.Contains(t, string(b), `"seq":3`)

	r = exhibit(t, dir, nil, "verify", "--store", url, "--checkpoint", kept)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)

	k3 := store.SnapshotKey("aws.iam/111122223333", 3)
	root := env.Store.Root()
	require.NoError(t, os.Remove(filepath.Join(root, k3)))
	require.NoError(t, os.Remove(filepath.Join(root, k3+".sig")))
	markers, err := filepath.Glob(filepath.Join(root, "index", "*", "aws.iam", "111122223333", "000000000003"))
	require.NoError(t, err)
	require.Len(t, markers, 1)
	require.NoError(t, os.Remove(markers[0]))

	r = exhibit(t, dir, nil, "verify", "--store", url)
	require.Equal(t, 0, r.code, "without the checkpoint the chain left looks whole: %s", r.stdout)
	r = exhibit(t, dir, nil, "verify", "--store", url, "--checkpoint", kept)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "FAIL "+k3+": cut short: checkpoint "+kept)

	// A file that is not a checkpoint is a usage error naming it.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"schema":"x"}`), 0o644))
	r = exhibit(t, dir, nil, "verify", "--store", url, "--checkpoint", "bad.json")
	require.Equal(t, 2, r.code)
	require.True(t, strings.Contains(r.stderr, "--checkpoint bad.json"), r.stderr)
}
