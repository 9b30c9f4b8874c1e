package github

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// repoConcurrency bounds how many repositories are read at once, each with
// its listings and its protection reads in flight together: at most 16
// requests, against GitHub's 100. The pacer, not this bound, holds them to
// the secondary limits; the bound only keeps enough requests ready to
// spend the budget when answers are slow (BenchmarkScalePullRequests at
// the strict per-second limits: with 4, GraphQL requests went out at
// 87-96% of the limit's rate; with 8, at 91-98%).
const repoConcurrency = 8

func pullRequestsFactory() collector.Factory {
	return collector.Factory{
		Type:        TypePullRequests,
		Version:     Version,
		Provider:    "github",
		Description: "Pull requests merged into default and protected branches with their reviews, direct pushes, and branch protection",
		Permissions: permissionsFor(pullRequestOperations),
		Checks:      []string{CheckPRApproved, CheckPRApprovedFinal, CheckDirectPush, CheckProtection},
		New: func(s collector.Settings) (collector.Collector, error) {
			c, err := newClients(s)
			if err != nil {
				return nil, err
			}
			return &pullRequests{settings: s, clients: c}, nil
		},
	}
}

type pullRequests struct {
	settings collector.Settings
	clients  *clients
}

var _ collector.Collector = (*pullRequests)(nil)

func (p *pullRequests) Scopes(context.Context) ([]evidence.Scope, error) {
	return orgScopes(p.settings.Sources.GitHub, p.clients), nil
}

func orgScopes(src *collector.GitHubSource, c *clients) []evidence.Scope {
	out := make([]evidence.Scope, 0, len(src.Orgs))
	for _, o := range src.Orgs {
		out = append(out, evidence.Scope{Provider: "github", Account: o, Endpoint: c.endpoint})
	}
	return out
}

// repoResult is what one repository contributes to a run.
type repoResult struct {
	records  []evidence.Record
	findings []evidence.Finding
	errs     []evidence.RunError
}

func (r *repoResult) fail(where, op string, err error) {
	r.errs = append(r.errs, evidence.RunError{Where: where, Operation: failedOp(err, op), Message: err.Error()})
}

// opError names the operation whose call failed when it is not the one a
// listing is known by (the REST fallback of a GraphQL listing).
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// failedOp is the operation err names, else fallback.
func failedOp(err error, fallback string) string {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.op
	}
	return fallback
}

func (p *pullRequests) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	src := p.settings.Sources.GitHub
	w, err := runWindow(req, src.LookbackDays)
	if err != nil {
		return nil, err
	}
	waits := &waitLog{}
	ctx = withWaitLog(ctx, waits)
	org := req.Scope.Account
	res := &collector.Result{Window: w.evidence()}
	partial := &collector.PartialError{}

	repos, err := p.clients.repositories(ctx, src, org)
	if err != nil {
		// Repositories not listed are judged nowhere; each check says so
		// for the org. The ones listed are still read.
		partial.Add(org, "repos.list_by_org", err)
		for _, chk := range []string{CheckPRApproved, CheckPRApprovedFinal, CheckDirectPush, CheckProtection} {
			res.Findings = append(res.Findings, evidence.Finding{Check: chk, Resource: org, Status: evidence.Error,
				Reason:   fmt.Sprintf("the repositories of %s could not all be listed, so not every repository was judged", org),
				Observed: map[string]any{"error": err.Error(), "repositories_listed": len(repos)}})
		}
		if len(repos) == 0 {
			// Nothing was observed: the run failed, with its findings.
			return res, err
		}
	}

	branchesOf := func(r repository) []string { return repoBranches(r, src.ProtectedBranches) }
	probes := p.clients.probeRepositories(ctx, repos, branchesOf, w)
	results := make([]repoResult, len(repos))
	sem := make(chan struct{}, repoConcurrency)
	var wg sync.WaitGroup
	for i, repo := range repos {
		results[i].records = append(results[i].records, repo.record())
		if repo.Skipped != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].fail(repo.fullName(), "", fmt.Errorf("not read: %w", ctx.Err()))
				return
			}
			defer func() { <-sem }()
			p.collectRepo(ctx, repo, w, branchesOf(repo), probes[repo.fullName()], &results[i])
		}()
	}
	wg.Wait()

	// Each repository's part moves into the result, which is made its
	// final size at once, and is let go: an organization's findings are
	// held once, not also per repository and in the copies a growing
	// slice leaves behind (20,000 pull requests: about 27 MB).
	waited := waits.records()
	nRecords, nFindings := len(waited), 0
	for _, r := range results {
		nRecords += len(r.records)
		nFindings += len(r.findings)
	}
	res.Records = slices.Grow(res.Records, nRecords)
	res.Findings = slices.Grow(res.Findings, nFindings)
	for i := range results {
		r := &results[i]
		res.Records = append(res.Records, r.records...)
		res.Findings = append(res.Findings, r.findings...)
		partial.Errors = append(partial.Errors, r.errs...)
		r.records, r.findings = nil, nil
	}
	res.Records = append(res.Records, waited...)
	sortResult(res)
	return res, partial.Err()
}

// repoBranches are the default branch and each configured protected
// branch, once.
func repoBranches(repo repository, protected []string) []string {
	branches := []string{repo.DefaultBranch}
	for _, b := range protected {
		if b != repo.DefaultBranch {
			branches = append(branches, b)
		}
	}
	return branches
}

// collectRepo reads one repository. probe, when not nil, says which reads
// would answer nothing (see probeRepositories); those are not made.
//
// The protection reads (REST) need nothing the listings (GraphQL) answer,
// so they run beside them: a repository waiting for one resource's budget
// still spends the other's, and the run does not end on a queue of
// protection reads left behind the last listings.
func (p *pullRequests) collectRepo(ctx context.Context, repo repository, w window, branches []string, probe *repoProbe, out *repoResult) {
	var prot repoResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.collectProtection(ctx, repo, branches, probe, &prot)
	}()
	p.collectChanges(ctx, repo, w, branches, probe, out)
	<-done
	out.records = append(out.records, prot.records...)
	out.findings = append(out.findings, prot.findings...)
	out.errs = append(out.errs, prot.errs...)
}

// collectChanges reads the pull requests merged into each branch and the
// commits on the default branch, and judges them.
func (p *pullRequests) collectChanges(ctx context.Context, repo repository, w window, branches []string, probe *repoProbe, out *repoResult) {
	required := p.settings.Thresholds.RequiredApprovals
	if required < 1 {
		required = 1
	}
	mergeCommits := map[string]int{}
	for _, b := range branches {
		if probe.noMergesSince(b, w.Start) {
			continue
		}
		prs, err := p.clients.mergedPullRequests(ctx, repo.Owner, repo.Name, b, w)
		if err != nil {
			// The pull requests read before the failure are still
			// evidence; those not listed are judged nowhere, so both
			// approval checks say so for the branch.
			out.fail(repo.fullName(), "graphql.pull_requests", err)
			for _, chk := range []string{CheckPRApproved, CheckPRApprovedFinal} {
				out.findings = append(out.findings, evidence.Finding{
					Check: chk, Resource: repo.fullName() + ":" + b, Status: evidence.Error,
					Reason:   fmt.Sprintf("the pull requests merged into %s of %s could not all be listed", b, repo.fullName()),
					Observed: map[string]any{"error": err.Error(), "pull_requests_listed": len(prs)},
				})
			}
		}
		for _, pr := range prs {
			o := evaluate(pr, required)
			out.records = append(out.records, pullRequestRecord(pr))
			out.findings = append(out.findings, approvedFinding(pr, o), approvedFinalFinding(pr, o))
			if pr.MergeCommit != "" {
				mergeCommits[pr.MergeCommit] = pr.Number
			}
		}
	}

	var commits []branchCommit
	var err error
	if probe == nil || probe.commitsInWindow {
		commits, err = p.clients.branchCommits(ctx, repo.Owner, repo.Name, repo.DefaultBranch, w, mergeCommits)
	}
	if err != nil {
		out.fail(repo.fullName(), "graphql.branch_history", err)
		out.findings = append(out.findings, evidence.Finding{
			Check: CheckDirectPush, Resource: repo.fullName(), Status: evidence.Error,
			Reason:   fmt.Sprintf("the commits on %s of %s could not be listed", repo.DefaultBranch, repo.fullName()),
			Observed: map[string]any{"error": err.Error()},
		})
	} else {
		out.findings = append(out.findings, directPushFindings(repo, commits, mergeCommits)...)
	}
}

// collectProtection reads and judges the protection of the default branch
// and of each configured protected branch the repository has.
func (p *pullRequests) collectProtection(ctx context.Context, repo repository, branches []string, probe *repoProbe, out *repoResult) {
	rulesets, rerr := p.clients.branchRulesets(ctx, repo)
	if rerr != nil {
		out.fail(repo.fullName(), rerr.op, rerr.err)
	}
	for _, b := range branches {
		prot, perr := protection{}, rerr
		if rerr == nil && b != repo.DefaultBranch && probe.missing(b) {
			// GitHub's answer would be 404 Branch not found.
			perr = &protectionErr{"repos.get_branch_protection", http.StatusNotFound, errBranchNotFound}
		} else if rerr == nil {
			prot, perr = p.clients.branchProtection(ctx, repo, b, rulesets)
			if perr != nil && !missingBranch(repo, b, perr) {
				out.fail(repo.fullName(), perr.op, perr.err)
			}
		}
		f, rec := protectionFinding(repo, b, prot, perr)
		out.findings = append(out.findings, f)
		out.records = append(out.records, rec)
	}
}

// sortResult orders records and findings so that the same observations
// always make the same snapshot, whatever order concurrent reads ended in.
func sortResult(res *collector.Result) {
	slices.SortStableFunc(res.Records, func(a, b evidence.Record) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.ID, b.ID))
	})
	slices.SortStableFunc(res.Findings, func(a, b evidence.Finding) int {
		return cmp.Or(strings.Compare(a.Check, b.Check), strings.Compare(a.Resource, b.Resource))
	})
}
