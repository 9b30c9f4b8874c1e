package deploy

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
)

// The published IAM policy grants exactly the actions the AWS collectors
// declare: nothing missing, nothing extra, and nothing that writes.
func TestCollectorPolicyMatchesDeclaredPermissions(t *testing.T) {
	b, err := os.ReadFile("aws/collector-policy.json")
	require.NoError(t, err)
	var pol struct {
		Statement []struct {
			Effect   string
			Action   []string
			Resource string
		}
	}
	require.NoError(t, json.Unmarshal(b, &pol))
	var granted []string
	for _, st := range pol.Statement {
		require.Equal(t, "Allow", st.Effect)
		granted = append(granted, st.Action...)
	}
	slices.Sort(granted)

	reg := all.Registry()
	var declared []string
	for _, typ := range reg.Types() {
		f, _ := reg.Lookup(typ)
		if f.Provider == "aws" {
			declared = append(declared, f.Permissions...)
		}
	}
	slices.Sort(declared)
	require.Equal(t, slices.Compact(declared), granted)

	readOnly := []string{"Get", "List", "Describe", "GenerateCredentialReport", "AssumeRole"}
	for _, a := range granted {
		_, op, ok := strings.Cut(a, ":")
		require.True(t, ok, a)
		require.True(t, slices.ContainsFunc(readOnly, func(p string) bool { return strings.HasPrefix(op, p) }), "%s is not a read-only action", a)
	}
}
