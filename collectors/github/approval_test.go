package github

import (
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func TestApprovalBoundaries(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	u := func(l string) *actor { return &actor{Login: l, Type: "User"} }
	bot := func(l string) *actor { return &actor{Login: l, Type: "Bot"} }
	const head, old = "headheadheadhead", "oldoldoldoldold0"
	rv := func(a *actor, state string, m int, commit string) review {
		return review{Author: a, State: state, SubmittedAt: at(m), CommitOID: commit}
	}
	cases := []struct {
		name            string
		required        int
		headOID         string
		reviews         []review
		approved, final evidence.Result
	}{
		{"a comment after an approval keeps it", 1, head,
			[]review{rv(u("bob"), "APPROVED", 1, head), rv(u("bob"), "COMMENTED", 2, head)}, evidence.Pass, evidence.Pass},
		{"changes requested after approving withdraws it", 1, head,
			[]review{rv(u("bob"), "APPROVED", 1, head), rv(u("bob"), "CHANGES_REQUESTED", 2, head)}, evidence.Fail, evidence.Fail},
		{"approving after requesting changes clears them", 1, head,
			[]review{rv(u("bob"), "CHANGES_REQUESTED", 1, old), rv(u("bob"), "APPROVED", 2, head)}, evidence.Pass, evidence.Pass},
		{"one approval and another reviewer's outstanding changes", 1, head,
			[]review{rv(u("bob"), "APPROVED", 1, head), rv(u("carol"), "CHANGES_REQUESTED", 2, head)}, evidence.Fail, evidence.Pass},
		{"self approval does not count", 1, head,
			[]review{rv(u("alice"), "APPROVED", 1, head)}, evidence.Fail, evidence.Fail},
		{"a bot beside a person: the person counts", 1, head,
			[]review{rv(bot("ci"), "APPROVED", 1, head), rv(u("bob"), "APPROVED", 2, head)}, evidence.Pass, evidence.Pass},
		{"a bot does not make up the second approval", 2, head,
			[]review{rv(bot("ci"), "APPROVED", 1, head), rv(u("bob"), "APPROVED", 2, head)}, evidence.Fail, evidence.Pass},
		{"the same person twice is one approval", 2, head,
			[]review{rv(u("bob"), "APPROVED", 1, old), rv(u("bob"), "APPROVED", 2, head)}, evidence.Fail, evidence.Pass},
		{"approval on an older commit only", 1, head,
			[]review{rv(u("bob"), "APPROVED", 1, old)}, evidence.Pass, evidence.Fail},
		{"one of two approvers on the final commit is enough for approved_final", 2, head,
			[]review{rv(u("bob"), "APPROVED", 1, old), rv(u("carol"), "APPROVED", 2, head)}, evidence.Pass, evidence.Pass},
		{"a deleted reviewer's approval counts as a person's", 1, head,
			[]review{rv(nil, "APPROVED", 1, head)}, evidence.Pass, evidence.Pass},
		{"unknown head commit is an error, not a pass", 1, "",
			[]review{rv(u("bob"), "APPROVED", 1, head)}, evidence.Pass, evidence.Error},
		{"pending reviews are not reviews", 1, head,
			[]review{rv(u("bob"), "PENDING", 1, head)}, evidence.Fail, evidence.Fail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pr := &pullRequest{Repo: "acme/api", Number: 1, Author: u("alice"), MergedBy: u("alice"), HeadOID: tc.headOID, Reviews: tc.reviews}
			o := evaluate(pr, tc.required)
			a, f := approvedFinding(pr, o), approvedFinalFinding(pr, o)
			require.Equal(t, tc.approved, a.Status, a.Reason)
			require.Equal(t, tc.final, f.Status, f.Reason)
		})
	}
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	w, err := runWindow(requestAt(time.Time{}, now), 0)
	require.NoError(t, err)
	require.Equal(t, now.AddDate(0, 0, -90), w.Start, "a first run looks back 90 days by default")
	require.True(t, w.contains(w.Start), "the window includes its start")
	require.False(t, w.contains(w.End), "and excludes its end")
	_, err = runWindow(requestAt(now.Add(time.Hour), now), 0)
	require.Error(t, err)
	_, err = runWindow(requestAt(now, time.Time{}), 0)
	require.Error(t, err)
}

func TestProtectionBoundaries(t *testing.T) {
	repo := repository{Owner: "acme", Name: "api", DefaultBranch: "main"}
	full := protection{Classic: true, RequiredReviews: 1, DismissStale: true, EnforceAdmins: true, ForcePushBlocked: true, DeletionBlocked: true}
	cases := []struct {
		name   string
		change func(*protection)
		want   evidence.Result
	}{
		{"everything on", func(*protection) {}, evidence.Pass},
		{"no review required", func(p *protection) { p.RequiredReviews = 0 }, evidence.Fail},
		{"stale approvals kept", func(p *protection) { p.DismissStale = false }, evidence.Fail},
		{"admins exempt", func(p *protection) { p.EnforceAdmins = false }, evidence.Fail},
		{"admins exempt but a ruleset without bypass binds everyone", func(p *protection) {
			p.EnforceAdmins = false
			p.NoBypassRuleset = true
		}, evidence.Pass},
		{"force push allowed", func(p *protection) { p.ForcePushBlocked = false }, evidence.Fail},
		{"deletion allowed", func(p *protection) { p.DeletionBlocked = false }, evidence.Fail},
		{"nothing at all", func(p *protection) { *p = protection{} }, evidence.Fail},
		{"force pushes not stated", func(p *protection) {
			p.ForcePushBlocked = false
			p.Unstated = []string{"allow_force_pushes"}
		}, evidence.Error},
		{"force pushes not stated, a ruleset blocks them", func(p *protection) { p.Unstated = []string{"allow_force_pushes"} }, evidence.Pass},
		{"admins not stated, deletion allowed", func(p *protection) {
			p.EnforceAdmins, p.DeletionBlocked = false, false
			p.Unstated = []string{"enforce_admins"}
		}, evidence.Fail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := full
			tc.change(&p)
			f, _ := protectionFinding(repo, "main", p, nil)
			require.Equal(t, tc.want, f.Status, f.Reason)
		})
	}
}

func requestAt(since, now time.Time) collector.Request {
	return collector.Request{Since: since, Now: now}
}

func TestRulesetApplies(t *testing.T) {
	rs := func(include, exclude []string) *gh.Ruleset {
		return &gh.Ruleset{Conditions: &gh.RulesetConditions{RefName: &gh.RulesetRefConditionParameters{Include: include, Exclude: exclude}}}
	}
	require.True(t, rulesetApplies(rs([]string{"~DEFAULT_BRANCH"}, nil), "main", "main"))
	require.False(t, rulesetApplies(rs([]string{"~DEFAULT_BRANCH"}, nil), "release", "main"))
	require.True(t, rulesetApplies(rs([]string{"~ALL"}, nil), "release", "main"))
	require.False(t, rulesetApplies(rs([]string{"~ALL"}, []string{"refs/heads/main"}), "main", "main"))
	require.True(t, rulesetApplies(rs([]string{"refs/heads/rel*"}, nil), "release", "main"))
	require.False(t, rulesetApplies(rs([]string{"refs/heads/rel*"}, nil), "main", "main"))
	require.True(t, rulesetApplies(&gh.Ruleset{}, "main", "main"), "no condition: applies everywhere")
}
