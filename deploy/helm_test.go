package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

const chart = "helm/exhibit"

// helm runs the helm binary and returns its output and error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testtool.Require(t, "helm"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// The chart passes helm's strict lint and, with its defaults and with
// several replicas, renders an install that meets the same bar as the
// plain manifests.
func TestHelmChart(t *testing.T) {
	out, err := helm(t, "lint", "--strict", chart)
	require.NoError(t, err, out)

	for _, replicas := range []int{1, 3} {
		out, err := helm(t, "template", "exhibit", chart, "--set", "replicas="+strconv.Itoa(replicas))
		require.NoError(t, err, out)
		docs := decodeAll(t, []byte(out))
		checkInstall(t, docs, replicas)
		checkSharding(t, docs, replicas)
	}
}

// checkSharding holds what lets the replicas divide the series: the agent's
// configuration names as many replicas as the StatefulSet runs, and each
// container learns its pod's ordinal.
func checkSharding(t *testing.T, docs []map[string]any, replicas int) {
	t.Helper()
	for _, doc := range docs {
		switch doc["kind"] {
		case "ConfigMap":
			data := dig(t, doc, "data")["exhibit.yaml"].(string)
			env := map[string]string{"GITHUB_TOKEN": "t", "OKTA_API_TOKEN": "t"}
			cfg, err := config.Parse([]byte(data), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, all.Registry())
			require.NoError(t, err)
			require.Equal(t, replicas, cfg.Replicas, "the agent knows how many replicas share the store")
		case "StatefulSet":
			require.EqualValues(t, replicas, dig(t, doc, "spec")["replicas"])
			c := dig(t, doc, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
			var ordinal map[string]any
			for _, e := range c["env"].([]any) {
				if e := e.(map[string]any); e["name"] == config.ReplicaEnv {
					ordinal = e
				}
			}
			require.NotNil(t, ordinal, "the container is given %s", config.ReplicaEnv)
			require.Equal(t, "metadata.labels['apps.kubernetes.io/pod-index']", dig(t, ordinal, "valueFrom", "fieldRef")["fieldPath"])
		}
	}
}

// The README's values for a sharded install render a chart whose agent
// reads them as written.
func TestHelmChartREADMEShardedValues(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(values, []byte(readmeBlock(t, "sharded-values")), 0o600))
	out, err := helm(t, "template", "exhibit", chart, "-f", values)
	require.NoError(t, err, out)
	docs := decodeAll(t, []byte(out))
	checkInstall(t, docs, 3)
	checkSharding(t, docs, 3)
	for _, doc := range docs {
		if doc["kind"] == "ConfigMap" {
			require.Contains(t, dig(t, doc, "data")["exhibit.yaml"], "standby_delay: 10m")
		}
	}
}

// The user's own environment variables are kept beside the ordinal.
func TestHelmChartKeepsUserEnvBesideTheOrdinal(t *testing.T) {
	out, err := helm(t, "template", "exhibit", chart, "--set", "replicas=2",
		"--set", "env[0].name=AWS_REGION", "--set", "env[0].value=eu-west-1")
	require.NoError(t, err, out)
	docs := decodeAll(t, []byte(out))
	checkSharding(t, docs, 2)
	for _, doc := range docs {
		if doc["kind"] == "StatefulSet" {
			c := dig(t, doc, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
			require.Contains(t, c["env"], map[string]any{"name": "AWS_REGION", "value": "eu-west-1"})
		}
	}
}

// What the user puts under `config` reaches the agent unchanged, beside the
// two fields the chart owns.
func TestHelmChartPassesConfigThrough(t *testing.T) {
	out, err := helm(t, "template", "exhibit", chart,
		"--set", "config.thresholds.access_key_max_age_days=45",
		"--set", "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/exhibit-agent",
		"--set", "envFromSecret=")
	require.NoError(t, err, out)
	docs := decodeAll(t, []byte(out))
	checkInstall(t, docs, 1)
	for _, doc := range docs {
		switch doc["kind"] {
		case "ConfigMap":
			require.Contains(t, dig(t, doc, "data")["exhibit.yaml"], "access_key_max_age_days: 45")
		case "ServiceAccount":
			require.Equal(t, "arn:aws:iam::111122223333:role/exhibit-agent", dig(t, doc, "metadata", "annotations")["eks.amazonaws.com/role-arn"])
		case "StatefulSet":
			c := dig(t, doc, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
			require.NotContains(t, c, "envFrom", "no Secret named, none referenced")
		}
	}
}

// Values the chart cannot honour are refused at render time, saying which
// and why, rather than deployed.
func TestHelmChartRefusesBadValues(t *testing.T) {
	for name, tc := range map[string]struct {
		set  []string
		want string
	}{
		"spool_dir set":   {[]string{"config.spool_dir=/tmp/spool"}, "config.spool_dir is set by the chart"},
		"listen set":      {[]string{"config.listen=0.0.0.0:1"}, "config.listen is set by the chart"},
		"replicas set":    {[]string{"config.replicas=2"}, "config.replicas is set by the chart; remove it (it is the StatefulSet's replicas, set with .Values.replicas)"},
		"no config":       {[]string{"config=null"}, "config is required"},
		"no account name": {[]string{"serviceAccount.create=false"}, "serviceAccount.name is required"},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", "exhibit", chart}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			out, err := helm(t, args...)
			require.Error(t, err, out)
			require.Contains(t, out, tc.want)
		})
	}
}
