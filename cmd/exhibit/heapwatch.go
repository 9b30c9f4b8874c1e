package main

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"go.uber.org/zap"
)

// heapWatch tells the operator when memory_limit (or GOMEMLIMIT) is too
// low for the estate: a soft limit below what a run keeps live does not
// fail, it makes the garbage collector run over and over, up to the
// runtime's cap of half the CPU. After each run it reads the live heap (as
// of the last collection) and whether the collector was held at that cap
// since the last look, and warns when either says the limit is too low,
// at most once every warnEvery.
type heapWatch struct {
	mu      sync.Mutex
	limited uint64 // the GC cycle in which the CPU cap was last applied
	warned  time.Time
	now     func() time.Time
}

const (
	// nearLimit is how close to the soft limit the live heap may come.
	nearLimit = 0.9
	warnEvery = time.Hour
)

func (h *heapWatch) check(log *zap.Logger, job string) {
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		return
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/limiter/last-enabled:gc-cycle"}}
	metrics.Read(s)
	live, cycle := s[0].Value.Uint64(), s[1].Value.Uint64()
	h.mu.Lock()
	defer h.mu.Unlock()
	capped := cycle != h.limited
	h.limited = cycle
	now := time.Now
	if h.now != nil {
		now = h.now
	}
	if (!capped && float64(live) <= nearLimit*float64(limit)) || now().Sub(h.warned) < warnEvery {
		return
	}
	h.warned = now()
	log.Warn("memory_limit is too low for this estate: the garbage collector runs continuously near it; raise memory_limit, and the container's limit with it",
		zap.String("collector", job), zap.Int64("memory_limit_bytes", limit), zap.Uint64("live_heap_bytes", live),
		zap.Bool("gc_cpu_capped", capped))
}
