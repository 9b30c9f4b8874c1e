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
