package awscollector

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// defaultRates are the calls per second each account may make to a
// service before the pacer holds its calls back, by SDK service id. AWS
// sends no rate headers and publishes no such figure for these reads, so
// the pacer cannot learn a limit before being refused; these are
// conservative caps the project chose (the rates its scale estate
// simulates: IAM 10/s, S3 100/s, CloudTrail 5/s), and
// sources.aws.rate_limits replaces any of them, 0 for none. A service not
// listed is not held back; for every service the adaptive mode still slows
// down once it is throttled.
var defaultRates = map[string]float64{
	"IAM":        10,
	"S3":         100,
	"CloudTrail": 5,
}

// pacer keeps one lane per account and service for its lifetime: the
// SDK's adaptive retryer, which learns from that service's throttling in
// that account alone, behind a token bucket at the service's rate. One
// account's throttling never slows another's, and a run starts with what
// the last one learned.
type pacer struct {
	tune tuning

	mu    sync.Mutex
	lanes map[laneKey]*lane
}

// processLanes are the lanes every AWS collector the factories build
// shares (defaultTuning names them): AWS's limits are per account and
// service, whichever collector spends them, so aws.cloudtrail and
// aws.logging running at once share one CloudTrail budget per account.
// The zero tuning paces as production does: defaultRates, adaptive mode,
// the SDK's backoff.
var processLanes = newPacer(tuning{})

type laneKey struct{ account, service string }

type lane struct {
	retry  aws.RetryerV2
	bucket *tokenBucket // nil: not paced
}

func newPacer(tune tuning) *pacer {
	return &pacer{tune: tune, lanes: map[laneKey]*lane{}}
}

// retryer is what the clients of one account share ("" for the agent's own
// credentials before the account is known): each call goes to its
// service's lane, which the SDK names in the call's context.
// configured are the source's rate_limits, which replace defaultRates
// service by service.
func (p *pacer) retryer(account string, configured map[string]float64) aws.Retryer {
	return &accountRetryer{RetryerV2: p.newRetryer(), p: p, account: account, configured: configured}
}

// lane returns the account's lane for service, made at its rate the first
// time (the process has one configuration, so one rate per service).
func (p *pacer) lane(account, service string, configured map[string]float64) *lane {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := laneKey{account, service}
	l, ok := p.lanes[k]
	if !ok {
		l = &lane{retry: p.newRetryer()}
		if rate := p.rate(service, configured); rate > 0 {
			l.bucket = newTokenBucket(rate)
		}
		p.lanes[k] = l
	}
	return l
}

func (p *pacer) rate(service string, configured map[string]float64) float64 {
	if p.tune.noRateLimit {
		return 0
	}
	if p.tune.rates != nil {
		return p.tune.rates[service]
	}
	if r, ok := configured[service]; ok {
		return r
	}
	return defaultRates[service]
}

// newRetryer is the SDK's adaptive mode: standard retries with backoff,
// plus a client-side rate that slows down when the service throttles.
func (p *pacer) newRetryer() aws.RetryerV2 {
	var std []func(*retry.StandardOptions)
	if p.tune.backoff != nil {
		std = append(std, func(so *retry.StandardOptions) { so.Backoff = p.tune.backoff })
	}
	if p.tune.noRateLimit {
		return retry.NewStandard(std...)
	}
	return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, std...)
	})
}

// accountRetryer hands the token calls, which carry the call's context, to
// the lane of its service; the embedded retryer, configured as every lane
// is, answers the calls that hold no state (retryable, delay, attempts).
type accountRetryer struct {
	aws.RetryerV2
	p          *pacer
	account    string
	configured map[string]float64
}

// GetAttemptToken waits for the service's rate, then for its adaptive
// rate, before each attempt (first or retry).
func (r *accountRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	l := r.p.lane(r.account, awsmiddleware.GetServiceID(ctx), r.configured)
	if l.bucket != nil {
		if err := l.bucket.wait(ctx); err != nil {
			return nil, err
		}
	}
	return l.retry.GetAttemptToken(ctx)
}

// GetRetryToken takes a retry's cost from the service's own retry quota.
func (r *accountRetryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	return r.p.lane(r.account, awsmiddleware.GetServiceID(ctx), r.configured).retry.GetRetryToken(ctx, opErr)
}

// tokenBucket allows rate calls a second, with a burst of half a second's
// calls (at least one): a small run is not held back, and calls sent
// together take at most half of what a service's own bucket of a second's
// calls holds, leaving the rest for the network's jitter.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64) *tokenBucket {
	burst := max(1, rate/2)
	return &tokenBucket{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// wait takes a token, sleeping until it is due; a call whose context ends
// first gives its token back.
func (b *tokenBucket) wait(ctx context.Context) error {
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		b.tokens++
		b.mu.Unlock()
		return ctx.Err()
	}
}
