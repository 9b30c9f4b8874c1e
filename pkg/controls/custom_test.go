package controls

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWithCustom(t *testing.T) {
	base := mustDefault(t)
	c, err := base.WithCustom([]Custom{
		{ID: "ACME-AC-01", Title: "Access is reviewed quarterly", Checks: []string{"okta.access_list", "aws.iam.access_list"}},
		{ID: "acme.2", Title: "  MFA everywhere  ", Checks: []string{"okta.user.mfa"}},
	})
	require.NoError(t, err)

	cr, ok := c.Criterion("custom:ACME-AC-01")
	require.True(t, ok)
	require.Equal(t, Criterion{
		Ref: "custom:ACME-AC-01", Framework: "custom", ID: "ACME-AC-01",
		Title: "Access is reviewed quarterly", InScope: true,
	}, cr)
	require.Equal(t, []string{"aws.iam.access_list", "okta.access_list"}, c.ChecksFor("custom:ACME-AC-01"))
	require.Equal(t, []string{"okta.user.mfa"}, c.ChecksFor("custom:acme.2"))

	require.Equal(t, slices.Sorted(slices.Values(append(slices.Clone(wantChecks["okta.access_list"]), "custom:ACME-AC-01"))),
		c.Refs("okta.access_list"), "the built-in references and the custom one")

	ch, _ := c.Check("okta.user.mfa")
	last := ch.Mappings[len(ch.Mappings)-1]
	require.Equal(t, Mapping{Ref: "custom:acme.2", Reason: "customer control acme.2: MFA everywhere"}, last)

	crs := c.Criteria()
	require.Equal(t, "custom:ACME-AC-01", crs[len(crs)-2].Ref, "custom last, by id")
	require.Equal(t, "custom:acme.2", crs[len(crs)-1].Ref)

	// The receiver is untouched.
	_, ok = base.Criterion("custom:ACME-AC-01")
	require.False(t, ok)
	require.Equal(t, wantChecks["okta.user.mfa"], sortedByCatalog(base.Refs("okta.user.mfa")))

	// Extending an extended catalog works and sees the earlier ids.
	c2, err := c.WithCustom([]Custom{{ID: "ACME-3", Title: "t", Checks: []string{"okta.user.mfa"}}})
	require.NoError(t, err)
	require.Len(t, c2.Criteria(), len(wantCriteria)+3)
	_, err = c.WithCustom([]Custom{{ID: "ACME-AC-01", Title: "t", Checks: []string{"okta.user.mfa"}}})
	require.EqualError(t, err, `[0].id: duplicate "ACME-AC-01"`)

	// No custom controls: same content.
	c3, err := base.WithCustom(nil)
	require.NoError(t, err)
	require.Equal(t, base.Criteria(), c3.Criteria())
	require.Equal(t, base.Checks(), c3.Checks())
}

// sortedByCatalog puts soc2 refs before hipaa ones, as wantChecks lists them.
func sortedByCatalog(refs []string) []string {
	var soc2, rest []string
	for _, r := range refs {
		if strings.HasPrefix(r, "soc2:") {
			soc2 = append(soc2, r)
		} else {
			rest = append(rest, r)
		}
	}
	return append(soc2, rest...)
}

func TestWithCustomErrors(t *testing.T) {
	ok := Custom{ID: "ACME-1", Title: "t", Checks: []string{"aws.iam.root_mfa"}}
	tests := []struct {
		name   string
		custom []Custom
		want   []string
	}{
		{"missing id", []Custom{{Title: "t", Checks: []string{"aws.iam.root_mfa"}}}, []string{"[0].id: required"}},
		{"invalid id", []Custom{ok, {ID: "-x", Title: "t", Checks: []string{"aws.iam.root_mfa"}}}, []string{`[1].id: invalid "-x": want letters, digits, '.', '_' or '-', starting with a letter or digit`}},
		{"id with space", []Custom{{ID: "A B", Title: "t", Checks: []string{"aws.iam.root_mfa"}}}, []string{`[0].id: invalid "A B": want letters, digits, '.', '_' or '-', starting with a letter or digit`}},
		{"id with colon", []Custom{{ID: "custom:A", Title: "t", Checks: []string{"aws.iam.root_mfa"}}}, []string{`[0].id: invalid "custom:A": want letters, digits, '.', '_' or '-', starting with a letter or digit`}},
		{"duplicate id", []Custom{ok, {ID: "B", Title: "t", Checks: []string{"aws.iam.root_mfa"}}, ok}, []string{`[2].id: duplicate "ACME-1"`}},
		{"duplicate id by case", []Custom{ok, {ID: "acme-1", Title: "t", Checks: []string{"aws.iam.root_mfa"}}}, []string{`[1].id: duplicate "acme-1" (ids are case-insensitive; see custom:ACME-1)`}},
		{"built-in id", []Custom{{ID: "cc6.1", Title: "t", Checks: []string{"aws.iam.root_mfa"}}}, []string{`[0].id: "cc6.1" is already the id of soc2:CC6.1`}},
		{"missing title", []Custom{{ID: "A", Title: " ", Checks: []string{"aws.iam.root_mfa"}}}, []string{"[0].title: required"}},
		{"multi-line title", []Custom{{ID: "A", Title: "a\nb", Checks: []string{"aws.iam.root_mfa"}}}, []string{"[0].title: must be one line without control characters"}},
		{"no checks", []Custom{{ID: "A", Title: "t"}}, []string{"[0].checks: required"}},
		{"unknown check", []Custom{ok, {ID: "B", Title: "t", Checks: []string{"aws.iam.nope"}}}, []string{`[1].checks[0]: unknown check "aws.iam.nope"`}},
		{"empty check", []Custom{{ID: "A", Title: "t", Checks: []string{"aws.iam.root_mfa", ""}}}, []string{"[0].checks[1]: required"}},
		{"duplicate check", []Custom{{ID: "A", Title: "t", Checks: []string{"aws.iam.root_mfa", "aws.iam.root_mfa"}}}, []string{`[0].checks[1]: duplicate "aws.iam.root_mfa"`}},
		{"all errors reported", []Custom{{Checks: []string{"x"}}}, []string{"[0].id: required", "[0].title: required", `[0].checks[0]: unknown check "x"`}},
	}
	base := mustDefault(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := base.WithCustom(tc.custom)
			require.Error(t, err)
			require.Nil(t, c)
			require.Equal(t, strings.Join(tc.want, "\n"), err.Error())
		})
	}
}

func FuzzWithCustom(f *testing.F) {
	f.Add("ACME-1", "Access review", "aws.iam.root_mfa", "okta.user.mfa")
	f.Add("", "", "", "")
	f.Add("cc6.1", "t", "aws.iam.nope", "aws.iam.nope")
	f.Add("a_b.c", "x\ty", "okta.access_list", "github.pr.approved")
	base, err := Default()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, id, title, check1, check2 string) {
		c, err := base.WithCustom([]Custom{{ID: id, Title: title, Checks: []string{check1, check2}}})
		if err != nil {
			require.Nil(t, c)
			require.True(t, strings.HasPrefix(err.Error(), "[0]."), err.Error())
			return
		}
		ref := "custom:" + id
		cr, ok := c.Criterion(ref)
		require.True(t, ok)
		require.Equal(t, "custom", cr.Framework)
		require.Equal(t, []string{check1, check2}, sortedPair(c.ChecksFor(ref), check1, check2))
		got, err := c.Resolve(id)
		require.NoError(t, err)
		require.Equal(t, ref, got)
		require.Contains(t, c.Refs(check1), ref)
	})
}

// sortedPair returns got reordered to match (a, b) when it holds both.
func sortedPair(got []string, a, b string) []string {
	if len(got) == 2 && got[0] == b && got[1] == a {
		return []string{a, b}
	}
	return got
}
