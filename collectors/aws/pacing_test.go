package awscollector

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"
)

// serviceCtx is a context as the SDK's middleware leaves it for a call to
// service.
func serviceCtx(t *testing.T, service string) context.Context {
	return awsmiddleware.SetServiceID(middleware.ClearStackValues(t.Context()), service)
}

// TestRetryerIsAdaptive: production clients use the SDK's adaptive mode,
// one per account and service, kept for the pacer's lifetime (for the
// factories' collectors, the process's).
func TestRetryerIsAdaptive(t *testing.T) {
	p := newPacer(defaultTuning())
	r, ok := p.retryer("111122223333", nil).(*accountRetryer)
	require.True(t, ok)
	_, ok = r.RetryerV2.(*retry.AdaptiveMode)
	require.True(t, ok)
	a := p.lane("111122223333", "IAM", nil)
	_, ok = a.retry.(*retry.AdaptiveMode)
	require.True(t, ok)
	require.Same(t, a, p.lane("111122223333", "IAM", nil), "a later client, or run, shares the lane")
	require.NotSame(t, a, p.lane("444455556666", "IAM", nil), "another account has its own")
	require.NotSame(t, a, p.lane("111122223333", "S3", nil), "another service has its own")
	require.NotNil(t, a.bucket)
	require.Nil(t, p.lane("111122223333", "EC2", nil).bucket, "a service without a known rate is not held back")
}

// TestPacerLanesApart: an account that spends its IAM budget leaves other
// accounts' IAM budget, and its own S3 budget, whole.
func TestPacerLanesApart(t *testing.T) {
	p := newPacer(tuning{rates: map[string]float64{"IAM": 1, "S3": 1}})
	busy := p.retryer("111122223333", nil).(aws.RetryerV2)
	release, err := busy.GetAttemptToken(serviceCtx(t, "IAM"))
	require.NoError(t, err)
	require.NoError(t, release(nil))
	// The next IAM call in that account must wait a second for its token;
	// a context that ends first gets an error, and the token back.
	ctx, cancel := context.WithCancel(serviceCtx(t, "IAM"))
	cancel()
	_, err = busy.GetAttemptToken(ctx)
	require.ErrorIs(t, err, context.Canceled)

	for _, c := range []struct{ account, service string }{{"444455556666", "IAM"}, {"111122223333", "S3"}} {
		ctx, cancel := context.WithCancel(serviceCtx(t, c.service))
		cancel() // a wait would fail: these must not wait
		_, err := p.retryer(c.account, nil).(aws.RetryerV2).GetAttemptToken(ctx)
		require.NoError(t, err, "%s %s", c.account, c.service)
	}
}

// TestConfiguredRatesReplaceDefaults: sources.aws.rate_limits sets a
// service's cap, 0 turns it off, and an unnamed service keeps its default.
func TestConfiguredRatesReplaceDefaults(t *testing.T) {
	p := newPacer(defaultTuning())
	configured := map[string]float64{"S3": 0, "EC2": 20, "IAM": 40}
	require.Nil(t, p.lane("111122223333", "S3", configured).bucket, "rate 0: not held back")
	require.Equal(t, 20.0, p.lane("111122223333", "EC2", configured).bucket.rate)
	require.Equal(t, 40.0, p.lane("111122223333", "IAM", configured).bucket.rate)
	require.Equal(t, defaultRates["CloudTrail"], p.lane("111122223333", "CloudTrail", configured).bucket.rate)
}
