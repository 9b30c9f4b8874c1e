package awscollector

import (
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

const version = "1.0.0"

// Permissions shared by every collector: confirming whose credentials are in
// use, assuming the per-account role, and discovery.
var commonPermissions = []string{
	"sts:GetCallerIdentity",
	"sts:AssumeRole",
	"organizations:ListAccounts",
}

// IAM is the aws.iam collector factory.
var IAM = collector.Factory{
	Type:        "aws.iam",
	Version:     version,
	Provider:    "aws",
	Description: "IAM root and user MFA, access keys, unused credentials, password policy, admin grants and the access list",
	Permissions: append([]string{
		"iam:GenerateCredentialReport",
		"iam:GetCredentialReport",
		"iam:GetAccountPasswordPolicy",
		"iam:GetAccountAuthorizationDetails",
		"iam:ListVirtualMFADevices",
	}, commonPermissions...),
	Checks: []string{
		checkRootMFA, checkRootKeys, checkConsoleMFA, checkKeyAge, checkUnused,
		checkPasswordPolicy, checkNoDirectAdmin, checkAccessList,
	},
	New: func(s collector.Settings) (collector.Collector, error) { return newIAM(s, defaultTuning()) },
}

// CloudTrail is the aws.cloudtrail collector factory.
var CloudTrail = collector.Factory{
	Type:        "aws.cloudtrail",
	Version:     version,
	Provider:    "aws",
	Description: "CloudTrail coverage, integrity, encryption, delivery, CloudWatch Logs and retention of the logs",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"cloudtrail:DescribeTrails",
		"cloudtrail:GetTrailStatus",
		"cloudtrail:GetEventSelectors",
		"logs:DescribeLogGroups",
		"s3:GetBucketLocation",
		"s3:GetLifecycleConfiguration",
		"s3:GetBucketObjectLockConfiguration",
	}, commonPermissions...),
	Checks: []string{
		checkTrailMultiRegion, checkTrailValidation, checkTrailKMS, checkTrailDelivery,
		checkTrailRetention, checkTrailCloudWatch,
	},
	New: func(s collector.Settings) (collector.Collector, error) { return newCloudTrail(s, defaultTuning()) },
}

// S3 is the aws.s3 collector factory.
var S3 = collector.Factory{
	Type:        "aws.s3",
	Version:     version,
	Provider:    "aws",
	Description: "S3 default encryption, TLS-only policies, public access block, versioning and access logging",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"s3:ListAllMyBuckets",
		"s3:GetBucketLocation",
		"s3:GetEncryptionConfiguration",
		"s3:GetBucketPolicy",
		"s3:GetBucketPublicAccessBlock",
		"s3:GetBucketVersioning",
		"s3:GetBucketLogging",
		"s3:GetBucketObjectLockConfiguration",
		"s3:GetAccountPublicAccessBlock",
	}, commonPermissions...),
	Checks: []string{
		checkS3Encryption, checkS3TLS, checkS3PublicAccess, checkS3Versioning, checkS3Logging,
	},
	New: func(s collector.Settings) (collector.Collector, error) { return newS3(s, defaultTuning()) },
}

// KMS is the aws.kms collector factory.
var KMS = collector.Factory{
	Type:        "aws.kms",
	Version:     version,
	Provider:    "aws",
	Description: "KMS keys: automatic rotation of customer managed symmetric keys; disabled and pending-deletion keys recorded",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"kms:ListKeys",
		"kms:DescribeKey",
		"kms:GetKeyRotationStatus",
		"kms:ListResourceTags",
	}, commonPermissions...),
	Checks: []string{checkKMSRotation},
	New:    func(s collector.Settings) (collector.Collector, error) { return newKMS(s, defaultTuning()) },
}

// DynamoDB is the aws.dynamodb collector factory.
var DynamoDB = collector.Factory{
	Type:        "aws.dynamodb",
	Version:     version,
	Provider:    "aws",
	Description: "DynamoDB tables' encryption at rest (AWS owned, AWS managed or customer managed key) and point-in-time recovery",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"dynamodb:ListTables",
		"dynamodb:DescribeTable",
		"dynamodb:DescribeContinuousBackups",
		"dynamodb:ListTagsOfResource",
		"kms:DescribeKey",
	}, commonPermissions...),
	Checks: []string{checkDynamoEncryption, checkDynamoPITR},
	New:    func(s collector.Settings) (collector.Collector, error) { return newDynamoDB(s, defaultTuning()) },
}

// EBS is the aws.ebs collector factory.
var EBS = collector.Factory{
	Type:        "aws.ebs",
	Version:     version,
	Provider:    "aws",
	Description: "EBS encryption by default in each region, unencrypted volumes, and owned snapshots that are public or unencrypted",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"ec2:GetEbsEncryptionByDefault",
		"ec2:GetEbsDefaultKmsKeyId",
		"ec2:DescribeVolumes",
		"ec2:DescribeSnapshots",
		"ec2:DescribeSnapshotAttribute",
	}, commonPermissions...),
	Checks: []string{checkEBSEncryptionByDefault, checkEBSVolumeEncrypted, checkEBSSnapshotPublic, checkEBSSnapshotEncrypted},
	New:    func(s collector.Settings) (collector.Collector, error) { return newEBS(s, defaultTuning()) },
}

// RDS is the aws.rds collector factory.
var RDS = collector.Factory{
	Type:        "aws.rds",
	Version:     version,
	Provider:    "aws",
	Description: "RDS DB instances and clusters (Aurora included): storage encryption and its key, public accessibility, backup retention, deletion protection, Multi-AZ; manual snapshots encrypted and not public",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"rds:DescribeDBInstances",
		"rds:DescribeDBClusters",
		"rds:DescribeDBSnapshots",
		"rds:DescribeDBClusterSnapshots",
		"rds:DescribeDBSnapshotAttributes",
		"rds:DescribeDBClusterSnapshotAttributes",
	}, commonPermissions...),
	Checks: []string{
		checkRDSEncrypted, checkRDSNotPublic, checkRDSBackupRetention, checkRDSDeletionProtection,
		checkRDSSnapshotEncrypted, checkRDSSnapshotPublic,
	},
	New: func(s collector.Settings) (collector.Collector, error) { return newRDS(s, defaultTuning()) },
}

// Backup is the aws.backup collector factory.
var Backup = collector.Factory{
	Type:        "aws.backup",
	Version:     version,
	Provider:    "aws",
	Description: "AWS Backup: ePHI resources covered by a plan and recently backed up, failed backup jobs, vault locks and restore tests",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"backup:ListBackupPlans",
		"backup:GetBackupPlan",
		"backup:ListBackupSelections",
		"backup:GetBackupSelection",
		"backup:ListBackupVaults",
		"backup:ListProtectedResources",
		"backup:ListBackupJobs",
		"backup:ListRestoreJobs",
		"backup:ListRestoreTestingPlans",
		"tag:GetResources",
	}, commonPermissions...),
	Checks: []string{checkBackupPHICovered, checkBackupRecent, checkBackupJobFailures, checkBackupVaultLock, checkBackupRestoreTested},
	New:    func(s collector.Settings) (collector.Collector, error) { return newBackup(s, defaultTuning()) },
}

// Network is the aws.network collector factory.
var Network = collector.Factory{
	Type:        "aws.network",
	Version:     version,
	Provider:    "aws",
	Description: "VPC security groups: ingress from 0.0.0.0/0 or ::/0 to administrative and database ports, and default security groups that allow any traffic",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"ec2:DescribeSecurityGroups",
	}, commonPermissions...),
	Checks: []string{checkNetworkAdminPorts, checkNetworkDefaultSG},
	New:    func(s collector.Settings) (collector.Collector, error) { return newNetwork(s, defaultTuning()) },
}

// Logging is the aws.logging collector factory.
var Logging = collector.Factory{
	Type:        "aws.logging",
	Version:     version,
	Provider:    "aws",
	Description: "CloudWatch Logs retention (and KMS key) of every log group, CIS metric filters with alarms on the CloudTrail log group, VPC flow logs",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"logs:DescribeLogGroups",
		"logs:ListTagsForResource",
		"logs:DescribeMetricFilters",
		"cloudtrail:DescribeTrails",
		"cloudwatch:DescribeAlarms",
		"ec2:DescribeVpcs",
		"ec2:DescribeFlowLogs",
	}, commonPermissions...),
	Checks: []string{checkLogRetention, checkLogMetricAlarms, checkVPCFlowLogs},
	New:    func(s collector.Settings) (collector.Collector, error) { return newLogging(s, defaultTuning()) },
}

// ThreatDetection is the aws.threat_detection collector factory.
var ThreatDetection = collector.Factory{
	Type:        "aws.threat_detection",
	Version:     version,
	Provider:    "aws",
	Description: "GuardDuty enabled (and auto-enabled for organization members) with no high or critical finding left unarchived past the threshold, Security Hub enabled with its standards, AWS Config recording everything with a healthy delivery channel, in every region",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"guardduty:ListDetectors",
		"guardduty:GetDetector",
		"guardduty:DescribeOrganizationConfiguration",
		"guardduty:ListFindings",
		"guardduty:GetFindings",
		"securityhub:DescribeHub",
		"securityhub:GetEnabledStandards",
		"config:DescribeConfigurationRecorders",
		"config:DescribeConfigurationRecorderStatus",
		"config:DescribeDeliveryChannels",
		"config:DescribeDeliveryChannelStatus",
	}, commonPermissions...),
	Checks: []string{checkGuardDutyEnabled, checkGuardDutyFindings, checkSecurityHubEnabled, checkConfigRecording},
	New:    func(s collector.Settings) (collector.Collector, error) { return newThreatDetection(s, defaultTuning()) },
}

// IdentityCenter is the aws.identity_center collector factory.
var IdentityCenter = collector.Factory{
	Type:        "aws.identity_center",
	Version:     version,
	Provider:    "aws",
	Description: "IAM Identity Center access list: users, groups, permission sets and their policies, account assignments; administrator assignments and assignments to absent or disabled users",
	Permissions: append([]string{
		"ec2:DescribeRegions",
		"sso:ListInstances",
		"sso:ListPermissionSets",
		"sso:DescribePermissionSet",
		"sso:ListManagedPoliciesInPermissionSet",
		"sso:GetInlinePolicyForPermissionSet",
		"sso:ListCustomerManagedPolicyReferencesInPermissionSet",
		"sso:ListAccountsForProvisionedPermissionSet",
		"sso:ListAccountAssignments",
		"identitystore:ListUsers",
		"identitystore:ListGroups",
		"identitystore:ListGroupMemberships",
	}, commonPermissions...),
	Checks: []string{checkICAccessList, checkICAdminAssignments, checkICAbsentPrincipals},
	New:    func(s collector.Settings) (collector.Collector, error) { return newIdentityCenter(s, defaultTuning()) },
}

// Factories returns the AWS collector factories.
func Factories() []collector.Factory {
	return []collector.Factory{IAM, S3, CloudTrail, DynamoDB, KMS, EBS, RDS, Backup, Network, Logging, ThreatDetection, IdentityCenter}
}

func finding(check, resource string, status evidence.Result, reason string, observed map[string]any) evidence.Finding {
	return evidence.Finding{Check: check, Resource: resource, Status: status, Reason: reason, Observed: observed}
}
