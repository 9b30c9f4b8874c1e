package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"

	rungroup "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/schedule"
)

func cmdRun(ctx context.Context, args []string, s streams) error {
	fs := newFlags("run", s)
	cfgPath := fs.String("c", "exhibit.yaml", "configuration `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, reg, cat, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if len(cfg.Collectors) == 0 {
		return configErr(errors.New("collectors: none configured; the daemon would have nothing to do"))
	}
	host, _ := os.Hostname()
	ordinal, err := config.ReplicaOrdinal(cfg.Replicas, os.LookupEnv, host)
	if err != nil {
		return configErr(err)
	}
	shard := agent.Shard{Replicas: cfg.Replicas, Ordinal: ordinal, StandbyDelay: cfg.StandbyDelay}
	log, err := newLogger(s.err, cfg.Log.Level)
	if err != nil {
		return configErr(err)
	}
	defer log.Sync() //nolint:errcheck // best effort on exit

	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	runs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "exhibit_runs_total", Help: "Collector runs, by collector and outcome (ok, incomplete, spooled, store_error, interrupted, skipped_overlap).",
	}, []string{"collector", "outcome"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "exhibit_run_duration_seconds", Help: "How long collector runs take.",
		Buckets: prometheus.ExponentialBuckets(0.5, 2, 12),
	}, []string{"collector"})
	promReg.MustRegister(runs, duration)

	w, err := wire(ctx, cfg, reg, cat, log, agent.NewMetrics(promReg), nil)
	if err != nil {
		return err
	}

	// Ready while the store accepts evidence.
	var storeOK atomic.Bool
	storeOK.Store(true)
	jitter := map[string]time.Duration{}
	for _, c := range cfg.Collectors {
		jitter[c.ID] = c.Jitter
	}
	jobs := make([]schedule.Job, 0, len(w.jobs))
	for _, job := range w.jobs {
		// Replicas on one store record each run slot once; sharded, each
		// collects only the series it is primary or standby for.
		job.OncePerSlot = true
		job.Shard = shard
		jobs = append(jobs, schedule.Job{
			Name: job.ID, Spec: job.Schedule, Jitter: jitter[job.ID],
			Run: func(ctx context.Context) {
				written, err := w.agent.Run(ctx, job)
				outcome := "ok"
				switch {
				case err != nil:
					outcome = "store_error"
					log.Error("evidence could not be stored", zap.String("collector", job.ID), zap.Error(err))
				case slices.ContainsFunc(written, func(x agent.Written) bool { return x.Spooled }):
					outcome = "spooled"
				case collectionResult(written) != nil:
					outcome = "incomplete"
				case ctx.Err() != nil:
					// The grace ran out; work not started was not written.
					outcome = "interrupted"
				}
				if outcome != "interrupted" {
					storeOK.Store(outcome != "store_error" && outcome != "spooled")
				}
				runs.WithLabelValues(job.ID, outcome).Inc()
			},
		})
	}
	var heap heapWatch
	runner, err := schedule.NewRunner(jobs, cfg.Shutdown.Grace, log, schedule.Hooks{
		Skipped: func(job string) { runs.WithLabelValues(job, "skipped_overlap").Inc() },
		Done: func(job string, took time.Duration) {
			duration.WithLabelValues(job).Observe(took.Seconds())
			heap.check(log, job)
		},
	})
	if err != nil {
		return configErr(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { rw.Write([]byte("ok\n")) }) //nolint:errcheck
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		backlog := w.agent.Backlog()
		switch {
		case !w.store.Available():
			// Known at the deadline of the call the store left unanswered,
			// before the run that made it ends.
			http.Error(rw, fmt.Sprintf("store unavailable: no answer within %s; %d snapshot(s) wait in the spool", w.store.Timeout(), backlog), http.StatusServiceUnavailable)
			return
		case !storeOK.Load() || backlog > 0:
			http.Error(rw, fmt.Sprintf("store unavailable: %d snapshot(s) wait in the spool", backlog), http.StatusServiceUnavailable)
			return
		}
		rw.Write([]byte("ready\n")) //nolint:errcheck
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(promReg, promhttp.HandlerOpts{}))

	var g rungroup.Group
	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return configErr(err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		log.Info("serving health and metrics", zap.String("listen", ln.Addr().String()))
		g.Add(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}, func(error) {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx) //nolint:errcheck // closing anyway
		})
	}
	spoolCtx, stopSpool := context.WithCancel(ctx)
	g.Add(func() error { return w.agent.RunSpool(spoolCtx) }, func(error) { stopSpool() })
	tsCtx, stopTimestamps := context.WithCancel(ctx)
	g.Add(func() error { return w.agent.RunTimestamps(tsCtx, time.Minute) }, func(error) { stopTimestamps() })
	cpCtx, stopCheckpoints := context.WithCancel(ctx)
	g.Add(func() error { return w.agent.RunCheckpoints(cpCtx, agent.CheckpointInterval) }, func(error) { stopCheckpoints() })
	runCtx, stop := context.WithCancel(ctx)
	g.Add(func() error { return runner.Run(runCtx) }, func(error) { stop() })
	log.Info("exhibit running", zap.String("version", version), zap.Int("collectors", len(jobs)), zap.String("store", w.store.String()),
		zap.Int("replica", ordinal), zap.Int("replicas", cfg.Replicas))
	err = g.Run()
	// Every run has ended: pin the heads it left.
	finalCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, cerr := w.agent.WriteCheckpoint(finalCtx); cerr != nil {
		log.Warn("final checkpoint not written", zap.Error(cerr))
	}
	return err
}
