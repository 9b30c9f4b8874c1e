package ghsim

import (
	"fmt"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// The demo organization's people.
var (
	alice      = User{"alice", "User"}
	bob        = User{"bob", "User"}
	carol      = User{"carol", "User"}
	dependabot = User{"dependabot", "Bot"}
	approveBot = User{"renovate-approve", "Bot"}
)

// Demo pull requests of acme/api, one per case the checks distinguish.
const (
	PRApproved          = 101 // approved by another person on the final commit
	PRSelfMerged        = 102 // merged by its author with no review
	PRPushedAfter       = 103 // approved, then more commits pushed
	PRDismissed         = 104 // approval dismissed
	PRChangesRequested  = 105 // only changes requested
	PRBotApproved       = 106 // approved only by a bot
	PRTwoApprovals      = 107 // approved by two people
	PRBoundary          = 108 // merged exactly ten days before now
	PRReleaseBranch     = 109 // merged into the protected release branch
	PRBeforeWindow      = 90  // merged long before any window
	DirectPushHeadline  = "hotfix: bump timeout"
	DemoOrg             = "acme"
	boundaryDaysBeforeN = 10
)

// BoundaryTime is when PRBoundary merged, for tests that split a period
// exactly there.
func BoundaryTime(now time.Time) time.Time {
	return now.UTC().Truncate(time.Second).AddDate(0, 0, -boundaryDaysBeforeN)
}

// demoOrg builds the demo estate around now.
func demoOrg(now time.Time) *Org {
	now = now.UTC().Truncate(time.Second)
	day := func(d int) time.Time { return now.AddDate(0, 0, -d) }
	yes := true

	protected := func() *gh.Protection {
		return &gh.Protection{
			RequiredPullRequestReviews: &gh.PullRequestReviewsEnforcement{RequiredApprovingReviewCount: 1, DismissStaleReviews: true},
			EnforceAdmins:              &gh.AdminEnforcement{Enabled: true},
			AllowForcePushes:           &gh.AllowForcePushes{Enabled: false},
			AllowDeletions:             &gh.AllowDeletions{Enabled: false},
		}
	}
	api := &Repo{Name: "api", DefaultBranch: "main", Private: true, Admins: []string{"alice"},
		Protection: protected(),
		Branches:   map[string]*gh.Protection{"release": protected()},
	}
	add := func(r *Repo, pr *PR) {
		r.PRs = append(r.PRs, pr)
		if pr.Base == r.DefaultBranch {
			r.Commits = append(r.Commits, Commit{OID: pr.MergeCommit, Headline: pr.Title + fmt.Sprintf(" (#%d)", pr.Number), Author: pr.Author.Login, Date: pr.MergedAt, PRs: []int{pr.Number}})
		}
	}
	add(api, mergedPR(api, PRApproved, "Add rate limiting to /login", alice, alice, day(20), approve(bob, day(20).Add(-time.Hour), "")))
	add(api, mergedPR(api, PRSelfMerged, "Quick config change", alice, alice, day(18)))
	pushed := mergedPR(api, PRPushedAfter, "Refactor session store", bob, bob, day(15),
		approve(carol, day(15).Add(-5*time.Hour), OID("acme/api#103 first push")))
	add(api, pushed)
	add(api, mergedPR(api, PRDismissed, "Change token lifetime", carol, carol, day(14),
		Review{Author: bob, State: "DISMISSED", SubmittedAt: day(14).Add(-3 * time.Hour)}))
	add(api, mergedPR(api, PRChangesRequested, "Disable audit log", bob, bob, day(12),
		Review{Author: carol, State: "CHANGES_REQUESTED", SubmittedAt: day(12).Add(-2 * time.Hour)}))
	add(api, mergedPR(api, PRBotApproved, "Bump golang.org/x/net", dependabot, bob, day(11),
		approve(approveBot, day(11).Add(-time.Hour), "")))
	add(api, mergedPR(api, PRTwoApprovals, "Encrypt backups with KMS", alice, alice, day(9),
		approve(bob, day(9).Add(-3*time.Hour), ""), approve(carol, day(9).Add(-2*time.Hour), "")))
	add(api, mergedPR(api, PRBoundary, "Rotate signing keys", carol, bob, BoundaryTime(now),
		approve(alice, BoundaryTime(now).Add(-time.Hour), "")))
	release := mergedPR(api, PRReleaseBranch, "Backport session fix", bob, alice, day(5),
		approve(alice, day(5).Add(-time.Hour), ""))
	release.Base = "release"
	add(api, release)
	add(api, mergedPR(api, PRBeforeWindow, "Initial import", alice, alice, day(200),
		approve(bob, day(200).Add(-time.Hour), "")))
	api.Commits = append(api.Commits, Commit{OID: OID("acme/api direct push"), Headline: DirectPushHeadline, Author: "alice", Date: day(7)})

	web := &Repo{Name: "web", DefaultBranch: "main", Admins: []string{"alice", "bob"},
		Rulesets: []*gh.Ruleset{{
			ID: gh.Int64(42), Name: "protect-default", Target: gh.String("branch"), SourceType: gh.String("Repository"), Source: "acme/web",
			Enforcement: "active",
			Conditions:  &gh.RulesetConditions{RefName: &gh.RulesetRefConditionParameters{Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{}}},
			Rules: []*gh.RepositoryRule{
				gh.NewPullRequestRule(&gh.PullRequestRuleParameters{RequiredApprovingReviewCount: 1, DismissStaleReviewsOnPush: true}),
				gh.NewNonFastForwardRule(),
				gh.NewDeletionRule(),
			},
		}},
	}
	add(web, mergedPR(web, 7, "Update landing page copy", bob, bob, day(3), approve(carol, day(3).Add(-time.Hour), "")))

	infra := &Repo{Name: "infra", DefaultBranch: "main", Private: true, Admins: []string{"alice"}}
	add(infra, mergedPR(infra, 12, "Terraform: tighten bucket policy", carol, carol, day(6), approve(alice, day(6).Add(-time.Hour), "")))

	legacy := &Repo{Name: "legacy", DefaultBranch: "master", Archived: true, Admins: []string{"alice"}}
	// Dependabot alerts are off in infra: nothing would tell of a
	// vulnerable Terraform provider there.
	infra.DependabotAlertsDisabled = true

	return &Org{
		Login:             DemoOrg,
		TwoFactorRequired: &yes,
		Members: []Member{
			{Login: "alice", Role: "admin", TwoFactorActive: true},
			{Login: "bob", Role: "member", TwoFactorActive: true},
			{Login: "carol", Role: "member", TwoFactorActive: true},
			{Login: "dave", Role: "member", TwoFactorActive: false},
			// frank was deprovisioned in the Okta demo org and is still a
			// member; mallory maps to no one (identity.reconcile).
			{Login: "frank", Role: "member", TwoFactorActive: true},
			{Login: "mallory", Role: "member", TwoFactorActive: true},
		},
		Outside:        []string{"contractor-eve"},
		Repos:          []*Repo{api, infra, legacy, web},
		Dependabot:     demoDependabot(day),
		CodeScanning:   demoCodeScanning(day),
		SecretScanning: demoSecretScanning(day),
	}
}

// Demo secrets: GitHub returns them in secret-scanning alerts; evidence
// must never hold them.
const (
	DemoLeakedSecret  = "ghp_SimulatedLeakedToken0000000000000000"
	DemoRevokedSecret = "https://hooks.slack.example/services/T0SIM/B0SIM/simulatedwebhooksecret"
)

// demoDependabot: a critical alert open 60 days (past its 15-day SLA), a
// high one open 5 days (within 30), a low one (recorded, not judged), one
// dismissed and one fixed in the window, and one fixed long before it.
func demoDependabot(day func(int) time.Time) []*DependabotAlert {
	return []*DependabotAlert{
		{Repo: "api", Number: 1, Ecosystem: "npm", Package: "jsonwebtoken", ManifestPath: "web/package-lock.json", Severity: "critical",
			GHSA: "GHSA-8cf7-32gw-wr33", CVE: "CVE-2022-23529", Summary: "jsonwebtoken unrestricted key type could lead to legacy keys usage",
			VulnerableRange: "< 9.0.0", PatchedVersion: "9.0.0", State: "open", CreatedAt: day(60), UpdatedAt: day(60)},
		{Repo: "web", Number: 4, Ecosystem: "npm", Package: "axios", ManifestPath: "package-lock.json", Severity: "high",
			GHSA: "GHSA-jr5f-v2jv-69x6", CVE: "CVE-2025-27152", Summary: "axios requests vulnerable to possible SSRF and credential leakage via absolute URL",
			VulnerableRange: ">= 1.0.0, < 1.8.2", PatchedVersion: "1.8.2", State: "open", CreatedAt: day(5), UpdatedAt: day(5)},
		{Repo: "api", Number: 3, Ecosystem: "go", Package: "github.com/gorilla/websocket", ManifestPath: "go.mod", Severity: "low",
			GHSA: "GHSA-jf24-p9p9-4rjh", Summary: "Integer overflow in gorilla/websocket frame length",
			VulnerableRange: "< 1.4.1", PatchedVersion: "1.4.1", State: "open", CreatedAt: day(200), UpdatedAt: day(200)},
		{Repo: "api", Number: 2, Ecosystem: "go", Package: "golang.org/x/net", ManifestPath: "go.mod", Severity: "medium",
			GHSA: "GHSA-4v7x-pqxf-cx7m", CVE: "CVE-2023-39325", Summary: "HTTP/2 rapid reset can cause excessive work in net/http",
			VulnerableRange: "< 0.17.0", PatchedVersion: "0.17.0", State: "dismissed", CreatedAt: day(40), UpdatedAt: day(10),
			DismissedAt: day(10), DismissedBy: &alice, DismissedReason: "tolerable_risk", DismissedComment: "api serves HTTP/1.1 only behind the load balancer; upgrade planned with Go 1.22"},
		{Repo: "web", Number: 3, Ecosystem: "npm", Package: "semver", ManifestPath: "package-lock.json", Severity: "high",
			GHSA: "GHSA-c2qf-rxjj-qqgw", CVE: "CVE-2022-25883", Summary: "semver vulnerable to Regular Expression Denial of Service",
			VulnerableRange: "< 7.5.2", PatchedVersion: "7.5.2", State: "fixed", CreatedAt: day(20), UpdatedAt: day(8), FixedAt: day(8)},
		{Repo: "web", Number: 1, Ecosystem: "npm", Package: "minimist", ManifestPath: "package-lock.json", Severity: "critical",
			GHSA: "GHSA-xvch-5gv4-984h", CVE: "CVE-2021-44906", Summary: "Prototype Pollution in minimist",
			VulnerableRange: "< 1.2.6", PatchedVersion: "1.2.6", State: "fixed", CreatedAt: day(160), UpdatedAt: day(150), FixedAt: day(150)},
	}
}

// demoCodeScanning: a high alert open 12 days (within 30), a medium one
// open 120 days (past 90), a non-security note (recorded, not judged),
// one fixed and one dismissed in the window.
func demoCodeScanning(day func(int) time.Time) []*CodeScanningAlert {
	return []*CodeScanningAlert{
		{Repo: "api", Number: 5, RuleID: "go/sql-injection", RuleSeverity: "error", SecuritySeverity: "high",
			RuleDescription: "Database query built from user-controlled sources", Tool: "CodeQL", Path: "internal/store/query.go", Line: 88,
			State: "open", CreatedAt: day(12), UpdatedAt: day(12)},
		{Repo: "api", Number: 4, RuleID: "go/path-injection", RuleSeverity: "error", SecuritySeverity: "medium",
			RuleDescription: "Uncontrolled data used in path expression", Tool: "CodeQL", Path: "internal/export/files.go", Line: 41,
			State: "open", CreatedAt: day(120), UpdatedAt: day(120)},
		{Repo: "web", Number: 1, RuleID: "js/unused-local-variable", RuleSeverity: "note",
			RuleDescription: "Unused variable, import, function or class", Tool: "CodeQL", Path: "src/App.jsx", Line: 12,
			State: "open", CreatedAt: day(30), UpdatedAt: day(30)},
		{Repo: "web", Number: 2, RuleID: "js/xss", RuleSeverity: "error", SecuritySeverity: "critical",
			RuleDescription: "Client-side cross-site scripting", Tool: "CodeQL", Path: "src/pages/Search.jsx", Line: 57,
			State: "fixed", CreatedAt: day(9), UpdatedAt: day(6), FixedAt: day(6)},
		{Repo: "api", Number: 3, RuleID: "go/clear-text-logging", RuleSeverity: "error", SecuritySeverity: "high",
			RuleDescription: "Clear-text logging of sensitive information", Tool: "CodeQL", Path: "internal/auth/session.go", Line: 133,
			State: "dismissed", CreatedAt: day(25), UpdatedAt: day(3), DismissedAt: day(3), DismissedBy: &bob,
			DismissedReason: "false positive", DismissedComment: "logs the token's SHA-256, not the token"},
	}
}

// demoSecretScanning: a personal access token leaked four days ago and
// still open, and a webhook URL revoked in the window.
func demoSecretScanning(day func(int) time.Time) []*SecretScanningAlert {
	return []*SecretScanningAlert{
		{Repo: "infra", Number: 1, SecretType: "github_personal_access_token", SecretTypeName: "GitHub Personal Access Token",
			Secret: DemoLeakedSecret, State: "open", CreatedAt: day(4), UpdatedAt: day(4)},
		{Repo: "web", Number: 2, SecretType: "slack_incoming_webhook_url", SecretTypeName: "Slack Incoming Webhook URL",
			Secret: DemoRevokedSecret, State: "resolved", Resolution: "revoked", ResolvedAt: day(2), ResolvedBy: &carol,
			ResolutionComment: "webhook deleted and re-created", CreatedAt: day(3), UpdatedAt: day(2)},
	}
}

func mergedPR(r *Repo, n int, title string, author, merger User, mergedAt time.Time, reviews ...Review) *PR {
	label := fmt.Sprintf("acme/%s#%d", r.Name, n)
	head := OID(label + " head")
	for i := range reviews {
		if reviews[i].Commit == "" {
			reviews[i].Commit = head
		}
		reviews[i].ID = int64(n*100 + i + 1)
	}
	return &PR{
		Number: n, Title: title, Base: r.DefaultBranch, Author: author, MergedBy: merger,
		MergedAt: mergedAt, UpdatedAt: mergedAt.Add(time.Minute),
		HeadOID: head, HeadCommittedAt: mergedAt.Add(-4 * time.Hour),
		MergeCommit: OID(label + " merge"), Reviews: reviews,
	}
}

func approve(u User, at time.Time, commit string) Review {
	return Review{Author: u, State: "APPROVED", SubmittedAt: at, Commit: commit}
}
