package github

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// GraphQL has no conditional requests, so an hourly run would pay three
// queries per repository to learn that nothing merged. One query asks, for
// up to probeBatch repositories at once, the last update of a merged pull
// request into each branch, whether each branch exists, and whether any
// commit reached the default branch within the window. A branch whose
// newest merged pull request was last updated before the window has none in
// it: the full listing would stop at its first node, so it is not made. The
// same holds for a default branch with no commit in the window. The probe
// only ever saves a read whose answer it already knows; when it fails, or
// says anything else, the repository is read in full.
const probeBatch = 50

// repoProbe is what the probe learned of one repository.
type repoProbe struct {
	// latestPR is the last update of the newest merged pull request into
	// each branch; absent: none.
	latestPR map[string]time.Time
	// exists says whether each branch exists.
	exists map[string]bool
	// commitsInWindow: the default branch has a commit in the window (or
	// the repository is empty: false).
	commitsInWindow bool
}

// noMergesSince: the probe shows no pull request into branch updated at or
// after start, so none merged within a window starting then.
func (p *repoProbe) noMergesSince(branch string, start time.Time) bool {
	if p == nil {
		return false
	}
	if _, known := p.exists[branch]; !known {
		return false
	}
	t, ok := p.latestPR[branch]
	return !ok || t.Before(start)
}

// missing: the probe shows branch does not exist.
func (p *repoProbe) missing(branch string) bool {
	if p == nil {
		return false
	}
	e, known := p.exists[branch]
	return known && !e
}

// probeRepositories probes repos in batches; a batch that fails is left
// out of the answer, and its repositories are read in full.
func (c *clients) probeRepositories(ctx context.Context, repos []repository, branches func(repository) []string, w window) map[string]*repoProbe {
	// Named as the listing it stands in for: it needs the same
	// permissions, and its failure is no one's input (the full reads
	// follow).
	ctx = collector.WithOperation(ctx, "github", "graphql.pull_requests")
	out := map[string]*repoProbe{}
	var batch []repository
	flush := func() {
		if len(batch) == 0 {
			return
		}
		for name, p := range c.probeBatch(ctx, batch, branches, w) {
			out[name] = p
		}
		batch = batch[:0]
	}
	for _, r := range repos {
		if r.Skipped != "" {
			continue
		}
		batch = append(batch, r)
		if len(batch) == probeBatch {
			flush()
		}
	}
	flush()
	return out
}

type probeRef struct {
	Name   string `json:"name"`
	Target *struct {
		History *struct {
			Nodes []struct {
				OID string `json:"oid"`
			} `json:"nodes"`
		} `json:"history"`
	} `json:"target"`
}

type probePRs struct {
	Nodes []struct {
		UpdatedAt time.Time `json:"updatedAt"`
	} `json:"nodes"`
}

func (c *clients) probeBatch(ctx context.Context, repos []repository, branches func(repository) []string, w window) map[string]*repoProbe {
	vars := map[string]any{"since": w.Start.Format(time.RFC3339), "until": w.End.Format(time.RFC3339)}
	var decl, body strings.Builder
	decl.WriteString("query exhibitProbe($since: GitTimestamp!, $until: GitTimestamp!")
	for i, r := range repos {
		fmt.Fprintf(&decl, ", $o%d: String!, $n%d: String!", i, i)
		vars[fmt.Sprintf("o%d", i)], vars[fmt.Sprintf("n%d", i)] = r.Owner, r.Name
		fmt.Fprintf(&body, "  r%d: repository(owner: $o%d, name: $n%d) {\n", i, i, i)
		for j, b := range branches(r) {
			fmt.Fprintf(&decl, ", $b%d_%d: String!, $q%d_%d: String!", i, j, i, j)
			vars[fmt.Sprintf("b%d_%d", i, j)], vars[fmt.Sprintf("q%d_%d", i, j)] = b, "refs/heads/"+b
			fmt.Fprintf(&body, "    p%d: pullRequests(states: MERGED, baseRefName: $b%d_%d, first: 1, orderBy: {field: UPDATED_AT, direction: DESC}) { nodes { updatedAt } }\n", j, i, j)
			fmt.Fprintf(&body, "    e%d: ref(qualifiedName: $q%d_%d) { name", j, i, j)
			if j == 0 {
				body.WriteString(" target { ... on Commit { history(first: 1, since: $since, until: $until) { nodes { oid } } } }")
			}
			body.WriteString(" }\n")
		}
		body.WriteString("  }\n")
	}
	query := decl.String() + ") {\n" + body.String() + "}"
	var data map[string]map[string]json.RawMessage
	if err := c.graphql(ctx, query, vars, &data); err != nil {
		return nil
	}
	out := map[string]*repoProbe{}
	for i, r := range repos {
		fields, ok := data[fmt.Sprintf("r%d", i)]
		if !ok || fields == nil {
			continue
		}
		p := &repoProbe{latestPR: map[string]time.Time{}, exists: map[string]bool{}}
		complete := true
		for j, b := range branches(r) {
			var prs *probePRs
			var ref *probeRef
			rawP, okP := fields[fmt.Sprintf("p%d", j)]
			rawE, okE := fields[fmt.Sprintf("e%d", j)]
			if !okP || !okE || json.Unmarshal(rawP, &prs) != nil || json.Unmarshal(rawE, &ref) != nil || prs == nil {
				complete = false
				break
			}
			if len(prs.Nodes) > 0 {
				p.latestPR[b] = prs.Nodes[0].UpdatedAt
			}
			p.exists[b] = ref != nil
			if j == 0 && ref != nil {
				if ref.Target == nil || ref.Target.History == nil {
					complete = false // not a branch of commits: read in full
					break
				}
				p.commitsInWindow = len(ref.Target.History.Nodes) > 0
			}
		}
		if complete {
			out[r.fullName()] = p
		}
	}
	return out
}
