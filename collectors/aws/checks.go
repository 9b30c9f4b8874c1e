package awscollector

// CloudTrail check ids, as in the control catalog.
const (
	checkTrailMultiRegion = "aws.cloudtrail.multi_region"
	checkTrailValidation  = "aws.cloudtrail.log_validation"
	checkTrailKMS         = "aws.cloudtrail.kms"
	checkTrailDelivery    = "aws.cloudtrail.delivery"
	checkTrailRetention   = "aws.cloudtrail.retention"
	checkTrailCloudWatch  = "aws.cloudtrail.cloudwatch"
)

// S3 check ids, as in the control catalog.
const (
	checkS3Encryption   = "aws.s3.default_encryption"
	checkS3TLS          = "aws.s3.tls_only"
	checkS3PublicAccess = "aws.s3.public_access_block"
	checkS3Versioning   = "aws.s3.versioning"
	checkS3Logging      = "aws.s3.access_logging"
)

// KMS and DynamoDB check ids, as in the control catalog.
const (
	checkKMSRotation      = "aws.kms.rotation"
	checkDynamoEncryption = "aws.dynamodb.encryption"
	checkDynamoPITR       = "aws.dynamodb.pitr"
)

// EBS check ids, as in the control catalog.
const (
	checkEBSEncryptionByDefault = "aws.ebs.encryption_by_default"
	checkEBSVolumeEncrypted     = "aws.ebs.volume_encrypted"
	checkEBSSnapshotPublic      = "aws.ebs.snapshot_public"
	checkEBSSnapshotEncrypted   = "aws.ebs.snapshot_encrypted"
)

// RDS check ids, as in the control catalog.
const (
	checkRDSEncrypted          = "aws.rds.storage_encrypted"
	checkRDSNotPublic          = "aws.rds.public_access"
	checkRDSBackupRetention    = "aws.rds.backup_retention"
	checkRDSDeletionProtection = "aws.rds.deletion_protection"
	checkRDSSnapshotEncrypted  = "aws.rds.snapshot_encrypted"
	checkRDSSnapshotPublic     = "aws.rds.snapshot_public"
)

// AWS Backup check ids, as in the control catalog.
const (
	checkBackupPHICovered    = "aws.backup.plan_coverage"
	checkBackupRecent        = "aws.backup.recency"
	checkBackupJobFailures   = "aws.backup.job_failed"
	checkBackupVaultLock     = "aws.backup.vault_lock"
	checkBackupRestoreTested = "aws.backup.restore_tested"
)

// Network check ids, as in the control catalog.
const (
	checkNetworkAdminPorts = "aws.network.open_ingress"
	checkNetworkDefaultSG  = "aws.network.default_sg_closed"
)

// Logging check ids, as in the control catalog.
const (
	checkLogRetention    = "aws.logs.retention"
	checkLogMetricAlarms = "aws.logs.alarms"
	checkVPCFlowLogs     = "aws.vpc.flow_logs"
)

// Threat detection check ids, as in the control catalog.
const (
	checkGuardDutyEnabled   = "aws.guardduty.enabled"
	checkGuardDutyFindings  = "aws.guardduty.high_findings"
	checkSecurityHubEnabled = "aws.securityhub.enabled"
	checkConfigRecording    = "aws.config.recording"
)

// IAM Identity Center check ids, as in the control catalog.
const (
	checkICAccessList       = "aws.identity_center.access_list"
	checkICAdminAssignments = "aws.identity_center.admin_assignments"
	checkICAbsentPrincipals = "aws.identity_center.assignments_to_absent_users"
)
