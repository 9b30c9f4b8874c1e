package audit

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

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
	t.Run("a consumer that gives up leaves at most depth calls started beyond it", func(t *testing.T) {
		var started atomic.Int32
		next, stop := readAhead(t.Context(), 1000, 2, func(_ context.Context, i int) int {
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
