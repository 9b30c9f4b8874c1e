package awscollector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfgtypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	gdtypes "github.com/aws/aws-sdk-go-v2/service/guardduty/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	smithy "github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func threatNew(s collector.Settings, t tuning) (collector.Collector, error) {
	return newThreatDetection(s, t)
}

const (
	prodDetector   = "arn:aws:guardduty:us-east-1:111122223333:detector/6ab8c1d2e3f4a5b6c7d8e9f0a1b2c3d4"
	euNoDetector   = "arn:aws:guardduty:eu-west-1:111122223333:detector"
	sshInstance    = "arn:aws:ec2:us-east-1:111122223333:instance/i-0b2c3d4e5f6a70002"
	patientsHost   = "arn:aws:ec2:us-east-1:111122223333:instance/i-0a1b2c3d4e5f60001"
	usHub          = "arn:aws:securityhub:us-east-1:111122223333:hub/default"
	euHub          = "arn:aws:securityhub:eu-west-1:111122223333:hub/default"
	usConfig       = "arn:aws:config:us-east-1:111122223333:configuration-recorder"
	euConfig       = "arn:aws:config:eu-west-1:111122223333:configuration-recorder"
	archivedFindID = "3ceab2a4d5f6e7c8b9da34567890cdef"
	lowFindingID   = "4dfbc3b5e6a7f8d9cae145678901def0"
)

func TestThreatDetectionDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.threat_detection", threatNew, nil)
	golden(t, "threat_detection_demo", out.results)
}

// TestThreatDetectionDemoVerdicts: each planted problem fails on its
// resource, each compliant counterpart passes, with what an auditor needs
// observed; staging is compliant.
func TestThreatDetectionDemoVerdicts(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.threat_detection", threatNew, nil)
	p := out.results[0]
	require.Equal(t, evidence.StatusComplete, p.Status, "%v", p.Errors)
	for _, c := range []struct {
		check, resource string
		want            evidence.Result
	}{
		{checkGuardDutyEnabled, euNoDetector, evidence.Fail},
		{checkGuardDutyEnabled, prodDetector, evidence.Pass},
		{checkGuardDutyFindings, sshInstance, evidence.Fail},
		{checkGuardDutyFindings, patientsHost, evidence.Pass},
		{checkGuardDutyFindings, euNoDetector, evidence.NotApplicable},
		{checkSecurityHubEnabled, euHub, evidence.Fail},
		{checkSecurityHubEnabled, usHub, evidence.Pass},
		{checkConfigRecording, euConfig, evidence.Fail},
		{checkConfigRecording, usConfig, evidence.Pass},
	} {
		f := findingOf(t, p, c.check, c.resource)
		require.Equal(t, c.want, f.Status, "%s %s: %s", c.check, c.resource, f.Reason)
	}
	ssh := findingOf(t, p, checkGuardDutyFindings, sshInstance)
	require.Contains(t, ssh.Reason, "UnauthorizedAccess:EC2/SSHBruteForce")
	require.Contains(t, ssh.Reason, "90 days")
	require.Contains(t, ssh.Reason, sshInstance)
	require.Equal(t, "high", ssh.Observed["severity_label"])
	require.Equal(t, 90, ssh.Observed["age_days"])
	require.Equal(t, false, ssh.Observed["phi"])
	require.Equal(t, true, findingOf(t, p, checkGuardDutyFindings, patientsHost).Observed["phi"], "the instance tags GuardDuty copies mark ePHI")
	require.Equal(t, "ALL", findingOf(t, p, checkGuardDutyEnabled, prodDetector).Observed["organization_auto_enable_members"])
	hub := findingOf(t, p, checkSecurityHubEnabled, usHub)
	require.Contains(t, hub.Reason, "aws-foundational-security-best-practices/v/1.0.0")
	require.Contains(t, hub.Reason, "cis-aws-foundations-benchmark/v/1.2.0")
	require.Len(t, hub.Observed["standards"], 2)
	require.Contains(t, findingOf(t, p, checkSecurityHubEnabled, euHub).Observed["answer"], "InvalidAccessException")
	require.Contains(t, findingOf(t, p, checkConfigRecording, euConfig).Reason, "recorder default is stopped")
	for _, f := range p.Findings {
		require.NotEqual(t, archivedFindID, f.Observed["finding_id"])
		require.NotEqual(t, lowFindingID, f.Observed["finding_id"])
	}
	// Staging is compliant; its administrator setting is not visible to it.
	s := out.results[1]
	require.Equal(t, evidence.StatusComplete, s.Status, "%v", s.Errors)
	for _, f := range s.Findings {
		require.Equal(t, evidence.Pass, f.Status, "%s %s: %s", f.Check, f.Resource, f.Reason)
	}
	det := findingOf(t, s, checkGuardDutyEnabled, "arn:aws:guardduty:us-east-1:444455556666:detector/7bc9d2e3f4a5b6c7d8e9f0a1b2c3d4e5")
	require.Contains(t, det.Observed["organization_configuration"], "BadRequestException")
	var global evidence.Record
	for _, r := range s.Records {
		if r.Type == "aws.config.global_resource_types" {
			global = r
		}
	}
	require.Equal(t, []string{"us-east-1"}, global.Attributes["regions"], "global resource types are recorded in one region")
}

// captureBodies serves sim and keeps the body of every request whose path
// ends with suffix.
func captureBodies(t *testing.T, sim *awssim.Sim, suffix string) (*httptest.Server, func() []map[string]any) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, suffix) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(body, &m))
			mu.Lock()
			bodies = append(bodies, m)
			mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), bodies...)
	}
}

// TestGuardDutyServerSideCriteria: ListFindings asks GuardDuty for the
// account's unarchived findings of severity 7 and above, and the sim
// applies that criterion: the archived and the low finding are never
// listed nor read, so they cost nothing.
func TestGuardDutyServerSideCriteria(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	srv, bodies := captureBodies(t, sim, "/findings")
	src := sim.Source(srv.URL)
	c, err := newThreatDetection(collector.Settings{ID: "aws.threat_detection", Sources: collector.Sources{AWS: src}, HTTPClient: collector.NewHTTPClient(nil)}, fastTuning())
	require.NoError(t, err)
	res, err := c.Collect(collector.WithRecorder(t.Context(), collector.NewRecorder()), collector.Request{Scope: evidence.Scope{Provider: "aws", Account: prod, Regions: src.Regions}, Now: simNow})
	require.NoError(t, err)
	got := bodies()
	require.Len(t, got, 1, "one detector, one page")
	require.Equal(t, map[string]any{"criterion": map[string]any{
		"accountId":        map[string]any{"equals": []any{prod}},
		"severity":         map[string]any{"greaterThanOrEqual": float64(7)},
		"service.archived": map[string]any{"equals": []any{"false"}},
	}}, got[0]["findingCriteria"])
	var read []string
	for _, r := range res.Records {
		if r.Type == "aws.guardduty.finding" {
			read = append(read, r.Attributes["finding_id"].(string))
		}
	}
	require.ElementsMatch(t, []string{"1ac8f0e2b3d4c5a6978812345678abcd", "2bd9a1f3c4e5d6b7a8c923456789bcde"}, read)

	// The sim itself filters: without the criterion every finding is listed.
	api := guardduty.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}, func(o *guardduty.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.Credentials = staticCreds{}
	})
	all, err := api.ListFindings(t.Context(), &guardduty.ListFindingsInput{DetectorId: aws.String("6ab8c1d2e3f4a5b6c7d8e9f0a1b2c3d4")})
	require.NoError(t, err)
	require.Len(t, all.FindingIds, 4)
	archived, err := api.ListFindings(t.Context(), &guardduty.ListFindingsInput{DetectorId: aws.String("6ab8c1d2e3f4a5b6c7d8e9f0a1b2c3d4"),
		FindingCriteria: &gdtypes.FindingCriteria{Criterion: map[string]gdtypes.Condition{"service.archived": {Equals: []string{"true"}}}}})
	require.NoError(t, err)
	require.Equal(t, []string{archivedFindID}, archived.FindingIds)
	_, err = api.ListFindings(t.Context(), &guardduty.ListFindingsInput{DetectorId: aws.String("6ab8c1d2e3f4a5b6c7d8e9f0a1b2c3d4"),
		FindingCriteria: &gdtypes.FindingCriteria{Criterion: map[string]gdtypes.Condition{"type": {Equals: []string{"x"}}}}})
	require.ErrorContains(t, err, "BadRequestException", "a criterion the sim would ignore is refused")
}

// staticCreds signs requests as the home account.
type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXHIBITTEST", SecretAccessKey: "test-secret-value", Source: "test"}, nil
}

// TestThreatDetectionPagination reads detectors, finding ids, the
// organization configuration's features and the enabled standards one per
// page to the end: the evidence is the same.
func TestThreatDetectionPagination(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.PageSize = 1
	out := runCollector(t, sim, "aws.threat_detection", threatNew, nil)
	golden(t, "threat_detection_demo", out.results)
	// us-east-1: one detector (one page); eu-west-1: none (one page).
	require.Equal(t, 2, sim.Count(prod, "guardduty", "ListDetectors"))
	// Two findings match: two pages.
	require.Equal(t, 2, sim.Count(prod, "guardduty", "ListFindings"))
	require.Equal(t, 1, sim.Count(prod, "guardduty", "GetFindings"), "read 50 at a time")
	// Five features, five pages.
	require.Equal(t, 5, sim.Count(prod, "guardduty", "DescribeOrganizationConfiguration"))
	// Two standards in us-east-1; eu-west-1 is not enabled, so not asked.
	require.Equal(t, 2, sim.Count(prod, "securityhub", "GetEnabledStandards"))
}

// TestThreatDetectionCallsPerRegion: without pagination, a fixed handful
// of calls per region, and per detector.
func TestThreatDetectionCallsPerRegion(t *testing.T) {
	sim := awssim.NewAt(simNow)
	runCollector(t, sim, "aws.threat_detection", threatNew, nil)
	for op, n := range map[string]int{"ListDetectors": 2, "GetDetector": 1, "DescribeOrganizationConfiguration": 1, "ListFindings": 1, "GetFindings": 1} {
		require.Equal(t, n, sim.Count(prod, "guardduty", op), op)
	}
	require.Equal(t, 2, sim.Count(prod, "securityhub", "DescribeHub"))
	require.Equal(t, 1, sim.Count(prod, "securityhub", "GetEnabledStandards"), "only where the hub is enabled")
	require.Equal(t, 8, sim.Count(prod, "config", ""), "four calls a region")
}

// TestGuardDutyManyFindings: findings are read 50 at a time, so 120
// matching findings cost ceil(120/50) = 3 GetFindings calls, and each is
// judged on its own resource.
func TestGuardDutyManyFindings(t *testing.T) {
	sim := awssim.NewAt(simNow)
	d := &sim.Accounts[prod].GuardDuty[0]
	d.Findings = nil
	for i := range 120 {
		d.Findings = append(d.Findings, awssim.GuardDutyFinding{ID: fmt.Sprintf("f%031d", i), Type: "UnauthorizedAccess:EC2/SSHBruteForce", Title: "t",
			Severity: 7 + float64(i%4), Created: simNow.AddDate(0, 0, -(i % 60)), Updated: simNow, InstanceID: fmt.Sprintf("i-%017d", i)})
	}
	out := runCollector(t, sim, "aws.threat_detection", threatNew, nil)
	require.Equal(t, 3, sim.Count(prod, "guardduty", "GetFindings"))
	require.Equal(t, 3, sim.Count(prod, "guardduty", "ListFindings"), "50 ids a page")
	fails, passes := 0, 0
	for _, f := range out.results[0].Findings {
		if f.Check != checkGuardDutyFindings || f.Resource == euNoDetector {
			continue
		}
		switch f.Status {
		case evidence.Fail:
			fails++
		case evidence.Pass:
			passes++
		}
	}
	// Ages 0..59 days repeating: 31..59 are past 30 days.
	require.Equal(t, 120, fails+passes)
	require.Equal(t, 2*29, fails)
}

// TestThreatDetectionRegionDenied: AccessDenied in eu-west-1 and ap-east-1
// not enabled give error findings for those regions, on each check's own
// per-region resource, and a partial snapshot; us-east-1 is judged as ever.
func TestThreatDetectionRegionDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "")
	out := runCollector(t, sim, "aws.threat_detection", threatNew, func(src *collector.AWSSource) {
		src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"}
	})
	require.Len(t, out.results, 2)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	ops := map[string]int{}
	for _, e := range p.Errors {
		require.NotContains(t, e.Where, "us-east-1")
		switch {
		case strings.Contains(e.Where, "ap-east-1"):
			require.Contains(t, e.Message, "UnrecognizedClientException")
			ops["ap-east-1 "+e.Operation]++
		default:
			require.Contains(t, e.Where, "eu-west-1")
			require.Contains(t, e.Message, "AccessDeniedException")
			ops["eu-west-1 "+e.Operation]++
		}
	}
	for _, r := range []string{"ap-east-1", "eu-west-1"} {
		for _, op := range []string{"guardduty:ListDetectors", "securityhub:DescribeHub", "config:DescribeConfigurationRecorders",
			"config:DescribeConfigurationRecorderStatus", "config:DescribeDeliveryChannels", "config:DescribeDeliveryChannelStatus"} {
			require.Equal(t, 1, ops[r+" "+op], "%s %s", r, op)
		}
	}
	require.Len(t, p.Errors, 12)
	for _, r := range []string{"ap-east-1", "eu-west-1"} {
		for chk, res := range map[string]string{
			checkGuardDutyEnabled:   "arn:aws:guardduty:%s:111122223333:detector",
			checkGuardDutyFindings:  "arn:aws:guardduty:%s:111122223333:detector",
			checkSecurityHubEnabled: "arn:aws:securityhub:%s:111122223333:hub/default",
			checkConfigRecording:    "arn:aws:config:%s:111122223333:configuration-recorder",
		} {
			f := findingOf(t, p, chk, fmt.Sprintf(res, r))
			require.Equal(t, evidence.Error, f.Status, "%s %s: %s", chk, r, f.Reason)
		}
	}
	// us-east-1 intact.
	require.Equal(t, evidence.Pass, findingOf(t, p, checkGuardDutyEnabled, prodDetector).Status)
	require.Equal(t, evidence.Fail, findingOf(t, p, checkGuardDutyFindings, sshInstance).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkSecurityHubEnabled, usHub).Status)
	require.Equal(t, evidence.Pass, findingOf(t, p, checkConfigRecording, usConfig).Status)
	// Staging only misses the region it has not enabled.
	s := out.results[1]
	require.Equal(t, evidence.StatusPartial, s.Status)
	for _, e := range s.Errors {
		require.Contains(t, e.Where, "ap-east-1")
	}
	require.Equal(t, evidence.Pass, findingOf(t, s, checkSecurityHubEnabled, "arn:aws:securityhub:eu-west-1:444455556666:hub/default").Status)
}

// TestThreatDetectionAssumeRole: staging is read through its role and
// judged there.
func TestThreatDetectionAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.threat_detection", threatNew, nil)
	s := out.results[1]
	require.Equal(t, staging, s.Scope.Account)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkGuardDutyEnabled, "arn:aws:guardduty:eu-west-1:444455556666:detector/8cdae3f4a5b6c7d8e9f0a1b2c3d4e5f6").Status)
	require.Equal(t, evidence.Pass, findingOf(t, s, checkGuardDutyFindings, "arn:aws:guardduty:eu-west-1:444455556666:detector/8cdae3f4a5b6c7d8e9f0a1b2c3d4e5f6").Status,
		"only a low finding there")
	require.Equal(t, evidence.Pass, findingOf(t, s, checkConfigRecording, "arn:aws:config:eu-west-1:444455556666:configuration-recorder").Status)
	var assumed int
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed++
			require.Equal(t, "exhibit-aws.threat_detection", r.RoleSessionName)
		}
	}
	require.NotZero(t, assumed)
	for _, svc := range []string{"guardduty", "securityhub", "config"} {
		require.NotZero(t, sim.Count(staging, svc, ""), svc)
	}
}

// TestThreatDetectionThrottlingRetried: each service's throttling answer
// (GuardDuty's TooManyRequestsException, Security Hub's
// LimitExceededException, Config's ThrottlingException) is retried for
// every operation and the evidence is unchanged.
func TestThreatDetectionThrottlingRetried(t *testing.T) {
	requireRetried(t, "aws.threat_detection", threatNew, "threat_detection_demo", []string{"ListDetectors", "GetDetector", "DescribeOrganizationConfiguration", "ListFindings", "GetFindings", "DescribeHub", "GetEnabledStandards",
		"DescribeConfigurationRecorders", "DescribeConfigurationRecorderStatus", "DescribeDeliveryChannels", "DescribeDeliveryChannelStatus"}...)
}

// TestGuardDutyOrgConfigFailing: the organization setting failing for
// another reason than "not yours to see" is a run error, recorded beside
// the verdict, which it does not change.
func TestGuardDutyOrgConfigFailing(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Fail(prod, "guardduty", "DescribeOrganizationConfiguration", 500)
	out := runCollector(t, sim, "aws.threat_detection", threatNew, nil)
	p := out.results[0]
	require.Equal(t, evidence.StatusPartial, p.Status)
	require.Len(t, p.Errors, 1)
	require.Equal(t, "guardduty:DescribeOrganizationConfiguration", p.Errors[0].Operation)
	f := findingOf(t, p, checkGuardDutyEnabled, prodDetector)
	require.Equal(t, evidence.Pass, f.Status)
	require.Contains(t, f.Observed["organization_configuration_error"], "InternalServerErrorException")
}

type apiErr struct{ code string }

func (e apiErr) Error() string                 { return "api error " + e.code }
func (e apiErr) ErrorCode() string             { return e.code }
func (e apiErr) ErrorMessage() string          { return e.code }
func (e apiErr) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

// TestThreatDetectionCheckBoundaries: each check's pass, fail and error.
func TestThreatDetectionCheckBoundaries(t *testing.T) {
	denied := apiErr{"AccessDeniedException"}
	region := func() *threatRegion {
		return &threatRegion{region: "us-east-1", setting: "arn:s", hub: "arn:h", config: "arn:c"}
	}
	det := func(status gdtypes.DetectorStatus, org string) *detectorState {
		d := &detectorState{id: "d1", arn: "arn:d", region: "us-east-1", detector: &guardduty.GetDetectorOutput{Status: status}, listed: true}
		if org != "" {
			d.org = &orgAutoEnable{members: org}
		}
		return d
	}
	t.Run("guardduty_enabled", func(t *testing.T) {
		for _, c := range []struct {
			name string
			edit func(*threatRegion)
			want evidence.Result
			res  string
		}{
			{"enabled", func(r *threatRegion) { r.detectors = []*detectorState{det(gdtypes.DetectorStatusEnabled, "")} }, evidence.Pass, "arn:d"},
			{"enabled, members auto-enabled", func(r *threatRegion) { r.detectors = []*detectorState{det(gdtypes.DetectorStatusEnabled, "NEW")} }, evidence.Pass, "arn:d"},
			{"enabled, members not auto-enabled", func(r *threatRegion) { r.detectors = []*detectorState{det(gdtypes.DetectorStatusEnabled, "NONE")} }, evidence.Fail, "arn:d"},
			{"suspended", func(r *threatRegion) { r.detectors = []*detectorState{det(gdtypes.DetectorStatusDisabled, "")} }, evidence.Fail, "arn:d"},
			{"no detector", func(r *threatRegion) {}, evidence.Fail, "arn:s"},
			{"detectors unlisted", func(r *threatRegion) { r.detectorsErr = denied }, evidence.Error, "arn:s"},
			{"detector unread", func(r *threatRegion) { r.detectors = []*detectorState{{id: "d1", arn: "arn:d", detectorErr: denied}} }, evidence.Error, "arn:d"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := region()
				c.edit(r)
				fs := guardDutyEnabled(r)
				require.Len(t, fs, 1)
				require.Equal(t, c.want, fs[0].Status, fs[0].Reason)
				require.Equal(t, c.res, fs[0].Resource)
			})
		}
	})
	t.Run("guardduty_findings", func(t *testing.T) {
		f := func(days int, sev float64) gdtypes.Finding {
			return gdtypes.Finding{Id: aws.String("f1"), Arn: aws.String("arn:f"), AccountId: aws.String("1"), Region: aws.String("us-east-1"),
				Type: aws.String("Backdoor:EC2/Spambot"), Severity: aws.Float64(sev), CreatedAt: aws.String(simNow.AddDate(0, 0, -days).Format("2006-01-02T15:04:05.000Z")),
				Resource: &gdtypes.Resource{ResourceType: aws.String("Instance"), InstanceDetails: &gdtypes.InstanceDetails{InstanceId: aws.String("i-1")}}}
		}
		for _, c := range []struct {
			name  string
			f     gdtypes.Finding
			want  evidence.Result
			label string
		}{
			{"30 days", f(30, 8), evidence.Pass, "high"},
			{"31 days", f(31, 8), evidence.Fail, "high"},
			{"critical, 31 days", f(31, 9.5), evidence.Fail, "critical"},
		} {
			t.Run(c.name, func(t *testing.T) {
				got := judgeFinding("aws", c.f, simNow, 30, nil, false)
				require.Equal(t, c.want, got.Status, got.Reason)
				require.Equal(t, "arn:aws:ec2:us-east-1:1:instance/i-1", got.Resource)
				require.Equal(t, c.label, got.Observed["severity_label"])
			})
		}
		noResource := f(40, 8)
		noResource.Resource = &gdtypes.Resource{ResourceType: aws.String("Container")}
		require.Equal(t, "arn:f", judgeFinding("aws", noResource, simNow, 30, nil, false).Resource, "the finding names itself")
		undated := f(1, 8)
		undated.CreatedAt = aws.String("yesterday")
		require.Equal(t, evidence.Error, judgeFinding("aws", undated, simNow, 30, nil, false).Status)

		r := region()
		d := det(gdtypes.DetectorStatusEnabled, "")
		r.detectors = []*detectorState{d}
		fs := guardDutyFindings(r, "aws", "1", simNow, 30, nil, false)
		require.Len(t, fs, 1)
		require.Equal(t, evidence.Pass, fs[0].Status, "none listed passes on the detector")
		require.Equal(t, "arn:d", fs[0].Resource)
		d.listErr = denied
		fs = guardDutyFindings(r, "aws", "1", simNow, 30, nil, false)
		require.Equal(t, evidence.Error, fs[0].Status)
		d.listErr, d.findingIDs, d.getErr = nil, []string{"f1", "f2"}, denied
		d.findings = []gdtypes.Finding{f(40, 8)}
		fs = guardDutyFindings(r, "aws", "1", simNow, 30, nil, false)
		require.Len(t, fs, 2, "an error for the unread one, a verdict for the read one")
		require.Equal(t, evidence.Error, fs[0].Status)
		require.Equal(t, evidence.Fail, fs[1].Status)
		r.detectors = nil
		require.Equal(t, evidence.NotApplicable, guardDutyFindings(r, "aws", "1", simNow, 30, nil, false)[0].Status)
		r.detectorsErr = denied
		require.Equal(t, evidence.Error, guardDutyFindings(r, "aws", "1", simNow, 30, nil, false)[0].Status)
	})
	t.Run("securityhub_enabled", func(t *testing.T) {
		r := region()
		r.hubOut = &securityhub.DescribeHubOutput{HubArn: aws.String("arn:h")}
		r.standards = []shtypes.StandardsSubscription{{StandardsArn: aws.String("arn:aws:securityhub:us-east-1::standards/pci-dss/v/3.2.1"), StandardsStatus: shtypes.StandardsStatusReady}}
		f := securityHubEnabled(r)
		require.Equal(t, evidence.Pass, f.Status)
		require.Contains(t, f.Reason, "pci-dss/v/3.2.1")
		r.standardsErr = denied
		f = securityHubEnabled(r)
		require.Equal(t, evidence.Pass, f.Status, "the standards are recorded beside the verdict")
		require.Contains(t, f.Observed["standards_error"], "AccessDenied")
		r.hubErr = apiErr{"InvalidAccessException"}
		require.Equal(t, evidence.Fail, securityHubEnabled(r).Status)
		r.hubErr = denied
		require.Equal(t, evidence.Error, securityHubEnabled(r).Status)
		r.hubErr = errors.New("connection reset")
		require.Equal(t, evidence.Error, securityHubEnabled(r).Status)
	})
	t.Run("config_recording", func(t *testing.T) {
		good := func() *threatRegion {
			r := region()
			r.recorders = []cfgtypes.ConfigurationRecorder{{Name: aws.String("default"), RecordingGroup: &cfgtypes.RecordingGroup{AllSupported: true, IncludeGlobalResourceTypes: true}}}
			r.recStatus = []cfgtypes.ConfigurationRecorderStatus{{Name: aws.String("default"), Recording: true, LastStatus: cfgtypes.RecorderStatusSuccess}}
			r.channels = []cfgtypes.DeliveryChannel{{Name: aws.String("default"), S3BucketName: aws.String("b")}}
			r.chStatus = []cfgtypes.DeliveryChannelStatus{{Name: aws.String("default"), ConfigHistoryDeliveryInfo: &cfgtypes.ConfigExportDeliveryInfo{LastStatus: cfgtypes.DeliveryStatusSuccess}}}
			return r
		}
		for _, c := range []struct {
			name    string
			edit    func(*threatRegion)
			want    evidence.Result
			problem string
		}{
			{"healthy", func(*threatRegion) {}, evidence.Pass, ""},
			{"no recorder", func(r *threatRegion) { r.recorders, r.recStatus = nil, nil }, evidence.Fail, "no configuration recorder"},
			{"some types", func(r *threatRegion) {
				r.recorders[0].RecordingGroup = &cfgtypes.RecordingGroup{ResourceTypes: []cfgtypes.ResourceType{cfgtypes.ResourceTypeBucket}}
			}, evidence.Fail, "records only 1 resource types"},
			{"stopped", func(r *threatRegion) { r.recStatus[0].Recording = false }, evidence.Fail, "is stopped"},
			{"recording failed", func(r *threatRegion) {
				r.recStatus[0].LastStatus, r.recStatus[0].LastErrorCode = cfgtypes.RecorderStatusFailure, aws.String("AccessDenied")
			}, evidence.Fail, "last recording failed"},
			{"no channel", func(r *threatRegion) { r.channels, r.chStatus = nil, nil }, evidence.Fail, "no delivery channel"},
			{"delivery failed", func(r *threatRegion) {
				r.chStatus[0].ConfigHistoryDeliveryInfo = &cfgtypes.ConfigExportDeliveryInfo{LastStatus: cfgtypes.DeliveryStatusFailure, LastErrorCode: aws.String("NoSuchBucket")}
			}, evidence.Fail, "history delivery failed (NoSuchBucket)"},
			{"stopped, channel unread", func(r *threatRegion) { r.recStatus[0].Recording, r.channelsErr = false, denied }, evidence.Fail, "is stopped"},
			{"recorders unread", func(r *threatRegion) { r.recorders, r.recordersErr = nil, denied }, evidence.Error, ""},
			{"status unread", func(r *threatRegion) { r.recStatus, r.recStatusErr = nil, denied }, evidence.Error, ""},
			{"channels unread", func(r *threatRegion) { r.channels, r.channelsErr = nil, denied }, evidence.Error, ""},
			{"delivery unread", func(r *threatRegion) { r.chStatus, r.chStatusErr = nil, denied }, evidence.Error, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := good()
				c.edit(r)
				f := configRecording(r)
				require.Equal(t, c.want, f.Status, f.Reason)
				require.Equal(t, "arn:c", f.Resource)
				require.Contains(t, f.Reason, c.problem)
			})
		}
	})
}

// TestThreatDetectionRunEndsEarly: a run that ends while the first
// region's detectors are listed judges nothing in the region never
// reached, and records every read it did not make.
func TestThreatDetectionRunEndsEarly(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	ctx, cancel := context.WithTimeout(collector.WithRecorder(t.Context(), collector.NewRecorder()), time.Minute)
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/detector" {
			cancel()
			<-r.Context().Done()
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := sim.Source(srv.URL)
	src.Concurrency = 1
	c, err := newThreatDetection(collector.Settings{ID: "aws.threat_detection", Sources: collector.Sources{AWS: src}, HTTPClient: collector.NewHTTPClient(nil)}, fastTuning())
	require.NoError(t, err)
	res, err := c.Collect(ctx, collector.Request{Scope: evidence.Scope{Provider: "aws", Account: prod, Regions: src.Regions}, Now: simNow})
	var pe *collector.PartialError
	require.ErrorAs(t, err, &pe)
	for _, f := range res.Findings {
		require.NotEqual(t, evidence.Pass, f.Status, "%s %s: nothing passes on what was not read", f.Check, f.Resource)
		require.NotContains(t, f.Resource, ":us-east-1:", "the region never reached is judged nowhere")
	}
	var ops []string
	for _, e := range pe.Errors {
		ops = append(ops, e.Where+" "+e.Operation)
	}
	require.Contains(t, ops, "account/111122223333/region/us-east-1 guardduty:ListDetectors")
	require.Contains(t, ops, "account/111122223333/region/eu-west-1 guardduty:ListDetectors")
}
