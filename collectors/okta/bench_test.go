package okta

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

var pacingUsers = flag.Int("pacing-users", 3000, "BenchmarkPacing: users in the org besides the demo's")

// BenchmarkPacing runs okta.access over an org of a few thousand users
// against the simulator with a per-bucket limit (100 calls per bucket per
// second, Okta's per-minute windows scaled down to seconds so that a run
// takes seconds, not minutes) and 30 ms of latency, without the pacer and
// with it. It reports the calls, the 429 answers, the calls the pacer held
// back, the errors left in the evidence, and the floor: the calls of the
// busiest bucket divided by its rate. Run with
//
//	go test ./collectors/okta/ -run '^$' -bench BenchmarkPacing -benchtime 1x
//
// and -args -pacing-users 10000 for the org of issue 17.
func BenchmarkPacing(b *testing.B) {
	users := *pacingUsers
	const limit, latency = 100, 30 * time.Millisecond
	for _, pacing := range []bool{false, true} {
		b.Run(fmt.Sprintf("users=%d/pacing=%t", users, pacing), func(b *testing.B) {
			var calls, tooMany, paced, errs int
			var floor, wall time.Duration
			for b.Loop() {
				start := time.Now()
				res, sim, rec, err := scaleRun(b, users, limit, time.Second, latency, pacing)
				wall += time.Since(start)
				if res == nil {
					b.Fatalf("run failed: %v", err)
				}
				if pe := (*collector.PartialError)(nil); errors.As(err, &pe) {
					errs += len(pe.Errors)
				} else if err != nil {
					b.Fatal(err)
				}
				tooMany += sim.TooManyRequests()
				perBucket := map[string]int{}
				for _, c := range rec.Calls() {
					calls++
					if c.HTTPStatus != http.StatusTooManyRequests {
						perBucket[bucketOf(c.Operation)]++
					}
				}
				busiest := 0
				for _, n := range perBucket {
					busiest = max(busiest, n)
				}
				floor += time.Duration(busiest) * time.Second / limit
				for _, r := range res.Records {
					if r.Type == "rate_limit_bucket" {
						paced += r.Attributes["paced_calls"].(int)
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(calls)/n, "calls/op")
			b.ReportMetric(float64(tooMany)/n, "429/op")
			b.ReportMetric(100*float64(tooMany)/float64(calls), "%429")
			b.ReportMetric(float64(paced)/n, "paced/op")
			b.ReportMetric(float64(errs)/n, "errors/op")
			b.ReportMetric(floor.Seconds()/n, "floor-s")
			b.ReportMetric(wall.Seconds()/floor.Seconds(), "x-floor")
		})
	}
}

// bucketOf is the bucket of a recorded call, whose operation is the
// collector's own name; the path is what the bucket depends on.
func bucketOf(op string) string {
	switch op {
	case "users.list":
		return bucket(http.MethodGet, "/api/v1/users")
	case "groups.list", "groups.list_users":
		return bucket(http.MethodGet, "/api/v1/groups")
	case "apps.list", "apps.list_users", "apps.list_group_assign":
		return bucket(http.MethodGet, "/api/v1/apps")
	}
	if u, err := url.Parse(op); err == nil && u.Path != "" && u.Path[0] == '/' {
		return bucket(http.MethodGet, u.Path)
	}
	return "/api/v1" // factors, policies, rules
}
