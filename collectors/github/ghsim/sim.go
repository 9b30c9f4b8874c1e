package ghsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Token is the dummy personal access token the simulator accepts.
const Token = "demo-token"

// DefaultScopes are the classic token scopes the collectors need.
var DefaultScopes = []string{"admin:org", "repo"}

// AppToken is the installation token the simulator hands a GitHub App.
const AppToken = "ghs_simulatedinstallationtoken0000000"

// Sim is a simulated GitHub Enterprise Server: REST under /api/v3/ and
// GraphQL at /api/graphql.
type Sim struct {
	Now time.Time
	Org *Org
	// RESTPageSize caps per_page so that listings span several pages.
	RESTPageSize int
	// GraphQLPageSize caps first: so that connections span several pages.
	GraphQLPageSize int
	// NoGraphQL answers GraphQL with 404, as a server without it would.
	NoGraphQL bool
	// TokenScopes are the classic token's scopes, sent in X-OAuth-Scopes
	// on every answer to the token as GitHub does; nil is DefaultScopes.
	TokenScopes []string
	// Limits, when set, is scale mode: each token's requests are held to
	// them (see Limits) and refusals are counted (Refused).
	Limits *Limits
	// Latency ± Jitter is how long each answer takes: half before the
	// limits are checked, half after.
	Latency, Jitter time.Duration

	mu       sync.Mutex
	tokens   map[string]*tokenLimits
	refused  Refusals
	throttle []throttle
	requests int
	fail     map[string]int
	calls    map[string]int
}

// Calls returns how many requests of one kind the simulator has answered:
// "rest", "rest:304" (REST answered 304 Not Modified, which GitHub does not
// count against the rate limit), "graphql", or "graphql:" + the connection
// a query read ("graphql:pullRequests", "graphql:history").
func (s *Sim) Calls(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}

// Counted returns how many answered requests count against the rate
// limit: all but the 304s.
func (s *Sim) Counted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests - s.calls["rest:304"]
}

func (s *Sim) count(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[kind]++
}

// Fail makes requests for target answer status, as GitHub does when the
// credentials lack a permission (403) or the server fails (5xx). target is
// a REST path pattern ("/api/v3/orgs/acme/members", a "*" segment matches
// any one segment) or "graphql:pullRequests" / "graphql:history" for the
// GraphQL queries with that connection; GraphQL refuses a field with HTTP
// 200 and a FORBIDDEN error, and fails with 502.
func (s *Sim) Fail(target string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail == nil {
		s.fail = map[string]int{}
	}
	s.fail[target] = status
}

// failure returns the injected status for a REST path, or 0.
func (s *Sim) failure(urlPath string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pattern, status := range s.fail {
		if ok, _ := path.Match(pattern, urlPath); ok {
			return status
		}
	}
	return 0
}

type throttle struct {
	status     int
	retryAfter string
}

// New returns a simulator serving the demo organization as of now.
func New(now time.Time) *Sim {
	return &Sim{Now: now.UTC(), Org: demoOrg(now), RESTPageSize: 2, GraphQLPageSize: 3}
}

// Source points a GitHub source at the simulator served at baseURL (the
// server's root URL).
func (s *Sim) Source(baseURL string) *collector.GitHubSource {
	return &collector.GitHubSource{
		BaseURL:           strings.TrimSuffix(baseURL, "/") + "/api/v3/",
		Token:             Token,
		Orgs:              []string{s.Org.Login},
		ProtectedBranches: []string{"release"},
	}
}

// Throttle makes the next n requests fail with status (403 or 429) and a
// Retry-After of retryAfter seconds, as GitHub's secondary limits do; an
// empty retryAfter sends none.
func (s *Sim) Throttle(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.throttle = append(s.throttle, throttle{status, retryAfter})
	}
}

// Requests returns how many requests the simulator has answered.
func (s *Sim) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.delay()
	s.mu.Lock()
	s.requests++
	n := s.requests
	used := s.requests - s.calls["rest:304"]
	var th *throttle
	if len(s.throttle) > 0 {
		th = &s.throttle[0]
		s.throttle = s.throttle[1:]
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("SIM0:%04X:%06X", n, n*7919))
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, 5000-used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	auth := r.Header.Get("Authorization")
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v3/app/installations/") && strings.HasSuffix(r.URL.Path, "/access_tokens") {
		if status := s.failure(r.URL.Path); status != 0 {
			writeJSON(w, status, apiError("Server Error"))
			return
		}
		// A GitHub App trades its signed JWT for an installation token.
		jwt, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.Count(jwt, ".") != 2 {
			writeJSON(w, http.StatusUnauthorized, apiError("A JSON web token could not be decoded"))
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{
			"token": AppToken, "expires_at": time.Now().UTC().Add(time.Hour).Format(time.RFC3339),
			"permissions": map[string]string{"metadata": "read", "contents": "read", "pull_requests": "read", "administration": "read", "members": "read",
				"vulnerability_alerts": "read", "security_events": "read", "secret_scanning_alerts": "read"},
			"repository_selection": "all",
		})
		return
	}
	if auth != "Bearer "+Token && auth != "token "+AppToken {
		writeJSON(w, http.StatusUnauthorized, apiError("Bad credentials"))
		return
	}
	if auth == "Bearer "+Token {
		s.mu.Lock()
		scopes := s.TokenScopes
		s.mu.Unlock()
		if scopes == nil {
			scopes = DefaultScopes
		}
		h.Set("X-OAuth-Scopes", strings.Join(scopes, ", "))
	}
	var adm *admission
	if s.Limits != nil {
		var refusal func()
		adm, refusal = s.admit(w, r, auth)
		s.delay()
		if refusal != nil {
			refusal()
			return
		}
		defer adm.done()
	} else {
		s.delay()
	}
	if th != nil {
		if th.retryAfter != "" {
			h.Set("Retry-After", th.retryAfter)
		}
		writeJSON(w, th.status, apiError("You have exceeded a secondary rate limit. Please wait a few minutes before you try again."))
		return
	}
	switch {
	case r.URL.Path == "/api/graphql" && r.Method == http.MethodPost:
		s.count("graphql")
		if adm == nil {
			h.Set("X-RateLimit-Resource", "graphql")
		}
		s.graphql(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v3/") && r.Method == http.MethodGet && s.failure(r.URL.Path) != 0:
		s.count("rest")
		status, msg := s.failure(r.URL.Path), "Server Error"
		if status == http.StatusForbidden {
			msg = "Resource not accessible by integration"
		}
		writeJSON(w, status, apiError(msg))
	case strings.HasPrefix(r.URL.Path, "/api/v3/") && r.Method == http.MethodGet:
		s.count("rest")
		cw := &conditionalWriter{header: h}
		s.rest(cw, r, strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v3/"), "/"), "/"))
		if cw.status == http.StatusOK && cw.etag() == r.Header.Get("If-None-Match") {
			// Not modified: GitHub does not count it, so the rate-limit
			// headers say what they said before this request.
			s.count("rest:304")
			if adm != nil {
				adm.notModified(h)
			} else {
				h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, 5000-used+1)))
				h.Set("X-RateLimit-Used", strconv.Itoa(used-1))
			}
			h.Del("Content-Type")
			h.Set("ETag", cw.etag())
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if cw.status == 0 {
			cw.status = http.StatusOK
		}
		if cw.status == http.StatusOK {
			h.Set("ETag", cw.etag())
		}
		w.WriteHeader(cw.status)
		_, _ = w.Write(cw.body.Bytes())
	default:
		writeJSON(w, http.StatusNotFound, apiError("Not Found"))
	}
}

// conditionalWriter holds a REST answer so that it can be compared with
// the request's If-None-Match before it is sent.
type conditionalWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *conditionalWriter) Header() http.Header { return c.header }
func (c *conditionalWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *conditionalWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// etag is GitHub's kind of validator: a weak tag over the answer's body.
func (c *conditionalWriter) etag() string {
	sum := sha256.Sum256(c.body.Bytes())
	return `W/"` + hex.EncodeToString(sum[:16]) + `"`
}

func apiError(msg string) map[string]any {
	return map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writePage answers one page of a REST listing with GitHub's Link header.
func writePage[T any](s *Sim, w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, s.RESTPageSize)
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	last := max(1, (len(items)+per-1)/per)
	from := min(len(items), (page-1)*per)
	to := min(len(items), from+per)
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, items[from:to])
}
