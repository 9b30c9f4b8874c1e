package awssim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// ScaleLimits are the calls a second each account may make to a service
// in scale mode, by the simulator's service name: IAM 10, S3 100,
// CloudTrail 5 (issue 17's estate).
func ScaleLimits() map[string]float64 {
	return map[string]float64{"iam": 10, "s3": 100, "cloudtrail": 5}
}

// Scale is the size of a scale estate: accounts, and IAM users, buckets
// and trails in all, split evenly across the accounts.
type Scale struct {
	Accounts, Users, Buckets, Trails int
}

// IssueScale is issue 17's estate: 20 accounts, 2,000 IAM users, 5,000
// buckets and 40 trails, in two regions each.
var IssueScale = Scale{Accounts: 20, Users: 2000, Buckets: 5000, Trails: 40}

// ScaleExternalID is the external id every scale account's role demands.
const ScaleExternalID = "exhibit-scale-external-id"

// NewScale returns an estate of sc's size as of now, every account in
// us-east-1 and eu-west-1, in scale mode: ScaleLimits per account and
// service, and 30 ms ± 20 ms of latency on every answer. Its resources are
// mostly compliant, with a few planted problems of each kind (users
// without MFA, unversioned buckets), so that every check has work. The
// first account is the caller's own; the others are reached through their
// exhibit-reader role.
func NewScale(now time.Time, sc Scale) *Sim {
	now = now.UTC().Truncate(time.Second)
	ago := func(d int) time.Time { return now.AddDate(0, 0, -d) }
	regions := []Region{{Name: "us-east-1", OptIn: "opt-in-not-required"}, {Name: "eu-west-1", OptIn: "opt-in-not-required"}}
	names := []string{"us-east-1", "eu-west-1"}
	sim := &Sim{Now: now, PageSize: 1000, Accounts: map[string]*Account{},
		Limits: ScaleLimits(), Latency: 30 * time.Millisecond, Jitter: 20 * time.Millisecond}
	share := func(total, i int) int {
		n := total / sc.Accounts
		if i < total%sc.Accounts {
			n++
		}
		return n
	}
	for i := range sc.Accounts {
		id := fmt.Sprintf("%012d", 210000000000+i)
		a := &Account{ID: id, Name: fmt.Sprintf("scale-%02d", i), Regions: regions, Root: Root{MFA: true},
			Roles:             []Role{{Name: "exhibit-reader", Trust: trustAgent, Attached: []string{securityAudit}}},
			PasswordPolicy:    &PasswordPolicy{MinLength: 14, Reuse: 24, Upper: true, Lower: true, Numbers: true, Symbol: true},
			PublicAccessBlock: allBlocked()}
		if i == 0 {
			sim.Home = id
		} else {
			a.ExternalID = ScaleExternalID
		}
		for u := range share(sc.Users, i) {
			a.Users = append(a.Users, User{Name: fmt.Sprintf("user-%04d", u), Created: ago(400 + u%300), Password: u%2 == 0,
				PasswordLastUsed: ago(u % 30), MFA: u%10 != 0,
				Keys: []Key{{Active: true, Rotated: ago(u % 200), LastUsed: ago(1)}}})
		}
		for b := range share(sc.Buckets, i) {
			name := fmt.Sprintf("scale-%s-%04d", id, b)
			bk := &Bucket{Name: name, Region: names[b%2], Created: ago(500), Encryption: "AES256",
				Policy: TLSOnlyPolicy(name), PublicAccessBlock: allBlocked(), Versioning: "Enabled"}
			if b%3 == 0 {
				bk.Encryption, bk.KMSKey, bk.BucketKey = "aws:kms", fmt.Sprintf("arn:aws:kms:%s:%s:key/scale", bk.Region, id), true
			}
			if b%7 == 0 {
				bk.Versioning = ""
			}
			if b == 0 {
				bk.Region, bk.Versioning, bk.ObjectLockDays = "us-east-1", "Enabled", 2190
			}
			a.Buckets = append(a.Buckets, bk)
		}
		for t := range share(sc.Trails, i) {
			home := names[t%2]
			tr := Trail{Name: fmt.Sprintf("trail-%02d", t), HomeRegion: home, MultiRegion: t == 0, Validation: true,
				KMSKey: fmt.Sprintf("arn:aws:kms:%s:%s:key/trail", home, id), Prefix: fmt.Sprintf("t%02d", t),
				LogGroup: fmt.Sprintf("trail-%02d", t), Logging: true, LastDelivery: now.Add(-10 * time.Minute), ManagementRW: "All"}
			if len(a.Buckets) > 0 {
				tr.Bucket = a.Buckets[0].Name // trails share the account's log bucket
			}
			a.Trails = append(a.Trails, tr)
			a.LogGroups = append(a.LogGroups, LogGroup{Name: tr.LogGroup, Region: home, Retention: 2192})
		}
		sim.Accounts[id] = a
	}
	return sim
}

// bucketKey names one account's rate bucket for one service.
type bucketKey struct{ account, service string }

// rateBucket holds one second's calls and refills at the limit's rate.
type rateBucket struct {
	tokens float64
	last   time.Time
}

// allow takes a token from account's bucket for service, or reports that
// the call is over the limit.
func (s *Sim) allow(account, service string) bool {
	rate := s.Limits[service]
	if rate <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets == nil {
		s.buckets = map[bucketKey]*rateBucket{}
	}
	now := time.Now()
	k := bucketKey{account, service}
	b, ok := s.buckets[k]
	if !ok {
		b = &rateBucket{tokens: rate, last: now}
		s.buckets[k] = b
	}
	b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// latency is one answer's delay: Latency ± a uniform Jitter.
func (s *Sim) latency() time.Duration {
	d := s.Latency
	if s.Jitter > 0 {
		d += time.Duration(rand.Int64N(int64(2*s.Jitter)+1)) - s.Jitter
	}
	return max(d, 0)
}
