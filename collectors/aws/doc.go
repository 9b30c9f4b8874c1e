// Package awscollector reads audit evidence from AWS across accounts and
// regions, with read-only calls made through the agent's recording HTTP
// client. Each collector in Factories reads one service (aws.iam, aws.s3,
// aws.cloudtrail, …); what each one calls is listed below.
//
// Credentials come from the SDK's default chain. Each configured account
// is read with those credentials or through its role_arn (with its
// external_id, session name "exhibit-<collector id>"); with organization:
// true, active member accounts are discovered with Organizations
// ListAccounts and read through organization_role (default
// exhibit-reader), and inactive ones are recorded, not read. Before reading
// an account the collector checks, with STS GetCallerIdentity, that the
// credentials really belong to it.
//
// Each account is one scope and one snapshot. Regions are the configured
// ones or every enabled region (EC2 DescribeRegions). Calls fan out over
// regions and resources with at most Concurrency in flight and use the
// SDK's adaptive retry mode. A call that fails (access denied, throttling
// beyond the retries, a region not enabled) is a run error in a
// *collector.PartialError; the checks that needed its answer report error,
// never pass, and the rest of the evidence is kept.
//
// What each collector reads:
//
//   - aws.iam: the credential report (generated, polled, downloaded: the
//     same few calls for any number of users; the CSV is attached),
//     the password policy, and GetAccountAuthorizationDetails for the access
//     list and direct admin grants.
//   - aws.s3: ListBuckets once, then each bucket's encryption, policy,
//     public access block, versioning, logging and Object Lock settings in
//     the bucket's own region; the account's public access block through
//     S3 Control.
//   - aws.cloudtrail: trails as every region lists them (organization
//     trails included), each read once in its home region (status, event
//     selectors), and the retention of its logs: the bucket's lifecycle
//     rules that reach the trail's prefix, its Object Lock default
//     retention, and the CloudWatch Logs group's retentionInDays.
//   - aws.dynamodb: ListTables in each region, then each table's
//     DescribeTable and DescribeContinuousBackups (DynamoDB has no bulk
//     form of either); each distinct table KMS key is described once to
//     tell an AWS managed key from a customer managed one.
//   - aws.kms: ListKeys in each region and DescribeKey per key;
//     GetKeyRotationStatus only for enabled customer managed symmetric
//     keys with KMS-generated material, the only keys whose rotation the
//     account controls. Key policies are never read.
//   - aws.ebs: in each region GetEbsEncryptionByDefault (and
//     GetEbsDefaultKmsKeyId where it is on), DescribeVolumes and
//     DescribeSnapshots of the account's own snapshots, all paged with
//     their tags; one more DescribeSnapshots restorable by all finds the
//     public ones, and only those have DescribeSnapshotAttribute read for
//     their createVolumePermission. The region's setting, which has no
//     ARN, is named arn:…:ec2:REGION:ACCOUNT:ebs-encryption-by-default.
//   - aws.rds: DescribeDBInstances, DescribeDBClusters and, with
//     SnapshotType manual, DescribeDBSnapshots and DescribeDBClusterSnapshots
//     in each region, a page per 100 resources (tags come with them); then
//     DescribeDBSnapshotAttributes or DescribeDBClusterSnapshotAttributes
//     per manual snapshot, the only per-resource call, to see whom it is
//     shared with. Members of an Aurora or Multi-AZ DB cluster are judged
//     on the cluster for encryption, backups and deletion protection.
//   - aws.backup: per region, ListBackupPlans with GetBackupPlan,
//     ListBackupSelections and GetBackupSelection per plan (no bulk form);
//     everything else one paginated list per region: ListBackupVaults
//     (Vault Lock comes in the list), ListProtectedResources (last backup
//     times, never recovery points per resource), ListBackupJobs and
//     ListRestoreJobs filtered by creation time, ListRestoreTestingPlans.
//   - aws.network: DescribeSecurityGroups in each region, a page per 1000
//     groups with their rules and tags, and no call per group. Every group
//     is judged on ingress from 0.0.0.0/0 or ::/0 reaching a port of
//     sources.aws.exposed_ports (all traffic, or a TCP or UDP range holding
//     the port, counts); each VPC's default group on having no rule at all.
//   - aws.logging: per region, DescribeLogGroups (retention and KMS key
//     come in the list, 50 a page), CloudTrail DescribeTrails for the log
//     groups trails homed there deliver to, and only where there is one
//     DescribeMetricFilters (once for the region, not per group) and, where
//     a filter matches a CIS pattern, CloudWatch DescribeAlarms (RPC v2
//     CBOR); then DescribeVpcs and, where there are VPCs, DescribeFlowLogs
//     for the whole region. The CIS verdicts are judged per account across
//     regions, each event on arn:…:cloudwatch::ACCOUNT:cis-alarm/EVENT.
//   - aws.threat_detection: per region, GuardDuty ListDetectors, Security
//     Hub DescribeHub (GetEnabledStandards where it is enabled) and AWS
//     Config's four describe calls; per detector GetDetector,
//     DescribeOrganizationConfiguration (answered only to the
//     organization's GuardDuty administrator; a refusal is recorded) and
//     ListFindings with server-side criteria — the account's own findings
//     of severity 7 and above, not archived — then GetFindings for those
//     ids, 50 a call. Findings are never all listed and filtered here.
//     Settings without an ARN are named arn:…:guardduty:REGION:ACCOUNT:detector
//     and arn:…:config:REGION:ACCOUNT:configuration-recorder; the hub is
//     arn:…:securityhub:REGION:ACCOUNT:hub/default.
//   - aws.identity_center: SSO Admin ListInstances in each region; for
//     each instance found, Identity Store ListUsers and ListGroups (paged)
//     and ListGroupMemberships per group (no bulk form; fewer groups than
//     users, so cheaper than per member); ListPermissionSets, then per set
//     DescribePermissionSet, ListManagedPoliciesInPermissionSet,
//     GetInlinePolicyForPermissionSet,
//     ListCustomerManagedPolicyReferencesInPermissionSet and
//     ListAccountsForProvisionedPermissionSet; and ListAccountAssignments
//     per set and account it is provisioned to — the bulkest form AWS
//     offers, and unlike ListAccountAssignmentsForPrincipal it shows
//     assignments left to principals deleted from the store.
//
// With sources.aws.phi_tags set, aws.dynamodb and aws.kms also read tags
// (tables; customer managed keys) to name the resources holding ePHI;
// aws.ebs, aws.rds and aws.network use the tags their listings already
// return, aws.threat_detection the resource tags GuardDuty copies into a
// finding, and
// aws.rds counts a snapshot of a tagged database as holding ePHI too;
// aws.backup lists the tagged resources of the types AWS Backup protects
// with one paginated Resource Groups Tagging API GetResources per region;
// aws.logging reads each log group's tags with ListTagsForResource, one
// call per group, as CloudWatch Logs has no bulk form.
//
// Findings name the resource's ARN; account-wide findings name the
// account's root ARN (arn:aws:iam::ID:root). Controls are left empty: the
// agent fills them from the control catalog by check id.
//
// Endpoint overrides every service's endpoint; without it the SDK's
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> apply. Either way S3
// then uses path-style addressing. Package awssim serves a simulated estate
// for the demo and the tests.
package awscollector
