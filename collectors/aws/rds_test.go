package awscollector

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func rdsNew(s collector.Settings, t tuning) (collector.Collector, error) { return newRDS(s, t) }

const (
	rdsAurora       = "arn:aws:rds:us-east-1:111122223333:cluster:patients-aurora"
	rdsAuroraMember = "arn:aws:rds:us-east-1:111122223333:db:patients-aurora-1"
	rdsClaims       = "arn:aws:rds:us-east-1:111122223333:db:claims-mysql"
	rdsAnalytics    = "arn:aws:rds:us-east-1:111122223333:db:analytics-pg"
	rdsBilling      = "arn:aws:rds:us-east-1:111122223333:db:billing-mysql"
	rdsOps          = "arn:aws:rds:eu-west-1:111122223333:db:ops-postgres"
	rdsPublicSnap   = "arn:aws:rds:us-east-1:111122223333:snapshot:claims-mysql-export"
	rdsSharedSnap   = "arn:aws:rds:us-east-1:111122223333:snapshot:billing-mysql-pre-upgrade"
	rdsClusterSnap  = "arn:aws:rds:us-east-1:111122223333:cluster-snapshot:patients-aurora-pre-upgrade"
	rdsStagingDB    = "arn:aws:rds:eu-west-1:444455556666:db:staging-postgres"
)

func TestRDSDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.rds", rdsNew, nil)
	golden(t, "rds_demo", out.results)
}

// TestRDSPagination reads every listing one record per page (Marker and
// MaxRecords) and the evidence is the same.
func TestRDSPagination(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.PageSize = 1
	out := runCollector(t, sim, "aws.rds", rdsNew, nil)
	golden(t, "rds_demo", out.results)
	// us-east-1 has 5 instances, eu-west-1 1; an empty listing is one page.
	require.Equal(t, 6, sim.Count(prod, "rds", "DescribeDBInstances"))
	require.Equal(t, 2, sim.Count(prod, "rds", "DescribeDBClusters"))
	// Two manual DB snapshots in us-east-1 (the automated one is not
	// listed), none in eu-west-1.
	require.Equal(t, 3, sim.Count(prod, "rds", "DescribeDBSnapshots"))
	require.Equal(t, 2, sim.Count(prod, "rds", "DescribeDBClusterSnapshots"))
}

// TestRDSCallsPerResource: one page per listing and region, one
// attribute call per manual snapshot, nothing per instance or cluster.
func TestRDSCallsPerResource(t *testing.T) {
	sim := awssim.NewAt(simNow)
	runCollector(t, sim, "aws.rds", rdsNew, nil)
	for _, op := range []string{"DescribeDBInstances", "DescribeDBClusters", "DescribeDBSnapshots", "DescribeDBClusterSnapshots"} {
		require.Equal(t, 2, sim.Count(prod, "rds", op), op)
	}
	require.Equal(t, 2, sim.Count(prod, "rds", "DescribeDBSnapshotAttributes"))
	require.Equal(t, 1, sim.Count(prod, "rds", "DescribeDBClusterSnapshotAttributes"))
	require.Equal(t, 11, sim.Count(prod, "rds", ""))
}

// TestRDSRegionDenied: AccessDenied in one region and a region not
// enabled are run errors with error findings for the region, per listing;
// the other region's databases and snapshots are still judged.
func TestRDSRegionDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "")
	out := runCollector(t, sim, "aws.rds", rdsNew, func(src *collector.AWSSource) {
		src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"}
	})
	require.Len(t, out.results, 2)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	listings := []string{"rds:DescribeDBClusterSnapshots", "rds:DescribeDBClusters", "rds:DescribeDBInstances", "rds:DescribeDBSnapshots"}
	require.Len(t, p.Errors, 2*len(listings))
	for i, e := range p.Errors {
		region, code := "ap-east-1", "InvalidClientTokenId"
		if i >= len(listings) {
			region, code = "eu-west-1", "AccessDenied"
		}
		require.Equal(t, "account/111122223333/region/"+region, e.Where)
		require.Equal(t, listings[i%len(listings)], e.Operation)
		require.Contains(t, e.Message, code)
	}
	regionErrors := map[string]int{}
	for _, f := range p.Findings {
		require.NotContains(t, f.Resource, ":eu-west-1:", "nothing in the denied region is judged")
		if f.Resource == "arn:aws:iam::111122223333:root" {
			require.Equal(t, evidence.Error, f.Status)
			require.Contains(t, f.Reason, "could not all be listed")
			regionErrors[f.Check]++
		}
	}
	// Per region: the instance and cluster listings both bear on the
	// cluster-level checks, the two snapshot listings on both snapshot
	// checks.
	require.Equal(t, map[string]int{
		checkRDSEncrypted: 4, checkRDSBackupRetention: 4, checkRDSDeletionProtection: 4, checkRDSNotPublic: 2,
		checkRDSSnapshotEncrypted: 4, checkRDSSnapshotPublic: 4,
	}, regionErrors)
	// us-east-1 is intact: its fails and passes are as in the demo.
	for _, c := range []struct {
		check, arn string
		want       evidence.Result
	}{
		{checkRDSEncrypted, rdsClaims, evidence.Fail},
		{checkRDSEncrypted, rdsAurora, evidence.Pass},
		{checkRDSNotPublic, rdsAnalytics, evidence.Fail},
		{checkRDSBackupRetention, rdsBilling, evidence.Fail},
		{checkRDSDeletionProtection, rdsAurora, evidence.Pass},
		{checkRDSSnapshotPublic, rdsPublicSnap, evidence.Fail},
		{checkRDSSnapshotPublic, rdsSharedSnap, evidence.Pass},
		{checkRDSSnapshotEncrypted, rdsClusterSnap, evidence.Pass},
	} {
		require.Equal(t, c.want, findingOf(t, p, c.check, c.arn).Status, "%s %s", c.check, c.arn)
	}
	// Staging only misses the region it has not enabled.
	s := out.results[1]
	require.Equal(t, evidence.StatusPartial, s.Status)
	require.Len(t, s.Errors, len(listings))
	for _, e := range s.Errors {
		require.Contains(t, e.Where, "ap-east-1")
	}
	require.Equal(t, evidence.Pass, findingOf(t, s, checkRDSEncrypted, rdsStagingDB).Status)
}

// TestRDSAssumeRole: the staging account is read through its role.
func TestRDSAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.rds", rdsNew, nil)
	s := out.results[1]
	require.Equal(t, staging, s.Scope.Account)
	for _, chk := range []string{checkRDSEncrypted, checkRDSNotPublic, checkRDSBackupRetention, checkRDSDeletionProtection} {
		require.Equal(t, evidence.Pass, findingOf(t, s, chk, rdsStagingDB).Status, chk)
	}
	assumed := 0
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed++
			require.Equal(t, "exhibit-aws.rds", r.RoleSessionName)
		}
	}
	require.NotZero(t, assumed)
	require.NotZero(t, sim.Count(staging, "rds", "DescribeDBInstances"))
}

// TestRDSThrottlingRetried: RDS's Throttling answers are retried by the
// SDK's retryer and the evidence is unchanged.
func TestRDSThrottlingRetried(t *testing.T) {
	requireRetried(t, "aws.rds", rdsNew, "rds_demo", []string{"DescribeDBInstances", "DescribeDBClusters", "DescribeDBSnapshots", "DescribeDBClusterSnapshots", "DescribeDBSnapshotAttributes", "DescribeDBClusterSnapshotAttributes"}...)
}

// TestRDSPHITags: findings on tagged databases and snapshots say they
// hold ePHI, a snapshot of a tagged database holds it too, untagged ones
// are judged the same; without phi_tags nothing says phi.
func TestRDSPHITags(t *testing.T) {
	sim := awssim.NewAt(simNow)
	// The snapshot loses its own tag; its source instance is still tagged.
	for i := range sim.Accounts[prod].DBSnapshots {
		if sim.Accounts[prod].DBSnapshots[i].ID == "claims-mysql-export" {
			sim.Accounts[prod].DBSnapshots[i].Tags = nil
		}
	}
	p := runCollector(t, sim, "aws.rds", rdsNew, nil).results[0]
	claims := findingOf(t, p, checkRDSEncrypted, rdsClaims)
	require.Equal(t, evidence.Fail, claims.Status)
	require.Equal(t, true, claims.Observed["phi"])
	require.Contains(t, claims.Reason, "ePHI")
	require.Equal(t, true, findingOf(t, p, checkRDSSnapshotPublic, rdsPublicSnap).Observed["phi"], "inherited from claims-mysql")
	require.Equal(t, true, findingOf(t, p, checkRDSBackupRetention, rdsAurora).Observed["phi"])
	billing := findingOf(t, p, checkRDSBackupRetention, rdsBilling)
	require.Equal(t, evidence.Fail, billing.Status, "untagged databases are still checked")
	require.Equal(t, false, billing.Observed["phi"])

	none := runCollector(t, awssim.NewAt(simNow), "aws.rds", rdsNew, func(src *collector.AWSSource) { src.PHITags = nil }).results[0]
	require.NotContains(t, findingOf(t, none, checkRDSEncrypted, rdsClaims).Observed, "phi")
	require.Equal(t, evidence.Fail, findingOf(t, none, checkRDSEncrypted, rdsClaims).Status)
}

// TestRDSAurora: a cluster's members are judged only on whether they are
// publicly accessible; encryption, backups and deletion protection are
// the cluster's, on its ARN. A member whose cluster was not listed,
// though the listing succeeded, is an error on those checks.
func TestRDSAurora(t *testing.T) {
	p := runCollector(t, awssim.NewAt(simNow), "aws.rds", rdsNew, nil).results[0]
	for _, f := range p.Findings {
		if f.Resource == rdsAuroraMember {
			require.Equal(t, checkRDSNotPublic, f.Check, "only exposure is judged on a member")
		}
	}
	for _, chk := range []string{checkRDSEncrypted, checkRDSBackupRetention, checkRDSDeletionProtection} {
		require.Equal(t, evidence.Pass, findingOf(t, p, chk, rdsAurora).Status, chk)
	}
	var member evidence.Record
	for _, r := range p.Records {
		if r.ID == rdsAuroraMember {
			member = r
		}
	}
	require.Equal(t, "patients-aurora", member.Attributes["cluster"])
	require.Equal(t, rdsAurora, member.Attributes["settings_judged_on"])

	sim := awssim.NewAt(simNow)
	sim.Accounts[prod].DBClusters = nil
	p = runCollector(t, sim, "aws.rds", rdsNew, nil).results[0]
	for _, chk := range []string{checkRDSEncrypted, checkRDSBackupRetention, checkRDSDeletionProtection} {
		f := findingOf(t, p, chk, rdsAuroraMember)
		require.Equal(t, evidence.Error, f.Status, chk)
		require.Contains(t, f.Reason, "could not be read")
	}
}

// TestRDSCheckBoundaries: each check's pass, fail, not_applicable and
// error edges, on the parsed SDK types.
func TestRDSCheckBoundaries(t *testing.T) {
	inst := func(edit func(*rdstypes.DBInstance)) *database {
		in := &rdstypes.DBInstance{DBInstanceIdentifier: aws.String("db"), DBInstanceArn: aws.String("arn:aws:rds:us-east-1:1:db:db"),
			StorageEncrypted: aws.Bool(true), KmsKeyId: aws.String("arn:aws:kms:us-east-1:1:key/k"), PubliclyAccessible: aws.Bool(false),
			BackupRetentionPeriod: aws.Int32(7), DeletionProtection: aws.Bool(true)}
		if edit != nil {
			edit(in)
		}
		return &database{id: "db", arn: "arn:aws:rds:us-east-1:1:db:db", region: "us-east-1", instance: in}
	}
	verdicts := func(d *database, min int) map[string]evidence.Result {
		out := map[string]evidence.Result{}
		for _, f := range databaseFindings(d, min) {
			out[f.Check] = f.Status
		}
		return out
	}
	all := func(enc, pub, bk, del evidence.Result) map[string]evidence.Result {
		return map[string]evidence.Result{checkRDSEncrypted: enc, checkRDSNotPublic: pub, checkRDSBackupRetention: bk, checkRDSDeletionProtection: del}
	}
	P, F, NA := evidence.Pass, evidence.Fail, evidence.NotApplicable
	for _, tc := range []struct {
		name string
		edit func(*rdstypes.DBInstance)
		want map[string]evidence.Result
	}{
		{"compliant", nil, all(P, P, P, P)},
		{"unencrypted", func(in *rdstypes.DBInstance) { in.StorageEncrypted, in.KmsKeyId = aws.Bool(false), nil }, all(F, P, P, P)},
		{"encryption unset", func(in *rdstypes.DBInstance) { in.StorageEncrypted = nil }, all(F, P, P, P)},
		{"public", func(in *rdstypes.DBInstance) { in.PubliclyAccessible = aws.Bool(true) }, all(P, F, P, P)},
		{"backups exactly the minimum", func(in *rdstypes.DBInstance) { in.BackupRetentionPeriod = aws.Int32(7) }, all(P, P, P, P)},
		{"backups one day short", func(in *rdstypes.DBInstance) { in.BackupRetentionPeriod = aws.Int32(6) }, all(P, P, F, P)},
		{"backups off", func(in *rdstypes.DBInstance) { in.BackupRetentionPeriod = aws.Int32(0) }, all(P, P, F, P)},
		{"replica without backups", func(in *rdstypes.DBInstance) {
			in.BackupRetentionPeriod, in.ReadReplicaSourceDBInstanceIdentifier = aws.Int32(0), aws.String("src")
		}, all(P, P, NA, P)},
		{"replica with backups", func(in *rdstypes.DBInstance) { in.ReadReplicaSourceDBInstanceIdentifier = aws.String("src") }, all(P, P, P, P)},
		{"no deletion protection", func(in *rdstypes.DBInstance) { in.DeletionProtection = aws.Bool(false) }, all(P, P, P, F)},
		{"cluster member", func(in *rdstypes.DBInstance) {
			in.DBClusterIdentifier, in.DeletionProtection, in.StorageEncrypted = aws.String("c"), aws.Bool(false), aws.Bool(false)
		}, map[string]evidence.Result{checkRDSNotPublic: P}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, verdicts(inst(tc.edit), 7))
		})
	}
	require.Equal(t, F, verdicts(inst(nil), 8)[checkRDSBackupRetention], "the threshold is configuration")

	member := inst(func(in *rdstypes.DBInstance) { in.DBClusterIdentifier = aws.String("c") })
	member.parentErr = errors.New("not listed")
	got := verdicts(member, 7)
	require.Equal(t, all(evidence.Error, P, evidence.Error, evidence.Error), got)

	cl := &database{cluster: true, id: "c", arn: "arn:aws:rds:us-east-1:1:cluster:c", db: &rdstypes.DBCluster{
		StorageEncrypted: aws.Bool(true), BackupRetentionPeriod: aws.Int32(1), DeletionProtection: aws.Bool(false)}}
	require.Equal(t, map[string]evidence.Result{checkRDSEncrypted: P, checkRDSBackupRetention: F, checkRDSDeletionProtection: F}, verdicts(cl, 7))

	snap := func(restore []string, err error) evidence.Result {
		return dbSnapshotNotPublic(&snapshot{id: "s", arn: "arn:aws:rds:us-east-1:1:snapshot:s", restore: restore, attrsErr: err}).Status
	}
	require.Equal(t, P, snap([]string{}, nil))
	require.Equal(t, P, snap([]string{"444455556666"}, nil))
	require.Equal(t, F, snap([]string{"444455556666", "all"}, nil))
	require.Equal(t, evidence.Error, snap(nil, errors.New("denied")))
	shared := dbSnapshotNotPublic(&snapshot{id: "s", restore: []string{"222233334444", "all"}})
	require.Equal(t, []string{"222233334444"}, shared.Observed["shared_with"], "the other accounts are recorded beside the verdict")
	require.Equal(t, F, dbSnapshotEncrypted(&snapshot{id: "s"}).Status)
	require.Equal(t, P, dbSnapshotEncrypted(&snapshot{id: "s", encrypted: true, kmsKey: "k"}).Status)
}

// TestRDSSimErrors: the simulator's RDS errors are what the SDK's awsquery
// deserializer turns into RDS's own error types, as the service sends them.
func TestRDSSimErrors(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "DescribeDBClusters")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRetryMaxAttempts(1))
	require.NoError(t, err)
	client := func(region string) *rds.Client {
		return rds.NewFromConfig(cfg, func(o *rds.Options) { o.Region, o.BaseEndpoint = region, aws.String(srv.URL) })
	}
	_, err = client("us-east-1").DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("missing")})
	var noInstance *rdstypes.DBInstanceNotFoundFault
	require.ErrorAs(t, err, &noInstance)
	_, err = client("us-east-1").DescribeDBSnapshotAttributes(t.Context(), &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String("missing")})
	var noSnapshot *rdstypes.DBSnapshotNotFoundFault
	require.ErrorAs(t, err, &noSnapshot)
	_, err = client("us-east-1").DescribeDBClusterSnapshotAttributes(t.Context(), &rds.DescribeDBClusterSnapshotAttributesInput{DBClusterSnapshotIdentifier: aws.String("missing")})
	var noClusterSnapshot *rdstypes.DBClusterSnapshotNotFoundFault
	require.ErrorAs(t, err, &noClusterSnapshot)
	_, err = client("eu-west-1").DescribeDBClusters(t.Context(), &rds.DescribeDBClustersInput{})
	require.Equal(t, "AccessDenied", apiErrorCode(err))
	_, err = client("ap-east-1").DescribeDBInstances(t.Context(), &rds.DescribeDBInstancesInput{})
	require.Equal(t, "InvalidClientTokenId", apiErrorCode(err))

	// A public snapshot's restore attribute comes back as RDS writes it.
	out, err := client("us-east-1").DescribeDBSnapshotAttributes(t.Context(), &rds.DescribeDBSnapshotAttributesInput{DBSnapshotIdentifier: aws.String("claims-mysql-export")})
	require.NoError(t, err)
	require.Equal(t, "claims-mysql-export", aws.ToString(out.DBSnapshotAttributesResult.DBSnapshotIdentifier))
	require.Len(t, out.DBSnapshotAttributesResult.DBSnapshotAttributes, 1)
	require.Equal(t, "restore", aws.ToString(out.DBSnapshotAttributesResult.DBSnapshotAttributes[0].AttributeName))
	require.Equal(t, []string{"all"}, out.DBSnapshotAttributesResult.DBSnapshotAttributes[0].AttributeValues)
}
