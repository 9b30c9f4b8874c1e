package github

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// reviewerState is where one reviewer stood when the pull request merged.
type reviewerState struct {
	login string
	bot   bool
	// latest is the reviewer's last APPROVED, CHANGES_REQUESTED or DISMISSED
	// review: a comment does not change a reviewer's verdict.
	latest review
}

// verdicts returns each reviewer's standing verdict, sorted by login.
func verdicts(pr *pullRequest) []reviewerState {
	by := map[string]*reviewerState{}
	for _, r := range pr.Reviews {
		switch r.State {
		case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
		default:
			continue
		}
		login := r.Author.login()
		s, ok := by[login]
		if !ok {
			s = &reviewerState{login: login, bot: r.Author.isBot()}
			by[login] = s
		}
		if !ok || !r.SubmittedAt.Before(s.latest.SubmittedAt) {
			s.latest = r
		}
	}
	out := make([]reviewerState, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].login < out[j].login })
	return out
}

// approvalOutcome is the deciding values of both approval checks.
type approvalOutcome struct {
	approvers        []string // distinct, not the author, not bots, standing approvals
	finalApprovers   []string // approvers whose approval is on the head commit
	selfApproved     bool
	botApprovers     []string
	dismissed        []string // reviewers whose approval was dismissed
	changesRequested []string // reviewers whose standing verdict is changes requested
	staleApprovals   []string // "login@commit" of approvals on an earlier commit
	required         int
	reviewCount      int
}

func evaluate(pr *pullRequest, required int) approvalOutcome {
	o := approvalOutcome{required: required, reviewCount: len(pr.Reviews)}
	author := pr.Author.login()
	for _, v := range verdicts(pr) {
		switch {
		case v.login == author:
			if v.latest.State == "APPROVED" {
				o.selfApproved = true
			}
		case v.bot:
			if v.latest.State == "APPROVED" {
				o.botApprovers = append(o.botApprovers, v.login)
			}
		case v.latest.State == "APPROVED":
			o.approvers = append(o.approvers, v.login)
			if v.latest.CommitOID != "" && v.latest.CommitOID == pr.HeadOID {
				o.finalApprovers = append(o.finalApprovers, v.login)
			} else {
				o.staleApprovals = append(o.staleApprovals, v.login+"@"+short(v.latest.CommitOID))
			}
		case v.latest.State == "CHANGES_REQUESTED":
			o.changesRequested = append(o.changesRequested, v.login)
		case v.latest.State == "DISMISSED":
			o.dismissed = append(o.dismissed, v.login)
		}
	}
	return o
}

func (o approvalOutcome) observed(pr *pullRequest) map[string]any {
	return map[string]any{
		"author":             pr.Author.login(),
		"merged_by":          pr.MergedBy.login(),
		"merged_at":          pr.MergedAt.Format(time.RFC3339),
		"head_commit":        pr.HeadOID,
		"required_approvals": o.required,
		"approvers":          nonNil(o.approvers),
		"final_approvers":    nonNil(o.finalApprovers),
		"bot_approvers":      nonNil(o.botApprovers),
		"dismissed":          nonNil(o.dismissed),
		"changes_requested":  nonNil(o.changesRequested),
		"self_approved":      o.selfApproved,
		"reviews":            o.reviewCount,
	}
}

// approvedFinding decides github.pr.approved.
func approvedFinding(pr *pullRequest, o approvalOutcome) evidence.Finding {
	f := evidence.Finding{Check: CheckPRApproved, Resource: pr.resource(), Observed: o.observed(pr)}
	n := len(o.approvers)
	switch {
	case len(o.changesRequested) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s was merged with changes still requested by %s", pr.resource(), strings.Join(o.changesRequested, ", "))
	case n >= o.required:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s was approved by %s (%d of %d required), none of them its author or a bot", pr.resource(), strings.Join(o.approvers, ", "), n, o.required)
	case n > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s had %d of %d required approvals (by %s)", pr.resource(), n, o.required, strings.Join(o.approvers, ", "))
	case len(o.dismissed) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s was merged after its approval by %s was dismissed", pr.resource(), strings.Join(o.dismissed, ", "))
	case len(o.botApprovers) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s was approved only by a bot (%s)", pr.resource(), strings.Join(o.botApprovers, ", "))
	case o.selfApproved:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s was approved only by its author %s", pr.resource(), pr.Author.login())
	default:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s was merged by %s without an approving review", pr.resource(), pr.MergedBy.login())
	}
	return f
}

// approvedFinalFinding decides github.pr.approved_final: some standing
// approval was given on the commit that was merged.
func approvedFinalFinding(pr *pullRequest, o approvalOutcome) evidence.Finding {
	f := evidence.Finding{Check: CheckPRApprovedFinal, Resource: pr.resource(), Observed: map[string]any{
		"head_commit":     pr.HeadOID,
		"final_approvers": nonNil(o.finalApprovers),
		"stale_approvals": nonNil(o.staleApprovals),
	}}
	switch {
	case pr.HeadOID == "":
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("%s: the head commit of the merged pull request is unknown", pr.resource())
	case len(o.finalApprovers) > 0:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s was approved by %s on its final commit %s", pr.resource(), strings.Join(o.finalApprovers, ", "), short(pr.HeadOID))
	case len(o.approvers) > 0:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s: commits were pushed after the last approval (approved %s, merged %s)", pr.resource(), strings.Join(o.staleApprovals, ", "), short(pr.HeadOID))
	default:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s has no approval from another person on its final commit %s", pr.resource(), short(pr.HeadOID))
	}
	return f
}

func pullRequestRecord(pr *pullRequest) evidence.Record {
	reviews := make([]any, 0, len(pr.Reviews))
	for _, r := range pr.Reviews {
		reviews = append(reviews, map[string]any{
			"reviewer":      r.Author.login(),
			"reviewer_type": r.Author.kind(),
			"state":         r.State,
			"submitted_at":  timeString(r.SubmittedAt),
			"commit":        r.CommitOID,
		})
	}
	return evidence.Record{
		Type: "github.pull_request",
		ID:   pr.resource(),
		Attributes: map[string]any{
			"title":             pr.Title,
			"url":               pr.URL,
			"base":              pr.BaseRef,
			"author":            pr.Author.login(),
			"author_type":       pr.Author.kind(),
			"merged_by":         pr.MergedBy.login(),
			"merged_at":         timeString(pr.MergedAt),
			"merge_commit":      pr.MergeCommit,
			"head_commit":       pr.HeadOID,
			"head_committed_at": timeString(pr.HeadCommittedAt),
			"reviews":           reviews,
		},
	}
}

func short(oid string) string {
	if len(oid) > 7 {
		return oid[:7]
	}
	if oid == "" {
		return "(unknown)"
	}
	return oid
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
