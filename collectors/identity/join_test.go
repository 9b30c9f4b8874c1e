package identity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

var now = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

func oktaSnap(users ...evidence.Record) *evidence.Snapshot {
	return &evidence.Snapshot{Series: "okta.access/acme.okta.com", Records: users}
}

func oktaUser(id, login, email, status string, changed time.Time) evidence.Record {
	return evidence.Record{Type: "okta.user", ID: id, Attributes: map[string]any{
		"login": login, "email": email, "status": status, "status_changed": changed.Format(time.RFC3339)}}
}

func gh(login string) account {
	return account{system: SystemGitHub, name: login, resource: "github:acme/" + login, where: "org acme", kind: "org member", access: true, known: true, accessWhy: "org member of acme"}
}

func ic(name string, ext []string, emails ...string) account {
	return account{system: SystemIdentityCenter, name: name, userName: name, resource: "ic:user/" + name, where: "instance", known: true,
		access: true, accessWhy: "1 assignment(s)", externalIDs: ext, emails: emails}
}

func iam(name string, known, access bool) account {
	return account{system: SystemIAM, name: name, resource: "arn:aws:iam::111122223333:user/" + name, where: "account 111122223333", known: known, access: access, accessWhy: "why"}
}

// find returns the finding of check on resource.
func find(t *testing.T, fs []evidence.Finding, check, resource string) evidence.Finding {
	t.Helper()
	var out []evidence.Finding
	for _, f := range fs {
		if f.Check == check && f.Resource == resource {
			out = append(out, f)
		}
	}
	require.Len(t, out, 1, "%s on %s in %+v", check, resource, fs)
	return out[0]
}

func TestJoinRules(t *testing.T) {
	left := now.AddDate(0, 0, -40)
	people := oktaSnap(
		oktaUser("00u-alice", "alice@acme.example", "alice@acme.example", "ACTIVE", now.AddDate(-1, 0, 0)),
		oktaUser("00u-frank", "frank@acme.example", "Frank.Example@Acme.Example", "DEPROVISIONED", left),
		oktaUser("00u-grace", "grace@acme.example", "grace@acme.example", "SUSPENDED", left),
	)
	rows := []Row{
		{Source: "ALICE@acme.example", GitHub: "Alice-GH", AWSIAM: "alice"},
		{Source: "frank.example@acme.example", GitHub: "frank", AWSIAM: "frank"}, // by e-mail, case-insensitively
		{Source: "gone@acme.example", GitHub: "gone"},                            // absent from Okta
		{Source: "frank@acme.example", AWSIAM: "frank-old"},
	}
	service := []collector.ServiceAccount{{System: SystemIAM, Account: "CI-Deploy", Owner: "platform@acme.example", Reason: "CI"}}
	src := sources{okta: []*evidence.Snapshot{people}, broken: map[string][]string{}, accounts: map[string][]account{
		SystemGitHub: {gh("alice-gh"), gh("frank"), gh("gone"), gh("mallory")},
		SystemIAM:    {iam("alice", true, true), iam("frank", true, false), iam("frank-old", false, false), iam("ci-deploy", true, true), iam("nobody", true, false)},
		SystemIdentityCenter: {
			ic("x-frank", []string{"00u-frank"}),         // external id
			ic("ALICE@ACME.EXAMPLE", nil),                // user name, case-insensitively
			ic("g", nil, "grace@acme.example"),           // e-mail
			ic("stranger", nil, "stranger@acme.example"), // nobody
		},
	}}
	recs, fs := join(src, rows, service, now)

	cases := []struct {
		check, resource string
		status          evidence.Result
		contains        string
	}{
		{CheckUnownedAccount, "github:acme/alice-gh", evidence.Pass, "alice@acme.example (matched by mapping_file)"},
		{CheckLeaverAccess, "github:acme/alice-gh", evidence.Pass, "ACTIVE"},
		{CheckLeaverAccess, "github:acme/frank", evidence.Fail, "frank@acme.example was deprovisioned in Okta 40 days ago (2026-05-21) but still has access through GitHub account frank"},
		{CheckLeaverAccess, "github:acme/gone", evidence.Fail, "gone@acme.example is absent from Okta but still has access"},
		{CheckUnownedAccount, "github:acme/mallory", evidence.Fail, "maps to no person"},
		{CheckLeaverAccess, "arn:aws:iam::111122223333:user/frank", evidence.Pass, "has no access left"},
		{CheckLeaverAccess, "arn:aws:iam::111122223333:user/frank-old", evidence.Error, "is not recorded"},
		{CheckUnownedAccount, "arn:aws:iam::111122223333:user/ci-deploy", evidence.Pass, "service account owned by platform@acme.example"},
		{CheckUnownedAccount, "arn:aws:iam::111122223333:user/nobody", evidence.Fail, "maps to no person"},
		{CheckLeaverAccess, "ic:user/x-frank", evidence.Fail, "frank@acme.example was deprovisioned"},
		{CheckUnownedAccount, "ic:user/x-frank", evidence.Pass, "identity_center_identity"},
		{CheckLeaverAccess, "ic:user/ALICE@ACME.EXAMPLE", evidence.Pass, "ACTIVE"},
		{CheckLeaverAccess, "ic:user/g", evidence.Pass, "SUSPENDED"},
		{CheckUnownedAccount, "ic:user/stranger", evidence.Fail, "maps to no person"},
	}
	for _, c := range cases {
		t.Run(c.check+" "+c.resource, func(t *testing.T) {
			f := find(t, fs, c.check, c.resource)
			require.Equal(t, c.status, f.Status, f.Reason)
			require.Contains(t, f.Reason, c.contains)
		})
	}
	// An unmapped or service account is no person's: no leaver finding.
	for _, r := range []string{"github:acme/mallory", "arn:aws:iam::111122223333:user/ci-deploy"} {
		for _, f := range fs {
			require.False(t, f.Check == CheckLeaverAccess && f.Resource == r, "%s has a leaver finding", r)
		}
	}
	sa := find(t, fs, CheckUnownedAccount, "arn:aws:iam::111122223333:user/ci-deploy")
	require.Equal(t, "platform@acme.example", sa.Observed["owner"])
	require.Equal(t, 40, find(t, fs, CheckLeaverAccess, "github:acme/frank").Observed["days_since_deprovisioning"])

	// One record per person with their accounts, one per unmapped account.
	byID := map[string]evidence.Record{}
	for _, r := range recs {
		byID[r.Type+" "+r.ID] = r
	}
	frank := byID["identity.person 00u-frank"]
	require.Len(t, frank.Attributes["accounts"], 4, "github frank, iam frank, iam frank-old, identity center x-frank")
	require.Equal(t, false, byID["identity.person absent:gone@acme.example"].Attributes["in_identity_source"])
	require.Contains(t, byID, "identity.unmapped_account github:acme/mallory")
	require.Contains(t, byID, "identity.unmapped_account arn:aws:iam::111122223333:user/ci-deploy")
}

func TestIAMPersonTag(t *testing.T) {
	people := oktaSnap(
		oktaUser("00u-alice", "alice@acme.example", "alice@acme.example", "ACTIVE", now),
		oktaUser("00u-frank", "frank@acme.example", "frank@acme.example", "DEPROVISIONED", now.AddDate(0, 0, -3)),
	)
	tagged := func(name, tag string) account {
		a := iam(name, true, true)
		a.personTag = tag
		return a
	}
	src := sources{okta: []*evidence.Snapshot{people}, broken: map[string][]string{}, accounts: map[string][]account{
		SystemIAM: {tagged("a", "ALICE@acme.example"), tagged("f", "frank@acme.example"), tagged("g", "gone@acme.example"), tagged("m", "alice@acme.example")},
	}}
	rows := []Row{{Source: "frank@acme.example", AWSIAM: "m"}} // the mapping file wins over a tag
	_, fs := join(src, rows, nil, now)
	arn := "arn:aws:iam::111122223333:user/"
	require.Equal(t, "iam_person_tag", find(t, fs, CheckUnownedAccount, arn+"a").Observed["matched_by"])
	require.Equal(t, evidence.Pass, find(t, fs, CheckLeaverAccess, arn+"a").Status)
	require.Contains(t, find(t, fs, CheckLeaverAccess, arn+"f").Reason, "deprovisioned in Okta 3 days ago")
	g := find(t, fs, CheckLeaverAccess, arn+"g")
	require.Equal(t, evidence.Fail, g.Status)
	require.Contains(t, g.Reason, "gone@acme.example is absent from Okta")
	m := find(t, fs, CheckLeaverAccess, arn+"m")
	require.Equal(t, evidence.Fail, m.Status, "mapped to frank, not the tag's alice")
	require.Equal(t, "mapping_file", m.Observed["matched_by"])
}

func TestAmbiguityIsAnErrorNeverAGuess(t *testing.T) {
	people := oktaSnap(
		oktaUser("00u-a", "a@acme.example", "shared@acme.example", "ACTIVE", now),
		oktaUser("00u-b", "b@acme.example", "b@acme.example", "DEPROVISIONED", now),
		oktaUser("00u-c", "c@acme.example", "SHARED@acme.example", "ACTIVE", now),
	)
	rows := []Row{
		{Source: "a@acme.example", GitHub: "twice"},
		{Source: "b@acme.example", GitHub: "TWICE"},  // one login, two people
		{Source: "shared@acme.example", AWSIAM: "s"}, // one source, two Okta users
	}
	src := sources{okta: []*evidence.Snapshot{people}, broken: map[string][]string{}, accounts: map[string][]account{
		SystemGitHub:         {gh("twice")},
		SystemIAM:            {iam("s", true, true)},
		SystemIdentityCenter: {ic("b@acme.example", []string{"00u-a"})}, // external id says a, user name says b
	}}
	_, fs := join(src, rows, nil, now)
	for _, r := range []string{"github:acme/twice", "arn:aws:iam::111122223333:user/s", "ic:user/b@acme.example"} {
		for _, chk := range []string{CheckLeaverAccess, CheckUnownedAccount} {
			f := find(t, fs, chk, r)
			require.Equal(t, evidence.Error, f.Status, f.Reason)
			require.Contains(t, f.Reason, "ambiguous")
			require.Len(t, f.Observed["candidates"], 2)
		}
	}
}

func TestUnusableSourcesMakeErrorsNotPasses(t *testing.T) {
	people := oktaSnap(oktaUser("00u-frank", "frank@acme.example", "", "DEPROVISIONED", now))
	rows := []Row{{Source: "frank@acme.example", GitHub: "frank", AWSIAM: "frank"}}
	t.Run("a broken system", func(t *testing.T) {
		src := sources{okta: []*evidence.Snapshot{people}, broken: map[string][]string{SystemGitHub: {"github.access/acme seq 3 is failed"}},
			accounts: map[string][]account{SystemIAM: {iam("frank", true, true)}}}
		_, fs := join(src, rows, nil, now)
		for _, chk := range []string{CheckLeaverAccess, CheckUnownedAccount} {
			f := find(t, fs, chk, "identity-source:github")
			require.Equal(t, evidence.Error, f.Status)
			require.Contains(t, f.Reason, "github.access/acme seq 3 is failed")
		}
		require.Equal(t, evidence.Fail, find(t, fs, CheckLeaverAccess, "arn:aws:iam::111122223333:user/frank").Status, "other systems are still judged")
	})
	t.Run("a broken identity source", func(t *testing.T) {
		for _, src := range []sources{
			{broken: map[string][]string{"okta": {"okta.access/acme.okta.com: signature: does not verify"}}},
			{broken: map[string][]string{}}, // no Okta snapshot at all
		} {
			src.accounts = map[string][]account{SystemGitHub: {gh("frank")}}
			_, fs := join(src, rows, nil, now)
			require.Len(t, fs, 2)
			for _, f := range fs {
				require.Equal(t, evidence.Error, f.Status, f.Reason)
				require.Equal(t, "identity-source:okta", f.Resource)
			}
		}
	})
}

func TestMappingFileProblemsAllAtOnce(t *testing.T) {
	_, err := ParseMapping("map.yaml", []byte(`people:
  - source: a@acme.example
    gitlab: a
  - github: b
  - source: c@acme.example
  - source: d@acme.example
    aws_iam: [x]
`))
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`map.yaml:3: people[0]: unknown field "gitlab"`,
		"map.yaml:2: people[0]: names no account",
		"map.yaml:4: people[1].source: required",
		"map.yaml:5: people[2]: names no account",
		"map.yaml:7: people[3].aws_iam: want a name",
	} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, "map.yaml:6: people[3]: names no account", "a bad value is one problem, not two")
	_, err = ParseMapping("map.yaml", []byte("persons: []\n"))
	require.ErrorContains(t, err, "map.yaml")
	_, err = ParseMapping("map.yaml", []byte("people: []\n"))
	require.ErrorContains(t, err, "people: list at least one person")

	rows, err := ParseMapping("map.yaml", []byte("people:\n  - {source: a@acme.example, github: a}\n"))
	require.NoError(t, err)
	require.Equal(t, "a", rows[0].GitHub)
}
