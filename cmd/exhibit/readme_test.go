package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
)

// The README names every collector and every permission each declares, so
// the documented access can never fall behind the code.
func TestREADMEDocumentsEveryPermission(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(b)
	reg := all.Registry()
	for _, typ := range reg.Types() {
		require.Contains(t, readme, "`"+typ+"`", "README does not describe collector %s", typ)
		f, _ := reg.Lookup(typ)
		for _, p := range f.Permissions {
			require.Contains(t, readme, "`"+p+"`", "README does not list %s's permission %s", typ, p)
		}
	}
}
