package awscollector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// logsAPI lists the only CloudWatch Logs calls the collector makes. Log
// groups and metric filters are listed once per region, a page at a time;
// tags are the one read per group (CloudWatch Logs has no bulk form), made
// only when phi_tags are configured.
type logsAPI interface {
	cloudwatchlogs.DescribeLogGroupsAPIClient
	cloudwatchlogs.DescribeMetricFiltersAPIClient
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
}

// alarmAPI is CloudWatch's alarm listing, paged.
type alarmAPI interface {
	cloudwatch.DescribeAlarmsAPIClient
}

// trailListAPI finds the log groups CloudTrail delivers to.
type trailListAPI interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
}

// vpcAPI lists VPCs and flow logs, each once per region, paged.
type vpcAPI interface {
	ec2.DescribeVpcsAPIClient
	ec2.DescribeFlowLogsAPIClient
}

var (
	_ logsAPI      = (*cloudwatchlogs.Client)(nil)
	_ alarmAPI     = (*cloudwatch.Client)(nil)
	_ trailListAPI = (*cloudtrail.Client)(nil)
	_ vpcAPI       = (*ec2.Client)(nil)
)

type loggingCollector struct{ perAccount }

func newLogging(s collector.Settings, tune tuning) (*loggingCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &loggingCollector{perAccount{sess}}, nil
}

// logRegion is everything read in one region. Each read keeps its own
// error, so that one refused call leaves the others' evidence intact.
type logRegion struct {
	region    string
	groups    []*groupState
	groupsErr error
	// trailGroups are the names of the log groups, in this region and
	// account, that a trail homed here delivers to, with the trail's name;
	// elsewhere are those of trails delivering to another account's group.
	trailGroups map[string]string
	elsewhere   []string
	trailsErr   error
	// filters are every metric filter of the region, read only where a
	// trail delivers to a log group of the region.
	filters    []cwltypes.MetricFilter
	filtersErr error
	// alarms are the region's metric alarms, read only where a filter on
	// a trail's log group matches a CIS pattern.
	alarms     []cwtypes.MetricAlarm
	alarmsRead bool
	alarmsErr  error
	vpcs       []ec2types.Vpc
	vpcsErr    error
	flowLogs   []ec2types.FlowLog
	flowErr    error
}

// groupState is one log group and, with phi_tags set, its tags' verdict.
type groupState struct {
	arn, region string
	group       cwltypes.LogGroup
	phi         bool
	tagsErr     error
	tagsRead    bool
}

func (c *loggingCollector) logsClient(cfg aws.Config, region string) logsAPI {
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func (c *loggingCollector) alarmClient(cfg aws.Config, region string) alarmAPI {
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func (c *loggingCollector) trailClient(cfg aws.Config, region string) trailListAPI {
	return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func (c *loggingCollector) vpcClient(cfg aws.Config, region string) vpcAPI {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

func vpcARN(part, region, acct, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:vpc/%s", part, region, acct, id)
}

// logGroupARN is the group's ARN without the ":*" DescribeLogGroups' arn
// field ends with, as ListTagsForResource takes it.
func logGroupARN(part, region, acct string, g cwltypes.LogGroup) string {
	if a := aws.ToString(g.LogGroupArn); a != "" {
		return a
	}
	if a := strings.TrimSuffix(aws.ToString(g.Arn), ":*"); a != "" {
		return a
	}
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", part, region, acct, aws.ToString(g.LogGroupName))
}

// Collect reads, in each region, the log groups, the trails' log groups,
// the region's metric filters and alarms where a trail delivers there,
// and the VPCs with their flow logs; then, with phi_tags set, each log
// group's tags.
func (c *loggingCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	res.Records = append(res.Records, phiRecord(accountARN(part, acct), c.s.src.PHITags))
	// Every region answers one logRegion, errors inside it; a region is a
	// listing failure of eachRegion only when the run ends before it.
	regions, ok := eachRegion(ctx, c.s, run, req.Scope, listing{op: "logs:DescribeLogGroups", noun: "resource", checks: Logging.Checks},
		func(ctx context.Context, region string) ([]*logRegion, error) {
			return []*logRegion{c.readRegion(ctx, cfg, part, acct, region)}, nil
		})
	if !ok {
		return res, partial.Err()
	}
	sort.Slice(regions, func(i, j int) bool { return regions[i].region < regions[j].region })

	conf := len(c.s.src.PHITags) > 0
	var groups []*groupState
	for _, r := range regions {
		groups = append(groups, r.groups...)
	}
	if conf {
		var mu sync.Mutex
		forEach(ctx, c.s.concurrency(), groups, func(ctx context.Context, g *groupState) {
			out, err := c.logsClient(cfg, g.region).ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(g.arn)})
			mu.Lock()
			defer mu.Unlock()
			g.tagsRead = true
			if err != nil {
				g.tagsErr = fmt.Errorf("list tags for resource: %w", err)
				partial.Add(where(acct, g.region, g.arn), "logs:ListTagsForResource", g.tagsErr)
				return
			}
			g.phi = phiTagged(c.s.src.PHITags, out.Tags)
		})
	}

	thresholdDays := c.s.thresholds().LogRetentionDays
	for _, r := range regions {
		c.regionErrors(run, acct, r)
		for _, g := range r.groups {
			if conf && !g.tagsRead {
				g.tagsErr = notRead(ctx)
				partial.Add(where(acct, g.region, g.arn), "logs:ListTagsForResource", g.tagsErr)
			}
			rec := logGroupRecord(g)
			if conf && g.tagsErr == nil {
				rec.Attributes["phi"] = g.phi
			}
			res.Records = append(res.Records, rec)
			res.Findings = append(res.Findings, markPHI(logGroupRetention(g, thresholdDays), conf, g.phi, g.tagsErr))
		}
		for _, f := range r.filters {
			res.Records = append(res.Records, metricFilterRecord(part, acct, r.region, f, r.trailGroups))
		}
		for _, a := range r.alarms {
			res.Records = append(res.Records, alarmRecord(r.region, a))
		}
		for _, v := range r.vpcs {
			arn := vpcARN(part, r.region, acct, aws.ToString(v.VpcId))
			logs := vpcFlowLogs(v, r.flowLogs)
			res.Records = append(res.Records, vpcRecord(arn, r.region, v, logs, r.flowErr))
			res.Findings = append(res.Findings, vpcFlowLogged(arn, v, logs, r.flowErr))
		}
	}
	// A region eachRegion never reached (the run ended first) has an error
	// finding of every check already; the CIS verdicts must not pass over it.
	var unlisted []string
	for _, f := range res.Findings {
		if f.Check == checkLogMetricAlarms && f.Status == evidence.Error {
			if r, ok := f.Observed["region"].(string); ok {
				unlisted = append(unlisted, r)
			}
		}
	}
	res.Findings = append(res.Findings, metricFilterAlarms(part, acct, regions, unlisted)...)
	return res, partial.Err()
}

// readRegion makes the region's reads one after the other: a handful of
// calls, however many groups, filters, alarms and VPCs, but for the pages.
func (c *loggingCollector) readRegion(ctx context.Context, cfg aws.Config, part, acct, region string) *logRegion {
	r := &logRegion{region: region, trailGroups: map[string]string{}}
	logs := c.logsClient(cfg, region)
	gp := cloudwatchlogs.NewDescribeLogGroupsPaginator(logs, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(50)})
	for gp.HasMorePages() {
		page, err := gp.NextPage(ctx)
		if err != nil {
			r.groupsErr = fmt.Errorf("describe log groups: %w", err)
			break
		}
		for _, g := range page.LogGroups {
			r.groups = append(r.groups, &groupState{arn: logGroupARN(part, region, acct, g), region: region, group: g})
		}
	}
	sort.Slice(r.groups, func(i, j int) bool { return r.groups[i].arn < r.groups[j].arn })

	// Trails homed in the region, not their shadows: CloudTrail delivers
	// to a log group in the trail's home region only, so the group's
	// metric filters and alarms are read there.
	if out, err := c.trailClient(cfg, region).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)}); err != nil {
		r.trailsErr = fmt.Errorf("describe trails: %w", err)
	} else {
		for _, t := range out.TrailList {
			r.addTrail(acct, t)
		}
	}
	if len(r.trailGroups) > 0 {
		fp := cloudwatchlogs.NewDescribeMetricFiltersPaginator(logs, &cloudwatchlogs.DescribeMetricFiltersInput{Limit: aws.Int32(50)})
		for fp.HasMorePages() {
			page, err := fp.NextPage(ctx)
			if err != nil {
				r.filtersErr = fmt.Errorf("describe metric filters: %w", err)
				break
			}
			r.filters = append(r.filters, page.MetricFilters...)
		}
	}
	if r.filtersErr == nil && len(r.candidates()) > 0 {
		ap := cloudwatch.NewDescribeAlarmsPaginator(c.alarmClient(cfg, region), &cloudwatch.DescribeAlarmsInput{
			AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}, MaxRecords: aws.Int32(100)})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				r.alarmsErr = fmt.Errorf("describe alarms: %w", err)
				break
			}
			r.alarms = append(r.alarms, page.MetricAlarms...)
		}
		r.alarmsRead = r.alarmsErr == nil
	}

	vpc := c.vpcClient(cfg, region)
	vp := ec2.NewDescribeVpcsPaginator(vpc, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(1000)})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			r.vpcsErr = fmt.Errorf("describe vpcs: %w", err)
			break
		}
		r.vpcs = append(r.vpcs, page.Vpcs...)
	}
	sort.Slice(r.vpcs, func(i, j int) bool { return aws.ToString(r.vpcs[i].VpcId) < aws.ToString(r.vpcs[j].VpcId) })
	if len(r.vpcs) > 0 {
		// Every flow log of the region in one listing, rather than a
		// resource-id filter per VPC.
		fp := ec2.NewDescribeFlowLogsPaginator(vpc, &ec2.DescribeFlowLogsInput{MaxResults: aws.Int32(1000)})
		for fp.HasMorePages() {
			page, err := fp.NextPage(ctx)
			if err != nil {
				r.flowErr = fmt.Errorf("describe flow logs: %w", err)
				break
			}
			r.flowLogs = append(r.flowLogs, page.FlowLogs...)
		}
	}
	return r
}

// addTrail notes the log group a trail delivers to: one of this account
// in this region is a trail log group whose filters are read; one of
// another account (an organization trail's) is judged there.
func (r *logRegion) addTrail(acct string, t cttypes.Trail) {
	arn := aws.ToString(t.CloudWatchLogsLogGroupArn)
	if arn == "" {
		return
	}
	// arn:partition:logs:region:account:log-group:name:*
	parts := strings.SplitN(strings.TrimSuffix(arn, ":*"), ":", 7)
	if len(parts) != 7 || parts[5] != "log-group" {
		return
	}
	if parts[3] != r.region || parts[4] != acct {
		r.elsewhere = append(r.elsewhere, fmt.Sprintf("%s (trail %s)", arn, aws.ToString(t.Name)))
		return
	}
	r.trailGroups[parts[6]] = aws.ToString(t.Name)
}

// regionErrors records what a region could not read: the run errors, and
// for a listing that stopped short an error finding of the check judged
// on it, on the account, since what was not listed is judged nowhere else.
// The metric filter check says itself what it could not read.
func (c *loggingCollector) regionErrors(run *accountRun, acct string, r *logRegion) {
	w := where(acct, r.region, "")
	root := accountARN(run.part, acct)
	short := func(noun string, err error, n int, chk string) {
		run.res.Findings = append(run.res.Findings, finding(chk, root, evidence.Error,
			fmt.Sprintf("The %ss of region %s could not all be listed, so not every %s was judged.", noun, r.region, noun),
			map[string]any{"region": r.region, "error": err.Error(), strings.ToLower(strings.ReplaceAll(noun, " ", "_")) + "s_listed": n}))
	}
	for _, e := range []struct {
		op  string
		err error
	}{
		{"logs:DescribeLogGroups", r.groupsErr}, {"cloudtrail:DescribeTrails", r.trailsErr}, {"logs:DescribeMetricFilters", r.filtersErr},
		{"cloudwatch:DescribeAlarms", r.alarmsErr}, {"ec2:DescribeVpcs", r.vpcsErr}, {"ec2:DescribeFlowLogs", r.flowErr},
	} {
		if e.err != nil {
			run.partial.Add(w, e.op, fmt.Errorf("region %s: %w", r.region, e.err))
		}
	}
	if r.groupsErr != nil {
		short("log group", r.groupsErr, len(r.groups), checkLogRetention)
	}
	if r.vpcsErr != nil {
		short("VPC", r.vpcsErr, len(r.vpcs), checkVPCFlowLogs)
	}
}
