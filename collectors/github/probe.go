package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Every GitHub collector probes its access through the one helper.
func (a *access) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return probe(ctx, a.settings.Sources.GitHub, a.clients, p)
}
func (p *pullRequests) Probe(ctx context.Context, perms []string) []collector.ProbeResult {
	return probe(ctx, p.settings.Sources.GitHub, p.clients, perms)
}
func (v *vulnerabilities) Probe(ctx context.Context, p []string) []collector.ProbeResult {
	return probe(ctx, v.settings.Sources.GitHub, v.clients, p)
}

// impliedScopes are the classic token scopes a granted scope includes, as
// GitHub documents them.
var impliedScopes = map[string][]string{
	"repo":      {"repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events"},
	"admin:org": {"write:org", "read:org", "manage_runners:org"},
	"write:org": {"read:org"},
}

// appPermission reports whether p is a GitHub App permission
// ("pull_requests:read") rather than a classic token scope ("read:org").
func appPermission(p string) bool {
	return strings.HasSuffix(p, ":read") || strings.HasSuffix(p, ":write")
}

// probe reads each organization once (orgs.get) with the configured
// credentials, and compares what the credentials were granted, as GitHub
// reports it, with what the collector declares: a classic token's scopes
// from the X-OAuth-Scopes header, a GitHub App installation's permissions
// from the installation token GitHub issued.
func probe(ctx context.Context, src *collector.GitHubSource, c *clients, perms []string) []collector.ProbeResult {
	var out []collector.ProbeResult
	add := func(scope, perm string, st collector.ProbeStatus, detail string) {
		out = append(out, collector.ProbeResult{Scope: scope, Permission: perm, Status: st, Detail: detail})
	}
	var granted map[string]bool
	var grantedFrom string
	var appLevels map[string]string
	if c.app != nil {
		if _, err := c.app.Token(ctx); err != nil {
			add("github", "installation token", collector.ProbeError, err.Error())
		} else {
			add("github", "installation token", collector.ProbeOK, fmt.Sprintf("app %d, installation %d", c.app.AppID(), c.app.InstallationID()))
			if p, err := c.app.Permissions(); err == nil {
				b, _ := json.Marshal(p)
				_ = json.Unmarshal(b, &appLevels)
			}
		}
	}
	for _, org := range src.Orgs {
		scope := "org " + org
		_, resp, err := c.rest.Organizations.Get(collector.WithOperation(ctx, "github", "orgs.get"), org)
		switch status := apiStatus(err); {
		case err == nil:
			add(scope, "reach", collector.ProbeOK, "the organization answered")
		case status == http.StatusForbidden || status == http.StatusNotFound:
			add(scope, "reach", collector.ProbeDenied, err.Error())
		default:
			add(scope, "reach", collector.ProbeError, err.Error())
		}
		if granted == nil && resp != nil {
			if h, ok := resp.Header["X-Oauth-Scopes"]; ok {
				granted, grantedFrom = map[string]bool{}, strings.Join(h, ", ")
				for _, sc := range strings.Split(strings.Join(h, ","), ",") {
					if sc = strings.TrimSpace(sc); sc != "" {
						granted[sc] = true
						for _, imp := range impliedScopes[sc] {
							granted[imp] = true
						}
					}
				}
			}
		}
	}
	perms = slices.Clone(perms)
	slices.Sort(perms)
	for _, p := range slices.Compact(perms) {
		switch {
		case c.app == nil && appPermission(p):
			add("github", p, collector.ProbeNotProbed, "a GitHub App permission; this source uses a token")
		case c.app != nil && !appPermission(p):
			add("github", p, collector.ProbeNotProbed, "a classic token scope; this source uses a GitHub App")
		case c.app != nil && appLevels == nil:
			add("github", p, collector.ProbeNotProbed, "GitHub did not report the installation's permissions")
		case c.app != nil:
			name, want, _ := strings.Cut(p, ":")
			got := appLevels[name]
			if got == want || got == "write" || got == "admin" {
				add("github", p, collector.ProbeOK, "the installation has "+name+": "+got)
			} else {
				add("github", p, collector.ProbeDenied, fmt.Sprintf("the installation has %s: %q; the collector needs %s", name, got, want))
			}
		case granted == nil:
			add("github", p, collector.ProbeNotProbed, "GitHub did not report the token's scopes (no X-OAuth-Scopes: a fine-grained token's permissions are not listed)")
		case granted[p]:
			add("github", p, collector.ProbeOK, "the token's scopes: "+grantedFrom)
		default:
			add("github", p, collector.ProbeDenied, "the token's scopes ("+orNone(grantedFrom)+") do not include "+p)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
