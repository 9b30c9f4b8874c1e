// Package ghsim serves a simulated GitHub organization over the REST and
// GraphQL wire formats, for the demo and for tests that point the real
// go-github client and the collectors' GraphQL queries at it.
package ghsim

import (
	"crypto/sha1"
	"encoding/hex"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Org is a simulated organization.
type Org struct {
	Login string
	// TwoFactorRequired is nil when the caller may not see the setting.
	TwoFactorRequired *bool
	Members           []Member
	Outside           []string
	Repos             []*Repo
	// The organization's security alerts, across its repositories, as
	// the organization-level alert endpoints list them.
	Dependabot     []*DependabotAlert
	CodeScanning   []*CodeScanningAlert
	SecretScanning []*SecretScanningAlert
}

// Member is an organization member; Role is admin (owner) or member.
type Member struct {
	Login           string
	Role            string
	TwoFactorActive bool
}

// Repo is a simulated repository.
type Repo struct {
	Name          string
	DefaultBranch string
	Archived      bool
	Private       bool
	// Protection of the default branch; nil answers 404 Branch not
	// protected, unless ProtectionStatus says otherwise.
	Protection *gh.Protection
	// ProtectionStatus, when set, is the HTTP status the protection
	// endpoint answers with (403 for a token without permission).
	ProtectionStatus int
	// Branches are the repository's other branches with their protection
	// (nil: not protected); a branch not here answers 404 Branch not found.
	Branches map[string]*gh.Protection
	Rulesets []*gh.Ruleset
	Admins   []string
	PRs      []*PR
	// Commits are on the default branch, in any order.
	Commits []Commit
	// DependabotAlertsDisabled answers the vulnerability-alerts check with
	// 404, as GitHub does for a repository with Dependabot alerts off.
	DependabotAlertsDisabled bool
	// SecretScanningDisabled reports secret scanning off in the
	// repository's security_and_analysis.
	SecretScanningDisabled bool
	// HideSecurityAndAnalysis leaves security_and_analysis out of the
	// repository, as GitHub does for callers who are not admins.
	HideSecurityAndAnalysis bool
}

// User is an account; Type is User or Bot.
type User struct {
	Login string
	Type  string
}

// PR is a merged pull request.
type PR struct {
	Number          int
	Title           string
	Base            string
	Author          User
	MergedBy        User
	MergedAt        time.Time
	UpdatedAt       time.Time
	HeadOID         string
	HeadCommittedAt time.Time
	MergeCommit     string
	Reviews         []Review
}

// Review is one submitted review.
type Review struct {
	ID          int64
	Author      User
	State       string
	SubmittedAt time.Time
	Commit      string
}

// Commit is a commit on a default branch; PRs are the merged pull requests
// GitHub associates with it.
type Commit struct {
	OID      string
	Headline string
	Author   string
	Date     time.Time
	PRs      []int
}

// OID returns a stable 40-hex object id for label.
func OID(label string) string {
	s := sha1.Sum([]byte(label))
	return hex.EncodeToString(s[:])
}

// Repo returns the named repository of the organization, or nil.
func (o *Org) Repo(name string) *Repo {
	for _, r := range o.Repos {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// PR returns pull request n, or nil.
func (r *Repo) PR(n int) *PR {
	for _, p := range r.PRs {
		if p.Number == n {
			return p
		}
	}
	return nil
}
