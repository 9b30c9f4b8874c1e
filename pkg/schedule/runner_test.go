package schedule

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// waitFor fails the test if cond does not hold within a generous limit; the
// limit guards against a hung test and is not a performance assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunsRepeatedlyWithoutOverlapAndStopsCleanly(t *testing.T) {
	var fastRuns, slowStarts, skipped, concurrent, maxConcurrent atomic.Int64
	release := make(chan struct{})
	jobs := []Job{
		{Name: "fast", Spec: "@every 1s", Run: func(context.Context) { fastRuns.Add(1) }},
		{Name: "slow", Spec: "@every 1s", Run: func(ctx context.Context) {
			n := concurrent.Add(1)
			defer concurrent.Add(-1)
			for {
				m := maxConcurrent.Load()
				if n <= m || maxConcurrent.CompareAndSwap(m, n) {
					break
				}
			}
			slowStarts.Add(1)
			<-release
		}},
	}
	r, err := NewRunner(jobs, time.Minute, zap.NewNop(), Hooks{Skipped: func(job string) {
		if job == "slow" {
			skipped.Add(1)
		}
	}})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	waitFor(t, "the fast job to run three times", func() bool { return fastRuns.Load() >= 3 })
	waitFor(t, "a slow run to be skipped", func() bool { return skipped.Load() >= 2 })
	require.Equal(t, int64(1), slowStarts.Load(), "a run that outlasts its interval must not be overlapped")
	require.Equal(t, int64(1), maxConcurrent.Load())

	cancel()
	// Stopping waits for the run in flight.
	select {
	case <-done:
		t.Fatal("runner returned while a run was still in flight")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-done)
}

func TestGraceExpiryCancelsRunsInFlight(t *testing.T) {
	var cancelled atomic.Bool
	started := make(chan struct{})
	var once sync.Once
	r, err := NewRunner([]Job{{Name: "stuck", Spec: "@every 1s", Run: func(ctx context.Context) {
		once.Do(func() { close(started) })
		<-ctx.Done()
		cancelled.Store(true)
	}}}, 10*time.Millisecond, zap.NewNop(), Hooks{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-started
	cancel()
	require.NoError(t, <-done)
	require.True(t, cancelled.Load())
}

func TestRejectsBadSpec(t *testing.T) {
	_, err := NewRunner([]Job{{Name: "x", Spec: "every day"}}, time.Second, zap.NewNop(), Hooks{})
	require.ErrorContains(t, err, `invalid cron expression "every day"`)
}

func TestExpected(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got, err := Expected("@daily", from, from.Add(72*time.Hour))
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, from, got[0])
}

func TestExpectedStopsWhenTheLibraryFindsNoRun(t *testing.T) {
	// 2100 is not a leap year, so after Feb 29 2096 the next run is in 2104,
	// beyond the five years the cron library looks ahead: Next returns the
	// zero time, which must end the list rather than repeat forever.
	from := time.Date(2097, 1, 1, 0, 0, 0, 0, time.UTC)
	got, err := Expected("0 0 29 2 *", from, from.AddDate(12, 0, 0))
	require.NoError(t, err)
	require.Empty(t, got)
}

// The real runner schedules an "@every" job for the start of the clock's
// next window, whenever it started, and a cron job as the library does; the
// first run comes no earlier than that.
func TestRunnerFiresEveryAtTheClocksWindows(t *testing.T) {
	const every = 2 * time.Second
	core, logs := observer.New(zapcore.InfoLevel)
	var firstRun atomic.Pointer[time.Time]
	jobs := []Job{
		{Name: "every", Spec: "@every 2s", Run: func(context.Context) {
			now := time.Now()
			firstRun.CompareAndSwap(nil, &now)
		}},
		{Name: "hourly", Spec: "@hourly", Run: func(context.Context) {}},
	}
	r, err := NewRunner(jobs, time.Minute, zap.New(core), Hooks{})
	require.NoError(t, err)
	// Start an odd number of seconds and a quarter into a window: firing
	// every 2s from the start, which the cron library rounds down to the
	// second, would land on odd seconds.
	time.Sleep(Window(every, time.Now()).Add(every + 1250*time.Millisecond).Sub(time.Now()))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	started := time.Now()
	go func() { done <- r.Run(ctx) }()
	waitFor(t, "the first run", func() bool { return firstRun.Load() != nil })
	cancel()
	require.NoError(t, <-done)

	next := map[string]time.Time{}
	for _, e := range logs.FilterMessage("scheduled").All() {
		next[e.ContextMap()["job"].(string)] = e.ContextMap()["next"].(time.Time)
	}
	require.Len(t, next, 2)
	require.Zero(t, next["every"].Sub(time.Unix(0, 0))%every, "a window's start: %s", next["every"])
	require.True(t, next["every"].After(started))
	require.False(t, next["every"].After(started.Add(every)), "the next window, not one after it")
	require.False(t, firstRun.Load().Before(next["every"]))
	require.Equal(t, next["hourly"], next["hourly"].Truncate(time.Hour), "cron expressions are unchanged")
	require.True(t, next["hourly"].After(started))
	require.False(t, next["hourly"].After(started.Add(time.Hour)))
}
