package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// concurrency bounds parallel per-user, per-group and per-app calls; Okta's
// limits are per endpoint per minute.
const concurrency = 4

// pageLimit is the page size asked of list endpoints (Okta's maximum for
// users is 200).
const pageLimit = 200

// directory is everything read from the org in one run. A nil map entry
// means that part was not read; errs says why.
type directory struct {
	users        []*okta.User
	factors      map[string][]*okta.UserFactor // user id →
	groups       []*okta.Group
	groupMembers map[string][]string // group id → user ids
	apps         []*okta.Application
	appUsers     map[string][]*okta.AppUser // app id →
	appGroups    map[string][]*okta.ApplicationGroupAssignment
	policies     []*okta.Policy
	rules        map[string][]*okta.PolicyRule // policy id →
	// Authentication policies (Identity Engine only) and their rules.
	authPolicies []*okta.Policy
	authRules    map[string][]*okta.AccessPolicyRule // policy id →
	// engine is identityEngine or classicEngine once known, "" when the
	// authentication policies could not be listed.
	engine string

	usersRead, groupsRead, appsRead, policiesRead bool

	mu      sync.Mutex
	partial collector.PartialError
	// sem bounds the per-item calls of all four listings together.
	sem chan struct{}
}

func (d *directory) fail(where, op string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.partial.Add(where, op, err)
}

// skipped records the items a listing left unread when its context ended.
func (d *directory) skipped(where, op string, err error) {
	if err != nil {
		d.fail(where, op, err)
	}
}

func op(ctx context.Context, name string) context.Context {
	return collector.WithOperation(ctx, "okta", name)
}

// pages follows the Link header of a list to its end.
func pages[T any](ctx context.Context, items []T, resp *okta.Response, err error) ([]T, error) {
	for err == nil && resp != nil && resp.HasNextPage() {
		var next []T
		resp, err = resp.Next(ctx, &next)
		items = append(items, next...)
	}
	return items, err
}

func read(ctx context.Context, c *okta.Client) *directory {
	d := &directory{
		factors: map[string][]*okta.UserFactor{}, groupMembers: map[string][]string{},
		appUsers: map[string][]*okta.AppUser{}, appGroups: map[string][]*okta.ApplicationGroupAssignment{},
		rules: map[string][]*okta.PolicyRule{}, authRules: map[string][]*okta.AccessPolicyRule{}, sem: make(chan struct{}, concurrency),
	}
	var wg sync.WaitGroup
	for _, part := range []func(context.Context, *okta.Client){d.readUsers, d.readGroups, d.readApps, d.readPolicies, d.readAuthPolicies} {
		wg.Add(1)
		go func() { defer wg.Done(); part(ctx, c) }()
	}
	wg.Wait()
	return d
}

func (d *directory) readUsers(ctx context.Context, c *okta.Client) {
	ctx = op(ctx, "users.list")
	// The default listing leaves out deprovisioned users; they are read
	// with a filter, since their leftover access is what a check looks for.
	for _, qp := range []*query.Params{{Limit: pageLimit}, {Limit: pageLimit, Filter: `status eq "DEPROVISIONED"`}} {
		users, resp, err := c.User.ListUsers(ctx, qp)
		users, err = pages(ctx, users, resp, err)
		if err != nil {
			d.fail("users", "users.list", fmt.Errorf("list users: %w", err))
			return
		}
		d.users = append(d.users, users...)
	}
	d.usersRead = true
	ctx = op(ctx, "users.list_factors")
	d.skipped("users", "users.list_factors", forEach(ctx, d.sem, d.users, func(u *okta.User) {
		if !canSignIn(u.Status) {
			return
		}
		fs, _, err := c.UserFactor.ListFactors(ctx, u.Id)
		if err != nil {
			d.fail("users/"+u.Id, "users.list_factors", fmt.Errorf("list factors of %s: %w", login(u), err))
			return
		}
		out := make([]*okta.UserFactor, 0, len(fs))
		for _, f := range fs {
			if uf, ok := f.(*okta.UserFactor); ok {
				out = append(out, uf)
			}
		}
		d.mu.Lock()
		d.factors[u.Id] = out
		d.mu.Unlock()
	}))
}

func (d *directory) readGroups(ctx context.Context, c *okta.Client) {
	lctx := op(ctx, "groups.list")
	groups, resp, err := c.Group.ListGroups(lctx, &query.Params{Limit: pageLimit})
	groups, err = pages(lctx, groups, resp, err)
	if err != nil {
		d.fail("groups", "groups.list", fmt.Errorf("list groups: %w", err))
		return
	}
	d.groups = groups
	d.groupsRead = true
	ctx = op(ctx, "groups.list_users")
	d.skipped("groups", "groups.list_users", forEach(ctx, d.sem, groups, func(g *okta.Group) {
		users, resp, err := c.Group.ListGroupUsers(ctx, g.Id, &query.Params{Limit: pageLimit})
		users, err = pages(ctx, users, resp, err)
		if err != nil {
			d.fail("groups/"+g.Id, "groups.list_users", fmt.Errorf("list members of group %s: %w", groupName(g), err))
			return
		}
		ids := make([]string, 0, len(users))
		for _, u := range users {
			ids = append(ids, u.Id)
		}
		d.mu.Lock()
		d.groupMembers[g.Id] = ids
		d.mu.Unlock()
	}))
}

func (d *directory) readApps(ctx context.Context, c *okta.Client) {
	lctx := op(ctx, "apps.list")
	first, resp, err := c.Application.ListApplications(lctx, &query.Params{Limit: pageLimit})
	apps := make([]okta.Application, 0, len(first))
	for _, a := range first {
		if app, ok := a.(*okta.Application); ok {
			apps = append(apps, *app)
		}
	}
	apps, err = pages(lctx, apps, resp, err)
	if err != nil {
		d.fail("apps", "apps.list", fmt.Errorf("list applications: %w", err))
		return
	}
	for i := range apps {
		d.apps = append(d.apps, &apps[i])
	}
	d.appsRead = true
	uctx := op(ctx, "apps.list_users")
	gctx := op(ctx, "apps.list_group_assign")
	d.skipped("apps", "apps.list_users", forEach(ctx, d.sem, d.apps, func(a *okta.Application) {
		users, resp, err := c.Application.ListApplicationUsers(uctx, a.Id, &query.Params{Limit: 500})
		users, err = pages(uctx, users, resp, err)
		if err != nil {
			d.fail("apps/"+a.Id, "apps.list_users", fmt.Errorf("list users assigned to %s: %w", a.Label, err))
			return
		}
		groups, resp, err := c.Application.ListApplicationGroupAssignments(gctx, a.Id, &query.Params{Limit: pageLimit})
		groups, err = pages(gctx, groups, resp, err)
		if err != nil {
			d.fail("apps/"+a.Id, "apps.list_group_assign", fmt.Errorf("list groups assigned to %s: %w", a.Label, err))
			return
		}
		d.mu.Lock()
		d.appUsers[a.Id] = users
		d.appGroups[a.Id] = groups
		d.mu.Unlock()
	}))
}

// readPolicies reads the OKTA_SIGN_ON policies: in Okta's admin console
// these are the global session policies, whose rules carry the MFA
// requirement and the session idle timeout.
func (d *directory) readPolicies(ctx context.Context, c *okta.Client) {
	policies, err := listPolicies(ctx, c, "OKTA_SIGN_ON")
	if err != nil {
		d.fail("policies", "policies.list", fmt.Errorf("list sign-on policies: %w", err))
		return
	}
	d.policies = policies
	d.policiesRead = true
	ctx = op(ctx, "policies.list_rules")
	d.skipped("policies", "policies.list_rules", forEach(ctx, d.sem, d.policies, func(p *okta.Policy) {
		rules, _, err := c.Policy.ListPolicyRules(ctx, p.Id)
		if err != nil {
			d.fail("policies/"+p.Id, "policies.list_rules", fmt.Errorf("list rules of policy %s: %w", p.Name, err))
			return
		}
		d.mu.Lock()
		d.rules[p.Id] = rules
		d.mu.Unlock()
	}))
}

const (
	identityEngine = "identity_engine"
	classicEngine  = "classic"
)

// readAuthPolicies reads the authentication policies (ACCESS_POLICY) of an
// Identity Engine org: there, each app's authentication policy, not the
// global session policy, decides whether signing in to it takes a second
// factor. A Classic Engine org has none and says the type is invalid.
func (d *directory) readAuthPolicies(ctx context.Context, c *okta.Client) {
	policies, err := listPolicies(ctx, c, "ACCESS_POLICY")
	if isInvalidPolicyType(err) {
		d.mu.Lock()
		d.engine = classicEngine
		d.mu.Unlock()
		return
	}
	if err != nil {
		d.fail("policies", "policies.list", fmt.Errorf("list authentication policies: %w", err))
		return
	}
	d.mu.Lock()
	d.engine = identityEngine
	d.authPolicies = policies
	d.mu.Unlock()
	ctx = op(ctx, "policies.list_rules")
	d.skipped("policies", "policies.list_rules", forEach(ctx, d.sem, d.authPolicies, func(p *okta.Policy) {
		rules, err := listAccessRules(ctx, c, p.Id)
		if err != nil {
			d.fail("policies/"+p.Id, "policies.list_rules", fmt.Errorf("list rules of authentication policy %s: %w", p.Name, err))
			return
		}
		d.mu.Lock()
		d.authRules[p.Id] = rules
		d.mu.Unlock()
	}))
}

// listPolicies lists every policy of one type.
func listPolicies(ctx context.Context, c *okta.Client, typ string) ([]*okta.Policy, error) {
	ctx = op(ctx, "policies.list")
	list, resp, err := c.Policy.ListPolicies(ctx, &query.Params{Type: typ})
	var policies []okta.Policy
	for _, p := range list {
		if pol, ok := p.(*okta.Policy); ok {
			policies = append(policies, *pol)
		}
	}
	policies, err = pages(ctx, policies, resp, err)
	if err != nil {
		return nil, err
	}
	out := make([]*okta.Policy, len(policies))
	for i := range policies {
		out[i] = &policies[i]
	}
	return out, nil
}

// listAccessRules reads an authentication policy's rules. The SDK's
// ListPolicyRules decodes them as sign-on rules and drops appSignOn, so the
// same request is decoded here as the SDK's own access-policy rule type.
func listAccessRules(ctx context.Context, c *okta.Client, policyID string) ([]*okta.AccessPolicyRule, error) {
	rq := c.CloneRequestExecutor()
	req, err := rq.WithAccept("application/json").WithContentType("application/json").
		NewRequest(http.MethodGet, "/api/v1/policies/"+url.PathEscape(policyID)+"/rules", nil)
	if err != nil {
		return nil, err
	}
	var rules []*okta.AccessPolicyRule
	if _, err := rq.Do(ctx, req, &rules); err != nil {
		return nil, err
	}
	return rules, nil
}

// isInvalidPolicyType recognises Okta's answer to a policy type the org
// does not have: 400, E0000002 "Invalid policy type specified".
func isInvalidPolicyType(err error) bool {
	var e *okta.Error
	return errors.As(err, &e) && e.ErrorCode == "E0000002" && strings.Contains(e.ErrorSummary, "Invalid policy type")
}

// forEach runs fn over items, as many at a time as sem has room for. When
// ctx ends it starts no more and says how many it left, so the run can
// report them rather than drop them silently.
func forEach[T any](ctx context.Context, sem chan struct{}, items []T, fn func(T)) error {
	var wg sync.WaitGroup
	for i, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return fmt.Errorf("%d of %d not read: %w", len(items)-i, len(items), ctx.Err())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(it)
		}()
	}
	wg.Wait()
	return nil
}

// canSignIn says whether a user in this status can authenticate, so that
// sign-in checks apply.
func canSignIn(status string) bool {
	switch status {
	case "ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY":
		return true
	}
	return false
}

func login(u *okta.User) string {
	if u.Profile != nil {
		if l, ok := (*u.Profile)["login"].(string); ok && l != "" {
			return l
		}
	}
	return u.Id
}

// email is the user's primary e-mail, which identity.reconcile joins on.
func email(u *okta.User) string {
	if u.Profile != nil {
		if e, ok := (*u.Profile)["email"].(string); ok {
			return e
		}
	}
	return ""
}

func groupName(g *okta.Group) string {
	if g.Profile != nil && g.Profile.Name != "" {
		return g.Profile.Name
	}
	return g.Id
}
