package awscollector

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// BenchmarkIAM reports the IAM calls and time one account's IAM evidence
// costs as the number of users grows.
func BenchmarkIAM(b *testing.B) {
	for _, n := range []int{5, 500, 5000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			sim.PageSize = 1000
			a := sim.Accounts[prod]
			a.Users = nil
			for i := range n {
				a.Users = append(a.Users, awssim.User{Name: fmt.Sprintf("user%05d", i), Created: simNow.AddDate(-1, 0, 0),
					Password: true, PasswordLastUsed: simNow.Add(-time.Hour), MFA: i%3 != 0})
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.iam", iamNew, nil)
			}
			b.ReportMetric(float64(sim.Count(prod, "iam", ""))/float64(b.N), "iam-calls/op")
		})
	}
}

// BenchmarkDynamoDB reports the DynamoDB and KMS calls per table as the
// number of tables grows: two per table, one DescribeKey per distinct key.
func BenchmarkDynamoDB(b *testing.B) {
	for _, n := range []int{5, 500} {
		b.Run(fmt.Sprintf("tables=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			a := sim.Accounts[prod]
			a.Tables = nil
			for i := range n {
				a.Tables = append(a.Tables, awssim.Table{Name: fmt.Sprintf("table%05d", i), Region: "us-east-1", Created: simNow.AddDate(-1, 0, 0),
					SSE: "KMS", KMSKey: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", PITR: i%2 == 0})
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.dynamodb", dynamoNew, nil)
			}
			runs := float64(b.N)
			b.ReportMetric(float64(sim.Count(prod, "dynamodb", ""))/runs/float64(n), "dynamodb-calls/table")
			b.ReportMetric(float64(sim.Count(prod, "kms", "DescribeKey"))/runs, "describe-key/op")
		})
	}
}

// BenchmarkKMS reports the KMS calls per key as the number of keys grows.
func BenchmarkKMS(b *testing.B) {
	for _, n := range []int{5, 500} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			a := sim.Accounts[prod]
			a.Keys = nil
			for i := range n {
				a.Keys = append(a.Keys, awssim.KMSKey{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Region: "us-east-1", Created: simNow.AddDate(-1, 0, 0),
					Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", State: "Enabled", Rotation: i%2 == 0})
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.kms", kmsNew, nil)
			}
			b.ReportMetric(float64(sim.Count(prod, "kms", ""))/float64(b.N)/float64(n), "kms-calls/key")
		})
	}
}

// BenchmarkEBS reports the EC2 calls per volume and snapshot as both grow:
// listings are paged (500 volumes, 1000 snapshots a page), and only the
// one public snapshot has its permission read, so calls per resource fall
// as resources grow.
func BenchmarkEBS(b *testing.B) {
	for _, n := range []int{10, 1000, 5000} {
		b.Run(fmt.Sprintf("volumes=snapshots=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			sim.PageSize = 1000
			a := sim.Accounts[prod]
			a.Volumes, a.Snapshots = nil, nil
			for i := range n {
				id := fmt.Sprintf("%017x", i)
				a.Volumes = append(a.Volumes, awssim.Volume{ID: "vol-" + id, Region: "us-east-1", AZ: "us-east-1a", Created: simNow.AddDate(-1, 0, 0),
					SizeGiB: 8, Type: "gp3", Encrypted: i%2 == 0, KMSKey: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"})
				a.Snapshots = append(a.Snapshots, awssim.Snapshot{ID: "snap-" + id, Region: "us-east-1", VolumeID: "vol-" + id, Started: simNow.AddDate(0, 0, -1),
					SizeGiB: 8, Public: i == 0})
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.ebs", ebsNew, nil)
			}
			runs := float64(b.N)
			b.ReportMetric(float64(sim.Count(prod, "ec2", ""))/runs/float64(2*n), "ec2-calls/resource")
			b.ReportMetric(float64(sim.Count(prod, "ec2", ""))/runs, "ec2-calls/op")
			b.ReportMetric(float64(sim.Count(prod, "ec2", "DescribeSnapshotAttribute"))/runs, "snapshot-attribute/op")
		})
	}
}

// BenchmarkRDS reports the RDS calls per resource as instances and manual
// snapshots grow: a page per 100 resources for each listing and region,
// and one attribute call per manual snapshot.
func BenchmarkRDS(b *testing.B) {
	for _, n := range []int{5, 500} {
		b.Run(fmt.Sprintf("instances=%d,snapshots=%d", n, n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			a := sim.Accounts[prod]
			a.DBInstances, a.DBClusters, a.DBSnapshots = nil, nil, nil
			for i := range n {
				id := fmt.Sprintf("db%05d", i)
				a.DBInstances = append(a.DBInstances, awssim.DBInstance{ID: id, Region: "us-east-1", Engine: "postgres", EngineVersion: "16.4", Class: "db.t4g.small",
					Created: simNow.AddDate(-1, 0, 0), Encrypted: i%2 == 0, BackupDays: 7, DeletionProtection: true})
				a.DBSnapshots = append(a.DBSnapshots, awssim.DBSnapshot{ID: id + "-manual", Region: "us-east-1", Source: id, Engine: "postgres", Created: simNow.AddDate(0, 0, -1)},
					awssim.DBSnapshot{Region: "us-east-1", Source: id, Engine: "postgres", Created: simNow.AddDate(0, 0, -1), Automated: true})
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.rds", rdsNew, nil)
			}
			runs := float64(b.N)
			b.ReportMetric(float64(sim.Count(prod, "rds", ""))/runs/float64(2*n), "rds-calls/resource")
			b.ReportMetric(float64(sim.Count(prod, "rds", "DescribeDBInstances"))/runs, "describe-instances/op")
			b.ReportMetric(float64(sim.Count(prod, "rds", "DescribeDBSnapshotAttributes"))/runs, "snapshot-attributes/op")
		})
	}
}

// BenchmarkBackup reports the Backup calls per protected resource as
// protected resources and backup jobs grow: the lists page (1000 a page),
// so calls stay near one per list per region, not one per resource.
func BenchmarkBackup(b *testing.B) {
	for _, n := range []int{5, 500, 5000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			sim.PageSize = 1000
			bk := &sim.Accounts[prod].Backup
			bk.Protected, bk.Jobs = nil, nil
			for i := range n {
				arn := fmt.Sprintf("arn:aws:dynamodb:us-east-1:111122223333:table/t%05d", i)
				bk.Protected = append(bk.Protected, awssim.ProtectedResource{ARN: arn, Type: "DynamoDB", Name: fmt.Sprintf("t%05d", i), Region: "us-east-1", Vault: "phi-vault", LastBackup: simNow.Add(-time.Hour)})
				bk.Jobs = append(bk.Jobs, awssim.BackupJob{ID: fmt.Sprintf("job-%05d", i), Region: "us-east-1", ResourceARN: arn, ResourceType: "DynamoDB", Vault: "phi-vault",
					State: "COMPLETED", Created: simNow.Add(-2 * time.Hour), Completed: simNow.Add(-time.Hour)})
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.backup", backupNew, nil)
			}
			runs := float64(b.N)
			b.ReportMetric(float64(sim.Count(prod, "backup", ""))/runs/float64(n), "backup-calls/resource")
			b.ReportMetric(float64(sim.Count(prod, "backup", ""))/runs, "backup-calls/op")
			b.ReportMetric(float64(sim.Count(prod, "tagging", ""))/runs, "tagging-calls/op")
		})
	}
}

// BenchmarkNetwork reports the EC2 calls per security group as groups
// grow: one DescribeSecurityGroups page per 1000 groups and region, and
// nothing per group.
func BenchmarkNetwork(b *testing.B) {
	for _, n := range []int{10, 1000, 5000} {
		b.Run(fmt.Sprintf("groups=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			sim.PageSize = 1000
			a := sim.Accounts[prod]
			a.SecurityGroups = nil
			for i := range n {
				g := awssim.SecurityGroup{ID: fmt.Sprintf("sg-%017x", i), Name: fmt.Sprintf("app-%05d", i), Region: "us-east-1", VPC: "vpc-0a1b2c3d4e5f60001",
					Ingress: []awssim.SGRule{{Protocol: "tcp", From: 443, To: 443, CIDRs: []string{"0.0.0.0/0"}}, {Protocol: "tcp", From: 5432, To: 5432, CIDRs: []string{"10.0.0.0/16"}}},
					Egress:  []awssim.SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}}
				if i%10 == 0 {
					g.Ingress = append(g.Ingress, awssim.SGRule{Protocol: "tcp", From: 22, To: 22, CIDRs: []string{"0.0.0.0/0"}})
				}
				a.SecurityGroups = append(a.SecurityGroups, g)
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.network", networkNew, nil)
			}
			runs := float64(b.N)
			b.ReportMetric(float64(sim.Count(prod, "ec2", ""))/runs/float64(n), "ec2-calls/group")
			b.ReportMetric(float64(sim.Count(prod, "ec2", "DescribeSecurityGroups"))/runs, "describe-security-groups/op")
		})
	}
}

// BenchmarkLogging reports the calls per log group as groups grow: log
// groups page 50 at a time, metric filters and alarms are listed once a
// region (a page each here), and only tags are read per group — and only
// with phi_tags set.
func BenchmarkLogging(b *testing.B) {
	for _, n := range []int{10, 1000} {
		for _, tags := range []bool{false, true} {
			b.Run(fmt.Sprintf("groups=%d,phi_tags=%v", n, tags), func(b *testing.B) {
				sim := awssim.NewAt(simNow)
				sim.PageSize = 1000
				a := sim.Accounts[prod]
				for i := range n {
					a.LogGroups = append(a.LogGroups, awssim.LogGroup{Name: fmt.Sprintf("/app/service-%05d", i), Region: "us-east-1", Retention: 365 * (i % 7)})
				}
				edit := func(src *collector.AWSSource) {
					if !tags {
						src.PHITags = nil
					}
				}
				b.ResetTimer()
				for b.Loop() {
					runCollector(b, sim, "aws.logging", loggingNew, edit)
				}
				runs, groups := float64(b.N), float64(n+len(awssim.NewAt(simNow).Accounts[prod].LogGroups))
				all := sim.Count(prod, "logs", "") + sim.Count(prod, "monitoring", "") + sim.Count(prod, "cloudtrail", "") + sim.Count(prod, "ec2", "")
				b.ReportMetric(float64(all)/runs/groups, "calls/log-group")
				b.ReportMetric(float64(sim.Count(prod, "logs", "DescribeLogGroups"))/runs, "describe-log-groups/op")
				b.ReportMetric(float64(sim.Count(prod, "logs", "ListTagsForResource"))/runs/groups, "tags/log-group")
			})
		}
	}
}

// BenchmarkThreatDetection reports the GuardDuty calls per finding as the
// unarchived high findings grow (GuardDuty pages finding ids 50 at a time
// and GetFindings takes 50, so about 2/50 of a call per finding, plus a
// fixed few per region), beside as many archived and low findings that
// GuardDuty's own criteria keep from costing anything, and the fixed
// Security Hub and Config calls per region.
func BenchmarkThreatDetection(b *testing.B) {
	for _, n := range []int{10, 500, 5000} {
		b.Run(fmt.Sprintf("findings=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			sim.PageSize = 1000
			d := &sim.Accounts[prod].GuardDuty[0]
			d.Findings = nil
			for i := range n {
				d.Findings = append(d.Findings,
					awssim.GuardDutyFinding{ID: fmt.Sprintf("a%031d", i), Type: "UnauthorizedAccess:EC2/SSHBruteForce", Title: "t", Severity: 8,
						Created: simNow.AddDate(0, 0, -(i % 60)), Updated: simNow, InstanceID: fmt.Sprintf("i-%017d", i)},
					awssim.GuardDutyFinding{ID: fmt.Sprintf("b%031d", i), Type: "Recon:EC2/PortProbeUnprotectedPort", Title: "t", Severity: 2,
						Created: simNow.AddDate(0, 0, -40), Updated: simNow, InstanceID: fmt.Sprintf("i-%017d", i)},
					awssim.GuardDutyFinding{ID: fmt.Sprintf("c%031d", i), Type: "Trojan:EC2/DNSDataExfiltration", Title: "t", Severity: 8, Archived: true,
						Created: simNow.AddDate(0, 0, -40), Updated: simNow, InstanceID: fmt.Sprintf("i-%017d", i)})
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.threat_detection", threatNew, nil)
			}
			runs := float64(b.N)
			b.ReportMetric(float64(sim.Count(prod, "guardduty", ""))/runs/float64(n), "guardduty-calls/finding")
			b.ReportMetric(float64(sim.Count(prod, "guardduty", "ListFindings"))/runs, "list-findings/op")
			b.ReportMetric(float64(sim.Count(prod, "guardduty", "GetFindings"))/runs, "get-findings/op")
			b.ReportMetric(float64(sim.Count(prod, "securityhub", "")+sim.Count(prod, "config", ""))/runs/2, "hub+config-calls/region")
		})
	}
}

// BenchmarkIdentityCenter reports the Identity Center calls per user and
// per assignment as the store and the estate grow. Users and groups page
// (100 a page); memberships are one list per group; each permission set
// costs five reads; assignments one ListAccountAssignments per set and
// account it is provisioned to, however many principals hold it there —
// ListAccountAssignmentsForPrincipal would cost one call per user and
// group instead, and could not show assignments to deleted users.
func BenchmarkIdentityCenter(b *testing.B) {
	for _, n := range []int{10, 200, 2000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			ic := sim.Accounts[prod].IdentityCenter
			groups := max(n/50, 2)
			accounts := []string{prod, staging, awssim.ThirdAccount}
			ic.Users, ic.Groups, ic.Assignments = nil, nil, nil
			for g := range groups {
				ic.Groups = append(ic.Groups, awssim.ICGroup{ID: fmt.Sprintf("group-%04d", g), Name: fmt.Sprintf("team-%d", g)})
			}
			for i := range n {
				id := fmt.Sprintf("user-%05d", i)
				ic.Users = append(ic.Users, awssim.ICUser{ID: id, UserName: id + "@acme.example", DisplayName: "U " + id, Email: id + "@acme.example", Created: simNow})
				g := &ic.Groups[i%groups]
				g.Members = append(g.Members, id)
				// Every tenth user also holds ReadOnly directly in one account.
				if i%10 == 0 {
					ic.Assignments = append(ic.Assignments, awssim.AccountAssignment{Account: accounts[i%3], PermissionSet: ic.Sets[1].ID, PrincipalType: "USER", PrincipalID: id})
				}
			}
			for g := range ic.Groups {
				for _, a := range accounts {
					ic.Assignments = append(ic.Assignments, awssim.AccountAssignment{Account: a, PermissionSet: ic.Sets[g%2].ID, PrincipalType: "GROUP", PrincipalID: ic.Groups[g].ID})
				}
			}
			b.ResetTimer()
			for b.Loop() {
				runCollector(b, sim, "aws.identity_center", icNew, nil)
			}
			runs := float64(b.N)
			calls := float64(sim.Count(prod, "sso", "")+sim.Count(prod, "identitystore", "")) / runs
			b.ReportMetric(calls, "calls/op")
			b.ReportMetric(calls/float64(n), "calls/user")
			b.ReportMetric(calls/float64(len(ic.Assignments)), "calls/assignment")
			b.ReportMetric(float64(sim.Count(prod, "sso", "ListAccountAssignments"))/runs, "ListAccountAssignments/op")
		})
	}
}

// BenchmarkTrailBuckets runs aws.cloudtrail over an account whose trails
// each log to a bucket of their own, so that reading each bucket's
// retention (three S3 calls) dominates.
func BenchmarkTrailBuckets(b *testing.B) {
	for _, n := range []int{50} {
		b.Run(fmt.Sprintf("trails=%d", n), func(b *testing.B) {
			sim := awssim.NewAt(simNow)
			a := sim.Accounts[prod]
			first, bucket := a.Trails[0], a.Trails[0].Bucket
			var tmpl *awssim.Bucket
			for _, bk := range a.Buckets {
				if bk.Name == bucket {
					tmpl = bk
				}
			}
			require.NotNil(b, tmpl)
			for i := range n - 1 {
				tr, bk := first, *tmpl
				tr.Name, tr.MultiRegion, tr.LogGroup = fmt.Sprintf("trail%03d", i), false, ""
				bk.Name = fmt.Sprintf("trail-logs-%03d", i)
				tr.Bucket = bk.Name
				a.Trails = append(a.Trails, tr)
				a.Buckets = append(a.Buckets, &bk)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				out := runCollector(b, sim, "aws.cloudtrail", trailNew, nil)
				require.Equal(b, evidence.StatusComplete, out.results[0].Status, "%v", out.results[0].Errors)
			}
			b.ReportMetric(float64(sim.Count(prod, "s3", "GetBucketLocation"))/float64(b.N), "bucket-locations/op")
		})
	}
}
