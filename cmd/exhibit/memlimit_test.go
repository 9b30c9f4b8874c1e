package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReaderHeapLimit: the reading commands get the soft heap limit, the
// others (the daemon, collect) and a GOMEMLIMIT of the user's do not.
func TestReaderHeapLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	for _, c := range []struct {
		args  []string
		env   string
		limit int64
	}{
		{[]string{"report", "--store", "file://x"}, "", readerMemoryLimit},
		{[]string{"verify"}, "", readerMemoryLimit},
		{[]string{"export", "--format", "csv"}, "", readerMemoryLimit},
		{[]string{"run"}, "", math.MaxInt64},
		{[]string{"collect"}, "", math.MaxInt64},
		{nil, "", math.MaxInt64},
		{[]string{"diff"}, "1GiB", math.MaxInt64},
	} {
		t.Setenv("GOMEMLIMIT", c.env)
		debug.SetMemoryLimit(math.MaxInt64)
		limitReaderHeap(c.args)
		require.Equal(t, c.limit, debug.SetMemoryLimit(-1), "%v GOMEMLIMIT=%q", c.args, c.env)
	}
}
