package awscollector

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// scaleOutcome is one run of a collector over every account of a scale
// estate, as the agent makes it: scopes side by side, each with its own
// recorder.
type scaleOutcome struct {
	wall       time.Duration
	statuses   map[evidence.Status]int
	calls      []evidence.Call // every scope's, and discovery's
	incomplete []string        // scopes whose snapshot would not be complete, and why
}

// scaleRun runs one collector (a new one, as a new process would) over
// sim's accounts, scopes at a time.
func scaleRun(t testing.TB, sim *awssim.Sim, srvURL string, typ string, nf newFunc, tune tuning, scopes int, client *http.Client) scaleOutcome {
	t.Helper()
	src := sim.Source(srvURL)
	src.Concurrency = 0 // the default, as a user leaves it
	for i := range src.Accounts {
		if src.Accounts[i].ExternalID != "" {
			src.Accounts[i].ExternalID = awssim.ScaleExternalID
		}
	}
	c, err := nf(collector.Settings{
		ID: typ, Sources: collector.Sources{AWS: src}, Thresholds: collector.DefaultThresholds(),
		HTTPClient: client, Logger: zap.NewNop(),
	}, tune)
	require.NoError(t, err)
	start := time.Now()
	disc := collector.NewRecorder()
	list, err := c.Scopes(collector.WithRecorder(t.Context(), disc))
	require.NoError(t, err)
	out := scaleOutcome{statuses: map[evidence.Status]int{}, calls: disc.Calls()}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, scopes)
	for _, sc := range list {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			rec := collector.NewRecorder()
			_, err := c.Collect(collector.WithRecorder(t.Context(), rec), collector.Request{Scope: sc, Now: sim.Now})
			status := evidence.StatusComplete
			var pe *collector.PartialError
			switch {
			case err == nil:
			case errors.As(err, &pe):
				status = evidence.StatusPartial
			default:
				status = evidence.StatusFailed
			}
			mu.Lock()
			defer mu.Unlock()
			out.statuses[status]++
			out.calls = append(out.calls, rec.Calls()...)
			if err != nil {
				out.incomplete = append(out.incomplete, fmt.Sprintf("%s: %v", sc.Account, err))
			}
		}()
	}
	wg.Wait()
	out.wall = time.Since(start)
	sort.Strings(out.incomplete)
	return out
}

// simThrottled counts the throttling answers sim gave.
func simThrottled(sim *awssim.Sim) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Throttled {
			n++
		}
	}
	return n
}

// TestScaleLimitsPaced: in scale mode the simulator refuses an account's
// calls over its service's limit, in the service's own shape, which the
// provenance marks; paced to that limit, the same collection is never
// refused and every snapshot is complete. Counts only, no times.
func TestScaleLimitsPaced(t *testing.T) {
	isolateEnv(t)
	const limit = 20
	sim := awssim.NewScale(simNow, awssim.Scale{Accounts: 2, Users: 4, Buckets: 12, Trails: 2})
	sim.Limits = map[string]float64{"s3": limit}
	sim.Latency, sim.Jitter = 0, 0
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	fast := retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })

	unpaced := scaleRun(t, sim, srv.URL, "aws.s3", s3New, tuning{backoff: fast, rates: map[string]float64{}, pollInterval: time.Millisecond, pollAttempts: 10}, 2, collector.NewHTTPClient(nil))
	refused := simThrottled(sim)
	require.Positive(t, refused, "unpaced, 6 calls a bucket overrun %d a second", limit)
	require.Equal(t, map[string]int{"S3": refused}, collector.Throttled(unpaced.calls), "each refusal is marked in the provenance")

	// The unpaced run drained the simulator's buckets; a new run starts
	// with them full, as after a quiet hour.
	sim.Reset()
	paced := scaleRun(t, sim, srv.URL, "aws.s3", s3New, tuning{backoff: fast, rates: map[string]float64{"S3": limit}, pollInterval: time.Millisecond, pollAttempts: 10}, 2, collector.NewHTTPClient(nil))
	require.Empty(t, paced.incomplete)
	require.Equal(t, map[evidence.Status]int{evidence.StatusComplete: 2}, paced.statuses)
	require.Zero(t, simThrottled(sim), "paced, no call was refused")
	require.Empty(t, collector.Throttled(paced.calls))
	require.Greater(t, len(sim.Requests()), 2*limit, "the run made enough calls to be refused had it not been paced")
}

// TestScaleLanesShared: AWS's limit is per account and service, so two
// collectors reading CloudTrail in the same accounts at the same moment
// (aws.cloudtrail and aws.logging) must share one budget. With each its
// own lanes at the limit, they overrun it between them and are refused;
// with the process's lanes shared, as the factories build them, the same
// two runs are never refused. Counts only, no times.
func TestScaleLanesShared(t *testing.T) {
	isolateEnv(t)
	// At 2 calls a second the pacer lets one call through at once and the
	// simulator's bucket holds two: aws.cloudtrail, held to the rate by
	// its own lane, leaves aws.logging one call of the bucket, and
	// aws.logging asks CloudTrail twice (once per region) per account.
	const limit = 2
	sim := awssim.NewScale(simNow, awssim.Scale{Accounts: 2, Users: 2, Buckets: 2, Trails: 2})
	sim.Limits = map[string]float64{"cloudtrail": limit}
	sim.Latency, sim.Jitter = 0, 0
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	fast := retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
	base := tuning{backoff: fast, rates: map[string]float64{"CloudTrail": limit}, pollInterval: time.Millisecond, pollAttempts: 10}

	both := func(trail, logging tuning) []scaleOutcome {
		sim.Reset() // every bucket full, as after a quiet hour
		outs := make([]scaleOutcome, 2)
		var wg sync.WaitGroup
		for i, c := range []struct {
			typ  string
			nf   newFunc
			tune tuning
		}{{"aws.cloudtrail", trailNew, trail}, {"aws.logging", loggingNew, logging}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i] = scaleRun(t, sim, srv.URL, c.typ, c.nf, c.tune, 2, collector.NewHTTPClient(nil))
			}()
		}
		wg.Wait()
		return outs
	}
	ctCalls := func() int {
		n := 0
		for _, r := range sim.Requests() {
			if r.Service == "cloudtrail" {
				n++
			}
		}
		return n
	}

	apart := both(base, base)
	refused := simThrottled(sim)
	require.Positive(t, refused, "each collector at the limit on its own overruns it between them")
	require.Equal(t, map[string]int{"CloudTrail": refused}, collector.Throttled(append(apart[0].calls, apart[1].calls...)))

	shared := base
	shared.lanes = newPacer(base)
	outs := both(shared, shared)
	for _, out := range outs {
		require.Empty(t, out.incomplete)
		require.Equal(t, map[evidence.Status]int{evidence.StatusComplete: 2}, out.statuses)
		require.Empty(t, collector.Throttled(out.calls))
	}
	require.Zero(t, simThrottled(sim), "sharing the account's lane, neither collector was refused")
	require.Greater(t, ctCalls(), 4*limit, "the runs made enough CloudTrail calls to be refused")
	t.Logf("lanes apart: %d CloudTrail answers refused; shared: %d calls, none refused", refused, ctCalls())

	// The factories' collectors share the process's lanes.
	a, err := newCloudTrail(collector.Settings{Sources: collector.Sources{AWS: sim.Source(srv.URL)}, HTTPClient: collector.NewHTTPClient(nil)}, defaultTuning())
	require.NoError(t, err)
	b, err := newLogging(collector.Settings{Sources: collector.Sources{AWS: sim.Source(srv.URL)}, HTTPClient: collector.NewHTTPClient(nil)}, defaultTuning())
	require.NoError(t, err)
	require.Same(t, processLanes, a.s.pace)
	require.Same(t, processLanes, b.s.pace)
}

// BenchmarkScale runs aws.iam, aws.s3 and aws.cloudtrail over issue 17's
// estate (awssim.IssueScale: 20 accounts, 2,000 users, 5,000 buckets, 40
// trails, two regions each) in scale mode (IAM 10/s, S3 100/s, CloudTrail
// 5/s per account; 30 ms ± 20 ms latency), every account at once
// (scope_concurrency 20, what a user with 20 accounts would set) and
// calls within an account bounded by the default sources.aws.concurrency
// (8); and aws.s3 over 4 of those accounts (250 buckets each, as many as
// in the full estate), where the simulator and the SDK need a fifth of
// the CPU. "paced" is the production tuning; "unpaced" keeps the adaptive
// retryers but drops the token buckets. Both use the agent's transport
// (cmd/exhibit's baseTransport: a clone of Go's default keeping 256 idle
// connections per host and in all); "paced,idle=2" (aws.s3 over the full
// estate) keeps Go's default 2 per host and 100 in all, as the agent did
// before, so that most of the 160 calls in flight to the simulator's one
// host open a connection.
//
// It reports per run: calls (every attempt), calls per resource, the
// throttled answers, snapshots not complete, the floor (for each account
// and limited service, the calls it let through over its rate; the floor
// is the largest, accounts running in parallel), wall time and wall ÷
// floor, the CPU time the process (collector and simulator together)
// used, the peak heap the run reached and the process's peak RSS (which
// includes the simulator and the test binary).
func BenchmarkScale(b *testing.B) {
	isolateEnv(b)
	pacedUnpaced := []string{"paced", "unpaced"}
	four := awssim.Scale{Accounts: 4, Users: 400, Buckets: 1000, Trails: 8}
	cases := []struct {
		name     string
		modes    []string
		nf       newFunc
		estate   awssim.Scale
		resource string
		count    func(*awssim.Account) int
	}{
		{"aws.iam", pacedUnpaced, iamNew, awssim.IssueScale, "user", func(a *awssim.Account) int { return len(a.Users) }},
		{"aws.s3", append(pacedUnpaced, "paced,idle=2"), s3New, awssim.IssueScale, "bucket", func(a *awssim.Account) int { return len(a.Buckets) }},
		{"aws.cloudtrail", pacedUnpaced, trailNew, awssim.IssueScale, "trail", func(a *awssim.Account) int { return len(a.Trails) }},
		{"aws.s3,accounts=4", pacedUnpaced, s3New, four, "bucket", func(a *awssim.Account) int { return len(a.Buckets) }},
	}
	for _, c := range cases {
		for _, mode := range c.modes {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				sim := awssim.NewScale(simNow, c.estate)
				srv := httptest.NewServer(sim)
				defer srv.Close()
				tune := defaultTuning()
				tune.lanes = nil // lanes of its own, as a new process has
				if mode == "unpaced" {
					tune.rates = map[string]float64{}
				}
				tr := http.DefaultTransport.(*http.Transport).Clone()
				if mode != "paced,idle=2" {
					tr.MaxIdleConnsPerHost, tr.MaxIdleConns = 256, 256
				}
				client := collector.NewHTTPClient(tr)
				typ, _, _ := strings.Cut(c.name, ",")
				var calls, throttled, incomplete int
				var floor, wall, cpu time.Duration
				var peak uint64
				for b.Loop() {
					sim.Reset()
					stop := sampleHeap(&peak)
					cpu0 := cpuTime()
					out := scaleRun(b, sim, srv.URL, typ, c.nf, tune, 20, client)
					cpu += cpuTime() - cpu0
					stop()
					reqs := sim.Requests()
					calls += len(reqs)
					incomplete += len(out.incomplete)
					n := 0
					for _, r := range reqs {
						if r.Throttled {
							n++
						}
					}
					marked := 0
					for _, v := range collector.Throttled(out.calls) {
						marked += v
					}
					if marked != n {
						b.Fatalf("%d throttled answers, %d marked in the provenance", n, marked)
					}
					throttled += n
					floor += scaleFloor(reqs, sim.Limits)
					wall += out.wall
					for _, why := range out.incomplete {
						b.Logf("not complete: %s", why)
					}
				}
				runs := float64(b.N)
				resources := 0
				for _, a := range sim.Accounts {
					resources += c.count(a)
				}
				b.ReportMetric(float64(calls)/runs, "calls/op")
				b.ReportMetric(float64(calls)/runs/float64(resources), "calls/"+c.resource)
				b.ReportMetric(float64(throttled)/runs, "throttled/op")
				b.ReportMetric(float64(incomplete)/runs, "incomplete/op")
				b.ReportMetric(floor.Seconds()/runs, "floor-s")
				b.ReportMetric(wall.Seconds()/runs, "wall-s")
				b.ReportMetric(wall.Seconds()/floor.Seconds(), "wall/floor")
				b.ReportMetric(cpu.Seconds()/runs, "cpu-s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
				var ru syscall.Rusage
				if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
					b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
				}
			})
		}
	}
}

// cpuTime is the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scaleFloor is the least time the calls that got through could take:
// for each account and limited service, those calls over its rate; the
// largest of them, since accounts run in parallel.
func scaleFloor(reqs []awssim.Request, limits map[string]float64) time.Duration {
	n := map[[2]string]int{}
	for _, r := range reqs {
		if limits[r.Service] > 0 && !r.Throttled {
			n[[2]string{r.Account, r.Service}]++
		}
	}
	var floor time.Duration
	for k, calls := range n {
		floor = max(floor, time.Duration(float64(calls)/limits[k[1]]*float64(time.Second)))
	}
	return floor
}

// sampleHeap records the largest heap in use until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			*peak = max(*peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
