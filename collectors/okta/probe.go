package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// scopeProbes make one harmless read per scope: the first item of the
// listing the scope authorizes. Okta does not report an API token's
// admin role or an OAuth service app's granted scopes to the caller, so the
// reads are the probe.
var scopeProbes = map[string]func(ctx context.Context, c *okta.Client) (*okta.Response, error){
	"okta.users.read": func(ctx context.Context, c *okta.Client) (*okta.Response, error) {
		_, resp, err := c.User.ListUsers(op(ctx, "users.list"), &query.Params{Limit: 1})
		return resp, err
	},
	"okta.groups.read": func(ctx context.Context, c *okta.Client) (*okta.Response, error) {
		_, resp, err := c.Group.ListGroups(op(ctx, "groups.list"), &query.Params{Limit: 1})
		return resp, err
	},
	"okta.apps.read": func(ctx context.Context, c *okta.Client) (*okta.Response, error) {
		_, resp, err := c.Application.ListApplications(op(ctx, "apps.list"), &query.Params{Limit: 1})
		return resp, err
	},
	"okta.policies.read": func(ctx context.Context, c *okta.Client) (*okta.Response, error) {
		_, resp, err := c.Policy.ListPolicies(op(ctx, "policies.list"), &query.Params{Type: "OKTA_SIGN_ON"})
		return resp, err
	},
}

// Probe reaches the org with the token (or the service app's key) and
// reads once per declared scope.
func (a *access) Probe(ctx context.Context, perms []string) []collector.ProbeResult {
	src := a.settings.Sources.Okta
	scope := "okta " + orgHost(src.OrgURL)
	var out []collector.ProbeResult
	add := func(perm string, st collector.ProbeStatus, detail string) {
		out = append(out, collector.ProbeResult{Scope: scope, Permission: perm, Status: st, Detail: detail})
	}
	ctx, c, err := newClient(ctx, a.settings)
	if err != nil {
		add("credentials", collector.ProbeError, err.Error())
		return out
	}
	perms = slices.Clone(perms)
	slices.Sort(perms)
	for _, p := range slices.Compact(perms) {
		call, ok := scopeProbes[p]
		if !ok {
			add(p, collector.ProbeNotProbed, "no harmless read is known for this scope")
			continue
		}
		resp, err := call(ctx, c)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		var oe *okta.Error
		if errors.As(err, &oe) && status == 0 && oe.ErrorCode == "E0000006" {
			// Okta's "You do not have permission to perform the requested action".
			status = http.StatusForbidden
		}
		switch {
		case err == nil:
			add(p, collector.ProbeOK, "listed with a limit of one")
		case status == http.StatusForbidden:
			add(p, collector.ProbeDenied, redact(err.Error(), src))
		case status == http.StatusUnauthorized:
			add(p, collector.ProbeError, "the credentials were refused: "+redact(err.Error(), src))
		default:
			add(p, collector.ProbeError, fmt.Sprintf("read failed: %s", redact(err.Error(), src)))
		}
	}
	return out
}
