package schedule

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// Job is one scheduled task.
type Job struct {
	Name string
	Spec string
	// Jitter is the most a run waits, at random, after its schedule fires.
	Jitter time.Duration
	// Run does the work. Its context is cancelled only when a shutdown's
	// grace period runs out; the job applies its own timeout.
	Run func(ctx context.Context)
}

// Hooks observe the runner; every field is optional.
type Hooks struct {
	Started func(job string)
	Skipped func(job string)
	Done    func(job string, took time.Duration)
}

// Runner runs jobs on their schedules.
type Runner struct {
	jobs  []Job
	grace time.Duration
	log   *zap.Logger
	hooks Hooks
}

// NewRunner checks every spec and returns a runner. grace is how long
// in-flight runs may continue after the runner is asked to stop.
func NewRunner(jobs []Job, grace time.Duration, log *zap.Logger, hooks Hooks) (*Runner, error) {
	for _, j := range jobs {
		if _, err := Parse(j.Spec); err != nil {
			return nil, err
		}
	}
	return &Runner{jobs: jobs, grace: grace, log: log.Named("schedule"), hooks: hooks}, nil
}

// Run schedules the jobs until ctx is done, then stops scheduling and waits
// up to the grace period for runs in flight; after that their contexts are
// cancelled and Run waits for them to return. It returns nil on a clean stop.
func (r *Runner) Run(ctx context.Context) error {
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	c := cron.New(cron.WithParser(parser), cron.WithLocation(time.UTC), cron.WithLogger(cronLogger{r.log}))
	for _, j := range r.jobs {
		parsed, _ := Parse(j.Spec)
		sched := firing(parsed)
		c.Schedule(sched, r.wrap(runCtx, j))
		r.log.Info("scheduled", zap.String("job", j.Name), zap.String("schedule", j.Spec), zap.Time("next", sched.Next(time.Now())))
	}
	c.Start()
	<-ctx.Done()
	r.log.Info("stopping: no new runs; waiting for runs in flight", zap.Duration("grace", r.grace))
	// Stop's context is done once every running job has returned.
	stopped := c.Stop()
	select {
	case <-stopped.Done():
	case <-time.After(r.grace):
		r.log.Warn("grace period over: cancelling runs in flight")
		cancelRuns()
		<-stopped.Done()
	}
	r.log.Info("stopped")
	return nil
}

func (r *Runner) wrap(ctx context.Context, j Job) cron.Job {
	var running sync.Mutex
	return cron.FuncJob(func() {
		if !running.TryLock() {
			r.log.Warn("previous run still going; skipping this one", zap.String("job", j.Name))
			if r.hooks.Skipped != nil {
				r.hooks.Skipped(j.Name)
			}
			return
		}
		defer running.Unlock()
		if j.Jitter > 0 {
			select {
			case <-time.After(rand.N(j.Jitter)):
			case <-ctx.Done():
				return
			}
		}
		if r.hooks.Started != nil {
			r.hooks.Started(j.Name)
		}
		start := time.Now()
		j.Run(ctx)
		if r.hooks.Done != nil {
			r.hooks.Done(j.Name, time.Since(start))
		}
	})
}

type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(string, ...any) {}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error(msg, zap.Error(err), zap.Any("details", kv))
}
