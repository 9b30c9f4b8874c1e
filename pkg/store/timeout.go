package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTimeout is what a call of a Bounded store wraps when the store did not
// answer within the deadline.
var ErrTimeout = errors.New("the store did not answer in time")

// DefaultTimeout is the deadline of one store call when none is configured.
const DefaultTimeout = 30 * time.Second

// Bounded gives every call to a store its own deadline, so that a store
// which accepts connections and never answers (a frozen server) fails a
// call instead of hanging its caller, and says whether the store is
// answering.
//
// A Put or Get must finish within the deadline; a List must not stay silent
// longer than it between keys (the time the caller's fn takes does not
// count), so a long listing that keeps answering is not cut short. The call
// returns at the deadline even when the backend ignores its context (a hung
// network file system): a Put abandoned that way may still land later,
// which the agent recognises as its own bytes when it writes them again.
type Bounded struct {
	st      Store
	timeout time.Duration
	// late is set while the latest call to finish was one the store did not
	// answer in time.
	late atomic.Bool
}

var _ Store = (*Bounded)(nil)

// WithTimeout returns st with a deadline of d (DefaultTimeout if d <= 0) on
// every call.
func WithTimeout(st Store, d time.Duration) *Bounded {
	if d <= 0 {
		d = DefaultTimeout
	}
	return &Bounded{st: st, timeout: d}
}

// Available reports whether the store answers: false from a call it did not
// answer in time until the next call it answers (with any result).
func (b *Bounded) Available() bool { return !b.late.Load() }

// Timeout is the deadline of one call.
func (b *Bounded) Timeout() time.Duration { return b.timeout }

// String names the underlying store.
func (b *Bounded) String() string { return b.st.String() }

// timeoutError names the call that got no answer.
type timeoutError struct {
	op, key string
	after   time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%s %s: no answer within %s: %v", e.op, e.key, e.after, ErrTimeout)
}

func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Put implements Store.
func (b *Bounded) Put(ctx context.Context, key string, data []byte) error {
	return b.call(ctx, "put", key, func(ctx context.Context) error { return b.st.Put(ctx, key, data) })
}

// Get implements Store.
func (b *Bounded) Get(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := b.call(ctx, "get", key, func(ctx context.Context) error {
		var err error
		out, err = b.st.Get(ctx, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// call runs f with the deadline and returns its result, or a timeout error
// once the deadline passes without one.
func (b *Bounded) call(ctx context.Context, op, key string, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeoutCause(ctx, b.timeout, ErrTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		return b.answered(ctx, op, key, err)
	case <-ctx.Done():
		return b.unanswered(ctx, op, key)
	}
}

// List implements Store.
func (b *Bounded) List(ctx context.Context, prefix, startAfter string, fn func(key string) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silence := time.AfterFunc(b.timeout, func() { cancel(ErrTimeout) })
	defer silence.Stop()
	// fn runs under mu, and never after List returned: the caller's state is
	// its own again once List is back, even if the backend goes on.
	var mu sync.Mutex
	returned := false
	defer func() {
		mu.Lock()
		returned = true
		mu.Unlock()
	}()
	done := make(chan error, 1)
	go func() {
		done <- b.st.List(ctx, prefix, startAfter, func(key string) error {
			mu.Lock()
			defer mu.Unlock()
			if returned {
				return ErrTimeout
			}
			if !silence.Stop() {
				return context.Cause(ctx)
			}
			err := fn(key)
			silence.Reset(b.timeout)
			return err
		})
	}()
	select {
	case err := <-done:
		return b.answered(ctx, "list", prefix, err)
	case <-ctx.Done():
		return b.unanswered(ctx, "list", prefix)
	}
}

// answered records that the store answered, unless the answer is only the
// deadline passing inside the backend.
func (b *Bounded) answered(ctx context.Context, op, key string, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), ErrTimeout) {
		return b.unanswered(ctx, op, key)
	}
	if err == nil || ctx.Err() == nil {
		b.late.Store(false)
	}
	return err
}

// unanswered is the result of a call the store did not answer in time, or
// that the caller gave up on (which says nothing of the store).
func (b *Bounded) unanswered(ctx context.Context, op, key string) error {
	if !errors.Is(context.Cause(ctx), ErrTimeout) {
		return fmt.Errorf("%s %s: %w", op, key, context.Cause(ctx))
	}
	b.late.Store(true)
	return &timeoutError{op: op, key: key, after: b.timeout}
}
