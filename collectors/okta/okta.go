// Package okta collects identity evidence from an Okta org: users and their
// statuses, enrolled factors, groups and memberships, application
// assignments, the global session (OKTA_SIGN_ON) policies and, on Identity
// Engine, the authentication (ACCESS_POLICY) policies, with their rules.
package okta

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/okta/okta-sdk-golang/v2/okta"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Version is the okta.access collector's evidence format version.
const Version = "1.0.0"

// TypeAccess is the collector type.
const TypeAccess = "okta.access"

// Check ids, as the control catalog names them.
const (
	CheckUserMFA           = "okta.user.mfa"
	CheckDeprovisioned     = "okta.user.deprovisioned_access"
	CheckInactive          = "okta.user.inactive"
	CheckPolicyMFA         = "okta.policy.mfa_required"
	CheckSessionIdle       = "okta.policy.session_idle"
	CheckAccessList        = "okta.access_list"
	rateLimitMaxRetries    = 3
	rateLimitMaxBackoffSec = 60
)

// operations maps each operation the collector names to the OAuth scope
// it needs. The factory declares their union; a test checks every call.
var operations = map[string]string{
	"users.list":             "okta.users.read",
	"users.list_factors":     "okta.users.read",
	"groups.list":            "okta.groups.read",
	"groups.list_users":      "okta.groups.read",
	"apps.list":              "okta.apps.read",
	"apps.list_users":        "okta.apps.read",
	"apps.list_group_assign": "okta.apps.read",
	"policies.list":          "okta.policies.read",
	"policies.list_rules":    "okta.policies.read",
}

// Factories returns the Okta collector types.
func Factories() []collector.Factory {
	return []collector.Factory{accessFactory()}
}

func scopes() []string {
	set := map[string]bool{}
	var out []string
	for _, s := range operations {
		if s != "" && !set[s] {
			set[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// newClient builds an Okta SDK client that sends through the run's
// provenance transport, with the SDK's cache off (evidence must be read
// live) and its 429 backoff bounded.
func newClient(ctx context.Context, s collector.Settings) (context.Context, *okta.Client, error) {
	src := s.Sources.Okta
	var base http.RoundTripper = http.DefaultTransport
	if s.HTTPClient != nil && s.HTTPClient.Transport != nil {
		base = s.HTTPClient.Transport
	}
	rt := &rateLimitTransport{base: base}
	if s.HTTPClient != nil {
		rt.timeout = s.HTTPClient.Timeout
	}
	hc := &http.Client{Transport: rt}
	orgURL := strings.TrimSuffix(src.OrgURL, "/")
	opts := []okta.ConfigSetter{
		okta.WithOrgUrl(orgURL),
		okta.WithHttpClientPtr(hc),
		okta.WithCache(false),
		okta.WithRateLimitMaxRetries(rateLimitMaxRetries),
		okta.WithRateLimitMaxBackOff(rateLimitMaxBackoffSec),
		okta.WithUserAgentExtra("exhibit/" + Version),
		// The SDK only accepts https org URLs unless told it is under test;
		// a plain-http org is allowed only on a loopback address (the demo
		// simulator and tests), never for a remote org.
		okta.WithTestingDisableHttpsCheck(isLoopbackHTTP(orgURL)),
	}
	if src.Token != "" {
		opts = append(opts, okta.WithAuthorizationMode("SSWS"), okta.WithToken(src.Token.Reveal()))
	} else {
		key, err := os.ReadFile(src.PrivateKeyFile)
		if err != nil {
			return ctx, nil, fmt.Errorf("sources.okta.private_key_file: %w", err)
		}
		sc := src.Scopes
		if len(sc) == 0 {
			sc = scopes()
		}
		opts = append(opts, okta.WithAuthorizationMode("PrivateKey"), okta.WithClientId(src.ClientID),
			okta.WithScopes(sc), okta.WithPrivateKey(string(key)))
	}
	ctx, c, err := okta.NewClient(ctx, opts...)
	if err != nil {
		return ctx, nil, fmt.Errorf("okta client: %s", redact(err.Error(), src))
	}
	return ctx, c, nil
}

func isLoopbackHTTP(orgURL string) bool {
	u, err := url.Parse(orgURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// orgHost is the scope's account: the org's host name.
func orgHost(orgURL string) string {
	u, err := url.Parse(orgURL)
	if err != nil || u.Host == "" {
		return orgURL
	}
	return u.Host
}

// redact removes the source's secrets from a message, in case an SDK error
// ever echoes them.
func redact(msg string, src *collector.OktaSource) string {
	if t := src.Token.Reveal(); t != "" {
		msg = strings.ReplaceAll(msg, t, "[redacted]")
	}
	return msg
}
