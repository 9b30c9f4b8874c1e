package identity

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Systems whose accounts are joined to people.
const (
	SystemGitHub         = "github"
	SystemIAM            = "aws_iam"
	SystemIdentityCenter = "identity_center"
)

// The check ids aws.iam records an IAM user's console password and active
// keys under; the join reads them from its stored findings.
const (
	iamConsoleCheck = "aws.iam.console_user_mfa"
	iamKeyAgeCheck  = "aws.iam.access_key_age"
)

// person is a user of the identity source, or someone the mapping file
// names who is absent from it.
type person struct {
	id, login, email, status string
	statusChanged            time.Time
	absent                   bool
	accounts                 []map[string]any
}

// leaver reports whether the person must no longer have access: deprovisioned
// (deactivated) in Okta, or absent from it.
func (p *person) leaver() bool { return p.absent || p.status == "DEPROVISIONED" }

func (p *person) name() string {
	if p.login != "" {
		return p.login
	}
	return p.id
}

// account is one account in a joined system.
type account struct {
	system, name, resource string
	// where says where it lives: the GitHub org, the AWS account, the
	// Identity Center instance.
	where string
	kind  string
	// access is whether it still grants access; known false means the
	// evidence does not tell.
	access, known bool
	accessWhy     string
	// For joins by identity: Okta user ids the account's external ids
	// name, and its user name and e-mails.
	externalIDs, emails []string
	userName            string
	// personTag is the value of an IAM user's person tag.
	personTag string
}

// sources are the inputs of one run, by system; a system whose inputs are
// unusable has its problems set and its accounts unjudged.
type sources struct {
	okta     []*evidence.Snapshot
	accounts map[string][]account
	// broken maps "okta" or a system to why its inputs cannot be used.
	broken map[string][]string
}

// join builds the records and findings of one run.
func join(src sources, rows []Row, service []collector.ServiceAccount, now time.Time) ([]evidence.Record, []evidence.Finding) {
	var recs []evidence.Record
	var out []evidence.Finding
	if why := src.broken["okta"]; len(why) > 0 || len(src.okta) == 0 {
		if len(why) == 0 {
			why = []string{"no okta.access snapshot to read the people from"}
		}
		reason := "not determined: the identity source cannot be read: " + strings.Join(why, "; ")
		for _, chk := range []string{CheckLeaverAccess, CheckUnownedAccount} {
			out = append(out, evidence.Finding{Check: chk, Resource: "identity-source:okta", Status: evidence.Error, Reason: reason,
				Observed: map[string]any{"problems": why}})
		}
		return recs, out
	}

	// People, by Okta user id; and the keys they are found by.
	people := map[string]*person{}
	byName := map[string][]*person{} // lower-cased login or e-mail → people
	for _, snap := range src.okta {
		for _, r := range snap.Records {
			if r.Type != "okta.user" {
				continue
			}
			p := &person{id: r.ID, login: str(r.Attributes["login"]), email: str(r.Attributes["email"]), status: str(r.Attributes["status"])}
			p.statusChanged, _ = time.Parse(time.RFC3339, str(r.Attributes["status_changed"]))
			if _, dup := people[p.id]; dup {
				continue
			}
			people[p.id] = p
			for _, k := range uniq(lower(p.login), lower(p.email)) {
				byName[k] = append(byName[k], p)
			}
		}
	}
	// The mapping file's people: those absent from Okta become people too.
	rowPeople := make([][]*person, len(rows))
	for i, row := range rows {
		cands := byName[lower(row.Source)]
		if len(cands) == 0 {
			key := "absent:" + lower(row.Source)
			p := people[key]
			if p == nil {
				p = &person{id: key, login: row.Source, absent: true}
				people[key] = p
			}
			cands = []*person{p}
		}
		rowPeople[i] = cands
	}
	mapped := func(system, name string) []*person {
		var cands []*person
		for i, row := range rows {
			v := map[string]string{SystemGitHub: row.GitHub, SystemIAM: row.AWSIAM, SystemIdentityCenter: row.IdentityCenter}[system]
			if v != "" && strings.EqualFold(v, name) {
				cands = append(cands, rowPeople[i]...)
			}
		}
		return dedupe(cands)
	}
	serviceOf := func(system, name string) *collector.ServiceAccount {
		for i, s := range service {
			if s.System == system && strings.EqualFold(s.Account, name) {
				return &service[i]
			}
		}
		return nil
	}

	for _, system := range []string{SystemGitHub, SystemIAM, SystemIdentityCenter} {
		if why := src.broken[system]; len(why) > 0 {
			reason := "not determined: the " + systemLabel(system) + " evidence cannot be used: " + strings.Join(why, "; ")
			for _, chk := range []string{CheckLeaverAccess, CheckUnownedAccount} {
				out = append(out, evidence.Finding{Check: chk, Resource: "identity-source:" + system, Status: evidence.Error, Reason: reason,
					Observed: map[string]any{"system": system, "problems": why}})
			}
			continue
		}
		for _, a := range src.accounts[system] {
			cands, by := mapped(system, a.name), "mapping_file"
			switch {
			case len(cands) > 0:
			case system == SystemIdentityCenter:
				cands, by = identityMatch(a, people, byName), "identity_center_identity"
			case system == SystemIAM && a.personTag != "":
				cands, by = byName[lower(a.personTag)], "iam_person_tag"
				if len(cands) == 0 {
					// The tag names someone Okta does not know: absent.
					key := "absent:" + lower(a.personTag)
					if people[key] == nil {
						people[key] = &person{id: key, login: a.personTag, absent: true}
					}
					cands = []*person{people[key]}
				}
			}
			base := map[string]any{"system": system, "account": a.name, "where": a.where, "kind": a.kind}
			switch {
			case len(cands) > 1:
				names := personNames(cands)
				reason := fmt.Sprintf("%s account %s (%s) matches %d people (%s) by %s: ambiguous, not guessed; fix identity.mapping_file",
					systemLabel(system), a.name, a.where, len(cands), strings.Join(names, ", "), by)
				obs := with(base, "candidates", names, "matched_by", by)
				out = append(out,
					evidence.Finding{Check: CheckUnownedAccount, Resource: a.resource, Status: evidence.Error, Reason: reason, Observed: obs},
					evidence.Finding{Check: CheckLeaverAccess, Resource: a.resource, Status: evidence.Error, Reason: reason, Observed: obs})
				recs = append(recs, evidence.Record{Type: "identity.unmapped_account", ID: a.resource, Attributes: with(base, "candidates", names, "matched_by", by)})
			case len(cands) == 0:
				if sa := serviceOf(system, a.name); sa != nil {
					obs := with(base, "service_account", true, "owner", sa.Owner, "reason", sa.Reason)
					out = append(out, evidence.Finding{Check: CheckUnownedAccount, Resource: a.resource, Status: evidence.Pass, Observed: obs,
						Reason: fmt.Sprintf("%s account %s (%s) is a declared service account owned by %s: %s", systemLabel(system), a.name, a.where, sa.Owner, sa.Reason)})
					recs = append(recs, evidence.Record{Type: "identity.unmapped_account", ID: a.resource, Attributes: obs})
					continue
				}
				out = append(out, evidence.Finding{Check: CheckUnownedAccount, Resource: a.resource, Status: evidence.Fail, Observed: base,
					Reason: fmt.Sprintf("%s account %s (%s) maps to no person in the identity source and is not a declared service account", systemLabel(system), a.name, a.where)})
				recs = append(recs, evidence.Record{Type: "identity.unmapped_account", ID: a.resource, Attributes: with(base, "service_account", false)})
			default:
				p := cands[0]
				p.accounts = append(p.accounts, with(base, "resource", a.resource, "matched_by", by))
				out = append(out, evidence.Finding{Check: CheckUnownedAccount, Resource: a.resource, Status: evidence.Pass,
					Observed: with(base, "person", p.name(), "matched_by", by),
					Reason:   fmt.Sprintf("%s account %s (%s) belongs to %s (matched by %s)", systemLabel(system), a.name, a.where, p.name(), by)})
				out = append(out, leaverFinding(p, a, by, now))
			}
		}
	}

	ids := make([]string, 0, len(people))
	for id := range people {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := people[id]
		accts := p.accounts
		if accts == nil {
			accts = []map[string]any{}
		}
		recs = append(recs, evidence.Record{Type: "identity.person", ID: id, Attributes: map[string]any{
			"login": p.login, "email": p.email, "status": p.status, "status_changed": timeString(p.statusChanged),
			"in_identity_source": !p.absent, "accounts": accts,
		}})
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Type != recs[j].Type {
			return recs[i].Type < recs[j].Type
		}
		return recs[i].ID < recs[j].ID
	})
	return recs, out
}

// leaverFinding judges one account of a person.
func leaverFinding(p *person, a account, by string, now time.Time) evidence.Finding {
	obs := map[string]any{"person": p.name(), "identity_status": p.status, "in_identity_source": !p.absent,
		"system": a.system, "account": a.name, "where": a.where, "matched_by": by, "access": a.accessWhy}
	f := evidence.Finding{Check: CheckLeaverAccess, Resource: a.resource, Observed: obs}
	label := systemLabel(a.system)
	if !p.leaver() {
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s is %s in Okta; their %s account %s (%s) may have access", p.name(), p.status, label, a.name, a.where)
		return f
	}
	gone := "is absent from Okta"
	if !p.absent {
		gone = "was deprovisioned in Okta"
		if !p.statusChanged.IsZero() {
			days := int(now.Sub(p.statusChanged).Hours() / 24)
			obs["status_changed"] = timeString(p.statusChanged)
			obs["days_since_deprovisioning"] = days
			gone = fmt.Sprintf("was deprovisioned in Okta %d days ago (%s)", days, p.statusChanged.UTC().Format(time.DateOnly))
		}
	}
	switch {
	case !a.known:
		f.Status = evidence.Error
		f.Reason = fmt.Sprintf("%s %s; whether their %s account %s (%s) still has access is not recorded: %s", p.name(), gone, label, a.name, a.where, a.accessWhy)
	case a.access:
		f.Status = evidence.Fail
		f.Reason = fmt.Sprintf("%s %s but still has access through %s account %s (%s): %s", p.name(), gone, label, a.name, a.where, a.accessWhy)
	default:
		f.Status = evidence.Pass
		f.Reason = fmt.Sprintf("%s %s; their %s account %s (%s) has no access left: %s", p.name(), gone, label, a.name, a.where, a.accessWhy)
	}
	return f
}

// identityMatch finds the people an Identity Center user is: by an
// external id naming an Okta user id (SCIM provisioning from Okta writes
// it), or by its user name or an e-mail equal to an Okta login or e-mail.
func identityMatch(a account, people map[string]*person, byName map[string][]*person) []*person {
	var cands []*person
	for _, id := range a.externalIDs {
		if p := people[id]; p != nil && !p.absent {
			cands = append(cands, p)
		}
	}
	for _, n := range append([]string{a.userName}, a.emails...) {
		if n != "" {
			cands = append(cands, byName[lower(n)]...)
		}
	}
	return dedupe(cands)
}

func systemLabel(system string) string {
	return map[string]string{SystemGitHub: "GitHub", SystemIAM: "AWS IAM", SystemIdentityCenter: "AWS Identity Center"}[system]
}

func personNames(ps []*person) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.name())
	}
	sort.Strings(out)
	return out
}

func dedupe(ps []*person) []*person {
	var out []*person
	for _, p := range ps {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func uniq(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
