// Package agent turns collector output into evidence: it builds each
// snapshot, chains it to its series, signs it and writes it to the store.
package agent

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/exceptions"
	"github.com/exhibit-dev/exhibit/pkg/schedule"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Options assemble an Agent.
type Options struct {
	// Store takes the evidence. Give it a deadline (store.WithTimeout): a
	// call that never returns holds its series, and a store error is what
	// sends a snapshot to the spool.
	Store  store.Store
	Signer signing.Signer
	// Refs returns the control references a check supports.
	Refs    func(check string) []string
	Logger  *zap.Logger
	Version string
	// Warnings are recorded in every snapshot (an accepted risk, say).
	Warnings []string
	Metrics  *Metrics
	// Spool journals every snapshot until the store holds it whole, and
	// keeps those the store could not take; nil to fail instead.
	Spool *Spool
	// Timestamper, when set, gets an RFC 3161 token over every snapshot,
	// stored beside it as X.json.tsr.
	Timestamper Timestamper
	// AcceptedRisks, when set, reads the accepted-risks file. It is called
	// at the start of every run, so an edited file applies from the next
	// run; a file that cannot be read then is recorded in that run's
	// snapshots as an error, and no acceptance is applied.
	AcceptedRisks func() (*exceptions.Set, error)
	// Evidence, when set, is handed to every run (Request.Evidence): steps
	// that join stored snapshots (identity.reconcile) read through it.
	Evidence collector.EvidenceReader
	// DropSnapshots leaves Written.Snapshot nil: a long-running process
	// that reads only the summary lets each snapshot go once it is
	// stored, rather than when the last of its job's scopes is.
	DropSnapshots bool
	Now           func() time.Time
}

// Agent writes evidence. It is safe for concurrent use by several jobs.
type Agent struct {
	opts     Options
	keyID    string
	pub      *ecdsa.PublicKey
	hostname string
	log      *zap.Logger

	mu    sync.Mutex
	heads map[string]*head
	locks map[string]*sync.Mutex
	// pendingTokens are the series with a snapshot whose time-stamp token
	// the TSA did not give yet.
	pendingTokens map[string]bool
	// checkpointed is the digest of the heads the last checkpoint pinned.
	checkpointed string
}

// head is what the agent knows of a series' latest snapshot.
type head struct {
	seq    int64
	digest string
	// since is where the last complete snapshot's window ended.
	since time.Time
	// Of the latest snapshot, for recognising a run slot already recorded.
	startedAt time.Time
	schedule  string
	status    evidence.Status
	keyID     string

	// whole means its signature and date-index marker are known to be
	// stored: it was written by this agent, or checked since.
	whole bool
	// signed means the store listed its signature.
	signed bool
	// damage is why its bytes are not a snapshot, if they are not.
	damage string
}

// sameSlot reports whether the latest snapshot is a complete record of the
// schedule slot snap ran in. With windows, two runs share a slot when they
// started in the same one (see slotStart: for "@every", the clock's window);
// without, when the schedule's next fire time after each start is the same.
func (h head) sameSlot(snap *evidence.Snapshot, windows bool) bool {
	if h.seq == 0 || h.status != evidence.StatusComplete || snap.Schedule == "" || h.schedule != snap.Schedule {
		return false
	}
	sched, err := schedule.Parse(snap.Schedule)
	if err != nil {
		return false
	}
	if windows {
		return slotStart(sched, h.startedAt).Equal(slotStart(sched, snap.StartedAt))
	}
	return sched.Next(h.startedAt).Equal(sched.Next(snap.StartedAt))
}

// inSlot reports whether the latest snapshot, of any status, started in the
// slot of spec that now falls in: a replica recorded that slot.
func (h head) inSlot(spec string, now time.Time) bool {
	if h.seq == 0 || h.schedule != spec || h.damage != "" {
		return false
	}
	sched, err := schedule.Parse(spec)
	if err != nil {
		return false
	}
	return slotStart(sched, h.startedAt).Equal(slotStart(sched, now))
}

// New publishes the signer's public key to the store and returns the agent.
func New(ctx context.Context, opts Options) (*Agent, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refs == nil {
		opts.Refs = func(string) []string { return nil }
	}
	keyID, err := PublishKey(ctx, opts.Store, opts.Signer)
	if err != nil {
		return nil, err
	}
	pub, err := opts.Signer.PublicKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	host, _ := os.Hostname()
	opts.Metrics.spooled(opts.Spool.Backlog())
	return &Agent{
		opts:     opts,
		keyID:    keyID,
		pub:      pub,
		hostname: host,
		log:      opts.Logger.Named("agent"),
		heads:    map[string]*head{},
		locks:    map[string]*sync.Mutex{},

		pendingTokens: map[string]bool{},
	}, nil
}

// KeyID is the id of the key this agent signs with.
func (a *Agent) KeyID() string { return a.keyID }

// PublishKey writes the signer's public key under keys/. A key already
// published with other content is an integrity problem and an error.
func PublishKey(ctx context.Context, st store.Store, signer signing.Signer) (string, error) {
	pub, err := signer.PublicKey(ctx)
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	id, err := signing.KeyID(pub)
	if err != nil {
		return "", err
	}
	pemBytes, err := signing.MarshalPublicKey(pub)
	if err != nil {
		return "", err
	}
	key := store.PublicKeyKey(id)
	err = st.Put(ctx, key, pemBytes)
	if errors.Is(err, store.ErrExists) {
		have, gerr := st.Get(ctx, key)
		if gerr != nil {
			return "", fmt.Errorf("read published key %s: %w", key, gerr)
		}
		if string(have) != string(pemBytes) {
			return "", fmt.Errorf("published key %s does not match the signing key", key)
		}
		return id, nil
	}
	if err != nil {
		return "", fmt.Errorf("publish key %s: %w", key, err)
	}
	return id, nil
}

// Job is one configured collector instance.
type Job struct {
	ID        string
	Type      string
	Version   string
	Provider  string
	Schedule  string
	Timeout   time.Duration
	Collector collector.Collector
	// OncePerSlot skips storing a run whose schedule slot another writer
	// (a replica on the same store) already recorded complete.
	OncePerSlot bool
	// Shard, with more than one replica, limits the job to the series this
	// replica is primary or standby for (a standby's waiting for its
	// deadline), and skips collecting a slot the store already holds a
	// complete snapshot of.
	Shard Shard
	// ScopeConcurrency bounds how many scopes (accounts, organizations)
	// are collected at once; 0 or 1 collects them one after another.
	// Each scope is its own series, so the bound changes only wall time,
	// never what a series records or in which order.
	ScopeConcurrency int
	// Checks are the checks the collector declares. A failed run records
	// each as undetermined, so that the failure counts against every
	// control the run was meant to evidence.
	Checks []string
}

// Written describes one stored snapshot.
type Written struct {
	Key      string
	Series   string
	Seq      int64
	Status   evidence.Status
	Summary  map[evidence.Result]int
	Errors   []evidence.RunError
	Snapshot *evidence.Snapshot
	// Spooled means the store was unavailable and the snapshot waits in
	// the spool; Key is empty.
	Spooled bool
	// Duplicate means another writer already recorded this run slot.
	Duplicate bool
}

// Run runs a job once over every scope it reports, writing one snapshot per
// scope, at most job.ScopeConcurrency scopes at a time. Every scope yields a snapshot, failed ones included; the returned
// error is only for evidence that could not be written.
//
// A run interrupted by ctx (a shutdown, Ctrl-C) writes nothing for work it
// had not started: no snapshot for scopes not yet collected, none for a
// scope discovery cut short. A collection in progress is written, partial
// or failed, with the reason. The job's own timeout is different: a run
// that outlasts it is a failure, and a failure is evidence.
//
// Sharded (job.Shard), the run collects the scopes whose series this
// replica is primary for, then waits for the standby deadline and collects
// those it stands by for whose slot the store does not hold complete.
func (a *Agent) Run(ctx context.Context, job Job) ([]Written, error) {
	log := a.log.With(zap.String("collector", job.ID), zap.String("run_id", ulid.Make().String()))
	start := a.opts.Now()
	for _, w := range a.opts.Warnings {
		log.Warn(w)
	}
	risks := a.acceptedRisks(log)
	shutdown := ctx
	if job.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, job.Timeout)
		defer cancel()
	}
	rec := collector.NewRecorder()
	scopes, err := job.Collector.Scopes(collector.WithRecorder(ctx, rec))
	if err == nil {
		err = checkScopes(scopes)
	}
	if err != nil && shutdown.Err() != nil {
		log.Warn("interrupted during scope discovery; nothing is written for this run", zap.Error(err))
		return nil, nil
	}
	if err != nil {
		log.Error("scope discovery failed", zap.Error(err))
		scope := evidence.Scope{Provider: job.Provider, Account: "discovery"}
		res := &outcome{started: start, finished: a.opts.Now(), err: runErr(ctx, shutdown, job, err), calls: rec.Calls(), risks: risks}
		// Sharded, the failure is recorded like any series' run: by the
		// discovery series' primary, or its standby after the deadline.
		switch series := evidence.SeriesName(job.ID, scope.Account); job.Shard.role(series) {
		case roleSkip:
			return nil, nil
		case roleStandby:
			if !a.standbyDue(shutdown, job, start, log) || a.slotRecorded(shutdown, job, series, log) {
				return nil, nil
			}
		}
		w, werr := a.write(ctx, job, scope, res)
		if werr != nil {
			return nil, werr
		}
		return []Written{w}, nil
	}
	// Scopes are separate series: each runs under its own series lock and
	// is chained and written as it would be alone, so they may be
	// collected side by side. Results keep the order of the scopes.
	type result struct {
		w       Written
		started bool
		err     error
	}
	results := make([]result, len(scopes))
	slots := make(chan struct{}, job.scopeConcurrency())
	var wg sync.WaitGroup
	dispatch := func(ctx context.Context, which []int, r role) {
		for n, i := range which {
			select {
			case slots <- struct{}{}:
			case <-shutdown.Done():
			}
			if shutdown.Err() != nil {
				log.Warn("interrupted; scopes not started are not written", zap.Int("not_started", len(which)-n))
				return
			}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				res := &results[i]
				res.w, res.started, res.err = a.collectScope(ctx, shutdown, job, scopes[i], r, risks, log)
			}()
		}
	}
	// A sharded replica collects its primary series now and its standby
	// series once their primaries had time to record the slot; the rest
	// are other replicas' work.
	primary, standby := job.split(scopes)
	dispatch(ctx, primary, rolePrimary)
	if len(standby) > 0 && a.standbyDue(shutdown, job, start, log) {
		// The standby's collections get the whole timeout, counted from
		// the deadline rather than from the run's start.
		sctx := shutdown
		if job.Timeout > 0 {
			var cancel context.CancelFunc
			sctx, cancel = context.WithTimeout(shutdown, job.Timeout)
			defer cancel()
		}
		dispatch(sctx, standby, roleStandby)
	}
	wg.Wait()
	var out []Written
	var errs []error
	for _, r := range results {
		switch {
		case r.err != nil:
			errs = append(errs, r.err)
		case r.started:
			out = append(out, r.w)
		}
	}
	return out, errors.Join(errs...)
}

// split sorts the indexes of scopes into those this replica collects as
// their primary and those it stands by for; it skips the others.
func (j Job) split(scopes []evidence.Scope) (primary, standby []int) {
	for i, s := range scopes {
		switch j.Shard.role(evidence.SeriesName(j.ID, s.Account)) {
		case rolePrimary:
			primary = append(primary, i)
		case roleStandby:
			standby = append(standby, i)
		}
	}
	return primary, standby
}

// scopeConcurrency is how many of the job's scopes are collected at once.
func (j Job) scopeConcurrency() int {
	return max(j.ScopeConcurrency, 1)
}

// checkScopes refuses a scope without an account: it would become a series
// named "default", evidence of nothing (a list cut short, say).
func checkScopes(scopes []evidence.Scope) error {
	for i, s := range scopes {
		if strings.TrimSpace(s.Account) == "" {
			return fmt.Errorf("scope discovery: scope %d of %d has no account", i+1, len(scopes))
		}
	}
	return nil
}

type outcome struct {
	started, finished time.Time
	result            *collector.Result
	err               error
	calls             []evidence.Call
	risks             risks
}

// risks is the accepted-risks file as a run read it: the set, or why it
// could not be read. Neither, without a file configured.
type risks struct {
	set *exceptions.Set
	err error
}

// acceptedRisks reads the accepted-risks file for one run. A file that
// cannot be read is logged here, once per run, and recorded in each of
// the run's snapshots.
func (a *Agent) acceptedRisks(log *zap.Logger) risks {
	if a.opts.AcceptedRisks == nil {
		return risks{}
	}
	set, err := a.opts.AcceptedRisks()
	if err != nil {
		log.Error("accepted risks could not be read; this run applies none and records the error", zap.Error(err))
		return risks{err: err}
	}
	return risks{set: set}
}

// collectScope collects one scope and writes its snapshot. started is false
// when a shutdown came before the collection began: nothing is written.
func (a *Agent) collectScope(ctx, shutdown context.Context, job Job, scope evidence.Scope, r role, risks risks, log *zap.Logger) (w Written, started bool, err error) {
	series := evidence.SeriesName(job.ID, scope.Account)
	lock := a.seriesLock(series)
	lock.Lock()
	defer lock.Unlock()

	// The head is read to its end even when a shutdown comes meanwhile:
	// the store's deadline bounds it.
	h, err := a.head(context.WithoutCancel(ctx), series)
	if err != nil {
		if a.opts.Spool == nil {
			return Written{}, true, err
		}
		// The store is out of reach; collect anyway and spool the result.
		h = a.offlineHead(series)
		log.Warn("store unavailable; collecting into the spool", zap.String("series", series), zap.Error(err))
	}
	if last, _ := a.opts.Spool.last(series); last != nil && last.Snapshot.Status == evidence.StatusComplete && last.Snapshot.Window != nil {
		// Spooled evidence is newer than anything in the store.
		h.since = last.Snapshot.Window.End
	}
	if shutdown.Err() != nil {
		log.Warn("interrupted before collecting; nothing is written", zap.String("series", series))
		return Written{}, false, nil
	}
	if job.Shard.sharded() && h.status == evidence.StatusComplete && h.inSlot(job.Schedule, a.opts.Now()) {
		// The primary recorded it (for a standby), or the standby did
		// while the primary was late. A partial or failed record does not
		// close the slot, as with OncePerSlot: the other replica may get
		// what this one could not.
		logSlotRecorded(log, series, r, h.seq)
		return Written{}, false, nil
	}
	if r == roleStandby {
		log.Info("collecting as standby: the primary has not recorded this slot", zap.String("series", series))
		a.opts.Metrics.tookOver(job.ID)
	}
	rec := collector.NewRecorder()
	o := &outcome{started: a.opts.Now(), risks: risks}
	o.result, o.err = job.Collector.Collect(collector.WithRecorder(ctx, rec), collector.Request{
		Scope:    scope,
		Since:    h.since,
		Now:      o.started,
		Evidence: a.opts.Evidence,
	})
	o.finished = a.opts.Now()
	o.calls = rec.Calls()
	var pe *collector.PartialError
	if o.err != nil && shutdown.Err() != nil && errors.As(o.err, &pe) {
		// A partial run's errors are its record: say why it stopped.
		pe.Add(scope.Provider+":"+scope.Account, "", errInterrupted)
	}
	if o.err != nil {
		o.err = runErr(ctx, shutdown, job, o.err)
		log.Warn("collection incomplete", zap.String("series", series), zap.Error(o.err))
	}
	w, err = a.writeLocked(ctx, job, scope, series, o)
	if a.opts.DropSnapshots {
		w.Snapshot = nil
	}
	return w, true, err
}

// errInterrupted is the reason recorded for a collection a shutdown cut short.
var errInterrupted = errors.New("run interrupted by a shutdown")

// runErr explains a deadline in terms of the configured timeout, and a
// cancellation as the shutdown it was.
func runErr(ctx, shutdown context.Context, job Job, err error) error {
	var pe *collector.PartialError
	if errors.As(err, &pe) {
		return err
	}
	switch {
	case shutdown.Err() != nil:
		return fmt.Errorf("%w: %w", errInterrupted, err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("run exceeded its timeout of %s: %w", job.Timeout, err)
	}
	return err
}

func (a *Agent) write(ctx context.Context, job Job, scope evidence.Scope, o *outcome) (Written, error) {
	series := evidence.SeriesName(job.ID, scope.Account)
	lock := a.seriesLock(series)
	lock.Lock()
	defer lock.Unlock()
	w, err := a.writeLocked(ctx, job, scope, series, o)
	if a.opts.DropSnapshots {
		w.Snapshot = nil
	}
	return w, err
}

func (a *Agent) seriesLock(series string) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.locks[series]
	if !ok {
		l = &sync.Mutex{}
		a.locks[series] = l
	}
	return l
}

// build turns a collection outcome into a snapshot (without seq, prev, id).
func (a *Agent) build(job Job, scope evidence.Scope, series string, o *outcome) (*evidence.Snapshot, []collector.Attachment) {
	s := &evidence.Snapshot{
		Series:     series,
		Collector:  evidence.CollectorRef{Type: job.Type, Version: job.Version, ID: job.ID},
		Scope:      scope,
		Schedule:   job.Schedule,
		Agent:      evidence.Agent{Version: a.opts.Version, Hostname: a.hostname},
		StartedAt:  o.started,
		FinishedAt: o.finished,
		Status:     evidence.StatusComplete,
		Warnings:   append([]string(nil), a.opts.Warnings...),
		Calls:      o.calls,
		KeyID:      a.keyID,
	}
	var atts []collector.Attachment
	if r := o.result; r != nil {
		s.Records = r.Records
		s.Findings = r.Findings
		s.Window = r.Window
		atts = r.Attachments
	}
	for i := range s.Findings {
		f := &s.Findings[i]
		refs := a.opts.Refs(f.Check)
		if refs == nil {
			a.log.Warn("check has no catalog entry", zap.String("check", f.Check))
		}
		f.Controls = append(f.Controls, refs...)
	}
	var pe *collector.PartialError
	switch {
	case o.err == nil:
	case errors.As(o.err, &pe):
		s.Status = evidence.StatusPartial
		s.Errors = pe.Errors
		// Partial means some evidence stands beside the failures. A run
		// that observed nothing (no record, and no finding decided on data
		// that was read) stands on nothing: it failed.
		observed := len(s.Records) > 0
		for _, f := range s.Findings {
			observed = observed || f.Status != evidence.Error
		}
		if !observed {
			s.Status = evidence.StatusFailed
		}
	default:
		s.Status = evidence.StatusFailed
		s.Errors = []evidence.RunError{{Where: scope.Provider + ":" + scope.Account, Message: o.err.Error()}}
	}
	if o.err != nil && len(s.Errors) == 0 {
		s.Errors = []evidence.RunError{{Where: scope.Provider + ":" + scope.Account, Message: o.err.Error()}}
	}
	if s.Status == evidence.StatusFailed {
		s.Findings = append(s.Findings, a.undetermined(job, scope, s.Findings, o.err)...)
	}
	a.accept(s, o.risks)
	for _, att := range atts {
		s.Attachments = append(s.Attachments, evidence.Attachment{
			Name: att.Name, MediaType: att.MediaType, SHA256: evidence.Digest(att.Data), Size: int64(len(att.Data)),
		})
	}
	return s, atts
}

// accept annotates the snapshot's failing findings with the accepted
// risks in force when the run started. Acceptances come from the file
// alone, never from a collector. A file that could not be read is an error
// of the run: its acceptances are not silently dropped, the snapshot says
// why there are none (and so is partial, not complete).
func (a *Agent) accept(s *evidence.Snapshot, r risks) {
	for i := range s.Findings {
		s.Findings[i].Accepted, s.Findings[i].AcceptanceExpired = nil, nil
	}
	if r.err != nil {
		s.Errors = append(s.Errors, evidence.RunError{Where: "accepted_risks", Operation: "read",
			Message: "no accepted risk is applied to this run: " + r.err.Error()})
		if s.Status == evidence.StatusComplete {
			s.Status = evidence.StatusPartial
		}
		return
	}
	if _, lapsed := r.set.Apply(s.Findings, s.StartedAt); lapsed > 0 {
		a.log.Warn("failing findings matched only an expired accepted risk; the lapse is recorded on each",
			zap.String("series", s.Series), zap.Int("findings", lapsed))
	}
}

// undetermined is one error finding for each check the job declares that a
// failed run left without any finding: a failed collection is a failure
// everywhere it shows (report, exports, samples), never a silent absence of
// findings.
func (a *Agent) undetermined(job Job, scope evidence.Scope, judged []evidence.Finding, err error) []evidence.Finding {
	resource := scope.Provider + ":" + scope.Account
	var out []evidence.Finding
	for _, check := range job.Checks {
		if slices.ContainsFunc(judged, func(f evidence.Finding) bool { return f.Check == check }) {
			continue
		}
		out = append(out, evidence.Finding{
			Check:    check,
			Resource: resource,
			Status:   evidence.Error,
			Controls: a.opts.Refs(check),
			Reason:   "not determined: the collection failed: " + err.Error(),
		})
	}
	return out
}

// offlineHead is the best knowledge of a series while the store is out of
// reach: the cached head, if any.
func (a *Agent) offlineHead(series string) head {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h, ok := a.heads[series]; ok {
		return *h
	}
	return head{}
}

// markWhole records that the cached head seq of series is whole.
func (a *Agent) markWhole(series string, seq int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h := a.heads[series]; h != nil && h.seq == seq {
		h.whole = true
	}
}

func (a *Agent) forget(series string) {
	a.mu.Lock()
	delete(a.heads, series)
	a.mu.Unlock()
}

func (a *Agent) advance(series string, snap *evidence.Snapshot, digest string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.heads[series]
	if h == nil {
		h = &head{}
		a.heads[series] = h
	}
	if h.seq > snap.Seq {
		// An older snapshot completed late; the cached head is newer.
		return
	}
	*h = head{seq: snap.Seq, digest: digest, since: h.since, startedAt: snap.StartedAt, schedule: snap.Schedule,
		status: snap.Status, keyID: snap.KeyID, whole: true, signed: true}
	if snap.Status == evidence.StatusComplete && snap.Window != nil {
		h.since = snap.Window.End
	}
}
