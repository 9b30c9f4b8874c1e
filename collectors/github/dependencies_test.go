package github

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// operationTargets is what each named operation requests, as the
// simulator's Fail matches it.
var operationTargets = map[string]string{
	"apps.create_installation_access_token": "/api/v3/app/installations/*/access_tokens",
	"repos.list_by_org":                     "/api/v3/orgs/acme/repos",
	"graphql.pull_requests":                 "graphql:pullRequests",
	"graphql.branch_history":                "graphql:history",
	"pulls.list":                            "/api/v3/repos/acme/*/pulls",
	"pulls.get":                             "/api/v3/repos/acme/*/pulls/*",
	"pulls.list_reviews":                    "/api/v3/repos/acme/*/pulls/*/reviews",
	"repos.list_commits":                    "/api/v3/repos/acme/*/commits",
	"pulls.list_with_commit":                "/api/v3/repos/acme/*/commits/*/pulls",
	"repos.get_branch_protection":           "/api/v3/repos/acme/*/branches/*/protection",
	"repos.get_all_rulesets":                "/api/v3/repos/acme/*/rulesets",
	"repos.get_ruleset":                     "/api/v3/repos/acme/*/rulesets/*",
	"orgs.get":                              "/api/v3/orgs/acme",
	"orgs.list_members":                     "/api/v3/orgs/acme/members",
	"orgs.list_outside_collaborators":       "/api/v3/orgs/acme/outside_collaborators",
	"repos.list_collaborators":              "/api/v3/repos/acme/*/collaborators",
	"dependabot.list_org_alerts":            "/api/v3/orgs/acme/dependabot/alerts",
	"code_scanning.list_alerts_for_org":     "/api/v3/orgs/acme/code-scanning/alerts",
	"secret_scanning.list_alerts_for_org":   "/api/v3/orgs/acme/secret-scanning/alerts",
	"repos.get_vulnerability_alerts":        "/api/v3/repos/acme/*/vulnerability-alerts",
}

// dependency is one operation a check's verdict rests on.
type dependency struct {
	op string
	// edit makes the operation one the run needs: the REST fallback for
	// the REST operations, App credentials for the token exchange, one
	// repository where only it makes the call.
	edit func(t *testing.T, sim *ghsim.Sim, src *collector.GitHubSource)
	// reason is what every error finding's reason says was not read.
	reason string
	// message, when set, is what the run's error says instead of naming
	// the operation: a failed token exchange fails the call it was for.
	message string
}

func noGraphQL(_ *testing.T, sim *ghsim.Sim, _ *collector.GitHubSource) { sim.NoGraphQL = true }

// only reads one repository: the one whose verdict the operation decides
// (the others' are settled without calling it).
func only(repo string, rest bool) func(*testing.T, *ghsim.Sim, *collector.GitHubSource) {
	return func(t *testing.T, sim *ghsim.Sim, src *collector.GitHubSource) {
		src.IncludeRepos = []string{repo}
		sim.NoGraphQL = rest
	}
}

// asApp reads with GitHub App credentials, which start with the token
// exchange.
func asApp(t *testing.T, _ *ghsim.Sim, src *collector.GitHubSource) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	src.Token, src.AppID, src.InstallationID, src.PrivateKeyFile = "", 12345, 67890, file
}

var (
	repoList   = dependency{op: "repos.list_by_org", reason: "repositories of acme could not all be listed"}
	appToken   = dependency{op: "apps.create_installation_access_token", edit: asApp, reason: "could not", message: "installation"}
	prListings = []dependency{
		repoList, appToken,
		{op: "graphql.pull_requests", reason: "could not all be listed"},
		{op: "pulls.list", edit: noGraphQL, reason: "could not all be listed"},
		{op: "pulls.get", edit: noGraphQL, reason: "could not all be listed"},
		{op: "pulls.list_reviews", edit: noGraphQL, reason: "could not all be listed"},
	}
)

// checkDependencies maps every check the GitHub collectors declare to the
// operations its verdict rests on.
var checkDependencies = map[string][]dependency{
	CheckPRApproved:      prListings,
	CheckPRApprovedFinal: prListings,
	CheckDirectPush: {
		repoList, appToken,
		{op: "graphql.branch_history", reason: "could not be listed"},
		{op: "repos.list_commits", edit: noGraphQL, reason: "could not be listed"},
		{op: "pulls.list_with_commit", edit: only("api", true), reason: "could not be listed"},
	},
	CheckProtection: {
		repoList, appToken,
		{op: "repos.get_branch_protection", reason: "could not be read"},
		{op: "repos.get_all_rulesets", reason: "could not be read"},
		{op: "repos.get_ruleset", edit: only("web", false), reason: "could not be read"},
	},
	CheckTwoFactor: {{op: "orgs.get", reason: "settings of acme could not be read"}, appToken},
	CheckAccessList: {
		appToken,
		{op: "orgs.list_members", reason: "could not be read"},
		{op: "orgs.list_outside_collaborators", reason: "could not be read"},
		{op: "repos.list_by_org", reason: "could not be read"},
		{op: "repos.list_collaborators", reason: "could not be read"},
	},
	CheckDependabotSLA:      {appToken, {op: "dependabot.list_org_alerts", reason: "open Dependabot alerts of acme could not all be read"}},
	CheckCodeScanningSLA:    {appToken, {op: "code_scanning.list_alerts_for_org", reason: "open code-scanning alerts of acme could not all be read"}},
	CheckSecretScanningOpen: {appToken, {op: "secret_scanning.list_alerts_for_org", reason: "open secret-scanning alerts of acme could not all be read"}},
	CheckAlertsEnabled: {
		appToken,
		{op: "repos.list_by_org", reason: "repositories of acme could not all be listed"},
		{op: "repos.get_vulnerability_alerts", reason: "whether Dependabot alerts are on could not be read"},
	},
}

// TestEveryInputFailing: for every check the GitHub collectors declare and
// every operation its verdict rests on, that operation failing (403 as a
// token without the permission gets, or a 5xx) leaves no finding of the
// check pass or fail: each is error, with a reason naming what was not
// read, or not_applicable where what was read settles it (a configured
// branch the repository does not have); and the run's errors name the
// operation. Every operation a collector names is an input of one of its
// checks.
func TestEveryInputFailing(t *testing.T) {
	for _, tc := range []struct {
		f   collector.Factory
		ops map[string]permission
	}{{pullRequestsFactory(), pullRequestOperations}, {accessFactory(), accessOperations}, {vulnerabilitiesFactory(), vulnerabilityOperations}} {
		t.Run(tc.f.Type, func(t *testing.T) {
			covered := map[string]bool{}
			for _, chk := range tc.f.Checks {
				deps := checkDependencies[chk]
				require.NotEmpty(t, deps, "check %s has no dependency cases", chk)
				for _, d := range deps {
					covered[d.op] = true
					target, ok := operationTargets[d.op]
					require.True(t, ok, "operation %s has no target", d.op)
					for _, status := range []int{http.StatusForbidden, http.StatusBadGateway} {
						t.Run(fmt.Sprintf("%s/%s/%d", chk, d.op, status), func(t *testing.T) {
							h := newHarness(t)
							s := h.settings(thresholds(1))
							if d.edit != nil {
								d.edit(t, h.sim, s.Sources.GitHub)
							}
							h.sim.Fail(target, status)
							c, err := tc.f.New(s)
							require.NoError(t, err)
							res, err := c.Collect(collector.WithRecorder(t.Context(), h.rec), collector.Request{
								Scope: evidence.Scope{Provider: "github", Account: ghsim.DemoOrg}, Since: since(60), Now: now})
							require.Error(t, err)
							var pe *collector.PartialError
							switch {
							case d.message != "":
								require.ErrorContains(t, err, d.message)
							case errors.As(err, &pe):
								var ops []string
								for _, e := range pe.Errors {
									ops = append(ops, e.Operation)
								}
								require.Contains(t, ops, d.op, "the run's errors do not name the operation")
							default:
								// Nothing was observed: the run failed outright.
								require.ErrorContains(t, err, "list repositories")
							}
							require.NotNil(t, res, "the run returned no findings: %v", err)
							errs := 0
							for _, x := range res.Findings {
								if x.Check != chk {
									continue
								}
								require.Contains(t, []evidence.Result{evidence.Error, evidence.NotApplicable}, x.Status, "%s %s: %s", x.Check, x.Resource, x.Reason)
								if x.Status == evidence.Error {
									errs++
									require.Contains(t, x.Reason, d.reason, x.Resource)
								}
							}
							require.NotZero(t, errs, "no %s finding is error", chk)
						})
					}
				}
			}
			for op := range tc.ops {
				require.True(t, covered[op], "%s: operation %s is an input of no check's case", tc.f.Type, op)
			}
		})
	}
}

// TestProtectionUnstatedSetting: a classic protection whose answer leaves
// out allow_force_pushes is not taken to block them: with no ruleset to
// settle it, the branch's protection is an error, not a pass.
func TestProtectionUnstatedSetting(t *testing.T) {
	h := newHarness(t)
	h.sim.Org.Repo("api").Protection.AllowForcePushes = nil
	res, err := h.collect(t, pullRequestsFactory(), thresholds(1), collector.Request{Since: since(60)})
	require.NoError(t, err)
	for _, f := range res.Findings {
		if f.Check == CheckProtection && f.Resource == "acme/api:main" {
			require.Equal(t, evidence.Error, f.Status, f.Reason)
			require.Contains(t, f.Reason, "allow_force_pushes")
			return
		}
	}
	t.Fatal("no protection finding for acme/api:main")
}
