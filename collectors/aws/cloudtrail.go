package awscollector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// trailAPI lists the only CloudTrail calls the collector makes.
type trailAPI interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(ctx context.Context, in *cloudtrail.GetEventSelectorsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
}

var _ trailAPI = (*cloudtrail.Client)(nil)

type trailCollector struct{ s *session }

func newCloudTrail(s collector.Settings, tune tuning) (*trailCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &trailCollector{s: sess}, nil
}

// Scopes lists one scope per account.
func (c *trailCollector) Scopes(ctx context.Context) ([]evidence.Scope, error) {
	return c.s.scopes(ctx, true)
}

// trailState is everything read about one trail.
type trailState struct {
	trail     cttypes.Trail
	foreign   bool // owned by another account: an organization trail
	status    *cloudtrail.GetTrailStatusOutput
	statusErr error
	selectors *cloudtrail.GetEventSelectorsOutput
	selErr    error
	retention retentionInput
}

// Collect reads the trails homed in each region of one account.
func (c *trailCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	t, err := c.s.target(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, err := c.s.accountConfig(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acct, err)
	}
	part := partition(cfg.Region)
	root := accountARN(part, acct)
	res := &collector.Result{Records: c.s.skippedRecords(acct)}
	partial := &collector.PartialError{}
	regions, err := c.s.regions(ctx, cfg, req.Scope)
	if err != nil {
		partial.Add(where(acct, "", ""), "ec2:DescribeRegions", err)
		res.Findings = append(res.Findings, finding(checkTrailMultiRegion, root, evidence.Error,
			"The account's regions could not be listed, so its trails were not read.", map[string]any{"error": err.Error()}))
		return res, partial.Err()
	}

	// Every region lists the trails that apply to it, shadow copies of
	// multi-region and organization trails included, so a trail homed in a
	// region that could not be read is still seen. Each trail is then read
	// once, in its home region.
	var mu sync.Mutex
	found := map[string]cttypes.Trail{}
	var failedRegions []string
	forEach(ctx, c.s.concurrency(), regions, func(ctx context.Context, region string) {
		out, err := c.client(cfg, region).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			partial.Add(where(acct, region, ""), "cloudtrail:DescribeTrails", err)
			failedRegions = append(failedRegions, region)
			return
		}
		for _, tr := range out.TrailList {
			found[aws.ToString(tr.TrailARN)] = tr
		}
	})
	arns := make([]string, 0, len(found))
	for a := range found {
		arns = append(arns, a)
	}
	sort.Strings(arns)
	sort.Strings(failedRegions)
	trails := make([]*trailState, len(arns))
	forEach(ctx, c.s.concurrency(), indexes(len(arns)), func(ctx context.Context, i int) {
		tr := found[arns[i]]
		home := aws.ToString(tr.HomeRegion)
		if home == "" {
			home = cfg.Region
		}
		api := c.client(cfg, home)
		st := &trailState{trail: tr, foreign: arnAccount(arns[i]) != acct}
		st.status, st.statusErr = api.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arns[i])})
		st.selectors, st.selErr = api.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arns[i])})
		if !st.foreign {
			st.retention = c.readRetention(ctx, cfg, tr, home)
		}
		mu.Lock()
		defer mu.Unlock()
		w := where(acct, home, arns[i])
		if st.statusErr != nil {
			partial.Add(w, "cloudtrail:GetTrailStatus", st.statusErr)
		}
		if st.selErr != nil {
			partial.Add(w, "cloudtrail:GetEventSelectors", st.selErr)
		}
		for _, e := range st.retention.errs {
			partial.Add(w, e.op, e.err)
		}
		trails[i] = st
	})

	th := c.s.settings.Thresholds
	covering := []string{}
	var unknown []string
	for _, st := range trails {
		if st == nil { // the run's context ended first
			continue
		}
		res.Records = append(res.Records, trailRecord(st))
		f := multiRegion(st)
		switch f.Status {
		case evidence.Pass:
			covering = append(covering, f.Resource)
		case evidence.Error:
			unknown = append(unknown, f.Resource)
		}
		if st.foreign {
			// Another account's trail (an organization trail) covers this
			// account; its own settings are judged in the account that owns it.
			continue
		}
		res.Findings = append(res.Findings, f,
			logValidation(st), trailKMS(st), delivery(st, req.Now, th.TrailDeliveryMaxHours),
			cloudWatch(st), judgeRetention(st, th.LogRetentionDays))
	}
	obs := map[string]any{"multi_region_trails_logging_management_events": covering, "trails": len(trails)}
	switch {
	case len(covering) > 0:
		res.Findings = append(res.Findings, finding(checkTrailMultiRegion, root, evidence.Pass,
			"A multi-region trail is logging read and write management events.", obs))
	case len(failedRegions) > 0 || len(unknown) > 0:
		obs["unread_regions"] = failedRegions
		obs["undetermined_trails"] = unknown
		res.Findings = append(res.Findings, finding(checkTrailMultiRegion, root, evidence.Error,
			"No covering trail was seen, but some regions or trails could not be read.", obs))
	default:
		res.Findings = append(res.Findings, finding(checkTrailMultiRegion, root, evidence.Fail,
			"No multi-region trail is logging read and write management events.", obs))
	}
	return res, partial.Err()
}

func trailRecord(st *trailState) evidence.Record {
	tr := st.trail
	attrs := map[string]any{
		"name":                   aws.ToString(tr.Name),
		"home_region":            aws.ToString(tr.HomeRegion),
		"multi_region":           aws.ToBool(tr.IsMultiRegionTrail),
		"organization_trail":     aws.ToBool(tr.IsOrganizationTrail),
		"log_file_validation":    aws.ToBool(tr.LogFileValidationEnabled),
		"kms_key_id":             aws.ToString(tr.KmsKeyId),
		"s3_bucket":              aws.ToString(tr.S3BucketName),
		"s3_key_prefix":          aws.ToString(tr.S3KeyPrefix),
		"cloudwatch_log_group":   aws.ToString(tr.CloudWatchLogsLogGroupArn),
		"include_global_events":  aws.ToBool(tr.IncludeGlobalServiceEvents),
		"owned_by_other_account": st.foreign,
	}
	if st.status != nil {
		attrs["is_logging"] = aws.ToBool(st.status.IsLogging)
		attrs["latest_delivery_time"] = ts(aws.ToTime(st.status.LatestDeliveryTime))
		attrs["latest_delivery_error"] = aws.ToString(st.status.LatestDeliveryError)
	}
	if rw, ok := managementEvents(st.selectors); ok {
		attrs["management_events"] = rw
	}
	return evidence.Record{Type: "aws.cloudtrail.trail", ID: aws.ToString(tr.TrailARN), Region: aws.ToString(tr.HomeRegion), Attributes: attrs}
}

// managementEvents says which management events the trail's selectors
// log: "All", "ReadOnly", "WriteOnly" or "None".
func managementEvents(sel *cloudtrail.GetEventSelectorsOutput) (string, bool) {
	if sel == nil {
		return "", false
	}
	read, write := false, false
	for _, es := range sel.EventSelectors {
		if !aws.ToBool(es.IncludeManagementEvents) {
			continue
		}
		switch es.ReadWriteType {
		case cttypes.ReadWriteTypeReadOnly:
			read = true
		case cttypes.ReadWriteTypeWriteOnly:
			write = true
		default:
			read, write = true, true
		}
	}
	for _, as := range sel.AdvancedEventSelectors {
		mgmt, r, w := false, true, true
		for _, fs := range as.FieldSelectors {
			switch aws.ToString(fs.Field) {
			case "eventCategory":
				mgmt = contains(fs.Equals, "Management")
			case "readOnly":
				if contains(fs.Equals, "true") {
					w = false
				}
				if contains(fs.Equals, "false") {
					r = false
				}
			}
		}
		if mgmt {
			read, write = read || r, write || w
		}
	}
	switch {
	case read && write:
		return "All", true
	case read:
		return "ReadOnly", true
	case write:
		return "WriteOnly", true
	}
	return "None", true
}

func trailARN(st *trailState) string { return aws.ToString(st.trail.TrailARN) }

func multiRegion(st *trailState) evidence.Finding {
	arn := trailARN(st)
	if st.statusErr != nil || st.selErr != nil {
		return finding(checkTrailMultiRegion, arn, evidence.Error, "The trail's status or event selectors could not be read.", nil)
	}
	rw, _ := managementEvents(st.selectors)
	obs := map[string]any{"multi_region": aws.ToBool(st.trail.IsMultiRegionTrail), "is_logging": aws.ToBool(st.status.IsLogging), "management_events": rw}
	var why []string
	if !aws.ToBool(st.trail.IsMultiRegionTrail) {
		why = append(why, "is single-region")
	}
	if !aws.ToBool(st.status.IsLogging) {
		why = append(why, "is not logging")
	}
	if rw != "All" {
		why = append(why, "does not log both read and write management events")
	}
	if len(why) > 0 {
		return finding(checkTrailMultiRegion, arn, evidence.Fail, "The trail "+strings.Join(why, ", ")+".", obs)
	}
	return finding(checkTrailMultiRegion, arn, evidence.Pass, "The trail is multi-region and logging read and write management events.", obs)
}

func logValidation(st *trailState) evidence.Finding {
	on := aws.ToBool(st.trail.LogFileValidationEnabled)
	obs := map[string]any{"log_file_validation": on}
	if on {
		return finding(checkTrailValidation, trailARN(st), evidence.Pass, "Log file validation is enabled.", obs)
	}
	return finding(checkTrailValidation, trailARN(st), evidence.Fail, "Log file validation is disabled.", obs)
}

func trailKMS(st *trailState) evidence.Finding {
	key := aws.ToString(st.trail.KmsKeyId)
	obs := map[string]any{"kms_key_id": key}
	if key != "" {
		return finding(checkTrailKMS, trailARN(st), evidence.Pass, "Trail logs are encrypted with a KMS key.", obs)
	}
	return finding(checkTrailKMS, trailARN(st), evidence.Fail, "Trail logs are not encrypted with a KMS key (SSE-S3 only).", obs)
}

func delivery(st *trailState, now time.Time, maxHours int) evidence.Finding {
	arn := trailARN(st)
	if st.statusErr != nil {
		return finding(checkTrailDelivery, arn, evidence.Error, "The trail's status could not be read.", map[string]any{"error": st.statusErr.Error()})
	}
	s := st.status
	last := aws.ToTime(s.LatestDeliveryTime)
	obs := map[string]any{
		"is_logging":            aws.ToBool(s.IsLogging),
		"latest_delivery_time":  ts(last),
		"latest_delivery_error": aws.ToString(s.LatestDeliveryError),
		"max_hours":             maxHours,
	}
	switch {
	case !aws.ToBool(s.IsLogging):
		return finding(checkTrailDelivery, arn, evidence.Fail, "The trail is not logging.", obs)
	case aws.ToString(s.LatestDeliveryError) != "":
		return finding(checkTrailDelivery, arn, evidence.Fail, "The latest delivery to S3 failed: "+aws.ToString(s.LatestDeliveryError)+".", obs)
	case last.IsZero():
		return finding(checkTrailDelivery, arn, evidence.Fail, "The trail has never delivered logs.", obs)
	case now.Sub(last) > time.Duration(maxHours)*time.Hour:
		return finding(checkTrailDelivery, arn, evidence.Fail, fmt.Sprintf("The last delivery was more than %d hours ago.", maxHours), obs)
	}
	return finding(checkTrailDelivery, arn, evidence.Pass, fmt.Sprintf("Logs were delivered within the last %d hours without error.", maxHours), obs)
}

func cloudWatch(st *trailState) evidence.Finding {
	arn := trailARN(st)
	group := aws.ToString(st.trail.CloudWatchLogsLogGroupArn)
	obs := map[string]any{"log_group_arn": group}
	if group == "" {
		return finding(checkTrailCloudWatch, arn, evidence.Fail, "The trail does not deliver to CloudWatch Logs.", obs)
	}
	if st.status != nil {
		if e := aws.ToString(st.status.LatestCloudWatchLogsDeliveryError); e != "" {
			obs["latest_cloudwatch_logs_delivery_error"] = e
			return finding(checkTrailCloudWatch, arn, evidence.Fail, "The latest delivery to CloudWatch Logs failed: "+e+".", obs)
		}
		obs["latest_cloudwatch_logs_delivery_time"] = ts(aws.ToTime(st.status.LatestCloudWatchLogsDeliveryTime))
	}
	return finding(checkTrailCloudWatch, arn, evidence.Pass, "The trail delivers to CloudWatch Logs.", obs)
}

func (c *trailCollector) client(cfg aws.Config, region string) trailAPI {
	return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

// arnAccount returns the account field of an ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
