// Package github collects change-management and access evidence from GitHub
// and GitHub Enterprise Server: every pull request merged into a default or
// protected branch with its reviews, commits that reached a default branch
// without a pull request, branch protection and rulesets, the
// organization's access list, and its Dependabot, code-scanning and
// secret-scanning alerts judged against remediation SLAs.
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
	// TypeVulnerabilities is the Dependabot, code-scanning and
	// secret-scanning alerts of an organization.
	TypeVulnerabilities = "github.vulnerabilities"
)

// Check ids, as the control catalog names them.
const (
	CheckPRApproved      = "github.pr.approved"
	CheckPRApprovedFinal = "github.pr.approved_final"
	CheckDirectPush      = "github.branch.direct_push"
	CheckProtection      = "github.branch.protection"
	CheckTwoFactor       = "github.org.two_factor"
	CheckAccessList      = "github.org.access_list"

	CheckDependabotSLA      = "github.vulnerabilities.dependabot"
	CheckCodeScanningSLA    = "github.vulnerabilities.code_scanning"
	CheckSecretScanningOpen = "github.vulnerabilities.secret_scanning"
	CheckAlertsEnabled      = "github.vulnerabilities.alerts_enabled"
)

// Factories returns the GitHub collector types.
func Factories() []collector.Factory {
	return []collector.Factory{pullRequestsFactory(), accessFactory(), vulnerabilitiesFactory()}
}
