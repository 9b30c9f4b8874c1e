// Package config reads exhibit's one YAML configuration file: strictly
// (unknown keys are errors), with defaults, `${VAR}` expansion for secrets
// only, and validation whose every error names the field path. All problems
// are reported together, in file order, before anything runs.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/exceptions"
	"github.com/exhibit-dev/exhibit/pkg/localfile"
	"github.com/exhibit-dev/exhibit/pkg/schedule"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Config is the whole configuration file.
type Config struct {
	Store        string       `yaml:"store"`
	StoreOptions StoreOptions `yaml:"store_options"`
	SigningKey   string       `yaml:"signing_key"`
	// TimestampAuthority is an RFC 3161 time-stamping authority's URL: each
	// snapshot gets a token over its digest from a clock the operator does
	// not control.
	TimestampAuthority string               `yaml:"timestamp_authority"`
	SpoolDir           string               `yaml:"spool_dir"`
	Listen             string               `yaml:"listen"`
	Log                Log                  `yaml:"log"`
	Shutdown           Shutdown             `yaml:"shutdown"`
	Sources            collector.Sources    `yaml:"sources"`
	Collectors         []Collector          `yaml:"collectors" max:"1000"`
	Thresholds         collector.Thresholds `yaml:"thresholds"`
	Controls           Controls             `yaml:"controls"`
	// AcceptedRisks is the path of the accepted-risks file (see package
	// exceptions): read and validated at start, and again at every run.
	AcceptedRisks string `yaml:"accepted_risks"`
	// Reviews schedules access reviews: `reviews: quarterly`, or
	// `{schedule: quarterly, grace_days: 14}`. Nil without.
	Reviews *Reviews `yaml:"reviews"`
	// Identity configures identity.reconcile: the mapping file and the
	// declared service accounts.
	Identity collector.Identity `yaml:"identity"`
	// Replicas is how many `exhibit run` processes share the store and
	// divide its series between them, each the primary of some and the
	// standby of others. Each learns its ordinal from EXHIBIT_REPLICA or a
	// hostname ending in -<ordinal> (ReplicaOrdinal).
	Replicas int `yaml:"replicas"`
	// StandbyDelay is how long after a slot starts a standby replica waits
	// for the primary's snapshot before collecting the slot itself; zero
	// for a quarter of each collector's interval, at most 15 minutes.
	StandbyDelay time.Duration `yaml:"standby_delay"`
	// MemoryLimit is a soft limit on the memory of an exhibit process that
	// reads this file, written as GOMEMLIMIT is ("200MiB"): near it the
	// garbage collector runs sooner instead of letting the heap grow to
	// twice what is live. It is no hard cap: live data past it is kept,
	// and collected more often. Empty leaves the Go runtime's own setting
	// (GOMEMLIMIT, else no limit).
	MemoryLimit string `yaml:"memory_limit"`
}

// MinMemoryLimit is the smallest memory_limit accepted: less than what a
// run of one collector keeps live would make the garbage collector run
// without pause.
const MinMemoryLimit = 64 << 20

// memoryUnits are the suffixes GOMEMLIMIT accepts, and what they multiply.
var memoryUnits = []struct {
	suffix string
	factor int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// ParseMemoryLimit reads a size as GOMEMLIMIT is written: a whole number
// followed by B, KiB, MiB, GiB or TiB.
func ParseMemoryLimit(s string) (int64, error) {
	for _, u := range memoryUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 || strings.HasPrefix(num, "+") {
			break
		}
		if n > math.MaxInt64/u.factor {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return n * u.factor, nil
	}
	return 0, fmt.Errorf("want a whole number of B, KiB, MiB, GiB or TiB, such as 200MiB; got %q", s)
}

// MemoryLimitBytes is memory_limit in bytes, 0 when it is not set (or not
// valid: Validate says why).
func (c *Config) MemoryLimitBytes() int64 {
	if c.MemoryLimit == "" {
		return 0
	}
	n, err := ParseMemoryLimit(c.MemoryLimit)
	if err != nil {
		return 0
	}
	return n
}

// MaxReplicas is the most replicas a configuration may name.
const MaxReplicas = 64

// ReplicaEnv names the environment variable that gives a replica its
// ordinal; the Helm chart sets it from the StatefulSet pod's index.
const ReplicaEnv = "EXHIBIT_REPLICA"

// ReplicaOrdinal is this replica's place among replicas, 0 to replicas-1:
// the value of EXHIBIT_REPLICA, else the -<ordinal> a StatefulSet pod's
// hostname ends in. A single replica is 0 whatever its hostname.
func ReplicaOrdinal(replicas int, lookup func(string) (string, bool), hostname string) (int, error) {
	want := fmt.Sprintf("want an integer from 0 to %d (replicas: %d)", replicas-1, replicas)
	if v, ok := lookup(ReplicaEnv); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil:
			return 0, fmt.Errorf("%s: %q is not a replica ordinal; %s", ReplicaEnv, v, want)
		case n < 0 || n >= replicas:
			return 0, fmt.Errorf("%s: %d is out of range; %s", ReplicaEnv, n, want)
		}
		return n, nil
	}
	if replicas <= 1 {
		return 0, nil
	}
	i := strings.LastIndexByte(hostname, '-')
	if i < 0 || i == len(hostname)-1 {
		return 0, fmt.Errorf("replicas: %d, but this replica's ordinal is unknown: set %s, or run with a hostname ending in -<ordinal> as StatefulSet pods have (hostname %q)",
			replicas, ReplicaEnv, hostname)
	}
	n, err := strconv.Atoi(hostname[i+1:])
	switch {
	case err != nil:
		return 0, fmt.Errorf("replicas: %d, but hostname %q does not end in -<ordinal>; set %s", replicas, hostname, ReplicaEnv)
	case n < 0 || n >= replicas:
		return 0, fmt.Errorf("hostname %q: ordinal %d is out of range; %s", hostname, n, want)
	}
	return n, nil
}

// Reviews is the access-review schedule. Each review snapshot records the
// schedule as its cron spec, so verify's completeness holds the review
// series to it like any collector's: a period without a review is a gap.
type Reviews struct {
	// Schedule is quarterly, monthly, semiannually, annually or a cron
	// expression.
	Schedule string `yaml:"schedule"`
	// GraceDays is how long access a review revoked may still show in the
	// access lists before the follow-up judges it a fail.
	GraceDays int `yaml:"grace_days"`
}

// reviewSchedules are the names a review schedule may be given by.
var reviewSchedules = map[string]string{
	"monthly":      "0 0 1 * *",
	"quarterly":    "0 0 1 1,4,7,10 *",
	"semiannually": "0 0 1 1,7 *",
	"annually":     "0 0 1 1 *",
}

// Spec is the schedule as a cron expression.
func (r *Reviews) Spec() string {
	if s, ok := reviewSchedules[r.Schedule]; ok {
		return s
	}
	return r.Schedule
}

// Validate checks the schedule and the grace period.
func (r *Reviews) Validate() error {
	var errs []error
	if r.Schedule == "" {
		errs = append(errs, errors.New("schedule: required (quarterly, monthly, semiannually, annually or a cron expression)"))
	} else if _, err := schedule.Parse(r.Spec()); err != nil {
		errs = append(errs, fmt.Errorf("schedule: %w", err))
	}
	if r.GraceDays < 0 || r.GraceDays > 366 {
		errs = append(errs, fmt.Errorf("grace_days: want 0 to 366, got %d", r.GraceDays))
	}
	return errors.Join(errs...)
}

// StoreOptions configure the store; all but Timeout apply to s3:// only.
type StoreOptions struct {
	// Timeout bounds every store call: a store that does not answer within
	// it is unavailable, and snapshots go to the spool.
	Timeout        time.Duration `yaml:"timeout"`
	Region         string        `yaml:"region"`
	Endpoint       string        `yaml:"endpoint"`
	ObjectLockMode string        `yaml:"object_lock_mode"`
	RetainDays     int           `yaml:"retain_days"`
	SSEKMSKey      string        `yaml:"sse_kms_key"`
	// AcceptUnlockedBucket lets the agent write to a bucket without
	// versioning or Object Lock. Every snapshot then records the risk.
	AcceptUnlockedBucket bool `yaml:"accept_unlocked_bucket"`
}

// Log configures logging.
type Log struct {
	Level string `yaml:"level"`
}

// Shutdown configures how the daemon stops.
type Shutdown struct {
	// Grace is how long in-flight runs may take to finish after SIGTERM.
	Grace time.Duration `yaml:"grace"`
}

// Collector is one configured collector instance.
type Collector struct {
	Type string `yaml:"type"`
	// ID names the instance; it defaults to the type and must be unique.
	ID       string        `yaml:"id"`
	Schedule string        `yaml:"schedule"`
	Timeout  time.Duration `yaml:"timeout"`
	// Jitter delays each run by a random duration up to this much.
	Jitter time.Duration `yaml:"jitter"`
	// ScopeConcurrency bounds how many scopes (AWS accounts, GitHub
	// organizations) one run collects at once; 1 collects them one after
	// another. sources.aws.concurrency still bounds calls inside a scope.
	ScopeConcurrency int `yaml:"scope_concurrency"`
}

// Controls holds the customer's own control ids.
type Controls struct {
	Custom []controls.Custom `yaml:"custom"`
}

// Defaults returns a configuration with every default set.
func Defaults() Config {
	return Config{
		Store: "file://./evidence",
		StoreOptions: StoreOptions{
			Timeout:        store.DefaultTimeout,
			ObjectLockMode: "COMPLIANCE",
			RetainDays:     2190,
		},
		SigningKey: "file://./exhibit-signing.pem",
		SpoolDir:   "./exhibit-spool",
		Listen:     "127.0.0.1:9464",
		Log:        Log{Level: "info"},
		Shutdown:   Shutdown{Grace: 2 * time.Minute},
		Thresholds: collector.DefaultThresholds(),
		Replicas:   1,
	}
}

// DefaultTimeout bounds a collector run when the config does not.
const DefaultTimeout = 10 * time.Minute

// DefaultScopeConcurrency is how many scopes a run collects at once when
// the config does not say; MaxScopeConcurrency is the most it may say.
const (
	DefaultScopeConcurrency = 4
	MaxScopeConcurrency     = 64
)

// MaxCollectors is how many collectors one configuration may list (the max
// tag on Config.Collectors says the same to the parser). More is a generated
// file gone wrong, or a job for several agents.
const MaxCollectors = 1000

// Load reads, expands and validates the file at path, which must be a regular
// file of at most MaxFileSize bytes. reg knows the collector types.
func Load(path string, reg *collector.Registry) (*Config, error) {
	b, err := localfile.Read(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(b, os.LookupEnv, reg)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.AcceptedRisks != "" {
		// Refused at start like any other configuration problem: a run
		// must not begin with acceptances nobody could read.
		if _, err := cfg.LoadAcceptedRisks(reg); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	return cfg, nil
}

// LoadAcceptedRisks reads and validates the accepted-risks file the
// configuration names, against the checks reg's collectors declare. Every
// problem is reported, each prefixed with accepted_risks and the file.
// Without accepted_risks it returns an empty set.
func (c *Config) LoadAcceptedRisks(reg *collector.Registry) (*exceptions.Set, error) {
	if c.AcceptedRisks == "" {
		return &exceptions.Set{}, nil
	}
	set, err := exceptions.Load(c.AcceptedRisks, Checks(reg))
	if err != nil {
		var out []error
		for _, e := range unjoin(err) {
			out = append(out, fmt.Errorf("accepted_risks: %w", e))
		}
		return nil, errors.Join(out...)
	}
	return set, nil
}

// Checks lists every check id the registry's collectors declare, sorted.
func Checks(reg *collector.Registry) []string {
	var out []string
	for _, typ := range reg.Types() {
		f, _ := reg.Lookup(typ)
		out = append(out, f.Checks...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Parse decodes YAML over the defaults and validates the result. Unknown and
// duplicate keys, type mismatches, ${VAR} outside secret fields, inline
// secrets, unset variables and every Validate problem are reported together,
// each with its field path, in the order of the file.
func Parse(b []byte, lookup func(string) (string, bool), reg *collector.Registry) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		// Running on defaults alone would write a store, a key and a spool
		// into the working directory and collect nothing.
		return nil, fmt.Errorf("%s: the file is empty; want a mapping with at least collectors (see configs/)", topLevel)
	}
	cfg := Defaults()
	w := newWalker(lookup)
	w.walk(&doc, typeOf(&cfg), "")
	if w.tooBig {
		return nil, w.report(nil)
	}
	if err := doc.Decode(&cfg); err != nil {
		// The walker removed what would not decode; this is a bug.
		return nil, w.report(fmt.Errorf("decode: %w", err))
	}
	for i := range cfg.Collectors {
		c := &cfg.Collectors[i]
		if c.ID == "" {
			c.ID = c.Type
		}
		if c.Timeout == 0 {
			c.Timeout = DefaultTimeout
		}
		if c.ScopeConcurrency == 0 {
			c.ScopeConcurrency = DefaultScopeConcurrency
		}
	}
	if err := w.report(cfg.Validate(reg)); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var (
	instanceID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	fieldPath  = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\[[0-9]+\])*(\.[a-z_][a-z0-9_]*(\[[0-9]+\])*)*: `)
	logLevels  = map[string]bool{"debug": true, "info": true, "warn": true, "error": true}
)

// Validate checks the whole configuration and returns every problem found.
func (c *Config) Validate(reg *collector.Registry) error {
	var errs []error
	add := func(path string, err error) {
		if err == nil {
			return
		}
		for _, e := range unjoin(err) {
			if fieldPath.MatchString(e.Error()) {
				// The error already names a field below path.
				errs = append(errs, fmt.Errorf("%s.%w", path, e))
			} else {
				errs = append(errs, fmt.Errorf("%s: %w", path, e))
			}
		}
	}
	add("store", validStoreURL(c.Store))
	add("signing_key", validKeyURI(c.SigningKey))
	if c.TimestampAuthority != "" {
		add("timestamp_authority", validTSA(c.TimestampAuthority))
	}
	if c.StoreOptions.Timeout <= 0 {
		add("store_options.timeout", fmt.Errorf("must be positive, got %s", c.StoreOptions.Timeout))
	}
	if strings.HasPrefix(c.Store, "s3://") {
		add("store_options", c.StoreOptions.Validate())
	}
	if c.SpoolDir == "" {
		add("spool_dir", errors.New("required"))
	}
	if c.Listen != "" {
		add("listen", validListen(c.Listen))
	}
	if !logLevels[c.Log.Level] {
		add("log.level", fmt.Errorf("want debug, info, warn or error, got %q", c.Log.Level))
	}
	if c.Shutdown.Grace < 0 {
		add("shutdown.grace", errors.New("must not be negative"))
	}
	if c.Sources.AWS != nil {
		add("sources.aws", c.Sources.AWS.Validate())
	}
	if c.Sources.GitHub != nil {
		add("sources.github", c.Sources.GitHub.Validate())
	}
	if c.Sources.Okta != nil {
		add("sources.okta", c.Sources.Okta.Validate())
	}
	add("thresholds", c.Thresholds.Validate())
	add("identity", c.Identity.Validate())
	if c.Reviews != nil {
		add("reviews", c.Reviews.Validate())
	}
	if c.Replicas < 1 || c.Replicas > MaxReplicas {
		add("replicas", fmt.Errorf("want 1 to %d, got %d", MaxReplicas, c.Replicas))
	}
	if c.StandbyDelay < 0 {
		add("standby_delay", fmt.Errorf("must not be negative, got %s", c.StandbyDelay))
	}
	if c.MemoryLimit != "" {
		if n, err := ParseMemoryLimit(c.MemoryLimit); err != nil {
			add("memory_limit", err)
		} else if n < MinMemoryLimit {
			add("memory_limit", fmt.Errorf("%s is below the smallest accepted, 64MiB", c.MemoryLimit))
		}
	}
	switch n := len(c.Collectors); {
	case n == 0:
		add("collectors", errors.New("none configured; there would be nothing to collect"))
	case n > MaxCollectors:
		// Each would be checked, built and scheduled before anything runs.
		add("collectors", fmt.Errorf("%d entries; at most %d are supported", n, MaxCollectors))
	}
	ids := map[string]int{}
	for i, col := range c.Collectors {
		if i == MaxCollectors {
			break // the list is refused whole; its items would only add noise
		}
		p := fmt.Sprintf("collectors[%d]", i)
		f, known := reg.Lookup(col.Type)
		switch {
		case col.Type == "":
			add(p+".type", errors.New("required"))
		case !known:
			add(p+".type", fmt.Errorf("unknown collector type %q (known: %s)", col.Type, strings.Join(reg.Types(), ", ")))
		case !c.hasSource(f.Provider):
			add(p+".type", fmt.Errorf("%s reads %s, but sources.%s is not configured", col.Type, f.Provider, f.Provider))
		}
		if !instanceID.MatchString(col.ID) {
			add(p+".id", fmt.Errorf("%q: use lower-case letters, digits, '.', '_' and '-'", col.ID))
		} else if j, dup := ids[col.ID]; dup {
			add(p+".id", fmt.Errorf("%q is already used by collectors[%d]; give one an explicit id", col.ID, j))
		}
		ids[col.ID] = i
		var sched cron.Schedule
		if col.Schedule == "" {
			add(p+".schedule", errors.New("required"))
		} else if s, err := schedule.Parse(col.Schedule); err != nil {
			add(p+".schedule", err)
		} else {
			sched = s
		}
		if col.Timeout < 0 {
			add(p+".timeout", errors.New("must not be negative"))
		}
		if col.ScopeConcurrency < 0 || col.ScopeConcurrency > MaxScopeConcurrency {
			add(p+".scope_concurrency", fmt.Errorf("must be between 1 and %d, got %d", MaxScopeConcurrency, col.ScopeConcurrency))
		}
		switch {
		case col.Jitter < 0:
			add(p+".jitter", errors.New("must not be negative"))
		case col.Jitter > 0 && sched != nil:
			// Jitter delays a run inside its slot; reaching the next slot
			// would make that run overlap, and be skipped.
			if iv := schedule.Interval(sched, time.Now()); col.Jitter >= iv {
				add(p+".jitter", fmt.Errorf("%s must be shorter than the schedule's interval (%s)", col.Jitter, iv))
			}
		}
		if c.Replicas > 1 && sched != nil && c.StandbyDelay >= 0 {
			c.validateStandby(p, col, sched, add)
		}
	}
	if len(c.Controls.Custom) > 0 {
		if _, err := c.Catalog(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validateStandby checks a sharded collector against the standby delay: a
// standby's run waits out the delay and must still end inside its slot, and
// a primary's jitter must not delay it past the standby's deadline.
func (c *Config) validateStandby(p string, col Collector, sched cron.Schedule, add func(string, error)) {
	iv := schedule.Interval(sched, time.Now())
	delay := c.StandbyDelay
	if delay == 0 {
		delay = schedule.StandbyDelay(sched, time.Now())
	} else if delay >= iv {
		add("standby_delay", fmt.Errorf("%s must be shorter than the interval of %s (%s, schedule %q): a standby would collect in the next slot",
			delay, p, iv, col.Schedule))
		return
	}
	if col.Jitter > 0 && col.Jitter >= delay {
		add(p+".jitter", fmt.Errorf("%s must be shorter than the standby delay (%s) when replicas share the store: the standby would collect every slot the jitter delays", col.Jitter, delay))
	}
}

// Catalog returns the built-in control catalog extended with the
// configuration's own controls.
func (c *Config) Catalog() (*controls.Catalog, error) {
	cat, err := controls.Default()
	if err != nil {
		return nil, fmt.Errorf("control catalog: %w", err)
	}
	if len(c.Controls.Custom) == 0 {
		return cat, nil
	}
	cat, err = cat.WithCustom(c.Controls.Custom)
	if err != nil {
		var out []error
		for _, e := range unjoin(err) {
			out = append(out, fmt.Errorf("controls.custom%w", e))
		}
		return nil, errors.Join(out...)
	}
	return cat, nil
}

func (c *Config) hasSource(provider string) bool {
	switch provider {
	case "aws":
		return c.Sources.AWS != nil
	case "github":
		return c.Sources.GitHub != nil
	case "okta":
		return c.Sources.Okta != nil
	}
	return true
}

// Validate checks the S3 store options.
func (o StoreOptions) Validate() error {
	var errs []error
	switch o.ObjectLockMode {
	case "COMPLIANCE", "GOVERNANCE":
	default:
		errs = append(errs, fmt.Errorf("object_lock_mode: want COMPLIANCE or GOVERNANCE, got %q", o.ObjectLockMode))
	}
	if o.RetainDays < 1 {
		errs = append(errs, fmt.Errorf("retain_days: must be at least 1, got %d", o.RetainDays))
	}
	if o.Endpoint != "" && !strings.HasPrefix(o.Endpoint, "http://") && !strings.HasPrefix(o.Endpoint, "https://") {
		errs = append(errs, fmt.Errorf("endpoint: want an http(s) URL, got %q", o.Endpoint))
	}
	return errors.Join(errs...)
}

func validStoreURL(s string) error {
	switch {
	case strings.HasPrefix(s, "file://") && len(s) > len("file://"):
		return nil
	case strings.HasPrefix(s, "s3://") && len(strings.TrimPrefix(s, "s3://")) > 0 && !strings.HasPrefix(s, "s3:///"):
		return nil
	}
	return fmt.Errorf("want file://PATH or s3://BUCKET[/PREFIX], got %q", s)
}

// validListen wants host:port with a port from 0 (any free port) to 65535.
func validListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q in %q: want a number from 0 to 65535", port, s)
	}
	return nil
}

func validKeyURI(s string) error {
	switch {
	case strings.HasPrefix(s, "file://") && len(s) > len("file://"):
		return nil
	case strings.HasPrefix(s, "awskms:///") && len(s) > len("awskms:///"):
		return nil
	}
	return fmt.Errorf("want file://PATH or awskms:///KEY-ARN, got %q", s)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

// validTSA accepts an http(s) URL without credentials in it: a TSA that
// needs them is reached through a proxy, never with secrets in the config.
func validTSA(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("want an http(s) URL of an RFC 3161 time-stamping authority, got %q", raw)
	case u.User != nil:
		return errors.New("the URL must not carry credentials")
	}
	return nil
}
