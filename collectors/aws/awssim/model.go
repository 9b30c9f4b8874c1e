package awssim

import "time"

// Account is one simulated account.
type Account struct {
	ID         string
	Name       string
	ExternalID string // required by AssumeRole when set
	Regions    []Region
	Root       Root
	Users      []User
	Groups     []Group
	Roles      []Role
	Policies   []Policy
	// PasswordPolicy nil means the account has none.
	PasswordPolicy *PasswordPolicy
	// PublicAccessBlock is the account-level setting; nil means none.
	PublicAccessBlock *PublicAccessBlock
	Buckets           []*Bucket
	Trails            []Trail
	LogGroups         []LogGroup
	Tables            []Table
	Keys              []KMSKey
	// EBS is the account's EBS settings per region; a region not listed
	// has encryption by default off.
	EBS         []EBSSettings
	Volumes     []Volume
	Snapshots   []Snapshot
	DBInstances []DBInstance
	DBClusters  []DBCluster
	DBSnapshots []DBSnapshot
	// Backup is the account's AWS Backup estate; TaggedResources is what
	// the Resource Groups Tagging API lists, kept apart from other
	// services' resources so the two need not agree.
	Backup          Backup
	TaggedResources []TaggedResource
	// SecurityGroups are the account's VPC security groups; each VPC's
	// group named "default" is its default security group.
	SecurityGroups []SecurityGroup
	// MetricFilters are CloudWatch Logs metric filters, Alarms CloudWatch
	// metric alarms, VPCs and FlowLogs what EC2 lists of them.
	MetricFilters []MetricFilter
	Alarms        []Alarm
	VPCs          []VPC
	FlowLogs      []FlowLog
	// GuardDuty, SecurityHubs and Config are the threat detection services,
	// per region.
	GuardDuty    []GuardDutyDetector
	SecurityHubs []SecurityHub
	Config       []ConfigRegion
	// IdentityCenter is the instance this account holds, if any.
	IdentityCenter *IdentityCenter
}

// Region is an account's view of one region.
type Region struct {
	Name      string
	OptIn     string // opt-in-not-required, opted-in, not-opted-in
	NoService bool   // calls answer an opt-in error
}

// Root is the root user's credential state.
type Root struct {
	MFA         bool
	VirtualMFA  bool
	AccessKey   bool
	PasswordAge time.Duration
}

// User is an IAM user with its credential report state.
type User struct {
	Name             string
	Created          time.Time
	Password         bool
	PasswordLastUsed time.Time
	MFA              bool
	Keys             []Key
	Groups           []string
	Attached         []string // managed policy ARNs
	Inline           map[string]string
	Tags             map[string]string
}

// Key is an access key.
type Key struct {
	Active   bool
	Rotated  time.Time
	LastUsed time.Time
}

// Group is an IAM group.
type Group struct {
	Name     string
	Attached []string
	Inline   map[string]string
}

// Role is an IAM role.
type Role struct {
	Name     string
	Trust    string
	Attached []string
	Inline   map[string]string
}

// Policy is a customer managed policy.
type Policy struct {
	Name     string
	Document string
	Attached int
}

// PasswordPolicy is the account password policy.
type PasswordPolicy struct {
	MinLength       int
	Reuse           int
	Upper, Lower    bool
	Numbers, Symbol bool
}

// PublicAccessBlock is the four S3 public access block settings.
type PublicAccessBlock struct {
	BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets bool
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name              string
	Region            string
	Created           time.Time
	Encryption        string // "", AES256, aws:kms, aws:kms:dsse
	KMSKey            string
	BucketKey         bool
	Policy            string
	PublicAccessBlock *PublicAccessBlock
	Versioning        string // "", Enabled, Suspended
	LoggingTarget     string
	ObjectLockDays    int // default retention in days; 0 without Object Lock
	Lifecycle         []LifecycleRule
}

// LifecycleRule is one S3 lifecycle rule.
type LifecycleRule struct {
	ID             string
	Prefix         string
	Enabled        bool
	ExpireDays     int
	NoncurrentDays int
}

// Trail is a CloudTrail trail.
type Trail struct {
	Name           string
	HomeRegion     string
	MultiRegion    bool
	Validation     bool
	KMSKey         string
	Bucket, Prefix string
	LogGroup       string // name; "" for no CloudWatch Logs delivery
	Logging        bool
	LastDelivery   time.Time
	DeliveryError  string
	ManagementRW   string // All, ReadOnly, WriteOnly, "" for no management events
	// Owner is the account that created an organization trail listed in a
	// member account; "" for the account's own trails.
	Owner string
}

// LogGroup is a CloudWatch Logs group.
type LogGroup struct {
	Name      string
	Region    string
	Retention int    // days; 0 = never expire
	KMSKey    string // key ARN; "" for CloudWatch Logs' own encryption
	Tags      map[string]string
}

// OrgAccount is one account as Organizations lists it.
type OrgAccount struct {
	ID, Name, State string
}

// Table is a DynamoDB table.
type Table struct {
	Name    string
	Region  string
	Created time.Time
	// SSE is "" for the AWS owned key (DynamoDB's default, which
	// DescribeTable answers without an SSEDescription) or KMS.
	SSE    string
	KMSKey string // key ARN when SSE is KMS
	// SSEStatus is the SSEDescription status; "" means ENABLED.
	SSEStatus string
	PITR      bool
	Tags      map[string]string
}

// KMSKey is a KMS key.
type KMSKey struct {
	ID       string
	Region   string
	Created  time.Time
	Manager  string // AWS or CUSTOMER
	Spec     string // SYMMETRIC_DEFAULT, RSA_2048, HMAC_256, …
	Usage    string // ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC
	Origin   string // AWS_KMS, EXTERNAL, AWS_CLOUDHSM
	State    string // Enabled, Disabled, PendingDeletion, …
	Rotation bool
	// DeletionDays is the pending deletion window.
	DeletionDays int
	Description  string
	Tags         map[string]string
}

// EBSSettings is one region's EBS account settings.
type EBSSettings struct {
	Region              string
	EncryptionByDefault bool
	// DefaultKMSKey is the key ARN encryption by default uses; "" is the
	// AWS managed key, alias/aws/ebs.
	DefaultKMSKey string
}

// Volume is an EBS volume.
type Volume struct {
	ID, Region, AZ string
	Created        time.Time
	SizeGiB        int
	Type           string // gp3, io2, …
	Encrypted      bool
	KMSKey         string // key ARN when encrypted
	// Instances the volume is attached to; none means available.
	Instances []string
	Tags      map[string]string
}

// Snapshot is an EBS snapshot owned by the account.
type Snapshot struct {
	ID, Region, VolumeID string
	Started              time.Time
	SizeGiB              int
	Description          string
	Encrypted            bool
	KMSKey               string
	// Public is createVolumePermission group all.
	Public bool
	// SharedWith are the account ids given createVolumePermission.
	SharedWith []string
	Tags       map[string]string
}

// DBInstance is an RDS DB instance. A member of an Aurora or Multi-AZ DB
// cluster names it in Cluster; its cluster then holds the encryption,
// backup and deletion protection settings.
type DBInstance struct {
	ID            string
	Region        string
	Engine        string // mysql, postgres, aurora-postgresql, …
	EngineVersion string
	Class         string
	Created       time.Time
	Cluster       string
	Writer        bool // the cluster's writer, for a member
	Encrypted     bool
	KMSKey        string // key ARN when Encrypted
	Public        bool
	BackupDays    int
	// DeletionProtection is the instance's own setting; Aurora members
	// answer false, the cluster's setting is what counts.
	DeletionProtection bool
	MultiAZ            bool
	ReplicaOf          string // source instance of a read replica
	Tags               map[string]string
}

// DBCluster is an RDS DB cluster: Aurora, or a Multi-AZ DB cluster.
type DBCluster struct {
	ID                 string
	Region             string
	Engine             string
	EngineVersion      string
	Created            time.Time
	Encrypted          bool
	KMSKey             string
	BackupDays         int
	DeletionProtection bool
	MultiAZ            bool
	Tags               map[string]string
}

// DBSnapshot is an RDS DB snapshot, or a DB cluster snapshot when Cluster.
type DBSnapshot struct {
	ID        string
	Region    string
	Cluster   bool
	Source    string // DB instance or DB cluster identifier
	Engine    string
	Created   time.Time
	Automated bool // automated snapshots cannot be shared
	Encrypted bool
	KMSKey    string
	// Restore is the restore attribute: account ids it is shared with, or
	// "all" for public.
	Restore []string
	Tags    map[string]string
}

// Backup is an account's AWS Backup estate, across its regions.
type Backup struct {
	Plans        []BackupPlan
	Vaults       []BackupVault
	Protected    []ProtectedResource
	Jobs         []BackupJob
	Restores     []RestoreJob
	TestingPlans []RestoreTestingPlan
}

// BackupPlan is a backup plan with its rules and selections.
type BackupPlan struct {
	ID, Name, Region string
	Created          time.Time
	Rules            []BackupRule
	Selections       []BackupSelection
}

// BackupRule is one rule of a backup plan.
type BackupRule struct {
	Name, Schedule, Vault string
	DeleteAfterDays       int // 0: kept forever
}

// BackupSelection assigns resources to a plan, as the API shapes it.
type BackupSelection struct {
	ID, Name     string
	Resources    []string
	NotResources []string
	// ListOfTags are STRINGEQUALS conditions with ConditionKey the tag key.
	ListOfTags []TagCondition
	// Conditions by operator: StringEquals, StringNotEquals, StringLike,
	// StringNotLike; keys are aws:ResourceTag/<key>.
	Conditions map[string][]TagCondition
}

// TagCondition is one ConditionKey/ConditionValue pair.
type TagCondition struct{ Key, Value string }

// BackupVault is a backup vault with its Vault Lock state.
type BackupVault struct {
	Name, Region string
	Created      time.Time
	Locked       bool
	// MinRetentionDays is 0 without a lock configuration.
	MinRetentionDays, MaxRetentionDays int
	LockDate                           time.Time // zero: governance mode
	RecoveryPoints                     int
}

// ProtectedResource is a resource with at least one recovery point.
type ProtectedResource struct {
	ARN, Type, Name, Region, Vault string
	LastBackup                     time.Time
}

// BackupJob is one backup job.
type BackupJob struct {
	ID, Region, ResourceARN, ResourceType, Vault string
	State, StatusMessage                         string // CREATED … COMPLETED, FAILED, EXPIRED, ABORTED, PARTIAL
	Created, Completed                           time.Time
}

// RestoreJob is one restore job.
type RestoreJob struct {
	ID, Region, SourceARN, CreatedARN, ResourceType string
	Status, StatusMessage                           string // PENDING, RUNNING, COMPLETED, ABORTED, FAILED
	Created, Completed                              time.Time
	// TestingPlan is the ARN of the restore testing plan that started it.
	TestingPlan string
}

// RestoreTestingPlan is a restore testing plan.
type RestoreTestingPlan struct {
	Name, Region, Schedule string
	Created, LastRun       time.Time
}

// TaggedResource is a resource as the Resource Groups Tagging API lists it.
type TaggedResource struct {
	ARN, Region string
	Tags        map[string]string
}

// SecurityGroup is a VPC security group.
type SecurityGroup struct {
	ID, Name, Description string
	Region, VPC           string
	Ingress, Egress       []SGRule
	Tags                  map[string]string
}

// SGRule is one IpPermission: a protocol and port range, from (or, for
// egress, to) each of its sources.
type SGRule struct {
	// Protocol is tcp, udp, icmp, icmpv6, a protocol number, or -1 for
	// all traffic, which answers no ports.
	Protocol string
	From, To int
	CIDRs    []string // IPv4
	IPv6     []string
	// Groups are security group ids the rule names as its source.
	Groups      []string
	PrefixLists []string
}

// MetricFilter is a CloudWatch Logs metric filter on a log group.
type MetricFilter struct {
	Name, Region, LogGroup string
	Pattern                string
	// MetricName and Namespace are its metric transformation's metric.
	MetricName, Namespace string
	Created               time.Time
}

// Alarm is a CloudWatch metric alarm on one metric.
type Alarm struct {
	Name, Region          string
	MetricName, Namespace string
	// Actions are the ALARM state's actions (SNS topic ARNs, …).
	Actions         []string
	ActionsDisabled bool
	State           string // OK, ALARM, INSUFFICIENT_DATA; "" is OK
	Updated         time.Time
}

// VPC is an EC2 VPC.
type VPC struct {
	ID, Region, CIDR string
	Default          bool
	Tags             map[string]string
}

// FlowLog is a VPC, subnet or network interface flow log.
type FlowLog struct {
	ID, Region, ResourceID string
	Status                 string // ACTIVE; "" is ACTIVE
	Traffic                string // ACCEPT, REJECT, ALL
	DestinationType        string // cloud-watch-logs, s3, kinesis-data-firehose
	Destination            string // log group name or bucket ARN
	DeliverError           string // deliverLogsErrorMessage; "" delivers
	Created                time.Time
}

// GuardDutyDetector is a GuardDuty detector in one region, with the
// findings it holds.
type GuardDutyDetector struct {
	ID, Region string
	// Disabled is the detector suspended (status DISABLED).
	Disabled bool
	Created  time.Time
	Features []GuardDutyFeature
	// OrgAutoEnable is what DescribeOrganizationConfiguration answers to
	// the organization's GuardDuty administrator: NEW, ALL or NONE; ""
	// means the account is not the administrator, which GuardDuty refuses
	// with BadRequestException.
	OrgAutoEnable string
	Findings      []GuardDutyFinding
}

// GuardDutyFeature is one detector feature (CLOUD_TRAIL, S3_DATA_EVENTS,
// EKS_AUDIT_LOGS, RUNTIME_MONITORING, …) and its status.
type GuardDutyFeature struct{ Name, Status string }

// GuardDutyFinding is one GuardDuty finding. The resource is an EC2
// instance (InstanceID), an IAM user's access key (AccessKeyUser) or an S3
// bucket (Bucket); none of them is a finding about the account.
type GuardDutyFinding struct {
	ID, Type, Title  string
	Severity         float64
	Created, Updated time.Time
	Archived         bool
	InstanceID       string
	AccessKeyUser    string
	Bucket           string
	// ResourceTags are the instance's or bucket's tags, as GuardDuty
	// copies them into the finding.
	ResourceTags map[string]string
}

// SecurityHub is Security Hub enabled in one region; a region not listed
// has no hub.
type SecurityHub struct {
	Region     string
	Subscribed time.Time
	// Standards are the enabled standards' ARNs.
	Standards []string
}

// ConfigRegion is AWS Config in one region: its recorder and delivery
// channel, each nil when there is none.
type ConfigRegion struct {
	Region   string
	Recorder *ConfigRecorder
	Channel  *DeliveryChannel
}

// ConfigRecorder is a configuration recorder with its status.
type ConfigRecorder struct {
	Name                        string
	AllSupported, IncludeGlobal bool
	ResourceTypes               []string
	Recording                   bool
	// LastStatus is Pending, Success or Failure.
	LastStatus          string
	LastStart, LastStop time.Time
	LastErrorCode       string
	LastErrorMessage    string
}

// DeliveryChannel is a delivery channel with the status of its last
// configuration history delivery.
type DeliveryChannel struct {
	Name, Bucket, SNSTopic string
	// LastStatus is Success, Failure or Not_Applicable.
	LastStatus               string
	LastErrorCode            string
	LastErrorMessage         string
	LastAttempt, LastSuccess time.Time
}

// IdentityCenter is an IAM Identity Center instance and its identity
// store, held by the account that owns it (the management account or a
// delegated administrator) in one region.
type IdentityCenter struct {
	Region     string
	InstanceID string // ssoins-…
	StoreID    string // d-…
	Name       string
	Created    time.Time
	Users      []ICUser
	Groups     []ICGroup
	Sets       []PermissionSet
	// Assignments may name principals the store no longer holds: a
	// deleted user's assignments stay until someone removes them.
	Assignments []AccountAssignment
}

// ICUser is an identity store user.
type ICUser struct {
	ID, UserName, DisplayName, Email string
	Disabled                         bool
	ExternalID                       string // the identity source's id (SCIM externalId)
	Created                          time.Time
}

// ICGroup is an identity store group; Members are user ids.
type ICGroup struct {
	ID, Name, Description string
	Members               []string
}

// PermissionSet is an Identity Center permission set.
type PermissionSet struct {
	ID, Name, Description string
	SessionDuration       string // ISO 8601, e.g. PT1H
	Created               time.Time
	Managed               []string // AWS managed policy ARNs
	CustomerManaged       []string // policy names (path /)
	Inline                string
}

// AccountAssignment grants a principal a permission set in an account;
// PermissionSet is the set's ID.
type AccountAssignment struct {
	Account, PermissionSet, PrincipalType, PrincipalID string
}
