// Package github collects change-management and access evidence from GitHub
// and GitHub Enterprise Server: every pull request merged into a default or
// protected branch with its reviews, commits that reached a default branch
// without a pull request, branch protection and rulesets, and the
// organization's access list.
package github

import (
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// Version is the version of both GitHub collectors' evidence format.
const Version = "1.0.0"

// Collector types.
const (
	TypePullRequests = "github.pull_requests"
	TypeAccess       = "github.access"
)

// Check ids, as the control catalog names them.
const (
	CheckPRApproved      = "github.pr.approved"
	CheckPRApprovedFinal = "github.pr.approved_final"
	CheckDirectPush      = "github.branch.direct_push"
	CheckProtection      = "github.branch.protection"
	CheckTwoFactor       = "github.org.two_factor"
	CheckAccessList      = "github.org.access_list"
)

// Factories returns the GitHub collector types.
func Factories() []collector.Factory {
	return []collector.Factory{pullRequestsFactory(), accessFactory()}
}
