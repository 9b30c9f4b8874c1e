package awscollector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

const (
	prod    = awssim.Production
	staging = awssim.Staging
)

// TestPagination reads the demo estate one item per page: every paginated
// call (IAM Marker/IsTruncated, S3 ContinuationToken, CloudWatch Logs
// nextToken) is followed to the end and the evidence is the same.
func TestPagination(t *testing.T) {
	t.Run("iam", func(t *testing.T) {
		sim := awssim.NewAt(simNow)
		sim.PageSize = 1
		out := runCollector(t, sim, "aws.iam", iamNew, nil)
		golden(t, "iam_demo", out.results)
		// 6 users, 2 groups, 2 roles, 1 policy; 3 MFA devices.
		require.Equal(t, 11, sim.Count(prod, "iam", "GetAccountAuthorizationDetails"))
		require.Equal(t, 3, sim.Count(prod, "iam", "ListVirtualMFADevices"))
	})
	t.Run("s3", func(t *testing.T) {
		sim := awssim.NewAt(simNow)
		sim.PageSize = 1
		out := runCollector(t, sim, "aws.s3", s3New, nil)
		golden(t, "s3_demo", out.results)
		require.Equal(t, 5, sim.Count(prod, "s3", "ListBuckets"))
	})
	t.Run("cloudtrail", func(t *testing.T) {
		sim := awssim.NewAt(simNow)
		sim.PageSize = 1
		// Groups sharing the trail group's name as a prefix come first.
		a := sim.Accounts[prod]
		a.LogGroups = append([]awssim.LogGroup{
			{Name: "aws-cloudtrail-logs-org-audit-archive", Region: "us-east-1", Retention: 1},
			{Name: "aws-cloudtrail-logs-org-audit-2019", Region: "us-east-1", Retention: 7},
		}, a.LogGroups...)
		out := runCollector(t, sim, "aws.cloudtrail", trailNew, nil)
		golden(t, "cloudtrail_demo", out.results)
		require.Equal(t, 3, sim.Count(prod, "logs", "DescribeLogGroups"))
	})
}

// TestThrottlingRetried: throttling answers are retried by the SDK's
// adaptive retryer and the evidence is unchanged.
func TestThrottlingRetried(t *testing.T) {
	sim := awssim.NewAt(simNow)
	for _, op := range []string{"GenerateCredentialReport", "GetAccountAuthorizationDetails", "ListBuckets",
		"GetBucketEncryption", "GetPublicAccessBlock", "DescribeTrails", "GetTrailStatus", "DescribeLogGroups", "AssumeRole"} {
		sim.Throttle(op, 2)
	}
	retried := map[string]bool{}
	throttled := map[string]int{}
	for _, c := range []struct {
		typ, golden string
		nf          newFunc
	}{{"aws.iam", "iam_demo", iamNew}, {"aws.s3", "s3_demo", s3New}, {"aws.cloudtrail", "cloudtrail_demo", trailNew}} {
		out := runCollector(t, sim, c.typ, c.nf, nil)
		golden(t, c.golden, out.results)
		for _, call := range out.calls {
			if call.Attempt > 1 {
				retried[call.Operation] = true
			}
			if collector.IsThrottled(call) {
				throttled[call.Service+":"+call.Operation]++
			}
		}
	}
	for _, op := range []string{"GenerateCredentialReport", "ListBuckets", "DescribeTrails", "DescribeLogGroups", "AssumeRole"} {
		require.True(t, retried[op], "%s was not retried", op)
	}
	for _, op := range []string{"IAM:GenerateCredentialReport", "S3:ListBuckets", "CloudTrail:DescribeTrails", "CloudWatch Logs:DescribeLogGroups", "STS:AssumeRole"} {
		require.Equal(t, 2, throttled[op], "%s: throttled answers marked in the provenance", op)
	}
}

// TestRegionDenied: AccessDenied in one region and a region that is not
// enabled are recorded as run errors; other regions' evidence is kept.
func TestRegionDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Deny(prod, "eu-west-1", "")
	regions := func(src *collector.AWSSource) { src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"} }
	var all []scopeResult
	for _, nf := range []newFunc{trailNew, s3New} {
		out := runCollector(t, sim, "aws.test", nf, regions)
		require.Len(t, out.results, 2)
		p, s := out.results[0], out.results[1]
		require.Equal(t, evidence.StatusPartial, p.Status)
		require.NotEmpty(t, p.Errors)
		// Staging is denied nothing; only the region it has not enabled
		// fails, for CloudTrail, which reads every region (S3 reads each
		// bucket in its own region).
		for _, e := range s.Errors {
			require.Contains(t, e.Where, "ap-east-1")
		}
		all = append(all, out.results...)
	}
	ct := all[0]
	require.Equal(t, []evidence.RunError{
		{Where: "account/111122223333/region/ap-east-1", Operation: "cloudtrail:DescribeTrails", Message: ct.Errors[0].Message},
		{Where: "account/111122223333/region/eu-west-1", Operation: "cloudtrail:DescribeTrails", Message: ct.Errors[1].Message},
	}, ct.Errors)
	require.Contains(t, ct.Errors[0].Message, "UnrecognizedClientException")
	require.Contains(t, ct.Errors[1].Message, "AccessDeniedException")
	// The us-east-1 trail is still seen and still covers the account.
	require.Equal(t, evidence.Pass, findingOf(t, ct, checkTrailMultiRegion, "arn:aws:iam::111122223333:root").Status)
	require.Equal(t, evidence.Pass, findingOf(t, ct, checkTrailKMS, "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-audit").Status)

	s3r := all[2]
	legacy := "arn:aws:s3:::acme-legacy-uploads"
	for _, chk := range []string{checkS3Encryption, checkS3TLS, checkS3Versioning, checkS3Logging} {
		require.Equal(t, evidence.Error, findingOf(t, s3r, chk, legacy).Status, chk)
	}
	// Its public access block could not be read either, but the bucket's
	// own block is what is missing; the account has none: error, not pass.
	require.Equal(t, evidence.Error, findingOf(t, s3r, checkS3PublicAccess, legacy).Status)
	require.Equal(t, evidence.Pass, findingOf(t, s3r, checkS3Encryption, "arn:aws:s3:::acme-app-data").Status)
	golden(t, "region_denied", all)
}

// TestAssumeRole: the second account is read through its role with the
// external id and a session name naming the collector; a wrong external id
// fails that account only.
func TestAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.iam", iamNew, nil)
	require.Len(t, out.results, 2)
	require.Equal(t, prod, out.results[0].Scope.Account)
	require.Equal(t, staging, out.results[1].Scope.Account)
	var sessions []string
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" {
			sessions = append(sessions, r.RoleSessionName)
		}
		if r.Service == "iam" {
			require.Contains(t, []string{prod, staging}, r.Account)
		}
	}
	require.Equal(t, []string{"exhibit-aws.iam"}, sessions)
	require.NotZero(t, sim.Count(staging, "iam", "GetCredentialReport"))

	sim = awssim.NewAt(simNow)
	out = runCollector(t, sim, "aws.iam", iamNew, func(src *collector.AWSSource) {
		src.Accounts[1].ExternalID = "not-the-external-id"
	})
	require.Equal(t, evidence.StatusComplete, out.results[0].Status)
	require.Equal(t, evidence.StatusFailed, out.results[1].Status)
	require.Contains(t, out.results[1].Errors[0].Message, "assume role arn:aws:iam::444455556666:role/exhibit-reader")
	require.NotContains(t, out.results[1].Errors[0].Message, "not-the-external-id")
	require.Zero(t, sim.Count(staging, "iam", ""))
}

// TestOrganizationDiscovery: member accounts come from Organizations
// (paginated); a suspended one is not read but recorded in the management
// account's evidence.
func TestOrganizationDiscovery(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.PageSize = 1
	sim.Org = []awssim.OrgAccount{
		{ID: prod, Name: "production", State: "ACTIVE"},
		{ID: "777788889999", Name: "old-sandbox", State: "SUSPENDED"},
		{ID: staging, Name: "staging", State: "ACTIVE"},
	}
	out := runCollector(t, sim, "aws.cloudtrail", trailNew, func(src *collector.AWSSource) {
		src.Accounts = nil
		src.Organization = true
		src.ExternalID = collector.Secret(awssim.StagingExternalID)
	})
	require.Len(t, out.results, 2)
	require.Equal(t, prod, out.results[0].Scope.Account)
	require.Equal(t, staging, out.results[1].Scope.Account)
	for _, r := range out.results {
		require.Equal(t, evidence.StatusComplete, r.Status, "%v", r.Errors)
	}
	require.Equal(t, 3, sim.Count(prod, "organizations", "ListAccounts"))
	var skipped []evidence.Record
	for _, rec := range out.results[0].Records {
		if rec.Type == "aws.organizations.account" {
			skipped = append(skipped, rec)
		}
	}
	require.Len(t, skipped, 1)
	require.Equal(t, "arn:aws:organizations::111122223333:account/o-sim0example/777788889999", skipped[0].ID)
	require.Equal(t, "SUSPENDED", skipped[0].Attributes["status"])
	require.Equal(t, true, skipped[0].Attributes["skipped"])
	for _, rec := range out.results[1].Records {
		require.NotEqual(t, "aws.organizations.account", rec.Type)
	}
	golden(t, "organization", out.results)
}

// TestEnabledRegions: without configured regions every enabled region is
// read, and a region not opted into is left out.
func TestEnabledRegions(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.cloudtrail", trailNew, func(src *collector.AWSSource) { src.Regions = nil })
	for _, r := range out.results {
		require.Equal(t, []string{"eu-west-1", "us-east-1"}, r.Scope.Regions)
		require.Equal(t, evidence.StatusComplete, r.Status, "%v", r.Errors)
	}
	require.NotZero(t, sim.Count(prod, "ec2", "DescribeRegions"))
	for _, r := range sim.Requests() {
		require.NotEqual(t, "ap-east-1", r.Region)
	}
}

// TestCredentialReportGenerating: the report is polled while it is being
// generated and fetched again while IAM says it is in progress.
func TestCredentialReportGenerating(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.ReportPolls, sim.ReportInProgress = 2, 2
	out := runCollector(t, sim, "aws.iam", iamNew, nil)
	golden(t, "iam_demo", out.results)
	for _, acct := range []string{prod, staging} {
		require.Equal(t, 3, sim.Count(acct, "iam", "GenerateCredentialReport"))
		require.Equal(t, 3, sim.Count(acct, "iam", "GetCredentialReport"))
	}
}

// TestCredentialReportNeverReady: a report that never becomes ready gives
// error findings and a run error, never a pass.
func TestCredentialReportNeverReady(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.ReportPolls = 1000
	out := runCollector(t, sim, "aws.iam", iamNew, nil)
	r := out.results[0]
	require.Equal(t, evidence.StatusPartial, r.Status)
	require.Equal(t, "iam:GetCredentialReport", r.Errors[0].Operation)
	for _, chk := range []string{checkRootMFA, checkRootKeys, checkConsoleMFA, checkKeyAge, checkUnused} {
		require.Equal(t, evidence.Error, findingOf(t, r, chk, "arn:aws:iam::111122223333:root").Status)
	}
	for _, f := range r.Findings {
		if f.Check == checkConsoleMFA {
			require.NotEqual(t, evidence.Pass, f.Status)
		}
	}
}

// TestIAMCallsConstantInUsers is acceptance #3: MFA and key evidence for
// 500 users costs as many IAM calls as for 5.
func TestIAMCallsConstantInUsers(t *testing.T) {
	calls := func(n int) int {
		sim := awssim.NewAt(simNow)
		sim.PageSize = 1000 // what IAM serves with MaxItems=1000
		a := sim.Accounts[prod]
		a.Users = nil
		for i := range n {
			a.Users = append(a.Users, awssim.User{Name: fmt.Sprintf("user%03d", i), Created: simNow.AddDate(-1, 0, 0),
				Password: true, PasswordLastUsed: simNow.Add(-time.Hour), MFA: i%2 == 0,
				Keys: []awssim.Key{{Active: true, Rotated: simNow.AddDate(0, 0, -i%200), LastUsed: simNow.AddDate(0, 0, -1)}}})
		}
		out := runCollector(t, sim, "aws.iam", iamNew, nil)
		fails := 0
		for _, f := range out.results[0].Findings {
			if f.Check == checkConsoleMFA && f.Status == evidence.Fail {
				fails++
			}
		}
		require.Equal(t, n/2, fails)
		return sim.Count(prod, "iam", "")
	}
	five, many := calls(5), calls(500)
	require.Equal(t, five, many)
	require.LessOrEqual(t, five, 6)
}

// TestDeclaredPermissions: every API call the collectors made in these
// scenarios is covered by the IAM actions their factory declares.
func TestDeclaredPermissions(t *testing.T) {
	scenarios := []func(*awssim.Sim, *collector.AWSSource){
		nil,
		func(_ *awssim.Sim, src *collector.AWSSource) { src.Regions = nil },
		func(sim *awssim.Sim, src *collector.AWSSource) {
			sim.Org = []awssim.OrgAccount{{ID: prod, State: "ACTIVE"}, {ID: staging, State: "ACTIVE"}}
			src.Accounts, src.Organization, src.ExternalID = nil, true, awssim.StagingExternalID
		},
	}
	for _, f := range Factories() {
		declared := map[string]bool{}
		for _, p := range f.Permissions {
			declared[p] = true
		}
		nf := newFuncs[f.Type]
		for i, edit := range scenarios {
			sim := awssim.NewAt(simNow)
			out := runCollector(t, sim, f.Type, nf, func(src *collector.AWSSource) {
				if edit != nil {
					edit(sim, src)
				}
			})
			require.NotEmpty(t, out.calls)
			for _, c := range out.calls {
				action := iamAction(c.Service, c.Operation)
				require.NotEmpty(t, action, "scenario %d: unknown service %q", i, c.Service)
				require.True(t, declared[action], "%s calls %s (scenario %d) but does not declare it", f.Type, action, i)
			}
		}
	}
}

// TestOrganizationTrail: a member account covered by the management
// account's organization trail passes multi_region; the trail's own
// settings are judged in the account that owns it, not here.
func TestOrganizationTrail(t *testing.T) {
	sim := awssim.NewAt(simNow)
	org := sim.Accounts[prod].Trails[0]
	org.Owner = prod
	sim.Accounts[staging].Trails = append(sim.Accounts[staging].Trails, org)
	out := runCollector(t, sim, "aws.cloudtrail", trailNew, nil)
	s := out.results[1]
	require.Equal(t, evidence.StatusComplete, s.Status, "%v", s.Errors)
	orgARN := "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-audit"
	f := findingOf(t, s, checkTrailMultiRegion, "arn:aws:iam::444455556666:root")
	require.Equal(t, evidence.Pass, f.Status)
	require.Equal(t, []string{orgARN}, f.Observed["multi_region_trails_logging_management_events"])
	for _, f := range s.Findings {
		require.NotEqual(t, orgARN, f.Resource)
	}
	var rec evidence.Record
	for _, r := range s.Records {
		if r.ID == orgARN {
			rec = r
		}
	}
	require.Equal(t, true, rec.Attributes["owned_by_other_account"])
	require.Equal(t, true, rec.Attributes["organization_trail"])
}

// TestEndpointEnvironment: with no configured endpoint the SDK's own
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> settings are honoured
// (S3 then uses path-style addressing too).
func TestEndpointEnvironment(t *testing.T) {
	t.Run("global", func(t *testing.T) {
		for _, c := range []struct {
			typ, golden string
			nf          newFunc
		}{{"aws.iam", "iam_demo", iamNew}, {"aws.s3", "s3_demo", s3New}, {"aws.cloudtrail", "cloudtrail_demo", trailNew}} {
			out := runCollector(t, awssim.NewAt(simNow), c.typ, c.nf, func(src *collector.AWSSource) {
				t.Setenv("AWS_ENDPOINT_URL", src.Endpoint)
				src.Endpoint = ""
			})
			for i := range out.results {
				require.Empty(t, out.results[i].Scope.Endpoint)
				out.results[i].Scope.Endpoint = "http://sim"
			}
			golden(t, c.golden, out.results)
		}
	})
	t.Run("per service", func(t *testing.T) {
		out := runCollector(t, awssim.NewAt(simNow), "aws.cloudtrail", trailNew, func(src *collector.AWSSource) {
			for _, svc := range []string{"STS", "CLOUDTRAIL", "S3", "CLOUDWATCH_LOGS"} {
				t.Setenv("AWS_ENDPOINT_URL_"+svc, src.Endpoint)
			}
			src.Endpoint = ""
		})
		for i := range out.results {
			out.results[i].Scope.Endpoint = "http://sim"
		}
		golden(t, "cloudtrail_demo", out.results)

		out = runCollector(t, awssim.NewAt(simNow), "aws.s3", s3New, func(src *collector.AWSSource) {
			for _, svc := range []string{"STS", "S3", "S3_CONTROL"} {
				t.Setenv("AWS_ENDPOINT_URL_"+svc, src.Endpoint)
			}
			src.Endpoint = ""
		})
		for i := range out.results {
			out.results[i].Scope.Endpoint = "http://sim"
		}
		golden(t, "s3_demo", out.results)
	})
}

// TestThrottlingOutlastsRetries: throttling beyond the retryer's attempts
// is a run error for that region; the account's verdict is then an error,
// not a pass or a fail.
func TestThrottlingOutlastsRetries(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.Throttle("DescribeTrails", 1000)
	out := runCollector(t, sim, "aws.cloudtrail", trailNew, nil)
	for _, r := range out.results {
		require.Equal(t, evidence.StatusPartial, r.Status)
		require.Len(t, r.Errors, 2) // both regions
		for _, e := range r.Errors {
			require.Equal(t, "cloudtrail:DescribeTrails", e.Operation)
			require.Contains(t, e.Message, "ThrottlingException")
		}
		f := findingOf(t, r, checkTrailMultiRegion, accountARN("aws", r.Scope.Account))
		require.Equal(t, evidence.Error, f.Status)
	}
}

// TestBucketReadInItsRegion: each bucket's settings are read in the
// bucket's own region (the simulator, like S3, redirects any other).
func TestBucketReadInItsRegion(t *testing.T) {
	sim := awssim.NewAt(simNow)
	runCollector(t, sim, "aws.s3", s3New, nil)
	n := 0
	for _, r := range sim.Requests() {
		if r.Service != "s3" || r.Operation == "ListBuckets" {
			continue
		}
		require.NotEqual(t, 301, r.Status, "read in the wrong region: %+v", r)
		if r.Account == prod && r.Region == "eu-west-1" {
			n++
		}
	}
	require.Equal(t, 6, n, "six settings of acme-legacy-uploads read in eu-west-1")
}

// TestS3ConfiguredRegions: a bucket outside the configured regions is
// inventoried, not read, and gets no finding.
func TestS3ConfiguredRegions(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.s3", s3New, func(src *collector.AWSSource) { src.Regions = []string{"us-east-1"} })
	r := out.results[0]
	require.Equal(t, evidence.StatusComplete, r.Status)
	legacy := "arn:aws:s3:::acme-legacy-uploads"
	for _, f := range r.Findings {
		require.NotEqual(t, legacy, f.Resource)
	}
	var rec evidence.Record
	for _, x := range r.Records {
		if x.ID == legacy {
			rec = x
		}
	}
	require.Equal(t, "eu-west-1", rec.Region)
	require.Equal(t, true, rec.Attributes["outside_configured_regions"])
	for _, q := range sim.Requests() {
		require.NotEqual(t, "eu-west-1", q.Region, "%+v", q)
	}
}

// TestWrongAccountCredentials: credentials that belong to another account
// than the one configured fail that account instead of mislabelling it.
func TestWrongAccountCredentials(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.iam", iamNew, func(src *collector.AWSSource) {
		src.Accounts[1].RoleARN, src.Accounts[1].ExternalID = "", ""
	})
	require.Equal(t, evidence.StatusComplete, out.results[0].Status)
	require.Equal(t, evidence.StatusFailed, out.results[1].Status)
	require.Contains(t, out.results[1].Errors[0].Message, "credentials belong to account 111122223333, not 444455556666")
}

// TestZeroThresholdsUseDefaults: unset limits fall back to the catalog's.
func TestZeroThresholdsUseDefaults(t *testing.T) {
	s := &session{}
	require.Equal(t, 2190, s.thresholds().LogRetentionDays)
	require.Equal(t, 90, s.thresholds().AccessKeyMaxAgeDays)
}

// TestBucketLocationFallback: when ListBuckets names no regions, each
// bucket's region comes from GetBucketLocation.
func TestBucketLocationFallback(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.OmitBucketRegion = true
	out := runCollector(t, sim, "aws.s3", s3New, nil)
	golden(t, "s3_demo", out.results)
	require.Equal(t, 5, sim.Count(prod, "s3", "GetBucketLocation"))
}

// TestBucketLocationDenied: a bucket whose region cannot be learnt is one
// run error and error findings, not a pass.
func TestBucketLocationDenied(t *testing.T) {
	sim := awssim.NewAt(simNow)
	sim.OmitBucketRegion = true
	sim.Deny(prod, "", "GetBucketLocation")
	out := runCollector(t, sim, "aws.s3", s3New, nil)
	r := out.results[0]
	require.Equal(t, evidence.StatusPartial, r.Status)
	require.Len(t, r.Errors, 5)
	for _, e := range r.Errors {
		require.Equal(t, "s3:GetBucketLocation", e.Operation)
	}
	for _, f := range r.Findings {
		require.Equal(t, evidence.Error, f.Status, "%s %s", f.Check, f.Resource)
	}
	require.Equal(t, evidence.StatusComplete, out.results[1].Status)
}

// TestRunEndsEarly: regions the run never reached because its context
// ended are run errors, and the account's verdict is error, not fail.
func TestRunEndsEarly(t *testing.T) {
	isolateEnv(t)
	sim := awssim.NewAt(simNow)
	ctx, cancel := context.WithCancel(collector.WithRecorder(t.Context(), collector.NewRecorder()))
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribeTrails") {
			// End the run while this call is in flight, and answer only
			// once the client has given up on it, so the call always fails.
			// (The server notices the client leaving once the body is read.)
			io.Copy(io.Discard, r.Body)
			cancel()
			<-r.Context().Done()
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := sim.Source(srv.URL)
	src.Concurrency = 1
	c, err := newCloudTrail(collector.Settings{ID: "aws.cloudtrail", Sources: collector.Sources{AWS: src},
		HTTPClient: collector.NewHTTPClient(nil)}, fastTuning())
	require.NoError(t, err)
	res, err := c.Collect(ctx, collector.Request{Scope: evidence.Scope{Provider: "aws", Account: prod, Regions: src.Regions}, Now: simNow})
	var pe *collector.PartialError
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Errors, 2)
	f := finding(checkTrailMultiRegion, "", "", "", nil)
	for _, x := range res.Findings {
		if x.Check == checkTrailMultiRegion && x.Resource == "arn:aws:iam::111122223333:root" {
			f = x
		}
	}
	require.Equal(t, evidence.Error, f.Status)
}

// TestObjectLockReadOnlyWithVersioning: Object Lock requires versioning
// (and keeps it from being suspended), so a bucket whose versioning is off
// or suspended is not asked for its Object Lock configuration; one whose
// versioning could not be read still is. The evidence is what asking
// would have shown: no Object Lock.
func TestObjectLockReadOnlyWithVersioning(t *testing.T) {
	sim := awssim.NewAt(simNow)
	all := runCollector(t, sim, "aws.s3", s3New, nil)
	require.Equal(t, 5, sim.Count(prod, "s3", "GetObjectLockConfiguration"), "every bucket of the demo estate is versioned")

	sim = awssim.NewAt(simNow)
	byName := map[string]*awssim.Bucket{}
	for _, b := range sim.Accounts[prod].Buckets {
		byName[b.Name] = b
	}
	byName["acme-public-site"].Versioning = ""
	byName["acme-legacy-uploads"].Versioning = "Suspended"
	out := runCollector(t, sim, "aws.s3", s3New, nil)
	require.Equal(t, 3, sim.Count(prod, "s3", "GetObjectLockConfiguration"))
	require.Equal(t, evidence.StatusComplete, out.results[0].Status)
	for _, name := range []string{"acme-public-site", "acme-legacy-uploads"} {
		for _, r := range out.results[0].Records {
			if r.ID == "arn:aws:s3:::"+name {
				require.NotContains(t, r.Attributes, "object_lock", name)
			}
		}
	}
	// Beside versioning, the evidence is that of the estate read in full.
	require.Equal(t, len(all.results[0].Records), len(out.results[0].Records))

	sim = awssim.NewAt(simNow)
	sim.Deny(prod, "", "GetBucketVersioning")
	runCollector(t, sim, "aws.s3", s3New, nil)
	require.Equal(t, 5, sim.Count(prod, "s3", "GetObjectLockConfiguration"), "unknown versioning: Object Lock is still read")
}

// TestSharedTrailBucketReadOnce: two trails delivering to one bucket
// cost one read of its location, lifecycle and Object Lock, and each is
// judged on the same answers; a denied read is recorded for each trail.
func TestSharedTrailBucketReadOnce(t *testing.T) {
	sim := awssim.NewAt(simNow)
	second := sim.Accounts[prod].Trails[0]
	second.Name, second.MultiRegion, second.Prefix = "app-audit", false, "app"
	sim.Accounts[prod].Trails = append(sim.Accounts[prod].Trails, second)
	out := runCollector(t, sim, "aws.cloudtrail", trailNew, nil)
	r := out.results[0]
	require.Equal(t, evidence.StatusComplete, r.Status, "%v", r.Errors)
	for _, op := range []string{"GetBucketLocation", "GetBucketLifecycleConfiguration", "GetObjectLockConfiguration"} {
		require.Equal(t, 1, sim.Count(prod, "s3", op), op)
	}
	a := findingOf(t, r, checkTrailRetention, "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-audit")
	b := findingOf(t, r, checkTrailRetention, "arn:aws:cloudtrail:us-east-1:111122223333:trail/app-audit")
	require.Equal(t, evidence.Pass, a.Status)
	require.Equal(t, a.Status, b.Status)
	require.Equal(t, a.Observed["object_lock_days"], b.Observed["object_lock_days"])

	sim = awssim.NewAt(simNow)
	sim.Accounts[prod].Trails = append(sim.Accounts[prod].Trails, second)
	sim.Deny(prod, "", "GetObjectLockConfiguration")
	out = runCollector(t, sim, "aws.cloudtrail", trailNew, nil)
	r = out.results[0]
	require.Equal(t, 1, sim.Count(prod, "s3", "GetObjectLockConfiguration"))
	var denied []string
	for _, e := range r.Errors {
		if e.Operation == "s3:GetBucketObjectLockConfiguration" {
			denied = append(denied, e.Where)
		}
	}
	require.Len(t, denied, 2, "the one denied read is an error of each trail: %v", r.Errors)
}
