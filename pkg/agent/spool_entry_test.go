package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// TestSpoolEntryWrittenAsJSON: an entry written by writeEntryTo is the JSON
// encoding/json makes of it, field for field (object order aside), and
// reads back into the same entry: with its bytes and every other field,
// with its bytes alone, and with a snapshot not chained yet (no bytes).
func TestSpoolEntryWrittenAsJSON(t *testing.T) {
	raw := make([]byte, 100_003) // not a multiple of 3: base64 padding
	_, err := rand.Read(raw)
	require.NoError(t, err)
	snap := &evidence.Snapshot{Series: "t/acme", Status: evidence.StatusComplete}
	for name, e := range map[string]*spoolEntry{
		"all fields": {Snapshot: snap, Bytes: raw, Signature: []byte("sig"), Token: []byte("tsr"),
			Attachments: []collector.Attachment{{Name: "report.csv", MediaType: "text/csv", Data: []byte("a,b\n")}},
			OncePerSlot: true, SlotWindows: true},
		"bytes alone":     {Bytes: raw},
		"not chained yet": {Snapshot: snap, OncePerSlot: true},
		"empty bytes":     {Snapshot: snap, Bytes: []byte{}},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, writeEntryTo(&buf, e))
			want := *e
			if len(want.Bytes) > 0 {
				want.Snapshot = nil
			}
			wantJSON, err := json.Marshal(&want)
			require.NoError(t, err)
			require.JSONEq(t, string(wantJSON), buf.String())

			var back spoolEntry
			require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
			require.True(t, bytes.Equal(want.Bytes, back.Bytes), "bytes")
			require.Equal(t, want.Signature, back.Signature)
			require.Equal(t, want.Token, back.Token)
			require.Equal(t, want.Attachments, back.Attachments)
			require.Equal(t, want.OncePerSlot, back.OncePerSlot)
			require.Equal(t, want.SlotWindows, back.SlotWindows)
			require.Equal(t, want.Snapshot != nil, back.Snapshot != nil)
		})
	}
}

// TestSpoolEntryStreamsItsBytes: writing an entry of a large snapshot
// allocates a small fraction of the snapshot's size; json.Marshal held it
// base64-encoded twice, 2.7 times its size.
func TestSpoolEntryStreamsItsBytes(t *testing.T) {
	raw := make([]byte, 8<<20)
	_, err := rand.Read(raw)
	require.NoError(t, err)
	e := &spoolEntry{Bytes: raw, Signature: []byte("sig")}
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	streamed := allocated(func() { require.NoError(t, writeEntryTo(io.Discard, e)) })
	marshalled := allocated(func() {
		_, err := json.Marshal(e)
		require.NoError(t, err)
	})
	t.Logf("allocated for an entry of %d bytes: %d streamed, %d through json.Marshal", len(raw), streamed, marshalled)
	require.Less(t, streamed, uint64(len(raw)/10))
	require.Greater(t, marshalled, uint64(2*len(raw)), "the comparison measures what json.Marshal allocates")
}
