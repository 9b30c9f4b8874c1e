package github

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestETagCacheBounded: past maxETagBytes the least recently used answers
// are dropped, and the ones in use stay.
func TestETagCacheBounded(t *testing.T) {
	body := strings.Repeat("x", 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		etag := `"` + r.URL.Path + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	tr := &etagTransport{base: http.DefaultTransport}
	c := &http.Client{Transport: tr}
	get := func(path string) {
		resp, err := c.Get(srv.URL + path)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Len(t, b, len(body))
	}
	get("/stable")
	for i := range 40 {
		get(fmt.Sprintf("/changing-%d", i))
		get("/stable") // used every round: never the least recently used
	}
	require.LessOrEqual(t, tr.bytes, maxETagBytes)
	require.Contains(t, tr.entries, etagKey(mustGet(t, srv.URL+"/stable")))
	require.NotContains(t, tr.entries, etagKey(mustGet(t, srv.URL+"/changing-0")))
}

func mustGet(t *testing.T, url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return req
}

// TestETagLargeAnswerPassesUnkept: an answer over maxETagBody reaches the
// caller whole and is not kept.
func TestETagLargeAnswerPassesUnkept(t *testing.T) {
	body := strings.Repeat("y", maxETagBody+12345)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"big"`)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	tr := &etagTransport{base: http.DefaultTransport}
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/big")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, body, string(b))
	require.Empty(t, tr.entries)
}
