package awscollector

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// plantedProblems are the demo estate's deliberate problems: check and
// resource ARN. Every one must be a fail; nothing else may be.
var plantedProblems = []string{
	"aws.iam.root_mfa arn:aws:iam::444455556666:root",
	"aws.iam.root_access_keys arn:aws:iam::444455556666:root",
	"aws.iam.console_user_mfa arn:aws:iam::111122223333:user/bob",
	"aws.iam.access_key_age arn:aws:iam::111122223333:user/ci-deploy",
	"aws.iam.unused_credentials arn:aws:iam::111122223333:user/carol",
	"aws.iam.password_policy arn:aws:iam::111122223333:root",
	"aws.iam.password_policy arn:aws:iam::444455556666:root",
	"aws.iam.no_direct_admin arn:aws:iam::111122223333:user/dave",
	"aws.s3.default_encryption arn:aws:s3:::acme-legacy-uploads",
	"aws.s3.tls_only arn:aws:s3:::acme-public-site",
	"aws.s3.public_access_block arn:aws:s3:::acme-public-site",
	"aws.cloudtrail.multi_region arn:aws:iam::444455556666:root",
	"aws.cloudtrail.log_validation arn:aws:cloudtrail:us-east-1:444455556666:trail/staging-trail",
	"aws.cloudtrail.kms arn:aws:cloudtrail:us-east-1:444455556666:trail/staging-trail",
	"aws.cloudtrail.retention arn:aws:cloudtrail:us-east-1:444455556666:trail/staging-trail",
	"aws.dynamodb.pitr arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims",
	"aws.kms.rotation arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321",
	"aws.ebs.encryption_by_default arn:aws:ec2:eu-west-1:111122223333:ebs-encryption-by-default",
	"aws.ebs.volume_encrypted arn:aws:ec2:us-east-1:111122223333:volume/vol-0b2c3d4e5f6a70002",
	"aws.ebs.snapshot_public arn:aws:ec2:us-east-1::snapshot/snap-0b2c3d4e5f6a70002",
	"aws.ebs.snapshot_encrypted arn:aws:ec2:us-east-1::snapshot/snap-0b2c3d4e5f6a70002",
	"aws.ebs.snapshot_encrypted arn:aws:ec2:us-east-1::snapshot/snap-0c3d4e5f6a7b80003",
	"aws.rds.storage_encrypted arn:aws:rds:us-east-1:111122223333:db:claims-mysql",
	"aws.rds.public_access arn:aws:rds:us-east-1:111122223333:db:analytics-pg",
	"aws.rds.backup_retention arn:aws:rds:us-east-1:111122223333:db:billing-mysql",
	"aws.rds.deletion_protection arn:aws:rds:eu-west-1:111122223333:db:ops-postgres",
	"aws.rds.snapshot_public arn:aws:rds:us-east-1:111122223333:snapshot:claims-mysql-export",
	"aws.rds.snapshot_encrypted arn:aws:rds:us-east-1:111122223333:snapshot:claims-mysql-export",
	"aws.backup.plan_coverage arn:aws:s3:::acme-app-data",
	"aws.backup.recency arn:aws:s3:::acme-app-data",
	"aws.backup.recency arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims",
	"aws.backup.job_failed arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims",
	"aws.backup.vault_lock arn:aws:backup:us-east-1:111122223333:backup-vault:Default",
	"aws.backup.restore_tested arn:aws:backup:us-east-1:111122223333:restore-jobs",
	"aws.network.open_ingress arn:aws:ec2:us-east-1:111122223333:security-group/sg-0b2c3d4e5f6a70002",
	"aws.network.open_ingress arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0f6a7b8c9d0e10006",
	"aws.network.default_sg_closed arn:aws:ec2:us-east-1:111122223333:security-group/sg-0a1b2c3d4e5f60001",
	"aws.logs.retention arn:aws:logs:us-east-1:111122223333:log-group:/app/phi-api",
	"aws.logs.retention arn:aws:logs:us-east-1:444455556666:log-group:staging-trail",
	"aws.logs.alarms arn:aws:cloudwatch::111122223333:cis-alarm/root_usage",
	"aws.vpc.flow_logs arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0b2c3d4e5f6a70002",
	"aws.guardduty.enabled arn:aws:guardduty:eu-west-1:111122223333:detector",
	"aws.guardduty.high_findings arn:aws:ec2:us-east-1:111122223333:instance/i-0b2c3d4e5f6a70002",
	"aws.securityhub.enabled arn:aws:securityhub:eu-west-1:111122223333:hub/default",
	"aws.config.recording arn:aws:config:eu-west-1:111122223333:configuration-recorder",
	"aws.identity_center.admin_assignments arn:aws:identitystore:::user/9a6710a0-0004-4a11-8a11-000000000004",
	"aws.identity_center.assignments_to_absent_users arn:aws:identitystore:::user/" + awssim.DeletedUserID,
}

// TestDemoEstateAcceptance runs the collectors over the demo estate: each
// planted problem is a fail naming its resource, every other resource
// passes (or the check does not apply to it), nothing is an error, and no
// snapshot has two findings of one check on one resource.
func TestDemoEstateAcceptance(t *testing.T) {
	sim := awssim.NewAt(simNow)
	var fails []string
	byCheck := map[string]int{}
	for _, c := range []struct {
		typ string
		nf  newFunc
	}{{"aws.iam", iamNew}, {"aws.s3", s3New}, {"aws.cloudtrail", trailNew}, {"aws.dynamodb", dynamoNew}, {"aws.kms", kmsNew}, {"aws.ebs", ebsNew}, {"aws.rds", rdsNew}, {"aws.backup", backupNew}, {"aws.network", networkNew}, {"aws.logging", loggingNew}, {"aws.threat_detection", threatNew}, {"aws.identity_center", icNew}} {
		out := runCollector(t, sim, c.typ, c.nf, nil)
		require.Len(t, out.results, 2, c.typ)
		for _, r := range out.results {
			require.Equal(t, evidence.StatusComplete, r.Status, "%s %s: %v", c.typ, r.Scope.Account, r.Errors)
			seen := map[string]bool{}
			for _, f := range r.Findings {
				// One finding per (check, resource), as the evidence
				// contract has it: a second would share its identity.
				key := f.Check + " " + f.Resource
				require.False(t, seen[key], "%s %s: two findings for %s", c.typ, r.Scope.Account, key)
				seen[key] = true
				require.True(t, f.Status.Valid())
				require.Empty(t, f.Controls, "controls are filled by the agent from the catalog")
				require.NotEmpty(t, f.Reason)
				require.True(t, strings.HasPrefix(f.Resource, "arn:aws:"), f.Resource)
				require.NotEqual(t, evidence.Error, f.Status, "%s %s: %s", f.Check, f.Resource, f.Reason)
				byCheck[f.Check]++
				if f.Status == evidence.Fail {
					fails = append(fails, f.Check+" "+f.Resource)
				}
			}
		}
	}
	sort.Strings(fails)
	want := append([]string(nil), plantedProblems...)
	sort.Strings(want)
	require.Equal(t, want, fails)

	// Every check the factories declare was exercised.
	for _, f := range Factories() {
		for _, chk := range f.Checks {
			require.NotZero(t, byCheck[chk], "check %s produced no finding", chk)
		}
	}
}

// TestEvidenceHoldsNoSecrets checks that no credential reaches evidence.
func TestEvidenceHoldsNoSecrets(t *testing.T) {
	sim := awssim.NewAt(simNow)
	for _, nf := range []newFunc{iamNew, s3New, trailNew, dynamoNew, kmsNew, ebsNew, rdsNew, backupNew, networkNew, loggingNew, threatNew, icNew} {
		out := runCollector(t, sim, "aws.test", nf, nil)
		b, err := json.Marshal(out.results)
		require.NoError(t, err)
		calls, err := json.Marshal(out.calls)
		require.NoError(t, err)
		for _, secret := range []string{"test-secret-value", "simulated-secret-not-a-real-key", "simulated-session-token", awssim.StagingExternalID} {
			require.NotContains(t, string(b), secret)
			require.NotContains(t, string(calls), secret)
		}
	}
}

func findingOf(t *testing.T, r scopeResult, check, resource string) evidence.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Check == check && f.Resource == resource {
			return f
		}
	}
	require.FailNow(t, fmt.Sprintf("no %s finding for %s", check, resource))
	return evidence.Finding{}
}
