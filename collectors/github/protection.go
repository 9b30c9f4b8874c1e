package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// protection is what classic branch protection and the active rulesets
// together enforce on one branch.
type protection struct {
	Classic          bool     // classic protection exists
	Rulesets         []string // active rulesets that apply to the branch
	RequiredReviews  int
	DismissStale     bool
	EnforceAdmins    bool     // classic: rules apply to administrators
	BypassActors     []string // ruleset bypass actors, "Type:id(mode)"
	NoBypassRuleset  bool     // a ruleset requiring review has no bypass actors
	ForcePushBlocked bool
	DeletionBlocked  bool
	// Unstated lists the classic settings GitHub's answer left out
	// (enforce_admins, allow_force_pushes, allow_deletions): not read, so
	// they can neither pass nor fail the branch.
	Unstated []string
}

// protectionErr is a failure to read the settings: the check is then an
// error, never a pass.
type protectionErr struct {
	op     string
	status int
	err    error
}

// branchRulesets reads a repository's active branch rulesets, once for all
// of its branches. A server without rulesets answers 404: none.
func (c *clients) branchRulesets(ctx context.Context, repo repository) ([]*gh.Ruleset, *protectionErr) {
	list, _, err := c.rest.Repositories.GetAllRulesets(collector.WithOperation(ctx, "github", "repos.get_all_rulesets"), repo.Owner, repo.Name, true)
	if err != nil {
		if apiStatus(err) == http.StatusNotFound {
			return nil, nil
		}
		return nil, &protectionErr{"repos.get_all_rulesets", apiStatus(err), err}
	}
	var out []*gh.Ruleset
	for _, summary := range list {
		if summary.Enforcement != "active" || (summary.Target != nil && *summary.Target != "branch") || summary.ID == nil {
			continue
		}
		rs, _, err := c.rest.Repositories.GetRuleset(collector.WithOperation(ctx, "github", "repos.get_ruleset"), repo.Owner, repo.Name, *summary.ID, true)
		if err != nil {
			return nil, &protectionErr{"repos.get_ruleset", apiStatus(err), err}
		}
		out = append(out, rs)
	}
	return out, nil
}

// errBranchNotFound: the branch does not exist in the repository.
var errBranchNotFound = errors.New("branch not found")

// missingBranch: a configured protected branch this repository does not
// have. That is not_applicable; the default branch is always there.
func missingBranch(repo repository, branch string, perr *protectionErr) bool {
	return perr != nil && branch != repo.DefaultBranch && errors.Is(perr.err, errBranchNotFound)
}

// branchProtection combines the branch's classic protection with the
// rulesets that apply to it. A branch the repository does not have is
// errBranchNotFound, told apart from "not protected" by GitHub's message.
func (c *clients) branchProtection(ctx context.Context, repo repository, branch string, rulesets []*gh.Ruleset) (protection, *protectionErr) {
	var p protection
	classic, _, err := c.rest.Repositories.GetBranchProtection(collector.WithOperation(ctx, "github", "repos.get_branch_protection"), repo.Owner, repo.Name, branch)
	var er *gh.ErrorResponse
	switch {
	case errors.Is(err, gh.ErrBranchNotProtected):
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound && er.Message == "Branch not found":
		return p, &protectionErr{"repos.get_branch_protection", http.StatusNotFound, errBranchNotFound}
	case err != nil:
		return p, &protectionErr{"repos.get_branch_protection", apiStatus(err), err}
	default:
		p.Classic = true
		if r := classic.RequiredPullRequestReviews; r != nil {
			p.RequiredReviews = r.RequiredApprovingReviewCount
			p.DismissStale = r.DismissStaleReviews
		}
		p.EnforceAdmins = classic.EnforceAdmins != nil && classic.EnforceAdmins.Enabled
		p.ForcePushBlocked = classic.AllowForcePushes != nil && !classic.AllowForcePushes.Enabled
		p.DeletionBlocked = classic.AllowDeletions != nil && !classic.AllowDeletions.Enabled
		for field, absent := range map[string]bool{
			"enforce_admins": classic.EnforceAdmins == nil, "allow_force_pushes": classic.AllowForcePushes == nil,
			"allow_deletions": classic.AllowDeletions == nil,
		} {
			if absent {
				p.Unstated = append(p.Unstated, field)
			}
		}
		sort.Strings(p.Unstated)
	}

	for _, rs := range rulesets {
		if !rulesetApplies(rs, branch, repo.DefaultBranch) {
			continue
		}
		p.Rulesets = append(p.Rulesets, rs.Name)
		for _, a := range rs.BypassActors {
			p.BypassActors = append(p.BypassActors, fmt.Sprintf("%s:%d(%s)", a.GetActorType(), a.GetActorID(), a.GetBypassMode()))
		}
		for _, rule := range rs.Rules {
			switch rule.Type {
			case "pull_request":
				var params gh.PullRequestRuleParameters
				if rule.Parameters != nil {
					if err := json.Unmarshal(*rule.Parameters, &params); err != nil {
						return p, &protectionErr{"repos.get_ruleset", 0, fmt.Errorf("ruleset %q: pull_request parameters: %w", rs.Name, err)}
					}
				}
				p.RequiredReviews = max(p.RequiredReviews, params.RequiredApprovingReviewCount)
				p.DismissStale = p.DismissStale || params.DismissStaleReviewsOnPush
				if params.RequiredApprovingReviewCount > 0 && len(rs.BypassActors) == 0 {
					p.NoBypassRuleset = true
				}
			case "non_fast_forward":
				p.ForcePushBlocked = true
			case "deletion":
				p.DeletionBlocked = true
			}
		}
	}
	sort.Strings(p.Rulesets)
	return p, nil
}

// rulesetApplies matches a ruleset's ref_name condition against a branch.
func rulesetApplies(rs *gh.Ruleset, branch, defaultBranch string) bool {
	if rs.Conditions == nil || rs.Conditions.RefName == nil {
		return true
	}
	match := func(patterns []string) bool {
		for _, p := range patterns {
			switch {
			case p == "~ALL":
				return true
			case p == "~DEFAULT_BRANCH" && branch == defaultBranch:
				return true
			}
			if ok, _ := path.Match(strings.TrimPrefix(p, "refs/heads/"), branch); ok {
				return true
			}
		}
		return false
	}
	return match(rs.Conditions.RefName.Include) && !match(rs.Conditions.RefName.Exclude)
}

func protectionFinding(repo repository, branch string, p protection, perr *protectionErr) (evidence.Finding, evidence.Record) {
	res := repo.fullName() + ":" + branch
	rec := evidence.Record{Type: "github.branch_protection", ID: res}
	f := evidence.Finding{Check: CheckProtection, Resource: res}
	if missingBranch(repo, branch, perr) {
		f.Status = evidence.NotApplicable
		f.Reason = fmt.Sprintf("%s has no branch %s", repo.fullName(), branch)
		rec.Attributes = map[string]any{"branch_exists": false}
		return f, rec
	}
	if perr != nil {
		f.Status = evidence.Error
		why := "could not be read"
		if perr.status == http.StatusForbidden || perr.status == http.StatusUnauthorized {
			why = "could not be read: the credentials lack permission (administration:read)"
		}
		f.Reason = fmt.Sprintf("branch protection of %s %s", res, why)
		f.Observed = map[string]any{"operation": perr.op, "http_status": perr.status, "error": perr.err.Error()}
		rec.Attributes = map[string]any{"error": perr.err.Error()}
		return f, rec
	}
	observed := map[string]any{
		"classic_protection":      p.Classic,
		"rulesets":                nonNil(p.Rulesets),
		"required_approvals":      p.RequiredReviews,
		"dismiss_stale_approvals": p.DismissStale,
		"enforce_admins":          p.EnforceAdmins,
		"ruleset_bypass_actors":   nonNil(p.BypassActors),
		"ruleset_without_bypass":  p.NoBypassRuleset,
		"force_push_blocked":      p.ForcePushBlocked,
		"deletion_blocked":        p.DeletionBlocked,
	}
	rec.Attributes = observed
	f.Observed = observed
	if !p.Classic && len(p.Rulesets) == 0 {
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s is not protected: no branch protection and no active ruleset", res)
		return f, rec
	}
	var missing, unknown []string
	lacks := func(field, what string) {
		if slices.Contains(p.Unstated, field) {
			unknown = append(unknown, field)
			return
		}
		missing = append(missing, what)
	}
	if p.RequiredReviews < 1 {
		missing = append(missing, "does not require an approving review")
	}
	if !p.DismissStale {
		missing = append(missing, "does not dismiss stale approvals")
	}
	if !p.EnforceAdmins && !p.NoBypassRuleset {
		lacks("enforce_admins", "lets administrators or bypass actors skip it")
	}
	if !p.ForcePushBlocked {
		lacks("allow_force_pushes", "allows force pushes")
	}
	if !p.DeletionBlocked {
		lacks("allow_deletions", "allows deletion")
	}
	switch {
	case len(missing) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("protection of %s %s", res, strings.Join(missing, ", "))
		return f, rec
	case len(unknown) > 0:
		observed["unstated_settings"] = unknown
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("GitHub's branch protection of %s does not state %s, and no ruleset settles it", res, strings.Join(unknown, ", "))
		return f, rec
	}
	f.Status = evidence.Pass
	f.Reason = fmt.Sprintf("%s requires %d approval(s), dismisses stale approvals, binds administrators and blocks force pushes and deletion", res, p.RequiredReviews)
	return f, rec
}
