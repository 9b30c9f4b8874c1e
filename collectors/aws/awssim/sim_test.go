package awssim

import (
	"net/http"
	"net/http/httptest"
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
