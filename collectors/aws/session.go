package awscollector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// defaultConcurrency bounds parallel API calls when the source does not say.
const defaultConcurrency = 8

// defaultOrganizationRole is assumed in discovered member accounts.
const defaultOrganizationRole = "exhibit-reader"

// tuning holds what tests shorten: retry backoff and report polling.
type tuning struct {
	backoff retry.BackoffDelayer
	// noRateLimit keeps the standard retryer but drops the client-side
	// rate limiting, adaptive mode's and the pacer's, whose waits would
	// make tests slow.
	noRateLimit bool
	// rates, when set, replaces defaultRates.
	rates map[string]float64
	// lanes, when set, is the pacer the session uses instead of one of
	// its own; defaultTuning's is the process's (processLanes).
	lanes        *pacer
	pollInterval time.Duration
	pollAttempts int
}

func defaultTuning() tuning {
	return tuning{pollInterval: 2 * time.Second, pollAttempts: 30, lanes: processLanes}
}

// session is what every AWS collector shares: the base SDK configuration
// built from the default credential chain, the accounts to read and the
// regions to read them in.
type session struct {
	id       string
	src      *collector.AWSSource
	settings collector.Settings
	tune     tuning
	pace     *pacer

	cfgMu  sync.Mutex
	loaded bool
	base   aws.Config

	mu      sync.Mutex
	skipped []orgAccount // suspended or otherwise inactive member accounts
	manager string       // the organization's management account, when discovered
}

func newSession(s collector.Settings, tune tuning) (*session, error) {
	if s.Sources.AWS == nil {
		return nil, fmt.Errorf("aws: %w", collector.ErrNoSource)
	}
	if s.HTTPClient == nil {
		return nil, errors.New("aws: settings carry no HTTP client")
	}
	if err := s.Sources.AWS.Validate(); err != nil {
		return nil, fmt.Errorf("sources.aws: %w", err)
	}
	pace := tune.lanes
	if pace == nil {
		pace = newPacer(tune)
	}
	return &session{id: s.ID, src: s.Sources.AWS, settings: s, tune: tune, pace: pace}, nil
}

// config loads the default chain: environment, shared files, web identity,
// container and instance roles all keep working. A loaded configuration is
// kept (its credential cache with it); a failure is not, so the next run
// tries again.
func (s *session) config(ctx context.Context) (aws.Config, error) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	if s.loaded {
		return s.base, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer { return s.pace.retryer("", s.src.RateLimits) }))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws configuration: %w", err)
	}
	// Set after loading: the SDK can only apply AWS_CA_BUNDLE to a client
	// it builds itself, and would refuse the recording client. API calls
	// must go through the recording client, whose transport the agent
	// builds with AWS_CA_BUNDLE's certificates among its roots.
	cfg.HTTPClient = s.settings.HTTPClient
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if s.src.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(s.src.Endpoint)
	}
	s.base, s.loaded = cfg, true
	return cfg, nil
}

func (s *session) concurrency() int {
	if s.src.Concurrency > 0 {
		return s.src.Concurrency
	}
	return defaultConcurrency
}

// target is one account to read and how to reach it.
type target struct {
	id         string
	roleARN    string
	externalID collector.Secret
}

// target resolves how to reach account id: an explicitly configured
// account first, then an organization member through the organization role.
func (s *session) target(ctx context.Context, id string) (target, error) {
	for _, a := range s.src.Accounts {
		if a.ID == id {
			return target{id: a.ID, roleARN: a.RoleARN, externalID: a.ExternalID}, nil
		}
	}
	if !s.src.Organization {
		return target{}, fmt.Errorf("account %s is not configured", id)
	}
	cfg, err := s.config(ctx)
	if err != nil {
		return target{}, err
	}
	self, err := s.callerAccount(ctx, cfg)
	if err != nil {
		return target{}, err
	}
	if self == id {
		return target{id: id}, nil
	}
	role := s.src.OrganizationRole
	if role == "" {
		role = defaultOrganizationRole
	}
	return target{
		id:         id,
		roleARN:    fmt.Sprintf("arn:%s:iam::%s:role/%s", partition(cfg.Region), id, role),
		externalID: s.src.ExternalID,
	}, nil
}

// accountConfig returns configuration whose credentials act in t's account,
// and checks the credentials really belong to it: evidence labelled with
// the wrong account would be worse than none.
func (s *session) accountConfig(ctx context.Context, t target) (aws.Config, error) {
	base, err := s.config(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	cfg := base.Copy()
	cfg.Retryer = func() aws.Retryer { return s.pace.retryer(t.id, s.src.RateLimits) }
	if t.roleARN != "" {
		stsc := sts.NewFromConfig(base, s.stsOptions)
		prov := stscreds.NewAssumeRoleProvider(stsc, t.roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = sessionName(s.id)
			if t.externalID != "" {
				o.ExternalID = aws.String(t.externalID.Reveal())
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(prov)
	}
	got, err := s.callerAccount(ctx, cfg)
	if err != nil {
		if t.roleARN != "" {
			return aws.Config{}, fmt.Errorf("assume role %s: %w", t.roleARN, err)
		}
		return aws.Config{}, err
	}
	if got != t.id {
		return aws.Config{}, fmt.Errorf("credentials belong to account %s, not %s", got, t.id)
	}
	return cfg, nil
}

func (s *session) stsOptions(o *sts.Options) {
	if s.src.Endpoint != "" {
		o.BaseEndpoint = aws.String(s.src.Endpoint)
	}
}

func (s *session) callerAccount(ctx context.Context, cfg aws.Config) (string, error) {
	out, err := sts.NewFromConfig(cfg, s.stsOptions).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("get caller identity: %w", err)
	}
	return aws.ToString(out.Account), nil
}

// sessionName identifies the agent in the member account's CloudTrail.
func sessionName(id string) string {
	var b strings.Builder
	b.WriteString("exhibit-")
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("+=,.@-_", r):
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	n := b.String()
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

// thresholds returns the configured limits, with the catalog's defaults
// for any left unset: a zero limit would make every check pass.
func (s *session) thresholds() collector.Thresholds {
	t, d := s.settings.Thresholds, collector.DefaultThresholds()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&t.AccessKeyMaxAgeDays, d.AccessKeyMaxAgeDays)
	set(&t.CredentialUnusedDays, d.CredentialUnusedDays)
	set(&t.LogRetentionDays, d.LogRetentionDays)
	set(&t.TrailDeliveryMaxHours, d.TrailDeliveryMaxHours)
	set(&t.RDSBackupRetentionDays, d.RDSBackupRetentionDays)
	set(&t.BackupMaxAgeHours, d.BackupMaxAgeHours)
	set(&t.RestoreTestLookbackDays, d.RestoreTestLookbackDays)
	set(&t.GuardDutyFindingMaxAgeDays, d.GuardDutyFindingMaxAgeDays)
	set(&t.AdminAssignmentAccounts, d.AdminAssignmentAccounts)
	return t
}

// accountRun is how every collector starts on one account: the account's
// configuration (assumed role, checked identity), its partition, and an
// empty result that already lists the organization accounts skipped.
type accountRun struct {
	cfg     aws.Config
	part    string
	res     *collector.Result
	partial *collector.PartialError
}

func (s *session) begin(ctx context.Context, acct string) (*accountRun, error) {
	t, err := s.target(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, err := s.accountConfig(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acct, err)
	}
	return &accountRun{
		cfg:     cfg,
		part:    partition(cfg.Region),
		res:     &collector.Result{Records: s.skippedRecords(acct)},
		partial: &collector.PartialError{},
	}, nil
}

// perAccount is what the AWS collectors share: their session, and one
// scope per account with its regions.
type perAccount struct{ s *session }

// Scopes lists one scope per account.
func (c perAccount) Scopes(ctx context.Context) ([]evidence.Scope, error) {
	return c.s.scopes(ctx, true)
}
