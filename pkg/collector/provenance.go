package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

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
		if why, ok := throttled(req, resp); ok {
			call.Error = ThrottledPrefix + why
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

// ThrottledPrefix begins the Error of a call whose answer was the
// provider refusing it for its rate limit: an AWS throttling error code,
// an HTTP 429, GitHub's 403 for an exhausted or secondary limit, or
// GitHub GraphQL's 200 with an error of type RATE_LIMITED. The SDKs and
// collectors retry such answers, so the call's evidence is not lost; the
// mark tells how often pacing fell short.
const ThrottledPrefix = "throttled: "

// IsThrottled reports whether c was refused for a rate limit.
func IsThrottled(c evidence.Call) bool { return strings.HasPrefix(c.Error, ThrottledPrefix) }

// Throttled counts the throttled answers among calls by service.
func Throttled(calls []evidence.Call) map[string]int {
	n := map[string]int{}
	for _, c := range calls {
		if IsThrottled(c) {
			n[c.Service]++
		}
	}
	return n
}

// peekLimit bounds how much of an error answer is read to find its code:
// error bodies are small, and the rest is handed on unread.
const peekLimit = 4 << 10

// throttled reports whether resp refuses req for a rate limit, and the
// code or status that says so.
func throttled(req *http.Request, resp *http.Response) (string, bool) {
	status := resp.StatusCode
	aws := awsmiddleware.GetServiceID(req.Context()) != ""
	if !aws && status == http.StatusOK && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/graphql") {
		return graphqlRateLimited(peek(resp))
	}
	if status < 400 {
		return "", false
	}
	if !aws && status != http.StatusTooManyRequests && status != http.StatusForbidden {
		return "", false
	}
	body := peek(resp)
	if aws {
		code := awsErrorCode(resp.Header, body)
		if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
			return code, true
		}
		if status == http.StatusTooManyRequests {
			return "HTTP 429", true
		}
		return "", false
	}
	if status == http.StatusTooManyRequests {
		return "HTTP 429", true
	}
	// GitHub answers an exhausted primary limit and a secondary limit with
	// 403, telling them from a permission refusal by its headers or words.
	if resp.Header.Get("X-Ratelimit-Remaining") == "0" || resp.Header.Get("Retry-After") != "" ||
		bytes.Contains(bytes.ToLower(body), []byte("rate limit")) {
		return "HTTP 403 rate limit", true
	}
	return "", false
}

// graphqlRateLimited reports whether a GraphQL answer is GitHub's refusal
// for its rate limit: HTTP 200 with an error of type RATE_LIMITED (and no
// data). Such an answer is small; one longer than the peek holds data and
// is not a refusal.
func graphqlRateLimited(body []byte) (string, bool) {
	if len(body) >= peekLimit || !bytes.Contains(body, []byte("RATE_LIMITED")) {
		return "", false
	}
	var v struct {
		Errors []struct {
			Type string `json:"type"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", false
	}
	for _, e := range v.Errors {
		if e.Type == "RATE_LIMITED" {
			return "RATE_LIMITED", true
		}
	}
	return "", false
}

// peek returns the first bytes of resp's body and leaves the body whole
// for its reader.
func peek(resp *http.Response) []byte {
	if resp.Body == nil {
		return nil
	}
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, peekLimit))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
	return buf
}

var (
	xmlCode = regexp.MustCompile(`<Code>([A-Za-z0-9.]+)</Code>`)
	// cborType is the "__type" key of an RPC v2 CBOR error, then its text
	// value's head: a length below 24 in the byte itself, or in the next.
	cborType = []byte("\x66__type")
)

// awsErrorCode finds the error code of an AWS answer in the places its
// protocols put it: the X-Amzn-Errortype header, query and REST XML's
// <Code>, JSON's __type or code (with any namespace and URI cut off), and
// RPC v2 CBOR's __type.
func awsErrorCode(h http.Header, body []byte) string {
	code := h.Get("X-Amzn-Errortype")
	if code == "" {
		if m := xmlCode.FindSubmatch(body); m != nil {
			code = string(m[1])
		}
	}
	if code == "" && len(body) > 0 && body[0] == '{' {
		var v struct {
			Type string `json:"__type"`
			Code string `json:"code"`
		}
		if json.Unmarshal(body, &v) == nil {
			code = v.Type
			if code == "" {
				code = v.Code
			}
		}
	}
	if code == "" {
		code = cborText(body)
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	return code
}

// cborText returns the text string that follows a CBOR "__type" key.
func cborText(body []byte) string {
	i := bytes.Index(body, cborType)
	if i < 0 {
		return ""
	}
	rest := body[i+len(cborType):]
	if len(rest) == 0 {
		return ""
	}
	n, skip := 0, 1
	switch {
	case rest[0] >= 0x60 && rest[0] < 0x78:
		n = int(rest[0] - 0x60)
	case rest[0] == 0x78 && len(rest) > 1:
		n, skip = int(rest[1]), 2
	default:
		return ""
	}
	if len(rest) < skip+n {
		return ""
	}
	return string(rest[skip : skip+n])
}
