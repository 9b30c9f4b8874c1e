package ghsim

import (
	"fmt"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// NewScale returns a simulator serving an organization of repos
// repositories with prs pull requests merged into each default branch,
// spread evenly over the 90 days before now, for benchmarks and call
// counts. Every repository has classic protection on main and one active
// ruleset; none has the release branch. Pages are GitHub's: up to 100.
func NewScale(now time.Time, repos, prs int) *Sim {
	now = now.UTC().Truncate(time.Second)
	org := &Org{Login: DemoOrg, Members: []Member{{Login: "alice", Role: "admin", TwoFactorActive: true}}}
	span := 90 * 24 * time.Hour
	for i := range repos {
		r := &Repo{Name: fmt.Sprintf("svc-%03d", i), DefaultBranch: "main", Private: true, Admins: []string{"alice"},
			Protection: &gh.Protection{
				RequiredPullRequestReviews: &gh.PullRequestReviewsEnforcement{RequiredApprovingReviewCount: 1, DismissStaleReviews: true},
				EnforceAdmins:              &gh.AdminEnforcement{Enabled: true},
				AllowForcePushes:           &gh.AllowForcePushes{Enabled: false},
				AllowDeletions:             &gh.AllowDeletions{Enabled: false},
			},
			Rulesets: []*gh.Ruleset{{
				ID: gh.Int64(int64(1000 + i)), Name: "protect-default", Target: gh.String("branch"), SourceType: gh.String("Repository"),
				Source: DemoOrg + "/" + fmt.Sprintf("svc-%03d", i), Enforcement: "active",
				Conditions: &gh.RulesetConditions{RefName: &gh.RulesetRefConditionParameters{Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{}}},
				Rules:      []*gh.RepositoryRule{gh.NewNonFastForwardRule(), gh.NewDeletionRule()},
			}},
		}
		for n := 1; n <= prs; n++ {
			// The newest merged two hours before now (updated a minute later).
			at := now.Add(-2*time.Hour - time.Duration(prs-n)*span/time.Duration(max(prs, 1)))
			pr := mergedPR(r, n, fmt.Sprintf("Change %d", n), bob, bob, at, approve(carol, at.Add(-time.Hour), ""))
			r.PRs = append(r.PRs, pr)
			r.Commits = append(r.Commits, Commit{OID: pr.MergeCommit, Headline: fmt.Sprintf("%s (#%d)", pr.Title, n), Author: "bob", Date: at, PRs: []int{n}})
		}
		org.Repos = append(org.Repos, r)
	}
	return &Sim{Now: now, Org: org, RESTPageSize: 100, GraphQLPageSize: 100}
}
