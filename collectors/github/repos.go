package github

import (
	"context"
	"fmt"
	"path"
	"sort"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// repository is one repository of an org, and whether it is read.
type repository struct {
	Owner, Name   string
	DefaultBranch string
	Archived      bool
	Private       bool
	Visibility    string
	// Skipped says why the repository is not read ("archived",
	// "excluded", "not included"); empty when it is.
	Skipped string
	// Security is the security_and_analysis block, which GitHub shows
	// only to admins, owners and security managers; nil when not shown.
	Security *gh.SecurityAndAnalysis
}

func (r repository) fullName() string { return r.Owner + "/" + r.Name }

func (r repository) record() evidence.Record {
	return evidence.Record{Type: "github.repository", ID: r.fullName(), Attributes: map[string]any{
		"default_branch": r.DefaultBranch,
		"archived":       r.Archived,
		"private":        r.Private,
		"visibility":     r.Visibility,
		"skipped":        r.Skipped,
	}}
}

// repositories lists all repositories of org, marking those the config's
// include/exclude lists or archiving leave out. Lists hold names or
// org/name, with path.Match globs.
func (c *clients) repositories(ctx context.Context, src *collector.GitHubSource, org string) ([]repository, error) {
	ctx = collector.WithOperation(ctx, "github", "repos.list_by_org")
	opts := &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: gh.ListOptions{PerPage: 100}}
	var out []repository
	for {
		page, resp, err := c.rest.Repositories.ListByOrg(ctx, org, opts)
		if err != nil {
			return out, &opError{"repos.list_by_org", fmt.Errorf("list repositories of %s: %w", org, err)}
		}
		for _, r := range page {
			repo := repository{
				Owner:         org,
				Name:          r.GetName(),
				DefaultBranch: r.GetDefaultBranch(),
				Archived:      r.GetArchived(),
				Private:       r.GetPrivate(),
				Visibility:    r.GetVisibility(),
				Security:      r.SecurityAndAnalysis,
			}
			switch {
			case len(src.IncludeRepos) > 0 && !matchesAny(src.IncludeRepos, repo):
				repo.Skipped = "not included"
			case matchesAny(src.ExcludeRepos, repo):
				repo.Skipped = "excluded"
			case repo.Archived:
				repo.Skipped = "archived"
			}
			out = append(out, repo)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// skippedByConfig says why the include/exclude lists leave out the
// repository org/name, or "" when they do not; archiving is not judged.
func skippedByConfig(src *collector.GitHubSource, org, name string) string {
	r := repository{Owner: org, Name: name}
	switch {
	case len(src.IncludeRepos) > 0 && !matchesAny(src.IncludeRepos, r):
		return "not included"
	case matchesAny(src.ExcludeRepos, r):
		return "excluded"
	}
	return ""
}

func matchesAny(patterns []string, r repository) bool {
	for _, p := range patterns {
		for _, name := range []string{r.Name, r.fullName()} {
			if ok, err := path.Match(p, name); err == nil && ok {
				return true
			}
		}
	}
	return false
}
