package collector

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Secret holds a credential. It never prints its value, so it cannot leak
// through logs, errors or a dumped config.
type Secret string

// Reveal returns the value, for the one place that hands it to an SDK.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer so %#v does not reveal it either.
func (s Secret) GoString() string { return s.String() }

// MarshalText keeps secrets out of any JSON or YAML rendering.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Sources are the credentials and scopes collectors read, declared once.
type Sources struct {
	AWS    *AWSSource    `yaml:"aws"`
	GitHub *GitHubSource `yaml:"github"`
	Okta   *OktaSource   `yaml:"okta"`
}

// AWSSource configures AWS access.
type AWSSource struct {
	// Regions to read; empty means every region enabled in the account.
	Regions      []string     `yaml:"regions"`
	Organization bool         `yaml:"organization"`
	Accounts     []AWSAccount `yaml:"accounts"`
	// OrganizationRole is the role name assumed in discovered member accounts.
	OrganizationRole string `yaml:"organization_role"`
	// ExternalID is used for discovered member accounts.
	ExternalID Secret `yaml:"external_id"`
	// Endpoint overrides every AWS service endpoint (S3-compatible stores,
	// emulators); the SDK's AWS_ENDPOINT_URL* variables work too.
	Endpoint string `yaml:"endpoint"`
	// Concurrency bounds parallel calls per collector run.
	Concurrency int `yaml:"concurrency"`
	// PHITags are the tags that mark a resource as holding ePHI (for
	// example data-classification: phi); a resource with any of them is
	// named as such in its findings. An empty value matches any value.
	// Untagged resources are checked all the same.
	PHITags map[string]string `yaml:"phi_tags"`
	// ExposedPorts are the administrative and database ports aws.network
	// fails a security group for opening to the internet (0.0.0.0/0 or
	// ::/0); empty means DefaultExposedPorts.
	ExposedPorts []int `yaml:"exposed_ports"`
	// RateLimits caps each account's calls to a service, in calls a second,
	// by the SDK's service id (IAM, S3, CloudTrail, EC2…), replacing the
	// built-in cap for that service; 0 leaves it unpaced (the SDK's
	// adaptive retries still slow it once throttled).
	RateLimits map[string]float64 `yaml:"rate_limits"`
}

// MaxRateLimit is the largest rate_limits value accepted, in calls a second.
const MaxRateLimit = 10000

// DefaultExposedPorts are the ports no security group may open to the
// internet unless sources.aws.exposed_ports says otherwise: SSH, RDP,
// MySQL, PostgreSQL, SQL Server, Oracle, Redis, MongoDB, Elasticsearch.
var DefaultExposedPorts = []int{22, 3389, 3306, 5432, 1433, 1521, 6379, 27017, 9200}

// AWSAccount is one account to read.
type AWSAccount struct {
	ID         string `yaml:"id"`
	RoleARN    string `yaml:"role_arn"`
	ExternalID Secret `yaml:"external_id"`
}

// GitHubSource configures GitHub access.
type GitHubSource struct {
	BaseURL        string   `yaml:"base_url"`
	Token          Secret   `yaml:"token"`
	AppID          int64    `yaml:"app_id"`
	InstallationID int64    `yaml:"installation_id"`
	PrivateKeyFile string   `yaml:"private_key_file"`
	Orgs           []string `yaml:"orgs"`
	IncludeRepos   []string `yaml:"include_repos"`
	ExcludeRepos   []string `yaml:"exclude_repos"`
	// ProtectedBranches are checked in addition to each default branch.
	ProtectedBranches []string `yaml:"protected_branches"`
	// Lookback is how far a series' first run looks back, in days.
	LookbackDays int `yaml:"lookback_days"`
}

// OktaSource configures Okta access.
type OktaSource struct {
	OrgURL         string   `yaml:"org_url"`
	Token          Secret   `yaml:"token"`
	ClientID       string   `yaml:"client_id"`
	PrivateKeyFile string   `yaml:"private_key_file"`
	Scopes         []string `yaml:"scopes"`
}

// Thresholds are the configurable limits checks are judged by.
type Thresholds struct {
	AccessKeyMaxAgeDays   int `yaml:"access_key_max_age_days"`
	CredentialUnusedDays  int `yaml:"credential_unused_days"`
	LogRetentionDays      int `yaml:"log_retention_days"`
	SessionIdleMaxMinutes int `yaml:"session_idle_max_minutes"`
	RequiredApprovals     int `yaml:"required_approvals"`
	UserInactiveDays      int `yaml:"user_inactive_days"`
	TrailDeliveryMaxHours int `yaml:"trail_delivery_max_hours"`
	// RDSBackupRetentionDays is the least automated backup retention a
	// database may keep.
	RDSBackupRetentionDays int `yaml:"rds_backup_retention_days"`
	// BackupMaxAgeHours is how old a resource's last successful AWS Backup
	// may be, and the window in which failed and expired backup jobs are
	// failures.
	BackupMaxAgeHours int `yaml:"backup_max_age_hours"`
	// RestoreTestLookbackDays is how far back a restore job proves a
	// restore was tested.
	RestoreTestLookbackDays int `yaml:"restore_test_lookback_days"`
	// GuardDutyFindingMaxAgeDays is how long a high or critical GuardDuty
	// finding may stay unarchived.
	GuardDutyFindingMaxAgeDays int `yaml:"guardduty_finding_max_age_days"`
	// VulnSLACriticalDays, VulnSLAHighDays and VulnSLAMediumDays are how
	// long a Dependabot or code-scanning alert of that severity may stay
	// open. Low-severity alerts are recorded, not judged.
	VulnSLACriticalDays int `yaml:"vuln_sla_critical_days"`
	VulnSLAHighDays     int `yaml:"vuln_sla_high_days"`
	VulnSLAMediumDays   int `yaml:"vuln_sla_medium_days"`
	// AdminAssignmentAccounts is at how many accounts an
	// administrator-equivalent Identity Center permission set assigned
	// directly to one user or group becomes a failure; fewer are recorded.
	AdminAssignmentAccounts int `yaml:"admin_assignment_accounts"`
}

// DefaultThresholds are the values controls.md sets.
func DefaultThresholds() Thresholds {
	return Thresholds{
		AccessKeyMaxAgeDays:        90,
		CredentialUnusedDays:       90,
		LogRetentionDays:           2190,
		SessionIdleMaxMinutes:      30,
		RequiredApprovals:          1,
		UserInactiveDays:           90,
		TrailDeliveryMaxHours:      24,
		RDSBackupRetentionDays:     7,
		BackupMaxAgeHours:          26,
		RestoreTestLookbackDays:    365,
		GuardDutyFindingMaxAgeDays: 30,
		VulnSLACriticalDays:        15,
		VulnSLAHighDays:            30,
		VulnSLAMediumDays:          90,
		AdminAssignmentAccounts:    3,
	}
}

var (
	awsAccountID = regexp.MustCompile(`^[0-9]{12}$`)
	roleARN      = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`)
	awsRegion    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// Validate checks t; errors name the field.
func (t Thresholds) Validate() error {
	var errs []error
	pos := func(name string, v int) {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s: must be at least 1, got %d", name, v))
		}
	}
	pos("access_key_max_age_days", t.AccessKeyMaxAgeDays)
	pos("credential_unused_days", t.CredentialUnusedDays)
	pos("log_retention_days", t.LogRetentionDays)
	pos("session_idle_max_minutes", t.SessionIdleMaxMinutes)
	pos("required_approvals", t.RequiredApprovals)
	pos("user_inactive_days", t.UserInactiveDays)
	pos("trail_delivery_max_hours", t.TrailDeliveryMaxHours)
	pos("rds_backup_retention_days", t.RDSBackupRetentionDays)
	pos("backup_max_age_hours", t.BackupMaxAgeHours)
	pos("restore_test_lookback_days", t.RestoreTestLookbackDays)
	pos("guardduty_finding_max_age_days", t.GuardDutyFindingMaxAgeDays)
	pos("vuln_sla_critical_days", t.VulnSLACriticalDays)
	pos("vuln_sla_high_days", t.VulnSLAHighDays)
	pos("vuln_sla_medium_days", t.VulnSLAMediumDays)
	pos("admin_assignment_accounts", t.AdminAssignmentAccounts)
	// A more severe alert never gets longer to be fixed than a less severe
	// one.
	if t.VulnSLACriticalDays > t.VulnSLAHighDays {
		errs = append(errs, fmt.Errorf("vuln_sla_critical_days: %d is longer than vuln_sla_high_days (%d)", t.VulnSLACriticalDays, t.VulnSLAHighDays))
	}
	if t.VulnSLAHighDays > t.VulnSLAMediumDays {
		errs = append(errs, fmt.Errorf("vuln_sla_high_days: %d is longer than vuln_sla_medium_days (%d)", t.VulnSLAHighDays, t.VulnSLAMediumDays))
	}
	return errors.Join(errs...)
}

// Validate checks a.
func (a *AWSSource) Validate() error {
	var errs []error
	for i, r := range a.Regions {
		if !awsRegion.MatchString(r) {
			errs = append(errs, fmt.Errorf("regions[%d]: %q is not an AWS region name", i, r))
		}
	}
	if !a.Organization && len(a.Accounts) == 0 {
		errs = append(errs, errors.New("accounts: list at least one account, or set organization: true"))
	}
	seen := map[string]bool{}
	for i, acc := range a.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		if !awsAccountID.MatchString(acc.ID) {
			errs = append(errs, fmt.Errorf("%s.id: %q is not a 12-digit account id", p, acc.ID))
		}
		if seen[acc.ID] {
			errs = append(errs, fmt.Errorf("%s.id: account %s listed twice", p, acc.ID))
		}
		seen[acc.ID] = true
		if acc.RoleARN != "" && !roleARN.MatchString(acc.RoleARN) {
			errs = append(errs, fmt.Errorf("%s.role_arn: %q is not an IAM role ARN", p, acc.RoleARN))
		}
		if acc.ExternalID != "" && acc.RoleARN == "" {
			errs = append(errs, fmt.Errorf("%s.external_id: set without role_arn", p))
		}
	}
	for k, v := range a.PHITags {
		if k == "" || len(k) > 128 {
			errs = append(errs, fmt.Errorf("phi_tags: tag key %q must be 1 to 128 characters", k))
		}
		if len(v) > 256 {
			errs = append(errs, fmt.Errorf("phi_tags.%s: tag value is longer than 256 characters", k))
		}
	}
	if a.Endpoint != "" {
		if err := validURL(a.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("endpoint: %w", err))
		}
	}
	if a.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency: must not be negative, got %d", a.Concurrency))
	}
	for _, svc := range slices.Sorted(maps.Keys(a.RateLimits)) {
		r := a.RateLimits[svc]
		switch {
		case strings.TrimSpace(svc) == "":
			errs = append(errs, errors.New("rate_limits: a service id is empty"))
		case math.IsNaN(r) || r < 0 || r > MaxRateLimit:
			errs = append(errs, fmt.Errorf("rate_limits: %s: want 0 (unpaced) to %d calls a second, got %v", svc, MaxRateLimit, r))
		}
	}
	ports := map[int]bool{}
	for i, p := range a.ExposedPorts {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("exposed_ports[%d]: %d is not a port (1 to 65535)", i, p))
		}
		if ports[p] {
			errs = append(errs, fmt.Errorf("exposed_ports[%d]: port %d listed twice", i, p))
		}
		ports[p] = true
	}
	return errors.Join(errs...)
}

// Validate checks g.
func (g *GitHubSource) Validate() error {
	var errs []error
	if g.BaseURL != "" {
		if err := validURL(g.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("base_url: %w", err))
		}
	}
	app := g.AppID != 0 || g.InstallationID != 0 || g.PrivateKeyFile != ""
	switch {
	case g.Token == "" && !app:
		errs = append(errs, errors.New("token: required (or app_id, installation_id and private_key_file)"))
	case g.Token != "" && app:
		errs = append(errs, errors.New("token: set either a token or GitHub App credentials, not both"))
	case app && (g.AppID == 0 || g.InstallationID == 0 || g.PrivateKeyFile == ""):
		errs = append(errs, errors.New("app_id: a GitHub App needs app_id, installation_id and private_key_file"))
	}
	if len(g.Orgs) == 0 {
		errs = append(errs, errors.New("orgs: list at least one organization"))
	}
	for i, o := range g.Orgs {
		if strings.TrimSpace(o) == "" || strings.ContainsAny(o, "/ ") {
			errs = append(errs, fmt.Errorf("orgs[%d]: %q is not an organization login", i, o))
		}
	}
	if g.LookbackDays < 0 {
		errs = append(errs, fmt.Errorf("lookback_days: must not be negative, got %d", g.LookbackDays))
	}
	return errors.Join(errs...)
}

// Validate checks o.
func (o *OktaSource) Validate() error {
	var errs []error
	if o.OrgURL == "" {
		errs = append(errs, errors.New("org_url: required"))
	} else if err := validURL(o.OrgURL); err != nil {
		errs = append(errs, fmt.Errorf("org_url: %w", err))
	}
	oauth := o.ClientID != "" || o.PrivateKeyFile != ""
	switch {
	case o.Token == "" && !oauth:
		errs = append(errs, errors.New("token: required (or client_id and private_key_file)"))
	case o.Token != "" && oauth:
		errs = append(errs, errors.New("token: set either an API token or OAuth credentials, not both"))
	case oauth && (o.ClientID == "" || o.PrivateKeyFile == ""):
		errs = append(errs, errors.New("client_id: OAuth needs client_id and private_key_file"))
	}
	return errors.Join(errs...)
}

func validURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q: want an http(s) URL with a host", s)
	}
	return nil
}
