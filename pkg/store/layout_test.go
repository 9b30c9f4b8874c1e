package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
)

// The key parsers take names from the store, which anyone with write access
// chose: they never panic, and what they accept is exactly what the layout
// writes, so that a reader can rebuild the key from the parts.
func FuzzParseKeys(f *testing.F) {
	for _, k := range []string{
		store.SnapshotKey("aws.iam/111122223333", 1),
		store.SnapshotKey("aws.iam/111122223333", 999999999999),
		store.IndexKey(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "aws.iam/111122223333", 3),
		"evidence/a/b/5.json", "index/2026-3-1/a/b/000000000001", "index/2026-03-01/a/b/1",
		"evidence/a\\b/c/000000000001.json", "evidence/a/b/000000000000.json", "evidence/a/b/-00000000001.json",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if series, seq, ok := store.ParseSnapshotKey(key); ok {
			require.Equal(t, key, store.SnapshotKey(series, seq))
		}
		if day, series, seq, ok := store.ParseIndexKey(key); ok {
			require.Equal(t, key, store.IndexKey(day, series, seq))
		}
	})
}

func TestParseKeysAcceptOnlyTheWrittenForm(t *testing.T) {
	for _, k := range []string{"index/2026-3-1/a/b/000000000001", "index/2026-03-01/a/b/1", "index/2026-02-30/a/b/000000000001"} {
		_, _, _, ok := store.ParseIndexKey(k)
		require.False(t, ok, k)
	}
	for _, k := range []string{"evidence/a/b/5.json", "evidence/a/b/000000000000.json", "evidence/a/b/+00000000001.json"} {
		_, _, ok := store.ParseSnapshotKey(k)
		require.False(t, ok, k)
	}
	day, series, seq, ok := store.ParseIndexKey("index/2026-03-01/a/b/000000000007")
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), day)
	require.Equal(t, "a/b", series)
	require.Equal(t, int64(7), seq)
}
