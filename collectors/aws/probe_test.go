package awscollector

import (
	"maps"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func probeAll(t *testing.T, sim *awssim.Sim) map[string][]collector.ProbeResult {
	t.Helper()
	isolateEnv(t)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	out := map[string][]collector.ProbeResult{}
	for _, f := range Factories() {
		c, err := f.New(collector.Settings{
			ID: f.Type, Sources: collector.Sources{AWS: sim.Source(srv.URL)}, Thresholds: collector.DefaultThresholds(),
			HTTPClient: collector.NewHTTPClient(nil), Logger: zap.NewNop(),
		})
		require.NoError(t, err)
		p, ok := c.(collector.Prober)
		require.True(t, ok, "%s offers no probe", f.Type)
		out[f.Type] = p.Probe(t.Context(), f.Permissions)
	}
	return out
}

// TestProbeSimulatedEstate: every declared action of every AWS collector is
// reported for every account, the probed ones succeed against the
// simulator, and the rest say why they were not probed — never ok.
func TestProbeSimulatedEstate(t *testing.T) {
	sim := awssim.NewAt(simNow)
	results := probeAll(t, sim)
	for typ, rs := range results {
		f := factoryOf(t, typ)
		for _, acct := range slices.Sorted(maps.Keys(sim.Accounts)) {
			for _, p := range f.Permissions {
				if p == "organizations:ListAccounts" {
					continue
				}
				var got *collector.ProbeResult
				for i := range rs {
					if rs[i].Scope == "account "+acct && rs[i].Permission == p {
						got = &rs[i]
					}
				}
				require.NotNil(t, got, "%s: %s in account %s not reported", typ, p, acct)
				require.False(t, got.Failed(), "%s: %+v", typ, *got)
				if _, probed := probeCalls[p]; !probed && p != "sts:GetCallerIdentity" && p != "ec2:DescribeRegions" && p != "sts:AssumeRole" {
					require.Equal(t, collector.ProbeNotProbed, got.Status, "%s %s", typ, p)
					require.NotEmpty(t, got.Detail)
				}
			}
		}
	}
	// Each configured region was checked.
	var regions int
	for _, r := range results["aws.kms"] {
		if r.Permission == "region eu-west-1" || r.Permission == "region us-east-1" {
			require.Equal(t, collector.ProbeOK, r.Status)
			regions++
		}
	}
	require.Equal(t, 2*len(sim.Accounts), regions)
}

func TestProbeDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	acct := slices.Sorted(maps.Keys(sim.Accounts))[1]
	sim.Deny(acct, "", "ListKeys")
	results := probeAll(t, sim)
	var denied []collector.ProbeResult
	for _, rs := range results {
		for _, r := range rs {
			if r.Failed() {
				denied = append(denied, r)
			}
		}
	}
	// aws.kms alone declares kms:ListKeys.
	require.Len(t, denied, 1, "%+v", denied)
	require.Equal(t, collector.ProbeDenied, denied[0].Status)
	require.Equal(t, "kms:ListKeys", denied[0].Permission)
	require.Equal(t, "account "+acct, denied[0].Scope)
	require.Contains(t, denied[0].Detail, "AccessDeniedException")
}

func TestProbeAssumeRoleDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	acct := slices.Sorted(maps.Keys(sim.Accounts))[1]
	sim.Deny("", "", "AssumeRole")
	rs := probeAll(t, sim)["aws.iam"]
	var assume *collector.ProbeResult
	for i, r := range rs {
		if r.Scope == "account "+acct && r.Permission == "sts:AssumeRole" {
			assume = &rs[i]
		}
		if r.Scope == "account "+acct && r.Permission == "iam:GetCredentialReport" {
			require.Equal(t, collector.ProbeNotProbed, r.Status)
		}
	}
	require.NotNil(t, assume)
	require.Equal(t, collector.ProbeDenied, assume.Status, "%+v", *assume)
}

func factoryOf(t *testing.T, typ string) collector.Factory {
	for _, f := range Factories() {
		if f.Type == typ {
			return f
		}
	}
	t.Fatalf("no factory %s", typ)
	return collector.Factory{}
}
