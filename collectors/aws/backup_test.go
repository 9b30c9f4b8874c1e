package awscollector

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func backupNew(s collector.Settings, t tuning) (collector.Collector, error) { return newBackup(s, t) }

func TestBackupDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.backup", backupNew, nil)
	golden(t, "backup_demo", out.results)
}

// backupOps are the Backup list operations, each paginated.
var backupOps = []string{"ListBackupPlans", "ListBackupSelections", "ListBackupVaults", "ListProtectedResources", "ListBackupJobs", "ListRestoreJobs", "ListRestoreTestingPlans"}

// TestBackupPagination reads every Backup list and GetResources one item
// per page: NextToken (and the tagging API's PaginationToken) is followed
// to the end and the evidence is the same.
func TestBackupPagination(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.PageSize = 1
	out := runCollector(t, sim, "aws.backup", backupNew, nil)
	golden(t, "backup_demo", out.results)
	// Pages per region: an empty list is one page; n items are n pages
	// (the last answer carries no token). us-east-1 then eu-west-1.
	want := map[string]int{
		"ListBackupPlans":         1 + 1,
		"ListBackupSelections":    1,
		"ListBackupVaults":        2 + 1,
		"ListProtectedResources":  3 + 1,
		"ListBackupJobs":          3 + 1, // the job 48 hours ago is outside the window
		"ListRestoreJobs":         1 + 1, // the restore 400 days ago is outside the lookback
		"ListRestoreTestingPlans": 1 + 1,
	}
	for op, n := range want {
		require.Equal(t, n, sim.Count(prod, "backup", op), op)
	}
	// Three backup-protectable PHI resources in us-east-1 (the tagged KMS
	// key is not asked for), none in eu-west-1.
	require.Equal(t, 3+1, sim.Count(prod, "tagging", "GetResources"))
}

// TestBackupCallsPerResource: plans and selections are read one by one,
// everything else in one paginated list per region, whatever the number
// of resources and jobs.
func TestBackupCallsPerResource(t *testing.T) {
	sim := awssim.NewAt(simNow)
	runCollector(t, sim, "aws.backup", backupNew, nil)
	for _, op := range backupOps {
		if op == "ListBackupSelections" {
			require.Equal(t, 1, sim.Count(prod, "backup", op), "one per plan")
			continue
		}
		require.Equal(t, 2, sim.Count(prod, "backup", op), "%s: one page per region", op)
	}
	require.Equal(t, 1, sim.Count(prod, "backup", "GetBackupPlan"))
	require.Equal(t, 1, sim.Count(prod, "backup", "GetBackupSelection"))
	require.Equal(t, 2, sim.Count(prod, "tagging", "GetResources"))
	for _, r := range sim.Requests() {
		require.NotContains(t, []string{"ListRecoveryPointsByResource", "DescribeProtectedResource", "DescribeBackupVault", "GetBackupVaultAccessPolicy"}, r.Operation)
	}
}

// TestBackupRegionDenied: AccessDenied in eu-west-1 and ap-east-1 not
// enabled are run errors for those regions with error findings on the
// account; us-east-1's evidence is unchanged, and restore_tested is an
// error for each region whose backups and restores could not be read.
func TestBackupRegionDenied(t *testing.T) {
	regions := func(src *collector.AWSSource) { src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"} }
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "")
	out := runCollector(t, sim, "aws.backup", backupNew, regions)
	require.Len(t, out.results, 2)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	ops := []string{"backup:ListBackupJobs", "backup:ListBackupPlans", "backup:ListBackupVaults", "backup:ListProtectedResources",
		"backup:ListRestoreJobs", "backup:ListRestoreTestingPlans", "tag:GetResources"}
	require.Len(t, p.Errors, 2*len(ops))
	for i, e := range p.Errors {
		region, code := "ap-east-1", "UnrecognizedClientException"
		if i >= len(ops) {
			region, code = "eu-west-1", "AccessDeniedException"
		}
		require.Equal(t, "account/111122223333/region/"+region, e.Where)
		require.Equal(t, ops[i%len(ops)], e.Operation)
		require.Contains(t, e.Message, code)
	}
	root := "arn:aws:iam::111122223333:root"
	perCheck := map[string]int{}
	for _, f := range p.Findings {
		if f.Check == checkBackupRestoreTested && f.Resource != "arn:aws:backup:us-east-1:111122223333:restore-jobs" {
			require.Equal(t, evidence.Error, f.Status, "%s: %s", f.Resource, f.Reason)
			continue
		}
		require.NotContains(t, f.Resource, ":eu-west-1:", "nothing in the denied region is judged")
		if f.Resource == root {
			require.Equal(t, evidence.Error, f.Status, "%s: %s", f.Check, f.Reason)
			perCheck[f.Check]++
		}
	}
	// An error per region for every check (recent_backup twice: tagged
	// and protected resources both unread); restore_tested is judged per
	// region, an error in each region not read.
	require.Equal(t, map[string]int{checkBackupPHICovered: 2, checkBackupRecent: 4, checkBackupJobFailures: 2, checkBackupVaultLock: 2}, perCheck)
	for _, r := range []string{"ap-east-1", "eu-west-1"} {
		require.Equal(t, evidence.Error, findingOf(t, p, checkBackupRestoreTested, "arn:aws:backup:"+r+":111122223333:restore-jobs").Status, r)
	}
	require.Equal(t, evidence.Fail, findingOf(t, p, checkBackupRestoreTested, "arn:aws:backup:us-east-1:111122223333:restore-jobs").Status)
	// us-east-1 is judged as in the demo.
	require.Equal(t, evidence.Pass, findingOf(t, p, checkBackupPHICovered, "arn:aws:dynamodb:us-east-1:111122223333:table/patients").Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkBackupPHICovered, "arn:aws:s3:::acme-app-data").Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkBackupRecent, "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims").Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkBackupJobFailures, "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims").Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkBackupVaultLock, "arn:aws:backup:us-east-1:111122223333:backup-vault:phi-vault").Status)
	// Staging only misses the region it has not enabled, and its restore
	// test in eu-west-1, where its backups are, still passes.
	s := out.results[1]
	require.Equal(t, evidence.StatusPartial, s.Status)
	for _, e := range s.Errors {
		require.Contains(t, e.Where, "ap-east-1")
	}
	require.Equal(t, evidence.Pass, findingOf(t, s, checkBackupRestoreTested, "arn:aws:backup:eu-west-1:444455556666:restore-jobs").Status)
	require.Equal(t, evidence.Error, findingOf(t, s, checkBackupRestoreTested, "arn:aws:backup:ap-east-1:444455556666:restore-jobs").Status)
}

// TestBackupAssumeRole: the staging account is read through its role and
// its own plan, vault, backup and restore test are judged there.
func TestBackupAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.backup", backupNew, nil)
	s := out.results[1]
	require.Equal(t, staging, s.Scope.Account)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkBackupRecent, "arn:aws:dynamodb:eu-west-1:444455556666:table/staging-orders").Status)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkBackupVaultLock, "arn:aws:backup:eu-west-1:444455556666:backup-vault:staging-vault").Status)
	rt := findingOf(t, s, checkBackupRestoreTested, "arn:aws:backup:eu-west-1:444455556666:restore-jobs")
	require.Equal(t, evidence.Pass, rt.Status)
	latest := rt.Observed["latest_restore_jobs"].([]map[string]any)
	require.Equal(t, "arn:aws:backup:eu-west-1:444455556666:restore-testing-plan:staging-monthly-restore-test", latest[0]["restore_testing_plan"])
	var assumed int
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed++
			require.Equal(t, "exhibit-aws.backup", r.RoleSessionName)
		}
	}
	require.NotZero(t, assumed)
	require.NotZero(t, sim.Count(staging, "backup", "ListRestoreJobs"))
	require.NotZero(t, sim.Count(staging, "tagging", "GetResources"))
}

// TestBackupThrottlingRetried: Backup's ThrottlingException and the
// tagging API's ThrottledException are retried and the evidence is
// unchanged.
func TestBackupThrottlingRetried(t *testing.T) {
	ops := append([]string{"GetBackupPlan", "GetBackupSelection", "GetResources"}, backupOps...)
	requireRetried(t, "aws.backup", backupNew, "backup_demo", ops...)
}

// TestBackupWithoutPHITags: without phi_tags no tag is read, coverage is
// not judged, and protected resources are still judged on their backups.
func TestBackupWithoutPHITags(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.backup", backupNew, func(src *collector.AWSSource) { src.PHITags = nil })
	require.Zero(t, sim.Count(prod, "tagging", ""))
	p := out.results[0]
	require.Equal(t, evidence.StatusComplete, p.Status)
	require.Equal(t, evidence.NotApplicable, findingOf(t, p, checkBackupPHICovered, "arn:aws:iam::111122223333:root").Status)
	claims := findingOf(t, p, checkBackupRecent, "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims")
	require.Equal(t, evidence.Fail, claims.Status)
	require.NotContains(t, claims.Observed, "phi")
	for _, f := range p.Findings {
		require.NotEqual(t, "arn:aws:s3:::acme-app-data", f.Resource, "an untagged, unprotected bucket is not Backup's to judge")
	}
}
