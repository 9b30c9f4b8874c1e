package awscollector

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

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
	if st.statusErr != nil {
		// Delivery failures to the group show only in the trail's status.
		obs["error"] = st.statusErr.Error()
		return finding(checkTrailCloudWatch, arn, evidence.Error, "The trail names a log group, but its status, which shows CloudWatch Logs delivery errors, could not be read.", obs)
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
