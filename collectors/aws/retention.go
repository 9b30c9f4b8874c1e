package awscollector

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// retentionBucketAPI lists the S3 calls the retention check makes.
type retentionBucketAPI interface {
	GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	GetBucketLifecycleConfiguration(ctx context.Context, in *s3.GetBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
	GetObjectLockConfiguration(ctx context.Context, in *s3.GetObjectLockConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error)
}

// logGroupAPI lists the CloudWatch Logs call the retention check makes.
type logGroupAPI interface {
	cloudwatchlogs.DescribeLogGroupsAPIClient
}

var (
	_ retentionBucketAPI = (*s3.Client)(nil)
	_ logGroupAPI        = (*cloudwatchlogs.Client)(nil)
)

type opErr struct {
	op  string
	err error
}

// retentionInput is what decides how long a trail's logs are kept.
type retentionInput struct {
	bucket, bucketRegion, keyPrefix string
	rules                           []s3types.LifecycleRule
	rulesErr                        error
	lockDays                        int // Object Lock default retention; 0 for none
	lockMode                        string
	lockErr                         error
	locationErr                     error  // the bucket's region, so neither of the above, could be read
	logGroup                        string // name; "" when the trail has none
	logGroupRetention               *int32 // nil: never expires
	logGroupErr                     error
	errs                            []opErr
}

// readRetention reads where a trail's logs' retention lives: the bucket's
// lifecycle rules and Object Lock default, and the log group's setting.
func (c *trailCollector) readRetention(ctx context.Context, cfg aws.Config, tr cttypes.Trail, region string, buckets *bucketReads) retentionInput {
	in := retentionInput{bucket: aws.ToString(tr.S3BucketName)}
	if in.bucket != "" {
		in = buckets.read(in.bucket, func(in *retentionInput) { readBucketRetention(ctx, buckets.clients, cfg.Region, in) })
	}
	in.keyPrefix = "AWSLogs/"
	if p := strings.Trim(aws.ToString(tr.S3KeyPrefix), "/"); p != "" {
		in.keyPrefix = p + "/AWSLogs/"
	}
	if arn := aws.ToString(tr.CloudWatchLogsLogGroupArn); arn != "" {
		c.readLogGroup(ctx, cfg, arn, region, &in)
	}
	return in
}

// bucketReads reads each trail bucket's retention once per run: trails
// that share a bucket (an organization trail and the account's own, say)
// share its answers, errors included. Its S3 clients, one per region, are
// built once for the account's run, as aws.s3 builds them.
type bucketReads struct {
	clients *regionClients

	mu      sync.Mutex
	buckets map[string]*bucketRead
}

type bucketRead struct {
	once sync.Once
	in   retentionInput
}

// read returns the bucket's part of a retention input, reading it with
// fill the first time it is asked for.
func (r *bucketReads) read(bucket string, fill func(*retentionInput)) retentionInput {
	r.mu.Lock()
	if r.buckets == nil {
		r.buckets = map[string]*bucketRead{}
	}
	b, ok := r.buckets[bucket]
	if !ok {
		b = &bucketRead{in: retentionInput{bucket: bucket}}
		r.buckets[bucket] = b
	}
	r.mu.Unlock()
	b.once.Do(func() { fill(&b.in) })
	in := b.in
	in.rules = slices.Clone(b.in.rules)
	in.errs = slices.Clone(b.in.errs)
	return in
}

// readBucketRetention asks region (the run's own) where the bucket is,
// then the bucket's region for its lifecycle and Object Lock default.
func readBucketRetention(ctx context.Context, clients *regionClients, region string, in *retentionInput) {
	loc, err := clients.get(region).GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(in.bucket)})
	if err != nil {
		err = fmt.Errorf("get bucket location %s: %w", in.bucket, err)
		in.locationErr, in.rulesErr, in.lockErr = err, err, err
		in.errs = append(in.errs, opErr{"s3:GetBucketLocation", err})
		return
	}
	in.bucketRegion = bucketRegion(string(loc.LocationConstraint))
	api := retentionBucketAPI(clients.get(in.bucketRegion))
	lc, err := api.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(in.bucket)})
	switch {
	case err == nil:
		in.rules = lc.Rules
	case apiErrorCode(err) == "NoSuchLifecycleConfiguration":
	default:
		in.rulesErr = fmt.Errorf("get bucket lifecycle %s: %w", in.bucket, err)
		in.errs = append(in.errs, opErr{"s3:GetLifecycleConfiguration", in.rulesErr})
	}
	ol, err := api.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(in.bucket)})
	switch {
	case err == nil:
		if cfg := ol.ObjectLockConfiguration; cfg != nil && cfg.ObjectLockEnabled == s3types.ObjectLockEnabledEnabled && cfg.Rule != nil && cfg.Rule.DefaultRetention != nil {
			d := cfg.Rule.DefaultRetention
			in.lockDays = int(aws.ToInt32(d.Days)) + 365*int(aws.ToInt32(d.Years))
			in.lockMode = string(d.Mode)
		}
	case apiErrorCode(err) == "ObjectLockConfigurationNotFoundError":
	default:
		in.lockErr = fmt.Errorf("get object lock configuration %s: %w", in.bucket, err)
		in.errs = append(in.errs, opErr{"s3:GetBucketObjectLockConfiguration", in.lockErr})
	}
}

// bucketRegion maps a LocationConstraint to a region name.
func bucketRegion(loc string) string {
	switch loc {
	case "":
		return "us-east-1"
	case "EU":
		return "eu-west-1"
	}
	return loc
}

func (c *trailCollector) readLogGroup(ctx context.Context, cfg aws.Config, arn, region string, in *retentionInput) {
	// arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || parts[5] != "log-group" {
		in.logGroupErr = fmt.Errorf("unexpected log group ARN %q", arn)
		return
	}
	in.logGroup = parts[6]
	if parts[3] != "" {
		region = parts[3]
	}
	var api logGroupAPI = cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(api, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(in.logGroup)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			in.logGroupErr = fmt.Errorf("describe log groups %s: %w", in.logGroup, err)
			in.errs = append(in.errs, opErr{"logs:DescribeLogGroups", in.logGroupErr})
			return
		}
		for _, g := range page.LogGroups {
			if aws.ToString(g.LogGroupName) == in.logGroup {
				in.logGroupRetention = g.RetentionInDays
				return
			}
		}
	}
	in.logGroupErr = fmt.Errorf("log group %s not found in %s", in.logGroup, region)
}

// ruleApplies reports whether a lifecycle rule can act on objects under
// prefix. CloudTrail writes untagged objects, so tag-filtered rules do not.
func ruleApplies(r s3types.LifecycleRule, prefix string) bool {
	if r.Status != s3types.ExpirationStatusEnabled {
		return false
	}
	rp := aws.ToString(r.Prefix) //nolint:staticcheck // rules written before Filter existed
	if f := r.Filter; f != nil {
		switch {
		case f.Tag != nil:
			return false
		case f.And != nil:
			if len(f.And.Tags) > 0 {
				return false
			}
			rp = aws.ToString(f.And.Prefix)
		case f.Prefix != nil:
			rp = aws.ToString(f.Prefix)
		}
	}
	return strings.HasPrefix(prefix, rp) || strings.HasPrefix(rp, prefix)
}

// judgeRetention decides whether the trail's logs are kept long enough.
func judgeRetention(st *trailState, minDays int) evidence.Finding {
	in := st.retention
	arn := trailARN(st)
	obs := map[string]any{"min_days": minDays, "bucket": in.bucket, "key_prefix": in.keyPrefix}
	var fails, unknown []string

	// S3: the lifecycle must not expire logs sooner, unless Object Lock
	// holds every version at least that long.
	if in.bucket == "" {
		unknown = append(unknown, "the trail names no bucket")
	} else {
		obs["object_lock_days"] = in.lockDays
		if in.lockMode != "" {
			obs["object_lock_mode"] = in.lockMode
		}
		locked := in.lockErr == nil && in.lockDays >= minDays
		var early []map[string]any
		for _, r := range in.rules {
			if !ruleApplies(r, in.keyPrefix) {
				continue
			}
			e := map[string]any{"id": aws.ToString(r.ID)}
			short := false
			if x := r.Expiration; x != nil {
				if d := aws.ToInt32(x.Days); d > 0 {
					e["expiration_days"] = d
					short = short || int(d) < minDays
				}
				if x.Date != nil {
					e["expiration_date"] = ts(*x.Date)
					short = true
				}
			}
			if n := r.NoncurrentVersionExpiration; n != nil && aws.ToInt32(n.NoncurrentDays) > 0 {
				e["noncurrent_days"] = aws.ToInt32(n.NoncurrentDays)
				short = short || int(aws.ToInt32(n.NoncurrentDays)) < minDays
			}
			if short {
				early = append(early, e)
			}
		}
		obs["expiring_rules"] = early
		// Object Lock that keeps logs long enough settles it, whatever the
		// lifecycle says; without it, an early expiration fails. A setting
		// that could not be read settles nothing.
		switch {
		case locked:
		case in.locationErr != nil:
			unknown = append(unknown, fmt.Sprintf("bucket %s's region could not be read, so neither its lifecycle nor its Object Lock configuration was", in.bucket))
		case in.rulesErr != nil && in.lockErr != nil:
			unknown = append(unknown, fmt.Sprintf("neither bucket %s's lifecycle nor its Object Lock configuration could be read", in.bucket))
		case in.rulesErr != nil:
			unknown = append(unknown, fmt.Sprintf("bucket %s's lifecycle could not be read", in.bucket))
		case len(early) > 0 && in.lockErr != nil:
			unknown = append(unknown, fmt.Sprintf("bucket %s's lifecycle expires trail logs in fewer than %d days and its Object Lock configuration, which may keep them, could not be read", in.bucket, minDays))
		case len(early) > 0:
			fails = append(fails, fmt.Sprintf("bucket %s's lifecycle expires trail logs in fewer than %d days", in.bucket, minDays))
		}
	}

	// CloudWatch Logs: the group, if any, must keep events long enough.
	if in.logGroup != "" || in.logGroupErr != nil {
		obs["log_group"] = in.logGroup
		switch {
		case in.logGroupErr != nil:
			unknown = append(unknown, fmt.Sprintf("log group %s's retention could not be read", in.logGroup))
		case in.logGroupRetention == nil:
			obs["log_group_retention_days"] = "never expire"
		default:
			d := int(aws.ToInt32(in.logGroupRetention))
			obs["log_group_retention_days"] = d
			if d < minDays {
				fails = append(fails, fmt.Sprintf("log group %s keeps events %d days", in.logGroup, d))
			}
		}
	}
	switch {
	case len(fails) > 0:
		return finding(checkTrailRetention, arn, evidence.Fail, "Trail logs are not kept "+fmt.Sprint(minDays)+" days: "+strings.Join(fails, "; ")+".", obs)
	case len(unknown) > 0:
		obs["undetermined"] = unknown
		return finding(checkTrailRetention, arn, evidence.Error, "Retention could not be determined: "+strings.Join(unknown, "; ")+".", obs)
	}
	return finding(checkTrailRetention, arn, evidence.Pass, fmt.Sprintf("Trail logs are kept at least %d days in S3 and CloudWatch Logs.", minDays), obs)
}
