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
		next, stop := readAhead(t.Context(), 200, 3, 1<<40, func(_ context.Context, i int) int {
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
		next, stop := readAhead(t.Context(), 1000, 2, 1<<40, func(_ context.Context, i int) int {
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
		next, stop := readAhead(ctx, 10, 2, 1<<40, func(ctx context.Context, i int) int {
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
	t.Run("no more bytes admitted and not taken than the budget", func(t *testing.T) {
		// Each call admits size bytes; the consumer is slow, so that
		// without the budget all depth (8) would be admitted at once.
		for _, c := range []struct {
			size, most, least int64 // the most bytes admitted and not taken, and at least that once
		}{
			{size: 10, most: 30, least: 20},    // 3 × 10 ≤ 35: still reads ahead
			{size: 100, most: 100, least: 100}, // larger than the budget: alone
		} {
			var most, reads atomic.Int64
			next, stop := readAhead(t.Context(), 60, 8, 35, func(ctx context.Context, i int) int {
				g := ctx.Value(ticketKey{}).(*ticket).g
				// Calls reading, and holding what they read, as this one
				// starts: within the budget too.
				g.mu.Lock()
				holding := g.reading + (g.used+g.waiting)/c.size
				g.mu.Unlock()
				for {
					m := reads.Load()
					if holding <= m || reads.CompareAndSwap(m, holding) {
						break
					}
				}
				require.NoError(t, admit(ctx, int(c.size)))
				g.mu.Lock()
				used := g.used
				g.mu.Unlock()
				for {
					m := most.Load()
					if used <= m || most.CompareAndSwap(m, used) {
						break
					}
				}
				return i
			})
			for i := range 60 {
				time.Sleep(time.Millisecond)
				got, err := next(i)
				require.NoError(t, err)
				require.Equal(t, i, got)
			}
			stop()
			require.LessOrEqual(t, most.Load(), c.most, "size %d", c.size)
			require.GreaterOrEqual(t, most.Load(), c.least, "size %d", c.size)
			require.LessOrEqual(t, reads.Load(), max(1, 35/c.size), "size %d: calls reading or holding bytes", c.size)
		}
	})
	t.Run("a call that does not admit lets the next go", func(t *testing.T) {
		next, stop := readAhead(t.Context(), 20, 4, 35, func(ctx context.Context, i int) int {
			if i%2 == 0 {
				require.NoError(t, admit(ctx, 30))
			}
			return i
		})
		defer stop()
		for i := range 20 {
			got, err := next(i)
			require.NoError(t, err)
			require.Equal(t, i, got)
		}
	})
}
