package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/exceptions"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/signing/awskms"
	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
	"github.com/exhibit-dev/exhibit/pkg/store/storeurl"
	"github.com/exhibit-dev/exhibit/pkg/timestamp"
)

// newLogger writes zap JSON, or readable console lines on a terminal.
func newLogger(w io.Writer, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if isTerminal(w) {
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl)), nil
}

// loadConfig reads and validates the config; every problem is a
// configuration error (exit 2) reported before anything runs.
func loadConfig(path string) (*config.Config, *collector.Registry, *controls.Catalog, error) {
	reg := all.Registry()
	cfg, err := config.Load(path, reg)
	if err != nil {
		return nil, nil, nil, configErr(err)
	}
	cat, err := cfg.Catalog()
	if err != nil {
		return nil, nil, nil, configErr(err)
	}
	if n := cfg.MemoryLimitBytes(); n > 0 {
		// In place of GOMEMLIMIT, for the rest of the process.
		debug.SetMemoryLimit(n)
	}
	return cfg, reg, cat, nil
}

// openStore opens the configured store for writing. The warnings are for
// every snapshot: a store that is not write-once, accepted by the config.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, []string, error) {
	so := cfg.StoreOptions
	var warnings []string
	// Opening an s3:// store for writing reads the bucket's configuration:
	// a store that does not answer is an error at start, not a hang.
	openCtx, cancel := context.WithTimeout(ctx, so.Timeout)
	defer cancel()
	st, err := storeurl.OpenWith(openCtx, cfg.Store, storeurl.Options{
		Mode: storeurl.ReadWrite,
		S3: s3store.Options{
			Region: so.Region, Endpoint: so.Endpoint,
			ObjectLockMode: so.ObjectLockMode, RetainDays: so.RetainDays, SSEKMSKey: so.SSEKMSKey,
		},
		AcceptUnlockedBucket: so.AcceptUnlockedBucket,
		OnUnlocked: func(reason error) {
			// Logged on every run and recorded in every snapshot.
			warnings = append(warnings, "the store is not write-once (accepted by store_options.accept_unlocked_bucket): "+reason.Error())
		},
	})
	if err != nil {
		return nil, nil, configErr(err)
	}
	return st, warnings, nil
}

// timestamper is the configured TSA's client, nil without one. It goes
// through the agent's one transport, so AWS_CA_BUNDLE and proxies apply to
// the TSA as to every other call.
func timestamper(cfg *config.Config, transport http.RoundTripper) agent.Timestamper {
	if cfg.TimestampAuthority == "" {
		return nil
	}
	return &timestamp.Client{URL: cfg.TimestampAuthority, HTTP: &http.Client{Transport: transport}}
}

// openSigner opens the signing key named by uri. A local key file is
// generated on first use only while st has no published key: once evidence
// is signed, a missing key file is a mistyped path or a lost key, and a new
// key must be a deliberate act (exhibit keys generate).
func openSigner(ctx context.Context, uri string, st store.Store, log *zap.Logger) (signing.Signer, error) {
	switch {
	case strings.HasPrefix(uri, "file://"):
		path := strings.TrimPrefix(uri, "file://")
		k, err := signing.LoadFileKey(path)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("signing_key: %w", err)
		}
		published, err := publishedKey(ctx, st)
		if err != nil {
			return nil, fmt.Errorf("signing_key: file %s does not exist, and whether the store %s already has published keys could not be read: %w", path, st, err)
		}
		if published != "" {
			return nil, fmt.Errorf("signing_key: file %s does not exist; the store %s already has published keys (%q), so evidence there is signed with another key; "+
				"fix the path or restore the key file, or to start a new key deliberately run exhibit keys generate --key %s", path, st, published, uri)
		}
		k, created, err := signing.LoadOrCreateFileKey(path)
		if err != nil {
			return nil, fmt.Errorf("signing_key: %w", err)
		}
		if created {
			log.Info("generated a new signing key: the store has none yet", zap.String("path", path))
		}
		return k, nil
	case strings.HasPrefix(uri, awskms.Scheme):
		k, err := awskms.Open(ctx, uri)
		if err != nil {
			return nil, fmt.Errorf("signing_key: %w", err)
		}
		log.Info("signing with AWS KMS", zap.String("key", k.KeyID()))
		return k, nil
	}
	return nil, fmt.Errorf("signing_key %q: want file://PATH or awskms:///KEY-ARN", uri)
}

// errFound stops a listing at its first key.
var errFound = errors.New("found")

// publishedKey is the first public key published in st, or "" if none is.
func publishedKey(ctx context.Context, st store.Store) (string, error) {
	var first string
	err := st.List(ctx, store.KeysPrefix, "", func(key string) error {
		first = key
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return "", err
	}
	return first, nil
}

// wiring is what collect and run share.
type wiring struct {
	cfg *config.Config
	cat *controls.Catalog
	// store is the configured store with a deadline on every call.
	store *store.Bounded
	agent *agent.Agent
	jobs  []agent.Job
}

// wire builds the store, signer, agent and one job per configured collector.
// only, when non-empty, keeps the collectors of those types or ids.
// A signal while wiring (a store or KMS that is slow to answer) ends it:
// the error is then an interrupted start, not a setup problem.
func wire(ctx context.Context, cfg *config.Config, reg *collector.Registry, cat *controls.Catalog, log *zap.Logger, metrics *agent.Metrics, only []string) (_ *wiring, err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = &exitError{code: 1, err: fmt.Errorf("interrupted while starting, before collecting anything: %w", context.Cause(ctx))}
		}
	}()
	var selected []config.Collector
	for _, c := range cfg.Collectors {
		if len(only) == 0 || contains(only, c.Type) || contains(only, c.ID) {
			selected = append(selected, c)
		}
	}
	if len(only) > 0 && len(selected) == 0 && !contains(only, reviewJobs) {
		return nil, usageErr("--only %s matches no configured collector", strings.Join(only, ","))
	}
	transport, err := baseTransport()
	if err != nil {
		return nil, configErr(err)
	}
	jobs := make([]agent.Job, 0, len(selected))
	var errs []error
	for i, c := range selected {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, _ := reg.Lookup(c.Type)
		coll, err := f.New(collector.Settings{
			ID:         c.ID,
			Sources:    cfg.Sources,
			Thresholds: cfg.Thresholds,
			HTTPClient: collector.NewHTTPClient(transport),
			Logger:     log.Named(c.ID),
			Identity:   cfg.Identity,
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("collectors[%d] (%s): %w", i, c.ID, err))
			continue
		}
		jobs = append(jobs, agent.Job{
			ID: c.ID, Type: c.Type, Version: f.Version, Provider: f.Provider,
			Schedule: c.Schedule, Timeout: c.Timeout, Collector: coll, Checks: f.Checks,
			ScopeConcurrency: c.ScopeConcurrency,
		})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, configErr(err)
	}
	// A step that reads stored evidence (identity.reconcile) runs after
	// the collectors it reads, so that one collect (or the demo) joins the
	// snapshots it just wrote. The order is otherwise the config's.
	slices.SortStableFunc(jobs, func(a, b agent.Job) int {
		fa, _ := reg.Lookup(a.Type)
		fb, _ := reg.Lookup(b.Type)
		return cmp.Compare(min(len(fa.Inputs), 1), min(len(fb.Inputs), 1))
	})
	opened, warnings, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if fst, ok := opened.(*fsstore.Store); ok {
		// What writes interrupted by a crash left; verify would report it.
		removed, err := fst.RemoveTemps()
		if len(removed) > 0 {
			log.Warn("removed temporary files of interrupted writes", zap.Int("files", len(removed)), zap.String("store", fst.String()))
		}
		if err != nil {
			return nil, err
		}
	}
	st := store.WithTimeout(opened, cfg.StoreOptions.Timeout)
	signer, err := openSigner(ctx, cfg.SigningKey, st, log)
	if err != nil {
		return nil, configErr(err)
	}
	spool, err := agent.OpenSpool(cfg.SpoolDir)
	if err != nil {
		return nil, configErr(fmt.Errorf("spool_dir: %w", err))
	}
	tsa := timestamper(cfg, transport)
	var acceptedRisks func() (*exceptions.Set, error)
	if cfg.AcceptedRisks != "" {
		// Read again at every run: an edited file applies from the next
		// run, and one broken since the start is recorded, not ignored.
		acceptedRisks = func() (*exceptions.Set, error) { return cfg.LoadAcceptedRisks(reg) }
	}
	// Every configured instance, not only those --only selected: a step
	// joins the latest evidence of all of them.
	instances := map[string][]string{}
	for _, c := range cfg.Collectors {
		instances[c.Type] = append(instances[c.Type], c.ID)
	}
	a, err := agent.New(ctx, agent.Options{
		Evidence:      &audit.LatestReader{Store: st, Instances: instances},
		AcceptedRisks: acceptedRisks,
		Store:         st,
		Signer:        signer,
		Refs:          cat.Refs,
		Logger:        log,
		Version:       version,
		Metrics:       metrics,
		Spool:         spool,
		Warnings:      warnings,
		Timestamper:   tsa,
		// The daemon, the one caller with metrics, prints no snapshot.
		DropSnapshots: metrics != nil,
	})
	if err != nil {
		// Publishing the key is the first write: a store that exists but
		// refuses it is a setup problem, like one that cannot be opened.
		return nil, configErr(fmt.Errorf("store %s: %w", st, err))
	}
	if n := spool.Backlog(); n > 0 {
		log.Warn("snapshots from an earlier outage wait in the spool; they are uploaded first", zap.Int("backlog", n), zap.String("spool_dir", cfg.SpoolDir))
	}
	jobs = append(jobs, followUpJobs(cfg, st, only)...)
	return &wiring{cfg: cfg, cat: cat, store: st, agent: a, jobs: jobs}, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
