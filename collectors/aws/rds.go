package awscollector

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// dbAPI lists the only RDS calls the collector makes. The four listings
// are paginated and carry each resource's tags; only the attributes of a
// manual snapshot are read one by one, since RDS has no bulk form of them.
type dbAPI interface {
	rds.DescribeDBInstancesAPIClient
	rds.DescribeDBClustersAPIClient
	rds.DescribeDBSnapshotsAPIClient
	rds.DescribeDBClusterSnapshotsAPIClient
	DescribeDBSnapshotAttributes(ctx context.Context, in *rds.DescribeDBSnapshotAttributesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBSnapshotAttributesOutput, error)
	DescribeDBClusterSnapshotAttributes(ctx context.Context, in *rds.DescribeDBClusterSnapshotAttributesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotAttributesOutput, error)
}

var _ dbAPI = (*rds.Client)(nil)

// rdsPageSize is the most records RDS returns in one page.
const rdsPageSize = 100

type rdsCollector struct{ perAccount }

func newRDS(s collector.Settings, tune tuning) (*rdsCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &rdsCollector{perAccount{sess}}, nil
}

func (c *rdsCollector) client(cfg aws.Config, region string) dbAPI {
	return rds.NewFromConfig(cfg, func(o *rds.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

// database is a DB instance or a DB cluster as listed.
type database struct {
	cluster         bool // a DB cluster, not an instance
	id, arn, region string
	instance        *rdstypes.DBInstance
	db              *rdstypes.DBCluster
	tags            map[string]string
	phi             bool
	// parent is the listed cluster of a member instance (Aurora or a
	// Multi-AZ DB cluster), which holds its encryption, backup and
	// deletion protection settings; parentErr says why it is missing.
	parent    *database
	parentErr error
}

// memberOf is the cluster a DB instance belongs to, or "".
func (d *database) memberOf() string {
	if d.instance == nil {
		return ""
	}
	return aws.ToString(d.instance.DBClusterIdentifier)
}

// snapshot is a manual DB snapshot or DB cluster snapshot.
type snapshot struct {
	cluster                 bool
	id, arn, region, source string
	encrypted               bool
	kmsKey, engine          string
	created                 *time.Time
	tags                    map[string]string
	phi                     bool
	// restore is the restore attribute's values: accounts the snapshot is
	// shared with, or "all"; read marks that it was read.
	restore  []string
	read     bool
	attrsErr error
}

func tagMap(tags []rdstypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// Collect lists every DB instance, DB cluster and manual snapshot of each
// region (their tags come with them) and reads the restore attribute of
// each manual snapshot. Automated snapshots are not listed: they cannot
// be shared, and are what the retention check covers.
func (c *rdsCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	root := accountARN(part, acct)
	res.Records = append(res.Records, phiRecord(root, c.s.src.PHITags))

	// The four listings share the account's regions, listed once.
	scope := req.Scope
	if len(scope.Regions) == 0 {
		regs, err := c.s.regions(ctx, cfg, scope)
		if err != nil {
			partial.Add(where(acct, "", ""), "ec2:DescribeRegions", err)
			for _, chk := range RDS.Checks {
				res.Findings = append(res.Findings, finding(chk, root, evidence.Error,
					"The account's regions could not be listed, so its RDS databases and snapshots were not read.", map[string]any{"error": err.Error()}))
			}
			return res, partial.Err()
		}
		scope.Regions = regs
	}
	var mu sync.Mutex
	clustersFailed := map[string]bool{}
	instances, _ := eachRegion(ctx, c.s, run, scope, listing{op: "rds:DescribeDBInstances", noun: "instance", checks: []string{checkRDSEncrypted, checkRDSNotPublic, checkRDSBackupRetention, checkRDSDeletionProtection}},
		func(ctx context.Context, region string) ([]*database, error) {
			var got []*database
			p := rds.NewDescribeDBInstancesPaginator(c.client(cfg, region), &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(rdsPageSize)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return got, fmt.Errorf("describe db instances: %w", err)
				}
				for i := range page.DBInstances {
					in := &page.DBInstances[i]
					got = append(got, &database{id: aws.ToString(in.DBInstanceIdentifier), arn: aws.ToString(in.DBInstanceArn), region: region, instance: in, tags: tagMap(in.TagList)})
				}
			}
			return got, nil
		})
	clusters, _ := eachRegion(ctx, c.s, run, scope, listing{op: "rds:DescribeDBClusters", noun: "cluster", checks: []string{checkRDSEncrypted, checkRDSBackupRetention, checkRDSDeletionProtection}},
		func(ctx context.Context, region string) ([]*database, error) {
			var got []*database
			p := rds.NewDescribeDBClustersPaginator(c.client(cfg, region), &rds.DescribeDBClustersInput{MaxRecords: aws.Int32(rdsPageSize)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					mu.Lock()
					clustersFailed[region] = true
					mu.Unlock()
					return got, fmt.Errorf("describe db clusters: %w", err)
				}
				for i := range page.DBClusters {
					cl := &page.DBClusters[i]
					got = append(got, &database{cluster: true, id: aws.ToString(cl.DBClusterIdentifier), arn: aws.ToString(cl.DBClusterArn), region: region, db: cl, tags: tagMap(cl.TagList)})
				}
			}
			return got, nil
		})
	snapshots, _ := eachRegion(ctx, c.s, run, scope, listing{op: "rds:DescribeDBSnapshots", noun: "snapshot", checks: []string{checkRDSSnapshotEncrypted, checkRDSSnapshotPublic}},
		func(ctx context.Context, region string) ([]*snapshot, error) {
			var got []*snapshot
			p := rds.NewDescribeDBSnapshotsPaginator(c.client(cfg, region), &rds.DescribeDBSnapshotsInput{SnapshotType: aws.String("manual"), MaxRecords: aws.Int32(rdsPageSize)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return got, fmt.Errorf("describe db snapshots: %w", err)
				}
				for _, s := range page.DBSnapshots {
					got = append(got, &snapshot{id: aws.ToString(s.DBSnapshotIdentifier), arn: aws.ToString(s.DBSnapshotArn), region: region,
						source: aws.ToString(s.DBInstanceIdentifier), encrypted: aws.ToBool(s.Encrypted), kmsKey: aws.ToString(s.KmsKeyId),
						engine: aws.ToString(s.Engine), created: s.SnapshotCreateTime, tags: tagMap(s.TagList)})
				}
			}
			return got, nil
		})
	clusterSnaps, _ := eachRegion(ctx, c.s, run, scope, listing{op: "rds:DescribeDBClusterSnapshots", noun: "cluster snapshot", checks: []string{checkRDSSnapshotEncrypted, checkRDSSnapshotPublic}},
		func(ctx context.Context, region string) ([]*snapshot, error) {
			var got []*snapshot
			p := rds.NewDescribeDBClusterSnapshotsPaginator(c.client(cfg, region), &rds.DescribeDBClusterSnapshotsInput{SnapshotType: aws.String("manual"), MaxRecords: aws.Int32(rdsPageSize)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return got, fmt.Errorf("describe db cluster snapshots: %w", err)
				}
				for _, s := range page.DBClusterSnapshots {
					got = append(got, &snapshot{cluster: true, id: aws.ToString(s.DBClusterSnapshotIdentifier), arn: aws.ToString(s.DBClusterSnapshotArn), region: region,
						source: aws.ToString(s.DBClusterIdentifier), encrypted: aws.ToBool(s.StorageEncrypted), kmsKey: aws.ToString(s.KmsKeyId),
						engine: aws.ToString(s.Engine), created: s.SnapshotCreateTime, tags: tagMap(s.TagList)})
				}
			}
			return got, nil
		})

	conf := len(c.s.src.PHITags) > 0
	byID := map[string]*database{}
	for _, d := range clusters {
		d.phi = conf && phiTagged(c.s.src.PHITags, d.tags)
		byID["cluster/"+d.region+"/"+d.id] = d
	}
	for _, d := range instances {
		d.phi = conf && phiTagged(c.s.src.PHITags, d.tags)
		byID["db/"+d.region+"/"+d.id] = d
		if cl := d.memberOf(); cl != "" {
			d.parent = byID["cluster/"+d.region+"/"+cl]
			if d.parent == nil && !clustersFailed[d.region] {
				d.parentErr = fmt.Errorf("DB cluster %s, which instance %s belongs to, was not among the clusters listed", cl, d.id)
			}
		}
	}

	snaps := append(snapshots, clusterSnaps...)
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].arn < snaps[j].arn })
	forEach(ctx, c.s.concurrency(), snaps, func(ctx context.Context, s *snapshot) {
		s.restore, s.attrsErr = c.restoreAttribute(ctx, c.client(cfg, s.region), s)
		s.read = s.attrsErr == nil
		if s.attrsErr != nil {
			mu.Lock()
			partial.Add(where(acct, s.region, s.arn), s.attrsOp(), s.attrsErr)
			mu.Unlock()
		}
	})

	dbs := append(clusters, instances...)
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].arn < dbs[j].arn })
	minDays := c.s.thresholds().RDSBackupRetentionDays
	for _, d := range dbs {
		res.Records = append(res.Records, databaseRecord(d, conf))
		for _, f := range databaseFindings(d, minDays) {
			res.Findings = append(res.Findings, markPHI(f, conf, d.phi, nil))
		}
	}
	for _, s := range snaps {
		if !s.read && s.attrsErr == nil {
			s.attrsErr = notRead(ctx)
			partial.Add(where(acct, s.region, s.arn), s.attrsOp(), s.attrsErr)
		}
		// A snapshot holds what its database held: it is ePHI when either
		// is tagged so.
		kind := "db/"
		if s.cluster {
			kind = "cluster/"
		}
		src := byID[kind+s.region+"/"+s.source]
		s.phi = conf && (phiTagged(c.s.src.PHITags, s.tags) || (src != nil && src.phi))
		res.Records = append(res.Records, dbSnapshotRecord(s, conf))
		res.Findings = append(res.Findings, markPHI(dbSnapshotEncrypted(s), conf, s.phi, nil), markPHI(dbSnapshotNotPublic(s), conf, s.phi, nil))
	}
	return res, partial.Err()
}

func (s *snapshot) attrsOp() string {
	if s.cluster {
		return "rds:DescribeDBClusterSnapshotAttributes"
	}
	return "rds:DescribeDBSnapshotAttributes"
}

// restoreAttribute reads who may restore a manual snapshot: account ids,
// or "all" when it is public.
func (c *rdsCollector) restoreAttribute(ctx context.Context, api dbAPI, s *snapshot) ([]string, error) {
	restore := []string{}
	add := func(name *string, values []string) {
		if aws.ToString(name) == "restore" {
			restore = append(restore, values...)
		}
	}
	if s.cluster {
		out, err := api.DescribeDBClusterSnapshotAttributes(ctx, &rds.DescribeDBClusterSnapshotAttributesInput{DBClusterSnapshotIdentifier: aws.String(s.id)})
		if err != nil {
			return nil, fmt.Errorf("describe db cluster snapshot attributes: %w", err)
		}
		if r := out.DBClusterSnapshotAttributesResult; r != nil {
			for _, a := range r.DBClusterSnapshotAttributes {
				add(a.AttributeName, a.AttributeValues)
			}
		}
	} else {
		out, err := api.DescribeDBSnapshotAttributes(ctx, &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String(s.id)})
		if err != nil {
			return nil, fmt.Errorf("describe db snapshot attributes: %w", err)
		}
		if r := out.DBSnapshotAttributesResult; r != nil {
			for _, a := range r.DBSnapshotAttributes {
				add(a.AttributeName, a.AttributeValues)
			}
		}
	}
	sort.Strings(restore)
	return restore, nil
}
