package github

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

const defaultBaseURL = "https://api.github.com/"

// clients are the REST client and the HTTP client for GraphQL, both sending
// through the run's provenance transport, the rate-limit waiter and auth.
type clients struct {
	rest       *gh.Client
	http       *http.Client
	graphqlURL string
	// endpoint is the API base when it is not github.com's, for Scope.
	endpoint string
	// app is the GitHub App's installation transport, nil with a token.
	app *ghinstallation.Transport
}

func newClients(s collector.Settings) (*clients, error) {
	src := s.Sources.GitHub
	if src == nil {
		return nil, collector.ErrNoSource
	}
	if err := src.Validate(); err != nil {
		return nil, fmt.Errorf("sources.github: %w", err)
	}
	base := src.BaseURL
	if base == "" {
		base = defaultBaseURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	gqlURL, err := graphqlURL(base)
	if err != nil {
		return nil, fmt.Errorf("sources.github.base_url: %w", err)
	}

	var app *ghinstallation.Transport
	var transport http.RoundTripper = http.DefaultTransport
	if s.HTTPClient != nil && s.HTTPClient.Transport != nil {
		transport = s.HTTPClient.Transport
	}
	transport = &rateLimitTransport{base: transport, pace: sharedPacer(pacerKey(src, base))}
	switch {
	case src.Token != "":
		transport = &tokenTransport{base: transport, token: src.Token}
	default:
		itr, err := ghinstallation.NewKeyFromFile(&appTokenTransport{base: transport}, src.AppID, src.InstallationID, src.PrivateKeyFile)
		if err != nil {
			// The error names the file, never its content.
			return nil, fmt.Errorf("sources.github.private_key_file: %w", err)
		}
		itr.BaseURL = strings.TrimSuffix(base, "/")
		transport, app = itr, itr
	}
	// Outermost: a 304 answer is turned back into the answer it confirms
	// before go-github sees it.
	hc := &http.Client{Transport: &etagTransport{base: transport}}
	if s.HTTPClient != nil {
		hc.Timeout = s.HTTPClient.Timeout
	}

	rest := gh.NewClient(hc)
	c := &clients{rest: rest, http: hc, graphqlURL: gqlURL, app: app}
	if base != defaultBaseURL {
		// Uploads are never used; GitHub Enterprise Server serves them
		// beside the API.
		upload := strings.Replace(base, "/api/v3/", "/api/uploads/", 1)
		rest, err = rest.WithEnterpriseURLs(base, upload)
		if err != nil {
			return nil, fmt.Errorf("sources.github.base_url: %w", err)
		}
		c.rest = rest
		c.endpoint = base
	}
	return c, nil
}

// graphqlURL derives the GraphQL endpoint from the REST base: GitHub
// Enterprise Server serves REST under /api/v3/ and GraphQL at /api/graphql;
// github.com serves both at the API host's root.
func graphqlURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL", base)
	}
	if p, ok := strings.CutSuffix(u.Path, "/api/v3/"); ok {
		u.Path = p + "/api/graphql"
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/graphql"
	}
	return u.String(), nil
}

// tokenTransport adds the token to each request. It clones the request, as
// a RoundTripper must not modify its input.
type tokenTransport struct {
	base  http.RoundTripper
	token collector.Secret
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token.Reveal())
	return t.base.RoundTrip(req)
}

// appTokenTransport names the GitHub App's installation-token request in
// the provenance: it is made with the context of whichever call needed a
// token.
type appTokenTransport struct {
	base http.RoundTripper
}

func (t *appTokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/access_tokens") {
		req = req.WithContext(collector.WithOperation(req.Context(), "github", "apps.create_installation_access_token"))
	}
	return t.base.RoundTrip(req)
}

// apiStatus returns the HTTP status of a go-github error, or 0.
func apiStatus(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rl.Response.StatusCode
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) && ab.Response != nil {
		return ab.Response.StatusCode
	}
	return 0
}
