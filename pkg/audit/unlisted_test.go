package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// hidingStore is a real store whose listing skips one series, as a file
// store does for a directory it cannot read: every other key is listed,
// and the error names what was not (pkg/store/fs proves the fs store
// does this on a real unreadable directory).
type hidingStore struct {
	store.Store
	hidden string
}

func (h hidingStore) List(ctx context.Context, prefix, after string, fn func(string) error) error {
	err := h.Store.List(ctx, prefix, after, func(k string) error {
		if strings.HasPrefix(k, h.hidden) {
			return nil
		}
		return fn(k)
	})
	if err != nil {
		return err
	}
	return &store.UnlistedError{Places: []store.UnlistedPlace{{Prefix: h.hidden, Err: errors.New("permission denied")}}}
}

// TestVerifyGoesOnPastWhatCannotBeListed: a place the store cannot list is
// a problem naming it; everything listed elsewhere is still verified.
func TestVerifyGoesOnPastWhatCannotBeListed(t *testing.T) {
	env := populated(t)
	hidden := "evidence/t/444455556666/"
	rep, err := audit.Verify(t.Context(), hidingStore{Store: env.Store, hidden: hidden}, audit.VerifyOptions{})
	require.NoError(t, err)
	require.False(t, rep.OK())
	require.Equal(t, 5, rep.Snapshots, "the series that was listed is verified whole")
	requireProblem(t, rep, hidden, "could not be listed (permission denied)")
}
