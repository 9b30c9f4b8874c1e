// Package review builds access reviews from the access lists in a store and
// turns a reviewer's decisions into evidence: prepare reads the latest
// verified access list of each system as of a date and lists who has what
// access, and what changed since the previous review; record checks the
// filled decisions against the snapshot they were made on and becomes a
// signed snapshot through the agent's write path; the follow-up checks, at
// collect time, that what was revoked is gone after the grace period.
package review

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Checks are the checks the review snapshots carry.
const (
	CheckCompleted         = "review.completed"
	CheckRevocationApplied = "review.revocation_applied"
)

// Decision values a reviewer writes.
const (
	Keep   = "keep"
	Revoke = "revoke"
)

// Sources are the access-list collector types a review reads, and the
// provider each belongs to.
var Sources = map[string]string{
	"okta.access":         "okta",
	"github.access":       "github",
	"aws.iam":             "aws",
	"aws.identity_center": "aws",
}

// Row is one principal × grant of a system's access list.
type Row struct {
	ID            string `json:"row_id"`
	PrincipalType string `json:"principal_type"`
	Principal     string `json:"principal"`
	Grant         string `json:"grant"`
	Detail        string `json:"detail,omitempty"`
	// Change is what the previous review's list did not have: "joiner"
	// (a new principal) or "granted" (a new grant of a known one).
	Change string `json:"change,omitempty"`
}

// RowID is stable across reviews: the same principal holding the same
// grant in the same system has the same id in every review.
func RowID(system, principalType, principal, grant string) string {
	h := sha256.Sum256([]byte(system + "\n" + principalType + "\n" + principal + "\n" + grant))
	return "r-" + hex.EncodeToString(h[:8])
}

// ReviewSeries is the series a system's reviews are written to.
func ReviewSeries(snap *evidence.Snapshot) string {
	return evidence.SeriesName(JobID(snap), snap.Scope.Account)
}

// JobID is the id of the job that writes a system's reviews.
func JobID(snap *evidence.Snapshot) string { return "review." + snap.Collector.ID }

// Rows lists the access of one access-list snapshot, sorted.
func Rows(snap *evidence.Snapshot) []Row {
	system := snap.Series
	var out []Row
	add := func(ptype, principal, grant, detail string) {
		if principal == "" || grant == "" {
			return
		}
		out = append(out, Row{ID: RowID(system, ptype, principal, grant), PrincipalType: ptype, Principal: principal, Grant: grant, Detail: detail})
	}
	for _, r := range snap.Records {
		a := r.Attributes
		switch r.Type {
		case "okta.user":
			login := str(a, "login")
			add("user", login, "account", "status "+str(a, "status"))
			for _, app := range strs(a, "apps") {
				add("user", login, "app:"+app, "")
			}
			for _, g := range strs(a, "groups") {
				add("user", login, "group:"+g, "")
			}
		case "github.member":
			add("user", str(a, "login"), "org:"+str(a, "role"), "")
		case "github.outside_collaborator":
			add("user", str(a, "login"), "outside_collaborator", "")
		case "github.repository_admins":
			for _, l := range strs(a, "admins") {
				add("user", l, "repository_admin:"+r.ID, "")
			}
		case "aws.iam.user", "aws.iam.role":
			ptype := strings.TrimPrefix(r.Type, "aws.iam.")
			name := str(a, "name")
			n := len(out)
			for _, g := range strs(a, "groups") {
				add(ptype, name, "group:"+g, "")
			}
			for _, p := range strs(a, "attached_policies") {
				add(ptype, name, "policy:"+p, "")
			}
			for _, p := range strs(a, "inline_policies") {
				add(ptype, name, "inline_policy:"+p, "")
			}
			if len(out) == n && ptype == "user" {
				add(ptype, name, "account", "no group or policy")
			}
		case "aws.identity_center.user":
			name := str(a, "user_name")
			add("user", name, "account", "status "+str(a, "status"))
			for _, g := range strs(a, "groups") {
				add("user", name, "group:"+g, "")
			}
		case "aws.identity_center.assignment":
			add(strings.ToLower(str(a, "principal_type")), str(a, "principal_name"),
				"permission_set:"+str(a, "permission_set")+"@"+str(a, "account"), "")
		}
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.PrincipalType != y.PrincipalType {
			return x.PrincipalType < y.PrincipalType
		}
		if x.Principal != y.Principal {
			return x.Principal < y.Principal
		}
		return x.Grant < y.Grant
	})
	return slices.CompactFunc(out, func(a, b Row) bool { return a.ID == b.ID })
}

func str(a map[string]any, k string) string {
	switch v := a[k].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func strs(a map[string]any, k string) []string {
	var out []string
	switch v := a[k].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = v
	}
	return out
}

// Principal is one principal's access, for the changes between reviews.
type Principal struct {
	Type    string   `json:"principal_type"`
	Name    string   `json:"principal"`
	Granted []string `json:"granted,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Changes are the joiners, movers and leavers between two access lists.
type Changes struct {
	Joiners []Principal `json:"joiners"`
	Movers  []Principal `json:"movers"`
	Leavers []Principal `json:"leavers"`
}

// Diff compares the rows of the previous review's list with the current
// ones, and marks the current rows that are new.
func Diff(prev, cur []Row) Changes {
	type key struct{ t, n string }
	grants := func(rows []Row) (map[key][]string, []key) {
		m := map[key][]string{}
		var order []key
		for _, r := range rows {
			k := key{r.PrincipalType, r.Principal}
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = append(m[k], r.Grant)
		}
		return m, order
	}
	pm, porder := grants(prev)
	cm, corder := grants(cur)
	ch := Changes{Joiners: []Principal{}, Movers: []Principal{}, Leavers: []Principal{}}
	for _, k := range corder {
		was, ok := pm[k]
		if !ok {
			ch.Joiners = append(ch.Joiners, Principal{Type: k.t, Name: k.n, Granted: cm[k]})
			continue
		}
		p := Principal{Type: k.t, Name: k.n}
		for _, g := range cm[k] {
			if !slices.Contains(was, g) {
				p.Granted = append(p.Granted, g)
			}
		}
		for _, g := range was {
			if !slices.Contains(cm[k], g) {
				p.Removed = append(p.Removed, g)
			}
		}
		if len(p.Granted)+len(p.Removed) > 0 {
			ch.Movers = append(ch.Movers, p)
		}
	}
	for _, k := range porder {
		if _, ok := cm[k]; !ok {
			ch.Leavers = append(ch.Leavers, Principal{Type: k.t, Name: k.n, Removed: pm[k]})
		}
	}
	prevIDs := map[string]bool{}
	for _, r := range prev {
		prevIDs[r.ID] = true
	}
	for i := range cur {
		switch k := (key{cur[i].PrincipalType, cur[i].Principal}); {
		case pm[k] == nil:
			cur[i].Change = "joiner"
		case !prevIDs[cur[i].ID]:
			cur[i].Change = "granted"
		}
	}
	return ch
}
