package audit

import (
	"context"
	"sync"
)

// readAheadDepth bounds the snapshots read ahead of their consumer (the
// chain walk of verify, the loading of a period): every snapshot costs
// round trips to the store, which on S3 dominate a year of evidence.
const readAheadDepth = 8

// readAheadBytes bounds, besides readAheadDepth, the stored bytes of the
// snapshots read ahead and not yet taken: eight access lists of 10,000
// users (11 MB each, several times that parsed) would otherwise be held
// at once.
const readAheadBytes = 32 << 20

// readAhead runs fn(0), fn(1)… in the background, at most depth of them
// ahead of the consumer, which takes the results in order with next(0),
// next(1)…; next fails only when ctx ends first. stop ends the background
// work (calls under way see their context cancelled).
//
// weigh, when not nil, gives a result's size (its stored bytes), and no
// call is started while the results not yet taken, with the calls under
// way counted at the largest size met so far, would exceed budget: until
// a first size is known, and whenever nothing else is held, one call at a
// time. A member larger than budget is still read, alone.
func readAhead[T any](ctx context.Context, n, depth int, weigh func(T) int64, budget int64, fn func(context.Context, int) T) (next func(int) (T, error), stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	// Result i goes to ring[i%depth]: the producer starts i only once
	// next(i-depth) has taken its result, so the slot is free.
	ring := make([]chan T, depth)
	for i := range ring {
		ring[i] = make(chan T, 1)
	}
	slots := make(chan struct{}, depth)
	var mu sync.Mutex
	var held, largest int64 // bytes of results not taken; the largest result
	var running int64       // calls under way
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	// room reports whether one more call fits the budget, and counts it
	// as running if so.
	room := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if weigh == nil {
			return true
		}
		ok := (held == 0 && running == 0) || (largest > 0 && held+(running+1)*largest <= budget)
		if ok {
			running++
		}
		return ok
	}
	go func() {
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			for !room() {
				select {
				case <-wake:
				case <-ctx.Done():
					return
				}
			}
			go func() {
				r := fn(ctx, i)
				if weigh != nil {
					w := weigh(r)
					mu.Lock()
					running--
					held += w
					largest = max(largest, w)
					mu.Unlock()
					poke()
				}
				ring[i%depth] <- r
			}()
		}
	}()
	next = func(i int) (T, error) {
		select {
		case r := <-ring[i%depth]:
			if weigh != nil {
				mu.Lock()
				held -= weigh(r)
				mu.Unlock()
				poke()
			}
			<-slots
			return r, nil
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	return next, cancel
}
