package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// held hands a reader the members of a PeriodReader whose loads it counts,
// and records the most members loaded and not yet done with at any time
// a reader is handed one: the reader's own, and those read ahead.
type held struct {
	r              *PeriodReader
	loaded, handed atomic.Int64
	most           int64
}

func (h *held) Each(ctx context.Context, order Order, fn func(Member) error) error {
	return h.r.Each(ctx, order, func(m Member) error {
		h.most = max(h.most, h.loaded.Load()-h.handed.Load())
		err := fn(m)
		h.handed.Add(1)
		return err
	})
}

// Every reader is handed the period one member at a time, with at most
// readAheadDepth more read ahead of it, whatever the period's length.
func TestReadersHoldFewMembers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evidence")
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/stream/store")))
	st, err := fsstore.Open(dir)
	require.NoError(t, err)
	cat, err := controls.Default()
	require.NoError(t, err)
	p := Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)}
	readers := map[string]func(Members) error{
		"report": func(m Members) error {
			return WriteReport(t.Context(), &bytes.Buffer{}, m, ReportOptions{Period: p})
		},
		"changes": func(m Members) error { _, err := PeriodChanges(t.Context(), m, cat, p); return err },
	}
	for _, f := range Formats {
		readers[f] = func(m Members) error {
			return Export(t.Context(), &bytes.Buffer{}, f, m, ExportOptions{Period: p, TempDir: t.TempDir()})
		}
	}
	for name, read := range readers {
		t.Run(name, func(t *testing.T) {
			h := &held{}
			var err error
			h.r, err = openPeriod(t.Context(), st, p, func(ctx context.Context, st store.Store, k string) (*Member, error) {
				h.loaded.Add(1)
				return loadMember(ctx, st, k)
			})
			require.NoError(t, err)
			require.Greater(t, len(h.r.keys), 100)
			require.NoError(t, read(h))
			require.Equal(t, int64(len(h.r.keys)), h.handed.Load(), "every member handed over")
			require.LessOrEqual(t, h.most, int64(readAheadDepth+1))
			require.Positive(t, h.most)
		})
	}
}
