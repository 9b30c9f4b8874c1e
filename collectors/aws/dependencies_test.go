package awscollector

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// input is one API operation as provenance names it: the SDK's service id
// and the operation.
type input struct{ service, op string }

func (in input) action() string { return iamAction(in.service, in.op) }

// simService is the simulator's name for an SDK service id.
var simService = map[string]string{
	"IAM": "iam", "STS": "sts", "S3": "s3", "S3 Control": "s3control", "CloudTrail": "cloudtrail",
	"CloudWatch Logs": "logs", "Organizations": "organizations", "EC2": "ec2",
	"DynamoDB": "dynamodb", "KMS": "kms", "RDS": "rds", "Backup": "backup", "Resource Groups Tagging API": "tagging",
	"CloudWatch": "monitoring",
	"GuardDuty":  "guardduty", "SecurityHub": "securityhub", "Config Service": "config",
	"SSO Admin": "sso", "identitystore": "identitystore",
}

var (
	inGenerateReport  = input{"IAM", "GenerateCredentialReport"}
	inGetReport       = input{"IAM", "GetCredentialReport"}
	inPasswordPolicy  = input{"IAM", "GetAccountPasswordPolicy"}
	inAuthDetails     = input{"IAM", "GetAccountAuthorizationDetails"}
	inVirtualMFA      = input{"IAM", "ListVirtualMFADevices"}
	inListBuckets     = input{"S3", "ListBuckets"}
	inBucketLocation  = input{"S3", "GetBucketLocation"}
	inEncryption      = input{"S3", "GetBucketEncryption"}
	inBucketPolicy    = input{"S3", "GetBucketPolicy"}
	inBucketPAB       = input{"S3", "GetPublicAccessBlock"}
	inAccountPAB      = input{"S3 Control", "GetPublicAccessBlock"}
	inVersioning      = input{"S3", "GetBucketVersioning"}
	inLogging         = input{"S3", "GetBucketLogging"}
	inObjectLock      = input{"S3", "GetObjectLockConfiguration"}
	inLifecycle       = input{"S3", "GetBucketLifecycleConfiguration"}
	inDescribeRegions = input{"EC2", "DescribeRegions"}
	inDescribeTrails  = input{"CloudTrail", "DescribeTrails"}
	inTrailStatus     = input{"CloudTrail", "GetTrailStatus"}
	inEventSelectors  = input{"CloudTrail", "GetEventSelectors"}
	inLogGroups       = input{"CloudWatch Logs", "DescribeLogGroups"}
	inCallerIdentity  = input{"STS", "GetCallerIdentity"}
	inAssumeRole      = input{"STS", "AssumeRole"}
	inListAccounts    = input{"Organizations", "ListAccounts"}
	inListTables      = input{"DynamoDB", "ListTables"}
	inDescribeTable   = input{"DynamoDB", "DescribeTable"}
	inContinuousBkups = input{"DynamoDB", "DescribeContinuousBackups"}
	inListKeys        = input{"KMS", "ListKeys"}
	inDescribeKey     = input{"KMS", "DescribeKey"}
	inRotationStatus  = input{"KMS", "GetKeyRotationStatus"}
	inTableTags       = input{"DynamoDB", "ListTagsOfResource"}
	inKeyTags         = input{"KMS", "ListResourceTags"}
	inEBSDefault      = input{"EC2", "GetEbsEncryptionByDefault"}
	inEBSDefaultKey   = input{"EC2", "GetEbsDefaultKmsKeyId"}
	inVolumes         = input{"EC2", "DescribeVolumes"}
	inSnapshots       = input{"EC2", "DescribeSnapshots"}
	inSnapshotAttr    = input{"EC2", "DescribeSnapshotAttribute"}
	inDBInstances     = input{"RDS", "DescribeDBInstances"}
	inDBClusters      = input{"RDS", "DescribeDBClusters"}
	inDBSnapshots     = input{"RDS", "DescribeDBSnapshots"}
	inDBClusterSnaps  = input{"RDS", "DescribeDBClusterSnapshots"}
	inDBSnapAttrs     = input{"RDS", "DescribeDBSnapshotAttributes"}
	inDBClusterAttrs  = input{"RDS", "DescribeDBClusterSnapshotAttributes"}
	inBackupPlans     = input{"Backup", "ListBackupPlans"}
	inBackupPlan      = input{"Backup", "GetBackupPlan"}
	inBackupSels      = input{"Backup", "ListBackupSelections"}
	inBackupSel       = input{"Backup", "GetBackupSelection"}
	inBackupVaults    = input{"Backup", "ListBackupVaults"}
	inProtected       = input{"Backup", "ListProtectedResources"}
	inBackupJobs      = input{"Backup", "ListBackupJobs"}
	inRestoreJobs     = input{"Backup", "ListRestoreJobs"}
	inRestoreTesting  = input{"Backup", "ListRestoreTestingPlans"}
	inTaggedResources = input{"Resource Groups Tagging API", "GetResources"}
	inSecurityGroups  = input{"EC2", "DescribeSecurityGroups"}
	inMetricFilters   = input{"CloudWatch Logs", "DescribeMetricFilters"}
	inLogGroupTags    = input{"CloudWatch Logs", "ListTagsForResource"}
	inAlarms          = input{"CloudWatch", "DescribeAlarms"}
	inVPCs            = input{"EC2", "DescribeVpcs"}
	inFlowLogs        = input{"EC2", "DescribeFlowLogs"}
	inListDetectors   = input{"GuardDuty", "ListDetectors"}
	inGetDetector     = input{"GuardDuty", "GetDetector"}
	inGDOrgConfig     = input{"GuardDuty", "DescribeOrganizationConfiguration"}
	inListFindings    = input{"GuardDuty", "ListFindings"}
	inGetFindings     = input{"GuardDuty", "GetFindings"}
	inDescribeHub     = input{"SecurityHub", "DescribeHub"}
	inStandards       = input{"SecurityHub", "GetEnabledStandards"}
	inRecorders       = input{"Config Service", "DescribeConfigurationRecorders"}
	inRecorderStatus  = input{"Config Service", "DescribeConfigurationRecorderStatus"}
	inChannels        = input{"Config Service", "DescribeDeliveryChannels"}
	inChannelStatus   = input{"Config Service", "DescribeDeliveryChannelStatus"}

	inICInstances   = input{"SSO Admin", "ListInstances"}
	inICSets        = input{"SSO Admin", "ListPermissionSets"}
	inICDescribeSet = input{"SSO Admin", "DescribePermissionSet"}
	inICManaged     = input{"SSO Admin", "ListManagedPoliciesInPermissionSet"}
	inICInline      = input{"SSO Admin", "GetInlinePolicyForPermissionSet"}
	inICCustomer    = input{"SSO Admin", "ListCustomerManagedPolicyReferencesInPermissionSet"}
	inICSetAccounts = input{"SSO Admin", "ListAccountsForProvisionedPermissionSet"}
	inICAssignments = input{"SSO Admin", "ListAccountAssignments"}
	inICUsers       = input{"identitystore", "ListUsers"}
	inICGroups      = input{"identitystore", "ListGroups"}
	inICMembers     = input{"identitystore", "ListGroupMemberships"}
)

// onlyUSEast1 reads the region where production's GuardDuty detector and
// compliant AWS Config are, so an input's failure is all that decides.
func onlyUSEast1(_ *awssim.Sim, src *collector.AWSSource) { src.Regions = []string{"us-east-1"} }

// threatDeps is what every threat detection check reads before its own.
func threatDeps(own ...dependency) []dependency {
	return append([]dependency{{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"}}, own...)
}

// icDeps is what every Identity Center check reads before its own inputs:
// the instance, and the assignments with the sets they name.
func icDeps(own ...dependency) []dependency {
	return append([]dependency{
		{in: inICInstances, reason: "could not all be listed"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
		{in: inICSets, reason: "could not all be"},
		{in: inICSetAccounts, reason: "could not all be"},
		{in: inICAssignments, reason: "could not all be"},
	}, own...)
}

// inlineAdmin makes the administrator set's inline policy, not its managed
// one, what grants administrator access, so that reading it is decisive.
func inlineAdmin(sim *awssim.Sim, _ *collector.AWSSource) {
	ic := sim.Accounts[prod].IdentityCenter
	for i := range ic.Sets {
		if ic.Sets[i].Name == "AdministratorAccess" {
			ic.Sets[i].Managed = nil
			ic.Sets[i].Inline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
		}
	}
}

// ebsDeps is what every EBS check reads: its own listing in each region,
// and the regions.
func ebsDeps(own dependency) []dependency {
	return []dependency{own, {in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"}}
}

// Each RDS listing decides its own resources' verdicts; these edits leave
// only what one listing holds, so that its failure is decisive.
func noDBClusters(sim *awssim.Sim, _ *collector.AWSSource) { sim.Accounts[prod].DBClusters = nil }

func onlyClusterMembers(sim *awssim.Sim, _ *collector.AWSSource) {
	var keep []awssim.DBInstance
	for _, d := range sim.Accounts[prod].DBInstances {
		if d.Cluster != "" {
			keep = append(keep, d)
		}
	}
	sim.Accounts[prod].DBInstances = keep
}

func onlySnapshots(cluster bool) func(*awssim.Sim, *collector.AWSSource) {
	return func(sim *awssim.Sim, _ *collector.AWSSource) {
		var keep []awssim.DBSnapshot
		for _, p := range sim.Accounts[prod].DBSnapshots {
			if p.Cluster == cluster {
				keep = append(keep, p)
			}
		}
		sim.Accounts[prod].DBSnapshots = keep
	}
}

// databaseDeps is what each cluster-level RDS check reads: instances and
// clusters, each listing decisive on its own.
func databaseDeps() []dependency {
	return []dependency{
		{in: inDBInstances, edit: noDBClusters, reason: "could not all be listed"},
		{in: inDBClusters, edit: onlyClusterMembers, reason: "could not all be listed"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
	}
}

func snapshotDeps(own ...dependency) []dependency {
	return append([]dependency{
		{in: inDBSnapshots, edit: onlySnapshots(false), reason: "could not all be listed"},
		{in: inDBClusterSnaps, edit: onlySnapshots(true), reason: "could not all be listed"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
	}, own...)
}

// backupDeps is what every AWS Backup check reads before its own inputs.
func backupDeps(own ...dependency) []dependency {
	return append([]dependency{{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"}}, own...)
}

// tableDeps is what every DynamoDB check reads before the table's own input.
func tableDeps(own ...dependency) []dependency {
	return append([]dependency{
		{in: inListTables, reason: "could not all be listed"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
	}, own...)
}

// dependency is one input a check's verdict rests on, in production.
type dependency struct {
	in input
	// edit makes the input decisive, where in the demo estate other data
	// that was read settles the verdict on its own (Object Lock keeps the
	// trail logs whatever the lifecycle says).
	edit func(*awssim.Sim, *collector.AWSSource)
	// reason is what every error finding's reason says could not be read.
	reason string
}

// allRegions reads every enabled region, so that they are listed.
func allRegions(_ *awssim.Sim, src *collector.AWSSource) { src.Regions = nil }

// noBucketRegion makes each bucket's region a GetBucketLocation call.
func noBucketRegion(sim *awssim.Sim, _ *collector.AWSSource) { sim.OmitBucketRegion = true }

func trailBucket(sim *awssim.Sim) *awssim.Bucket {
	for _, b := range sim.Accounts[prod].Buckets {
		if b.Name == "acme-cloudtrail-logs" {
			return b
		}
	}
	panic("no trail bucket")
}

// bucketDeps is what every S3 check reads before the bucket's own setting.
func bucketDeps(own dependency) []dependency {
	return []dependency{
		{in: inListBuckets, reason: "buckets could not all be listed"},
		{in: inBucketLocation, edit: noBucketRegion, reason: "region could not be read"},
		own,
	}
}

// trailDeps is what every per-trail check reads before its own inputs.
func trailDeps(own ...dependency) []dependency {
	return append([]dependency{
		{in: inDescribeTrails, reason: "could not be listed"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
	}, own...)
}

// checkDependencies maps every check the AWS collectors declare to the
// inputs its verdict rests on.
var checkDependencies = map[string][]dependency{
	checkRootMFA:        {{in: inGenerateReport, reason: "credential report could not be read"}, {in: inGetReport, reason: "credential report could not be read"}},
	checkRootKeys:       {{in: inGenerateReport, reason: "credential report could not be read"}, {in: inGetReport, reason: "credential report could not be read"}},
	checkConsoleMFA:     {{in: inGenerateReport, reason: "credential report could not be read"}, {in: inGetReport, reason: "credential report could not be read"}},
	checkKeyAge:         {{in: inGenerateReport, reason: "credential report could not be read"}, {in: inGetReport, reason: "credential report could not be read"}},
	checkUnused:         {{in: inGenerateReport, reason: "credential report could not be read"}, {in: inGetReport, reason: "credential report could not be read"}},
	checkPasswordPolicy: {{in: inPasswordPolicy, reason: "password policy could not be read"}},
	checkNoDirectAdmin:  {{in: inAuthDetails, reason: "policies could not all be read"}},
	checkAccessList:     {{in: inAuthDetails, reason: "authorization details could not all be read"}},

	checkS3Encryption: bucketDeps(dependency{in: inEncryption, reason: "encryption configuration could not be read"}),
	checkS3TLS:        bucketDeps(dependency{in: inBucketPolicy, reason: "policy could not be read"}),
	checkS3PublicAccess: append(bucketDeps(dependency{in: inBucketPAB, reason: "public access block could not be read"}),
		dependency{in: inAccountPAB, reason: "account-level public access block could not be read", edit: func(sim *awssim.Sim, _ *collector.AWSSource) {
			// Buckets without a block of their own rest on the account's.
			a := sim.Accounts[prod]
			a.PublicAccessBlock = &awssim.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
			for _, b := range a.Buckets {
				b.PublicAccessBlock = nil
			}
		}}),
	checkS3Versioning: bucketDeps(dependency{in: inVersioning, reason: "versioning could not be read"}),
	checkS3Logging:    bucketDeps(dependency{in: inLogging, reason: "logging configuration could not be read"}),

	checkTrailMultiRegion: trailDeps(
		dependency{in: inTrailStatus, reason: "could not be read"},
		dependency{in: inEventSelectors, reason: "could not be read"}),
	checkDynamoEncryption: tableDeps(
		dependency{in: inDescribeTable, reason: "description could not be read"},
		dependency{in: inDescribeKey, reason: "KMS key could not be described", edit: func(sim *awssim.Sim, _ *collector.AWSSource) {
			// Only a table encrypted with a KMS key needs its key described.
			for i := range sim.Accounts[prod].Tables {
				t := &sim.Accounts[prod].Tables[i]
				if t.SSE == "" {
					t.SSE, t.KMSKey = "KMS", fmt.Sprintf("arn:aws:kms:%s:%s:key/1234abcd-12ab-34cd-56ef-1234567890ab", t.Region, prod)
				}
			}
		}}),
	checkDynamoPITR: tableDeps(dependency{in: inContinuousBkups, reason: "continuous backups could not be read"}),
	checkKMSRotation: {
		{in: inListKeys, reason: "could not all be listed"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
		{in: inDescribeKey, reason: "metadata could not be read"},
		{in: inRotationStatus, reason: "rotation status could not be read", edit: func(sim *awssim.Sim, _ *collector.AWSSource) {
			// Rotation status is asked only of keys whose rotation the
			// account controls; the others are not judged on it.
			var keep []awssim.KMSKey
			for _, k := range sim.Accounts[prod].Keys {
				if k.Manager == "CUSTOMER" && k.Spec == "SYMMETRIC_DEFAULT" && k.Origin == "AWS_KMS" && k.State == "Enabled" {
					keep = append(keep, k)
				}
			}
			sim.Accounts[prod].Keys = keep
		}},
	},
	checkRDSEncrypted:          databaseDeps(),
	checkRDSBackupRetention:    databaseDeps(),
	checkRDSDeletionProtection: databaseDeps(),
	checkRDSNotPublic: {
		{in: inDBInstances, reason: "could not all be listed"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
	},
	checkRDSSnapshotEncrypted: snapshotDeps(),
	checkRDSSnapshotPublic: snapshotDeps(
		dependency{in: inDBSnapAttrs, edit: onlySnapshots(false), reason: "attributes could not be read"},
		dependency{in: inDBClusterAttrs, edit: onlySnapshots(true), reason: "attributes could not be read"}),
	checkBackupPHICovered: backupDeps(
		dependency{in: inTaggedResources, reason: "tagged as holding ePHI in region"},
		dependency{in: inBackupPlans, reason: "backup plans of region us-east-1 could not be listed"},
		dependency{in: inBackupPlan, reason: "rules could not be read", edit: func(sim *awssim.Sim, _ *collector.AWSSource) {
			// A resource no selection assigns is uncovered whatever the
			// plan's rules say; only those a selection assigns rest on them.
			a := sim.Accounts[prod]
			var keep []awssim.TaggedResource
			for _, r := range a.TaggedResources {
				if r.ARN != "arn:aws:s3:::acme-app-data" {
					keep = append(keep, r)
				}
			}
			a.TaggedResources = keep
		}},
		dependency{in: inBackupSels, reason: "selections could not be listed"},
		dependency{in: inBackupSel, reason: "selection phi-by-tag could not be read"}),
	checkBackupRecent:        backupDeps(dependency{in: inProtected, reason: "protected resources of region"}),
	checkBackupJobFailures:   backupDeps(dependency{in: inBackupJobs, reason: "backup jobs of region"}),
	checkBackupVaultLock:     backupDeps(dependency{in: inBackupVaults, reason: "backup vaults of region"}),
	checkBackupRestoreTested: backupDeps(dependency{in: inRestoreJobs, reason: "restore jobs of us-east-1 could not be listed"}),
	checkTrailValidation:     trailDeps(),
	checkTrailKMS:            trailDeps(),
	checkTrailDelivery:       trailDeps(dependency{in: inTrailStatus, reason: "status could not be read"}),
	checkTrailCloudWatch:     trailDeps(dependency{in: inTrailStatus, reason: "delivery errors, could not be read"}),
	checkTrailRetention: trailDeps(
		dependency{in: inBucketLocation, reason: "region could not be read"},
		dependency{in: inLifecycle, reason: "lifecycle could not be read", edit: func(sim *awssim.Sim, _ *collector.AWSSource) {
			// Without Object Lock the lifecycle alone keeps the logs.
			trailBucket(sim).ObjectLockDays = 0
		}},
		dependency{in: inObjectLock, reason: "Object Lock configuration, which may keep them, could not be read", edit: func(sim *awssim.Sim, _ *collector.AWSSource) {
			// The lifecycle expires logs early; only Object Lock keeps them.
			trailBucket(sim).Lifecycle = []awssim.LifecycleRule{{ID: "expire-early", Enabled: true, ExpireDays: 90}}
		}},
		dependency{in: inLogGroups, reason: "log group aws-cloudtrail-logs-org-audit's retention could not be read"}),

	// aws.ebs
	checkEBSEncryptionByDefault: ebsDeps(dependency{in: inEBSDefault, reason: "could not be read"}),
	checkEBSVolumeEncrypted:     ebsDeps(dependency{in: inVolumes, reason: "could not all be listed"}),
	checkEBSSnapshotPublic:      ebsDeps(dependency{in: inSnapshots, reason: "could not all be listed"}),
	checkEBSSnapshotEncrypted:   ebsDeps(dependency{in: inSnapshots, reason: "could not all be listed"}),

	// aws.network: one listing decides both checks.
	checkNetworkAdminPorts: ebsDeps(dependency{in: inSecurityGroups, reason: "could not all be listed"}),
	checkNetworkDefaultSG:  ebsDeps(dependency{in: inSecurityGroups, reason: "could not all be listed"}),

	// aws.logging: each CIS verdict names the reads that failed.
	checkLogRetention: {
		{in: inLogGroups, reason: "could not all be listed"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
	},
	checkLogMetricAlarms: {
		{in: inDescribeTrails, reason: "cloudtrail:DescribeTrails in"},
		{in: inMetricFilters, reason: "logs:DescribeMetricFilters in us-east-1"},
		{in: inAlarms, reason: "cloudwatch:DescribeAlarms in us-east-1"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
	},
	checkVPCFlowLogs: {
		{in: inVPCs, reason: "could not all be listed"},
		{in: inFlowLogs, reason: "flow logs could not be read"},
		{in: inDescribeRegions, edit: allRegions, reason: "regions could not be listed"},
	},

	// aws.threat_detection
	checkGuardDutyEnabled: threatDeps(
		dependency{in: inListDetectors, reason: "GuardDuty detectors of region"},
		dependency{in: inGetDetector, edit: onlyUSEast1, reason: "could not be read"}),
	checkGuardDutyFindings: threatDeps(
		dependency{in: inListDetectors, reason: "GuardDuty detectors of region"},
		dependency{in: inListFindings, edit: onlyUSEast1, reason: "could not be listed"},
		dependency{in: inGetFindings, edit: onlyUSEast1, reason: "could not be read"}),
	checkSecurityHubEnabled: threatDeps(dependency{in: inDescribeHub, reason: "could not be read"}),
	checkConfigRecording: threatDeps(
		dependency{in: inRecorders, edit: onlyUSEast1, reason: "describe configuration recorders"},
		dependency{in: inRecorderStatus, edit: onlyUSEast1, reason: "describe configuration recorder status"},
		dependency{in: inChannels, edit: onlyUSEast1, reason: "describe delivery channels"},
		dependency{in: inChannelStatus, edit: onlyUSEast1, reason: "describe delivery channel status"}),

	// aws.identity_center: the access list rests on every read.
	checkICAccessList: icDeps(
		dependency{in: inICUsers, reason: "its users could not all be read"},
		dependency{in: inICGroups, reason: "its groups could not all be read"},
		dependency{in: inICMembers, reason: "its group members could not all be read"},
		dependency{in: inICDescribeSet, reason: "its permission set descriptions could not all be read"},
		dependency{in: inICManaged, reason: "its managed policies could not all be read"},
		dependency{in: inICInline, reason: "its inline policies could not all be read"},
		dependency{in: inICCustomer, reason: "its customer managed policy references could not all be read"}),
	checkICAdminAssignments: icDeps(
		dependency{in: inICManaged, reason: "could not be read"},
		dependency{in: inICInline, edit: inlineAdmin, reason: "could not be read"}),
	checkICAbsentPrincipals: icDeps(
		dependency{in: inICUsers, reason: "could not all be listed"},
		dependency{in: inICGroups, reason: "could not all be listed"}),
}

// undecisive are the inputs a collector reads that decide no verdict,
// and why.
var undecisive = map[string]map[input]string{
	"aws.iam": {inVirtualMFA: "whether root's MFA is hardware is a note beside the verdict"},
	"aws.s3": {
		inObjectLock:      "Object Lock is recorded, not judged, by the S3 checks",
		inDescribeRegions: "buckets are read in their own regions, listed or not",
	},
	"aws.dynamodb": {inTableTags: "tags say whether a table holds ePHI, a note beside the verdict; untagged tables are checked the same"},
	"aws.kms":      {inKeyTags: "tags say whether a key protects ePHI, a note beside the verdict; untagged keys are checked the same"},
	"aws.ebs": {
		inEBSDefaultKey: "the default key is recorded beside the verdict; whether encryption by default is on decides it",
		inSnapshotAttr:  "a public snapshot's permission is recorded beside the verdict; EC2 listing it as restorable by all decides it",
	},
	"aws.backup": {inRestoreTesting: "restore testing plans are recorded; the restore jobs they start are what restore_tested judges"},

	"aws.logging": {inLogGroupTags: "tags say whether a log group holds ePHI, a note beside the verdict; untagged groups are checked the same"},
	"aws.threat_detection": {
		inGDOrgConfig: "only the organization's GuardDuty administrator may read it; a refusal is recorded beside the verdict",
		inStandards:   "the enabled standards are recorded beside the verdict; DescribeHub answering decides whether the hub is enabled",
	},
}

// scopeInputs fail a whole scope: nothing in it is observed or judged.
var scopeInputs = []dependency{
	{in: inCallerIdentity},
	{in: inAssumeRole},
	{in: inListAccounts, edit: func(sim *awssim.Sim, src *collector.AWSSource) {
		sim.Org = []awssim.OrgAccount{{ID: prod, State: "ACTIVE"}, {ID: staging, State: "ACTIVE"}}
		src.Accounts, src.Organization, src.ExternalID = nil, true, awssim.StagingExternalID
	}},
}

var newFuncs = map[string]newFunc{"aws.iam": iamNew, "aws.s3": s3New, "aws.cloudtrail": trailNew, "aws.dynamodb": dynamoNew, "aws.kms": kmsNew, "aws.ebs": ebsNew, "aws.rds": rdsNew, "aws.backup": backupNew, "aws.network": networkNew, "aws.logging": loggingNew, "aws.threat_detection": threatNew, "aws.identity_center": icNew}

// failedRun is a collector's outcome over every scope, scope discovery
// allowed to fail.
type failedRun struct {
	scopesErr error
	results   map[string]scopeResult
}

func runFailing(t *testing.T, typ string, in input, status int, edit func(*awssim.Sim, *collector.AWSSource)) (failedRun, *awssim.Sim) {
	t.Helper()
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	src := sim.Source(srv.URL)
	if edit != nil {
		edit(sim, src)
	}
	if in.op != "" {
		sim.Fail(prod, simService[in.service], in.op, status)
	}
	c, err := newFuncs[typ](collector.Settings{
		ID: typ, Sources: collector.Sources{AWS: src}, Thresholds: collector.DefaultThresholds(),
		HTTPClient: collector.NewHTTPClient(nil), Logger: zap.NewNop(),
	}, fastTuning())
	require.NoError(t, err)
	ctx := collector.WithRecorder(t.Context(), collector.NewRecorder())
	out := failedRun{results: map[string]scopeResult{}}
	scopes, err := c.Scopes(ctx)
	if err != nil {
		out.scopesErr = err
		return out, sim
	}
	for _, sc := range scopes {
		res, err := c.Collect(ctx, collector.Request{Scope: sc, Now: sim.Now})
		r := scopeResult{Scope: sc, Status: evidence.StatusComplete}
		var pe *collector.PartialError
		switch {
		case err == nil:
		case errors.As(err, &pe):
			r.Status, r.Errors = evidence.StatusPartial, pe.Errors
		default:
			r.Status, r.Errors = evidence.StatusFailed, []evidence.RunError{{Where: "account/" + sc.Account, Message: err.Error()}}
		}
		if res != nil {
			r.Records, r.Findings = res.Records, res.Findings
		}
		out.results[sc.Account] = r
	}
	return out, sim
}

// refused counts the calls of in the simulator answered with status.
func refused(sim *awssim.Sim, in input, status int) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Service == simService[in.service] && r.Operation == in.op && r.Status == status {
			n++
		}
	}
	return n
}

// statuses maps "check resource" to the verdict.
func statuses(r scopeResult) map[string]evidence.Result {
	out := map[string]evidence.Result{}
	for _, f := range r.Findings {
		out[f.Check+" "+f.Resource] = f.Status
	}
	return out
}

// TestEveryInputFailing: for every check an AWS collector declares and
// every API input its verdict rests on, that input failing (AccessDenied,
// or an internal error the SDK retries and gives up on) makes every
// finding of the check in the account error, never pass or fail, with a
// reason naming what could not be read, and the run records the failure.
// Every permission a collector declares is an input of one of its checks,
// an input that decides nothing, or one whose failure fails the scope.
func TestEveryInputFailing(t *testing.T) {
	for _, f := range Factories() {
		t.Run(f.Type, func(t *testing.T) {
			covered := map[string]bool{}
			for _, chk := range f.Checks {
				deps := checkDependencies[chk]
				require.NotEmpty(t, deps, "check %s has no dependency cases", chk)
				for _, d := range deps {
					covered[d.in.action()] = true
					for _, status := range []int{http.StatusForbidden, http.StatusInternalServerError} {
						t.Run(fmt.Sprintf("%s/%s/%s/%d", chk, d.in.service, d.in.op, status), func(t *testing.T) {
							run, sim := runFailing(t, f.Type, d.in, status, d.edit)
							require.NoError(t, run.scopesErr)
							require.NotZero(t, refused(sim, d.in, status), "the input was never refused")
							r := run.results[prod]
							require.Equal(t, evidence.StatusPartial, r.Status, "%v", r.Errors)
							var ops []string
							for _, e := range r.Errors {
								ops = append(ops, e.Operation)
							}
							require.Contains(t, ops, d.in.action(), "the run's errors do not record the failure")
							n := 0
							for _, x := range r.Findings {
								if x.Check != chk {
									continue
								}
								n++
								require.Equal(t, evidence.Error, x.Status, "%s %s: %s", x.Check, x.Resource, x.Reason)
								require.Contains(t, x.Reason, d.reason, x.Resource)
							}
							require.NotZero(t, n, "no %s finding at all", chk)
						})
					}
				}
			}
			for in, why := range undecisive[f.Type] {
				covered[in.action()] = true
				t.Run("undecisive/"+in.service+"/"+in.op, func(t *testing.T) {
					// Listing regions happens only when none are configured.
					base, _ := runFailing(t, f.Type, input{}, 0, allRegions)
					run, sim := runFailing(t, f.Type, in, http.StatusForbidden, allRegions)
					require.NotZero(t, refused(sim, in, http.StatusForbidden), "the input was never refused")
					require.Equal(t, statuses(base.results[prod]), statuses(run.results[prod]), why)
				})
			}
			for _, d := range scopeInputs {
				if !contains(f.Permissions, d.in.action()) {
					continue
				}
				covered[d.in.action()] = true
				t.Run("scope/"+d.in.service+"/"+d.in.op, func(t *testing.T) {
					run, sim := runFailing(t, f.Type, d.in, http.StatusForbidden, d.edit)
					require.NotZero(t, refused(sim, d.in, http.StatusForbidden), "the input was never refused")
					if d.in == inListAccounts {
						// No scope, so nothing is judged; the agent writes a
						// failed discovery snapshot.
						require.ErrorContains(t, run.scopesErr, "AccessDenied")
						return
					}
					require.NoError(t, run.scopesErr)
					// AssumeRole is called with the home account's
					// credentials for the other account.
					acct := prod
					if d.in == inAssumeRole {
						acct = staging
					}
					r := run.results[acct]
					require.Equal(t, evidence.StatusFailed, r.Status)
					for _, x := range r.Findings {
						require.Equal(t, evidence.Error, x.Status, "%s %s", x.Check, x.Resource)
					}
				})
			}
			for _, p := range f.Permissions {
				require.True(t, covered[p], "%s declares %s, which no case makes fail", f.Type, p)
			}
		})
	}
}

// TestEveryCheckHasDependencies: the table above names only declared checks.
func TestEveryCheckHasDependencies(t *testing.T) {
	declared := map[string]bool{}
	for _, f := range Factories() {
		for _, c := range f.Checks {
			declared[c] = true
		}
	}
	for chk := range checkDependencies {
		require.True(t, declared[chk], "%s is not declared by any factory", chk)
		require.True(t, strings.HasPrefix(chk, "aws."), chk)
	}
}
