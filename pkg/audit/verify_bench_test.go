package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// slow adds a round trip's latency to every read, as an object store
// across a network does.
type slow struct {
	store.Store
	rtt time.Duration
}

func (s slow) Get(ctx context.Context, key string) ([]byte, error) {
	time.Sleep(s.rtt)
	return s.Store.Get(ctx, key)
}

// BenchmarkVerifyRemoteStore verifies 200 snapshots behind a 2 ms round
// trip: what read-ahead saves on S3.
func BenchmarkVerifyRemoteStore(b *testing.B) {
	env := hourlyStore(b, 200)
	st := slow{Store: env.Store, rtt: 2 * time.Millisecond}
	for b.Loop() {
		rep, err := audit.Verify(b.Context(), st, audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Problems)
		}
	}
}
