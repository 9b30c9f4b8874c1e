package controls

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// wantChecks is the "First checks and their references" table of
// docs/controls.md plus the 164.308 administrative safeguards each check
// also evidences, copied by hand so catalog.yaml cannot drift from it.
var wantChecks = map[string][]string{
	"aws.iam.root_mfa":               {"soc2:CC6.1", "soc2:CC6.6", "hipaa:164.312(a)(1)", "hipaa:164.312(d)"},
	"aws.iam.root_access_keys":       {"soc2:CC6.1", "soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.312(a)(2)(i)"},
	"aws.iam.console_user_mfa":       {"soc2:CC6.1", "soc2:CC6.6", "hipaa:164.312(a)(1)", "hipaa:164.312(d)"},
	"aws.iam.access_key_age":         {"soc2:CC6.1", "hipaa:164.312(a)(1)"},
	"aws.iam.unused_credentials":     {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.308(a)(3)(ii)(C)"},
	"aws.iam.password_policy":        {"soc2:CC6.1", "hipaa:164.312(d)", "hipaa:164.308(a)(5)(ii)(D)"},
	"aws.iam.no_direct_admin":        {"soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.308(a)(4)(ii)(B)"},
	"aws.iam.access_list":            {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.312(a)(2)(i)", "hipaa:164.308(a)(4)(ii)(B)", "hipaa:164.308(a)(4)(ii)(C)"},
	"aws.s3.default_encryption":      {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	"aws.s3.tls_only":                {"soc2:CC6.7", "hipaa:164.312(e)(1)", "hipaa:164.312(e)(2)(i)", "hipaa:164.312(e)(2)(ii)"},
	"aws.s3.public_access_block":     {"soc2:CC6.1", "soc2:CC6.6", "hipaa:164.312(a)(1)"},
	"aws.s3.versioning":              {"soc2:CC7.4", "hipaa:164.312(c)(1)"},
	"aws.s3.access_logging":          {"soc2:CC7.2", "hipaa:164.312(b)", "hipaa:164.308(a)(1)(ii)(D)"},
	"aws.cloudtrail.multi_region":    {"soc2:CC7.2", "hipaa:164.312(b)", "hipaa:164.308(a)(1)(ii)(D)", "hipaa:164.308(a)(5)(ii)(C)"},
	"aws.cloudtrail.log_validation":  {"soc2:CC7.2", "hipaa:164.312(b)", "hipaa:164.312(c)(1)", "hipaa:164.312(c)(2)"},
	"aws.cloudtrail.kms":             {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	"aws.cloudtrail.delivery":        {"soc2:CC7.2", "hipaa:164.312(b)", "hipaa:164.308(a)(1)(ii)(D)"},
	"aws.cloudtrail.retention":       {"soc2:CC7.2", "hipaa:164.312(b)", "hipaa:164.316(b)(2)(i)"},
	"aws.cloudtrail.cloudwatch":      {"soc2:CC7.2", "soc2:CC7.3", "hipaa:164.312(b)", "hipaa:164.308(a)(1)(ii)(D)", "hipaa:164.308(a)(5)(ii)(C)"},
	"aws.dynamodb.encryption":        {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	"aws.dynamodb.pitr":              {"soc2:CC7.5", "soc2:A1.2", "hipaa:164.308(a)(7)(ii)(A)", "hipaa:164.308(a)(7)(ii)(B)"},
	"aws.kms.rotation":               {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	"aws.rds.storage_encrypted":      {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	"aws.rds.public_access":          {"soc2:CC6.1", "soc2:CC6.6", "hipaa:164.312(a)(1)", "hipaa:164.312(e)(1)"},
	"aws.rds.backup_retention":       {"soc2:CC7.5", "soc2:A1.2", "hipaa:164.308(a)(7)(ii)(A)"},
	"aws.rds.deletion_protection":    {"soc2:A1.2", "hipaa:164.312(c)(1)", "hipaa:164.308(a)(7)(ii)(A)"},
	"aws.rds.snapshot_encrypted":     {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	"aws.rds.snapshot_public":        {"soc2:CC6.1", "soc2:CC6.6", "hipaa:164.312(a)(1)"},
	"aws.backup.plan_coverage":       {"soc2:CC7.5", "soc2:A1.2", "hipaa:164.308(a)(7)(ii)(A)"},
	"aws.backup.recency":             {"soc2:CC7.5", "soc2:A1.2", "hipaa:164.308(a)(7)(ii)(A)"},
	"aws.backup.job_failed":          {"soc2:A1.2", "soc2:CC7.5", "soc2:CC7.2", "hipaa:164.308(a)(7)(ii)(A)"},
	"aws.backup.vault_lock":          {"soc2:A1.2", "soc2:CC6.1", "hipaa:164.308(a)(7)(ii)(A)", "hipaa:164.312(c)(1)"},
	"aws.backup.restore_tested":      {"soc2:A1.3", "soc2:CC7.5", "hipaa:164.308(a)(7)(ii)(B)", "hipaa:164.308(a)(7)(ii)(D)"},
	"github.pr.approved":             {"soc2:CC8.1", "hipaa:164.312(c)(1)"},
	"github.pr.approved_final":       {"soc2:CC8.1", "hipaa:164.312(c)(1)"},
	"github.branch.direct_push":      {"soc2:CC8.1", "hipaa:164.312(c)(1)"},
	"github.branch.protection":       {"soc2:CC8.1", "hipaa:164.312(c)(1)"},
	"github.org.two_factor":          {"soc2:CC6.1", "hipaa:164.312(d)"},
	"github.org.access_list":         {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.308(a)(4)(ii)(C)"},
	"okta.user.mfa":                  {"soc2:CC6.1", "soc2:CC6.6", "hipaa:164.312(d)"},
	"okta.user.deprovisioned_access": {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.308(a)(3)(ii)(C)"},
	"okta.user.inactive":             {"soc2:CC6.2", "hipaa:164.312(a)(1)", "hipaa:164.308(a)(3)(ii)(C)"},
	"okta.policy.mfa_required":       {"soc2:CC6.1", "hipaa:164.312(d)"},
	"okta.policy.session_idle":       {"soc2:CC6.1", "hipaa:164.312(a)(2)(iii)"},
	"okta.access_list":               {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.312(a)(2)(i)", "hipaa:164.308(a)(4)(ii)(B)", "hipaa:164.308(a)(4)(ii)(C)"},

	// aws.ebs
	"aws.ebs.encryption_by_default": {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	"aws.ebs.volume_encrypted":      {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	"aws.ebs.snapshot_public":       {"soc2:CC6.1", "soc2:CC6.6", "hipaa:164.312(a)(1)"},
	"aws.ebs.snapshot_encrypted":    {"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"},
	// Second wave, issue 14: docs/controls.md's floor plus the issue's
	// CC6.8 and 164.308(a)(5)(ii)(B).
	"github.vulnerabilities.dependabot":      {"soc2:CC7.1", "soc2:CC6.8", "hipaa:164.308(a)(5)(ii)(B)", "hipaa:164.308(a)(1)(ii)(B)"},
	"github.vulnerabilities.code_scanning":   {"soc2:CC7.1", "soc2:CC6.8", "soc2:CC8.1", "hipaa:164.308(a)(5)(ii)(B)", "hipaa:164.308(a)(1)(ii)(B)"},
	"github.vulnerabilities.secret_scanning": {"soc2:CC6.1", "soc2:CC7.1", "hipaa:164.308(a)(1)(ii)(B)"},
	"github.vulnerabilities.alerts_enabled":  {"soc2:CC7.1", "soc2:CC6.8"},

	// aws.network
	"aws.network.open_ingress":      {"soc2:CC6.6", "soc2:CC6.1", "hipaa:164.312(a)(1)", "hipaa:164.312(e)(1)"},
	"aws.network.default_sg_closed": {"soc2:CC6.6", "soc2:CC6.1", "hipaa:164.312(a)(1)"},

	// aws.logging (issue 14): docs/controls.md's aws.logs.* and
	// aws.vpc.flow_logs floors plus the CC7.3 and 164.308 refs.
	"aws.logs.retention": {"soc2:CC7.2", "hipaa:164.312(b)", "hipaa:164.316(b)(2)(i)"},
	"aws.logs.alarms":    {"soc2:CC7.2", "soc2:CC7.3", "hipaa:164.312(b)", "hipaa:164.308(a)(1)(ii)(D)", "hipaa:164.308(a)(5)(ii)(C)", "hipaa:164.308(a)(6)(ii)"},
	"aws.vpc.flow_logs":  {"soc2:CC7.2", "soc2:CC6.6", "hipaa:164.312(b)"},

	// aws.threat_detection
	"aws.guardduty.enabled":       {"soc2:CC7.2", "soc2:CC6.8", "hipaa:164.308(a)(1)(ii)(D)", "hipaa:164.308(a)(5)(ii)(B)", "hipaa:164.312(b)"},
	"aws.guardduty.high_findings": {"soc2:CC7.2", "soc2:CC7.3", "soc2:CC7.4", "soc2:CC6.8", "hipaa:164.308(a)(6)(ii)"},
	"aws.securityhub.enabled":     {"soc2:CC7.1", "soc2:CC7.2", "hipaa:164.308(a)(1)(ii)(D)"},
	"aws.config.recording":        {"soc2:CC7.1", "soc2:CC8.1", "hipaa:164.312(b)"},
	// aws.identity_center, issue 15: as aws.iam's access list and admin
	// check, and termination for assignments left to deleted users.
	"aws.identity_center.access_list":                 {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.312(a)(2)(i)", "hipaa:164.308(a)(4)(ii)(B)", "hipaa:164.308(a)(4)(ii)(C)"},
	"aws.identity_center.admin_assignments":           {"soc2:CC6.3", "hipaa:164.312(a)(1)", "hipaa:164.308(a)(4)(ii)(B)"},
	"aws.identity_center.assignments_to_absent_users": {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.308(a)(3)(ii)(C)", "hipaa:164.312(a)(1)"},
	// access reviews, issue 15
	"review.completed":          {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.308(a)(4)(ii)(C)"},
	"review.revocation_applied": {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.308(a)(3)(ii)(C)"},
	// identity.reconcile, issue 15: termination and access establishment
	// across the identity source, GitHub and AWS.
	"identity.leaver_access":   {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.308(a)(3)(ii)(C)", "hipaa:164.312(a)(1)"},
	"identity.unowned_account": {"soc2:CC6.2", "soc2:CC6.3", "hipaa:164.308(a)(4)(ii)(C)"},
}

// wantCriteria is every criterion docs/controls.md names, with its R/A flag
// and whether it is in scope.
var wantCriteria = []struct {
	ref         string
	requirement string
	inScope     bool
}{
	{"soc2:A1.2", "", true},
	{"soc2:A1.3", "", true},
	{"soc2:CC6.1", "", true},
	{"soc2:CC6.2", "", true},
	{"soc2:CC6.3", "", true},
	{"soc2:CC6.4", "", false},
	{"soc2:CC6.5", "", false},
	{"soc2:CC6.6", "", true},
	{"soc2:CC6.7", "", true},
	{"soc2:CC6.8", "", true},
	{"soc2:CC7.1", "", true},
	{"soc2:CC7.2", "", true},
	{"soc2:CC7.3", "", true},
	{"soc2:CC7.4", "", true},
	{"soc2:CC7.5", "", true},
	{"soc2:CC8.1", "", true},
	// 45 CFR 164.308: the flag each implementation specification carries
	// in the regulation's text.
	{"hipaa:164.308(a)(1)(ii)(B)", "required", true},
	{"hipaa:164.308(a)(1)(ii)(D)", "required", true},
	{"hipaa:164.308(a)(3)(ii)(C)", "addressable", true},
	{"hipaa:164.308(a)(4)(ii)(B)", "addressable", true},
	{"hipaa:164.308(a)(4)(ii)(C)", "addressable", true},
	{"hipaa:164.308(a)(5)(ii)(B)", "addressable", true},
	{"hipaa:164.308(a)(5)(ii)(C)", "addressable", true},
	{"hipaa:164.308(a)(5)(ii)(D)", "addressable", true},
	{"hipaa:164.308(a)(6)(ii)", "required", true},
	{"hipaa:164.308(a)(7)(ii)(A)", "required", true},
	{"hipaa:164.308(a)(7)(ii)(B)", "required", true},
	{"hipaa:164.308(a)(7)(ii)(D)", "addressable", true},
	{"hipaa:164.312(a)(1)", "standard", true},
	{"hipaa:164.312(a)(2)(i)", "required", true},
	{"hipaa:164.312(a)(2)(ii)", "required", true},
	{"hipaa:164.312(a)(2)(iii)", "addressable", true},
	{"hipaa:164.312(a)(2)(iv)", "addressable", true},
	{"hipaa:164.312(b)", "standard", true},
	{"hipaa:164.312(c)(1)", "standard", true},
	{"hipaa:164.312(c)(2)", "addressable", true},
	{"hipaa:164.312(d)", "standard", true},
	{"hipaa:164.312(e)(1)", "standard", true},
	{"hipaa:164.312(e)(2)(i)", "addressable", true},
	{"hipaa:164.312(e)(2)(ii)", "addressable", true},
	{"hipaa:164.316(b)(2)(i)", "required", true},
}

func mustDefault(t testing.TB) *Catalog {
	t.Helper()
	c, err := Default()
	require.NoError(t, err)
	return c
}

func TestDefaultMappingsMatchReference(t *testing.T) {
	c := mustDefault(t)
	for id, want := range wantChecks {
		t.Run(id, func(t *testing.T) {
			want = slices.Sorted(slices.Values(want))
			require.Equal(t, want, c.Refs(id))

			ch, ok := c.Check(id)
			require.True(t, ok)
			require.Equal(t, id, ch.ID)
			require.NotEmpty(t, strings.TrimSpace(ch.Title))
			require.Equal(t, strings.SplitN(id, ".", 2)[0], ch.Provider)
			for _, m := range ch.Mappings {
				require.NotEmpty(t, strings.TrimSpace(m.Reason), "reason for %s", m.Ref)
				require.NotContains(t, m.Reason, "\n")
			}
		})
	}
	var ids []string
	for _, ch := range c.Checks() {
		ids = append(ids, ch.ID)
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(wantChecks)), ids, "catalog has exactly the reference checks")
	require.True(t, slices.IsSorted(ids))
}

func TestDefaultCriteria(t *testing.T) {
	c := mustDefault(t)
	for _, tc := range wantCriteria {
		t.Run(tc.ref, func(t *testing.T) {
			cr, ok := c.Criterion(tc.ref)
			require.True(t, ok)
			require.Equal(t, tc.ref, cr.Ref)
			require.Equal(t, tc.ref, cr.Framework+":"+cr.ID)
			require.Equal(t, tc.requirement, cr.Requirement)
			require.Equal(t, tc.inScope, cr.InScope)
			require.NotEmpty(t, strings.TrimSpace(cr.Title))
		})
	}
	var got []string
	for _, cr := range c.Criteria() {
		got = append(got, cr.Ref)
	}
	var want []string
	for _, tc := range wantCriteria {
		want = append(want, tc.ref)
	}
	require.Equal(t, want, got, "exactly the reference criteria, soc2 then hipaa, by id")
}

func TestChecksFor(t *testing.T) {
	c := mustDefault(t)
	// Invert the reference table and compare.
	want := map[string][]string{}
	for id, refs := range wantChecks {
		for _, ref := range refs {
			want[ref] = append(want[ref], id)
		}
	}
	for _, cr := range c.Criteria() {
		w := want[cr.Ref]
		if w != nil {
			slices.Sort(w)
		}
		require.Equal(t, w, c.ChecksFor(cr.Ref), cr.Ref)
	}
	require.Nil(t, c.ChecksFor("soc2:CC9.9"))
	require.Nil(t, c.ChecksFor("soc2:CC6.4"))
	require.Nil(t, c.Refs("aws.iam.nope"))
	_, ok := c.Check("aws.iam.nope")
	require.False(t, ok)
	_, ok = c.Criterion("CC6.1")
	require.False(t, ok, "Criterion takes canonical refs only")
}

func TestAccessorsReturnCopies(t *testing.T) {
	c := mustDefault(t)
	ch, _ := c.Check("aws.iam.root_mfa")
	ch.Mappings[0].Reason = "changed"
	all := c.Checks()
	all[0].Mappings[0].Ref = "changed"
	crs := c.Criteria()
	crs[0].Title = "changed"

	again, _ := c.Check("aws.iam.root_mfa")
	require.NotEqual(t, "changed", again.Mappings[0].Reason)
	require.NotEqual(t, "changed", c.Checks()[0].Mappings[0].Ref)
	require.NotEqual(t, "changed", c.Criteria()[0].Title)
}

func TestParseRejects(t *testing.T) {
	const okCrit = "criteria:\n  - {ref: soc2:CC6.1, title: t, in_scope: true}\n  - {ref: soc2:CC6.4, title: t, in_scope: false}\n"
	const okCheck = "checks:\n  - id: aws.x.y\n    title: t\n    provider: aws\n    severity: high\n    severity_reason: r\n    mappings: [{ref: soc2:CC6.1, reason: r}]\n"
	tests := []struct {
		name, doc, want string
	}{
		{"valid", okCrit + okCheck, ""},
		{"unknown key", okCrit + okCheck + "extra: 1\n", "field extra not found"},
		{"unknown nested key", "criteria:\n  - {ref: soc2:CC6.1, title: t, in_scope: true, bogus: 1}\n" + okCheck, "field bogus not found"},
		{"two documents", okCrit + okCheck + "---\n" + okCrit, "more than one YAML document"},
		{"no criteria", okCheck, "criteria: required"},
		{"bad ref", "criteria:\n  - {ref: CC6.1, title: t, in_scope: true}\n" + okCheck, `criteria[0].ref: want <framework>:<id>`},
		{"unknown framework", "criteria:\n  - {ref: iso:A.1, title: t, in_scope: true}\n" + okCheck, `unknown framework "iso"`},
		{"soc2 with requirement", "criteria:\n  - {ref: soc2:CC6.1, title: t, requirement: required, in_scope: true}\n" + okCheck, "criteria[0].requirement"},
		{"hipaa bad requirement", okCrit + "  - {ref: hipaa:164.312(b), title: t, requirement: R, in_scope: true}\n" + okCheck, "criteria[2].requirement"},
		{"missing in_scope", "criteria:\n  - {ref: soc2:CC6.1, title: t}\n" + okCheck, "criteria[0].in_scope: required"},
		{"missing title", "criteria:\n  - {ref: soc2:CC6.1, in_scope: true}\n" + okCheck, "criteria[0].title: required"},
		{"duplicate criterion", okCrit + "  - {ref: soc2:CC6.1, title: t, in_scope: true}\n" + okCheck, `criterion "soc2:CC6.1": duplicate`},
		{"duplicate check", okCrit + okCheck + "  - {id: aws.x.y, title: t, provider: aws, severity: high, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n", `check "aws.x.y": duplicate`},
		{"unknown mapping ref", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: high, severity_reason: r, mappings: [{ref: soc2:CC9.9, reason: r}]}\n", `unknown criterion "soc2:CC9.9"`},
		{"out of scope mapping", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: high, severity_reason: r, mappings: [{ref: soc2:CC6.4, reason: r}]}\n", `"soc2:CC6.4" is out of scope`},
		{"mapped twice", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: high, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}, {ref: soc2:CC6.1, reason: s}]}\n", "mapped twice"},
		{"empty reason", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: high, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: ' '}]}\n", "checks[0].mappings[0].reason: required"},
		{"no mappings", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: high, severity_reason: r}\n", "checks[0].mappings: required"},
		{"bad provider", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: gcp, severity: high, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n", "checks[0].provider"},
		{"provider mismatch", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: okta, severity: high, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n", "does not start with its provider"},
		{"bad check id", okCrit + "checks:\n  - {id: AWS X, title: t, provider: aws, severity: high, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n", "checks[0].id"},
		{"no severity", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n",
			`checks[0].severity: check "aws.x.y": required (want critical, high, medium, low, info)`},
		{"unknown severity", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: severe, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n",
			`checks[0].severity: check "aws.x.y": unknown severity "severe"`},
		{"severity in capitals", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: High, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n",
			`unknown severity "High"`},
		{"no severity reason", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: low, severity_reason: ' ', mappings: [{ref: soc2:CC6.1, reason: r}]}\n",
			`checks[0].severity_reason: check "aws.x.y": required`},
		{"two-line severity reason", okCrit + "checks:\n  - {id: aws.x.y, title: t, provider: aws, severity: low, severity_reason: \"a\\nb\", mappings: [{ref: soc2:CC6.1, reason: r}]}\n",
			`checks[0].severity_reason: check "aws.x.y": must be one line`},
		{"not yaml", "criteria: [", "decode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse([]byte(tc.doc))
			if tc.want == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, c)
		})
	}
}

// A catalog with several checks lacking a severity, or naming an unknown
// one, is refused with every problem at once, each naming its check.
func TestParseReportsEverySeverityProblem(t *testing.T) {
	doc := "criteria:\n  - {ref: soc2:CC6.1, title: t, in_scope: true}\n" +
		"checks:\n" +
		"  - {id: aws.a.one, title: t, provider: aws, mappings: [{ref: soc2:CC6.1, reason: r}]}\n" +
		"  - {id: aws.a.two, title: t, provider: aws, severity: high, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n" +
		"  - {id: okta.a.three, title: t, provider: okta, severity: urgent, severity_reason: r, mappings: [{ref: soc2:CC6.1, reason: r}]}\n" +
		"  - {id: github.a.four, title: t, provider: github, severity: info, mappings: [{ref: soc2:CC6.1, reason: r}]}\n"
	c, err := parse([]byte(doc))
	require.Nil(t, c)
	require.Equal(t, strings.Join([]string{
		`checks[0].severity: check "aws.a.one": required (want critical, high, medium, low, info)`,
		`checks[0].severity_reason: check "aws.a.one": required`,
		`checks[2].severity: check "okta.a.three": unknown severity "urgent" (want critical, high, medium, low, info)`,
		`checks[3].severity_reason: check "github.a.four": required`,
	}, "\n"), err.Error())
}

// Every check has a severity and a one-line reason for it. The anchors are
// the judgements the catalog's scale is built around: a takeover or a
// public exposure of everything is critical, unencrypted ePHI or a leaver
// with access is high, a missing recovery or logging aid is low, and an
// inventory is info.
func TestDefaultSeverities(t *testing.T) {
	c := mustDefault(t)
	for _, ch := range c.Checks() {
		require.Contains(t, Severities, ch.Severity, ch.ID)
		require.NotEmpty(t, ch.SeverityReason, ch.ID)
		require.NotContains(t, ch.SeverityReason, "\n", ch.ID)
		if strings.HasSuffix(ch.ID, ".access_list") {
			require.Equal(t, SeverityInfo, ch.Severity, "%s: an inventory", ch.ID)
		}
	}
	for id, want := range map[string]string{
		"aws.iam.root_mfa":                       SeverityCritical,
		"aws.iam.root_access_keys":               SeverityCritical,
		"aws.rds.public_access":                  SeverityCritical,
		"aws.rds.snapshot_public":                SeverityCritical,
		"aws.ebs.snapshot_public":                SeverityCritical,
		"github.vulnerabilities.secret_scanning": SeverityCritical,
		"okta.user.deprovisioned_access":         SeverityHigh,
		"aws.s3.default_encryption":              SeverityHigh,
		"aws.rds.storage_encrypted":              SeverityHigh,
		"aws.ebs.volume_encrypted":               SeverityHigh,
		"aws.iam.console_user_mfa":               SeverityHigh,
		"aws.s3.versioning":                      SeverityLow,
		"aws.s3.access_logging":                  SeverityLow,
		"aws.iam.access_list":                    SeverityInfo,
	} {
		ch, ok := c.Check(id)
		require.True(t, ok, id)
		require.Equal(t, want, ch.Severity, id)
	}
	// Custom controls keep the built-in check's severity.
	cu, err := c.WithCustom([]Custom{{ID: "ACME-1", Title: "Acme", Checks: []string{"aws.iam.root_mfa"}}})
	require.NoError(t, err)
	ch, _ := cu.Check("aws.iam.root_mfa")
	require.Equal(t, SeverityCritical, ch.Severity)
	require.NotEmpty(t, ch.SeverityReason)
}

func TestSeverityRank(t *testing.T) {
	for i, s := range Severities {
		require.Equal(t, i, SeverityRank(s))
	}
	require.Equal(t, len(Severities), SeverityRank(""))
	require.Equal(t, len(Severities), SeverityRank("severe"))
	require.Less(t, SeverityRank(SeverityCritical), SeverityRank(SeverityInfo))
}

func TestNaturalOrder(t *testing.T) {
	ids := []string{"CC6.10", "cc6.9", "CC6.2", "A-10", "A-9", "A", "a-1"}
	slices.SortFunc(ids, func(a, b string) int {
		return criterionCompare(Criterion{Framework: FrameworkCustom, ID: a}, Criterion{Framework: FrameworkCustom, ID: b})
	})
	require.Equal(t, []string{"A", "a-1", "A-9", "A-10", "CC6.2", "cc6.9", "CC6.10"}, ids)
}

func TestWriteJSON(t *testing.T) {
	c := mustDefault(t)
	c, err := c.WithCustom([]Custom{{ID: "ACME-1", Title: "Acme access", Checks: []string{"okta.user.mfa"}}})
	require.NoError(t, err)

	var a, b bytes.Buffer
	require.NoError(t, c.WriteJSON(&a))
	require.NoError(t, c.WriteJSON(&b))
	require.Equal(t, a.String(), b.String(), "deterministic")

	var got struct {
		Criteria []struct {
			Ref         string   `json:"ref"`
			Framework   string   `json:"framework"`
			ID          string   `json:"id"`
			Title       string   `json:"title"`
			Requirement string   `json:"requirement"`
			InScope     bool     `json:"in_scope"`
			Checks      []string `json:"checks"`
		} `json:"criteria"`
		Checks []struct {
			ID             string    `json:"id"`
			Title          string    `json:"title"`
			Provider       string    `json:"provider"`
			Severity       string    `json:"severity"`
			SeverityReason string    `json:"severity_reason"`
			Mappings       []Mapping `json:"mappings"`
		} `json:"checks"`
	}
	dec := json.NewDecoder(&a)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&got))

	require.Len(t, got.Criteria, len(wantCriteria)+1)
	for i, cr := range c.Criteria() {
		g := got.Criteria[i]
		require.Equal(t, cr, Criterion{Ref: g.Ref, Framework: g.Framework, ID: g.ID, Title: g.Title, Requirement: g.Requirement, InScope: g.InScope})
		require.NotNil(t, g.Checks, "empty list, not null")
		require.Equal(t, c.ChecksFor(cr.Ref), nilIfEmpty(g.Checks))
	}
	require.Len(t, got.Checks, len(wantChecks))
	for i, ch := range c.Checks() {
		g := got.Checks[i]
		require.Equal(t, ch, Check{ID: g.ID, Title: g.Title, Provider: g.Provider,
			Severity: g.Severity, SeverityReason: g.SeverityReason, Mappings: g.Mappings})
		require.Contains(t, Severities, g.Severity, g.ID)
	}
	require.Contains(t, b.String(), `"in_scope": false`)
	require.Contains(t, b.String(), `"hipaa:164.312(a)(2)(iv)"`, "no HTML escaping")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestWriteTable(t *testing.T) {
	c := mustDefault(t)
	c, err := c.WithCustom([]Custom{{ID: "ACME-1", Title: "Acme access", Checks: []string{"okta.user.mfa"}}})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, c.WriteTable(&buf))
	out := buf.String()
	for id := range wantChecks {
		require.Contains(t, out, id)
	}
	for _, tc := range wantCriteria {
		require.Contains(t, out, tc.ref)
	}
	require.Contains(t, out, "custom:ACME-1")
	require.Contains(t, out, "customer control ACME-1: Acme access")
	require.Contains(t, out, "(out of scope)")
	require.NotRegexp(t, `(?m) $`, out, "no trailing blanks")
	require.Regexp(t, `(?m)^hipaa:164\.312\(a\)\(2\)\(iii\)\s+A\s+okta\.policy\.session_idle\s+Automatic logoff$`, out)
	require.Regexp(t, `(?m)^okta\.policy\.session_idle\s+hipaa:164\.312\(a\)\(2\)\(iii\)\s+\S`, out)
	// The severity section: one row per check, after the mappings.
	_, sev, ok := strings.Cut(out, "\nCHECK  ")
	require.True(t, ok)
	_, sev, ok = strings.Cut(sev, "\nCHECK  ")
	require.True(t, ok, "a third section")
	require.Regexp(t, `^\s+SEVERITY\s+SEVERITY REASON\n`, sev)
	root, _ := c.Check("aws.iam.root_mfa")
	require.Regexp(t, `(?m)^aws\.iam\.root_mfa\s+critical\s+`+regexp.QuoteMeta(root.SeverityReason)+`$`, sev)
	require.Equal(t, len(wantChecks), strings.Count(sev, "\n")-1, "one row per check")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, bytes.ErrTooLarge }

func TestWriteErrors(t *testing.T) {
	c := mustDefault(t)
	require.ErrorIs(t, c.WriteTable(failWriter{}), bytes.ErrTooLarge)
	require.ErrorIs(t, c.WriteJSON(failWriter{}), bytes.ErrTooLarge)
}
