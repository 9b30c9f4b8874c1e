package okta

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// operationPaths is the API path each named operation reads, as the
// simulator's Fail matches it.
var operationPaths = map[string]string{
	"users.list":             "/api/v1/users",
	"users.list_factors":     "/api/v1/users/*/factors",
	"groups.list":            "/api/v1/groups",
	"groups.list_users":      "/api/v1/groups/*/users",
	"apps.list":              "/api/v1/apps",
	"apps.list_users":        "/api/v1/apps/*/users",
	"apps.list_group_assign": "/api/v1/apps/*/groups",
	"policies.list":          "/api/v1/policies",
	"policies.list_rules":    "/api/v1/policies/*/rules",
}

// dependency is one operation a check's verdict rests on.
type dependency struct {
	op string
	// edit makes the operation decisive where in the demo org other data
	// that was read settles the verdict on its own.
	edit func(*oktasim.Org)
	// reason is what every error finding's reason says was not read.
	reason string
}

// noDirectAssignment takes frank's direct Salesforce assignment away, so
// that no deprovisioned user's verdict is settled by what was read of the
// apps alone: a known assignment fails the user whatever else is unread.
func noDirectAssignment(o *oktasim.Org) {
	const frank = "00u1frank00000000006"
	for app, users := range o.AppUsers {
		o.AppUsers[app] = slices.DeleteFunc(slices.Clone(users), func(u *okta.AppUser) bool { return u.Id == frank })
	}
}

func deprovisionedDep(op, reason string) dependency {
	return dependency{op: op, edit: noDirectAssignment, reason: reason}
}

// checkDependencies maps every check the collector declares to the
// operations its verdict rests on.
var checkDependencies = map[string][]dependency{
	CheckUserMFA: {
		{op: "users.list", reason: "users could not be listed"},
		{op: "users.list_factors", reason: "factors of"},
	},
	CheckInactive: {{op: "users.list", reason: "users could not be listed"}},
	CheckDeprovisioned: {
		deprovisionedDep("users.list", "users could not be listed"),
		deprovisionedDep("groups.list", "assignments could not all be read"),
		deprovisionedDep("groups.list_users", "assignments could not all be read"),
		deprovisionedDep("apps.list", "assignments could not all be read"),
		deprovisionedDep("apps.list_users", "assignments could not all be read"),
		deprovisionedDep("apps.list_group_assign", "assignments could not all be read"),
	},
	CheckPolicyMFA: {
		{op: "policies.list", reason: "policies could not be listed"},
		{op: "policies.list_rules", reason: "could not be read"},
	},
	CheckSessionIdle: {
		{op: "policies.list", reason: "policies could not be listed"},
		{op: "policies.list_rules", reason: "could not be read"},
	},
	CheckAccessList: {
		{op: "users.list", reason: "access list is incomplete"},
		{op: "groups.list", reason: "access list is incomplete"},
		{op: "groups.list_users", reason: "access list is incomplete"},
		{op: "apps.list", reason: "access list is incomplete"},
		{op: "apps.list_users", reason: "access list is incomplete"},
		{op: "apps.list_group_assign", reason: "access list is incomplete"},
	},
}

// TestEveryInputFailing: for every check the collector declares and every
// operation its verdict rests on, that operation failing (403 or 500, as
// Okta answers) leaves no finding of the check pass or fail: each is
// error, with a reason naming what was not read, or not_applicable where
// what was read (a user who cannot sign in) settles it, and the run's
// errors name the operation. Every operation the collector names is an
// input of some check.
func TestEveryInputFailing(t *testing.T) {
	f := accessFactory()
	covered := map[string]bool{}
	for _, chk := range f.Checks {
		deps := checkDependencies[chk]
		require.NotEmpty(t, deps, "check %s has no dependency cases", chk)
		for _, d := range deps {
			covered[d.op] = true
			path, ok := operationPaths[d.op]
			require.True(t, ok, "operation %s has no path", d.op)
			for _, status := range []int{http.StatusForbidden, http.StatusInternalServerError} {
				t.Run(fmt.Sprintf("%s/%s/%d", chk, d.op, status), func(t *testing.T) {
					h := newHarness(t)
					if d.edit != nil {
						d.edit(h.sim.Org)
					}
					h.sim.Fail(path, status)
					res, err := h.collect(t, collector.DefaultThresholds())
					var pe *collector.PartialError
					require.ErrorAs(t, err, &pe)
					var ops []string
					for _, e := range pe.Errors {
						ops = append(ops, e.Operation)
					}
					require.Contains(t, ops, d.op, "the run's errors do not name the operation")
					errs := 0
					for _, x := range res.Findings {
						if x.Check != chk {
							continue
						}
						require.Contains(t, []evidence.Result{evidence.Error, evidence.NotApplicable}, x.Status, "%s %s: %s", x.Check, x.Resource, x.Reason)
						if x.Status == evidence.Error {
							errs++
							require.Contains(t, x.Reason, d.reason, x.Resource)
						}
					}
					require.NotZero(t, errs, "no %s finding is error", chk)
				})
			}
		}
	}
	for op := range operations {
		require.True(t, covered[op], "operation %s is an input of no check's case", op)
	}
}
