package awscollector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/smithy-go"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Every AWS collector probes its access through the one helper.
func (c *iamCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *trailCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *s3Collector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *kmsCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *dynamoCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *ebsCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *rdsCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *backupCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *networkCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *loggingCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *threatCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}
func (c *identityCenterCollector) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return c.s.probe(ctx, p)
}

// probeEnv is one account's probe: its credentials and the region reads go to.
type probeEnv struct {
	s       *session
	cfg     aws.Config
	region  string
	account string
}

// probeCall makes one harmless read that needs the IAM action it is filed
// under, and nothing else of note: account-level List/Describe/Get calls,
// one item at most.
type probeCall func(ctx context.Context, e probeEnv) error

func (e probeEnv) ep(set func(*string)) {
	if ep := e.s.endpoint(); ep != nil {
		set(ep)
	}
}

// probeCalls maps each action that has such a read to it. An action not
// here needs a named resource (a key, a table, a trail, a detector) that
// only the collector's own listing finds; it is reported as not probed.
var probeCalls = map[string]probeCall{
	"iam:GetAccountAuthorizationDetails": func(ctx context.Context, e probeEnv) error {
		_, err := e.iam().GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(1)})
		return err
	},
	"iam:GetAccountPasswordPolicy": func(ctx context.Context, e probeEnv) error {
		_, err := e.iam().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
		return err
	},
	"iam:GetCredentialReport": func(ctx context.Context, e probeEnv) error {
		_, err := e.iam().GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
		return err
	},
	"iam:ListVirtualMFADevices": func(ctx context.Context, e probeEnv) error {
		_, err := e.iam().ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{MaxItems: aws.Int32(1)})
		return err
	},
	"cloudtrail:DescribeTrails": func(ctx context.Context, e probeEnv) error {
		_, err := cloudtrail.NewFromConfig(e.cfg, func(o *cloudtrail.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) }).
			DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
		return err
	},
	"logs:DescribeLogGroups": func(ctx context.Context, e probeEnv) error {
		_, err := e.logs().DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(1)})
		return err
	},
	"logs:DescribeMetricFilters": func(ctx context.Context, e probeEnv) error {
		_, err := e.logs().DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{Limit: aws.Int32(1)})
		return err
	},
	"cloudwatch:DescribeAlarms": func(ctx context.Context, e probeEnv) error {
		_, err := cloudwatch.NewFromConfig(e.cfg, func(o *cloudwatch.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) }).
			DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(1)})
		return err
	},
	"s3:ListAllMyBuckets": func(ctx context.Context, e probeEnv) error {
		_, err := e.s.s3Client(e.cfg, e.region).ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1)})
		return err
	},
	"s3:GetAccountPublicAccessBlock": func(ctx context.Context, e probeEnv) error {
		_, err := e.s.s3ControlClient(e.cfg).GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(e.account)})
		return err
	},
	"kms:ListKeys": func(ctx context.Context, e probeEnv) error {
		_, err := kms.NewFromConfig(e.cfg, func(o *kms.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) }).
			ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1)})
		return err
	},
	"dynamodb:ListTables": func(ctx context.Context, e probeEnv) error {
		_, err := dynamodb.NewFromConfig(e.cfg, func(o *dynamodb.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) }).
			ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		return err
	},
	"ec2:DescribeVolumes": func(ctx context.Context, e probeEnv) error {
		_, err := e.ec2().DescribeVolumes(ctx, &ec2.DescribeVolumesInput{MaxResults: aws.Int32(5)})
		return err
	},
	"ec2:DescribeSnapshots": func(ctx context.Context, e probeEnv) error {
		_, err := e.ec2().DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(5)})
		return err
	},
	"ec2:DescribeSecurityGroups": func(ctx context.Context, e probeEnv) error {
		_, err := e.ec2().DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5)})
		return err
	},
	"ec2:DescribeVpcs": func(ctx context.Context, e probeEnv) error {
		_, err := e.ec2().DescribeVpcs(ctx, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(5)})
		return err
	},
	"ec2:DescribeFlowLogs": func(ctx context.Context, e probeEnv) error {
		_, err := e.ec2().DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{MaxResults: aws.Int32(5)})
		return err
	},
	"ec2:GetEbsEncryptionByDefault": func(ctx context.Context, e probeEnv) error {
		_, err := e.ec2().GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
		return err
	},
	"ec2:GetEbsDefaultKmsKeyId": func(ctx context.Context, e probeEnv) error {
		_, err := e.ec2().GetEbsDefaultKmsKeyId(ctx, &ec2.GetEbsDefaultKmsKeyIdInput{})
		return err
	},
	"rds:DescribeDBInstances": func(ctx context.Context, e probeEnv) error {
		_, err := e.rds().DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(20)})
		return err
	},
	"rds:DescribeDBClusters": func(ctx context.Context, e probeEnv) error {
		_, err := e.rds().DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{MaxRecords: aws.Int32(20)})
		return err
	},
	"rds:DescribeDBSnapshots": func(ctx context.Context, e probeEnv) error {
		_, err := e.rds().DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{MaxRecords: aws.Int32(20)})
		return err
	},
	"rds:DescribeDBClusterSnapshots": func(ctx context.Context, e probeEnv) error {
		_, err := e.rds().DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{MaxRecords: aws.Int32(20)})
		return err
	},
	"backup:ListBackupVaults": func(ctx context.Context, e probeEnv) error {
		_, err := e.backup().ListBackupVaults(ctx, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(1)})
		return err
	},
	"backup:ListBackupPlans": func(ctx context.Context, e probeEnv) error {
		_, err := e.backup().ListBackupPlans(ctx, &backup.ListBackupPlansInput{MaxResults: aws.Int32(1)})
		return err
	},
	"backup:ListBackupJobs": func(ctx context.Context, e probeEnv) error {
		_, err := e.backup().ListBackupJobs(ctx, &backup.ListBackupJobsInput{MaxResults: aws.Int32(1)})
		return err
	},
	"backup:ListRestoreJobs": func(ctx context.Context, e probeEnv) error {
		_, err := e.backup().ListRestoreJobs(ctx, &backup.ListRestoreJobsInput{MaxResults: aws.Int32(1)})
		return err
	},
	"backup:ListProtectedResources": func(ctx context.Context, e probeEnv) error {
		_, err := e.backup().ListProtectedResources(ctx, &backup.ListProtectedResourcesInput{MaxResults: aws.Int32(1)})
		return err
	},
	"backup:ListRestoreTestingPlans": func(ctx context.Context, e probeEnv) error {
		_, err := e.backup().ListRestoreTestingPlans(ctx, &backup.ListRestoreTestingPlansInput{MaxResults: aws.Int32(1)})
		return err
	},
	"tag:GetResources": func(ctx context.Context, e probeEnv) error {
		_, err := resourcegroupstaggingapi.NewFromConfig(e.cfg, func(o *resourcegroupstaggingapi.Options) {
			o.Region = e.region
			e.ep(func(s *string) { o.BaseEndpoint = s })
		}).GetResources(ctx, &resourcegroupstaggingapi.GetResourcesInput{ResourcesPerPage: aws.Int32(1)})
		return err
	},
	"config:DescribeConfigurationRecorders": func(ctx context.Context, e probeEnv) error {
		_, err := e.config().DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
		return err
	},
	"config:DescribeConfigurationRecorderStatus": func(ctx context.Context, e probeEnv) error {
		_, err := e.config().DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
		return err
	},
	"config:DescribeDeliveryChannels": func(ctx context.Context, e probeEnv) error {
		_, err := e.config().DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{})
		return err
	},
	"config:DescribeDeliveryChannelStatus": func(ctx context.Context, e probeEnv) error {
		_, err := e.config().DescribeDeliveryChannelStatus(ctx, &configservice.DescribeDeliveryChannelStatusInput{})
		return err
	},
	"guardduty:ListDetectors": func(ctx context.Context, e probeEnv) error {
		_, err := guardduty.NewFromConfig(e.cfg, func(o *guardduty.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) }).
			ListDetectors(ctx, &guardduty.ListDetectorsInput{MaxResults: aws.Int32(1)})
		return err
	},
	"securityhub:DescribeHub": func(ctx context.Context, e probeEnv) error {
		_, err := e.securityhub().DescribeHub(ctx, &securityhub.DescribeHubInput{})
		return err
	},
	"securityhub:GetEnabledStandards": func(ctx context.Context, e probeEnv) error {
		_, err := e.securityhub().GetEnabledStandards(ctx, &securityhub.GetEnabledStandardsInput{MaxResults: aws.Int32(1)})
		return err
	},
	"sso:ListInstances": func(ctx context.Context, e probeEnv) error {
		_, err := ssoadmin.NewFromConfig(e.cfg, func(o *ssoadmin.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) }).
			ListInstances(ctx, &ssoadmin.ListInstancesInput{MaxResults: aws.Int32(1)})
		return err
	},
}

// notProbedWhy says why an action has no probe of its own.
var notProbedWhy = map[string]string{
	"iam:GenerateCredentialReport": "starts a report generation, which is not a read; the collector's run shows whether it is allowed",
}

func (e probeEnv) iam() *iam.Client {
	return iam.NewFromConfig(e.cfg, func(o *iam.Options) { e.ep(func(s *string) { o.BaseEndpoint = s }) })
}
func (e probeEnv) ec2() *ec2.Client {
	return ec2.NewFromConfig(e.cfg, func(o *ec2.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) })
}
func (e probeEnv) logs() *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(e.cfg, func(o *cloudwatchlogs.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) })
}
func (e probeEnv) rds() *rds.Client {
	return rds.NewFromConfig(e.cfg, func(o *rds.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) })
}
func (e probeEnv) backup() *backup.Client {
	return backup.NewFromConfig(e.cfg, func(o *backup.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) })
}
func (e probeEnv) config() *configservice.Client {
	return configservice.NewFromConfig(e.cfg, func(o *configservice.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) })
}
func (e probeEnv) securityhub() *securityhub.Client {
	return securityhub.NewFromConfig(e.cfg, func(o *securityhub.Options) { o.Region = e.region; e.ep(func(s *string) { o.BaseEndpoint = s }) })
}

// probe checks the collector's access in every account it reads: the
// identity of the credentials and the role assumed (with its external
// id), that each configured region is enabled, then one read per
// permission in the first configured region.
func (s *session) probe(ctx context.Context, perms []string) []collector.ProbeResult {
	perms = slices.Clone(perms)
	sort.Strings(perms)
	perms = slices.Compact(perms)
	var out []collector.ProbeResult
	add := func(scope, perm string, st collector.ProbeStatus, detail string) {
		out = append(out, collector.ProbeResult{Scope: scope, Permission: perm, Status: st, Detail: detail})
	}
	cfg, err := s.config(ctx)
	if err != nil {
		add("aws", "credentials", collector.ProbeError, err.Error())
		return out
	}
	ids := make([]string, 0, len(s.src.Accounts))
	for _, a := range s.src.Accounts {
		ids = append(ids, a.ID)
	}
	declared := func(p string) bool { return slices.Contains(perms, p) }
	if declared("organizations:ListAccounts") {
		if !s.src.Organization {
			add("aws", "organizations:ListAccounts", collector.ProbeNotProbed, "not used: sources.aws.organization is off")
		} else {
			members, _, err := s.discover(ctx, cfg)
			st, detail := classify(err)
			if err == nil {
				detail = fmt.Sprintf("%d member account(s)", len(members))
				for _, m := range members {
					if m.status == "ACTIVE" && !slices.Contains(ids, m.id) {
						ids = append(ids, m.id)
					}
				}
			}
			add("aws organization", "organizations:ListAccounts", st, detail)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		out = append(out, s.probeAccount(ctx, id, perms)...)
	}
	return out
}

func (s *session) probeAccount(ctx context.Context, id string, perms []string) []collector.ProbeResult {
	scope := "account " + id
	var out []collector.ProbeResult
	add := func(scope, perm string, st collector.ProbeStatus, detail string) {
		out = append(out, collector.ProbeResult{Scope: scope, Permission: perm, Status: st, Detail: detail})
	}
	skipRest := func(why string) []collector.ProbeResult {
		for _, p := range perms {
			if p != "sts:GetCallerIdentity" && p != "sts:AssumeRole" && p != "organizations:ListAccounts" {
				add(scope, p, collector.ProbeNotProbed, why)
			}
		}
		return out
	}
	t, err := s.target(ctx, id)
	if err != nil {
		add(scope, "sts:AssumeRole", collector.ProbeError, err.Error())
		return skipRest("the account could not be reached")
	}
	cfg, err := s.accountConfig(ctx, t)
	if t.roleARN != "" {
		detail := "assumed " + t.roleARN
		if t.externalID != "" {
			detail += " with its external id"
		} else {
			detail += " without an external id"
		}
		st := collector.ProbeOK
		if err != nil {
			st, detail = classify(err)
		}
		add(scope, "sts:AssumeRole", st, detail)
	} else if slices.Contains(perms, "sts:AssumeRole") {
		add(scope, "sts:AssumeRole", collector.ProbeNotProbed, "not used: the account is read with the agent's own credentials")
	}
	if err != nil {
		if t.roleARN == "" {
			st, detail := classify(err)
			add(scope, "sts:GetCallerIdentity", st, detail)
		}
		return skipRest("no credentials for the account")
	}
	add(scope, "sts:GetCallerIdentity", collector.ProbeOK, "the credentials act in account "+id)

	enabled, err := s.enabledRegions(ctx, cfg)
	regions := slices.Clone(s.src.Regions)
	sort.Strings(regions)
	if slices.Contains(perms, "ec2:DescribeRegions") || len(regions) > 0 {
		st, detail := classify(err)
		if err == nil {
			detail = fmt.Sprintf("%d region(s) enabled", len(enabled))
		}
		add(scope, "ec2:DescribeRegions", st, detail)
	}
	for _, r := range regions {
		switch {
		case err != nil:
			add(scope, "region "+r, collector.ProbeError, "whether the region is enabled is unknown: its regions could not be listed")
		case slices.Contains(enabled, r):
			add(scope, "region "+r, collector.ProbeOK, "enabled")
		default:
			add(scope, "region "+r, collector.ProbeError, "configured in sources.aws.regions but not enabled in the account")
		}
	}
	region := cfg.Region
	if len(regions) > 0 {
		region = regions[0]
	}
	env := probeEnv{s: s, cfg: cfg, region: region, account: id}
	for _, p := range perms {
		switch p {
		case "sts:GetCallerIdentity", "sts:AssumeRole", "ec2:DescribeRegions", "organizations:ListAccounts":
			continue
		}
		call, ok := probeCalls[p]
		if !ok {
			why, ok := notProbedWhy[p]
			if !ok {
				why = "needs a named resource that only the collector's own listing finds; a denial shows in its run as a partial snapshot"
			}
			add(scope, p, collector.ProbeNotProbed, why)
			continue
		}
		st, detail := classify(call(ctx, env))
		if st == collector.ProbeOK && detail == "" {
			detail = "read in " + region
		}
		add(scope, p, st, detail)
	}
	return out
}

// classify turns a probe's answer into a verdict. A service that answers
// that the thing read is absent or not set up has authorized the read.
func classify(err error) (collector.ProbeStatus, string) {
	if err == nil {
		return collector.ProbeOK, ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return collector.ProbeError, err.Error()
	}
	code := ae.ErrorCode()
	switch code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
		"AuthorizationErrorException", "UnauthorizedAccess", "Forbidden":
		return collector.ProbeDenied, code + ": " + ae.ErrorMessage()
	}
	for _, benign := range []string{"NotFound", "NoSuch", "NotPresent", "ReportExpired", "ReportInProgress", "NotInUse", "InvalidAccessException"} {
		if strings.Contains(code, benign) {
			return collector.ProbeOK, "allowed (the service answered " + code + ")"
		}
	}
	return collector.ProbeError, err.Error()
}
