package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// An access review must name snapshots the store holds, with the digest
// it recorded: verify reports one that is absent or holds other bytes.
func TestReviewReferencesAreChecked(t *testing.T) {
	env := populated(t)
	ctx := context.Background()
	listKey := store.SnapshotKey(series, 2)
	b, err := env.Store.Get(ctx, listKey)
	require.NoError(t, err)
	refs := map[string]string{
		listKey:                      evidence.Digest(b),           // fine
		store.SnapshotKey(series, 3): evidence.Digest([]byte("x")), // another digest
		store.SnapshotKey(series, 9): evidence.Digest(b),           // not in the store
	}
	rev := &agenttest.Collector{Accounts: []string{"acme"}, Fn: func(collector.Request) (*collector.Result, error) {
		res := &collector.Result{}
		for k, d := range refs {
			res.Records = append(res.Records, evidence.Record{Type: audit.ReviewedRecord, ID: k, Attributes: map[string]any{"sha256": d}})
		}
		return res, nil
	}}
	job := agenttest.Job("review.t", "", rev)
	job.Type = audit.ReviewType
	env.Fill(t, job, 1, time.Hour)

	rep, err := audit.Verify(ctx, env.Store, audit.VerifyOptions{})
	require.NoError(t, err)
	var msgs []string
	for _, p := range rep.Problems {
		msgs = append(msgs, p.String())
	}
	require.Len(t, msgs, 2, msgs)
	require.Contains(t, msgs[0]+msgs[1], "references evidence/t/111122223333/000000000003.json with digest")
	require.Contains(t, msgs[0]+msgs[1], "references evidence/t/111122223333/000000000009.json, which is not in the store")
}
