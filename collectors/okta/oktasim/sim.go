// Package oktasim serves a simulated Okta org over the Okta management API's
// JSON wire format with Link-header pagination, for the demo and for tests
// that point the real Okta SDK at it.
package oktasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Token is the dummy API token the simulator accepts.
const Token = "demo-token"

// AccessToken is the OAuth access token the simulator grants a service
// app that signs in with its private key.
const AccessToken = "sim-oauth-access-token"

// Sim is a simulated Okta org.
type Sim struct {
	Now time.Time
	Org *Org
	// PageSize caps limit= so that listings span several pages.
	PageSize int
	// RateLimit is how many calls each rate-limit bucket (see Bucket)
	// answers per RateWindow before it answers 429, as Okta does per
	// endpoint family; 0 means DefaultRateLimit. RateWindow 0 means a
	// minute, Okta's window. Every answer carries X-Rate-Limit-Limit,
	// -Remaining and -Reset (epoch seconds) for its bucket.
	RateLimit  int
	RateWindow time.Duration
	// Latency is added to every answer.
	Latency time.Duration

	mu       sync.Mutex
	throttle int
	requests int
	tooMany  int
	windows  map[string]*window
	fail     map[string]int
	granted  []string
}

// GrantedScopes returns the scopes OAuth clients asked for, in order.
func (s *Sim) GrantedScopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.granted...)
}

// Fail makes every request for path (e.g. /api/v1/users/ID/factors) answer
// status, as an API token without the needed permission gets 403; a "*"
// segment matches any one segment (/api/v1/users/*/factors). 403 answers
// Okta's permission error, 5xx its internal server error.
func (s *Sim) Fail(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail == nil {
		s.fail = map[string]int{}
	}
	s.fail[path] = status
}

// New returns a simulator serving the demo org as of now.
func New(now time.Time) *Sim {
	return &Sim{Now: now.UTC(), Org: demoOrg(now), PageSize: 2}
}

// Source points an Okta source at the simulator served at baseURL. The
// Okta SDK accepts a plain-http org URL only on loopback, which is where a
// simulator runs.
func (s *Sim) Source(baseURL string) *collector.OktaSource {
	return &collector.OktaSource{OrgURL: strings.TrimSuffix(baseURL, "/"), Token: Token}
}

// Throttle answers the next n requests with 429 Too Many Requests and an
// X-Rate-Limit-Reset that has already passed, so the SDK retries at once.
func (s *Sim) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle += n
}

// DefaultRateLimit is the calls per bucket per minute the simulator
// allows unless told otherwise: Okta's figure for most management buckets.
const DefaultRateLimit = 600

type window struct {
	end   time.Time
	count int
}

// TooManyRequests returns how many requests the simulator has answered 429,
// whether for its rate limit or for Throttle.
func (s *Sim) TooManyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tooMany
}

// admit counts a request against its bucket's current window and says
// whether the bucket had room, with the headers to send. s.mu is held.
func (s *Sim) admit(bucket string, now time.Time) (ok bool, limit, remaining int, reset int64) {
	limit, win := s.RateLimit, s.RateWindow
	if limit <= 0 {
		limit = DefaultRateLimit
	}
	if win <= 0 {
		win = time.Minute
	}
	if s.windows == nil {
		s.windows = map[string]*window{}
	}
	w := s.windows[bucket]
	if w == nil || !now.Before(w.end) {
		w = &window{end: now.Truncate(win).Add(win)}
		s.windows[bucket] = w
	}
	// Okta's reset is whole epoch seconds; round up so that a client
	// waiting for it never comes back before the window has turned.
	reset = w.end.Unix()
	if w.end.Nanosecond() != 0 {
		reset++
	}
	if w.count >= limit {
		return false, limit, 0, reset
	}
	w.count++
	return true, limit, limit - w.count, reset
}

// Bucket names the rate-limit bucket Okta counts a request against (its
// management rate limits): /api/v1/apps with every /api/v1/apps/{id}/…,
// /api/v1/apps/{id} alone; the same for groups; list and create users;
// get a user; change a user; the System Log; and "most other actions"
// under /api/v1 (factors, policies, rules). Outside /api/v1 the path is
// the bucket.
func Bucket(method, p string) string {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(p, "/"), "/api/v1/")
	if !ok {
		return p
	}
	seg := strings.Split(rest, "/")
	switch {
	case (seg[0] == "apps" || seg[0] == "groups") && len(seg) == 2:
		return "/api/v1/" + seg[0] + "/{id}"
	case seg[0] == "apps" || seg[0] == "groups":
		return "/api/v1/" + seg[0]
	case seg[0] == "users" && len(seg) == 1 && (method == http.MethodGet || method == http.MethodPost):
		return "/api/v1/users"
	case seg[0] == "users" && len(seg) == 2 && method == http.MethodGet:
		return "/api/v1/users/{idOrLogin}"
	case seg[0] == "users" && len(seg) == 2:
		return "/api/v1/users/{id}"
	case seg[0] == "logs" && len(seg) == 1:
		return "/api/v1/logs"
	}
	return "/api/v1"
}

// Requests returns how many requests the simulator has answered.
func (s *Sim) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	wall := time.Now().UTC()
	s.mu.Lock()
	s.requests++
	n := s.requests
	throttled := s.throttle > 0
	if throttled {
		s.throttle--
	}
	admitted, limit, remaining, reset := true, 0, 0, int64(0)
	if !throttled {
		admitted, limit, remaining, reset = s.admit(Bucket(r.Method, r.URL.Path), wall)
	}
	if throttled || !admitted {
		s.tooMany++
	}
	failWith := 0
	for pattern, status := range s.fail {
		if ok, _ := path.Match(pattern, r.URL.Path); ok {
			failWith = status
		}
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("Date", wall.Format(http.TimeFormat))
	h.Set("X-Okta-Request-Id", fmt.Sprintf("sim-%06d", n))
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset, 10))
	if !admitted && !throttled {
		writeError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	}
	if r.URL.Path == "/oauth2/v1/token" && r.Method == http.MethodPost {
		s.token(w, r)
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "SSWS "+Token && auth != "Bearer "+AccessToken {
		writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	if throttled {
		h.Set("X-Rate-Limit-Limit", strconv.Itoa(DefaultRateLimit))
		h.Set("X-Rate-Limit-Remaining", "0")
		h.Set("X-Rate-Limit-Reset", strconv.FormatInt(wall.Unix()-1, 10))
		writeError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	}
	switch {
	case failWith >= 500:
		writeError(w, failWith, "E0000009", "Internal Server Error")
		return
	case failWith != 0:
		writeError(w, failWith, "E0000006", "You do not have permission to perform the requested action")
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	s.route(w, r, strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/"), "/"))
}

// token is the org authorization server's client-credentials grant with a
// private_key_jwt client assertion, as Okta service apps use.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := r.ParseForm(); err == nil {
		for k, v := range r.PostForm {
			q[k] = v
		}
	}
	assertion := q.Get("client_assertion")
	if q.Get("grant_type") != "client_credentials" ||
		q.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
		strings.Count(assertion, ".") != 2 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "The client_assertion is invalid."})
		return
	}
	s.mu.Lock()
	s.granted = append(s.granted, q.Get("scope"))
	s.mu.Unlock()
	writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": AccessToken, "scope": q.Get("scope")})
}

func (s *Sim) route(w http.ResponseWriter, r *http.Request, p []string) {
	o := s.Org
	switch {
	case len(p) == 1 && p[0] == "users":
		deprovisioned := strings.Contains(r.URL.Query().Get("filter"), `status eq "DEPROVISIONED"`)
		var users []*okta.User
		for _, u := range o.Users {
			// Okta leaves deprovisioned users out unless asked for them.
			if (u.Status == "DEPROVISIONED") == deprovisioned {
				users = append(users, u)
			}
		}
		page(s, w, r, users)
	case len(p) == 3 && p[0] == "users" && p[2] == "factors":
		writeJSON(w, orEmpty(o.Factors[p[1]]))
	case len(p) == 1 && p[0] == "groups":
		page(s, w, r, o.Groups)
	case len(p) == 3 && p[0] == "groups" && p[2] == "users":
		var users []*okta.User
		for _, id := range o.Members[p[1]] {
			for _, u := range o.Users {
				if u.Id == id {
					users = append(users, u)
				}
			}
		}
		page(s, w, r, users)
	case len(p) == 1 && p[0] == "apps":
		page(s, w, r, o.Apps)
	case len(p) == 3 && p[0] == "apps" && p[2] == "users":
		page(s, w, r, o.AppUsers[p[1]])
	case len(p) == 3 && p[0] == "apps" && p[2] == "groups":
		page(s, w, r, o.AppGroups[p[1]])
	case len(p) == 1 && p[0] == "policies":
		switch t := r.URL.Query().Get("type"); {
		case t == "OKTA_SIGN_ON":
			writeJSON(w, orEmpty(o.Policies))
		case t == "ACCESS_POLICY" && !o.Classic:
			writeJSON(w, orEmpty(o.AuthPolicies))
		default:
			// What Okta answers for a type the org does not have (a
			// Classic Engine org has no ACCESS_POLICY).
			writeError(w, http.StatusBadRequest, "E0000002", "The request was not valid: Invalid policy type specified")
		}
	case len(p) == 3 && p[0] == "policies" && p[2] == "rules":
		if rules, ok := o.AuthRules[p[1]]; ok {
			writeJSON(w, rules)
			return
		}
		writeJSON(w, orEmpty(o.Rules[p[1]]))
	default:
		writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path)
	}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// encodeMu serializes encoding: some of the Okta SDK's MarshalJSON methods
// write to the value they encode, and the estate is shared by every request.
var encodeMu sync.Mutex

func writeJSON(w http.ResponseWriter, v any) {
	encodeMu.Lock()
	b, err := json.Marshal(v)
	encodeMu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "oaesim0000000000000", "errorCauses": []any{},
	})
}

// page answers one page of a listing with Okta's Link headers: self, and
// next with an after cursor. Real cursors are ids; positions serve here.
func page[T any](s *Sim, w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, s.PageSize)
	from, _ := strconv.Atoi(q.Get("after"))
	from = min(max(from, 0), len(items))
	to := min(len(items), from+limit)
	link := func(after int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("limit", strconv.Itoa(limit))
		if after > 0 {
			v.Set("after", strconv.Itoa(after))
		} else {
			v.Del("after")
		}
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	w.Header().Add("Link", link(from, "self"))
	if to < len(items) {
		w.Header().Add("Link", link(to, "next"))
	}
	writeJSON(w, orEmpty(items[from:to]))
}
