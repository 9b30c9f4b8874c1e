package awssim

import (
	"fmt"
	"time"
)

// Demo account ids.
const (
	Production = "111122223333"
	Staging    = "444455556666"
)

// StagingExternalID is the external id the staging account's role demands.
const StagingExternalID = "exhibit-demo-external-id"

const (
	adminPolicy    = "arn:aws:iam::aws:policy/AdministratorAccess"
	readOnlyPolicy = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	securityAudit  = "arn:aws:iam::aws:policy/SecurityAudit"
)

// TLSOnlyPolicy is a bucket policy denying requests made without TLS.
func TLSOnlyPolicy(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, bucket)
}

func allBlocked() *PublicAccessBlock {
	return &PublicAccessBlock{true, true, true, true}
}

const trustAgent = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"exhibit-demo-external-id"}}}]}`

// New returns the demo estate as of now.
func New() *Sim { return NewAt(time.Now().UTC()) }

// NewAt returns the demo estate with every date relative to now. It plants
// these problems beside compliant resources (one planted problem a line;
// acceptance_test.go lists each failing finding):
//
//   - IAM, production: console user bob without MFA, ci-deploy's access
//     key older than 90 days, carol's password unused for 120 days, dave
//     with AdministratorAccess attached directly, a weak password policy;
//     staging: a root user without MFA and with an access key, no password
//     policy.
//   - S3, production: bucket acme-legacy-uploads (eu-west-1) without
//     default encryption, bucket acme-public-site without a TLS-only policy
//     or public access block (and no account-level block).
//   - CloudTrail, staging: trail staging-trail is single-region (eu-west-1
//     is covered by no trail), without log file validation, without KMS,
//     its bucket expires logs after 90 days and its log group keeps them 30.
//   - DynamoDB and KMS, production: table phi-claims (tagged
//     data-classification: phi) without point-in-time recovery; customer
//     managed key legacy-exports (eu-west-1) without automatic rotation.
//   - EBS, production: encryption by default off in eu-west-1 (on in
//     us-east-1); volume vol-0b2c3d4e5f6a70002 unencrypted beside the
//     encrypted, PHI-tagged vol-0a1b2c3d4e5f60001; snapshot
//     snap-0b2c3d4e5f6a70002 public (and so unencrypted: EC2 cannot make an
//     encrypted snapshot public) and snap-0c3d4e5f6a7b80003 unencrypted,
//     beside the encrypted private snap-0a1b2c3d4e5f60001.
//   - RDS, production: MySQL instance claims-mysql (tagged phi) without
//     storage encryption, PostgreSQL instance analytics-pg publicly
//     accessible, billing-mysql keeping automated backups 1 day,
//     ops-postgres (eu-west-1) without deletion protection, and manual
//     snapshot claims-mysql-export shared publicly (restore=all) and, as a
//     copy of an unencrypted instance, unencrypted — beside the compliant
//     Aurora PostgreSQL cluster patients-aurora (tagged phi, two members),
//     its encrypted cluster snapshot and billing-mysql's encrypted snapshot
//     shared only with the staging account.
//   - AWS Backup, production (us-east-1): PHI table phi-claims last backed
//     up 3 days ago, its backup job in the window FAILED; PHI bucket
//     acme-app-data excluded from plan daily-phi's selection by
//     NotResources (so never backed up); the Default vault without Vault
//     Lock; no restore job in the last 365 days (the only one is 400 days
//     old). Staging's AWS Backup is compliant, with a restore test 30 days
//     ago.
//   - Security groups, production: bastion-ssh (sg-0b2c3d4e5f6a70002,
//     us-east-1) open to 0.0.0.0/0 on 22 and reporting-pg
//     (sg-0f6a7b8c9d0e10006, eu-west-1) open to ::/0 on 5432, beside
//     web-public open to the world on 443 only and patients-db (tagged
//     phi) allowing 5432 from 10.0.0.0/16 only; us-east-1's default group
//     (sg-0a1b2c3d4e5f60001) keeps the rules AWS creates it with (all
//     traffic from itself, all traffic out), eu-west-1's has none.
//   - Logging, production: log group /app/phi-api (us-east-1, tagged
//     data-classification: phi) keeps its events 30 days, beside the
//     trail's group (2192 days) and a group that never expires; the trail's
//     log group has CIS metric filters with alarms for unauthorized API
//     calls, console sign-in without MFA, IAM policy changes and CloudTrail
//     changes, but none for root account use; VPC vpc-0b2c3d4e5f6a70002
//     (legacy-batch) has no flow log, beside vpc-0a1b2c3d4e5f60001's.
//     Staging: its trail's log group staging-trail keeps 30 days (as for
//     CloudTrail above), with all five CIS filters and alarms.
//   - Threat detection, production: GuardDuty off in eu-west-1 (no
//     detector); in us-east-1 the unarchived HIGH finding
//     UnauthorizedAccess:EC2/SSHBruteForce on instance i-0b2c3d4e5f6a70002,
//     90 days old — beside a 2-day-old HIGH finding (within the 30-day
//     threshold), an archived 120-day-old HIGH one and a 60-day-old LOW
//     one (neither listed: the collector asks GuardDuty for unarchived
//     findings of severity 7 and above); Security Hub not enabled in
//     eu-west-1 (enabled in us-east-1 with two standards); the AWS Config
//     recorder in eu-west-1 stopped (recording in us-east-1). Staging's
//     threat detection is compliant in both regions.
//   - IAM Identity Center, production's instance (us-east-1): user dave
//     assigned permission set AdministratorAccess directly in three
//     accounts (production, staging and 777788889999), at the default
//     threshold of 3; an assignment of ReadOnly in staging to a user id the
//     identity store no longer holds (DeletedUserID). Group Admins holds
//     AdministratorAccess in two accounts (recorded, below the threshold);
//     frank, deprovisioned in the Okta demo org, still holds ReadOnly in
//     production directly (for the cross-source join).
func NewAt(now time.Time) *Sim {
	const (
		appDataKey       = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		dynamoManagedKey = "arn:aws:kms:us-east-1:111122223333:key/7a1e5c0d-3b2f-4e8a-9c6d-5f4e3d2c1b0a"
		stagingKey       = "arn:aws:kms:eu-west-1:444455556666:key/4d5e6f70-8192-4a34-b5c6-d7e8f90a1b23"
		rdsManagedKey    = "arn:aws:kms:us-east-1:111122223333:key/8b9c0d1e-2f3a-4b5c-9d6e-7f8091a2b3c4"
		euDataKey        = "arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	)
	phi := map[string]string{"data-classification": "phi"}
	now = now.UTC().Truncate(time.Second)
	ago := func(d int) time.Time { return now.AddDate(0, 0, -d) }
	regions := []Region{
		{Name: "us-east-1", OptIn: "opt-in-not-required"},
		{Name: "eu-west-1", OptIn: "opt-in-not-required"},
		{Name: "ap-east-1", OptIn: "not-opted-in", NoService: true},
	}
	// allOut is the egress rule AWS gives every new security group.
	allOut := []SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}
	prodLifecycle := []LifecycleRule{{ID: "archive-after-7y", Enabled: true, ExpireDays: 2555, NoncurrentDays: 2555}}
	prod := &Account{
		ID: Production, Name: "production", Regions: regions,
		Root: Root{MFA: true},
		Users: []User{
			{Name: "alice", Created: ago(900), Password: true, PasswordLastUsed: ago(1), MFA: true,
				Keys: []Key{{Active: true, Rotated: ago(30), LastUsed: ago(1)}}, Groups: []string{"admins"}},
			{Name: "bob", Created: ago(400), Password: true, PasswordLastUsed: ago(2), MFA: false, Groups: []string{"developers"}},
			{Name: "carol", Created: ago(700), Password: true, PasswordLastUsed: ago(120), MFA: true, Groups: []string{"developers"}},
			{Name: "ci-deploy", Created: ago(800), Keys: []Key{{Active: true, Rotated: ago(200), LastUsed: ago(1)}, {Active: false, Rotated: ago(400), LastUsed: ago(300)}},
				Attached: []string{"arn:aws:iam::111122223333:policy/deploy-artifacts"}},
			{Name: "dave", Created: ago(300), Password: true, PasswordLastUsed: ago(3), MFA: true, Attached: []string{adminPolicy}},
			{Name: "reporting", Created: ago(100), Inline: map[string]string{
				"read-reports": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::acme-app-data/reports/*"}]}`}},
		},
		Groups: []Group{
			{Name: "admins", Attached: []string{adminPolicy}},
			{Name: "developers", Attached: []string{readOnlyPolicy}},
		},
		Roles: []Role{
			{Name: "exhibit-reader", Trust: trustAgent, Attached: []string{securityAudit}},
			{Name: "OrganizationAccountAccessRole", Trust: trustAgent, Attached: []string{adminPolicy}},
		},
		Policies: []Policy{
			{Name: "deploy-artifacts", Attached: 1, Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::acme-app-data/releases/*"}]}`},
		},
		PasswordPolicy: &PasswordPolicy{MinLength: 8, Reuse: 0, Upper: true, Lower: true, Numbers: true},
		Buckets: []*Bucket{
			{Name: "acme-app-data", Region: "us-east-1", Created: ago(1000), Encryption: "aws:kms", KMSKey: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", BucketKey: true,
				Policy: TLSOnlyPolicy("acme-app-data"), PublicAccessBlock: allBlocked(), Versioning: "Enabled", LoggingTarget: "acme-access-logs"},
			{Name: "acme-access-logs", Region: "us-east-1", Created: ago(1000), Encryption: "AES256",
				Policy: TLSOnlyPolicy("acme-access-logs"), PublicAccessBlock: allBlocked(), Versioning: "Enabled", LoggingTarget: "acme-cloudtrail-logs"},
			{Name: "acme-cloudtrail-logs", Region: "us-east-1", Created: ago(1000), Encryption: "aws:kms", KMSKey: "arn:aws:kms:us-east-1:111122223333:key/cloudtrail",
				Policy: TLSOnlyPolicy("acme-cloudtrail-logs"), PublicAccessBlock: allBlocked(), Versioning: "Enabled", LoggingTarget: "acme-access-logs",
				ObjectLockDays: 2190, Lifecycle: prodLifecycle},
			{Name: "acme-legacy-uploads", Region: "eu-west-1", Created: ago(2000),
				Policy: TLSOnlyPolicy("acme-legacy-uploads"), PublicAccessBlock: allBlocked(), Versioning: "Enabled", LoggingTarget: "acme-access-logs"},
			{Name: "acme-public-site", Region: "us-east-1", Created: ago(500), Encryption: "AES256",
				Policy:     `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-public-site/*"}]}`,
				Versioning: "Enabled", LoggingTarget: "acme-access-logs"},
		},
		Trails: []Trail{
			{Name: "org-audit", HomeRegion: "us-east-1", MultiRegion: true, Validation: true,
				KMSKey: "arn:aws:kms:us-east-1:111122223333:key/cloudtrail", Bucket: "acme-cloudtrail-logs", Prefix: "audit",
				LogGroup: "aws-cloudtrail-logs-org-audit", Logging: true, LastDelivery: now.Add(-10 * time.Minute), ManagementRW: "All"},
		},
		LogGroups: []LogGroup{
			{Name: "aws-cloudtrail-logs-org-audit", Region: "us-east-1", Retention: 2192, KMSKey: "arn:aws:kms:us-east-1:111122223333:key/cloudtrail"},
			{Name: "/app/phi-api", Region: "us-east-1", Retention: 30, KMSKey: appDataKey, Tags: map[string]string{"app": "phi-api", "data-classification": "phi"}},
			{Name: "/vpc/flow-logs", Region: "us-east-1", Retention: 2192},
			{Name: "/aws/lambda/report-builder", Region: "eu-west-1", Tags: map[string]string{"app": "reporting"}},
		},
		MetricFilters: cisFilters("us-east-1", "aws-cloudtrail-logs-org-audit", ago(700), false),
		Alarms:        cisAlarms("us-east-1", "arn:aws:sns:us-east-1:111122223333:security-alerts", ago(700), false),
		VPCs: []VPC{
			{ID: "vpc-0a1b2c3d4e5f60001", Region: "us-east-1", CIDR: "10.0.0.0/16", Tags: map[string]string{"Name": "app"}},
			{ID: "vpc-0b2c3d4e5f6a70002", Region: "us-east-1", CIDR: "10.1.0.0/16", Tags: map[string]string{"Name": "legacy-batch"}},
		},
		FlowLogs: []FlowLog{
			{ID: "fl-0a1b2c3d4e5f60001", Region: "us-east-1", ResourceID: "vpc-0a1b2c3d4e5f60001", Traffic: "ALL",
				DestinationType: "cloud-watch-logs", Destination: "/vpc/flow-logs", Created: ago(600)},
			{ID: "fl-0a1b2c3d4e5f60002", Region: "us-east-1", ResourceID: "vpc-0a1b2c3d4e5f60001", Traffic: "REJECT",
				DestinationType: "s3", Destination: "arn:aws:s3:::acme-access-logs/vpc-flow-logs/", Created: ago(400)},
		},
		Tables: []Table{
			{Name: "patients", Region: "us-east-1", Created: ago(600), SSE: "KMS", KMSKey: appDataKey, PITR: true, Tags: phi},
			{Name: "phi-claims", Region: "us-east-1", Created: ago(200), SSE: "KMS", KMSKey: dynamoManagedKey, Tags: phi},
			{Name: "sessions", Region: "us-east-1", Created: ago(400), PITR: true},
			{Name: "audit-exports", Region: "eu-west-1", Created: ago(300), PITR: true},
		},
		Keys: []KMSKey{
			{ID: "1234abcd-12ab-34cd-56ef-1234567890ab", Region: "us-east-1", Created: ago(1000), Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", State: "Enabled", Rotation: true, Description: "acme-app-data", Tags: phi},
			{ID: "7a1e5c0d-3b2f-4e8a-9c6d-5f4e3d2c1b0a", Region: "us-east-1", Created: ago(900), Manager: "AWS", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", State: "Enabled", Description: "Default key that protects my DynamoDB data when no other key is defined"},
			{ID: "0987dcba-09fe-87dc-65ba-ab0987654321", Region: "eu-west-1", Created: ago(500), Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", State: "Enabled", Description: "legacy-exports"},
			{ID: "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f", Region: "us-east-1", Created: ago(300), Manager: "CUSTOMER", Spec: "RSA_2048", Usage: "SIGN_VERIFY", Origin: "AWS_KMS", State: "Enabled", Description: "release-signing"},
			{ID: "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", Region: "us-east-1", Created: ago(250), Manager: "CUSTOMER", Spec: "HMAC_256", Usage: "GENERATE_VERIFY_MAC", Origin: "AWS_KMS", State: "Enabled", Description: "webhook-mac"},
			{ID: "2b3c4d5e-6f70-4812-93a4-b5c6d7e8f901", Region: "us-east-1", Created: ago(700), Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", State: "PendingDeletion", DeletionDays: 7, Description: "retired-batch"},
			{ID: "3c4d5e6f-7081-4923-a4b5-c6d7e8f90a12", Region: "eu-west-1", Created: ago(800), Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", State: "Disabled", Description: "old-reports"},
		},
		EBS: []EBSSettings{
			{Region: "us-east-1", EncryptionByDefault: true, DefaultKMSKey: appDataKey},
			{Region: "eu-west-1"},
		},
		Volumes: []Volume{
			{ID: "vol-0a1b2c3d4e5f60001", Region: "us-east-1", AZ: "us-east-1a", Created: ago(400), SizeGiB: 200, Type: "gp3",
				Encrypted: true, KMSKey: appDataKey, Instances: []string{"i-0a1b2c3d4e5f60001"}, Tags: map[string]string{"Name": "patients-db-data", "data-classification": "phi"}},
			{ID: "vol-0b2c3d4e5f6a70002", Region: "us-east-1", AZ: "us-east-1b", Created: ago(1200), SizeGiB: 50, Type: "gp2",
				Instances: []string{"i-0b2c3d4e5f6a70002"}, Tags: map[string]string{"Name": "legacy-batch"}},
		},
		Snapshots: []Snapshot{
			{ID: "snap-0a1b2c3d4e5f60001", Region: "us-east-1", VolumeID: "vol-0a1b2c3d4e5f60001", Started: ago(1), SizeGiB: 200,
				Description: "patients-db-data nightly", Encrypted: true, KMSKey: appDataKey, Tags: phi},
			{ID: "snap-0b2c3d4e5f6a70002", Region: "us-east-1", VolumeID: "vol-0b2c3d4e5f6a70002", Started: ago(300), SizeGiB: 50,
				Description: "legacy-batch shared for a vendor", Public: true},
			{ID: "snap-0c3d4e5f6a7b80003", Region: "us-east-1", VolumeID: "vol-0b2c3d4e5f6a70002", Started: ago(30), SizeGiB: 50,
				Description: "legacy-batch monthly", SharedWith: []string{Staging}},
		},
		DBClusters: []DBCluster{
			{ID: "patients-aurora", Region: "us-east-1", Engine: "aurora-postgresql", EngineVersion: "16.4", Created: ago(700),
				Encrypted: true, KMSKey: appDataKey, BackupDays: 14, DeletionProtection: true, MultiAZ: true, Tags: phi},
		},
		DBInstances: []DBInstance{
			{ID: "patients-aurora-1", Region: "us-east-1", Engine: "aurora-postgresql", EngineVersion: "16.4", Class: "db.r6g.large", Created: ago(700),
				Cluster: "patients-aurora", Writer: true, Encrypted: true, KMSKey: appDataKey, BackupDays: 14, Tags: phi},
			{ID: "patients-aurora-2", Region: "us-east-1", Engine: "aurora-postgresql", EngineVersion: "16.4", Class: "db.r6g.large", Created: ago(690),
				Cluster: "patients-aurora", Encrypted: true, KMSKey: appDataKey, BackupDays: 14, Tags: phi},
			{ID: "claims-mysql", Region: "us-east-1", Engine: "mysql", EngineVersion: "8.0.39", Class: "db.m6g.large", Created: ago(1200),
				BackupDays: 7, DeletionProtection: true, MultiAZ: true, Tags: phi},
			{ID: "analytics-pg", Region: "us-east-1", Engine: "postgres", EngineVersion: "16.4", Class: "db.t4g.medium", Created: ago(300),
				Encrypted: true, KMSKey: rdsManagedKey, Public: true, BackupDays: 7, DeletionProtection: true},
			{ID: "billing-mysql", Region: "us-east-1", Engine: "mysql", EngineVersion: "8.0.39", Class: "db.m6g.large", Created: ago(500),
				Encrypted: true, KMSKey: rdsManagedKey, BackupDays: 1, DeletionProtection: true, MultiAZ: true},
			{ID: "ops-postgres", Region: "eu-west-1", Engine: "postgres", EngineVersion: "15.8", Class: "db.t4g.small", Created: ago(250),
				Encrypted: true, KMSKey: euDataKey, BackupDays: 7},
		},
		DBSnapshots: []DBSnapshot{
			{ID: "claims-mysql-export", Region: "us-east-1", Source: "claims-mysql", Engine: "mysql", Created: ago(20), Restore: []string{"all"}, Tags: phi},
			{ID: "billing-mysql-pre-upgrade", Region: "us-east-1", Source: "billing-mysql", Engine: "mysql", Created: ago(40),
				Encrypted: true, KMSKey: rdsManagedKey, Restore: []string{Staging}},
			{Region: "us-east-1", Source: "billing-mysql", Engine: "mysql", Created: ago(1), Automated: true, Encrypted: true, KMSKey: rdsManagedKey},
			{ID: "patients-aurora-pre-upgrade", Region: "us-east-1", Cluster: true, Source: "patients-aurora", Engine: "aurora-postgresql", Created: ago(60),
				Encrypted: true, KMSKey: appDataKey, Tags: phi},
			{Region: "us-east-1", Cluster: true, Source: "patients-aurora", Engine: "aurora-postgresql", Created: ago(1), Automated: true, Encrypted: true, KMSKey: appDataKey},
		},
		SecurityGroups: []SecurityGroup{
			{ID: "sg-0a1b2c3d4e5f60001", Name: "default", Description: "default VPC security group", Region: "us-east-1", VPC: "vpc-0a1b2c3d4e5f60001",
				Ingress: []SGRule{{Protocol: "-1", Groups: []string{"sg-0a1b2c3d4e5f60001"}}},
				Egress:  allOut},
			{ID: "sg-0b2c3d4e5f6a70002", Name: "bastion-ssh", Description: "SSH to the bastion", Region: "us-east-1", VPC: "vpc-0a1b2c3d4e5f60001",
				Ingress: []SGRule{{Protocol: "tcp", From: 22, To: 22, CIDRs: []string{"0.0.0.0/0"}}}, Egress: allOut,
				Tags: map[string]string{"Name": "bastion-ssh"}},
			{ID: "sg-0c3d4e5f6a7b80003", Name: "web-public", Description: "HTTPS from the internet", Region: "us-east-1", VPC: "vpc-0a1b2c3d4e5f60001",
				Ingress: []SGRule{{Protocol: "tcp", From: 443, To: 443, CIDRs: []string{"0.0.0.0/0"}, IPv6: []string{"::/0"}}}, Egress: allOut},
			{ID: "sg-0d4e5f6a7b8c90004", Name: "patients-db", Description: "PostgreSQL from the VPC", Region: "us-east-1", VPC: "vpc-0a1b2c3d4e5f60001",
				Ingress: []SGRule{{Protocol: "tcp", From: 5432, To: 5432, CIDRs: []string{"10.0.0.0/16"}, Groups: []string{"sg-0c3d4e5f6a7b80003"}}}, Egress: allOut, Tags: phi},
			{ID: "sg-0e5f6a7b8c9d00005", Name: "default", Description: "default VPC security group", Region: "eu-west-1", VPC: "vpc-0e5f6a7b8c9d00005"},
			{ID: "sg-0f6a7b8c9d0e10006", Name: "reporting-pg", Description: "PostgreSQL for the reporting vendor", Region: "eu-west-1", VPC: "vpc-0e5f6a7b8c9d00005",
				Ingress: []SGRule{{Protocol: "tcp", From: 5432, To: 5432, CIDRs: []string{"10.1.0.0/16"}, IPv6: []string{"::/0"}}}, Egress: allOut},
		},
	}
	hoursAgo := func(h float64) time.Time { return now.Add(-time.Duration(h * float64(time.Hour))) }
	prod.Backup = Backup{
		Plans: []BackupPlan{{
			ID: "8c1f2e4a-5b6d-4c7e-9f80-1a2b3c4d5e6f", Name: "daily-phi", Region: "us-east-1", Created: ago(400),
			Rules: []BackupRule{{Name: "daily-35d", Schedule: "cron(0 5 ? * * *)", Vault: "phi-vault", DeleteAfterDays: 35}},
			Selections: []BackupSelection{{
				ID: "3f9a1c2b-7d4e-4a5f-8b6c-9d0e1f2a3b4c", Name: "phi-by-tag", Resources: []string{"*"},
				NotResources: []string{"arn:aws:s3:::*"},
				Conditions:   map[string][]TagCondition{"StringEquals": {{Key: "aws:ResourceTag/data-classification", Value: "phi"}}},
			}},
		}},
		Vaults: []BackupVault{
			{Name: "phi-vault", Region: "us-east-1", Created: ago(400), Locked: true, MinRetentionDays: 35, MaxRetentionDays: 2555, LockDate: ago(397), RecoveryPoints: 70},
			{Name: "Default", Region: "us-east-1", Created: ago(600), RecoveryPoints: 3},
		},
		Protected: []ProtectedResource{
			{ARN: "arn:aws:dynamodb:us-east-1:111122223333:table/patients", Type: "DynamoDB", Name: "patients", Region: "us-east-1", Vault: "phi-vault", LastBackup: hoursAgo(5)},
			{ARN: "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims", Type: "DynamoDB", Name: "phi-claims", Region: "us-east-1", Vault: "phi-vault", LastBackup: hoursAgo(72)},
			{ARN: "arn:aws:dynamodb:us-east-1:111122223333:table/sessions", Type: "DynamoDB", Name: "sessions", Region: "us-east-1", Vault: "Default", LastBackup: hoursAgo(6)},
		},
		Jobs: []BackupJob{
			{ID: "4e7b9c1d-2a3f-4b5c-8d6e-7f8091a2b3c4", Region: "us-east-1", ResourceARN: "arn:aws:dynamodb:us-east-1:111122223333:table/patients", ResourceType: "DynamoDB", Vault: "phi-vault",
				State: "COMPLETED", Created: hoursAgo(5.5), Completed: hoursAgo(5)},
			{ID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", Region: "us-east-1", ResourceARN: "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims", ResourceType: "DynamoDB", Vault: "phi-vault",
				State: "FAILED", StatusMessage: "Insufficient privileges to perform this action: the backup role cannot use KMS key arn:aws:kms:us-east-1:111122223333:key/7a1e5c0d-3b2f-4e8a-9c6d-5f4e3d2c1b0a.",
				Created: hoursAgo(5.5), Completed: hoursAgo(5.4)},
			// Outside the 26-hour window: not listed.
			{ID: "1b2c3d4e-5f60-4718-89a0-b1c2d3e4f506", Region: "us-east-1", ResourceARN: "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims", ResourceType: "DynamoDB", Vault: "phi-vault",
				State: "FAILED", StatusMessage: "Insufficient privileges to perform this action.", Created: hoursAgo(48), Completed: hoursAgo(47.9)},
			{ID: "c0d1e2f3-a4b5-4c6d-8e7f-9a0b1c2d3e4f", Region: "us-east-1", ResourceARN: "arn:aws:dynamodb:us-east-1:111122223333:table/sessions", ResourceType: "DynamoDB", Vault: "Default",
				State: "COMPLETED", Created: hoursAgo(6.2), Completed: hoursAgo(6)},
		},
		Restores: []RestoreJob{
			// Outside the 365-day lookback.
			{ID: "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a", Region: "us-east-1", SourceARN: "arn:aws:dynamodb:us-east-1:111122223333:table/patients",
				CreatedARN: "arn:aws:dynamodb:us-east-1:111122223333:table/patients-restore-drill", ResourceType: "DynamoDB", Status: "COMPLETED", Created: ago(400), Completed: ago(400).Add(40 * time.Minute)},
		},
	}
	prod.TaggedResources = []TaggedResource{
		{ARN: "arn:aws:dynamodb:us-east-1:111122223333:table/patients", Region: "us-east-1", Tags: phi},
		{ARN: "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims", Region: "us-east-1", Tags: phi},
		{ARN: "arn:aws:s3:::acme-app-data", Region: "us-east-1", Tags: phi},
		// Tagged, but not a type AWS Backup protects: not asked for.
		{ARN: appDataKey, Region: "us-east-1", Tags: phi},
	}
	prod.GuardDuty = []GuardDutyDetector{{
		ID: "6ab8c1d2e3f4a5b6c7d8e9f0a1b2c3d4", Region: "us-east-1", Created: ago(700), OrgAutoEnable: "ALL",
		Features: []GuardDutyFeature{{"CLOUD_TRAIL", "ENABLED"}, {"DNS_LOGS", "ENABLED"}, {"FLOW_LOGS", "ENABLED"}, {"S3_DATA_EVENTS", "ENABLED"}, {"EKS_AUDIT_LOGS", "DISABLED"}},
		Findings: []GuardDutyFinding{
			{ID: "1ac8f0e2b3d4c5a6978812345678abcd", Type: "UnauthorizedAccess:EC2/SSHBruteForce", Title: "i-0b2c3d4e5f6a70002 is performing SSH brute force attacks against 203.0.113.25",
				Severity: 8, Created: ago(90), Updated: ago(1), InstanceID: "i-0b2c3d4e5f6a70002",
				ResourceTags: map[string]string{"Name": "legacy-batch"}},
			{ID: "2bd9a1f3c4e5d6b7a8c923456789bcde", Type: "Backdoor:EC2/C&CActivity.B!DNS", Title: "Command and control server domain name queried by EC2 instance i-0a1b2c3d4e5f60001",
				Severity: 8, Created: ago(2), Updated: ago(1), InstanceID: "i-0a1b2c3d4e5f60001",
				ResourceTags: map[string]string{"Name": "patients-db", "data-classification": "phi"}},
			// Archived, and low severity: not listed.
			{ID: "3ceab2a4d5f6e7c8b9da34567890cdef", Type: "CryptoCurrency:EC2/BitcoinTool.B!DNS", Title: "EC2 instance i-0b2c3d4e5f6a70002 is querying a domain name associated with Bitcoin",
				Severity: 8, Created: ago(120), Updated: ago(100), Archived: true, InstanceID: "i-0b2c3d4e5f6a70002"},
			{ID: "4dfbc3b5e6a7f8d9cae145678901def0", Type: "Recon:EC2/PortProbeUnprotectedPort", Title: "Unprotected port on EC2 instance i-0a1b2c3d4e5f60001 is being probed",
				Severity: 2, Created: ago(60), Updated: ago(3), InstanceID: "i-0a1b2c3d4e5f60001"},
		},
	}}
	prod.SecurityHubs = []SecurityHub{{Region: "us-east-1", Subscribed: ago(650), Standards: []string{
		"arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0",
		"arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0",
	}}}
	prod.Config = []ConfigRegion{
		{Region: "us-east-1",
			Recorder: &ConfigRecorder{Name: "default", AllSupported: true, IncludeGlobal: true, Recording: true, LastStatus: "Success", LastStart: ago(700)},
			Channel:  &DeliveryChannel{Name: "default", Bucket: "acme-config-logs", LastStatus: "Success", LastAttempt: now.Add(-3 * time.Hour), LastSuccess: now.Add(-3 * time.Hour)}},
		{Region: "eu-west-1",
			Recorder: &ConfigRecorder{Name: "default", AllSupported: true, LastStatus: "Success", LastStart: ago(500), LastStop: ago(45)},
			Channel:  &DeliveryChannel{Name: "default", Bucket: "acme-config-logs", LastStatus: "Success", LastAttempt: ago(45), LastSuccess: ago(45)}},
	}
	staging := &Account{
		ID: Staging, Name: "staging", ExternalID: StagingExternalID, Regions: regions,
		Root: Root{MFA: false, AccessKey: true},
		Users: []User{
			{Name: "erin", Created: ago(200), Password: true, PasswordLastUsed: ago(5), MFA: true,
				Keys: []Key{{Active: true, Rotated: ago(10), LastUsed: ago(2)}},
				// Whose user this is, for identity.reconcile.
				Tags: map[string]string{"person": "erin@acme.example"}},
		},
		Roles:             []Role{{Name: "exhibit-reader", Trust: trustAgent, Attached: []string{securityAudit}}},
		PublicAccessBlock: allBlocked(),
		Buckets: []*Bucket{
			{Name: "staging-artifacts", Region: "eu-west-1", Created: ago(300), Encryption: "aws:kms:dsse", KMSKey: "arn:aws:kms:eu-west-1:444455556666:key/staging",
				Policy: TLSOnlyPolicy("staging-artifacts"), Versioning: "Enabled", LoggingTarget: "staging-trail-logs"},
			{Name: "staging-trail-logs", Region: "us-east-1", Created: ago(300), Encryption: "AES256",
				Policy: TLSOnlyPolicy("staging-trail-logs"), Versioning: "Enabled", LoggingTarget: "staging-artifacts",
				Lifecycle: []LifecycleRule{{ID: "expire-logs", Enabled: true, ExpireDays: 90, NoncurrentDays: 30}}},
		},
		Trails: []Trail{
			{Name: "staging-trail", HomeRegion: "us-east-1", Bucket: "staging-trail-logs",
				LogGroup: "staging-trail", Logging: true, LastDelivery: now.Add(-20 * time.Minute), ManagementRW: "All"},
		},
		LogGroups: []LogGroup{{Name: "staging-trail", Region: "us-east-1", Retention: 30}},
		Tables:    []Table{{Name: "staging-orders", Region: "eu-west-1", Created: ago(100), SSE: "KMS", KMSKey: stagingKey, PITR: true}},
		Keys: []KMSKey{
			{ID: "4d5e6f70-8192-4a34-b5c6-d7e8f90a1b23", Region: "eu-west-1", Created: ago(300), Manager: "CUSTOMER", Spec: "SYMMETRIC_DEFAULT", Usage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", State: "Enabled", Rotation: true, Description: "staging"},
		},
		EBS: []EBSSettings{
			{Region: "us-east-1", EncryptionByDefault: true},
			{Region: "eu-west-1", EncryptionByDefault: true, DefaultKMSKey: stagingKey},
		},
		Volumes: []Volume{
			{ID: "vol-0d4e5f6a7b8c90004", Region: "eu-west-1", AZ: "eu-west-1a", Created: ago(90), SizeGiB: 100, Type: "gp3",
				Encrypted: true, KMSKey: stagingKey, Instances: []string{"i-0d4e5f6a7b8c90004"}, Tags: map[string]string{"Name": "staging-app"}},
		},
		Snapshots: []Snapshot{
			{ID: "snap-0d4e5f6a7b8c90004", Region: "eu-west-1", VolumeID: "vol-0d4e5f6a7b8c90004", Started: ago(2), SizeGiB: 100,
				Description: "staging-app daily", Encrypted: true, KMSKey: stagingKey},
		},
		SecurityGroups: []SecurityGroup{
			{ID: "sg-01a2b3c4d5e6f0007", Name: "default", Description: "default VPC security group", Region: "eu-west-1", VPC: "vpc-01a2b3c4d5e6f0007"},
			{ID: "sg-02b3c4d5e6f7a0008", Name: "staging-app", Description: "HTTPS in, SSH from the office VPN", Region: "eu-west-1", VPC: "vpc-01a2b3c4d5e6f0007",
				Ingress: []SGRule{{Protocol: "tcp", From: 443, To: 443, CIDRs: []string{"0.0.0.0/0"}}, {Protocol: "tcp", From: 22, To: 22, CIDRs: []string{"10.20.0.0/16"}}},
				Egress:  allOut},
		},
		DBInstances: []DBInstance{
			{ID: "staging-postgres", Region: "eu-west-1", Engine: "postgres", EngineVersion: "16.4", Class: "db.t4g.micro", Created: ago(100),
				Encrypted: true, KMSKey: stagingKey, BackupDays: 7, DeletionProtection: true},
		},
		MetricFilters: cisFilters("us-east-1", "staging-trail", ago(90), true),
		Alarms:        cisAlarms("us-east-1", "arn:aws:sns:us-east-1:444455556666:staging-security", ago(90), true),
		VPCs:          []VPC{{ID: "vpc-0d4e5f6a7b8c90004", Region: "eu-west-1", CIDR: "10.20.0.0/16", Tags: map[string]string{"Name": "staging"}}},
		FlowLogs: []FlowLog{{ID: "fl-0d4e5f6a7b8c90004", Region: "eu-west-1", ResourceID: "vpc-0d4e5f6a7b8c90004", Traffic: "REJECT",
			DestinationType: "s3", Destination: "arn:aws:s3:::staging-artifacts/flow-logs/", Created: ago(90)}},
	}
	staging.Backup = Backup{
		Plans: []BackupPlan{{
			ID: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", Name: "staging-daily", Region: "eu-west-1", Created: ago(90),
			Rules: []BackupRule{{Name: "daily-7d", Schedule: "cron(0 3 ? * * *)", Vault: "staging-vault", DeleteAfterDays: 7}},
			Selections: []BackupSelection{{ID: "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d", Name: "orders",
				Resources: []string{"arn:aws:dynamodb:eu-west-1:444455556666:table/staging-orders"}}},
		}},
		Vaults: []BackupVault{{Name: "staging-vault", Region: "eu-west-1", Created: ago(90), Locked: true, MinRetentionDays: 7, MaxRetentionDays: 35, RecoveryPoints: 7}},
		Protected: []ProtectedResource{{ARN: "arn:aws:dynamodb:eu-west-1:444455556666:table/staging-orders", Type: "DynamoDB", Name: "staging-orders",
			Region: "eu-west-1", Vault: "staging-vault", LastBackup: hoursAgo(4)}},
		Jobs: []BackupJob{{ID: "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f", Region: "eu-west-1", ResourceARN: "arn:aws:dynamodb:eu-west-1:444455556666:table/staging-orders",
			ResourceType: "DynamoDB", Vault: "staging-vault", State: "COMPLETED", Created: hoursAgo(4.3), Completed: hoursAgo(4)}},
		Restores: []RestoreJob{{ID: "6f7a8b9c-0d1e-4f2a-b3c4-d5e6f7a8b9c0", Region: "eu-west-1", SourceARN: "arn:aws:dynamodb:eu-west-1:444455556666:table/staging-orders",
			CreatedARN: "arn:aws:dynamodb:eu-west-1:444455556666:table/staging-orders-restore-test", ResourceType: "DynamoDB", Status: "COMPLETED",
			Created: ago(30), Completed: ago(30).Add(25 * time.Minute), TestingPlan: "arn:aws:backup:eu-west-1:444455556666:restore-testing-plan:staging-monthly-restore-test"}},
		TestingPlans: []RestoreTestingPlan{{Name: "staging-monthly-restore-test", Region: "eu-west-1", Schedule: "cron(0 1 1 * ? *)", Created: ago(200), LastRun: ago(30)}},
	}
	staging.GuardDuty = []GuardDutyDetector{
		{ID: "7bc9d2e3f4a5b6c7d8e9f0a1b2c3d4e5", Region: "us-east-1", Created: ago(300), Features: []GuardDutyFeature{{"CLOUD_TRAIL", "ENABLED"}, {"DNS_LOGS", "ENABLED"}, {"FLOW_LOGS", "ENABLED"}}},
		{ID: "8cdae3f4a5b6c7d8e9f0a1b2c3d4e5f6", Region: "eu-west-1", Created: ago(300), Features: []GuardDutyFeature{{"CLOUD_TRAIL", "ENABLED"}, {"DNS_LOGS", "ENABLED"}, {"FLOW_LOGS", "ENABLED"}},
			Findings: []GuardDutyFinding{{ID: "5eacd4c6f7b8a9e0dbf256789012ef01", Type: "Recon:EC2/PortProbeUnprotectedPort", Title: "Unprotected port on EC2 instance i-0d4e5f6a7b8c90004 is being probed",
				Severity: 2, Created: ago(40), Updated: ago(2), InstanceID: "i-0d4e5f6a7b8c90004"}}},
	}
	stagingStandards := []string{"arn:aws:securityhub:%s::standards/aws-foundational-security-best-practices/v/1.0.0"}
	for _, r := range []string{"us-east-1", "eu-west-1"} {
		staging.SecurityHubs = append(staging.SecurityHubs, SecurityHub{Region: r, Subscribed: ago(300), Standards: []string{fmt.Sprintf(stagingStandards[0], r)}})
		staging.Config = append(staging.Config, ConfigRegion{Region: r,
			// Global resource types (IAM) are recorded once, in us-east-1.
			Recorder: &ConfigRecorder{Name: "default", AllSupported: true, IncludeGlobal: r == "us-east-1", Recording: true, LastStatus: "Success", LastStart: ago(300)},
			Channel:  &DeliveryChannel{Name: "default", Bucket: "staging-config-logs", LastStatus: "Success", LastAttempt: now.Add(-5 * time.Hour), LastSuccess: now.Add(-5 * time.Hour)}})
	}
	prod.IdentityCenter = demoIdentityCenter(ago)
	return &Sim{
		Now: now, Home: Production, PageSize: 100,
		Accounts: map[string]*Account{Production: prod, Staging: staging},
	}
}

// cisFilters are metric filters on a trail's log group for the CIS
// monitoring events, as the benchmark writes them, but root account use
// only when withRoot.
func cisFilters(region, group string, created time.Time, withRoot bool) []MetricFilter {
	out := []MetricFilter{
		{Name: "unauthorized-api-calls", Pattern: `{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }`, MetricName: "UnauthorizedAPICalls"},
		{Name: "console-signin-without-mfa", Pattern: `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`, MetricName: "ConsoleSigninWithoutMFA"},
		{Name: "iam-policy-changes", Pattern: `{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}`, MetricName: "IAMPolicyChanges"},
		{Name: "cloudtrail-config-changes", Pattern: `{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }`, MetricName: "CloudTrailConfigChanges"},
	}
	if withRoot {
		out = append(out, MetricFilter{Name: "root-account-usage", Pattern: `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`, MetricName: "RootAccountUsage"})
	}
	for i := range out {
		out[i].Region, out[i].LogGroup, out[i].Namespace, out[i].Created = region, group, "CISBenchmark", created
	}
	return out
}

// cisAlarms are alarms notifying topic on the metrics of cisFilters.
func cisAlarms(region, topic string, updated time.Time, withRoot bool) []Alarm {
	var out []Alarm
	for _, f := range cisFilters(region, "", updated, withRoot) {
		out = append(out, Alarm{Name: "cis-" + f.Name, Region: region, MetricName: f.MetricName, Namespace: f.Namespace, Actions: []string{topic}, Updated: updated})
	}
	return out
}

// Identity Center ids of the demo estate.
const (
	// ThirdAccount is an organization account that is not configured as a
	// source, to which dave's administrator assignment also reaches.
	ThirdAccount = "777788889999"
	// DeletedUserID is a user deleted from the identity store whose
	// assignment was left behind.
	DeletedUserID = "9a6710a0-dead-4a11-8a11-00000000dead"
	ICInstanceID  = "ssoins-72230a1b2c3d4e5f"
	ICStoreID     = "d-9067230a1b"
)

func demoIdentityCenter(ago func(int) time.Time) *IdentityCenter {
	uid := func(n int) string { return fmt.Sprintf("9a6710a0-%04d-4a11-8a11-0000000000%02d", n, n) }
	alice, bob, carol, dave, frank := uid(1), uid(2), uid(3), uid(4), uid(6)
	user := func(id, name, display string, ext string, created int) ICUser {
		return ICUser{ID: id, UserName: name, DisplayName: display, Email: name, ExternalID: ext, Created: ago(created)}
	}
	const (
		admins, developers = "4a6b1c2d-0001-4e5f-9a0b-00000000ad01", "4a6b1c2d-0002-4e5f-9a0b-00000000de02"
		adminSet, readSet  = "ps-1a2b3c4d5e6f7a80", "ps-2b3c4d5e6f7a8b91"
	)
	assign := func(acct, set, typ, principal string) AccountAssignment {
		return AccountAssignment{Account: acct, PermissionSet: set, PrincipalType: typ, PrincipalID: principal}
	}
	return &IdentityCenter{
		Region: "us-east-1", InstanceID: ICInstanceID, StoreID: ICStoreID, Name: "acme", Created: ago(800),
		Users: []ICUser{
			user(alice, "alice@acme.example", "Alice Example", "00u1alice00000000001", 700),
			user(bob, "bob@acme.example", "Bob Example", "00u1bob0000000000002", 400),
			user(carol, "carol@acme.example", "Carol Example", "00u1carol00000000003", 350),
			user(dave, "dave@acme.example", "Dave Example", "00u1dave000000000004", 30),
			user(frank, "frank@acme.example", "Frank Example", "00u1frank00000000006", 600),
		},
		Groups: []ICGroup{
			{ID: admins, Name: "Admins", Description: "Platform administrators", Members: []string{alice}},
			{ID: developers, Name: "Developers", Description: "Application developers", Members: []string{bob, carol, frank}},
		},
		Sets: []PermissionSet{
			{ID: adminSet, Name: "AdministratorAccess", Description: "Full access", SessionDuration: "PT1H", Created: ago(800),
				Managed: []string{adminPolicy}},
			{ID: readSet, Name: "ReadOnly", Description: "Read-only access", SessionDuration: "PT8H", Created: ago(800),
				Managed: []string{readOnlyPolicy}, CustomerManaged: []string{"deploy-artifacts"},
				Inline: `{"Version":"2012-10-17","Statement":[{"Sid":"DenyData","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-app-data/*"}]}`},
		},
		Assignments: []AccountAssignment{
			assign(Production, adminSet, "GROUP", admins),
			assign(Staging, adminSet, "GROUP", admins),
			assign(Production, adminSet, "USER", dave),
			assign(Staging, adminSet, "USER", dave),
			assign(ThirdAccount, adminSet, "USER", dave),
			assign(Production, readSet, "GROUP", developers),
			assign(Staging, readSet, "GROUP", developers),
			assign(Production, readSet, "USER", frank),
			assign(Staging, readSet, "USER", DeletedUserID),
		},
	}
}
