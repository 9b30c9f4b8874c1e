// Package identity is identity.reconcile: a step that joins one person's
// accounts across Okta, GitHub, AWS IAM and AWS IAM Identity Center from
// the latest stored, signature-verified snapshots of their collectors —
// never calling a provider — and reports leavers who kept access and
// accounts nobody owns. The README section "One person across Okta,
// GitHub and AWS" documents the joins and resource names.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Type, version and checks of the step.
const (
	Type                = "identity.reconcile"
	Version             = "0.1.0"
	CheckLeaverAccess   = "identity.leaver_access"
	CheckUnownedAccount = "identity.unowned_account"
)

// The collector types it joins.
const (
	inputOkta           = "okta.access"
	inputGitHub         = "github.access"
	inputIAM            = "aws.iam"
	inputIdentityCenter = "aws.identity_center"
)

var inputSystem = map[string]string{inputGitHub: SystemGitHub, inputIAM: SystemIAM, inputIdentityCenter: SystemIdentityCenter}

// Factories returns the step's factory.
func Factories() []collector.Factory {
	return []collector.Factory{{
		Type:    Type,
		Version: Version,
		// Not a provider it calls: the identity source it joins to,
		// through stored evidence.
		Provider:    "identity",
		Description: "one person's accounts joined across Okta, GitHub, AWS IAM and Identity Center, from stored evidence: leavers with access, unowned accounts",
		Checks:      []string{CheckLeaverAccess, CheckUnownedAccount},
		Inputs:      []string{inputOkta, inputGitHub, inputIAM, inputIdentityCenter},
		New: func(s collector.Settings) (collector.Collector, error) {
			if s.Sources.Okta == nil {
				return nil, fmt.Errorf("%w: identity.reconcile joins accounts to the people of sources.okta", collector.ErrNoSource)
			}
			if err := s.Identity.Validate(); err != nil {
				return nil, fmt.Errorf("identity.%w", err)
			}
			if s.Identity.MappingFile != "" {
				// Refused at start, every problem at once; read again at
				// every run so that an edited file applies.
				if _, err := LoadMapping(s.Identity.MappingFile); err != nil {
					return nil, err
				}
			}
			return &reconcile{s: s}, nil
		},
	}}
}

type reconcile struct{ s collector.Settings }

var _ collector.Collector = (*reconcile)(nil)

// Scopes is the identity source: the Okta org.
func (r *reconcile) Scopes(context.Context) ([]evidence.Scope, error) {
	host := r.s.Sources.Okta.OrgURL
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		host = u.Host
	}
	return []evidence.Scope{{Provider: "okta", Account: host}}, nil
}

// Collect reads the inputs and joins them.
func (r *reconcile) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	if req.Evidence == nil {
		return nil, errors.New("no evidence reader: identity.reconcile reads the store it writes to, and the agent gave it none")
	}
	var rows []Row
	if r.s.Identity.MappingFile != "" {
		var err error
		if rows, err = LoadMapping(r.s.Identity.MappingFile); err != nil {
			return nil, err
		}
	}
	res := &collector.Result{}
	partial := &collector.PartialError{}
	src := sources{accounts: map[string][]account{}, broken: map[string][]string{}}
	for _, typ := range []string{inputOkta, inputGitHub, inputIAM, inputIdentityCenter} {
		system := inputSystem[typ]
		if typ == inputOkta {
			system = "okta"
		}
		inputs, err := req.Evidence.Latest(ctx, typ)
		if err != nil {
			return nil, fmt.Errorf("read %s evidence: %w", typ, err)
		}
		if len(inputs) == 0 && typ == inputOkta {
			// Without the people nothing can be joined; a system with no
			// collector configured is simply not joined.
			problem := "no okta.access collector is configured: the people come from its snapshots"
			src.broken[system] = append(src.broken[system], problem)
			partial.Add(typ, "read input", errors.New(problem))
		}
		for _, in := range inputs {
			res.Records = append(res.Records, inputRecord(typ, in))
			problem := ""
			switch {
			case in.Err != nil:
				problem = in.Err.Error()
			case in.Snapshot.Status != evidence.StatusComplete:
				problem = fmt.Sprintf("%s seq %d is %s: its access list may be incomplete", in.Series, in.Seq, in.Snapshot.Status)
			}
			if problem != "" {
				src.broken[system] = append(src.broken[system], problem)
				where := in.Series
				if where == "" {
					where = in.Instance
				}
				partial.Add(where, "read input", errors.New(problem))
				continue
			}
			if typ == inputOkta {
				src.okta = append(src.okta, in.Snapshot)
				continue
			}
			src.accounts[system] = append(src.accounts[system], accountsOf(typ, in.Snapshot, r.s.Identity.PersonTag())...)
		}
	}
	for system := range src.accounts {
		sort.SliceStable(src.accounts[system], func(i, j int) bool { return src.accounts[system][i].resource < src.accounts[system][j].resource })
	}
	recs, fs := join(src, rows, r.s.Identity.ServiceAccounts, req.Now)
	res.Records = append(res.Records, recs...)
	res.Findings = fs
	return res, partial.Err()
}

// inputRecord names one input snapshot: which series, seq and digest the
// join was built from (or why an input could not be used).
func inputRecord(typ string, in collector.Input) evidence.Record {
	attrs := map[string]any{"collector_type": typ, "instance": in.Instance, "series": in.Series, "seq": in.Seq, "sha256": in.SHA256}
	if in.Snapshot != nil {
		attrs["status"] = string(in.Snapshot.Status)
		attrs["finished_at"] = timeString(in.Snapshot.FinishedAt)
	}
	if in.Err != nil {
		attrs["error"] = in.Err.Error()
	}
	id := in.Series
	if id == "" {
		id = in.Instance
	}
	return evidence.Record{Type: "identity.input", ID: id, Attributes: attrs}
}

// accountsOf reads one input snapshot's accounts.
func accountsOf(typ string, s *evidence.Snapshot, personTag string) []account {
	var out []account
	switch typ {
	case inputGitHub:
		for _, r := range s.Records {
			kind := map[string]string{"github.member": "org member", "github.outside_collaborator": "outside collaborator"}[r.Type]
			if kind == "" {
				continue
			}
			org, _, _ := strings.Cut(r.ID, "/")
			login := str(r.Attributes["login"])
			out = append(out, account{system: SystemGitHub, name: login, resource: "github:" + org + "/" + login, where: "org " + org, kind: kind,
				access: true, known: true, accessWhy: kind + " of " + org})
		}
	case inputIAM:
		pw, keys := map[string]bool{}, map[string]int{}
		seenPW, seenKeys := map[string]bool{}, map[string]bool{}
		for _, f := range s.Findings {
			switch f.Check {
			case iamConsoleCheck:
				if v, ok := f.Observed["password_enabled"].(bool); ok {
					pw[f.Resource], seenPW[f.Resource] = v, true
				}
			case iamKeyAgeCheck:
				k1, ok1 := f.Observed["access_key_1_active"].(bool)
				k2, ok2 := f.Observed["access_key_2_active"].(bool)
				if ok1 && ok2 {
					seenKeys[f.Resource] = true
					for _, on := range []bool{k1, k2} {
						if on {
							keys[f.Resource]++
						}
					}
				}
			}
		}
		for _, r := range s.Records {
			if r.Type != "aws.iam.user" {
				continue
			}
			a := account{system: SystemIAM, name: str(r.Attributes["name"]), resource: r.ID, where: "account " + s.Scope.Account, kind: "IAM user"}
			if tags, ok := r.Attributes["tags"].(map[string]any); ok {
				a.personTag = strings.TrimSpace(str(tags[personTag]))
			}
			a.known = seenPW[r.ID] && seenKeys[r.ID]
			switch {
			case !a.known:
				a.accessWhy = "the credential report in " + s.Series + " has no row for this user"
			case pw[r.ID] || keys[r.ID] > 0:
				a.access = true
				a.accessWhy = fmt.Sprintf("console password %s, %d active access key(s)", onOff(pw[r.ID]), keys[r.ID])
			default:
				a.accessWhy = "no console password and no active access key"
			}
			out = append(out, a)
		}
	case inputIdentityCenter:
		groupsOf := map[string][]string{} // user id → group ids
		for _, r := range s.Records {
			if r.Type != "aws.identity_center.group" {
				continue
			}
			members, _ := r.Attributes["members"].([]any)
			for _, m := range members {
				if mm, ok := m.(map[string]any); ok {
					groupsOf[str(mm["user_id"])] = append(groupsOf[str(mm["user_id"])], str(r.Attributes["group_id"]))
				}
			}
		}
		assigned := map[string][]string{} // principal id → "set in account"
		for _, r := range s.Records {
			if r.Type == "aws.identity_center.assignment" {
				pid := str(r.Attributes["principal_id"])
				assigned[pid] = append(assigned[pid], fmt.Sprintf("%s in %s", str(r.Attributes["permission_set"]), str(r.Attributes["account"])))
			}
		}
		for _, r := range s.Records {
			if r.Type != "aws.identity_center.user" {
				continue
			}
			uid := str(r.Attributes["user_id"])
			a := account{system: SystemIdentityCenter, name: str(r.Attributes["user_name"]), resource: r.ID, where: "instance in " + s.Scope.Account,
				kind: "Identity Center user", known: true, userName: str(r.Attributes["user_name"])}
			if emails, ok := r.Attributes["emails"].([]any); ok {
				for _, e := range emails {
					switch v := e.(type) {
					case string:
						a.emails = append(a.emails, v)
					case map[string]any:
						a.emails = append(a.emails, str(v["value"]))
					}
				}
			}
			if ext, ok := r.Attributes["external_ids"].([]any); ok {
				for _, e := range ext {
					if m, ok := e.(map[string]any); ok {
						a.externalIDs = append(a.externalIDs, str(m["id"]))
					}
				}
			}
			grants := append([]string{}, assigned[uid]...)
			for _, g := range groupsOf[uid] {
				for _, x := range assigned[g] {
					grants = append(grants, x+" (through a group)")
				}
			}
			sort.Strings(grants)
			if len(grants) > 0 {
				a.access = true
				a.accessWhy = fmt.Sprintf("%d assignment(s): %s", len(grants), strings.Join(grants, ", "))
			} else {
				a.accessWhy = "no account assignment, directly or through a group"
			}
			out = append(out, a)
		}
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}
