package awscollector

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

var update = flag.Bool("update", false, "rewrite the golden expected.json files")

// simNow is the fixed present of golden cases, so their dates are stable.
var simNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// fastTuning keeps retries and report polling quick in tests.
func fastTuning() tuning {
	return tuning{
		backoff:      retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil }),
		noRateLimit:  true,
		pollInterval: time.Millisecond,
		pollAttempts: 10,
	}
}

// isolateEnv points the default credential chain at dummy static keys and
// nothing else on the machine.
func isolateEnv(t testing.TB) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXHIBITTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-value")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_RETRY_MODE", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
}

type newFunc func(collector.Settings, tuning) (collector.Collector, error)

func iamNew(s collector.Settings, t tuning) (collector.Collector, error) { return newIAM(s, t) }

// scopeResult is one scope's outcome as golden files hold it.
type scopeResult struct {
	Scope       evidence.Scope        `json:"scope"`
	Status      evidence.Status       `json:"status"`
	Errors      []evidence.RunError   `json:"errors"`
	Records     []evidence.Record     `json:"records"`
	Findings    []evidence.Finding    `json:"findings"`
	Attachments []evidence.Attachment `json:"attachments"`
}

type runOutcome struct {
	results []scopeResult
	raw     map[string]*collector.Result
	calls   []evidence.Call
}

// runCollector runs every scope of a collector against sim.
func runCollector(t testing.TB, sim *awssim.Sim, typ string, nf newFunc, edit func(*collector.AWSSource)) runOutcome {
	t.Helper()
	isolateEnv(t)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	src := sim.Source(srv.URL)
	if edit != nil {
		edit(src)
	}
	c, err := nf(collector.Settings{
		ID: typ, Sources: collector.Sources{AWS: src}, Thresholds: collector.DefaultThresholds(),
		HTTPClient: collector.NewHTTPClient(nil), Logger: zap.NewNop(),
	}, fastTuning())
	require.NoError(t, err)
	rec := collector.NewRecorder()
	ctx := collector.WithRecorder(t.Context(), rec)
	scopes, err := c.Scopes(ctx)
	require.NoError(t, err)
	out := runOutcome{raw: map[string]*collector.Result{}}
	for _, sc := range scopes {
		res, err := c.Collect(ctx, collector.Request{Scope: sc, Now: sim.Now})
		r := scopeResult{Scope: sc, Status: evidence.StatusComplete, Errors: []evidence.RunError{}}
		var pe *collector.PartialError
		switch {
		case err == nil:
		case errors.As(err, &pe):
			r.Status, r.Errors = evidence.StatusPartial, pe.Errors
		default:
			r.Status, r.Errors = evidence.StatusFailed, []evidence.RunError{{Where: "account/" + sc.Account, Message: err.Error()}}
		}
		if res != nil {
			r.Records, r.Findings = res.Records, res.Findings
			for _, a := range res.Attachments {
				sum := sha256.Sum256(a.Data)
				r.Attachments = append(r.Attachments, evidence.Attachment{Name: a.Name, MediaType: a.MediaType, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(a.Data))})
			}
			out.raw[sc.Account] = res
		}
		sortResult(&r)
		out.results = append(out.results, r)
	}
	out.calls = rec.Calls()
	return out
}

func sortResult(r *scopeResult) {
	sort.SliceStable(r.Records, func(i, j int) bool {
		a, b := r.Records[i], r.Records[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Region < b.Region
	})
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Resource < b.Resource
	})
	sort.SliceStable(r.Errors, func(i, j int) bool {
		if r.Errors[i].Where != r.Errors[j].Where {
			return r.Errors[i].Where < r.Errors[j].Where
		}
		return r.Errors[i].Operation < r.Errors[j].Operation
	})
}

// golden compares results with testdata/<name>/expected.json; -update
// rewrites it. Values are compared as JSON, the form evidence is stored in.
func golden(t *testing.T, name string, results []scopeResult) {
	t.Helper()
	got, err := json.MarshalIndent(results, "", "  ")
	require.NoError(t, err)
	got = normalizeJSON(t, got)
	path := filepath.Join("testdata", name, "expected.json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update to create %s", path)
	require.JSONEq(t, string(want), string(got))
}

// normalizeJSON replaces the sim's request ids, which differ every run.
func normalizeJSON(t *testing.T, b []byte) []byte {
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	v = scrub(v)
	out, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	return append(out, '\n')
}

func scrub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = scrub(e)
		}
	case []any:
		for i, e := range x {
			x[i] = scrub(e)
		}
	case string:
		x = requestIDPattern.ReplaceAllString(x, "RequestID: <id>")
		return endpointPattern.ReplaceAllString(x, "http://sim")
	}
	return v
}

var (
	requestIDPattern = regexp.MustCompile(`RequestID: [A-Za-z0-9-]+`)
	endpointPattern  = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)
)

// requireRetried throttles each of ops twice, runs the collector over the
// demo estate, and requires the evidence to be the golden file's and every
// operation to have been retried: throttling costs time, never evidence.
func requireRetried(t *testing.T, typ string, nf newFunc, goldenName string, ops ...string) {
	t.Helper()
	sim := awssim.NewAt(simNow)
	for _, op := range ops {
		sim.Throttle(op, 2)
	}
	out := runCollector(t, sim, typ, nf, nil)
	golden(t, goldenName, out.results)
	retried := map[string]bool{}
	throttled := map[string]int{}
	for _, call := range out.calls {
		if call.Attempt > 1 {
			retried[call.Operation] = true
		}
		if collector.IsThrottled(call) {
			throttled[call.Operation]++
		}
	}
	for _, op := range ops {
		require.True(t, retried[op], "%s was not retried", op)
		// Each service answers in its own wire shape; the provenance
		// knows every one of them for a throttle.
		require.Equal(t, 2, throttled[op], "%s: throttled answers marked in the provenance", op)
	}
	require.Len(t, throttled, len(ops), "no other answer is marked throttled")
}
