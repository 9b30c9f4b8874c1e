package audit

import "context"

// readAheadDepth bounds the snapshots read ahead of their consumer (the
// chain walk of verify, the loading of a period): every snapshot costs
// round trips to the store, which on S3 dominate a year of evidence.
const readAheadDepth = 8

// readAhead runs fn(0), fn(1)… in the background, at most depth of them
// ahead of the consumer, which takes the results in order with next(0),
// next(1)…; next fails only when ctx ends first. stop ends the background
// work (calls under way see their context cancelled).
func readAhead[T any](ctx context.Context, n, depth int, fn func(context.Context, int) T) (next func(int) (T, error), stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	results := make([]chan T, n)
	for i := range results {
		results[i] = make(chan T, 1)
	}
	slots := make(chan struct{}, depth)
	go func() {
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() { results[i] <- fn(ctx, i) }()
		}
	}()
	next = func(i int) (T, error) {
		select {
		case r := <-results[i]:
			<-slots
			return r, nil
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	return next, cancel
}
