package awscollector

import (
	"fmt"
	"testing"
	"time"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
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
