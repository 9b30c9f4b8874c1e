package awscollector

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// guardDutyAPI lists the only GuardDuty calls the collector makes.
// Findings are listed with server-side criteria (the account's own, high
// and critical, not archived) and read 50 at a time, so the calls grow
// with the findings that matter, not with every finding GuardDuty holds.
type guardDutyAPI interface {
	guardduty.ListDetectorsAPIClient
	GetDetector(ctx context.Context, in *guardduty.GetDetectorInput, optFns ...func(*guardduty.Options)) (*guardduty.GetDetectorOutput, error)
	guardduty.ListFindingsAPIClient
	GetFindings(ctx context.Context, in *guardduty.GetFindingsInput, optFns ...func(*guardduty.Options)) (*guardduty.GetFindingsOutput, error)
	guardduty.DescribeOrganizationConfigurationAPIClient
}

// securityHubAPI reads whether the hub is enabled and its standards.
type securityHubAPI interface {
	DescribeHub(ctx context.Context, in *securityhub.DescribeHubInput, optFns ...func(*securityhub.Options)) (*securityhub.DescribeHubOutput, error)
	securityhub.GetEnabledStandardsAPIClient
}

// configAPI reads the region's configuration recorder and delivery
// channel with their status; none of these calls pages.
type configAPI interface {
	DescribeConfigurationRecorders(ctx context.Context, in *configservice.DescribeConfigurationRecordersInput, optFns ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecordersOutput, error)
	DescribeConfigurationRecorderStatus(ctx context.Context, in *configservice.DescribeConfigurationRecorderStatusInput, optFns ...func(*configservice.Options)) (*configservice.DescribeConfigurationRecorderStatusOutput, error)
	DescribeDeliveryChannels(ctx context.Context, in *configservice.DescribeDeliveryChannelsInput, optFns ...func(*configservice.Options)) (*configservice.DescribeDeliveryChannelsOutput, error)
	DescribeDeliveryChannelStatus(ctx context.Context, in *configservice.DescribeDeliveryChannelStatusInput, optFns ...func(*configservice.Options)) (*configservice.DescribeDeliveryChannelStatusOutput, error)
}

var (
	_ guardDutyAPI   = (*guardduty.Client)(nil)
	_ securityHubAPI = (*securityhub.Client)(nil)
	_ configAPI      = (*configservice.Client)(nil)
)

type threatCollector struct{ perAccount }

func newThreatDetection(s collector.Settings, tune tuning) (*threatCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &threatCollector{perAccount{sess}}, nil
}

func (c *threatCollector) guardDuty(cfg aws.Config, region string) guardDutyAPI {
	return guardduty.NewFromConfig(cfg, func(o *guardduty.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func (c *threatCollector) securityHub(cfg aws.Config, region string) securityHubAPI {
	return securityhub.NewFromConfig(cfg, func(o *securityhub.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func (c *threatCollector) config(cfg aws.Config, region string) configAPI {
	return configservice.NewFromConfig(cfg, func(o *configservice.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

// Per-region settings without an ARN of their own are named like EBS's
// encryption by default: the service, the region and the account.
func detectorSetting(part, region, acct string) string {
	return fmt.Sprintf("arn:%s:guardduty:%s:%s:detector", part, region, acct)
}

func detectorARN(part, region, acct, id string) string {
	return fmt.Sprintf("arn:%s:guardduty:%s:%s:detector/%s", part, region, acct, id)
}

// hubARN is the ARN Security Hub gives the hub of a region, which names
// the region's hub whether or not it is enabled.
func hubARN(part, region, acct string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:hub/default", part, region, acct)
}

func configSetting(part, region, acct string) string {
	return fmt.Sprintf("arn:%s:config:%s:%s:configuration-recorder", part, region, acct)
}

// threatRegion is everything read about threat detection in one region.
// Each service's reads fail on their own: only the checks resting on them
// become errors.
type threatRegion struct {
	region  string
	setting string // the region's GuardDuty setting, for no detector
	// detectors are the region's GuardDuty detectors (at most one).
	detectors    []*detectorState
	detectorsErr error

	hub          string
	hubOut       *securityhub.DescribeHubOutput
	hubErr       error
	standards    []shtypes.StandardsSubscription
	standardsErr error

	config       string
	recorders    []cfgtypes.ConfigurationRecorder
	recordersErr error
	recStatus    []cfgtypes.ConfigurationRecorderStatus
	recStatusErr error
	channels     []cfgtypes.DeliveryChannel
	channelsErr  error
	chStatus     []cfgtypes.DeliveryChannelStatus
	chStatusErr  error
}

// Collect reads, in each region, the GuardDuty detectors, Security Hub
// and AWS Config; then, for each detector, its status and features, its
// organization auto-enable setting where the account can see it, and its
// unarchived high and critical findings.
func (c *threatCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	res.Records = append(res.Records, phiRecord(accountARN(part, acct), c.s.src.PHITags))
	regions, ok := eachRegion(ctx, c.s, run, req.Scope, listing{op: "guardduty:ListDetectors", noun: "threat detection setting", checks: ThreatDetection.Checks},
		func(ctx context.Context, region string) ([]*threatRegion, error) {
			return []*threatRegion{c.readRegion(ctx, cfg, part, acct, region)}, nil
		})
	if !ok {
		return res, partial.Err()
	}
	sort.Slice(regions, func(i, j int) bool { return regions[i].region < regions[j].region })

	var detectors []*detectorState
	for _, r := range regions {
		detectors = append(detectors, r.detectors...)
	}
	var mu sync.Mutex
	forEach(ctx, c.s.concurrency(), detectors, func(ctx context.Context, d *detectorState) {
		d.read(ctx, c.guardDuty(cfg, d.region), acct)
		mu.Lock()
		defer mu.Unlock()
		d.addErrors(partial, acct)
	})
	for _, d := range detectors {
		d.markUnread(ctx, partial, acct)
	}

	th := c.s.thresholds()
	now := runTime(req)
	conf := len(c.s.src.PHITags) > 0
	for _, r := range regions {
		c.regionErrors(partial, acct, r)
		res.Records = append(res.Records, threatRecords(r, part, acct)...)
		res.Findings = append(res.Findings, guardDutyEnabled(r)...)
		res.Findings = append(res.Findings, guardDutyFindings(r, part, acct, now, th.GuardDutyFindingMaxAgeDays, c.s.src.PHITags, conf)...)
		res.Findings = append(res.Findings, securityHubEnabled(r), configRecording(r))
	}
	res.Records = append(res.Records, globalResourcesRecord(accountARN(part, acct), regions))
	return res, partial.Err()
}

// readRegion makes the region's reads one after the other: a handful of
// calls however large the estate, but for GuardDuty's detector pages and
// Security Hub's standards pages.
func (c *threatCollector) readRegion(ctx context.Context, cfg aws.Config, part, acct, region string) *threatRegion {
	r := &threatRegion{region: region, setting: detectorSetting(part, region, acct), hub: hubARN(part, region, acct), config: configSetting(part, region, acct)}

	p := guardduty.NewListDetectorsPaginator(c.guardDuty(cfg, region), &guardduty.ListDetectorsInput{MaxResults: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.detectorsErr = fmt.Errorf("list detectors: %w", err)
			break
		}
		for _, id := range page.DetectorIds {
			r.detectors = append(r.detectors, &detectorState{id: id, region: region, arn: detectorARN(part, region, acct, id)})
		}
	}

	sh := c.securityHub(cfg, region)
	if out, err := sh.DescribeHub(ctx, &securityhub.DescribeHubInput{}); err != nil {
		r.hubErr = err
	} else {
		r.hubOut = out
		sp := securityhub.NewGetEnabledStandardsPaginator(sh, &securityhub.GetEnabledStandardsInput{MaxResults: aws.Int32(100)})
		for sp.HasMorePages() {
			page, err := sp.NextPage(ctx)
			if err != nil {
				r.standardsErr = fmt.Errorf("get enabled standards: %w", err)
				break
			}
			r.standards = append(r.standards, page.StandardsSubscriptions...)
		}
	}

	cs := c.config(cfg, region)
	if out, err := cs.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}); err != nil {
		r.recordersErr = fmt.Errorf("describe configuration recorders: %w", err)
	} else {
		r.recorders = out.ConfigurationRecorders
	}
	if out, err := cs.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{}); err != nil {
		r.recStatusErr = fmt.Errorf("describe configuration recorder status: %w", err)
	} else {
		r.recStatus = out.ConfigurationRecordersStatus
	}
	if out, err := cs.DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{}); err != nil {
		r.channelsErr = fmt.Errorf("describe delivery channels: %w", err)
	} else {
		r.channels = out.DeliveryChannels
	}
	if out, err := cs.DescribeDeliveryChannelStatus(ctx, &configservice.DescribeDeliveryChannelStatusInput{}); err != nil {
		r.chStatusErr = fmt.Errorf("describe delivery channel status: %w", err)
	} else {
		r.chStatus = out.DeliveryChannelsStatus
	}
	return r
}

// regionErrors records the region's failed reads as run errors, each
// where it happened. Security Hub answering that it is not enabled is a
// verdict, not an error.
func (c *threatCollector) regionErrors(partial *collector.PartialError, acct string, r *threatRegion) {
	w := where(acct, r.region, "")
	for _, e := range []struct {
		where, op string
		err       error
	}{
		{w, "guardduty:ListDetectors", r.detectorsErr},
		{where(acct, r.region, r.hub), "securityhub:GetEnabledStandards", r.standardsErr},
		{where(acct, r.region, r.config), "config:DescribeConfigurationRecorders", r.recordersErr},
		{where(acct, r.region, r.config), "config:DescribeConfigurationRecorderStatus", r.recStatusErr},
		{where(acct, r.region, r.config), "config:DescribeDeliveryChannels", r.channelsErr},
		{where(acct, r.region, r.config), "config:DescribeDeliveryChannelStatus", r.chStatusErr},
	} {
		if e.err != nil {
			partial.Add(e.where, e.op, fmt.Errorf("region %s: %w", r.region, e.err))
		}
	}
	if r.hubErr != nil && !hubNotEnabled(r.hubErr) {
		partial.Add(where(acct, r.region, r.hub), "securityhub:DescribeHub", fmt.Errorf("region %s: describe hub: %w", r.region, r.hubErr))
	}
}

// hubNotEnabled says whether DescribeHub answered that the account has not
// enabled Security Hub in the region: InvalidAccessException.
func hubNotEnabled(err error) bool { return apiErrorCode(err) == "InvalidAccessException" }
