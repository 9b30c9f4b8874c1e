package github

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// actor is a GitHub account as GraphQL reports it; Type is its __typename
// (User, Bot, Mannequin, EnterpriseUserAccount).
type actor struct {
	Login string `json:"login"`
	Type  string `json:"__typename"`
}

// login is the account's REST login: GraphQL names an App's bot account
// "name", REST "name[bot]"; evidence uses one spelling whichever API
// answered.
func (a *actor) login() string {
	if a == nil || a.Login == "" {
		return "ghost"
	}
	if a.Type == "Bot" && !strings.HasSuffix(a.Login, "[bot]") {
		return a.Login + "[bot]"
	}
	return a.Login
}

func (a *actor) isBot() bool {
	return a != nil && (a.Type == "Bot" || strings.HasSuffix(a.Login, "[bot]"))
}

func (a *actor) kind() string {
	if a == nil {
		return "deleted"
	}
	if a.isBot() {
		return "Bot"
	}
	if a.Type == "" {
		return "User"
	}
	return a.Type
}

// review is one submitted review. State is APPROVED, CHANGES_REQUESTED,
// COMMENTED or DISMISSED; a dismissed approval is reported as DISMISSED.
type review struct {
	Author      *actor
	State       string
	SubmittedAt time.Time
	CommitOID   string
}

// pullRequest is one merged pull request with what its checks need.
type pullRequest struct {
	Repo            string // org/repo
	Number          int
	Title           string
	URL             string
	BaseRef         string
	Author          *actor
	MergedBy        *actor
	MergedAt        time.Time
	UpdatedAt       time.Time
	MergeCommit     string
	HeadOID         string
	HeadCommittedAt time.Time
	Reviews         []review
}

func (p *pullRequest) resource() string { return fmt.Sprintf("%s#%d", p.Repo, p.Number) }

const pullRequestsQuery = `query($owner: String!, $name: String!, $base: String!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(states: MERGED, baseRefName: $base, first: 100, after: $cursor, orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number title url updatedAt mergedAt baseRefName headRefOid
        author { login __typename }
        mergedBy { login __typename }
        mergeCommit { oid }
        commits(last: 1) { nodes { commit { oid committedDate } } }
        reviews(first: 100) {
          totalCount
          nodes { author { login __typename } state submittedAt commit { oid } }
        }
      }
    }
  }
}`

type gqlPullRequests struct {
	Repository *struct {
		PullRequests struct {
			PageInfo pageInfo `json:"pageInfo"`
			Nodes    []gqlPR  `json:"nodes"`
		} `json:"pullRequests"`
	} `json:"repository"`
}

type pageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

type gqlPR struct {
	Number      int        `json:"number"`
	Title       string     `json:"title"`
	URL         string     `json:"url"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	MergedAt    *time.Time `json:"mergedAt"`
	BaseRefName string     `json:"baseRefName"`
	HeadRefOid  string     `json:"headRefOid"`
	Author      *actor     `json:"author"`
	MergedBy    *actor     `json:"mergedBy"`
	MergeCommit *struct {
		OID string `json:"oid"`
	} `json:"mergeCommit"`
	Commits struct {
		Nodes []struct {
			Commit struct {
				OID           string    `json:"oid"`
				CommittedDate time.Time `json:"committedDate"`
			} `json:"commit"`
		} `json:"nodes"`
	} `json:"commits"`
	Reviews struct {
		TotalCount int `json:"totalCount"`
		Nodes      []struct {
			Author      *actor     `json:"author"`
			State       string     `json:"state"`
			SubmittedAt *time.Time `json:"submittedAt"`
			Commit      *struct {
				OID string `json:"oid"`
			} `json:"commit"`
		} `json:"nodes"`
	} `json:"reviews"`
}

// mergedPullRequests returns the pull requests merged into base within w,
// one GraphQL request per page of 100 (GitHub's largest) with their reviews. Pages come newest
// update first; a merged pull request's update time is never before its
// merge, so paging stops at the first one last updated before the window.
//
// A pull request updated while the pages are read (a comment, a label)
// jumps to the front and can slip past the cursor. When the listing took
// more than one page, the front is read again down to the moment the
// listing began; pull requests are kept once, by number.
func (c *clients) mergedPullRequests(ctx context.Context, owner, repo, base string, w window) ([]*pullRequest, error) {
	ctx = collector.WithOperation(ctx, "github", "graphql.pull_requests")
	var out []*pullRequest
	seen := map[int]bool{}
	walk := func(stop func(gqlPR) bool) (pages int, err error) {
		var cursor any
		for {
			var data gqlPullRequests
			err := c.graphql(ctx, pullRequestsQuery, map[string]any{
				"owner": owner, "name": repo, "base": base, "cursor": cursor,
			}, &data)
			if err != nil {
				return pages, err
			}
			pages++
			if data.Repository == nil {
				return pages, errors.New("repository not visible")
			}
			page := data.Repository.PullRequests
			for _, n := range page.Nodes {
				if stop(n) {
					return pages, nil
				}
				if n.MergedAt == nil || !w.contains(*n.MergedAt) || seen[n.Number] {
					continue
				}
				pr, err := c.fromGraphQL(ctx, owner, repo, n)
				if err != nil {
					return pages, err
				}
				seen[n.Number] = true
				out = append(out, pr)
			}
			if !page.PageInfo.HasNextPage {
				return pages, nil
			}
			if page.PageInfo.EndCursor == "" {
				return pages, errors.New("next page without a cursor")
			}
			cursor = page.PageInfo.EndCursor
		}
	}
	began := time.Now().Add(-clockSkew)
	pages, err := walk(func(n gqlPR) bool { return n.UpdatedAt.Before(w.Start) })
	if errors.Is(err, errGraphQLUnavailable) {
		return c.mergedPullRequestsREST(ctx, owner, repo, base, w)
	}
	if err == nil && pages > 1 {
		_, err = walk(func(n gqlPR) bool { return n.UpdatedAt.Before(began) || n.UpdatedAt.Before(w.Start) })
	}
	if err != nil {
		return out, fmt.Errorf("list merged pull requests into %s: %w", base, err)
	}
	return out, nil
}

// clockSkew is how far GitHub's clock may be behind ours.
const clockSkew = 5 * time.Minute

func (c *clients) fromGraphQL(ctx context.Context, owner, repo string, n gqlPR) (*pullRequest, error) {
	pr := &pullRequest{
		Repo:      owner + "/" + repo,
		Number:    n.Number,
		Title:     n.Title,
		URL:       n.URL,
		BaseRef:   n.BaseRefName,
		Author:    n.Author,
		MergedBy:  n.MergedBy,
		MergedAt:  n.MergedAt.UTC(),
		UpdatedAt: n.UpdatedAt.UTC(),
		HeadOID:   n.HeadRefOid,
	}
	if n.MergeCommit != nil {
		pr.MergeCommit = n.MergeCommit.OID
	}
	if len(n.Commits.Nodes) > 0 {
		last := n.Commits.Nodes[len(n.Commits.Nodes)-1].Commit
		pr.HeadCommittedAt = last.CommittedDate.UTC()
		if pr.HeadOID == "" {
			pr.HeadOID = last.OID
		}
	}
	if n.Reviews.TotalCount > len(n.Reviews.Nodes) {
		// Rare: more than 100 reviews. REST pages through all of them.
		reviews, err := c.reviewsREST(ctx, owner, repo, n.Number)
		if err != nil {
			return nil, err
		}
		pr.Reviews = reviews
		return pr, nil
	}
	for _, r := range n.Reviews.Nodes {
		rv := review{Author: r.Author, State: r.State}
		if r.SubmittedAt != nil {
			rv.SubmittedAt = r.SubmittedAt.UTC()
		}
		if r.Commit != nil {
			rv.CommitOID = r.Commit.OID
		}
		pr.Reviews = append(pr.Reviews, rv)
	}
	return pr, nil
}

// reviewsREST lists every review of one pull request.
func (c *clients) reviewsREST(ctx context.Context, owner, repo string, number int) ([]review, error) {
	ctx = collector.WithOperation(ctx, "github", "pulls.list_reviews")
	var out []review
	opts := &gh.ListOptions{PerPage: 100}
	for {
		page, resp, err := c.rest.PullRequests.ListReviews(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, &opError{"pulls.list_reviews", fmt.Errorf("list reviews of %s/%s#%d: %w", owner, repo, number, err)}
		}
		for _, r := range page {
			rv := review{State: r.GetState(), CommitOID: r.GetCommitID(), SubmittedAt: r.GetSubmittedAt().UTC()}
			if u := r.GetUser(); u != nil {
				rv.Author = &actor{Login: u.GetLogin(), Type: u.GetType()}
			}
			out = append(out, rv)
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// mergedPullRequestsREST is the fallback where GraphQL is not served: closed
// pull requests newest update first, then each merged one in the window
// fetched whole (the list omits merged_by) with its reviews. Like the
// GraphQL listing, a listing of several pages reads the front again.
func (c *clients) mergedPullRequestsREST(ctx context.Context, owner, repo, base string, w window) ([]*pullRequest, error) {
	var out []*pullRequest
	seen := map[int]bool{}
	walk := func(stop time.Time) (pages int, err error) {
		opts := &gh.PullRequestListOptions{State: "closed", Base: base, Sort: "updated", Direction: "desc", ListOptions: gh.ListOptions{PerPage: 100}}
		for {
			page, resp, err := c.rest.PullRequests.List(collector.WithOperation(ctx, "github", "pulls.list"), owner, repo, opts)
			if err != nil {
				return pages, &opError{"pulls.list", fmt.Errorf("list pull requests into %s: %w", base, err)}
			}
			pages++
			for _, p := range page {
				if p.GetUpdatedAt().Before(stop) {
					return pages, nil
				}
				if p.MergedAt == nil || !w.contains(p.GetMergedAt().Time) || seen[p.GetNumber()] {
					continue
				}
				pr, err := c.pullRequestREST(ctx, owner, repo, p.GetNumber())
				if err != nil {
					return pages, err
				}
				seen[pr.Number] = true
				out = append(out, pr)
			}
			if resp.NextPage == 0 {
				return pages, nil
			}
			opts.Page = resp.NextPage
		}
	}
	began := time.Now().Add(-clockSkew)
	pages, err := walk(w.Start)
	if err == nil && pages > 1 {
		stop := began
		if stop.Before(w.Start) {
			stop = w.Start
		}
		_, err = walk(stop)
	}
	return out, err
}

func (c *clients) pullRequestREST(ctx context.Context, owner, repo string, number int) (*pullRequest, error) {
	full, _, err := c.rest.PullRequests.Get(collector.WithOperation(ctx, "github", "pulls.get"), owner, repo, number)
	if err != nil {
		return nil, &opError{"pulls.get", fmt.Errorf("get pull request %s/%s#%d: %w", owner, repo, number, err)}
	}
	pr := &pullRequest{
		Repo:        owner + "/" + repo,
		Number:      full.GetNumber(),
		Title:       full.GetTitle(),
		URL:         full.GetHTMLURL(),
		BaseRef:     full.GetBase().GetRef(),
		MergedAt:    full.GetMergedAt().UTC(),
		UpdatedAt:   full.GetUpdatedAt().UTC(),
		MergeCommit: full.GetMergeCommitSHA(),
		HeadOID:     full.GetHead().GetSHA(),
	}
	if u := full.GetUser(); u != nil {
		pr.Author = &actor{Login: u.GetLogin(), Type: u.GetType()}
	}
	if u := full.GetMergedBy(); u != nil {
		pr.MergedBy = &actor{Login: u.GetLogin(), Type: u.GetType()}
	}
	if pr.Reviews, err = c.reviewsREST(ctx, owner, repo, pr.Number); err != nil {
		return nil, err
	}
	return pr, nil
}
