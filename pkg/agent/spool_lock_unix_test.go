//go:build unix

package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
)

// Two processes must not drain one spool: the second is refused, told who
// holds it, and gets it once the first lets go (or exits).
func TestSpoolHasOneOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	first, err := agent.OpenSpool(dir)
	require.NoError(t, err)

	_, err = agent.OpenSpool(dir)
	require.ErrorIs(t, err, agent.ErrSpoolInUse)
	require.ErrorContains(t, err, dir)
	require.ErrorContains(t, err, fmt.Sprintf("(pid %d)", os.Getpid()))

	require.NoError(t, first.Close())
	second, err := agent.OpenSpool(dir)
	require.NoError(t, err)
	require.NoError(t, second.Close())
}
