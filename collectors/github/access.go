package github

import (
	"context"
	"fmt"
	"sort"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func accessFactory() collector.Factory {
	return collector.Factory{
		Type:        TypeAccess,
		Version:     Version,
		Provider:    "github",
		Description: "Organization members and roles, outside collaborators, repository admins and the two-factor requirement",
		Permissions: permissionsFor(accessOperations),
		Checks:      []string{CheckAccessList, CheckTwoFactor},
		New: func(s collector.Settings) (collector.Collector, error) {
			c, err := newClients(s)
			if err != nil {
				return nil, err
			}
			return &access{settings: s, clients: c}, nil
		},
	}
}

type access struct {
	settings collector.Settings
	clients  *clients
}

var _ collector.Collector = (*access)(nil)

func (a *access) Scopes(context.Context) ([]evidence.Scope, error) {
	return orgScopes(a.settings.Sources.GitHub, a.clients), nil
}

func (a *access) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	waits := &waitLog{}
	ctx = withWaitLog(ctx, waits)
	org := req.Scope.Account
	res := &collector.Result{}
	partial := &collector.PartialError{}

	o, _, err := a.clients.rest.Organizations.Get(collector.WithOperation(ctx, "github", "orgs.get"), org)
	if err != nil {
		// The organization's settings are not read; its lists may still be.
		err = fmt.Errorf("get organization %s: %w", org, err)
		partial.Add(org, "orgs.get", err)
		res.Findings = append(res.Findings, evidence.Finding{Check: CheckTwoFactor, Resource: org, Status: evidence.Error,
			Reason: fmt.Sprintf("the settings of %s could not be read", org), Observed: map[string]any{"error": err.Error()}})
	} else {
		res.Findings = append(res.Findings, twoFactorFinding(org, o))
		res.Records = append(res.Records, evidence.Record{Type: "github.organization", ID: org, Attributes: map[string]any{
			"two_factor_requirement_enabled":  boolOrNil(o.TwoFactorRequirementEnabled),
			"default_repository_permission":   o.GetDefaultRepoPermission(),
			"members_can_create_repositories": boolOrNil(o.MembersCanCreateRepos),
		}})
	}

	members, errM := a.members(ctx, org)
	if errM != nil {
		partial.Add(org, "orgs.list_members", errM)
	}
	no2fa, err2fa := a.twoFactorDisabled(ctx, org)
	if err2fa != nil {
		// Only owners may filter by two-factor status; the member list
		// stands without it, the column is then unknown.
		partial.Add(org, "orgs.list_members", err2fa)
	}
	outside, errO := a.outsideCollaborators(ctx, org)
	if errO != nil {
		partial.Add(org, "orgs.list_outside_collaborators", errO)
	}
	admins, errA := a.repoAdmins(ctx, org)
	if errA != nil {
		partial.Add(org, failedOp(errA, "repos.list_collaborators"), errA)
	}
	for _, m := range members {
		var disabled any // unknown unless GitHub told
		if err2fa == nil {
			disabled = no2fa[m.login]
		}
		res.Records = append(res.Records, evidence.Record{Type: "github.member", ID: org + "/" + m.login, Attributes: map[string]any{
			"login": m.login, "role": m.role, "type": m.kind, "two_factor_disabled": disabled,
		}})
	}
	for _, c := range outside {
		res.Records = append(res.Records, evidence.Record{Type: "github.outside_collaborator", ID: org + "/" + c, Attributes: map[string]any{"login": c}})
	}
	adminRepos := make([]string, 0, len(admins))
	for repo, logins := range admins {
		adminRepos = append(adminRepos, repo)
		res.Records = append(res.Records, evidence.Record{Type: "github.repository_admins", ID: repo, Attributes: map[string]any{"admins": logins}})
	}
	sort.Strings(adminRepos)

	f := evidence.Finding{Check: CheckAccessList, Resource: org}
	owners := 0
	for _, m := range members {
		if m.role == "admin" {
			owners++
		}
	}
	f.Observed = map[string]any{
		"members": len(members), "owners": owners, "outside_collaborators": len(outside), "repositories_with_admins": len(adminRepos),
	}
	if errM != nil || errO != nil || errA != nil {
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("the access list of %s is incomplete: some lists could not be read", org)
	} else {
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("access list of %s recorded: %d members (%d owners), %d outside collaborators, admins of %d repositories", org, len(members), owners, len(outside), len(adminRepos))
	}
	res.Findings = append(res.Findings, f)
	res.Records = append(res.Records, waits.records()...)
	sortResult(res)
	return res, partial.Err()
}

// twoFactorFinding reads two_factor_requirement_enabled; GitHub omits it
// for callers who are not owners, and an unknown is an error, not a pass.
func twoFactorFinding(org string, o *gh.Organization) evidence.Finding {
	f := evidence.Finding{Check: CheckTwoFactor, Resource: org, Observed: map[string]any{
		"two_factor_requirement_enabled": boolOrNil(o.TwoFactorRequirementEnabled),
	}}
	switch {
	case o.TwoFactorRequirementEnabled == nil:
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("GitHub did not report whether %s requires two-factor authentication; the credentials need owner visibility (admin:org)", org)
	case *o.TwoFactorRequirementEnabled:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s requires two-factor authentication for members", org)
	default:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s does not require two-factor authentication for members", org)
	}
	return f
}

func boolOrNil(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

type member struct {
	login, role, kind string
}

// members lists members by role (admin = owner).
func (a *access) members(ctx context.Context, org string) ([]member, error) {
	ctx = collector.WithOperation(ctx, "github", "orgs.list_members")
	var out []member
	for _, role := range []string{"admin", "member"} {
		users, err := listAll(func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
			return a.clients.rest.Organizations.ListMembers(ctx, org, &gh.ListMembersOptions{Role: role, ListOptions: o})
		})
		if err != nil {
			return out, fmt.Errorf("list %s members of %s: %w", role, org, err)
		}
		for _, u := range users {
			out = append(out, member{login: u.GetLogin(), role: role, kind: u.GetType()})
		}
	}
	return out, nil
}

// twoFactorDisabled lists the members GitHub reports without two-factor
// authentication.
func (a *access) twoFactorDisabled(ctx context.Context, org string) (map[string]bool, error) {
	ctx = collector.WithOperation(ctx, "github", "orgs.list_members")
	users, err := listAll(func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return a.clients.rest.Organizations.ListMembers(ctx, org, &gh.ListMembersOptions{Filter: "2fa_disabled", ListOptions: o})
	})
	if err != nil {
		return nil, fmt.Errorf("list members of %s without two-factor authentication: %w", org, err)
	}
	off := map[string]bool{}
	for _, u := range users {
		off[u.GetLogin()] = true
	}
	return off, nil
}

func (a *access) outsideCollaborators(ctx context.Context, org string) ([]string, error) {
	ctx = collector.WithOperation(ctx, "github", "orgs.list_outside_collaborators")
	users, err := listAll(func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
		return a.clients.rest.Organizations.ListOutsideCollaborators(ctx, org, &gh.ListOutsideCollaboratorsOptions{ListOptions: o})
	})
	if err != nil {
		return nil, fmt.Errorf("list outside collaborators of %s: %w", org, err)
	}
	out := make([]string, 0, len(users))
	for _, u := range users {
		out = append(out, u.GetLogin())
	}
	sort.Strings(out)
	return out, nil
}

// repoAdmins maps each read repository to the logins with admin on it.
func (a *access) repoAdmins(ctx context.Context, org string) (map[string][]string, error) {
	repos, err := a.clients.repositories(ctx, a.settings.Sources.GitHub, org)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	ctx = collector.WithOperation(ctx, "github", "repos.list_collaborators")
	for _, r := range repos {
		if r.Skipped != "" && r.Skipped != "archived" {
			continue
		}
		users, err := listAll(func(o gh.ListOptions) ([]*gh.User, *gh.Response, error) {
			return a.clients.rest.Repositories.ListCollaborators(ctx, r.Owner, r.Name, &gh.ListCollaboratorsOptions{Permission: "admin", ListOptions: o})
		})
		if err != nil {
			return out, fmt.Errorf("list admins of %s: %w", r.fullName(), err)
		}
		logins := make([]string, 0, len(users))
		for _, u := range users {
			logins = append(logins, u.GetLogin())
		}
		sort.Strings(logins)
		out[r.fullName()] = logins
	}
	return out, nil
}

// listAll follows a REST list's Link header to its last page.
func listAll[T any](page func(gh.ListOptions) ([]T, *gh.Response, error)) ([]T, error) {
	var out []T
	opts := gh.ListOptions{PerPage: 100}
	for {
		items, resp, err := page(opts)
		if err != nil {
			return out, err
		}
		out = append(out, items...)
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
