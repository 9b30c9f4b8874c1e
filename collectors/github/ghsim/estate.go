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

	return &Org{
		Login:             DemoOrg,
		TwoFactorRequired: &yes,
		Members: []Member{
			{Login: "alice", Role: "admin", TwoFactorActive: true},
			{Login: "bob", Role: "member", TwoFactorActive: true},
			{Login: "carol", Role: "member", TwoFactorActive: true},
			{Login: "dave", Role: "member", TwoFactorActive: false},
		},
		Outside: []string{"contractor-eve"},
		Repos:   []*Repo{api, infra, legacy, web},
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
