package exceptions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

var declared = []string{"aws.iam.access_key_age", "aws.iam.root_mfa", "aws.s3.default_encryption", "github.branch_protection"}

const good = `accepted_risks:
  - id: AR-1
    check: aws.iam.access_key_age
    resource: "arn:aws:iam::111122223333:user/ci-*"
    owner: platform-team
    reason: CI keys move to OIDC federation in Q1
    until: 2027-03-31
    approver: ciso
    approved: 2026-11-20
  - id: AR-2
    check: aws.s3.*
    resource: "arn:aws:s3:::logs-?"
    owner: data
    reason: legacy buckets, emptied in January
    until: 2026-12-31
    approver: cto
    approved: 2026-12-01
`

func TestParse(t *testing.T) {
	s, err := Parse("risks.yaml", []byte(good), declared)
	require.NoError(t, err)
	require.Len(t, s.Entries, 2)
	require.Equal(t, Entry{ID: "AR-1", Check: "aws.iam.access_key_age", Resource: "arn:aws:iam::111122223333:user/ci-*",
		Owner: "platform-team", Reason: "CI keys move to OIDC federation in Q1",
		Until: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC), Approver: "ciso", Approved: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}, s.Entries[0])

	empty, err := Parse("risks.yaml", []byte("accepted_risks: []\n"), declared)
	require.NoError(t, err)
	require.Empty(t, empty.Entries)
}

// A bad file gives every problem at once, each with the file, the entry's
// index and the field.
func TestParseReportsEveryProblem(t *testing.T) {
	doc := `accepted_risks:
  - id: AR-1
    check: aws.iam.acces_key_age
    resource: "*"
    owner: o
    reason: r
    until: 2026-01-01
    approver: a
    approved: 2026-02-01
  - id: AR-1
    check: okta.*
    resource: x
    owner: ""
    reason: r
    approver: a
    approved: 2026-02-01
    expires: 2027-01-01
  - id: AR-3
    check: aws.iam.root_mfa
    resource: x
    owner: o
    reason: r
    until: 31/12/2026
    approver: a
  - just a string
colour: blue
`
	_, err := Parse("/etc/exhibit/risks.yaml", []byte(doc), declared)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`/etc/exhibit/risks.yaml: colour: unknown field (line 26)`,
		`/etc/exhibit/risks.yaml: accepted_risks[0].check: unknown check "aws.iam.acces_key_age" (line 3)`,
		`/etc/exhibit/risks.yaml: accepted_risks[0].until: 2026-01-01 is before approved 2026-02-01`,
		`/etc/exhibit/risks.yaml: accepted_risks[1].expires: unknown field (line 17)`,
		`/etc/exhibit/risks.yaml: accepted_risks[1].until: required: an exception without an expiry date is refused`,
		`/etc/exhibit/risks.yaml: accepted_risks[1].owner: must not be empty (line 13)`,
		`/etc/exhibit/risks.yaml: accepted_risks[1].check: "okta.*" matches no check any collector declares (line 11)`,
		`/etc/exhibit/risks.yaml: accepted_risks[1].id: "AR-1" is already used by accepted_risks[0]`,
		`/etc/exhibit/risks.yaml: accepted_risks[2].until: want a date YYYY-MM-DD, got "31/12/2026" (line 23)`,
		`/etc/exhibit/risks.yaml: accepted_risks[2].approved: required`,
		`/etc/exhibit/risks.yaml: accepted_risks[3]: want a mapping`,
	} {
		require.Contains(t, msg, want)
	}
	require.Len(t, strings.Split(msg, "\n"), 11, msg)

	for name, tc := range map[string]struct{ doc, want string }{
		"not yaml":      {"accepted_risks: [", "not valid YAML"},
		"empty":         {"", "the file is empty"},
		"a list":        {"- id: x\n", "want a mapping with accepted_risks"},
		"no list":       {"other: 1\n", "other: unknown field"},
		"not a list":    {"accepted_risks: 3\n", "accepted_risks: want a list"},
		"nested value":  {"accepted_risks:\n  - id: [a]\n", "accepted_risks[0].id: want a value"},
		"never expires": {"accepted_risks:\n  - {id: a, until: 9999-12-31}\n", "accepted_risks[0].until: 9999-12-31 is not a date between 2000 and 2999"},
		"duplicate key": {"accepted_risks:\n  - id: a\n    id: b\n", "accepted_risks[0].id: given twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.doc), declared)
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "f.yaml: "), err.Error())
		})
	}
}

func TestLoadReadsOnlyARegularFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "risks.yaml")
	require.NoError(t, os.WriteFile(p, []byte(good), 0o600))
	s, err := Load(p, declared)
	require.NoError(t, err)
	require.Equal(t, p, s.Path)
	_, err = Load(dir, declared)
	require.ErrorContains(t, err, "a directory, not a regular file")
	_, err = Load(filepath.Join(dir, "absent.yaml"), declared)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, value string
		want           bool
	}{
		{"aws.iam.root_mfa", "aws.iam.root_mfa", true},
		{"aws.iam.root_mfa", "aws.iam.root_mfa_x", false},
		{"aws.iam.*", "aws.iam.root_mfa", true},
		{"*", "", true},
		{"arn:aws:iam::111122223333:*", "arn:aws:iam::111122223333:user/path/ci-bot", true},
		{"arn:aws:iam::*:user/ci-*", "arn:aws:iam::444455556666:user/ci-deploy", true},
		{"arn:aws:iam::*:user/ci-*", "arn:aws:iam::444455556666:role/ci-deploy", false},
		{"arn:aws:s3:::logs-?", "arn:aws:s3:::logs-1", true},
		{"arn:aws:s3:::logs-?", "arn:aws:s3:::logs-12", false},
		{"ARN:*", "arn:aws", false},
		{"a[1]", "a[1]", true},
		{"a[1]", "a1", false},
		{`a\*`, `a\xyz`, true},
		{"*a*a*a*a*a*a*b", strings.Repeat("a", 200), false},
	} {
		require.Equal(t, tc.want, Match(tc.pattern, tc.value), "%q ~ %q", tc.pattern, tc.value)
	}
}

// Only failing findings carry an acceptance; one whose until day has ended
// no longer applies and the lapse is recorded instead; one not yet approved
// does not apply.
func TestApply(t *testing.T) {
	s, err := Parse("risks.yaml", []byte(good), declared)
	require.NoError(t, err)
	findings := func() []evidence.Finding {
		return []evidence.Finding{
			{Check: "aws.iam.access_key_age", Resource: "arn:aws:iam::111122223333:user/ci-deploy", Status: evidence.Fail},
			{Check: "aws.iam.access_key_age", Resource: "arn:aws:iam::111122223333:user/ci-build", Status: evidence.Pass},
			{Check: "aws.iam.access_key_age", Resource: "arn:aws:iam::111122223333:user/ci-x", Status: evidence.Error},
			{Check: "aws.iam.access_key_age", Resource: "arn:aws:iam::111122223333:user/alice", Status: evidence.Fail},
			{Check: "aws.s3.default_encryption", Resource: "arn:aws:s3:::logs-1", Status: evidence.Fail},
		}
	}
	at := func(v string) time.Time {
		tm, err := time.Parse(time.RFC3339, v)
		require.NoError(t, err)
		return tm
	}

	f := findings()
	acc, exp := s.Apply(f, at("2026-12-15T10:00:00Z"))
	require.Equal(t, [2]int{2, 0}, [2]int{acc, exp})
	require.Equal(t, &evidence.Acceptance{ID: "AR-1", Owner: "platform-team", Reason: "CI keys move to OIDC federation in Q1",
		Until: "2027-03-31", Approver: "ciso", Approved: "2026-11-20"}, f[0].Accepted)
	require.Nil(t, f[1].Accepted, "a pass never carries an acceptance")
	require.Nil(t, f[2].Accepted, "an error never carries an acceptance")
	require.Nil(t, f[3].Accepted, "another resource")
	require.Equal(t, "AR-2", f[4].Accepted.ID)
	for i, x := range f {
		require.Equal(t, findings()[i].Status, x.Status, "an acceptance never changes a status")
	}

	// The last second of the until day still applies; the next does not.
	f = findings()
	s.Apply(f, at("2026-12-31T23:59:59Z"))
	require.Equal(t, "AR-2", f[4].Accepted.ID)
	f = findings()
	acc, exp = s.Apply(f, at("2027-01-01T00:00:00Z"))
	require.Equal(t, [2]int{1, 1}, [2]int{acc, exp})
	require.Nil(t, f[4].Accepted)
	require.Equal(t, &evidence.ExpiredAcceptance{ID: "AR-2", Owner: "data", Until: "2026-12-31"}, f[4].AcceptanceExpired)
	require.Equal(t, evidence.Fail, f[4].Status)

	// Before its approval day an exception is not in force, and not expired.
	f = findings()
	acc, exp = s.Apply(f, at("2026-11-30T23:00:00Z"))
	require.Equal(t, [2]int{1, 0}, [2]int{acc, exp})
	require.Nil(t, f[4].Accepted)
	require.Nil(t, f[4].AcceptanceExpired)

	var none *Set
	acc, exp = none.Apply(f, at("2026-12-15T10:00:00Z"))
	require.Zero(t, acc+exp)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("accepted_risks:\n  - id: &a x\n    check: *a\n"))
	f.Add([]byte("accepted_risks: ~\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse("f.yaml", b, declared)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "f.yaml: "), err.Error())
			return
		}
		for _, e := range s.Entries {
			require.False(t, e.Until.Before(e.Approved))
			require.NotEmpty(t, e.ID)
		}
	})
}
