package awscollector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func loggingNew(s collector.Settings, t tuning) (collector.Collector, error) { return newLogging(s, t) }

const (
	phiAPIGroup  = "arn:aws:logs:us-east-1:111122223333:log-group:/app/phi-api"
	trailGroup   = "arn:aws:logs:us-east-1:111122223333:log-group:aws-cloudtrail-logs-org-audit"
	lambdaGroup  = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/report-builder"
	appVPC       = "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0a1b2c3d4e5f60001"
	legacyVPC    = "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0b2c3d4e5f6a70002"
	stagingVPC   = "arn:aws:ec2:eu-west-1:444455556666:vpc/vpc-0d4e5f6a7b8c90004"
	stagingGroup = "arn:aws:logs:us-east-1:444455556666:log-group:staging-trail"
)

func TestLoggingDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.logging", loggingNew, nil)
	golden(t, "logging_demo", out.results)
}

// cisFinding is the metric filter check's finding for one CIS event.
func cisFinding(t *testing.T, r scopeResult, event string) evidence.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Check == checkLogMetricAlarms && f.Observed["cis_event"] == event {
			return f
		}
	}
	require.FailNow(t, "no metric filter finding for "+event)
	return evidence.Finding{}
}

// TestLoggingDemoVerdicts: the plants fail with what an auditor needs in
// the reason, their counterparts pass.
func TestLoggingDemoVerdicts(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.logging", loggingNew, nil)
	p, s := out.results[0], out.results[1]

	phi := findingOf(t, p, checkLogRetention, phiAPIGroup)
	require.Equal(t, evidence.Fail, phi.Status)
	require.Contains(t, phi.Reason, "Holds ePHI")
	require.Contains(t, phi.Reason, "/app/phi-api keeps its events 30 days, fewer than the 2190 required")
	require.Equal(t, true, phi.Observed["phi"])
	require.Equal(t, "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", phi.Observed["kms_key_id"], "the KMS key is recorded")
	require.Equal(t, evidence.Pass, findingOf(t, p, checkLogRetention, trailGroup).Status)
	never := findingOf(t, p, checkLogRetention, lambdaGroup)
	require.Equal(t, evidence.Pass, never.Status)
	require.Equal(t, true, never.Observed["never_expire"])
	require.Equal(t, evidence.Fail, findingOf(t, s, checkLogRetention, stagingGroup).Status)

	root := cisFinding(t, p, "root_usage")
	require.Equal(t, evidence.Fail, root.Status)
	require.Equal(t, "arn:aws:cloudwatch::111122223333:cis-alarm/root_usage", root.Resource)
	require.Contains(t, root.Reason, "root account use")
	for _, ev := range []string{"unauthorized_api_calls", "console_signin_without_mfa", "iam_policy_changes", "cloudtrail_changes"} {
		f := cisFinding(t, p, ev)
		require.Equal(t, evidence.Pass, f.Status, ev)
		filters := f.Observed["filters"].([]map[string]any)
		require.Len(t, filters, 1)
		require.NotEmpty(t, filters[0]["filter_pattern"], "the pattern is recorded")
		require.NotEmpty(t, filters[0]["alarms"])
	}
	for _, ev := range cisEvents {
		require.Equal(t, evidence.Pass, cisFinding(t, s, ev.id).Status, "staging has all five")
	}

	require.Equal(t, evidence.Pass, findingOf(t, p, checkVPCFlowLogs, appVPC).Status)
	legacy := findingOf(t, p, checkVPCFlowLogs, legacyVPC)
	require.Equal(t, evidence.Fail, legacy.Status)
	require.Contains(t, legacy.Reason, "vpc-0b2c3d4e5f6a70002 has no flow log")
	require.Equal(t, evidence.Pass, findingOf(t, s, checkVPCFlowLogs, stagingVPC).Status)
}

// TestLoggingPagination reads every list one item a page — log groups,
// metric filters, alarms (CBOR NextToken), VPCs and flow logs — and the
// evidence is the same.
func TestLoggingPagination(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.PageSize = 1
	out := runCollector(t, sim, "aws.logging", loggingNew, nil)
	golden(t, "logging_demo", out.results)
	// us-east-1: 3 groups, eu-west-1: 1.
	require.Equal(t, 4, sim.Count(prod, "logs", "DescribeLogGroups"))
	// Filters and alarms are read only in us-east-1, where the trail's
	// log group is: 4 of each.
	require.Equal(t, 4, sim.Count(prod, "logs", "DescribeMetricFilters"))
	require.Equal(t, 4, sim.Count(prod, "monitoring", "DescribeAlarms"))
	// us-east-1: 2 VPCs; eu-west-1: none, one empty page.
	require.Equal(t, 3, sim.Count(prod, "ec2", "DescribeVpcs"))
	// 2 flow logs in us-east-1; eu-west-1 has no VPC to log.
	require.Equal(t, 2, sim.Count(prod, "ec2", "DescribeFlowLogs"))
}

// TestLoggingCallsPerResource: every listing once a region (a page of
// them), filters and alarms only where a trail delivers, tags once a
// group only with phi_tags set.
func TestLoggingCallsPerResource(t *testing.T) {
	sim := awssim.NewAt(simNow)
	runCollector(t, sim, "aws.logging", loggingNew, nil)
	require.Equal(t, 2, sim.Count(prod, "logs", "DescribeLogGroups"))
	require.Equal(t, 2, sim.Count(prod, "cloudtrail", "DescribeTrails"))
	require.Equal(t, 1, sim.Count(prod, "logs", "DescribeMetricFilters"), "once in us-east-1, not per group")
	require.Equal(t, 1, sim.Count(prod, "monitoring", "DescribeAlarms"))
	require.Equal(t, 2, sim.Count(prod, "ec2", "DescribeVpcs"))
	require.Equal(t, 1, sim.Count(prod, "ec2", "DescribeFlowLogs"))
	require.Equal(t, 4, sim.Count(prod, "logs", "ListTagsForResource"), "one per group")
}

// TestLoggingPHITags: tags are read only with phi_tags; a tagged group's
// finding says it holds ePHI; untagged groups are judged the same way.
func TestLoggingPHITags(t *testing.T) {
	sim := awssim.NewAt(simNow)
	p := runCollector(t, sim, "aws.logging", loggingNew, nil).results[0]
	require.Equal(t, false, findingOf(t, p, checkLogRetention, trailGroup).Observed["phi"])
	sim = awssim.NewAt(simNow)
	p = runCollector(t, sim, "aws.logging", loggingNew, func(src *collector.AWSSource) { src.PHITags = nil }).results[0]
	require.Zero(t, sim.Count(prod, "logs", "ListTagsForResource"))
	f := findingOf(t, p, checkLogRetention, phiAPIGroup)
	require.Equal(t, evidence.Fail, f.Status, "untagged or not, a short retention fails")
	require.NotContains(t, f.Observed, "phi")
	require.NotContains(t, f.Reason, "ePHI")
}

// TestLoggingTagsDenied: tags that cannot be read leave the verdict and
// say the group's ePHI status is unknown.
func TestLoggingTagsDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Fail(prod, "logs", "ListTagsForResource", 403)
	p := runCollector(t, sim, "aws.logging", loggingNew, nil).results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	f := findingOf(t, p, checkLogRetention, phiAPIGroup)
	require.Equal(t, evidence.Fail, f.Status)
	require.Equal(t, "unknown", f.Observed["phi"])
	require.Contains(t, f.Observed["tags_error"], "AccessDeniedException")
}

// TestLoggingThreshold: the retention threshold is configuration.
func TestLoggingThreshold(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	th := collector.DefaultThresholds()
	th.LogRetentionDays = 30
	c, err := newLogging(collector.Settings{ID: "aws.logging", Sources: collector.Sources{AWS: sim.Source(srv.URL)}, Thresholds: th,
		HTTPClient: collector.NewHTTPClient(nil)}, fastTuning())
	require.NoError(t, err)
	res, err := c.Collect(t.Context(), collector.Request{Scope: evidence.Scope{Provider: "aws", Account: prod, Regions: []string{"us-east-1"}}, Now: simNow})
	require.NoError(t, err)
	for _, f := range res.Findings {
		if f.Resource == phiAPIGroup {
			require.Equal(t, evidence.Pass, f.Status, f.Reason)
			require.Equal(t, 30, f.Observed["threshold_days"])
		}
	}
}

// TestLoggingRegionDenied: AccessDenied in one region and a region not
// enabled are run errors with an error finding for the region; the other
// region's groups and VPCs are still judged, and a CIS event passed in
// another region still passes.
func TestLoggingRegionDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "")
	out := runCollector(t, sim, "aws.logging", loggingNew, func(src *collector.AWSSource) {
		src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"}
	})
	require.Len(t, out.results, 2)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	byRegion := map[string][]string{}
	for _, e := range p.Errors {
		region := strings.TrimPrefix(e.Where, "account/111122223333/region/")
		byRegion[region] = append(byRegion[region], e.Operation)
		require.NotContains(t, e.Where, "us-east-1")
	}
	// Not enabled: CloudWatch Logs, CloudTrail and EC2 refuse; no trail
	// there, so neither filters nor alarms are asked for.
	want := []string{"cloudtrail:DescribeTrails", "ec2:DescribeVpcs", "logs:DescribeLogGroups"}
	require.ElementsMatch(t, want, byRegion["ap-east-1"])
	require.ElementsMatch(t, want, byRegion["eu-west-1"])
	for _, e := range p.Errors {
		if strings.Contains(e.Where, "ap-east-1") && e.Operation == "ec2:DescribeVpcs" {
			require.Contains(t, e.Message, "AuthFailure")
		}
		if strings.Contains(e.Where, "ap-east-1") && e.Operation == "logs:DescribeLogGroups" {
			require.Contains(t, e.Message, "UnrecognizedClientException")
		}
		if strings.Contains(e.Where, "eu-west-1") && e.Operation == "logs:DescribeLogGroups" {
			require.Contains(t, e.Message, "AccessDeniedException")
		}
	}
	regionErrors := map[string]int{}
	for _, f := range p.Findings {
		require.NotContains(t, f.Resource, ":eu-west-1:", "nothing in the denied region is judged")
		if f.Resource == prodRoot && f.Check != checkLogMetricAlarms {
			require.Equal(t, evidence.Error, f.Status)
			require.Contains(t, f.Reason, "could not all be listed")
			regionErrors[f.Check]++
		}
	}
	require.Equal(t, map[string]int{checkLogRetention: 2, checkVPCFlowLogs: 2}, regionErrors)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkLogRetention, phiAPIGroup).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkLogRetention, trailGroup).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkVPCFlowLogs, legacyVPC).Status)
	require.Equal(t, evidence.Pass, cisFinding(t, p, "iam_policy_changes").Status, "found in us-east-1, whatever eu-west-1 holds")
	root := cisFinding(t, p, "root_usage")
	require.Equal(t, evidence.Error, root.Status, "a trail in an unread region may have the filter")
	require.Contains(t, root.Reason, "cloudtrail:DescribeTrails in ap-east-1")
	require.Contains(t, root.Reason, "cloudtrail:DescribeTrails in eu-west-1")
	// Staging only misses the region it has not enabled.
	s := out.results[1]
	require.Equal(t, evidence.StatusPartial, s.Status)
	for _, e := range s.Errors {
		require.Contains(t, e.Where, "ap-east-1")
	}
	require.Equal(t, evidence.Pass, findingOf(t, s, checkVPCFlowLogs, stagingVPC).Status)
	require.Equal(t, evidence.Pass, cisFinding(t, s, "root_usage").Status)
}

// TestLoggingAssumeRole: the staging account is read through its role,
// CloudWatch's CBOR calls included.
func TestLoggingAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.logging", loggingNew, nil)
	require.Equal(t, staging, out.results[1].Scope.Account)
	require.Equal(t, evidence.StatusComplete, out.results[1].Status)
	var assumed int
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed++
			require.Equal(t, "exhibit-aws.logging", r.RoleSessionName)
		}
	}
	require.NotZero(t, assumed)
	require.Equal(t, 1, sim.Count(staging, "monitoring", "DescribeAlarms"))
	require.Equal(t, 1, sim.Count(staging, "logs", "DescribeMetricFilters"))
	require.NotZero(t, sim.Count(staging, "ec2", "DescribeFlowLogs"))
}

// TestLoggingThrottlingRetried: throttling from CloudWatch Logs,
// CloudWatch (CBOR, query code Throttling), CloudTrail and EC2 is retried
// and the evidence is unchanged.
func TestLoggingThrottlingRetried(t *testing.T) {
	requireRetried(t, "aws.logging", loggingNew, "logging_demo", []string{"DescribeLogGroups", "DescribeTrails", "DescribeMetricFilters", "DescribeAlarms", "DescribeVpcs", "DescribeFlowLogs", "ListTagsForResource"}...)
}

// TestLoggingMetricFilterCases: each way a CIS event can be missing, and
// each way it can be left undetermined, against the real clients.
func TestLoggingMetricFilterCases(t *testing.T) {
	iamFilter := func(a *awssim.Account) *awssim.MetricFilter {
		for i := range a.MetricFilters {
			if a.MetricFilters[i].Name == "iam-policy-changes" {
				return &a.MetricFilters[i]
			}
		}
		panic("no iam filter")
	}
	iamAlarm := func(a *awssim.Account) *awssim.Alarm {
		for i := range a.Alarms {
			if a.Alarms[i].MetricName == "IAMPolicyChanges" {
				return &a.Alarms[i]
			}
		}
		panic("no iam alarm")
	}
	for _, c := range []struct {
		name   string
		edit   func(*awssim.Sim)
		status evidence.Result
		reason string
	}{
		{"alarm without actions", func(sim *awssim.Sim) { iamAlarm(sim.Accounts[prod]).Actions = nil }, evidence.Fail, "no alarm with an action watches its metric"},
		{"alarm actions disabled", func(sim *awssim.Sim) { iamAlarm(sim.Accounts[prod]).ActionsDisabled = true }, evidence.Fail, "no alarm with an action watches its metric"},
		{"alarm on another metric", func(sim *awssim.Sim) { iamAlarm(sim.Accounts[prod]).Namespace = "Other" }, evidence.Fail, "no alarm with an action watches its metric"},
		{"pattern misses an event", func(sim *awssim.Sim) {
			f := iamFilter(sim.Accounts[prod])
			f.Pattern = strings.Replace(f.Pattern, "||($.eventName=DetachGroupPolicy)", "", 1)
		}, evidence.Fail, "matches the CIS pattern for IAM policy changes"},
		{"filter on a group no trail delivers to", func(sim *awssim.Sim) { iamFilter(sim.Accounts[prod]).LogGroup = "/app/phi-api" }, evidence.Fail, "matches the CIS pattern for IAM policy changes"},
		{"no trail delivers to CloudWatch Logs", func(sim *awssim.Sim) { sim.Accounts[prod].Trails[0].LogGroup = "" }, evidence.Fail, "No trail delivers to a CloudWatch Logs group"},
		{"spacing and quotes differ", func(sim *awssim.Sim) {
			f := iamFilter(sim.Accounts[prod])
			f.Pattern = strings.ReplaceAll(strings.ReplaceAll(f.Pattern, "=", " = \""), ")", "\" )")
		}, evidence.Pass, "watches for IAM policy changes"},
		{"alarms denied", func(sim *awssim.Sim) { sim.Fail(prod, "monitoring", "DescribeAlarms", 403) }, evidence.Error, "cloudwatch:DescribeAlarms in us-east-1"},
		{"filters failing", func(sim *awssim.Sim) { sim.Fail(prod, "logs", "DescribeMetricFilters", 500) }, evidence.Error, "logs:DescribeMetricFilters in us-east-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sim := awssim.NewAt(simNow)
			c.edit(sim)
			p := runCollector(t, sim, "aws.logging", loggingNew, nil).results[0]
			f := cisFinding(t, p, "iam_policy_changes")
			require.Equal(t, c.status, f.Status, f.Reason)
			require.Contains(t, f.Reason, c.reason)
			if c.status == evidence.Fail && strings.Contains(c.reason, "alarm") {
				filters := f.Observed["filters"].([]map[string]any)
				require.NotEmpty(t, filters[0]["filter_pattern"], "the filter pattern is recorded")
			}
		})
	}
}

func TestCISPatternMatching(t *testing.T) {
	byID := map[string]cisEvent{}
	for _, e := range cisEvents {
		byID[e.id] = e
		require.True(t, e.matches(e.pattern), "the benchmark's own pattern for %s", e.id)
	}
	for _, c := range []struct {
		event, pattern string
		want           bool
	}{
		// CIS v1.2's shorter patterns, without the narrowing conditions.
		{"unauthorized_api_calls", `{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }`, true},
		{"console_signin_without_mfa", `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }`, true},
		{"root_usage", `{$.userIdentity.type="Root"&&$.userIdentity.invokedBy NOT EXISTS&&$.eventType!="AwsServiceEvent"}`, true},
		{"root_usage", `{ $.userIdentity.type = "Root" }`, false},
		{"root_usage", `{ $.userIdentity.type != "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`, false},
		{"root_usage", `{ $.userIdentity.type = "RootX" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }`, false},
		{"console_signin_without_mfa", `{ ($.eventName = "ConsoleLogin") }`, false},
		{"console_signin_without_mfa", `{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed = "Yes") }`, false},
		{"cloudtrail_changes", `{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) }`, false},
		{"cloudtrail_changes", `{ ($.eventSource = cloudtrail.amazonaws.com) && (($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging)) }`, true},
		{"iam_policy_changes", byID["cloudtrail_changes"].pattern, false},
		{"unauthorized_api_calls", "", false},
	} {
		require.Equal(t, c.want, byID[c.event].matches(c.pattern), "%s: %s", c.event, c.pattern)
	}
}

func TestLogGroupRetentionBoundaries(t *testing.T) {
	group := func(days *int32) *groupState {
		return &groupState{arn: "arn:aws:logs:us-east-1:1:log-group:g", region: "us-east-1", group: cwltypes.LogGroup{LogGroupName: aws.String("g"), RetentionInDays: days}}
	}
	for _, c := range []struct {
		days *int32
		want evidence.Result
	}{
		{nil, evidence.Pass}, {aws.Int32(0), evidence.Pass}, {aws.Int32(2192), evidence.Pass}, {aws.Int32(2190), evidence.Pass},
		{aws.Int32(1827), evidence.Fail}, {aws.Int32(1), evidence.Fail},
	} {
		require.Equal(t, c.want, logGroupRetention(group(c.days), 2190).Status, "%v", c.days)
	}
}

func TestVPCFlowLogBoundaries(t *testing.T) {
	vpc := ec2types.Vpc{VpcId: aws.String("vpc-1")}
	fl := func(resource, status string) ec2types.FlowLog {
		return ec2types.FlowLog{FlowLogId: aws.String("fl-" + resource), ResourceId: aws.String(resource), FlowLogStatus: aws.String(status)}
	}
	for _, c := range []struct {
		name string
		logs []ec2types.FlowLog
		err  error
		want evidence.Result
	}{
		{"active", []ec2types.FlowLog{fl("vpc-1", "ACTIVE")}, nil, evidence.Pass},
		{"another VPC's", []ec2types.FlowLog{fl("vpc-2", "ACTIVE")}, nil, evidence.Fail},
		{"a subnet's only", []ec2types.FlowLog{fl("subnet-1", "ACTIVE")}, nil, evidence.Fail},
		{"none", nil, nil, evidence.Fail},
		{"unread", nil, errors.New("describe flow logs: denied"), evidence.Error},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := vpcFlowLogged("arn", vpc, vpcFlowLogs(vpc, c.logs), c.err)
			require.Equal(t, c.want, f.Status, f.Reason)
		})
	}
	// A flow log that is not active does not count.
	f := vpcFlowLogged("arn", vpc, []ec2types.FlowLog{{FlowLogId: aws.String("fl-x"), ResourceId: aws.String("vpc-1"), FlowLogStatus: aws.String("INACTIVE")}}, nil)
	require.Equal(t, evidence.Fail, f.Status)
	require.Contains(t, f.Reason, "none of them active")
}

// TestLoggingRunEndsEarly: a run that ends while a region is read records
// what it could not read; the region never reached is an error finding of
// every check on the account, and no CIS event is failed over it.
func TestLoggingRunEndsEarly(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	ctx, cancel := context.WithCancel(collector.WithRecorder(t.Context(), collector.NewRecorder()))
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "Action=DescribeVpcs") {
			cancel()
			<-r.Context().Done()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := sim.Source(srv.URL)
	src.Concurrency = 1
	c, err := newLogging(collector.Settings{ID: "aws.logging", Sources: collector.Sources{AWS: src}, HTTPClient: collector.NewHTTPClient(nil)}, fastTuning())
	require.NoError(t, err)
	res, err := c.Collect(ctx, collector.Request{Scope: evidence.Scope{Provider: "aws", Account: prod, Regions: src.Regions}, Now: simNow})
	var pe *collector.PartialError
	require.ErrorAs(t, err, &pe)
	cis := 0
	for _, f := range res.Findings {
		require.NotContains(t, f.Resource, ":us-east-1:", "nothing in the region never reached is judged")
		if f.Check == checkLogMetricAlarms {
			require.Equal(t, evidence.Error, f.Status, f.Reason)
			cis++
		}
	}
	// One for us-east-1 never listed, five for the CIS events.
	require.Equal(t, 1+len(cisEvents), cis)
}

// TestTrailLogGroups: only a log group of this account, in the trail's
// region, has its filters read here; an organization trail's group in the
// management account is noted as judged there.
func TestTrailLogGroups(t *testing.T) {
	r := &logRegion{region: "us-east-1", trailGroups: map[string]string{}}
	r.addTrail(prod, cttypes.Trail{Name: aws.String("own"), CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:111122223333:log-group:own-trail:*")})
	r.addTrail(prod, cttypes.Trail{Name: aws.String("org"), CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:999988887777:log-group:org-trail:*")})
	r.addTrail(prod, cttypes.Trail{Name: aws.String("none")})
	require.Equal(t, map[string]string{"own-trail": "own"}, r.trailGroups)
	require.Equal(t, []string{"arn:aws:logs:us-east-1:999988887777:log-group:org-trail:* (trail org)"}, r.elsewhere)
	fs := metricFilterAlarms("aws", prod, []*logRegion{{region: "us-east-1", elsewhere: r.elsewhere, trailGroups: map[string]string{}}}, nil)
	require.Len(t, fs, len(cisEvents))
	for _, f := range fs {
		require.Equal(t, evidence.Fail, f.Status)
		require.Contains(t, f.Reason, "No trail delivers to a CloudWatch Logs group of the account")
		require.Equal(t, r.elsewhere, f.Observed["trail_log_groups_elsewhere"])
	}
}
