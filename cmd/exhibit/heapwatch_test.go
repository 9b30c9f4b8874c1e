package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestHeapWatchWarnsOfATooLowLimit keeps more live than the soft limit
// allows: the run's end warns, naming the limit and the live heap, then
// not again within the hour, and again after it; without a limit it says
// nothing.
func TestHeapWatchWarnsOfATooLowLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	core, logs := observer.New(zap.WarnLevel)
	log := zap.New(core)
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	h := heapWatch{now: func() time.Time { return clock }}

	debug.SetMemoryLimit(math.MaxInt64)
	h.check(log, "aws.s3")
	require.Zero(t, logs.Len(), "no limit, nothing to say")

	live := make([][]byte, 0, 64)
	for range 64 {
		live = append(live, make([]byte, 1<<20))
	}
	debug.SetMemoryLimit(32 << 20)
	runtime.GC()
	h.check(log, "github.pull_requests")
	require.Equal(t, 1, logs.Len())
	e := logs.All()[0]
	require.Contains(t, e.Message, "raise memory_limit")
	fields := e.ContextMap()
	require.Equal(t, "github.pull_requests", fields["collector"])
	require.EqualValues(t, 32<<20, fields["memory_limit_bytes"])
	require.GreaterOrEqual(t, fields["live_heap_bytes"], uint64(64<<20))

	clock = clock.Add(59 * time.Minute)
	h.check(log, "okta.access")
	require.Equal(t, 1, logs.Len(), "at most one warning an hour")
	clock = clock.Add(time.Minute)
	h.check(log, "okta.access")
	require.Equal(t, 2, logs.Len())
	runtime.KeepAlive(live)
}

// TestHeapWatchQuietWithRoom: a limit well above the live heap, and no
// collection held at the CPU cap, is nothing to warn about.
func TestHeapWatchQuietWithRoom(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	var h heapWatch
	debug.SetMemoryLimit(64 << 30)
	h.check(zap.NewNop(), "aws.s3") // takes in the cap's state so far
	runtime.GC()
	core, logs := observer.New(zap.WarnLevel)
	h.check(zap.New(core), "aws.s3")
	require.Zero(t, logs.Len())
}
