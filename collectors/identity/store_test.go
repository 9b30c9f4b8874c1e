package identity_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/collectors/identity"
	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

var now = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

// demoMapping is the mapping the demo writes (cmd/exhibit/cmd_demo.go).
const demoMapping = `people:
  - {source: alice@acme.example, github: alice, aws_iam: alice}
  - {source: bob@acme.example, github: bob, aws_iam: bob}
  - {source: carol@acme.example, github: carol, aws_iam: carol}
  - {source: dave@acme.example, github: dave, aws_iam: dave}
  - {source: frank@acme.example, github: frank}
`

var demoService = []collector.ServiceAccount{
	{System: "aws_iam", Account: "ci-deploy", Owner: "platform-team@acme.example", Reason: "deploys build artifacts from CI"},
	{System: "aws_iam", Account: "reporting", Owner: "data-team@acme.example", Reason: "reads generated reports"},
}

// estate is the simulated AWS, GitHub and Okta estate, a real file store
// and a real key, with the real collectors configured against it.
type estate struct {
	env      *agenttest.Env
	reader   *audit.LatestReader
	reg      *collector.Registry
	settings collector.Settings
}

func newEstate(t *testing.T, mapping string) *estate {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDEXHIBITTEST", "AWS_SECRET_ACCESS_KEY": "test-secret-value", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"), "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL": "",
	} {
		t.Setenv(k, v)
	}
	serve := func(h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	path := filepath.Join(dir, "mapping.yaml")
	require.NoError(t, os.WriteFile(path, []byte(mapping), 0o600))
	cat, err := controls.Default()
	require.NoError(t, err)
	reader := &audit.LatestReader{Instances: map[string][]string{
		"okta.access": {"okta.access"}, "github.access": {"github.access"}, "aws.iam": {"aws.iam"}, "aws.identity_center": {"aws.identity_center"},
	}}
	env := agenttest.NewEnvWith(t, now, func(o *agent.Options) { o.Evidence, o.Refs = reader, cat.Refs })
	reader.Store = env.Store
	return &estate{env: env, reader: reader, reg: all.Registry(), settings: collector.Settings{
		Sources: collector.Sources{
			AWS:    awssim.NewAt(now).Source(serve(awssim.NewAt(now))),
			GitHub: ghsim.New(now).Source(serve(ghsim.New(now))),
			Okta:   oktasim.New(now).Source(serve(oktasim.New(now))),
		},
		Thresholds: collector.DefaultThresholds(),
		HTTPClient: collector.NewHTTPClient(nil),
		Identity:   collector.Identity{MappingFile: path, ServiceAccounts: demoService},
	}}
}

// run runs the collector of type typ once, as the agent does.
func (e *estate) run(t *testing.T, typ string) []agent.Written {
	t.Helper()
	f, ok := e.reg.Lookup(typ)
	require.True(t, ok, typ)
	s := e.settings
	s.ID = typ
	c, err := f.New(s)
	require.NoError(t, err)
	w, err := e.env.Agent.Run(t.Context(), agent.Job{ID: typ, Type: typ, Version: f.Version, Provider: f.Provider,
		Schedule: "@daily", Collector: c, Checks: f.Checks, Timeout: 5 * time.Minute})
	require.NoError(t, err)
	e.env.Clock.Advance(time.Minute)
	return w
}

func (e *estate) reconcile(t *testing.T) *evidence.Snapshot {
	t.Helper()
	w := e.run(t, identity.Type)
	require.Len(t, w, 1)
	require.Equal(t, "identity.reconcile/"+strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(e.settings.Sources.Okta.OrgURL, "http://"), ":", "-")), w[0].Series)
	return w[0].Snapshot
}

func findings(s *evidence.Snapshot, check string, status evidence.Result) map[string]evidence.Finding {
	out := map[string]evidence.Finding{}
	for _, f := range s.Findings {
		if f.Check == check && f.Status == status {
			out[f.Resource] = f
		}
	}
	return out
}

var sources = []string{"okta.access", "github.access", "aws.iam", "aws.identity_center"}

func TestReconcileTheSimulatedEstate(t *testing.T) {
	e := newEstate(t, demoMapping)
	for _, typ := range sources {
		for _, w := range e.run(t, typ) {
			require.Equal(t, evidence.StatusComplete, w.Status, w.Key)
		}
	}
	snap := e.reconcile(t)
	require.Equal(t, evidence.StatusComplete, snap.Status, "%+v", snap.Errors)
	require.Empty(t, findings(snap, identity.CheckLeaverAccess, evidence.Error))
	require.Empty(t, findings(snap, identity.CheckUnownedAccount, evidence.Error))

	// frank, deprovisioned in Okta, kept GitHub and Identity Center access.
	leavers := findings(snap, identity.CheckLeaverAccess, evidence.Fail)
	require.Len(t, leavers, 2, "%v", leavers)
	gh := leavers["github:acme/frank"]
	require.Contains(t, gh.Reason, "frank@acme.example was deprovisioned in Okta 40 days ago")
	require.Contains(t, gh.Reason, "GitHub account frank (org acme)")
	icf := leavers["arn:aws:identitystore:::user/9a6710a0-0006-4a11-8a11-000000000006"]
	require.Contains(t, icf.Reason, "frank@acme.example was deprovisioned in Okta 40 days ago")
	require.Contains(t, icf.Reason, "ReadOnly in 111122223333")
	require.Equal(t, "identity_center_identity", icf.Observed["matched_by"], "joined by the SCIM external id, no mapping row")
	require.Equal(t, []string{"hipaa:164.308(a)(3)(ii)(C)", "hipaa:164.312(a)(1)", "soc2:CC6.2", "soc2:CC6.3"}, gh.Controls)

	// Accounts nobody owns: mallory (member), contractor-eve (outside).
	unowned := findings(snap, identity.CheckUnownedAccount, evidence.Fail)
	require.Contains(t, unowned, "github:acme/mallory")
	require.Contains(t, unowned, "github:acme/contractor-eve")
	require.Len(t, unowned, 2, "%v", unowned)
	owned := findings(snap, identity.CheckUnownedAccount, evidence.Pass)
	ci := owned["arn:aws:iam::111122223333:user/ci-deploy"]
	require.Equal(t, "platform-team@acme.example", ci.Observed["owner"])
	require.Equal(t, "alice@acme.example", owned["github:acme/alice"].Observed["person"])
	require.Contains(t, findings(snap, identity.CheckLeaverAccess, evidence.Pass), "arn:aws:iam::111122223333:user/alice")
	erin := owned["arn:aws:iam::444455556666:user/erin"]
	require.Equal(t, "iam_person_tag", erin.Observed["matched_by"], "erin's staging user is tagged person=erin@acme.example")
	require.Equal(t, "erin@acme.example", erin.Observed["person"])

	// The snapshot names every input it joined, by series, seq and the
	// digest of the stored bytes.
	inputs := 0
	for _, r := range snap.Records {
		if r.Type != "identity.input" {
			continue
		}
		inputs++
		series, seq := r.Attributes["series"].(string), r.Attributes["seq"].(int64)
		b, err := e.env.Store.Get(t.Context(), store.SnapshotKey(series, seq))
		require.NoError(t, err)
		require.Equal(t, evidence.Digest(b), r.Attributes["sha256"], series)
		require.Nil(t, r.Attributes["error"])
	}
	require.Equal(t, 6, inputs, "okta, github, two IAM accounts, two Identity Center accounts")

	// Its own series verifies like any other.
	rep, err := audit.Verify(t.Context(), e.env.Store, audit.VerifyOptions{})
	require.NoError(t, err)
	require.True(t, rep.OK(), "%v", rep.Problems)
}

func TestAmbiguousMappingIsAnError(t *testing.T) {
	e := newEstate(t, demoMapping+"  - {source: bob@acme.example, github: frank}\n")
	for _, typ := range sources {
		e.run(t, typ)
	}
	snap := e.reconcile(t)
	for _, chk := range []string{identity.CheckLeaverAccess, identity.CheckUnownedAccount} {
		f, ok := findings(snap, chk, evidence.Error)["github:acme/frank"]
		require.True(t, ok, chk)
		require.Contains(t, f.Reason, "matches 2 people (bob@acme.example, frank@acme.example)")
	}
	require.NotContains(t, findings(snap, identity.CheckLeaverAccess, evidence.Fail), "github:acme/frank", "never guessed")
}

func TestInputsThatDoNotVerifyAreRefused(t *testing.T) {
	e := newEstate(t, demoMapping)
	for _, typ := range sources {
		e.run(t, typ)
	}
	// An insider rewrites github.access's snapshot to drop frank: the
	// bytes no longer match their signature.
	key := store.SnapshotKey("github.access/acme", 1)
	p := filepath.Join(e.env.Dir, "evidence", filepath.FromSlash(key))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	forged := strings.ReplaceAll(string(b), `"acme/frank"`, `"acme/frankx"`)
	require.NotEqual(t, string(b), forged)
	require.NoError(t, os.Chmod(p, 0o600))
	require.NoError(t, os.WriteFile(p, []byte(forged), 0o600))

	snap := e.reconcile(t)
	require.Equal(t, evidence.StatusPartial, snap.Status)
	require.Contains(t, snap.Errors[0].Message, key)
	require.Contains(t, snap.Errors[0].Message, "does not verify")
	for _, chk := range []string{identity.CheckLeaverAccess, identity.CheckUnownedAccount} {
		f, ok := findings(snap, chk, evidence.Error)["identity-source:github"]
		require.True(t, ok, chk)
		require.Contains(t, f.Reason, key)
	}
	for _, f := range snap.Findings {
		require.False(t, strings.HasPrefix(f.Resource, "github:"), "no GitHub account is judged on forged evidence: %s %s", f.Check, f.Resource)
	}
	// The other systems are still judged.
	require.Contains(t, findings(snap, identity.CheckLeaverAccess, evidence.Fail), "arn:aws:identitystore:::user/9a6710a0-0006-4a11-8a11-000000000006")
}

func TestInputWithoutSignatureIsRefused(t *testing.T) {
	e := newEstate(t, demoMapping)
	for _, typ := range sources {
		e.run(t, typ)
	}
	key := store.SnapshotKey("okta.access/"+strings.ReplaceAll(strings.TrimPrefix(e.settings.Sources.Okta.OrgURL, "http://"), ":", "-"), 1)
	require.NoError(t, os.Remove(filepath.Join(e.env.Dir, "evidence", filepath.FromSlash(store.SignatureKey(key)))))
	snap := e.reconcile(t)
	require.Equal(t, evidence.StatusPartial, snap.Status)
	require.Len(t, snap.Findings, 2, "nothing is judged without the people")
	for _, f := range snap.Findings {
		require.Equal(t, evidence.Error, f.Status)
		require.Contains(t, f.Reason, key+": no signature is stored beside it")
	}
}

func TestMissingOrFailedSourcesAreErrors(t *testing.T) {
	t.Run("never collected", func(t *testing.T) {
		e := newEstate(t, demoMapping)
		e.run(t, "okta.access")
		snap := e.reconcile(t)
		for _, sys := range []string{"github", "aws_iam", "identity_center"} {
			f, ok := findings(snap, identity.CheckLeaverAccess, evidence.Error)["identity-source:"+sys]
			require.True(t, ok, sys)
			require.Contains(t, f.Reason, "no snapshot in the store yet")
		}
		require.Empty(t, findings(snap, identity.CheckLeaverAccess, evidence.Pass))
	})
	t.Run("no identity source", func(t *testing.T) {
		e := newEstate(t, demoMapping)
		e.run(t, "github.access")
		snap := e.reconcile(t)
		for _, f := range snap.Findings {
			require.Equal(t, evidence.Error, f.Status, "%s %s", f.Check, f.Resource)
		}
		require.Len(t, snap.Findings, 2)
		require.NotEqual(t, evidence.StatusComplete, snap.Status)
	})
	t.Run("no okta.access configured", func(t *testing.T) {
		e := newEstate(t, demoMapping)
		e.run(t, "github.access")
		delete(e.reader.Instances, "okta.access")
		snap := e.reconcile(t)
		require.Equal(t, evidence.StatusPartial, snap.Status)
		require.Len(t, snap.Findings, 2)
		for _, f := range snap.Findings {
			require.Equal(t, evidence.Error, f.Status)
			require.Contains(t, f.Reason, "no okta.access collector is configured")
		}
	})
	t.Run("latest run failed", func(t *testing.T) {
		e := newEstate(t, demoMapping)
		for _, typ := range sources {
			e.run(t, typ)
		}
		// GitHub answers nothing but errors on the next run.
		broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) }))
		t.Cleanup(broken.Close)
		gh := *e.settings.Sources.GitHub
		gh.BaseURL = broken.URL + "/"
		e.settings.Sources.GitHub = &gh
		w := e.run(t, "github.access")
		require.NotEqual(t, evidence.StatusComplete, w[0].Status)
		snap := e.reconcile(t)
		f, ok := findings(snap, identity.CheckLeaverAccess, evidence.Error)["identity-source:github"]
		require.True(t, ok)
		require.Contains(t, f.Reason, "github.access/acme seq 2 is "+string(w[0].Status))
		require.NotContains(t, findings(snap, identity.CheckLeaverAccess, evidence.Fail), "github:acme/frank", "the older snapshot is not used in its place")
	})
}
