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
const readAheadBytes = 16 << 20

// readAhead runs fn(0), fn(1)… in the background, at most depth of them
// ahead of the consumer, which takes the results in order with next(0),
// next(1)…; next fails only when ctx ends first. stop ends the background
// work (calls under way see their context cancelled).
//
// A call that has read its snapshot calls admit with the context it was
// given and the snapshot's size before parsing it. Calls are admitted in
// order, each once the sizes admitted and not yet taken, its own included,
// fit budget, or nothing else is admitted (a snapshot larger than budget
// is parsed alone). A call that returns without admit is admitted with
// size 0 when it returns, so that the next may go. And no call starts
// while the bytes read and not yet taken, with each read under way counted
// at the size of the last snapshot read, would exceed budget (unless
// nothing is read or being read; and one at a time until a first size is
// known): along a series of large snapshots, those read and waiting their
// turn count too.
func readAhead[T any](ctx context.Context, n, depth int, budget int64, fn func(context.Context, int) T) (next func(int) (T, error), stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	// Result i goes to ring[i%depth]: the producer starts i only once
	// next(i-depth) has taken its result, so the slot is free.
	type result struct {
		v    T
		size int64 // admitted, released when taken
	}
	ring := make([]chan result, depth)
	for i := range ring {
		ring[i] = make(chan result, 1)
	}
	g := &gate{budget: budget, last: -1}
	g.cond = sync.NewCond(&g.mu)
	stopWaking := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		g.cond.Broadcast()
		g.mu.Unlock()
	})
	slots := make(chan struct{}, depth)
	go func() {
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if !g.start(ctx) {
				return
			}
			go func() {
				t := &ticket{g: g, i: i}
				v := fn(context.WithValue(ctx, ticketKey{}, t), i)
				if !t.admitted {
					_ = t.admit(ctx, 0)
				}
				ring[i%depth] <- result{v, t.size}
			}()
		}
	}()
	next = func(i int) (T, error) {
		select {
		case r := <-ring[i%depth]:
			g.release(r.size)
			<-slots
			return r.v, nil
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	return next, func() { stopWaking(); cancel() }
}

// gate admits readAhead's calls in order within a budget of bytes.
type gate struct {
	mu      sync.Mutex
	cond    *sync.Cond
	budget  int64
	used    int64 // admitted and not yet taken
	waiting int64 // read and not yet admitted
	reading int64 // calls started that have not told their size
	last    int64 // the size the last call told; -1 before any has
	turn    int   // the next call to admit
}

// start waits until one more call may start reading, and counts it; false
// when ctx ends first.
func (g *gate) start(ctx context.Context) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.used+g.waiting+g.reading > 0 && (g.last < 0 || g.used+g.waiting+(g.reading+1)*g.last > g.budget) {
		if ctx.Err() != nil {
			return false
		}
		g.cond.Wait()
	}
	g.reading++
	return true
}

func (g *gate) release(size int64) {
	g.mu.Lock()
	g.used -= size
	g.cond.Broadcast()
	g.mu.Unlock()
}

// ticket is one call's place at the gate.
type ticket struct {
	g        *gate
	i        int
	told     bool // its size, to the gate
	admitted bool
	size     int64
}

type ticketKey struct{}

func (t *ticket) admit(ctx context.Context, size int64) error {
	g := t.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if !t.told {
		t.told = true
		g.reading--
		g.waiting += size
		g.last = size
		g.cond.Broadcast()
	}
	for g.turn != t.i || (g.used > 0 && g.used+size > g.budget) {
		if err := ctx.Err(); err != nil {
			return err
		}
		g.cond.Wait()
	}
	g.turn++
	g.waiting -= size
	g.used += size
	t.admitted, t.size = true, size
	g.cond.Broadcast()
	return nil
}

// admit waits, within a call of readAhead, until a snapshot of size bytes
// may be parsed (see readAhead); elsewhere it returns at once.
func admit(ctx context.Context, size int) error {
	t, _ := ctx.Value(ticketKey{}).(*ticket)
	if t == nil || t.admitted {
		return nil
	}
	return t.admit(ctx, int64(size))
}
