package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// loadAll parses every snapshot under a store root.
func loadAll(t *testing.T, root string) map[string]*evidence.Snapshot {
	t.Helper()
	out := map[string]*evidence.Snapshot{}
	require.NoError(t, filepath.WalkDir(filepath.Join(root, "evidence"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		s, err := evidence.Parse(b)
		require.NoError(t, err, rel)
		out[filepath.ToSlash(rel)] = s
		return nil
	}))
	return out
}

func TestDemoLeavesVerifiedEvidence(t *testing.T) {
	dir := t.TempDir()
	r := exhibit(t, dir, nil, "demo", "--dir", "demo")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "0 problem(s)")
	require.Contains(t, r.stdout, "hipaa:164.312(a)(2)(iii)")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the demo writes only under --dir")
	r = exhibit(t, dir, nil, "verify", "--store", "file://demo/evidence")
	require.Equal(t, 0, r.code, r.stdout)

	root := filepath.Join(dir, "demo", "evidence")
	snaps := loadAll(t, root)
	types := map[string]bool{}
	for key, s := range snaps {
		types[s.Collector.Type] = true
		require.Equal(t, evidence.StatusComplete, s.Status, key)
		if s.Collector.Type == "identity.reconcile" {
			// It calls no API: its provenance is the stored snapshots it
			// joined, each named by series, seq and digest.
			inputs := 0
			for _, r := range s.Records {
				if r.Type == "identity.input" {
					inputs++
					require.Len(t, r.Attributes["sha256"], 64, "%s: input %s", key, r.ID)
				}
			}
			require.Equal(t, 6, inputs, key)
			continue
		}
		require.NotEmpty(t, s.Calls, "%s records the provenance of its API calls", key)
		withID := 0
		for _, c := range s.Calls {
			if c.RequestID != "" {
				withID++
			}
		}
		require.NotZero(t, withID, "%s: calls carry the provider's request ids", key)
	}
	for _, typ := range []string{"aws.iam", "aws.s3", "aws.cloudtrail", "aws.dynamodb", "aws.kms", "aws.ebs", "aws.rds", "aws.backup", "aws.network", "aws.logging", "aws.threat_detection", "aws.identity_center", "github.pull_requests", "github.access", "github.vulnerabilities", "okta.access", "identity.reconcile"} {
		require.True(t, types[typ], "the demo covers %s", typ)
	}

	// Planted problems fail with exactly the catalog's references.
	want := []struct {
		check, resourcePart string
		controls            []string
	}{
		{"aws.iam.root_mfa", ":root", []string{"hipaa:164.312(a)(1)", "hipaa:164.312(d)", "soc2:CC6.1", "soc2:CC6.6"}},
		{"aws.dynamodb.pitr", ":table/phi-claims", []string{"hipaa:164.308(a)(7)(ii)(A)", "hipaa:164.308(a)(7)(ii)(B)", "soc2:A1.2", "soc2:CC7.5"}},
		{"aws.kms.rotation", ":key/0987dcba-09fe-87dc-65ba-ab0987654321", []string{"hipaa:164.312(a)(2)(iv)", "soc2:CC6.1"}},
		{"aws.ebs.encryption_by_default", "arn:aws:ec2:eu-west-1:111122223333:ebs-encryption-by-default", []string{"hipaa:164.312(a)(2)(iv)", "soc2:CC6.1"}},
		{"aws.ebs.volume_encrypted", ":volume/vol-0b2c3d4e5f6a70002", []string{"hipaa:164.312(a)(2)(iv)", "soc2:CC6.1"}},
		{"aws.ebs.snapshot_public", "::snapshot/snap-0b2c3d4e5f6a70002", []string{"hipaa:164.312(a)(1)", "soc2:CC6.1", "soc2:CC6.6"}},
		{"aws.ebs.snapshot_encrypted", "::snapshot/snap-0c3d4e5f6a7b80003", []string{"hipaa:164.312(a)(2)(iv)", "soc2:CC6.1"}},
		{"aws.rds.storage_encrypted", ":db:claims-mysql", []string{"hipaa:164.312(a)(2)(iv)", "soc2:CC6.1"}},
		{"aws.rds.public_access", ":db:analytics-pg", []string{"hipaa:164.312(a)(1)", "hipaa:164.312(e)(1)", "soc2:CC6.1", "soc2:CC6.6"}},
		{"aws.rds.backup_retention", ":db:billing-mysql", []string{"hipaa:164.308(a)(7)(ii)(A)", "soc2:A1.2", "soc2:CC7.5"}},
		{"aws.rds.deletion_protection", ":db:ops-postgres", []string{"hipaa:164.308(a)(7)(ii)(A)", "hipaa:164.312(c)(1)", "soc2:A1.2"}},
		{"aws.rds.snapshot_public", ":snapshot:claims-mysql-export", []string{"hipaa:164.312(a)(1)", "soc2:CC6.1", "soc2:CC6.6"}},
		{"aws.rds.snapshot_encrypted", ":snapshot:claims-mysql-export", []string{"hipaa:164.312(a)(2)(iv)", "soc2:CC6.1"}},
		{"aws.backup.plan_coverage", "arn:aws:s3:::acme-app-data", []string{"hipaa:164.308(a)(7)(ii)(A)", "soc2:A1.2", "soc2:CC7.5"}},
		{"aws.backup.recency", ":table/phi-claims", []string{"hipaa:164.308(a)(7)(ii)(A)", "soc2:A1.2", "soc2:CC7.5"}},
		{"aws.backup.job_failed", ":table/phi-claims", []string{"hipaa:164.308(a)(7)(ii)(A)", "soc2:A1.2", "soc2:CC7.2", "soc2:CC7.5"}},
		{"aws.backup.vault_lock", ":backup-vault:Default", []string{"hipaa:164.308(a)(7)(ii)(A)", "hipaa:164.312(c)(1)", "soc2:A1.2", "soc2:CC6.1"}},
		{"aws.backup.restore_tested", ":us-east-1:111122223333:restore-jobs", []string{"hipaa:164.308(a)(7)(ii)(B)", "hipaa:164.308(a)(7)(ii)(D)", "soc2:A1.3", "soc2:CC7.5"}},
		{"aws.network.open_ingress", ":security-group/sg-0b2c3d4e5f6a70002", []string{"hipaa:164.312(a)(1)", "hipaa:164.312(e)(1)", "soc2:CC6.1", "soc2:CC6.6"}},
		{"aws.network.open_ingress", ":security-group/sg-0f6a7b8c9d0e10006", []string{"hipaa:164.312(a)(1)", "hipaa:164.312(e)(1)", "soc2:CC6.1", "soc2:CC6.6"}},
		{"aws.network.default_sg_closed", ":security-group/sg-0a1b2c3d4e5f60001", []string{"hipaa:164.312(a)(1)", "soc2:CC6.1", "soc2:CC6.6"}},
		{"aws.logs.retention", ":log-group:/app/phi-api", []string{"hipaa:164.312(b)", "hipaa:164.316(b)(2)(i)", "soc2:CC7.2"}},
		{"aws.logs.alarms", "::111122223333:cis-alarm/root_usage", []string{"hipaa:164.308(a)(1)(ii)(D)", "hipaa:164.308(a)(5)(ii)(C)", "hipaa:164.308(a)(6)(ii)", "hipaa:164.312(b)", "soc2:CC7.2", "soc2:CC7.3"}},
		{"aws.vpc.flow_logs", ":vpc/vpc-0b2c3d4e5f6a70002", []string{"hipaa:164.312(b)", "soc2:CC6.6", "soc2:CC7.2"}},
		{"aws.guardduty.enabled", "arn:aws:guardduty:eu-west-1:111122223333:detector", []string{"hipaa:164.308(a)(1)(ii)(D)", "hipaa:164.308(a)(5)(ii)(B)", "hipaa:164.312(b)", "soc2:CC6.8", "soc2:CC7.2"}},
		{"aws.guardduty.high_findings", ":instance/i-0b2c3d4e5f6a70002", []string{"hipaa:164.308(a)(6)(ii)", "soc2:CC6.8", "soc2:CC7.2", "soc2:CC7.3", "soc2:CC7.4"}},
		{"aws.securityhub.enabled", "arn:aws:securityhub:eu-west-1:111122223333:hub/default", []string{"hipaa:164.308(a)(1)(ii)(D)", "soc2:CC7.1", "soc2:CC7.2"}},
		{"aws.config.recording", "arn:aws:config:eu-west-1:111122223333:configuration-recorder", []string{"hipaa:164.312(b)", "soc2:CC7.1", "soc2:CC8.1"}},
		{"aws.identity_center.admin_assignments", ":user/9a6710a0-0004-4a11-8a11-000000000004", []string{"hipaa:164.308(a)(4)(ii)(B)", "hipaa:164.312(a)(1)", "soc2:CC6.3"}},
		{"aws.identity_center.assignments_to_absent_users", ":user/9a6710a0-dead-4a11-8a11-00000000dead", []string{"hipaa:164.308(a)(3)(ii)(C)", "hipaa:164.312(a)(1)", "soc2:CC6.2", "soc2:CC6.3"}},
		{"github.pr.approved", "#", []string{"hipaa:164.312(c)(1)", "soc2:CC8.1"}},
		{"github.vulnerabilities.dependabot", "acme/api/security/dependabot/1", []string{"hipaa:164.308(a)(1)(ii)(B)", "hipaa:164.308(a)(5)(ii)(B)", "soc2:CC6.8", "soc2:CC7.1"}},
		{"github.vulnerabilities.code_scanning", "acme/api/security/code-scanning/4", []string{"hipaa:164.308(a)(1)(ii)(B)", "hipaa:164.308(a)(5)(ii)(B)", "soc2:CC6.8", "soc2:CC7.1", "soc2:CC8.1"}},
		{"github.vulnerabilities.secret_scanning", "acme/infra/security/secret-scanning/1", []string{"hipaa:164.308(a)(1)(ii)(B)", "soc2:CC6.1", "soc2:CC7.1"}},
		{"github.vulnerabilities.alerts_enabled", "acme/infra", []string{"soc2:CC6.8", "soc2:CC7.1"}},
		{"okta.policy.session_idle", "", []string{"hipaa:164.312(a)(2)(iii)", "soc2:CC6.1"}},
		{"okta.user.mfa", "", []string{"hipaa:164.312(d)", "soc2:CC6.1", "soc2:CC6.6"}},
		// frank, deprovisioned in Okta, is still a GitHub org member and
		// still holds an Identity Center assignment; mallory and the
		// outside collaborator map to no one.
		{"identity.leaver_access", "github:acme/frank", []string{"hipaa:164.308(a)(3)(ii)(C)", "hipaa:164.312(a)(1)", "soc2:CC6.2", "soc2:CC6.3"}},
		{"identity.leaver_access", ":user/9a6710a0-0006-4a11-8a11-000000000006", []string{"hipaa:164.308(a)(3)(ii)(C)", "hipaa:164.312(a)(1)", "soc2:CC6.2", "soc2:CC6.3"}},
		{"identity.unowned_account", "github:acme/mallory", []string{"hipaa:164.308(a)(4)(ii)(C)", "soc2:CC6.2", "soc2:CC6.3"}},
		{"identity.unowned_account", "github:acme/contractor-eve", []string{"hipaa:164.308(a)(4)(ii)(C)", "soc2:CC6.2", "soc2:CC6.3"}},
	}
	for _, w := range want {
		found := false
		for _, s := range snaps {
			for _, f := range s.Findings {
				if f.Check == w.check && f.Status == evidence.Fail && strings.Contains(f.Resource, w.resourcePart) {
					require.Equal(t, w.controls, f.Controls, "%s on %s", f.Check, f.Resource)
					require.NotEmpty(t, f.Reason)
					found = true
				}
			}
		}
		require.True(t, found, "no failing %s finding", w.check)
	}

	// The leaver findings name the person and the account; the declared
	// service account is not a failure, and records its owner.
	identityFindings := map[string]evidence.Finding{}
	for _, s := range snaps {
		for _, f := range s.Findings {
			if strings.HasPrefix(f.Check, "identity.") {
				identityFindings[f.Check+" "+f.Resource] = f
			}
		}
	}
	for _, k := range []string{"identity.leaver_access github:acme/frank", "identity.leaver_access arn:aws:identitystore:::user/9a6710a0-0006-4a11-8a11-000000000006"} {
		require.Contains(t, identityFindings[k].Reason, "frank@acme.example was deprovisioned in Okta 40 days ago", k)
	}
	require.Contains(t, identityFindings["identity.leaver_access github:acme/frank"].Reason, "GitHub account frank")
	require.Contains(t, identityFindings["identity.leaver_access arn:aws:identitystore:::user/9a6710a0-0006-4a11-8a11-000000000006"].Reason, "AWS Identity Center account frank@acme.example")
	ci := identityFindings["identity.unowned_account arn:aws:iam::111122223333:user/ci-deploy"]
	require.Equal(t, evidence.Pass, ci.Status, ci.Reason)
	require.Equal(t, "platform-team@acme.example", ci.Observed["owner"])
	for k, f := range identityFindings {
		require.NotEqual(t, evidence.Error, f.Status, "the demo's join is unambiguous: %s: %s", k, f.Reason)
	}

	// Every finding carries exactly its check's references in the catalog
	// (which pkg/controls' tests hold equal to the reference table).
	cat, err := controls.Default()
	require.NoError(t, err)
	for key, s := range snaps {
		for _, f := range s.Findings {
			refs := cat.Refs(f.Check)
			require.NotEmpty(t, refs, "%s: check %s is not in the catalog", key, f.Check)
			require.Equal(t, refs, f.Controls, "%s: %s on %s", key, f.Check, f.Resource)
		}
	}

	// No credential of the simulated estate reaches the store.
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		// The simulated leaked secrets GitHub returns in its secret-scanning
		// alerts (ghsim.DemoLeakedSecret, DemoRevokedSecret) included.
		for _, secret := range []string{"demo-secret-not-a-real-key", "demo-token", "Bearer ", "SSWS ", "ghp_SimulatedLeakedToken", "simulatedwebhooksecret"} {
			require.NotContains(t, string(b), secret, p)
		}
		return nil
	}))

	// Running the demo again chains onto the same series.
	r = exhibit(t, dir, nil, "demo", "--dir", "demo")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	for key := range snaps {
		next := strings.Replace(key, "000000000001.json", "000000000002.json", 1)
		_, err := os.Stat(filepath.Join(root, next))
		require.NoError(t, err, "series of %s continues", key)
	}
}
