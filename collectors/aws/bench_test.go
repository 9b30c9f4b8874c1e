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
