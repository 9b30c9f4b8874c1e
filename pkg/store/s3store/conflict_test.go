package s3store_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
)

// scripted is an S3 endpoint whose PUT answers follow a script, for the
// answers MinIO cannot be made to give on demand: a 409
// ConditionalRequestConflict, or a 500 after the object was stored.
type scripted struct {
	mu      sync.Mutex
	objects map[string][]byte
	puts    int
	// put decides the answer to the n-th PUT (from 1); stored says whether
	// the key already holds an object. It returns the status and the error
	// code (empty for success), and whether to store the body.
	put func(n int, stored bool) (status int, code string, store bool)
}

func (f *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.URL.Path
	switch r.Method {
	case http.MethodPut:
		if enc := r.Header.Get("Content-Encoding"); strings.Contains(enc, "aws-chunked") {
			http.Error(w, "aws-chunked bodies are not served here", http.StatusNotImplemented)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.puts++
		_, stored := f.objects[key]
		status, code, keep := f.put(f.puts, stored)
		if keep {
			f.objects[key] = body
		}
		if code != "" {
			writeError(w, status, code)
			return
		}
		w.Header().Set("ETag", `"etag"`)
		w.WriteHeader(status)
	case http.MethodGet:
		b, ok := f.objects[key]
		if !ok {
			writeError(w, http.StatusNotFound, "NoSuchKey")
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		_, _ = w.Write(b)
	default:
		http.Error(w, "unexpected", http.StatusMethodNotAllowed)
	}
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>scripted</Message><RequestId>r1</RequestId></Error>`, code)
}

func openScripted(t *testing.T, f *scripted) *s3store.Store {
	f.objects = map[string][]byte{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := s3store.Open(t.Context(), "b", "", s3store.Options{
		Region:      "us-east-1",
		Endpoint:    srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("id", "secret", ""),
	})
	require.NoError(t, err)
	return s
}

func TestConditionalWriteEdgeCases(t *testing.T) {
	t.Run("RetriedPutWhoseFirstAttemptLanded", func(t *testing.T) {
		f := &scripted{put: func(n int, stored bool) (int, string, bool) {
			switch {
			case stored:
				return http.StatusPreconditionFailed, "PreconditionFailed", false
			case n == 1:
				return http.StatusInternalServerError, "InternalError", true // stored, answer lost
			}
			return http.StatusOK, "", true
		}}
		s := openScripted(t, f)
		require.NoError(t, s.Put(t.Context(), "k", []byte("mine")))
		require.Equal(t, 2, f.puts)
	})

	t.Run("ThePreconditionFailsForOthersBytes", func(t *testing.T) {
		f := &scripted{put: func(n int, stored bool) (int, string, bool) {
			if n == 1 {
				return http.StatusInternalServerError, "InternalError", false
			}
			return http.StatusPreconditionFailed, "PreconditionFailed", false
		}}
		s := openScripted(t, f)
		f.objects["/b/k"] = []byte("theirs")
		require.ErrorIs(t, s.Put(t.Context(), "k", []byte("mine")), store.ErrExists)
	})

	t.Run("ConflictThenSuccess", func(t *testing.T) {
		f := &scripted{put: func(n int, stored bool) (int, string, bool) {
			if n <= 2 {
				return http.StatusConflict, "ConditionalRequestConflict", false
			}
			return http.StatusOK, "", true
		}}
		s := openScripted(t, f)
		require.NoError(t, s.Put(t.Context(), "k", []byte("mine")))
		require.Equal(t, 3, f.puts)
	})

	t.Run("ConflictThenTheOtherWriterWins", func(t *testing.T) {
		f := &scripted{}
		f.put = func(n int, stored bool) (int, string, bool) {
			if n == 1 {
				f.objects["/b/k"] = []byte("theirs")
				return http.StatusConflict, "ConditionalRequestConflict", false
			}
			return http.StatusPreconditionFailed, "PreconditionFailed", false
		}
		s := openScripted(t, f)
		require.ErrorIs(t, s.Put(t.Context(), "k", []byte("mine")), store.ErrExists)
	})

	t.Run("ConflictPersistsAndTheKeyIsTaken", func(t *testing.T) {
		f := &scripted{}
		f.put = func(n int, stored bool) (int, string, bool) {
			f.objects["/b/k"] = []byte("theirs")
			return http.StatusConflict, "ConditionalRequestConflict", false
		}
		s := openScripted(t, f)
		require.ErrorIs(t, s.Put(t.Context(), "k", []byte("mine")), store.ErrExists)
	})

	t.Run("ConflictPersistsAndTheKeyIsFree", func(t *testing.T) {
		f := &scripted{put: func(n int, stored bool) (int, string, bool) {
			return http.StatusConflict, "ConditionalRequestConflict", false
		}}
		s := openScripted(t, f)
		err := s.Put(t.Context(), "k", []byte("mine"))
		require.Error(t, err)
		require.NotErrorIs(t, err, store.ErrExists)
		require.Contains(t, err.Error(), "ConditionalRequestConflict")
		require.Contains(t, err.Error(), "put k (bucket b)")
	})
}

// An object larger than the limit is refused from its length, before its
// body is read: a planted 20 GB object cannot exhaust a reader's memory.
func TestGetRefusesAnObjectOverTheSizeLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(int64(20)<<30))
		w.WriteHeader(http.StatusOK)
		zeros := make([]byte, 1<<16)
		for {
			if _, err := w.Write(zeros); err != nil {
				return // the client hung up
			}
		}
	}))
	t.Cleanup(srv.Close)
	s, err := s3store.Open(t.Context(), "b", "", s3store.Options{
		Region:      "us-east-1",
		Endpoint:    srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("id", "secret", ""),
	})
	require.NoError(t, err)
	_, err = s.Get(t.Context(), "evidence/a/b/000000000001.json")
	require.ErrorIs(t, err, store.ErrTooLarge)
	require.ErrorContains(t, err, "evidence/a/b/000000000001.json")
}
