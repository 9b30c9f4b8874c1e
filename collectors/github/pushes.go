package github

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// branchCommit is one commit on a default branch and the merged pull
// requests GitHub associates with it.
type branchCommit struct {
	OID           string
	Headline      string
	Author        string
	Committer     string
	CommittedDate time.Time
	MergedPRs     []int
}

const historyQuery = `query($owner: String!, $name: String!, $ref: String!, $since: GitTimestamp!, $until: GitTimestamp!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    ref(qualifiedName: $ref) {
      target {
        ... on Commit {
          history(first: 100, since: $since, until: $until, after: $cursor) {
            pageInfo { hasNextPage endCursor }
            nodes {
              oid messageHeadline committedDate
              author { name user { login } }
              committer { name user { login } }
              associatedPullRequests(first: 5) { nodes { number merged baseRefName } }
            }
          }
        }
      }
    }
  }
}`

type gqlGitActor struct {
	Name string `json:"name"`
	User *struct {
		Login string `json:"login"`
	} `json:"user"`
}

func (a *gqlGitActor) String() string {
	if a == nil {
		return ""
	}
	if a.User != nil && a.User.Login != "" {
		return a.User.Login
	}
	return a.Name
}

type gqlHistory struct {
	Repository *struct {
		Ref *struct {
			Target struct {
				History *struct {
					PageInfo pageInfo `json:"pageInfo"`
					Nodes    []struct {
						OID                    string       `json:"oid"`
						MessageHeadline        string       `json:"messageHeadline"`
						CommittedDate          time.Time    `json:"committedDate"`
						Author                 *gqlGitActor `json:"author"`
						Committer              *gqlGitActor `json:"committer"`
						AssociatedPullRequests struct {
							Nodes []struct {
								Number      int    `json:"number"`
								Merged      bool   `json:"merged"`
								BaseRefName string `json:"baseRefName"`
							} `json:"nodes"`
						} `json:"associatedPullRequests"`
					} `json:"nodes"`
				} `json:"history"`
			} `json:"target"`
		} `json:"ref"`
	} `json:"repository"`
}

// branchHistory lists the commits on branch committed within w, each with
// the merged pull requests into that branch it belongs to.
//
// Git records when a commit was made, not when it was pushed: a commit
// made before the window but pushed within it is judged in the window its
// commit date falls in. GitHub's push events would close that gap but are
// kept only 90 days, so they cannot be a complete record.
func (c *clients) branchHistory(ctx context.Context, owner, repo, branch string, w window) ([]branchCommit, error) {
	ctx = collector.WithOperation(ctx, "github", "graphql.branch_history")
	var out []branchCommit
	var cursor any
	for {
		var data gqlHistory
		err := c.graphql(ctx, historyQuery, map[string]any{
			"owner": owner, "name": repo, "ref": "refs/heads/" + branch,
			"since": w.Start.Format(time.RFC3339), "until": w.End.Format(time.RFC3339), "cursor": cursor,
		}, &data)
		if err != nil {
			return out, fmt.Errorf("list commits on %s: %w", branch, err)
		}
		if data.Repository == nil {
			return out, fmt.Errorf("list commits on %s: repository not visible", branch)
		}
		if data.Repository.Ref == nil {
			// An empty repository has no branch yet, so no commits.
			return out, nil
		}
		if data.Repository.Ref.Target.History == nil {
			return out, fmt.Errorf("list commits on %s: the ref is not a branch of commits", branch)
		}
		h := data.Repository.Ref.Target.History
		for _, n := range h.Nodes {
			// The API's until is inclusive; the window is not.
			if !w.contains(n.CommittedDate) {
				continue
			}
			bc := branchCommit{
				OID:           n.OID,
				Headline:      n.MessageHeadline,
				Author:        n.Author.String(),
				Committer:     n.Committer.String(),
				CommittedDate: n.CommittedDate.UTC(),
			}
			for _, p := range n.AssociatedPullRequests.Nodes {
				if p.Merged && p.BaseRefName == branch {
					bc.MergedPRs = append(bc.MergedPRs, p.Number)
				}
			}
			out = append(out, bc)
		}
		if !h.PageInfo.HasNextPage {
			return out, nil
		}
		if h.PageInfo.EndCursor == "" {
			return out, errors.New("list commits: next page without a cursor")
		}
		cursor = h.PageInfo.EndCursor
	}
}

// branchCommits lists the commits on branch within w with their merged
// pull requests, through GraphQL or, where it is not served, REST (one
// extra call per commit that is not a known merge commit).
func (c *clients) branchCommits(ctx context.Context, owner, repo, branch string, w window, mergeCommits map[string]int) ([]branchCommit, error) {
	commits, err := c.branchHistory(ctx, owner, repo, branch, w)
	if errors.Is(err, errGraphQLUnavailable) {
		return c.branchCommitsREST(ctx, owner, repo, branch, w, mergeCommits)
	}
	return commits, err
}

func (c *clients) branchCommitsREST(ctx context.Context, owner, repo, branch string, w window, mergeCommits map[string]int) ([]branchCommit, error) {
	lctx := collector.WithOperation(ctx, "github", "repos.list_commits")
	list, err := listAll(func(o gh.ListOptions) ([]*gh.RepositoryCommit, *gh.Response, error) {
		return c.rest.Repositories.ListCommits(lctx, owner, repo, &gh.CommitsListOptions{SHA: branch, Since: w.Start, Until: w.End, ListOptions: o})
	})
	if err != nil {
		return nil, &opError{"repos.list_commits", fmt.Errorf("list commits on %s: %w", branch, err)}
	}
	pctx := collector.WithOperation(ctx, "github", "pulls.list_with_commit")
	var out []branchCommit
	for _, rc := range list {
		date := rc.GetCommit().GetCommitter().GetDate().Time
		if !w.contains(date) {
			continue
		}
		bc := branchCommit{
			OID:           rc.GetSHA(),
			Headline:      strings.SplitN(rc.GetCommit().GetMessage(), "\n", 2)[0],
			Author:        gitActor(rc.GetAuthor(), rc.GetCommit().GetAuthor()),
			Committer:     gitActor(rc.GetCommitter(), rc.GetCommit().GetCommitter()),
			CommittedDate: date.UTC(),
		}
		if n, ok := mergeCommits[bc.OID]; ok {
			bc.MergedPRs = []int{n}
		} else {
			prs, err := listAll(func(o gh.ListOptions) ([]*gh.PullRequest, *gh.Response, error) {
				return c.rest.PullRequests.ListPullRequestsWithCommit(pctx, owner, repo, bc.OID, &o)
			})
			if err != nil {
				return out, &opError{"pulls.list_with_commit", fmt.Errorf("list pull requests of commit %s: %w", bc.OID, err)}
			}
			for _, p := range prs {
				if p.MergedAt != nil && p.GetBase().GetRef() == branch {
					bc.MergedPRs = append(bc.MergedPRs, p.GetNumber())
				}
			}
		}
		out = append(out, bc)
	}
	return out, nil
}

func gitActor(u *gh.User, a *gh.CommitAuthor) string {
	if u.GetLogin() != "" {
		return u.GetLogin()
	}
	return a.GetName()
}

// directPushFindings fails each commit that reached the branch without a
// merged pull request: neither a merge commit of one merged in this run
// nor associated by GitHub with one. A repository with none passes.
func directPushFindings(repo repository, commits []branchCommit, mergeCommits map[string]int) []evidence.Finding {
	var out []evidence.Finding
	for _, c := range commits {
		if len(c.MergedPRs) > 0 {
			continue
		}
		if _, ok := mergeCommits[c.OID]; ok {
			continue
		}
		out = append(out, evidence.Finding{
			Check:    CheckDirectPush,
			Resource: repo.fullName() + "@" + c.OID,
			Status:   evidence.Fail,
			Reason: fmt.Sprintf("commit %s@%s (%q by %s) reached %s without a merged pull request",
				repo.fullName(), c.OID, c.Headline, c.Author, repo.DefaultBranch),
			Observed: map[string]any{
				"branch":         repo.DefaultBranch,
				"commit":         c.OID,
				"author":         c.Author,
				"committer":      c.Committer,
				"committed_date": timeString(c.CommittedDate),
			},
		})
	}
	if len(out) == 0 {
		out = append(out, evidence.Finding{
			Check:    CheckDirectPush,
			Resource: repo.fullName(),
			Status:   evidence.Pass,
			Reason: fmt.Sprintf("all %d commits that reached %s of %s in the window came through merged pull requests",
				len(commits), repo.DefaultBranch, repo.fullName()),
			Observed: map[string]any{"branch": repo.DefaultBranch, "commits": len(commits)},
		})
	}
	return out
}
