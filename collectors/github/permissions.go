package github

import "sort"

// permission is what one API operation needs: the classic token scope and
// the GitHub App permission.
type permission struct {
	token, app string
}

// Every operation the collectors name with collector.WithOperation, and
// what it needs. A test checks that each call made is listed here, and
// each factory declares the union.
var pullRequestOperations = map[string]permission{
	// A GitHub App exchanges its own signed JWT for an installation
	// token; no scope is involved.
	"apps.create_installation_access_token": {},
	"repos.list_by_org":                     {"repo", "metadata:read"},
	"graphql.pull_requests":                 {"repo", "pull_requests:read"},
	"graphql.branch_history":                {"repo", "contents:read"},
	"pulls.list":                            {"repo", "pull_requests:read"},
	"pulls.get":                             {"repo", "pull_requests:read"},
	"pulls.list_reviews":                    {"repo", "pull_requests:read"},
	"repos.list_commits":                    {"repo", "contents:read"},
	"pulls.list_with_commit":                {"repo", "pull_requests:read"},
	"repos.get_branch_protection":           {"repo", "administration:read"},
	"repos.get_all_rulesets":                {"repo", "metadata:read"},
	"repos.get_ruleset":                     {"repo", "metadata:read"},
}

var accessOperations = map[string]permission{
	"apps.create_installation_access_token": {},
	// GitHub shows two_factor_requirement_enabled only to organization
	// owners: admin:org for a classic token, Organization administration
	// (read) for an App.
	"orgs.get":                        {"admin:org", "organization_administration:read"},
	"orgs.list_members":               {"read:org", "members:read"},
	"orgs.list_outside_collaborators": {"read:org", "members:read"},
	"repos.list_by_org":               {"repo", "metadata:read"},
	"repos.list_collaborators":        {"repo", "metadata:read"},
}

// vulnerabilityOperations: the organization-level alert listings need the
// caller to be an owner or security manager of the organization; classic
// tokens use security_events, which reads private repositories' alerts
// without the write access repo carries.
var vulnerabilityOperations = map[string]permission{
	"apps.create_installation_access_token": {},
	"dependabot.list_org_alerts":            {"security_events", "vulnerability_alerts:read"},
	"code_scanning.list_alerts_for_org":     {"security_events", "security_events:read"},
	"secret_scanning.list_alerts_for_org":   {"security_events", "secret_scanning_alerts:read"},
	"repos.list_by_org":                     {"repo", "metadata:read"},
	// Whether Dependabot alerts are on is reported by repository only.
	"repos.get_vulnerability_alerts": {"repo", "administration:read"},
}

func permissionsFor(ops map[string]permission) []string {
	set := map[string]bool{}
	for _, p := range ops {
		for _, s := range []string{p.token, p.app} {
			if s != "" {
				set[s] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
