package deploy

import (
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/pkg/config"
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

// The Kubernetes manifests' embedded configuration is valid, the probes hit
// the daemon's endpoints, and the container runs unprivileged.
func TestKubernetesManifests(t *testing.T) {
	f, err := os.Open("kubernetes/exhibit.yaml")
	require.NoError(t, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	kinds := map[string]map[string]any{}
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		kinds[doc["kind"].(string)] = doc
	}
	for _, k := range []string{"ServiceAccount", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"} {
		require.Contains(t, kinds, k)
	}

	data := kinds["ConfigMap"]["data"].(map[string]any)["exhibit.yaml"].(string)
	env := map[string]string{"GITHUB_TOKEN": "t", "OKTA_API_TOKEN": "t"}
	cfg, err := config.Parse([]byte(data), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.NoError(t, cfg.Validate(all.Registry()))

	spec := dig(t, kinds["Deployment"], "spec", "template", "spec")
	c := spec["containers"].([]any)[0].(map[string]any)
	require.Equal(t, "/healthz", dig(t, c, "livenessProbe", "httpGet")["path"])
	require.Equal(t, "/readyz", dig(t, c, "readinessProbe", "httpGet")["path"])
	sc := c["securityContext"].(map[string]any)
	require.Equal(t, true, sc["readOnlyRootFilesystem"])
	require.Equal(t, false, sc["allowPrivilegeEscalation"])
	require.Equal(t, true, dig(t, spec, "securityContext")["runAsNonRoot"])
	// The spool outlives the pod, and the grace period outlasts the daemon's.
	require.Contains(t, data, "spool_dir: /var/lib/exhibit/spool")
	require.Greater(t, spec["terminationGracePeriodSeconds"].(int), int(cfg.Shutdown.Grace.Seconds()))
}

func dig(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		require.True(t, ok, "no %s", p)
		m = next
	}
	return m
}
