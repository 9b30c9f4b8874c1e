package awscollector

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func daysAgo(d int) time.Time { return now.AddDate(0, 0, -d) }

func TestKeyAgeBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys [2]credKey
		want evidence.Result
	}{
		{"no keys", [2]credKey{}, evidence.NotApplicable},
		{"inactive old key", [2]credKey{{Active: false, LastRotated: daysAgo(400)}}, evidence.NotApplicable},
		{"exactly 90 days", [2]credKey{{Active: true, LastRotated: daysAgo(90)}}, evidence.Pass},
		{"91 days", [2]credKey{{Active: true, LastRotated: daysAgo(91)}}, evidence.Fail},
		{"second key old", [2]credKey{{Active: true, LastRotated: daysAgo(1)}, {Active: true, LastRotated: daysAgo(200)}}, evidence.Fail},
		{"active key without rotation date", [2]credKey{{Active: true}}, evidence.Error},
		{"undated key beside an old one", [2]credKey{{Active: true}, {Active: true, LastRotated: daysAgo(200)}}, evidence.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := keyAge(credRow{User: "u", ARN: "arn:aws:iam::1:user/u", Keys: tc.keys}, now, 90)
			require.Equal(t, tc.want, f.Status, f.Reason)
		})
	}
}

func TestUnusedCredentialBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		row  credRow
		want evidence.Result
	}{
		{"nothing active", credRow{}, evidence.NotApplicable},
		{"password used 89 days ago", credRow{PasswordEnabled: true, PasswordLastUsed: daysAgo(89)}, evidence.Pass},
		{"password used 90 days ago", credRow{PasswordEnabled: true, PasswordLastUsed: daysAgo(90)}, evidence.Fail},
		{"password never used, set 10 days ago", credRow{PasswordEnabled: true, PasswordLastChanged: daysAgo(10), Created: daysAgo(300)}, evidence.Pass},
		{"password never used, set 100 days ago", credRow{PasswordEnabled: true, PasswordLastChanged: daysAgo(100), Created: daysAgo(300)}, evidence.Fail},
		{"key never used, rotated 95 days ago", credRow{Keys: [2]credKey{{Active: true, LastRotated: daysAgo(95)}}}, evidence.Fail},
		{"key used yesterday", credRow{Keys: [2]credKey{{Active: true, LastRotated: daysAgo(95), LastUsed: daysAgo(1)}}}, evidence.Pass},
		{"no dates at all", credRow{PasswordEnabled: true}, evidence.Error},
		{"undated key beside a stale password", credRow{PasswordEnabled: true, PasswordLastUsed: daysAgo(120), Keys: [2]credKey{{Active: true}}}, evidence.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.row.User, tc.row.ARN = "u", "arn:aws:iam::1:user/u"
			f := unusedCredentials(tc.row, now, 90)
			require.Equal(t, tc.want, f.Status, f.Reason)
		})
	}
}

func TestConsoleAndRootChecks(t *testing.T) {
	require.Equal(t, evidence.NotApplicable, consoleMFA(credRow{User: "u"}).Status)
	require.Equal(t, evidence.Fail, consoleMFA(credRow{User: "u", PasswordEnabled: true}).Status)
	require.Equal(t, evidence.Pass, consoleMFA(credRow{User: "u", PasswordEnabled: true, MFAActive: true}).Status)

	fs := rootFindings(credRow{ARN: "arn:aws:iam::1:root", Root: true, MFAActive: true, Keys: [2]credKey{{}, {Active: true}}}, "hardware")
	require.Equal(t, evidence.Pass, fs[0].Status)
	require.Equal(t, "hardware", fs[0].Observed["mfa_type"])
	require.Equal(t, evidence.Fail, fs[1].Status)

	// A report without a root line cannot show root's state.
	fs = credentialFindings([]credRow{{User: "u", ARN: "arn:aws:iam::1:user/u"}}, "arn:aws:iam::1:root", "", now, collector.DefaultThresholds())
	var root []evidence.Result
	for _, f := range fs {
		if f.Resource == "arn:aws:iam::1:root" {
			root = append(root, f.Status)
		}
	}
	require.Equal(t, []evidence.Result{evidence.Error, evidence.Error}, root)
}

func TestPasswordPolicyBoundaries(t *testing.T) {
	strong := func() *iamtypes.PasswordPolicy {
		return &iamtypes.PasswordPolicy{MinimumPasswordLength: aws.Int32(14), PasswordReusePrevention: aws.Int32(24),
			RequireUppercaseCharacters: true, RequireLowercaseCharacters: true, RequireNumbers: true, RequireSymbols: true}
	}
	require.Equal(t, evidence.Pass, judgePasswordPolicy(strong(), "r").Status)
	p := strong()
	p.MinimumPasswordLength = aws.Int32(13)
	require.Equal(t, evidence.Fail, judgePasswordPolicy(p, "r").Status)
	p = strong()
	p.PasswordReusePrevention = nil
	require.Equal(t, evidence.Fail, judgePasswordPolicy(p, "r").Status)
	p = strong()
	p.RequireSymbols = false
	require.Equal(t, evidence.Fail, judgePasswordPolicy(p, "r").Status)
	require.Equal(t, evidence.Fail, judgePasswordPolicy(nil, "r").Status)
}

func TestParseCredentialReportBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"missing column": "user,arn\nalice,arn:aws:iam::1:user/alice\n",
		"bad time":       reportHeader + "\nalice,arn:aws:iam::1:user/alice,yesterday,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
		"short line":     reportHeader + "\nalice,arn\n",
		"empty arn":      reportHeader + "\nalice,,N/A,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseCredentialReport([]byte(in))
			require.Error(t, err)
		})
	}
	rows, err := parseCredentialReport([]byte(reportHeader + "\n<root_account>,arn:aws:iam::1:root,2020-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.True(t, rows[0].Root)
	require.True(t, rows[0].MFAActive)
	require.False(t, rows[0].PasswordEnabled)
}

const reportHeader = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"

func TestTLSOnlyDetection(t *testing.T) {
	const arn = "arn:aws:s3:::b"
	for _, tc := range []struct {
		name, policy string
		want         bool
	}{
		{"canonical", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, true},
		{"single statement object, boolean value, AWS principal", `{"Statement":{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["s3:*"],"Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":false}}}}`, true},
		{"allow, not deny", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, false},
		{"one action only", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, false},
		{"one principal only", `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, false},
		{"other bucket", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::other/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, false},
		{"secure transport true", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`, false},
		{"BoolIfExists", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":["false"]}}}]}`, true},
		{"no condition", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePolicy(tc.policy)
			require.NoError(t, err)
			_, ok := p.deniesInsecureTransport(arn)
			require.Equal(t, tc.want, ok)
		})
	}
	_, err := parsePolicy(`{"Statement":[{"Effect":"Deny","Action":{"x":1}}]}`)
	require.Error(t, err)
	f := tlsOnly(&bucketState{name: "b", arn: arn, policy: aws.String("not json")})
	require.Equal(t, evidence.Error, f.Status)
}

func TestGrantsAdmin(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`:                                                               true,
		`%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D`: true,
		`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`:                                                            false,
		`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Action":"*","Resource":"*"}]}`:                                           false,
		`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`:                                                                false,
	} {
		p, err := parsePolicy(doc)
		require.NoError(t, err, doc)
		require.Equal(t, want, p.grantsAdmin(), doc)
	}
}

func TestManagementEvents(t *testing.T) {
	sel := func(es ...cttypes.EventSelector) *cloudtrail.GetEventSelectorsOutput {
		return &cloudtrail.GetEventSelectorsOutput{EventSelectors: es}
	}
	adv := func(fs ...cttypes.AdvancedFieldSelector) *cloudtrail.GetEventSelectorsOutput {
		return &cloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: fs}}}
	}
	field := func(name string, eq ...string) cttypes.AdvancedFieldSelector {
		return cttypes.AdvancedFieldSelector{Field: aws.String(name), Equals: eq}
	}
	for _, tc := range []struct {
		name string
		in   *cloudtrail.GetEventSelectorsOutput
		want string
	}{
		{"all", sel(cttypes.EventSelector{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll}), "All"},
		{"read and write selectors", sel(
			cttypes.EventSelector{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeReadOnly},
			cttypes.EventSelector{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeWriteOnly}), "All"},
		{"write only", sel(cttypes.EventSelector{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeWriteOnly}), "WriteOnly"},
		{"data events only", sel(cttypes.EventSelector{IncludeManagementEvents: aws.Bool(false), ReadWriteType: cttypes.ReadWriteTypeAll}), "None"},
		{"advanced, all management", adv(field("eventCategory", "Management")), "All"},
		{"advanced, read only", adv(field("eventCategory", "Management"), field("readOnly", "true")), "ReadOnly"},
		{"advanced, data", adv(field("eventCategory", "Data")), "None"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := managementEvents(tc.in)
			require.True(t, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRetentionJudgement(t *testing.T) {
	rule := func(prefix string, exp, noncurrent int32) s3types.LifecycleRule {
		r := s3types.LifecycleRule{ID: aws.String("r"), Status: s3types.ExpirationStatusEnabled, Filter: &s3types.LifecycleRuleFilter{Prefix: aws.String(prefix)}}
		if exp > 0 {
			r.Expiration = &s3types.LifecycleExpiration{Days: aws.Int32(exp)}
		}
		if noncurrent > 0 {
			r.NoncurrentVersionExpiration = &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(noncurrent)}
		}
		return r
	}
	tagged := rule("", 30, 0)
	tagged.Filter = &s3types.LifecycleRuleFilter{Tag: &s3types.Tag{Key: aws.String("k"), Value: aws.String("v")}}
	disabled := rule("", 30, 0)
	disabled.Status = s3types.ExpirationStatusDisabled
	for _, tc := range []struct {
		name string
		in   retentionInput
		want evidence.Result
	}{
		{"no lifecycle, no log group", retentionInput{}, evidence.Pass},
		{"whole-bucket expiry after 90 days", retentionInput{rules: []s3types.LifecycleRule{rule("", 90, 0)}}, evidence.Fail},
		{"expiry at exactly the minimum", retentionInput{rules: []s3types.LifecycleRule{rule("", 2190, 2190)}}, evidence.Pass},
		{"noncurrent versions expire early", retentionInput{rules: []s3types.LifecycleRule{rule("", 0, 30)}}, evidence.Fail},
		{"rule on another prefix", retentionInput{rules: []s3types.LifecycleRule{rule("tmp/", 1, 0)}}, evidence.Pass},
		{"rule on the trail's own logs", retentionInput{rules: []s3types.LifecycleRule{rule("audit/AWSLogs/1/", 30, 0)}}, evidence.Fail},
		{"tag-filtered rule", retentionInput{rules: []s3types.LifecycleRule{tagged}}, evidence.Pass},
		{"disabled rule", retentionInput{rules: []s3types.LifecycleRule{disabled}}, evidence.Pass},
		{"early expiry but Object Lock holds", retentionInput{rules: []s3types.LifecycleRule{rule("", 90, 0)}, lockDays: 2190}, evidence.Pass},
		{"lifecycle unreadable", retentionInput{rulesErr: errors.New("denied")}, evidence.Error},
		{"early expiry, Object Lock unreadable", retentionInput{rules: []s3types.LifecycleRule{rule("", 90, 0)}, lockErr: errors.New("denied")}, evidence.Error},
		{"no early expiry, Object Lock unreadable", retentionInput{rules: []s3types.LifecycleRule{rule("", 2555, 0)}, lockErr: errors.New("denied")}, evidence.Pass},
		{"lifecycle and Object Lock unreadable", retentionInput{rulesErr: errors.New("denied"), lockErr: errors.New("denied")}, evidence.Error},
		{"bucket region unreadable", retentionInput{locationErr: errors.New("denied"), rulesErr: errors.New("denied"), lockErr: errors.New("denied")}, evidence.Error},
		{"lifecycle unreadable, Object Lock holds", retentionInput{rulesErr: errors.New("denied"), lockDays: 2555}, evidence.Pass},
		{"log group never expires", retentionInput{logGroup: "g"}, evidence.Pass},
		{"log group 2192 days", retentionInput{logGroup: "g", logGroupRetention: aws.Int32(2192)}, evidence.Pass},
		{"log group 1827 days", retentionInput{logGroup: "g", logGroupRetention: aws.Int32(1827)}, evidence.Fail},
		{"log group unreadable", retentionInput{logGroup: "g", logGroupErr: errors.New("denied")}, evidence.Error},
		{"fail wins over unknown", retentionInput{rules: []s3types.LifecycleRule{rule("", 90, 0)}, logGroup: "g", logGroupErr: errors.New("denied")}, evidence.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.bucket, in.keyPrefix = "logs", "audit/AWSLogs/"
			f := judgeRetention(&trailState{trail: cttypes.Trail{TrailARN: aws.String("arn:aws:cloudtrail:us-east-1:1:trail/t")}, retention: in}, 2190)
			require.Equal(t, tc.want, f.Status, f.Reason)
		})
	}
}

func TestIAMAction(t *testing.T) {
	require.Equal(t, "s3:ListAllMyBuckets", iamAction("S3", "ListBuckets"))
	require.Equal(t, "s3:GetAccountPublicAccessBlock", iamAction("S3 Control", "GetPublicAccessBlock"))
	require.Equal(t, "s3:GetBucketPublicAccessBlock", iamAction("S3", "GetPublicAccessBlock"))
	require.Equal(t, "logs:DescribeLogGroups", iamAction("CloudWatch Logs", "DescribeLogGroups"))
	require.Equal(t, "iam:GetCredentialReport", iamAction("IAM", "GetCredentialReport"))
	require.Empty(t, iamAction("example.com", "GET /"))
}

func TestSessionName(t *testing.T) {
	require.Equal(t, "exhibit-aws.iam", sessionName("aws.iam"))
	require.Equal(t, "exhibit-my-collector-1", sessionName("my collector/1"))
	require.Len(t, sessionName(string(make([]byte, 100))), 64)
}

func TestFactories(t *testing.T) {
	types := map[string]bool{}
	for _, f := range Factories() {
		types[f.Type] = true
		require.Equal(t, "aws", f.Provider)
		require.Equal(t, "1.0.0", f.Version)
		require.NotEmpty(t, f.Checks)
		_, err := f.New(collector.Settings{ID: f.Type, HTTPClient: collector.NewHTTPClient(nil)})
		require.ErrorIs(t, err, collector.ErrNoSource)
		_, err = f.New(collector.Settings{ID: f.Type, HTTPClient: collector.NewHTTPClient(nil), Sources: collector.Sources{AWS: &collector.AWSSource{}}})
		require.ErrorContains(t, err, "accounts")
	}
	require.Equal(t, map[string]bool{"aws.iam": true, "aws.s3": true, "aws.cloudtrail": true, "aws.dynamodb": true, "aws.kms": true, "aws.ebs": true, "aws.rds": true, "aws.backup": true, "aws.network": true, "aws.logging": true, "aws.threat_detection": true, "aws.identity_center": true}, types)
}

func TestUnreportedUsers(t *testing.T) {
	d := &authDetails{users: []iamtypes.UserDetail{
		{Arn: aws.String("arn:aws:iam::1:user/old"), UserName: aws.String("old")},
		{Arn: aws.String("arn:aws:iam::1:user/new"), UserName: aws.String("new")},
	}}
	fs := unreported([]credRow{{ARN: "arn:aws:iam::1:user/old"}}, d)
	require.Len(t, fs, 3)
	for _, f := range fs {
		require.Equal(t, "arn:aws:iam::1:user/new", f.Resource)
		require.Equal(t, evidence.Error, f.Status)
	}
}
