package collector

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Recorder collects the provenance of every HTTP call made during one run.
type Recorder struct {
	mu    sync.Mutex
	calls []evidence.Call
	now   func() time.Time
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{now: time.Now} }

// Calls returns the calls recorded so far, in the order they completed.
func (r *Recorder) Calls() []evidence.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]evidence.Call(nil), r.calls...)
}

func (r *Recorder) add(c evidence.Call) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

type recorderKey struct{}
type operationKey struct{}

type operation struct{ service, name string }

// WithRecorder returns a context whose HTTP calls, made through a client from
// NewHTTPClient, are recorded in rec.
func WithRecorder(ctx context.Context, rec *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, rec)
}

// WithOperation names the API operation the calls made with ctx belong to,
// for SDKs that do not say so themselves (AWS SDK calls are named
// automatically).
func WithOperation(ctx context.Context, service, name string) context.Context {
	return context.WithValue(ctx, operationKey{}, operation{service, name})
}

// NewHTTPClient returns an HTTP client that records every request made with
// a context carrying a Recorder. base may be nil for the default transport.
func NewHTTPClient(base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: &provenanceTransport{base: base}}
}

type provenanceTransport struct {
	base http.RoundTripper
}

// requestIDHeaders are where providers return the id of a request in their
// own logs: AWS (JSON/query and S3), GitHub, Okta.
var requestIDHeaders = []string{
	"X-Amzn-Requestid", "X-Amz-Request-Id", "X-Github-Request-Id", "X-Okta-Request-Id", "X-Request-Id",
}

func (t *provenanceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, _ := req.Context().Value(recorderKey{}).(*Recorder)
	if rec == nil {
		return t.base.RoundTrip(req)
	}
	call := describe(req)
	call.Time = rec.now().UTC()
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		call.Error = redactURLError(err, req)
	} else {
		call.HTTPStatus = resp.StatusCode
		for _, h := range requestIDHeaders {
			if v := resp.Header.Get(h); v != "" {
				call.RequestID = v
				break
			}
		}
	}
	rec.add(call)
	return resp, err
}

func describe(req *http.Request) evidence.Call {
	ctx := req.Context()
	c := evidence.Call{Attempt: 1}
	if op, ok := ctx.Value(operationKey{}).(operation); ok {
		c.Service, c.Operation = op.service, op.name
	}
	if c.Service == "" {
		c.Service = awsmiddleware.GetServiceID(ctx)
		c.Operation = awsmiddleware.GetOperationName(ctx)
		c.Region = awsmiddleware.GetRegion(ctx)
	}
	if c.Service == "" {
		c.Service = req.URL.Hostname()
	}
	if c.Operation == "" {
		// Path only: query strings can carry tokens or signatures.
		c.Operation = req.Method + " " + req.URL.Path
	}
	// The AWS SDK numbers its attempts: "attempt=2; max=3".
	if v := req.Header.Get("Amz-Sdk-Request"); v != "" {
		for _, part := range strings.Split(v, ";") {
			if n, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
				if a, err := strconv.Atoi(n); err == nil {
					c.Attempt = a
				}
			}
		}
	}
	return c
}

// redactURLError keeps the error's meaning without the URL's query string.
func redactURLError(err error, req *http.Request) string {
	msg := err.Error()
	if q := req.URL.RawQuery; q != "" {
		msg = strings.ReplaceAll(msg, "?"+q, "")
	}
	return msg
}
