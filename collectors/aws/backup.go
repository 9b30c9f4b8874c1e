package awscollector

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// backupAPI lists the only AWS Backup calls the collector makes. Every
// region-wide fact comes from a paginated list: protected resources carry
// their last backup time, vaults their Vault Lock state, so nothing is
// read per resource or per vault. Only plans are read one by one (their
// rules and selections have no bulk form).
type backupAPI interface {
	backup.ListBackupPlansAPIClient
	GetBackupPlan(ctx context.Context, in *backup.GetBackupPlanInput, optFns ...func(*backup.Options)) (*backup.GetBackupPlanOutput, error)
	backup.ListBackupSelectionsAPIClient
	GetBackupSelection(ctx context.Context, in *backup.GetBackupSelectionInput, optFns ...func(*backup.Options)) (*backup.GetBackupSelectionOutput, error)
	backup.ListBackupVaultsAPIClient
	backup.ListProtectedResourcesAPIClient
	backup.ListBackupJobsAPIClient
	backup.ListRestoreJobsAPIClient
	backup.ListRestoreTestingPlansAPIClient
}

// taggingAPI finds the resources tagged as holding ePHI in one paginated
// call per region, whatever service they belong to.
type taggingAPI interface {
	resourcegroupstaggingapi.GetResourcesAPIClient
}

var (
	_ backupAPI  = (*backup.Client)(nil)
	_ taggingAPI = (*resourcegroupstaggingapi.Client)(nil)
)

type backupCollector struct{ perAccount }

func newBackup(s collector.Settings, tune tuning) (*backupCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &backupCollector{perAccount{sess}}, nil
}

func (c *backupCollector) client(cfg aws.Config, region string) backupAPI {
	return backup.NewFromConfig(cfg, func(o *backup.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func (c *backupCollector) taggingClient(cfg aws.Config, region string) taggingAPI {
	return resourcegroupstaggingapi.NewFromConfig(cfg, func(o *resourcegroupstaggingapi.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

// backupRegion is everything read about AWS Backup in one region. Each
// listing fails on its own: only the checks resting on it become errors.
type backupRegion struct {
	region string
	plans  []*planState
	// plansErr is ListBackupPlans failing: no plan of the region is known.
	plansErr     error
	vaults       []vaultState
	vaultsErr    error
	protected    []protectedState
	protectedErr error
	jobs         []jobState
	jobsErr      error
	restores     []restoreState
	restoresErr  error
	testing      []testingPlanState
	testingErr   error
	// tagged are the resources tagged as holding ePHI, read only when
	// phi_tags are configured.
	tagged    []taggedResource
	taggedErr error
}

// backupWindow is when the run's backup and restore jobs are looked for.
type backupWindow struct {
	now, jobsAfter, restoresAfter time.Time
	maxAge                        time.Duration
	lookbackDays                  int
}

// Collect reads, per region, the Backup plans with their rules and
// selections, the vaults, the protected resources with their last backup
// time, the backup jobs of the freshness window and the restore jobs of
// the restore lookback, and (with phi_tags) the resources tagged as
// holding ePHI.
func (c *backupCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	res.Records = append(res.Records, phiRecord(accountARN(part, acct), c.s.src.PHITags))
	th := c.s.thresholds()
	now := runTime(req)
	win := backupWindow{
		now: now, maxAge: time.Duration(th.BackupMaxAgeHours) * time.Hour, lookbackDays: th.RestoreTestLookbackDays,
		jobsAfter:     now.Add(-time.Duration(th.BackupMaxAgeHours) * time.Hour),
		restoresAfter: now.AddDate(0, 0, -th.RestoreTestLookbackDays),
	}
	regions, ok := eachRegion(ctx, c.s, run, req.Scope, listing{op: "backup:ListBackupPlans", noun: "Backup resource", checks: Backup.Checks},
		func(ctx context.Context, region string) ([]*backupRegion, error) {
			return []*backupRegion{c.readRegion(ctx, cfg, region, win)}, nil
		})
	if !ok {
		return res, partial.Err()
	}
	sort.Slice(regions, func(i, j int) bool { return regions[i].region < regions[j].region })
	for _, r := range regions {
		w := where(acct, r.region, "")
		for _, e := range []struct {
			op  string
			err error
		}{
			{"backup:ListBackupPlans", r.plansErr}, {"backup:ListBackupVaults", r.vaultsErr}, {"backup:ListProtectedResources", r.protectedErr},
			{"backup:ListBackupJobs", r.jobsErr}, {"backup:ListRestoreJobs", r.restoresErr}, {"backup:ListRestoreTestingPlans", r.testingErr},
			{"tag:GetResources", r.taggedErr},
		} {
			if e.err != nil {
				partial.Add(w, e.op, e.err)
			}
		}
	}

	var plans []*planState
	for _, r := range regions {
		plans = append(plans, r.plans...)
	}
	var mu sync.Mutex
	forEach(ctx, c.s.concurrency(), plans, func(ctx context.Context, p *planState) {
		c.readPlan(ctx, c.client(cfg, p.region), p)
		mu.Lock()
		defer mu.Unlock()
		p.addErrors(partial, acct)
	})
	for _, p := range plans {
		p.markUnread(ctx, partial, acct)
	}

	root := accountARN(part, acct)
	conf := len(c.s.src.PHITags) > 0
	for _, r := range regions {
		res.Records = append(res.Records, regionRecords(r, win)...)
	}
	res.Findings = append(res.Findings, coverageFindings(root, regions, conf)...)
	res.Findings = append(res.Findings, recentBackupFindings(root, regions, conf, win)...)
	res.Findings = append(res.Findings, jobFailureFindings(root, regions, conf, win)...)
	res.Findings = append(res.Findings, vaultLockFindings(root, regions, win)...)
	res.Findings = append(res.Findings, restoreTested(part, acct, root, regions, win)...)
	return res, partial.Err()
}

// readRegion makes the region's listings, each paginated to the end.
func (c *backupCollector) readRegion(ctx context.Context, cfg aws.Config, region string, win backupWindow) *backupRegion {
	api := c.client(cfg, region)
	r := &backupRegion{region: region}
	r.plans, r.plansErr = listPlans(ctx, api, region)
	r.vaults, r.vaultsErr = listVaults(ctx, api, region)
	r.protected, r.protectedErr = listProtected(ctx, api, region)
	r.jobs, r.jobsErr = listBackupJobs(ctx, api, region, win.jobsAfter)
	r.restores, r.restoresErr = listRestoreJobs(ctx, api, region, win.restoresAfter)
	r.testing, r.testingErr = listRestoreTestingPlans(ctx, api, region)
	if len(c.s.src.PHITags) > 0 {
		r.tagged, r.taggedErr = listTagged(ctx, c.taggingClient(cfg, region), region, c.s.src.PHITags)
	}
	return r
}
