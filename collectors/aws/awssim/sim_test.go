package awssim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSourceIsValid(t *testing.T) {
	s := NewAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	src := s.Source("http://127.0.0.1:1")
	require.NoError(t, src.Validate())
	require.Len(t, src.Accounts, 2)
	require.Equal(t, Production, src.Accounts[0].ID)
	require.Empty(t, src.Accounts[0].RoleARN)
	require.Equal(t, "arn:aws:iam::444455556666:role/exhibit-reader", src.Accounts[1].RoleARN)
	require.Equal(t, StagingExternalID, src.Accounts[1].ExternalID.Reveal())
	require.Len(t, src.Regions, 2)
}

func TestUnsignedRequestRefused(t *testing.T) {
	rec := httptest.NewRecorder()
	NewAt(time.Now()).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	require.Equal(t, http.StatusForbidden, rec.Code)
}

func TestCredentialReportDatesFollowNow(t *testing.T) {
	now := time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)
	csv := string(NewAt(now).CredentialReport(Production))
	require.Contains(t, csv, "ci-deploy,arn:aws:iam::111122223333:user/ci-deploy")
	require.Contains(t, csv, now.AddDate(0, 0, -200).Format("2006-01-02T15:04:05+00:00"))
	require.Nil(t, NewAt(now).CredentialReport("000000000000"))
}

// TestNewScaleSplitsTheEstate: issue 17's estate, split evenly, every
// account reachable with the collector configuration Source gives.
func TestNewScaleSplitsTheEstate(t *testing.T) {
	s := NewScale(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), IssueScale)
	require.Len(t, s.Accounts, 20)
	users, buckets, trails := 0, 0, 0
	for _, a := range s.Accounts {
		require.Len(t, a.Users, 100)
		require.Len(t, a.Buckets, 250)
		require.Len(t, a.Trails, 2)
		users, buckets, trails = users+len(a.Users), buckets+len(a.Buckets), trails+len(a.Trails)
		for _, tr := range a.Trails {
			require.Equal(t, a.Buckets[0].Name, tr.Bucket, "trails share the account's log bucket")
		}
	}
	require.Equal(t, []int{2000, 5000, 40}, []int{users, buckets, trails})
	require.Equal(t, ScaleLimits(), s.Limits)
	src := s.Source("http://127.0.0.1:1")
	require.NoError(t, src.Validate())
	require.Len(t, src.Accounts, 20)
	require.Equal(t, s.Home, src.Accounts[0].ID)
}

// TestLimitRefusesInTheServiceShape: over its limit an account's call is
// answered with the service's throttling error; another account's bucket
// is its own.
func TestLimitRefusesInTheServiceShape(t *testing.T) {
	s := NewScale(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Scale{Accounts: 2, Users: 2, Buckets: 2, Trails: 2})
	s.Limits = map[string]float64{"iam": 1}
	s.Latency, s.Jitter = 0, 0
	call := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=GetAccountPasswordPolicy&Version=2010-05-08"))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	require.Equal(t, http.StatusOK, call("AKIDHOME").Code)
	refused := call("AKIDHOME")
	require.Equal(t, http.StatusBadRequest, refused.Code)
	require.Contains(t, refused.Body.String(), "<Code>Throttling</Code>")
	other := ""
	for id := range s.Accounts {
		if id != s.Home {
			other = id
		}
	}
	require.Equal(t, http.StatusOK, call("ASIASIM"+other).Code, "the other account has its own bucket")
	var throttled []bool
	for _, r := range s.Requests() {
		throttled = append(throttled, r.Throttled)
	}
	require.Equal(t, []bool{false, true, false}, throttled)
}
