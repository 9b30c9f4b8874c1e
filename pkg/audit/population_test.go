package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// hourlyStore holds n hourly snapshots of one series from t0.
func hourlyStore(t testing.TB, n int) *agenttest.Env {
	env := agenttest.NewEnv(t, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
	env.Fill(t, agenttest.Job("t", "@hourly", c), n, time.Hour)
	return env
}

// The period's snapshots come back in key order with their findings; the
// records and calls are left in the store.
func TestLoadPeriod(t *testing.T) {
	env := hourlyStore(t, 50)

	members, err := audit.LoadPeriod(t.Context(), env.Store, audit.Period{From: t0, To: t0.Add(50 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, members, 50)
	for i, m := range members {
		require.Equal(t, int64(i+1), m.Snapshot.Seq)
		if i > 0 {
			require.Less(t, members[i-1].Key, m.Key)
		}
		require.NotEmpty(t, m.Snapshot.Findings)
		require.Nil(t, m.Snapshot.Records)
		require.Nil(t, m.Snapshot.Calls)
	}

	part, err := audit.LoadPeriod(t.Context(), env.Store, audit.Period{From: t0.Add(10 * time.Hour), To: t0.Add(20 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, part, 10)
	require.Equal(t, int64(11), part[0].Snapshot.Seq)
}

// missing answers "not found" for some snapshots, as a store does whose
// index names a snapshot that is gone.
type missing struct {
	store.Store
	keys map[string]bool
}

func (m missing) Get(ctx context.Context, key string) ([]byte, error) {
	if m.keys[key] {
		return nil, store.ErrNotExist
	}
	return m.Store.Get(ctx, key)
}

// A snapshot that cannot be read is an error naming it, never a member
// quietly left out; with several, every one is named.
func TestLoadPeriodNamesTheAbsentSnapshot(t *testing.T) {
	env := hourlyStore(t, 40)
	all, err := audit.LoadPeriod(t.Context(), env.Store, audit.Period{From: t0, To: t0.Add(40 * time.Hour)})
	require.NoError(t, err)

	st := missing{Store: env.Store, keys: map[string]bool{all[17].Key: true, all[33].Key: true}}
	_, err = audit.LoadPeriod(t.Context(), st, audit.Period{From: t0, To: t0.Add(40 * time.Hour)})
	require.ErrorContains(t, err, "snapshot "+all[17].Key+" is listed in the date index but absent")
	require.ErrorContains(t, err, "snapshot "+all[33].Key+" is listed in the date index but absent")
}
