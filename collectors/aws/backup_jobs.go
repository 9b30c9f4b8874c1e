package awscollector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	bktypes "github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// jobState is one backup job created in the freshness window.
type jobState struct {
	region string
	j      bktypes.BackupJob
}

// restoreState is one restore job created in the restore lookback.
type restoreState struct {
	region string
	j      bktypes.RestoreJobsListMember
}

// testingPlanState is one restore testing plan.
type testingPlanState struct {
	region string
	p      bktypes.RestoreTestingPlanForList
}

// listBackupJobs lists the jobs created since after; AWS Backup filters
// by creation time itself, so older jobs are never transferred.
func listBackupJobs(ctx context.Context, api backupAPI, region string, after time.Time) ([]jobState, error) {
	var got []jobState
	p := backup.NewListBackupJobsPaginator(api, &backup.ListBackupJobsInput{ByCreatedAfter: aws.Time(after), MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return got, fmt.Errorf("list backup jobs: %w", err)
		}
		for _, j := range page.BackupJobs {
			got = append(got, jobState{region: region, j: j})
		}
	}
	return got, nil
}

func listRestoreJobs(ctx context.Context, api backupAPI, region string, after time.Time) ([]restoreState, error) {
	var got []restoreState
	p := backup.NewListRestoreJobsPaginator(api, &backup.ListRestoreJobsInput{ByCreatedAfter: aws.Time(after), MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return got, fmt.Errorf("list restore jobs: %w", err)
		}
		for _, j := range page.RestoreJobs {
			got = append(got, restoreState{region: region, j: j})
		}
	}
	return got, nil
}

func listRestoreTestingPlans(ctx context.Context, api backupAPI, region string) ([]testingPlanState, error) {
	var got []testingPlanState
	p := backup.NewListRestoreTestingPlansPaginator(api, &backup.ListRestoreTestingPlansInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return got, fmt.Errorf("list restore testing plans: %w", err)
		}
		for _, t := range page.RestoreTestingPlans {
			got = append(got, testingPlanState{region: region, p: t})
		}
	}
	return got, nil
}

func testingPlanRecord(t testingPlanState) evidence.Record {
	p := t.p
	attrs := map[string]any{"name": aws.ToString(p.RestoreTestingPlanName), "schedule": aws.ToString(p.ScheduleExpression),
		"created": ts(aws.ToTime(p.CreationTime)), "last_execution": ts(aws.ToTime(p.LastExecutionTime))}
	return evidence.Record{Type: "aws.backup.restore_testing_plan", ID: aws.ToString(p.RestoreTestingPlanArn), Region: t.region, Attributes: attrs}
}

// failedJobStates are the backup job states that mean a backup did not
// (wholly) happen. PARTIAL is among them: some of the resource was not
// backed up.
var failedJobStates = map[bktypes.BackupJobState]bool{
	bktypes.BackupJobStateFailed: true, bktypes.BackupJobStateExpired: true,
	bktypes.BackupJobStateAborted: true, bktypes.BackupJobStatePartial: true,
}

func jobObserved(j jobState) map[string]any {
	m := map[string]any{"job_id": aws.ToString(j.j.BackupJobId), "state": string(j.j.State), "region": j.region,
		"created": ts(aws.ToTime(j.j.CreationDate)), "vault": aws.ToString(j.j.BackupVaultName)}
	if j.j.CompletionDate != nil {
		m["completed"] = ts(aws.ToTime(j.j.CompletionDate))
	}
	if j.j.StatusMessage != nil {
		m["status_message"] = aws.ToString(j.j.StatusMessage)
	}
	return m
}

// jobFailureFindings judges, per resource, the backup jobs of the window:
// any failed, expired, aborted or partial job is a fail listing them; a
// resource whose jobs all completed (or are still running) passes.
func jobFailureFindings(root string, regions []*backupRegion, conf bool, win backupWindow) []evidence.Finding {
	var out []evidence.Finding
	byResource := map[string][]jobState{}
	phi := phiIndex(regions)
	for _, r := range regions {
		if r.jobsErr != nil {
			out = append(out, finding(checkBackupJobFailures, root, evidence.Error,
				fmt.Sprintf("The backup jobs of region %s in the last %d hours could not all be listed.", r.region, int(win.maxAge.Hours())),
				map[string]any{"region": r.region, "error": r.jobsErr.Error(), "jobs_listed": len(r.jobs)}))
			continue
		}
		for _, j := range r.jobs {
			arn := aws.ToString(j.j.ResourceArn)
			byResource[arn] = append(byResource[arn], j)
		}
	}
	arns := make([]string, 0, len(byResource))
	for a := range byResource {
		arns = append(arns, a)
	}
	sort.Strings(arns)
	for _, arn := range arns {
		jobs := byResource[arn]
		sort.Slice(jobs, func(i, k int) bool {
			return aws.ToTime(jobs[i].j.CreationDate).After(aws.ToTime(jobs[k].j.CreationDate))
		})
		var listed []map[string]any
		var bad []string
		for _, j := range jobs {
			listed = append(listed, jobObserved(j))
			if failedJobStates[j.j.State] {
				msg := fmt.Sprintf("%s %s", aws.ToString(j.j.BackupJobId), j.j.State)
				if m := aws.ToString(j.j.StatusMessage); m != "" {
					msg += ": " + strings.TrimSuffix(m, ".")
				}
				bad = append(bad, msg)
			}
		}
		obs := map[string]any{"jobs": listed, "window_hours": int(win.maxAge.Hours())}
		var f evidence.Finding
		if len(bad) > 0 {
			f = finding(checkBackupJobFailures, arn, evidence.Fail,
				fmt.Sprintf("%d of %d backup jobs in the last %d hours did not complete: %s.", len(bad), len(jobs), int(win.maxAge.Hours()), strings.Join(bad, "; ")), obs)
		} else {
			f = finding(checkBackupJobFailures, arn, evidence.Pass,
				fmt.Sprintf("No backup job in the last %d hours failed, expired, was aborted or partial (%d jobs).", int(win.maxAge.Hours()), len(jobs)), obs)
		}
		p, known := phi.lookup(arn)
		out = append(out, markPHI(f, conf && known.read, p, known.err))
	}
	if len(arns) == 0 && len(out) == 0 {
		out = append(out, finding(checkBackupJobFailures, root, evidence.NotApplicable,
			fmt.Sprintf("No backup job was created in the last %d hours in the regions read.", int(win.maxAge.Hours())), map[string]any{"jobs": 0}))
	}
	return out
}

// restoreTested judges each region that holds backups: a restore job that
// completed there in the lookback proves a restore was tested. None is a
// fail; none found while the region's restore jobs could not be listed, or
// while whether it holds backups is unknown, is an error. A region holds
// backups when AWS Backup protects a resource there. The finding names the
// region's restore jobs, which have no ARN of their own:
// arn:PARTITION:backup:REGION:ACCOUNT:restore-jobs. An account with no
// backups anywhere has one not_applicable finding on its root.
func restoreTested(part, acct, root string, regions []*backupRegion, win backupWindow) []evidence.Finding {
	var out []evidence.Finding
	for _, r := range regions {
		known := r.protectedErr == nil
		if known && len(r.protected) == 0 {
			continue
		}
		out = append(out, regionRestoreTested(fmt.Sprintf("arn:%s:backup:%s:%s:restore-jobs", part, r.region, acct), r, known, win))
	}
	if len(out) == 0 {
		out = append(out, finding(checkBackupRestoreTested, root, evidence.NotApplicable,
			"AWS Backup protects no resource in the regions read, so no restore is expected.", map[string]any{"lookback_days": win.lookbackDays}))
	}
	return out
}

func regionRestoreTested(resource string, r *backupRegion, hasBackupsKnown bool, win backupWindow) evidence.Finding {
	var done []restoreState
	other := map[string]int{}
	for _, j := range r.restores {
		if j.j.Status == bktypes.RestoreJobStatusCompleted && !aws.ToTime(j.j.CreationDate).Before(win.restoresAfter) {
			done = append(done, j)
		} else {
			other[string(j.j.Status)]++
		}
	}
	sort.Slice(done, func(i, k int) bool { return restoreTime(done[i]).After(restoreTime(done[k])) })
	latest := []map[string]any{}
	for _, j := range done[:min(len(done), 5)] {
		m := map[string]any{"restore_job_id": aws.ToString(j.j.RestoreJobId), "source_resource": aws.ToString(j.j.SourceResourceArn),
			"resource_type": aws.ToString(j.j.ResourceType), "created": ts(aws.ToTime(j.j.CreationDate)), "completed": ts(aws.ToTime(j.j.CompletionDate))}
		if j.j.CreatedResourceArn != nil {
			m["created_resource"] = aws.ToString(j.j.CreatedResourceArn)
		}
		if j.j.CreatedBy != nil && j.j.CreatedBy.RestoreTestingPlanArn != nil {
			m["restore_testing_plan"] = aws.ToString(j.j.CreatedBy.RestoreTestingPlanArn)
		}
		if j.j.ValidationStatus != "" {
			m["validation_status"] = string(j.j.ValidationStatus)
		}
		latest = append(latest, m)
	}
	obs := map[string]any{"region": r.region, "lookback_days": win.lookbackDays, "completed_restore_jobs": len(done), "latest_restore_jobs": latest}
	if hasBackupsKnown {
		obs["protected_resources"] = len(r.protected)
	} else {
		obs["protected_resources_error"] = r.protectedErr.Error()
	}
	if len(other) > 0 {
		obs["other_restore_jobs"] = other
	}
	if r.restoresErr != nil {
		obs["restore_jobs_error"] = r.restoresErr.Error()
	}
	switch {
	case len(done) > 0:
		j := done[0]
		return finding(checkBackupRestoreTested, resource, evidence.Pass,
			fmt.Sprintf("Restore jobs completed in %s in the last %d days: %d; the latest restored %s on %s.", r.region, win.lookbackDays, len(done), aws.ToString(j.j.SourceResourceArn), ts(restoreTime(j))), obs)
	case r.restoresErr != nil:
		return finding(checkBackupRestoreTested, resource, evidence.Error,
			fmt.Sprintf("The restore jobs of %s could not be listed, so whether a restore was tested there is unknown.", r.region), obs)
	case !hasBackupsKnown:
		return finding(checkBackupRestoreTested, resource, evidence.Error,
			fmt.Sprintf("No restore job completed in %s in the last %d days, and its protected resources could not be listed, so whether it holds backups is unknown.", r.region, win.lookbackDays), obs)
	}
	return finding(checkBackupRestoreTested, resource, evidence.Fail,
		fmt.Sprintf("AWS Backup protects %d resource(s) in %s, and no restore job completed there in the last %d days: no restore was tested.", len(r.protected), r.region, win.lookbackDays), obs)
}

func restoreTime(j restoreState) time.Time {
	if j.j.CompletionDate != nil {
		return *j.j.CompletionDate
	}
	return aws.ToTime(j.j.CreationDate)
}
