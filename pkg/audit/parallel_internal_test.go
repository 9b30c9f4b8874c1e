package audit

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParallel(t *testing.T) {
	t.Run("every index once, at most limit at a time", func(t *testing.T) {
		var running, most atomic.Int32
		seen := make([]atomic.Int32, 100)
		require.NoError(t, parallel(t.Context(), 100, 4, func(i int) error {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			seen[i].Add(1)
			running.Add(-1)
			return nil
		}))
		require.LessOrEqual(t, most.Load(), int32(4))
		for i := range seen {
			require.Equal(t, int32(1), seen[i].Load(), "index %d", i)
		}
	})
	t.Run("the first failure in order is returned, and stops the rest", func(t *testing.T) {
		started := atomic.Int32{}
		err := parallel(t.Context(), 1000, 2, func(i int) error {
			started.Add(1)
			if i == 7 || i == 9 {
				return fmt.Errorf("index %d is broken", i)
			}
			return nil
		})
		require.EqualError(t, err, "index 7 is broken")
		require.Less(t, started.Load(), int32(1000), "no new call starts after a failure")
	})
	t.Run("a cancelled caller is told so", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := parallel(ctx, 10, 2, func(int) error { return nil })
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestReadAhead(t *testing.T) {
	t.Run("in order, never more than depth ahead", func(t *testing.T) {
		// calls counts the next calls begun: fn(j) may start once
		// next(j-depth) has begun to take its result.
		var started, calls, most atomic.Int32
		next, stop := readAhead(t.Context(), 200, 3, func(_ context.Context, i int) int {
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
	t.Run("a cancelled caller is not left waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		next, stop := readAhead(ctx, 10, 2, func(ctx context.Context, i int) int {
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
}
