package awscollector

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func TestBackupSelects(t *testing.T) {
	const table = "arn:aws:dynamodb:us-east-1:111122223333:table/patients"
	phi := map[string]string{"data-classification": "phi", "team": "claims-eu"}
	cond := func(op, key, value string) *bktypes.Conditions {
		p := []bktypes.ConditionParameter{{ConditionKey: aws.String(key), ConditionValue: aws.String(value)}}
		c := &bktypes.Conditions{}
		switch op {
		case "StringEquals":
			c.StringEquals = p
		case "StringNotEquals":
			c.StringNotEquals = p
		case "StringLike":
			c.StringLike = p
		case "StringNotLike":
			c.StringNotLike = p
		}
		return c
	}
	tag := func(typ bktypes.ConditionType, key, value string) []bktypes.Condition {
		return []bktypes.Condition{{ConditionType: typ, ConditionKey: aws.String(key), ConditionValue: aws.String(value)}}
	}
	for _, c := range []struct {
		name string
		sel  bktypes.BackupSelection
		want bool
		err  bool
	}{
		{"empty selects everything", bktypes.BackupSelection{}, true, false},
		{"exact ARN", bktypes.BackupSelection{Resources: []string{table}}, true, false},
		{"other ARN", bktypes.BackupSelection{Resources: []string{table + "-archive"}}, false, false},
		{"wildcard type", bktypes.BackupSelection{Resources: []string{"arn:aws:dynamodb:*:*:table/*"}}, true, false},
		{"wildcard other service", bktypes.BackupSelection{Resources: []string{"arn:aws:rds:*:*:db:*"}}, false, false},
		{"star minus NotResources", bktypes.BackupSelection{Resources: []string{"*"}, NotResources: []string{"arn:aws:dynamodb:*:*:table/pat*"}}, false, false},
		{"star minus other NotResources", bktypes.BackupSelection{Resources: []string{"*"}, NotResources: []string{"arn:aws:s3:::*"}}, true, false},
		{"StringEquals holds", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringEquals", "aws:ResourceTag/data-classification", "phi")}, true, false},
		{"StringEquals is case sensitive", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringEquals", "aws:ResourceTag/data-classification", "PHI")}, false, false},
		{"StringEquals on a missing tag", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringEquals", "aws:ResourceTag/backup", "daily")}, false, false},
		{"StringNotEquals on a missing tag", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringNotEquals", "aws:ResourceTag/backup", "none")}, true, false},
		{"StringNotEquals fails", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringNotEquals", "aws:ResourceTag/data-classification", "phi")}, false, false},
		{"StringLike", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringLike", "aws:ResourceTag/team", "claims-*")}, true, false},
		{"StringLike ?", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringLike", "aws:ResourceTag/team", "claims-e?")}, true, false},
		{"StringLike no match", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringLike", "aws:ResourceTag/team", "billing-*")}, false, false},
		{"StringNotLike", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringNotLike", "aws:ResourceTag/team", "claims-*")}, false, false},
		{"condition key not a resource tag", bktypes.BackupSelection{Resources: []string{"*"}, Conditions: cond("StringEquals", "aws:PrincipalTag/x", "y")}, false, true},
		{"ListOfTags alone", bktypes.BackupSelection{ListOfTags: tag(bktypes.ConditionTypeStringequals, "data-classification", "phi")}, true, false},
		{"ListOfTags with the condition-key form", bktypes.BackupSelection{ListOfTags: tag(bktypes.ConditionTypeStringequals, "aws:ResourceTag/data-classification", "phi")}, true, false},
		{"ListOfTags no match", bktypes.BackupSelection{ListOfTags: tag(bktypes.ConditionTypeStringequals, "backup", "daily")}, false, false},
		{"ListOfTags with *", bktypes.BackupSelection{Resources: []string{"*"}, ListOfTags: tag(bktypes.ConditionTypeStringequals, "data-classification", "phi")}, true, false},
		{"ListOfTags minus NotResources", bktypes.BackupSelection{ListOfTags: tag(bktypes.ConditionTypeStringequals, "data-classification", "phi"), NotResources: []string{table}}, false, false},
		{"ListOfTags beside specific Resources", bktypes.BackupSelection{Resources: []string{"arn:aws:rds:*:*:db:*"}, ListOfTags: tag(bktypes.ConditionTypeStringequals, "data-classification", "phi")}, false, true},
		{"ListOfTags beside Conditions", bktypes.BackupSelection{ListOfTags: tag(bktypes.ConditionTypeStringequals, "data-classification", "phi"), Conditions: cond("StringEquals", "aws:ResourceTag/team", "claims-eu")}, false, true},
		{"ListOfTags of an unknown type", bktypes.BackupSelection{ListOfTags: tag("STRINGLIKE", "data-classification", "phi")}, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := selects(&c.sel, table, phi)
			if c.err {
				require.ErrorIs(t, err, errUnevaluable)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

// backupEstate runs aws.backup over the demo estate changed by edit and
// returns the production account's result.
func backupEstate(t *testing.T, edit func(sim *awssim.Sim, b *awssim.Backup)) scopeResult {
	t.Helper()
	sim := awssim.NewAt(simNow)
	edit(sim, &sim.Accounts[prod].Backup)
	return runCollector(t, sim, "aws.backup", backupNew, nil).results[0]
}

const (
	patientsARN = "arn:aws:dynamodb:us-east-1:111122223333:table/patients"
	claimsARN   = "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims"
	prodRoot    = "arn:aws:iam::111122223333:root"
)

func TestBackupCoverage(t *testing.T) {
	t.Run("ListOfTags selection covers the bucket too", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) {
			b.Plans[0].Selections[0] = awssim.BackupSelection{ID: "s1", Name: "legacy-tags", ListOfTags: []awssim.TagCondition{{Key: "data-classification", Value: "phi"}}}
		})
		for _, arn := range []string{patientsARN, claimsARN, "arn:aws:s3:::acme-app-data"} {
			require.Equal(t, evidence.Pass, findingOf(t, r, checkBackupPHICovered, arn).Status, arn)
		}
	})
	t.Run("a selection that cannot be evaluated is an error", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) {
			b.Plans[0].Selections[0] = awssim.BackupSelection{ID: "s1", Name: "mixed", Resources: []string{"arn:aws:rds:*:*:db:*"},
				ListOfTags: []awssim.TagCondition{{Key: "data-classification", Value: "phi"}}}
		})
		f := findingOf(t, r, checkBackupPHICovered, patientsARN)
		require.Equal(t, evidence.Error, f.Status)
		require.Contains(t, f.Reason, "cannot be evaluated")
	})
	t.Run("a second plan covers what the first cannot be judged on", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) {
			b.Plans[0].Selections[0].Conditions = map[string][]awssim.TagCondition{"StringEquals": {{Key: "aws:PrincipalTag/x", Value: "y"}}}
			b.Plans = append(b.Plans, awssim.BackupPlan{ID: "p2", Name: "tables", Region: "us-east-1", Created: simNow,
				Rules:      []awssim.BackupRule{{Name: "daily", Schedule: "cron(0 1 * * ? *)", Vault: "phi-vault"}},
				Selections: []awssim.BackupSelection{{ID: "s2", Name: "all-tables", Resources: []string{"arn:aws:dynamodb:*:*:table/*"}}}})
		})
		require.Equal(t, evidence.Pass, findingOf(t, r, checkBackupPHICovered, patientsARN).Status)
		// NotResources settles the bucket before the condition is reached.
		require.Equal(t, evidence.Fail, findingOf(t, r, checkBackupPHICovered, "arn:aws:s3:::acme-app-data").Status)
		require.Equal(t, "tables", findingOf(t, r, checkBackupPHICovered, claimsARN).Observed["covered_by"].([]map[string]any)[0]["plan"])
	})
	t.Run("a plan without rules covers nothing", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) { b.Plans[0].Rules = nil })
		f := findingOf(t, r, checkBackupPHICovered, patientsARN)
		require.Equal(t, evidence.Fail, f.Status)
		require.NotEmpty(t, f.Observed["selected_by_plans_without_rules"])
	})
	t.Run("the unevaluable selection alone is an error", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) {
			b.Plans[0].Selections[0].Conditions = map[string][]awssim.TagCondition{"StringEquals": {{Key: "aws:PrincipalTag/x", Value: "y"}}}
		})
		require.Equal(t, evidence.Error, findingOf(t, r, checkBackupPHICovered, patientsARN).Status)
	})
	t.Run("no plan in the region", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) { b.Plans = nil })
		require.Equal(t, evidence.Fail, findingOf(t, r, checkBackupPHICovered, patientsARN).Status)
	})
	t.Run("the bucket's exclusion is named", func(t *testing.T) {
		r := backupEstate(t, func(*awssim.Sim, *awssim.Backup) {})
		f := findingOf(t, r, checkBackupPHICovered, "arn:aws:s3:::acme-app-data")
		require.Equal(t, evidence.Fail, f.Status)
		require.Equal(t, []string{"plan daily-phi: selection phi-by-tag excludes it by NotResources arn:aws:s3:::*"}, f.Observed["excluded_by"])
	})
}

func TestBackupRecent(t *testing.T) {
	max := 26 * time.Hour
	for _, c := range []struct {
		name string
		age  time.Duration
		want evidence.Result
	}{
		{"at the threshold", max, evidence.Pass},
		{"just past it", max + time.Second, evidence.Fail},
		{"three days", 72 * time.Hour, evidence.Fail},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) { b.Protected[0].LastBackup = simNow.Add(-c.age) })
			f := findingOf(t, r, checkBackupRecent, patientsARN)
			require.Equal(t, c.want, f.Status)
			require.Equal(t, simNow.Add(-c.age).UTC().Format(time.RFC3339), f.Observed["last_backup"])
		})
	}
	t.Run("a PHI resource never backed up", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) { b.Protected = b.Protected[1:] })
		f := findingOf(t, r, checkBackupRecent, patientsARN)
		require.Equal(t, evidence.Fail, f.Status)
		require.Contains(t, f.Reason, "never backed up")
	})
}

func TestBackupJobStates(t *testing.T) {
	for _, c := range []struct {
		state string
		want  evidence.Result
	}{
		{"COMPLETED", evidence.Pass}, {"RUNNING", evidence.Pass}, {"FAILED", evidence.Fail},
		{"EXPIRED", evidence.Fail}, {"ABORTED", evidence.Fail}, {"PARTIAL", evidence.Fail},
	} {
		t.Run(c.state, func(t *testing.T) {
			r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) {
				b.Jobs[0].State, b.Jobs[0].StatusMessage = c.state, "state "+c.state
			})
			f := findingOf(t, r, checkBackupJobFailures, patientsARN)
			require.Equal(t, c.want, f.Status)
			if c.want == evidence.Fail {
				require.Contains(t, f.Reason, "4e7b9c1d-2a3f-4b5c-8d6e-7f8091a2b3c4 "+c.state+": state "+c.state)
			}
		})
	}
	t.Run("one finding per resource listing its jobs", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) {
			j := b.Jobs[1]
			j.ID, j.State, j.StatusMessage, j.Created = "retry-1", "COMPLETED", "", simNow.Add(-time.Hour)
			b.Jobs = append(b.Jobs, j)
		})
		n := 0
		for _, f := range r.Findings {
			if f.Check == checkBackupJobFailures && f.Resource == claimsARN {
				n++
				require.Equal(t, evidence.Fail, f.Status, "a failure in the window stays evidence after a later success")
				require.Len(t, f.Observed["jobs"], 2)
			}
		}
		require.Equal(t, 1, n)
	})
	t.Run("no job in the window", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) { b.Jobs = nil })
		require.Equal(t, evidence.NotApplicable, findingOf(t, r, checkBackupJobFailures, prodRoot).Status)
	})
}

func TestBackupVaultLockModes(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(v *awssim.BackupVault)
		mode string
		want evidence.Result
	}{
		{"compliance", func(*awssim.BackupVault) {}, "compliance", evidence.Pass},
		{"grace period", func(v *awssim.BackupVault) { v.Locked, v.LockDate = false, simNow.AddDate(0, 0, 3) }, "compliance_grace_period", evidence.Pass},
		{"governance", func(v *awssim.BackupVault) { v.LockDate = time.Time{} }, "governance", evidence.Pass},
		{"none", func(v *awssim.BackupVault) { v.Locked, v.MinRetentionDays, v.MaxRetentionDays = false, 0, 0 }, "none", evidence.Fail},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) { c.edit(&b.Vaults[0]) })
			f := findingOf(t, r, checkBackupVaultLock, "arn:aws:backup:us-east-1:111122223333:backup-vault:phi-vault")
			require.Equal(t, c.want, f.Status)
			require.Equal(t, c.mode, f.Observed["lock_mode"])
		})
	}
}

// TestBackupRestoreTested: each region where AWS Backup protects a
// resource needs a restore completed there in the lookback; the demo's
// production account protects resources in us-east-1 only.
func TestBackupRestoreTested(t *testing.T) {
	const us = "arn:aws:backup:us-east-1:111122223333:restore-jobs"
	const eu = "arn:aws:backup:eu-west-1:111122223333:restore-jobs"
	restore := func(region string, days int, status string) awssim.RestoreJob {
		return awssim.RestoreJob{ID: "r1", Region: region, SourceARN: patientsARN, ResourceType: "DynamoDB", Status: status,
			Created: simNow.AddDate(0, 0, -days), Completed: simNow.AddDate(0, 0, -days).Add(time.Hour)}
	}
	for _, c := range []struct {
		name string
		job  awssim.RestoreJob
		want evidence.Result
	}{
		{"inside the lookback", restore("us-east-1", 364, "COMPLETED"), evidence.Pass},
		{"outside the lookback", restore("us-east-1", 366, "COMPLETED"), evidence.Fail},
		{"failed restore", restore("us-east-1", 10, "FAILED"), evidence.Fail},
		{"a restore in another region only", restore("eu-west-1", 10, "COMPLETED"), evidence.Fail},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) { b.Restores = append(b.Restores, c.job) })
			require.Equal(t, c.want, findingOf(t, r, checkBackupRestoreTested, us).Status)
			for _, f := range r.Findings {
				require.False(t, f.Check == checkBackupRestoreTested && f.Resource == eu, "eu-west-1 holds no backups, so it is not judged")
			}
		})
	}
	t.Run("restore jobs unreadable", func(t *testing.T) {
		r := backupEstate(t, func(sim *awssim.Sim, _ *awssim.Backup) { sim.Deny(prod, "us-east-1", "ListRestoreJobs") })
		f := findingOf(t, r, checkBackupRestoreTested, us)
		require.Equal(t, evidence.Error, f.Status)
		require.Contains(t, f.Observed["restore_jobs_error"], "AccessDenied")
		require.Equal(t, evidence.StatusPartial, r.Status)
	})
	t.Run("whether a region holds backups is unknown", func(t *testing.T) {
		r := backupEstate(t, func(sim *awssim.Sim, _ *awssim.Backup) { sim.Deny(prod, "eu-west-1", "ListProtectedResources") })
		require.Equal(t, evidence.Error, findingOf(t, r, checkBackupRestoreTested, eu).Status)
		require.Equal(t, evidence.Fail, findingOf(t, r, checkBackupRestoreTested, us).Status)
	})
	t.Run("no backups anywhere", func(t *testing.T) {
		r := backupEstate(t, func(_ *awssim.Sim, b *awssim.Backup) { b.Protected = nil })
		require.Equal(t, evidence.NotApplicable, findingOf(t, r, checkBackupRestoreTested, prodRoot).Status)
	})
}

// TestBackupNotRead: a run that ends before the plans are read leaves them
// errors, never a verdict.
func TestBackupNotRead(t *testing.T) {
	p := &planState{id: "p", arn: "arn:aws:backup:us-east-1:111122223333:backup-plan:p", region: "us-east-1"}
	partial := &collector.PartialError{}
	p.markUnread(t.Context(), partial, prod)
	require.Error(t, p.planErr)
	require.Error(t, p.selectionsErr)
	require.Len(t, partial.Errors, 2)
	f := coverage(taggedResource{arn: patientsARN, region: "us-east-1"}, &backupRegion{region: "us-east-1", plans: []*planState{p}})
	require.Equal(t, evidence.Error, f.Status)
	require.False(t, errors.Is(p.planErr, errUnevaluable))
}
