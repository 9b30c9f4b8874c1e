package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
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
	require.Equal(t, declaredAWSPermissions(), granted)
	requireReadOnly(t, granted)
}

// declaredAWSPermissions is every IAM action the registered AWS collectors
// declare, sorted, each once.
func declaredAWSPermissions() []string {
	reg := all.Registry()
	var declared []string
	for _, typ := range reg.Types() {
		f, _ := reg.Lookup(typ)
		if f.Provider == "aws" {
			declared = append(declared, f.Permissions...)
		}
	}
	slices.Sort(declared)
	return slices.Compact(declared)
}

// requireReadOnly fails on any action that is not a read.
func requireReadOnly(t *testing.T, actions []string) {
	t.Helper()
	readOnly := []string{"Get", "List", "Describe", "GenerateCredentialReport", "AssumeRole"}
	for _, a := range actions {
		_, op, ok := strings.Cut(a, ":")
		require.True(t, ok, a)
		require.True(t, slices.ContainsFunc(readOnly, func(p string) bool { return strings.HasPrefix(op, p) }), "%s is not a read-only action", a)
	}
}

// The plain Kubernetes manifests install a working agent.
func TestKubernetesManifests(t *testing.T) {
	b, err := os.ReadFile("kubernetes/exhibit.yaml")
	require.NoError(t, err)
	checkInstall(t, decodeAll(t, b), 1)
}

// checkInstall holds what any install of the agent on Kubernetes must get
// right: a valid embedded configuration, probes on the daemon's endpoints,
// an unprivileged container, a persistent spool per replica at the
// configured spool_dir, a grace period longer than the daemon's, and
// metrics reachable on every replica.
func checkInstall(t *testing.T, docs []map[string]any, replicas int) {
	t.Helper()
	kinds := map[string]map[string]any{}
	for _, doc := range docs {
		kind, _ := doc["kind"].(string)
		require.NotContains(t, kinds, kind, "one %s expected", kind)
		kinds[kind] = doc
	}
	for _, k := range []string{"ServiceAccount", "ConfigMap", "StatefulSet", "Service"} {
		require.Contains(t, kinds, k)
	}
	name := func(doc map[string]any) any { return dig(t, doc, "metadata")["name"] }

	data := kinds["ConfigMap"]["data"].(map[string]any)["exhibit.yaml"].(string)
	env := map[string]string{"GITHUB_TOKEN": "t", "OKTA_API_TOKEN": "t"}
	cfg, err := config.Parse([]byte(data), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, all.Registry())
	require.NoError(t, err)

	sts := kinds["StatefulSet"]
	require.EqualValues(t, replicas, dig(t, sts, "spec")["replicas"])
	spec := dig(t, sts, "spec", "template", "spec")
	require.Equal(t, name(kinds["ServiceAccount"]), spec["serviceAccountName"])
	c := spec["containers"].([]any)[0].(map[string]any)
	require.Equal(t, []any{"run", "-c", "/etc/exhibit/exhibit.yaml"}, c["args"])
	require.Equal(t, "/healthz", dig(t, c, "livenessProbe", "httpGet")["path"])
	require.Equal(t, "/readyz", dig(t, c, "readinessProbe", "httpGet")["path"])
	sc := c["securityContext"].(map[string]any)
	require.Equal(t, true, sc["readOnlyRootFilesystem"])
	require.Equal(t, false, sc["allowPrivilegeEscalation"])
	require.Equal(t, true, dig(t, spec, "securityContext")["runAsNonRoot"])
	require.Greater(t, spec["terminationGracePeriodSeconds"].(int), int(cfg.Shutdown.Grace.Seconds()))
	if limit, ok := dig(t, c, "resources", "limits")["memory"].(string); ok {
		// The garbage collector keeps the heap under memory_limit rather
		// than let it double when every @daily collector fires at once;
		// the container's limit must leave room above it for the
		// executable's pages and the runtime's own.
		soft := cfg.MemoryLimitBytes()
		require.NotZero(t, soft, "the container's memory is limited to %s: memory_limit must be set below it", limit)
		require.LessOrEqual(t, soft+96<<20, quantity(t, limit), "memory_limit %s leaves less than 96 MiB below the container's %s", cfg.MemoryLimit, limit)
	}

	mounts := map[string]string{}
	for _, m := range c["volumeMounts"].([]any) {
		m := m.(map[string]any)
		mounts[m["name"].(string)] = m["mountPath"].(string)
	}
	require.Equal(t, "/etc/exhibit", mounts["config"])
	var configMap any
	for _, v := range spec["volumes"].([]any) {
		v := v.(map[string]any)
		require.NotEqual(t, "spool", v["name"], "the spool must not be a volume shared by all replicas")
		if v["name"] == "config" {
			configMap = dig(t, v, "configMap")["name"]
		}
	}
	require.Equal(t, name(kinds["ConfigMap"]), configMap)
	// The spool outlives the pod and belongs to one replica.
	require.Equal(t, cfg.SpoolDir, mounts["spool"])
	claims := dig(t, sts, "spec")["volumeClaimTemplates"].([]any)
	require.Len(t, claims, 1)
	claim := claims[0].(map[string]any)
	require.Equal(t, "spool", name(claim))
	require.Equal(t, []any{"ReadWriteOnce"}, dig(t, claim, "spec")["accessModes"])

	// Metrics: the container port is the one the daemon listens on, and a
	// headless Service lists every replica, ready or not.
	_, port, err := net.SplitHostPort(cfg.Listen)
	require.NoError(t, err)
	ports := c["ports"].([]any)
	require.Len(t, ports, 1)
	require.Equal(t, port, fmt.Sprint(ports[0].(map[string]any)["containerPort"]))
	svc := dig(t, kinds["Service"], "spec")
	require.Equal(t, "None", svc["clusterIP"])
	require.Equal(t, true, svc["publishNotReadyAddresses"])
	require.Equal(t, name(kinds["Service"]), dig(t, sts, "spec")["serviceName"])
	require.Equal(t, dig(t, sts, "spec", "selector")["matchLabels"], svc["selector"])
	require.Subset(t, dig(t, sts, "spec", "template", "metadata")["labels"], svc["selector"])
}

func decodeAll(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			require.ErrorIs(t, err, io.EOF)
			return docs
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
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

// quantity reads a Kubernetes memory quantity with a binary suffix.
func quantity(t *testing.T, q string) int64 {
	t.Helper()
	for suffix, unit := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			require.NoError(t, err, q)
			return v * unit
		}
	}
	t.Fatalf("memory quantity %q: want a whole number of Ki, Mi or Gi", q)
	return 0
}
