package audit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadAhead(t *testing.T) {
	t.Run("in order, never more than depth ahead", func(t *testing.T) {
		// calls counts the next calls begun: fn(j) may start once
		// next(j-depth) has begun to take its result.
		var started, calls, most atomic.Int32
		next, stop := readAhead(t.Context(), 200, 3, nil, 0, func(_ context.Context, i int) int {
			ahead := started.Add(1) - calls.Load()
			for {
				m := most.Load()
				if ahead <= m || most.CompareAndSwap(m, ahead) {
					break
				}
			}
			return i * i
		})
		defer stop()
		for i := range 200 {
			calls.Add(1)
			got, err := next(i)
			require.NoError(t, err)
			require.Equal(t, i*i, got)
		}
		require.LessOrEqual(t, most.Load(), int32(3))
	})
	t.Run("a consumer that gives up leaves at most depth calls started beyond it", func(t *testing.T) {
		var started atomic.Int32
		next, stop := readAhead(t.Context(), 1000, 2, nil, 0, func(_ context.Context, i int) int {
			started.Add(1)
			return i
		})
		for i := range 8 {
			_, err := next(i)
			require.NoError(t, err)
		}
		stop()
		// At most depth calls beyond the last one taken were under way.
		require.LessOrEqual(t, started.Load(), int32(8+2))
	})
	t.Run("a cancelled caller is not left waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		next, stop := readAhead(ctx, 10, 2, nil, 0, func(ctx context.Context, i int) int {
			if i == 0 {
				cancel()
			}
			<-ctx.Done()
			return i
		})
		defer stop()
		for i := range 10 {
			if _, err := next(i); err != nil {
				require.ErrorIs(t, err, context.Canceled)
				return
			}
		}
		t.Fatal("next never reported the cancellation")
	})
	t.Run("results weighed: no more bytes held ahead than the budget", func(t *testing.T) {
		// Each result weighs size; the consumer is slow, so that without
		// the budget all depth (8) would be read ahead.
		for _, c := range []struct {
			size     int64
			most     int32 // the most calls started and not yet taken
			leastTop int32 // at least this many were, once: it still reads ahead
		}{
			{size: 10, most: 3, leastTop: 2},  // 3 × 10 ≤ 35
			{size: 100, most: 1, leastTop: 1}, // larger than the budget: one at a time
		} {
			var started, calls, most atomic.Int32
			next, stop := readAhead(t.Context(), 60, 8, func(int64) int64 { return c.size }, 35, func(_ context.Context, i int) int64 {
				ahead := started.Add(1) - calls.Load()
				for {
					m := most.Load()
					if ahead <= m || most.CompareAndSwap(m, ahead) {
						break
					}
				}
				return c.size
			})
			for i := range 60 {
				time.Sleep(time.Millisecond)
				calls.Add(1)
				got, err := next(i)
				require.NoError(t, err)
				require.Equal(t, c.size, got)
			}
			stop()
			require.LessOrEqual(t, most.Load(), c.most, "size %d", c.size)
			require.GreaterOrEqual(t, most.Load(), c.leastTop, "size %d", c.size)
		}
	})
}
