package evidence

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"
)

func sample() *Snapshot {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	return &Snapshot{
		ID:         ulid.MustNew(ulid.Timestamp(t0), strings.NewReader(strings.Repeat("\x01", 16))).String(),
		Series:     "aws.iam/111122223333",
		Seq:        1,
		Collector:  CollectorRef{Type: "aws.iam", Version: "1.0.0", ID: "aws.iam"},
		Scope:      Scope{Provider: "aws", Account: "111122223333"},
		StartedAt:  t0,
		FinishedAt: t0.Add(time.Second),
		Status:     StatusComplete,
		Records:    []Record{{Type: "user", ID: "arn:aws:iam::111122223333:user/alice", Attributes: map[string]any{"z": 1, "a": "<b>&", "n": 1e21}}},
		Findings: []Finding{{Check: "aws.iam.root_mfa", Resource: "arn:aws:iam::111122223333:root", Status: Fail,
			Controls: []string{"soc2:CC6.6", "soc2:CC6.1", "soc2:CC6.1"}, Reason: "root has no MFA"}},
	}
}

func TestEncodeIsCanonicalAndStable(t *testing.T) {
	b, err := Encode(sample())
	require.NoError(t, err)
	s := string(b)
	// RFC 8785: keys sorted by code point, no insignificant white space,
	// no HTML escaping, ES6 number form.
	require.True(t, strings.HasPrefix(s, `{"agent":`), s[:40])
	require.Contains(t, s, `"attributes":{"a":"<b>&","n":1e+21,"z":1}`)
	require.NotContains(t, s, "\n")
	// Times are UTC, to the millisecond.
	require.Contains(t, s, `"started_at":"2026-11-24T09:00:00.123Z"`)
	// Controls are sorted, de-duplicated and gathered at the top.
	require.Contains(t, s, `"controls":["soc2:CC6.1","soc2:CC6.6"]`)

	again, err := Encode(sample())
	require.NoError(t, err)
	require.Equal(t, b, again)

	parsed, err := Parse(b)
	require.NoError(t, err)
	round, err := Encode(parsed)
	require.NoError(t, err)
	require.Equal(t, string(b), string(round), "parse then encode must reproduce the bytes")
	require.Equal(t, Digest(b), Digest(round))
}

func TestParseRejects(t *testing.T) {
	good, err := Encode(sample())
	require.NoError(t, err)
	cases := map[string]struct {
		doc  string
		want string
	}{
		"not json":        {`{"schema":`, "not valid JSON"},
		"not canonical":   {strings.Replace(string(good), `{"agent"`, `{ "agent"`, 1), "not canonical"},
		"unknown field":   {strings.Replace(string(good), `{"agent"`, `{"aaa":1,"agent"`, 1), "unknown field"},
		"flipped status":  {strings.Replace(string(good), `"status":"fail"`, `"status":"pasz"`, 1), `unknown result "pasz"`},
		"seq zero":        {strings.Replace(string(good), `"seq":1`, `"seq":0`, 1), "seq: must be 1 or more"},
		"prev on seq 1":   {strings.Replace(string(good), `"prev":""`, `"prev":"ab"`, 1), "prev: must be empty for seq 1"},
		"wrong schema":    {strings.Replace(string(good), Schema, "exhibit.dev/evidence/v9", 1), "schema: want"},
		"field name case": {strings.Replace(string(good), `"records":`, `"Records":`, 1), "not canonical"},
		"missing field":   {strings.Replace(string(good), `"key_id":"",`, ``, 1), "not in the form the v1 contract writes"},
		"complete+errors": {strings.Replace(string(good), `"errors":[]`, `"errors":[{"message":"x","where":"y"}]`, 1), "complete, but 1 errors"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestValidateStatusNeedsErrors(t *testing.T) {
	s := sample()
	s.Status = StatusPartial
	_, err := Encode(s)
	require.ErrorContains(t, err, "partial without any recorded error")
	s.Errors = []RunError{{Where: "us-east-1", Message: "AccessDenied"}}
	_, err = Encode(s)
	require.NoError(t, err)
}

// An accepted risk is an optional part of a failing finding: absent, it
// leaves the bytes as they were; present, it round-trips exactly; it is
// refused on any finding that does not fail.
func TestAcceptedRisksOnFindings(t *testing.T) {
	plain, err := Encode(sample())
	require.NoError(t, err)
	require.NotContains(t, string(plain), "accepted")

	s := sample()
	s.Findings[0].Accepted = &Acceptance{ID: "AR-1", Owner: "platform", Reason: "break-glass <root>", Until: "2027-03-31", Approver: "ciso", Approved: "2026-11-01"}
	b, err := Encode(s)
	require.NoError(t, err)
	require.Contains(t, string(b), `"accepted":{"approved":"2026-11-01","approver":"ciso","id":"AR-1","owner":"platform","reason":"break-glass <root>","until":"2027-03-31"}`)
	parsed, err := Parse(b)
	require.NoError(t, err)
	require.Equal(t, s.Findings[0].Accepted, parsed.Findings[0].Accepted)

	s = sample()
	s.Findings[0].AcceptanceExpired = &ExpiredAcceptance{ID: "AR-1", Owner: "platform", Until: "2026-01-31"}
	b, err = Encode(s)
	require.NoError(t, err)
	require.Contains(t, string(b), `"acceptance_expired":{"id":"AR-1","owner":"platform","until":"2026-01-31"}`)
	_, err = Parse(b)
	require.NoError(t, err)

	bad := map[string]func(f *Finding){
		"on a pass": func(f *Finding) {
			f.Status = Pass
			f.Accepted = &Acceptance{ID: "a", Owner: "o", Reason: "r", Until: "2027-01-01", Approver: "x", Approved: "2026-01-01"}
		},
		"expired on an error": func(f *Finding) {
			f.Status = Error
			f.AcceptanceExpired = &ExpiredAcceptance{ID: "a", Owner: "o", Until: "2026-01-01"}
		},
		"both": func(f *Finding) {
			f.Accepted = &Acceptance{ID: "a", Owner: "o", Reason: "r", Until: "2027-01-01", Approver: "x", Approved: "2026-01-01"}
			f.AcceptanceExpired = &ExpiredAcceptance{ID: "a", Owner: "o", Until: "2026-01-01"}
		},
		"not a date": func(f *Finding) {
			f.Accepted = &Acceptance{ID: "a", Owner: "o", Reason: "r", Until: "2027-02-30", Approver: "x", Approved: "2026-01-01"}
		},
		"no approver": func(f *Finding) {
			f.Accepted = &Acceptance{ID: "a", Owner: "o", Reason: "r", Until: "2027-01-01", Approved: "2026-01-01"}
		},
	}
	want := map[string]string{
		"on a pass": "an accepted risk on a finding that is pass, not fail", "expired on an error": "an accepted risk on a finding that is error, not fail",
		"both": "both accepted and acceptance_expired", "not a date": `findings[0].accepted.until: want a date YYYY-MM-DD, got "2027-02-30"`,
		"no approver": "approver are required",
	}
	for name, change := range bad {
		t.Run(name, func(t *testing.T) {
			s := sample()
			change(&s.Findings[0])
			_, err := Encode(s)
			require.ErrorContains(t, err, want[name])
		})
	}
	// Stored bytes with an acceptance on a pass are not evidence either.
	s = sample()
	s.Findings[0].Accepted = &Acceptance{ID: "a", Owner: "o", Reason: "r", Until: "2027-01-01", Approver: "x", Approved: "2026-01-01"}
	b, err = Encode(s)
	require.NoError(t, err)
	_, err = Parse([]byte(strings.Replace(string(b), `"status":"fail"`, `"status":"pass"`, 1)))
	require.ErrorContains(t, err, "an accepted risk on a finding that is pass, not fail")
	_, err = Parse([]byte(strings.Replace(string(b), `"accepted":{`, `"accepted":null,"x":{`, 1)))
	require.Error(t, err)
}

func TestSeriesName(t *testing.T) {
	require.Equal(t, "aws.iam/111122223333", SeriesName("aws.iam", "111122223333"))
	require.Equal(t, "okta.access/acme.okta.com", SeriesName("okta.access", "Acme.Okta.com"))
	require.Equal(t, "github.access/my-org", SeriesName("github.access", "My Org"))
	require.Equal(t, "x/default", SeriesName("x", "///"))
	require.True(t, ValidSeries(SeriesName("a", "b c")))
}

func FuzzParse(f *testing.F) {
	good, err := Encode(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	withAcceptance := sample()
	withAcceptance.Findings[0].Accepted = &Acceptance{ID: "AR-1", Owner: "o", Reason: "r", Until: "2027-01-01", Approver: "a", Approved: "2026-01-01"}
	if b, err := Encode(withAcceptance); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"seq":1e400}`))
	f.Add([]byte(`[1,2`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must re-encode to exactly the same bytes.
		out, err := Encode(s)
		if err != nil {
			t.Fatalf("parsed but does not re-encode: %v", err)
		}
		if string(out) != string(b) {
			t.Fatalf("round trip changed the bytes:\n%s\n%s", b, out)
		}
	})
}

// parseTwoPass is Parse as it was before it became single-pass: canonical
// form checked by jcs, decoded, validated, decoded again and re-encoded.
// FuzzParseAgreesWithTwoPass holds the single pass to its verdicts.
func parseTwoPass(b []byte) (*Snapshot, error) {
	if err := diagnose(b); err != nil && !strings.Contains(err.Error(), "re-encoding is not stable") {
		return nil, err
	}
	return decode(b)
}

func FuzzParseAgreesWithTwoPass(f *testing.F) {
	good, err := Encode(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), `"records":`, `"Records":`, 1)))
	f.Add([]byte(strings.Replace(string(good), `"key_id":"",`, ``, 1)))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, errOne := Parse(b)
		_, errTwo := parseTwoPass(b)
		if (errOne == nil) != (errTwo == nil) {
			t.Fatalf("single pass says %v, two passes say %v", errOne, errTwo)
		}
		if errOne != nil && errOne.Error() != errTwo.Error() {
			t.Fatalf("different reasons: %q and %q", errOne, errTwo)
		}
	})
}

func TestValidControlRefMatchesPattern(t *testing.T) {
	refs := []string{"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)", "soc2:", ":CC6.1", "Soc2:CC6.1", "soc2:CC 6.1", "soc2:CC6.1\n",
		"a:b:c", "x1:_-.()", "soc2:é", "", ":", "soc2::x", "a:b\x00"}
	for _, ref := range refs {
		require.Equal(t, controlRef.MatchString(ref), ValidControlRef(ref), "%q", ref)
	}
}

func FuzzValidControlRef(f *testing.F) {
	f.Add("soc2:CC6.1")
	f.Add("hipaa:164.312(a)(2)(iv)")
	f.Fuzz(func(t *testing.T, ref string) {
		if controlRef.MatchString(ref) != ValidControlRef(ref) {
			t.Fatalf("%q: pattern says %v", ref, controlRef.MatchString(ref))
		}
	})
}

// TestLargeSnapshotsAreMadeAtTheirSize: the bytes of a snapshot of many
// findings are made once, at their final length (a grown slice's capacity
// is past it), and are the same bytes as when grown.
func TestLargeSnapshotsAreMadeAtTheirSize(t *testing.T) {
	s := sample()
	s.Findings = nil
	for i := range 5000 {
		s.Findings = append(s.Findings, Finding{Check: "github.pr.approved", Resource: fmt.Sprintf("acme/api#%d", i), Status: Pass,
			Controls: []string{"soc2:CC8.1"}, Reason: "approved by \"ana\" <ana@example.com>\n",
			Observed: map[string]any{"approvers": []any{"ana", "bo"}, "required": 1, "self_approved": false, "note": "é\u2028\x01"}})
	}
	b, err := Encode(s)
	require.NoError(t, err)
	require.Equal(t, len(b), cap(b), "made at its size")
	require.Greater(t, len(b), 1<<20)
	grown, err := appendSnapshot(nil, s)
	require.NoError(t, err)
	require.Equal(t, grown, b)
}
