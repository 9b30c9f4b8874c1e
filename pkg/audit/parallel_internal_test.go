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
