package collector_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func TestRecordsCallsWithRequestIDsAndNoQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-GitHub-Request-Id", "ABCD:1234")
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	client := collector.NewHTTPClient(nil)
	rec := collector.NewRecorder()
	ctx := collector.WithOperation(collector.WithRecorder(t.Context(), rec), "github", "ListMembers")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/orgs/acme/members?access_token=SECRET", nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	calls := rec.Calls()
	require.Len(t, calls, 1)
	c := calls[0]
	require.Equal(t, "github", c.Service)
	require.Equal(t, "ListMembers", c.Operation)
	require.Equal(t, "ABCD:1234", c.RequestID)
	require.Equal(t, http.StatusTeapot, c.HTTPStatus)
	require.Equal(t, 1, c.Attempt)
	require.False(t, c.Time.IsZero())

	// Without an operation name the path is used, never the query string.
	rec2 := collector.NewRecorder()
	req, err = http.NewRequestWithContext(collector.WithRecorder(context.Background(), rec2), http.MethodGet, srv.URL+"/x?token=SECRET", nil)
	require.NoError(t, err)
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "GET /x", rec2.Calls()[0].Operation)
	require.NotContains(t, rec2.Calls()[0].Operation, "SECRET")

	// A context without a recorder records nothing.
	req, err = http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Len(t, rec.Calls(), 1)
}

// AWS SDK calls are named by the SDK's own middleware, and its retries are
// numbered attempts of one operation.
func TestRecordsAWSOperationsAndRetries(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("X-Amzn-Requestid", "req-"+string(rune('0'+n)))
		w.Header().Set("Content-Type", "text/xml")
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>busy</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`))
			return
		}
		w.Write([]byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Account>111122223333</Account><Arn>arn:aws:iam::111122223333:user/x</Arn><UserId>AIDX</UserId></GetCallerIdentityResult><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>`))
	}))
	defer srv.Close()
	client := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   collector.NewHTTPClient(nil),
		Credentials:  aws.AnonymousCredentials{},
	})
	rec := collector.NewRecorder()
	out, err := client.GetCallerIdentity(collector.WithRecorder(t.Context(), rec), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Equal(t, "111122223333", aws.ToString(out.Account))
	calls := rec.Calls()
	require.Len(t, calls, 2)
	for i, c := range calls {
		require.Equal(t, "STS", c.Service)
		require.Equal(t, "GetCallerIdentity", c.Operation)
		require.Equal(t, "us-east-1", c.Region)
		require.Equal(t, i+1, c.Attempt)
	}
	require.Equal(t, http.StatusServiceUnavailable, calls[0].HTTPStatus)
	require.Equal(t, "req-2", calls[1].RequestID)
}

// A throttling answer is marked in the provenance with the code that said
// so, the SDK still reads the whole error body (and retries), and other
// errors are not marked.
func TestRecordsThrottledAWSAnswers(t *testing.T) {
	answers := []struct {
		status int
		body   string
	}{
		{400, `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r1</RequestId></ErrorResponse>`},
		{400, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>r2</RequestId></ErrorResponse>`},
	}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		a := answers[min(n, len(answers)-1)]
		n++
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
	}))
	defer srv.Close()
	client := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		HTTPClient: collector.NewHTTPClient(nil), Credentials: aws.AnonymousCredentials{},
	})
	rec := collector.NewRecorder()
	_, err := client.GetCallerIdentity(collector.WithRecorder(t.Context(), rec), &sts.GetCallerIdentityInput{})
	require.ErrorContains(t, err, "AccessDenied", "the SDK read the error body the recorder peeked at")
	calls := rec.Calls()
	require.Len(t, calls, 2, "the throttled attempt was retried")
	require.Equal(t, "throttled: Throttling", calls[0].Error)
	require.True(t, collector.IsThrottled(calls[0]))
	require.Empty(t, calls[1].Error)
	require.Equal(t, map[string]int{"STS": 1}, collector.Throttled(calls))
}

// Outside AWS, 429 is a throttle everywhere, and 403 only when GitHub says
// it is a rate limit.
func TestRecordsThrottledHTTPAnswers(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   string
	}{
		{"okta 429", 429, map[string]string{"X-Rate-Limit-Remaining": "0"}, `{"errorCode":"E0000047"}`, "throttled: HTTP 429"},
		{"github primary", 403, map[string]string{"X-RateLimit-Remaining": "0"}, `{"message":"API rate limit exceeded"}`, "throttled: HTTP 403 rate limit"},
		{"github secondary", 403, map[string]string{"Retry-After": "60", "X-RateLimit-Remaining": "4000"}, `{}`, "throttled: HTTP 403 rate limit"},
		{"github secondary, no header", 403, map[string]string{"X-RateLimit-Remaining": "4000"}, `{"message":"You have exceeded a secondary rate limit."}`, "throttled: HTTP 403 rate limit"},
		{"permission", 403, map[string]string{"X-RateLimit-Remaining": "4000"}, `{"message":"Resource not accessible by integration"}`, ""},
		{"server error", 503, nil, `{"message":"rate limit"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			rec := collector.NewRecorder()
			req, err := http.NewRequestWithContext(collector.WithRecorder(t.Context(), rec), http.MethodGet, srv.URL+"/api", nil)
			require.NoError(t, err)
			resp, err := collector.NewHTTPClient(nil).Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.body, string(body), "the body reaches its reader whole")
			require.Equal(t, tc.want, rec.Calls()[0].Error)
		})
	}
}

// GitHub answers a GraphQL query over its limit with HTTP 200 and an error
// of type RATE_LIMITED: that answer is marked, and no other 200 is, even
// one whose data holds the words.
func TestRecordsThrottledGraphQLAnswers(t *testing.T) {
	long := `{"data":{"repository":{"pullRequests":{"nodes":[` + strings.Repeat(`{"title":"RATE_LIMITED"},`, 400) + `{}]}}}}`
	cases := []struct {
		name, path, body, want string
	}{
		{"rate limited", "/graphql", `{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1."}]}`, "throttled: RATE_LIMITED"},
		{"rate limited, enterprise server", "/api/graphql", `{"data":null,"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}`, "throttled: RATE_LIMITED"},
		{"another error", "/graphql", `{"errors":[{"type":"NOT_FOUND","message":"RATE_LIMITED is not a repository"}]}`, ""},
		{"data", "/graphql", `{"data":{"repository":{"name":"RATE_LIMITED"}}}`, ""},
		{"long data", "/graphql", long, ""},
		{"not graphql", "/api/v3/repos", `{"errors":[{"type":"RATE_LIMITED"}]}`, ""},
		{"not json", "/graphql", `RATE_LIMITED`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			rec := collector.NewRecorder()
			ctx := collector.WithOperation(collector.WithRecorder(t.Context(), rec), "github", "graphql.pull_requests")
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+tc.path, strings.NewReader(`{"query":"{}"}`))
			require.NoError(t, err)
			resp, err := collector.NewHTTPClient(nil).Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.body, string(body), "the body reaches its reader whole")
			calls := rec.Calls()
			require.Len(t, calls, 1)
			require.Equal(t, tc.want, calls[0].Error)
			require.Equal(t, http.StatusOK, calls[0].HTTPStatus)
			if tc.want != "" {
				require.Equal(t, map[string]int{"github": 1}, collector.Throttled(calls))
			}
		})
	}
}
