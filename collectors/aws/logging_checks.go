package awscollector

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// cisEvent is one of the CIS AWS Foundations Benchmark's monitoring
// recommendations (section 4 in v1.4 to v3.0): a metric filter on the
// CloudTrail log group for a kind of event, and an alarm on its metric.
type cisEvent struct {
	id, name, recommendation string
	// pattern is the benchmark's filter pattern, recorded as the reference.
	pattern string
	// terms are the comparisons a filter pattern must contain, compared
	// after normalisation (see normalizePattern), for the filter to match
	// the event: every term the benchmark's pattern uses to select the
	// event. Conditions the benchmark adds only to narrow it (excluding
	// HeadBucket or log delivery, IAMUser, Success) are not required, and
	// a pattern may add conditions of its own; the terms are not checked
	// to be joined by || or && as the benchmark joins them.
	terms []string
}

var cisEvents = []cisEvent{
	{id: "unauthorized_api_calls", name: "unauthorized API calls", recommendation: "CIS AWS Foundations Benchmark 4.1",
		pattern: `{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }`,
		terms:   []string{"$.errorCode=*UnauthorizedOperation", "$.errorCode=AccessDenied*"}},
	{id: "console_signin_without_mfa", name: "console sign-in without MFA", recommendation: "CIS AWS Foundations Benchmark 4.2",
		pattern: `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }`,
		terms:   []string{"$.eventName=ConsoleLogin", "$.additionalEventData.MFAUsed!=Yes"}},
	{id: "root_usage", name: "root account use", recommendation: "CIS AWS Foundations Benchmark 4.3",
		pattern: `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`,
		terms:   []string{"$.userIdentity.type=Root", "$.userIdentity.invokedByNOTEXISTS", "$.eventType!=AwsServiceEvent"}},
	{id: "iam_policy_changes", name: "IAM policy changes", recommendation: "CIS AWS Foundations Benchmark 4.4",
		pattern: `{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}`,
		terms: eventNames("DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy",
			"CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy",
			"AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy")},
	{id: "cloudtrail_changes", name: "CloudTrail configuration changes", recommendation: "CIS AWS Foundations Benchmark 4.5",
		pattern: `{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }`,
		terms:   eventNames("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")},
}

func eventNames(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "$.eventName=" + n
	}
	return out
}

// normalizePattern drops the whitespace and double quotes a filter
// pattern may carry around its terms, which do not change what it
// selects: `$.eventName = "ConsoleLogin"` becomes `$.eventName=ConsoleLogin`.
func normalizePattern(p string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '"':
			return -1
		}
		return r
	}, p)
}

// hasTerm says whether a normalised pattern holds term whole: not as the
// start of a longer name or value (ConsoleLoginFoo, Root*).
func hasTerm(norm, term string) bool {
	for i := 0; ; {
		j := strings.Index(norm[i:], term)
		if j < 0 {
			return false
		}
		end := i + j + len(term)
		if end == len(norm) || !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.*-", rune(norm[end])) {
			return true
		}
		i += j + 1
	}
}

// matches says whether a filter pattern selects the event, by the rule
// cisEvent.terms documents.
func (e cisEvent) matches(pattern string) bool {
	norm := normalizePattern(pattern)
	for _, t := range e.terms {
		if !hasTerm(norm, t) {
			return false
		}
	}
	return true
}

// candidate is a metric filter on a trail's log group matching a CIS event.
type candidate struct {
	event  cisEvent
	filter cwltypes.MetricFilter
}

// candidates are the region's filters on its trail log groups that match
// a CIS event.
func (r *logRegion) candidates() []candidate {
	var out []candidate
	for _, f := range r.filters {
		if _, ok := r.trailGroups[aws.ToString(f.LogGroupName)]; !ok {
			continue
		}
		for _, e := range cisEvents {
			if e.matches(aws.ToString(f.FilterPattern)) {
				out = append(out, candidate{e, f})
			}
		}
	}
	return out
}

// alarmsOn splits the region's alarms on one of a filter's metrics into
// those that act when they fire and those that do not.
func (r *logRegion) alarmsOn(f cwltypes.MetricFilter) (acting, silent []string) {
	for _, a := range r.alarms {
		for _, m := range f.MetricTransformations {
			if aws.ToString(a.MetricName) != aws.ToString(m.MetricName) || aws.ToString(a.Namespace) != aws.ToString(m.MetricNamespace) {
				continue
			}
			if aws.ToBool(a.ActionsEnabled) && len(a.AlarmActions) > 0 {
				acting = append(acting, aws.ToString(a.AlarmName))
			} else {
				silent = append(silent, aws.ToString(a.AlarmName))
			}
		}
	}
	return acting, silent
}

func filterMetrics(f cwltypes.MetricFilter) []string {
	var out []string
	for _, m := range f.MetricTransformations {
		out = append(out, aws.ToString(m.MetricNamespace)+"/"+aws.ToString(m.MetricName))
	}
	return out
}

// metricFilterAlarms judges each CIS event for the account as a whole: a
// filter for it on any trail log group, in any region, with an alarm that
// acts, passes; failing that, a region whose trails, filters or alarms
// could not be read, or one never read at all (unlisted), leaves the
// verdict unknown.
// metricFilterAlarms judges each CIS event for the account as a whole, on
// a name of its own, since an event's alarm has no ARN:
// arn:PARTITION:cloudwatch::ACCOUNT:cis-alarm/EVENT.
func metricFilterAlarms(part, acct string, regions []*logRegion, unlisted []string) []evidence.Finding {
	var trailGroups, elsewhere, unread []string
	var unreadErrs []string
	sort.Strings(unlisted)
	for _, r := range unlisted {
		unread = append(unread, "region "+r)
		unreadErrs = append(unreadErrs, "region "+r+": not read")
	}
	for _, r := range regions {
		for g, t := range r.trailGroups {
			trailGroups = append(trailGroups, fmt.Sprintf("%s:%s (trail %s)", r.region, g, t))
		}
		elsewhere = append(elsewhere, r.elsewhere...)
		for _, e := range []struct {
			op  string
			err error
		}{{"cloudtrail:DescribeTrails", r.trailsErr}, {"logs:DescribeMetricFilters", r.filtersErr}, {"cloudwatch:DescribeAlarms", r.alarmsErr}} {
			if e.err != nil {
				unread = append(unread, e.op+" in "+r.region)
				unreadErrs = append(unreadErrs, e.err.Error())
			}
		}
	}
	sort.Strings(trailGroups)
	sort.Strings(elsewhere)
	var out []evidence.Finding
	for _, ev := range cisEvents {
		res := fmt.Sprintf("arn:%s:cloudwatch::%s:cis-alarm/%s", part, acct, ev.id)
		obs := map[string]any{"cis_event": ev.id, "cis_recommendation": ev.recommendation, "cis_pattern": ev.pattern, "trail_log_groups": trailGroups}
		if len(elsewhere) > 0 {
			obs["trail_log_groups_elsewhere"] = elsewhere
		}
		var filters []map[string]any
		var pass, noAlarm []string
		for _, r := range regions {
			for _, cand := range r.candidates() {
				if cand.event.id != ev.id {
					continue
				}
				f := cand.filter
				m := map[string]any{"region": r.region, "log_group": aws.ToString(f.LogGroupName), "filter_name": aws.ToString(f.FilterName),
					"filter_pattern": aws.ToString(f.FilterPattern), "metrics": filterMetrics(f)}
				desc := fmt.Sprintf("%s on log group %s (%s)", aws.ToString(f.FilterName), aws.ToString(f.LogGroupName), r.region)
				if r.alarmsRead {
					acting, silent := r.alarmsOn(f)
					m["alarms"], m["alarms_without_actions"] = nonNil(acting), nonNil(silent)
					if len(acting) > 0 {
						pass = append(pass, fmt.Sprintf("%s, alarm %s", desc, strings.Join(acting, ", ")))
					} else {
						noAlarm = append(noAlarm, fmt.Sprintf("%s (metric %s)", desc, strings.Join(filterMetrics(f), ", ")))
					}
				}
				filters = append(filters, m)
			}
		}
		if len(filters) > 0 {
			obs["filters"] = filters
		}
		switch {
		case len(pass) > 0:
			out = append(out, finding(checkLogMetricAlarms, res, evidence.Pass,
				fmt.Sprintf("A metric filter with an alarm that acts watches for %s: %s.", ev.name, strings.Join(pass, "; ")), obs))
		case len(unread) > 0:
			obs["unread"], obs["errors"] = unread, unreadErrs
			out = append(out, finding(checkLogMetricAlarms, res, evidence.Error,
				fmt.Sprintf("No metric filter with an alarm for %s was found, and these reads failed, so one may exist: %s.", ev.name, strings.Join(unread, ", ")), obs))
		case len(trailGroups) == 0:
			out = append(out, finding(checkLogMetricAlarms, res, evidence.Fail,
				fmt.Sprintf("No trail delivers to a CloudWatch Logs group of the account, so no metric filter watches for %s.", ev.name), obs))
		case len(noAlarm) > 0:
			out = append(out, finding(checkLogMetricAlarms, res, evidence.Fail,
				fmt.Sprintf("Metric filter %s matches %s, but no alarm with an action watches its metric.", strings.Join(noAlarm, "; "), ev.name), obs))
		default:
			out = append(out, finding(checkLogMetricAlarms, res, evidence.Fail,
				fmt.Sprintf("No metric filter on the trail log groups (%s) matches the CIS pattern for %s.", strings.Join(trailGroups, ", "), ev.name), obs))
		}
	}
	return out
}

// logGroupRecord inventories a log group: retention, encryption, size.
func logGroupRecord(g *groupState) evidence.Record {
	lg := g.group
	attrs := map[string]any{
		"log_group":           aws.ToString(lg.LogGroupName),
		"kms_key_id":          aws.ToString(lg.KmsKeyId),
		"stored_bytes":        aws.ToInt64(lg.StoredBytes),
		"metric_filter_count": aws.ToInt32(lg.MetricFilterCount),
		"log_group_class":     string(lg.LogGroupClass),
	}
	if lg.RetentionInDays != nil {
		attrs["retention_days"] = aws.ToInt32(lg.RetentionInDays)
	} else {
		attrs["never_expire"] = true
	}
	if lg.CreationTime != nil {
		attrs["created"] = ts(time.UnixMilli(aws.ToInt64(lg.CreationTime)).UTC())
	}
	return evidence.Record{Type: "aws.logs.log_group", ID: g.arn, Region: g.region, Attributes: attrs}
}

// logGroupRetention judges how long a group keeps its events; the KMS key
// is recorded beside the verdict, not judged.
func logGroupRetention(g *groupState, threshold int) evidence.Finding {
	lg := g.group
	name := aws.ToString(lg.LogGroupName)
	obs := map[string]any{"log_group": name, "threshold_days": threshold, "kms_key_id": aws.ToString(lg.KmsKeyId)}
	if lg.RetentionInDays == nil || aws.ToInt32(lg.RetentionInDays) == 0 {
		obs["never_expire"] = true
		return finding(checkLogRetention, g.arn, evidence.Pass, fmt.Sprintf("Log group %s never expires its events.", name), obs)
	}
	days := int(aws.ToInt32(lg.RetentionInDays))
	obs["retention_days"] = days
	if days >= threshold {
		return finding(checkLogRetention, g.arn, evidence.Pass, fmt.Sprintf("Log group %s keeps its events %d days, at least the %d required.", name, days, threshold), obs)
	}
	return finding(checkLogRetention, g.arn, evidence.Fail, fmt.Sprintf("Log group %s keeps its events %d days, fewer than the %d required.", name, days, threshold), obs)
}

// metricFilterRecord inventories a metric filter. Metric filters have no
// ARN: the id is the log group's ARN with the filter's name after it.
func metricFilterRecord(part, acct, region string, f cwltypes.MetricFilter, trailGroups map[string]string) evidence.Record {
	group := aws.ToString(f.LogGroupName)
	attrs := map[string]any{"filter_name": aws.ToString(f.FilterName), "log_group": group, "filter_pattern": aws.ToString(f.FilterPattern), "metrics": nonNil(filterMetrics(f))}
	if t, ok := trailGroups[group]; ok {
		attrs["trail"] = t
		var events []string
		for _, e := range cisEvents {
			if e.matches(aws.ToString(f.FilterPattern)) {
				events = append(events, e.id)
			}
		}
		attrs["cis_events"] = nonNil(events)
	}
	id := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:metric-filter:%s", part, region, acct, group, aws.ToString(f.FilterName))
	return evidence.Record{Type: "aws.logs.metric_filter", ID: id, Region: region, Attributes: attrs}
}

// alarmRecord inventories a metric alarm on a CIS filter's region.
func alarmRecord(region string, a cwtypes.MetricAlarm) evidence.Record {
	return evidence.Record{Type: "aws.cloudwatch.alarm", ID: aws.ToString(a.AlarmArn), Region: region, Attributes: map[string]any{
		"alarm_name": aws.ToString(a.AlarmName), "namespace": aws.ToString(a.Namespace), "metric_name": aws.ToString(a.MetricName),
		"actions_enabled": aws.ToBool(a.ActionsEnabled), "alarm_actions": nonNil(a.AlarmActions), "state": string(a.StateValue),
	}}
}

// vpcFlowLogs are the flow logs whose resource is the VPC itself; a
// subnet's or interface's flow log covers only part of it.
func vpcFlowLogs(v ec2types.Vpc, all []ec2types.FlowLog) []ec2types.FlowLog {
	var out []ec2types.FlowLog
	for _, f := range all {
		if aws.ToString(f.ResourceId) == aws.ToString(v.VpcId) {
			out = append(out, f)
		}
	}
	return out
}

func flowLogAttrs(logs []ec2types.FlowLog) []map[string]any {
	out := []map[string]any{}
	for _, f := range logs {
		m := map[string]any{"flow_log_id": aws.ToString(f.FlowLogId), "status": aws.ToString(f.FlowLogStatus), "traffic_type": string(f.TrafficType),
			"destination_type": string(f.LogDestinationType), "destination": aws.ToString(f.LogDestination), "deliver_logs_status": aws.ToString(f.DeliverLogsStatus)}
		if e := aws.ToString(f.DeliverLogsErrorMessage); e != "" {
			m["deliver_logs_error"] = e
		}
		out = append(out, m)
	}
	return out
}

func vpcRecord(arn, region string, v ec2types.Vpc, logs []ec2types.FlowLog, flowErr error) evidence.Record {
	attrs := map[string]any{"vpc_id": aws.ToString(v.VpcId), "cidr_block": aws.ToString(v.CidrBlock), "is_default": aws.ToBool(v.IsDefault), "state": string(v.State)}
	if n := ec2Tags(v.Tags)["Name"]; n != "" {
		attrs["name"] = n
	}
	if flowErr != nil {
		attrs["flow_logs_unread"] = true
	} else {
		attrs["flow_logs"] = flowLogAttrs(logs)
	}
	return evidence.Record{Type: "aws.ec2.vpc", ID: arn, Region: region, Attributes: attrs}
}

// vpcFlowLogged passes a VPC with an active flow log of its own; whether
// the log delivers is recorded beside the verdict.
func vpcFlowLogged(arn string, v ec2types.Vpc, logs []ec2types.FlowLog, flowErr error) evidence.Finding {
	id := aws.ToString(v.VpcId)
	obs := map[string]any{"vpc_id": id, "is_default": aws.ToBool(v.IsDefault)}
	if flowErr != nil {
		obs["error"] = flowErr.Error()
		return finding(checkVPCFlowLogs, arn, evidence.Error, fmt.Sprintf("The region's flow logs could not be read, so whether VPC %s has flow logs is unknown.", id), obs)
	}
	obs["flow_logs"] = flowLogAttrs(logs)
	var active []string
	for _, f := range logs {
		if aws.ToString(f.FlowLogStatus) == "ACTIVE" {
			active = append(active, fmt.Sprintf("%s (%s traffic to %s)", aws.ToString(f.FlowLogId), f.TrafficType, f.LogDestinationType))
		}
	}
	switch {
	case len(active) > 0:
		return finding(checkVPCFlowLogs, arn, evidence.Pass, fmt.Sprintf("VPC %s has an active flow log: %s.", id, strings.Join(active, ", ")), obs)
	case len(logs) > 0:
		return finding(checkVPCFlowLogs, arn, evidence.Fail, fmt.Sprintf("VPC %s has flow logs, none of them active.", id), obs)
	}
	return finding(checkVPCFlowLogs, arn, evidence.Fail, fmt.Sprintf("VPC %s has no flow log.", id), obs)
}
