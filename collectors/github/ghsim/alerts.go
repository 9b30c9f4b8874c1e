package ghsim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// DependabotAlert is one Dependabot alert of a repository. State is open,
// fixed, dismissed or auto_dismissed.
type DependabotAlert struct {
	Repo         string
	Number       int
	Ecosystem    string
	Package      string
	ManifestPath string
	// Severity is the advisory's: low, medium, high or critical.
	Severity         string
	GHSA, CVE        string
	Summary          string
	VulnerableRange  string
	PatchedVersion   string
	State            string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	FixedAt          time.Time
	DismissedAt      time.Time
	DismissedBy      *User
	DismissedReason  string
	DismissedComment string
}

// CodeScanningAlert is one code-scanning alert on a repository's default
// branch. State is open, fixed or dismissed.
type CodeScanningAlert struct {
	Repo   string
	Number int
	RuleID string
	// RuleSeverity is note, warning or error; SecuritySeverity (low,
	// medium, high, critical) is set only for security rules.
	RuleSeverity     string
	SecuritySeverity string
	RuleDescription  string
	Tool             string
	Path             string
	Line             int
	State            string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	FixedAt          time.Time
	DismissedAt      time.Time
	DismissedBy      *User
	DismissedReason  string
	DismissedComment string
}

// SecretScanningAlert is one secret-scanning alert. State is open or
// resolved; Resolution is false_positive, wont_fix, revoked,
// pattern_edited, pattern_deleted or used_in_tests.
type SecretScanningAlert struct {
	Repo                   string
	Number                 int
	SecretType             string
	SecretTypeName         string
	Secret                 string
	State                  string
	Resolution             string
	ResolvedAt             time.Time
	ResolvedBy             *User
	ResolutionComment      string
	CreatedAt              time.Time
	UpdatedAt              time.Time
	PushProtectionBypassed bool
}

func ts(t time.Time) *gh.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &gh.Timestamp{Time: t}
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return gh.String(s)
}

func userOrNil(u *User) *gh.User {
	if u == nil {
		return nil
	}
	return user(*u)
}

// simpleRepository is the repository object GitHub nests in each alert.
func (s *Sim) simpleRepository(name string) *gh.Repository {
	full := s.Org.Login + "/" + name
	private := false
	if r := s.Org.Repo(name); r != nil {
		private = r.Private
	}
	return &gh.Repository{
		ID: gh.Int64(id(full)), NodeID: gh.String(fmt.Sprintf("R_sim%d", id(full))), Name: gh.String(name), FullName: gh.String(full),
		Owner:   &gh.User{Login: gh.String(s.Org.Login), ID: gh.Int64(id(s.Org.Login)), Type: gh.String("Organization")},
		Private: gh.Bool(private), HTMLURL: gh.String("https://github.example/" + full),
		URL: gh.String("https://github.example/api/v3/repos/" + full),
	}
}

func (s *Sim) dependabotJSON(a *DependabotAlert) *gh.DependabotAlert {
	full := s.Org.Login + "/" + a.Repo
	pkg := &gh.VulnerabilityPackage{Ecosystem: gh.String(a.Ecosystem), Name: gh.String(a.Package)}
	vuln := &gh.AdvisoryVulnerability{Package: pkg, Severity: gh.String(a.Severity), VulnerableVersionRange: str(a.VulnerableRange)}
	if a.PatchedVersion != "" {
		vuln.FirstPatchedVersion = &gh.FirstPatchedVersion{Identifier: gh.String(a.PatchedVersion)}
	}
	ids := []*gh.AdvisoryIdentifier{{Type: gh.String("GHSA"), Value: gh.String(a.GHSA)}}
	if a.CVE != "" {
		ids = append(ids, &gh.AdvisoryIdentifier{Type: gh.String("CVE"), Value: gh.String(a.CVE)})
	}
	return &gh.DependabotAlert{
		Number: gh.Int(a.Number), State: gh.String(a.State),
		Dependency: &gh.Dependency{Package: pkg, ManifestPath: gh.String(a.ManifestPath), Scope: gh.String("runtime")},
		SecurityAdvisory: &gh.DependabotSecurityAdvisory{
			GHSAID: gh.String(a.GHSA), CVEID: str(a.CVE), Summary: gh.String(a.Summary), Description: gh.String(a.Summary),
			Severity: gh.String(a.Severity), Identifiers: ids, Vulnerabilities: []*gh.AdvisoryVulnerability{vuln},
			PublishedAt: ts(a.CreatedAt.AddDate(0, 0, -2)), UpdatedAt: ts(a.CreatedAt.AddDate(0, 0, -1)),
		},
		SecurityVulnerability: vuln,
		URL:                   gh.String(fmt.Sprintf("https://github.example/api/v3/repos/%s/dependabot/alerts/%d", full, a.Number)),
		HTMLURL:               gh.String(fmt.Sprintf("https://github.example/%s/security/dependabot/%d", full, a.Number)),
		CreatedAt:             ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt),
		DismissedAt: ts(a.DismissedAt), DismissedBy: userOrNil(a.DismissedBy), DismissedReason: str(a.DismissedReason),
		DismissedComment: str(a.DismissedComment), FixedAt: ts(a.FixedAt),
		Repository: s.simpleRepository(a.Repo),
	}
}

func (s *Sim) codeScanningJSON(a *CodeScanningAlert) *gh.Alert {
	full := s.Org.Login + "/" + a.Repo
	tags := []string{"maintainability"}
	if a.SecuritySeverity != "" {
		tags = []string{"security", "external/cwe/cwe-089"}
	}
	inst := &gh.MostRecentInstance{
		Ref: gh.String("refs/heads/main"), AnalysisKey: gh.String(".github/workflows/codeql.yml:analyze"), Category: gh.String(".github/workflows/codeql.yml:analyze/language:go"),
		Environment: gh.String("{\"language\":\"go\"}"), State: gh.String(a.State), CommitSHA: gh.String(OID(fmt.Sprintf("%s code scanning %d", full, a.Number))),
		Message:         &gh.Message{Text: gh.String(a.RuleDescription)},
		Location:        &gh.Location{Path: gh.String(a.Path), StartLine: gh.Int(a.Line), EndLine: gh.Int(a.Line), StartColumn: gh.Int(5), EndColumn: gh.Int(40)},
		Classifications: []string{},
	}
	return &gh.Alert{
		Number: gh.Int(a.Number), CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt), State: gh.String(a.State),
		URL:          gh.String(fmt.Sprintf("https://github.example/api/v3/repos/%s/code-scanning/alerts/%d", full, a.Number)),
		HTMLURL:      gh.String(fmt.Sprintf("https://github.example/%s/security/code-scanning/%d", full, a.Number)),
		InstancesURL: gh.String(fmt.Sprintf("https://github.example/api/v3/repos/%s/code-scanning/alerts/%d/instances", full, a.Number)),
		FixedAt:      ts(a.FixedAt), DismissedAt: ts(a.DismissedAt), DismissedBy: userOrNil(a.DismissedBy),
		DismissedReason: str(a.DismissedReason), DismissedComment: str(a.DismissedComment),
		Rule: &gh.Rule{ID: gh.String(a.RuleID), Severity: gh.String(a.RuleSeverity), Description: gh.String(a.RuleDescription),
			Name: gh.String(a.RuleID), Tags: tags, SecuritySeverityLevel: str(a.SecuritySeverity)},
		Tool:               &gh.Tool{Name: gh.String(a.Tool), Version: gh.String("2.17.6")},
		MostRecentInstance: inst,
		Repository:         s.simpleRepository(a.Repo),
	}
}

func (s *Sim) secretScanningJSON(a *SecretScanningAlert) *gh.SecretScanningAlert {
	full := s.Org.Login + "/" + a.Repo
	out := &gh.SecretScanningAlert{
		Number: gh.Int(a.Number), CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt),
		URL:          gh.String(fmt.Sprintf("https://github.example/api/v3/repos/%s/secret-scanning/alerts/%d", full, a.Number)),
		HTMLURL:      gh.String(fmt.Sprintf("https://github.example/%s/security/secret-scanning/%d", full, a.Number)),
		LocationsURL: gh.String(fmt.Sprintf("https://github.example/api/v3/repos/%s/secret-scanning/alerts/%d/locations", full, a.Number)),
		State:        gh.String(a.State), Resolution: str(a.Resolution), ResolvedAt: ts(a.ResolvedAt), ResolvedBy: userOrNil(a.ResolvedBy),
		ResolutionComment: str(a.ResolutionComment),
		SecretType:        gh.String(a.SecretType), SecretTypeDisplayName: gh.String(a.SecretTypeName),
		// GitHub returns the secret itself in every alert; a collector
		// must never keep it.
		Secret:                 gh.String(a.Secret),
		Repository:             s.simpleRepository(a.Repo),
		PushProtectionBypassed: gh.Bool(a.PushProtectionBypassed),
	}
	return out
}

// alertQuery is what the alert listings filter and sort by.
type alertQuery struct {
	states    map[string]bool // empty: the endpoint's default
	sort      string          // created or updated
	ascending bool
}

func parseAlertQuery(q url.Values, defaultState string) alertQuery {
	aq := alertQuery{states: map[string]bool{}, sort: q.Get("sort"), ascending: q.Get("direction") == "asc"}
	state := q.Get("state")
	if state == "" {
		state = defaultState
	}
	for _, st := range strings.Split(state, ",") {
		if st = strings.TrimSpace(st); st != "" {
			aq.states[st] = true
		}
	}
	return aq
}

func (aq alertQuery) want(state string) bool { return len(aq.states) == 0 || aq.states[state] }

// order sorts by the requested field, newest first unless asked otherwise;
// ties break by repository and number so pages are stable.
func order[T any](items []T, aq alertQuery, created, updated func(T) time.Time, key func(T) string) {
	at := created
	if aq.sort == "updated" {
		at = updated
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := at(items[i]), at(items[j])
		if !a.Equal(b) {
			if aq.ascending {
				return a.Before(b)
			}
			return a.After(b)
		}
		return key(items[i]) < key(items[j])
	})
}

func (s *Sim) orgDependabotAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("page") != "" {
		// GitHub deprecates page numbers here in favour of cursors; the
		// simulator refuses them, so a collector paging by number
		// cannot pass its tests.
		writeJSON(w, http.StatusBadRequest, apiError("Pagination using the `page` parameter is not supported."))
		return
	}
	aq := parseAlertQuery(q, "")
	var items []*DependabotAlert
	for _, a := range s.Org.Dependabot {
		if aq.want(a.State) {
			items = append(items, a)
		}
	}
	order(items, aq, func(a *DependabotAlert) time.Time { return a.CreatedAt }, func(a *DependabotAlert) time.Time { return a.UpdatedAt },
		func(a *DependabotAlert) string { return fmt.Sprintf("%s#%09d", a.Repo, a.Number) })
	out := make([]*gh.DependabotAlert, 0, len(items))
	for _, a := range items {
		out = append(out, s.dependabotJSON(a))
	}
	writeCursorPage(s, w, r, "dependabot/alerts", out)
}

func (s *Sim) orgCodeScanningAlerts(w http.ResponseWriter, r *http.Request) {
	aq := parseAlertQuery(r.URL.Query(), "open")
	if aq.states["closed"] {
		aq.states["fixed"], aq.states["dismissed"] = true, true
	}
	var items []*CodeScanningAlert
	for _, a := range s.Org.CodeScanning {
		if aq.want(a.State) {
			items = append(items, a)
		}
	}
	order(items, aq, func(a *CodeScanningAlert) time.Time { return a.CreatedAt }, func(a *CodeScanningAlert) time.Time { return a.UpdatedAt },
		func(a *CodeScanningAlert) string { return fmt.Sprintf("%s#%09d", a.Repo, a.Number) })
	out := make([]*gh.Alert, 0, len(items))
	for _, a := range items {
		out = append(out, s.codeScanningJSON(a))
	}
	// The organization's code-scanning listing pages by number.
	writePage(s, w, r, out)
}

func (s *Sim) orgSecretScanningAlerts(w http.ResponseWriter, r *http.Request) {
	aq := parseAlertQuery(r.URL.Query(), "")
	var items []*SecretScanningAlert
	for _, a := range s.Org.SecretScanning {
		if aq.want(a.State) {
			items = append(items, a)
		}
	}
	order(items, aq, func(a *SecretScanningAlert) time.Time { return a.CreatedAt }, func(a *SecretScanningAlert) time.Time { return a.UpdatedAt },
		func(a *SecretScanningAlert) string { return fmt.Sprintf("%s#%09d", a.Repo, a.Number) })
	out := make([]*gh.SecretScanningAlert, 0, len(items))
	for _, a := range items {
		out = append(out, s.secretScanningJSON(a))
	}
	writeCursorPage(s, w, r, "secret-scanning/alerts", out)
}

// cursor is an opaque position in a listing, as GitHub's base64 cursors are.
func cursor(i int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(i)))
}

func uncursor(c string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, ok := strings.CutPrefix(string(b), "cursor:v2:")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil && i >= 0
}

// writeCursorPage answers one page of a cursor-paginated listing: after
// and before are cursors from the Link header, which names the
// organization by id as GitHub's does (/organizations/{id}/...).
func writeCursorPage[T any](s *Sim, w http.ResponseWriter, r *http.Request, resource string, items []T) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if per > 100 {
		writeJSON(w, http.StatusUnprocessableEntity, apiError("per_page must be at most 100"))
		return
	}
	per = min(per, s.RESTPageSize)
	from, to := 0, min(len(items), per)
	switch {
	case q.Get("after") != "":
		i, ok := uncursor(q.Get("after"))
		if !ok {
			writeJSON(w, http.StatusBadRequest, apiError("Invalid cursor"))
			return
		}
		from = min(len(items), i+1)
		to = min(len(items), from+per)
	case q.Get("before") != "":
		i, ok := uncursor(q.Get("before"))
		if !ok {
			writeJSON(w, http.StatusBadRequest, apiError("Invalid cursor"))
			return
		}
		to = min(len(items), i)
		from = max(0, to-per)
	}
	link := func(param, value, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: fmt.Sprintf("/api/v3/organizations/%d/%s", id(s.Org.Login), resource)}
		v := r.URL.Query()
		v.Del("after")
		v.Del("before")
		v.Set(param, value)
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if from > 0 {
		links = append(links, link("before", cursor(from), "prev"))
	}
	if to < len(items) {
		links = append(links, link("after", cursor(to-1), "next"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, items[from:to])
}

// securityAndAnalysis is the repository's security_and_analysis block.
func securityAndAnalysis(r *Repo) *gh.SecurityAndAnalysis {
	if r.HideSecurityAndAnalysis {
		return nil
	}
	status := func(on bool) *string {
		if on {
			return gh.String("enabled")
		}
		return gh.String("disabled")
	}
	return &gh.SecurityAndAnalysis{
		AdvancedSecurity:             &gh.AdvancedSecurity{Status: status(r.Private)},
		SecretScanning:               &gh.SecretScanning{Status: status(!r.SecretScanningDisabled)},
		SecretScanningPushProtection: &gh.SecretScanningPushProtection{Status: status(!r.SecretScanningDisabled)},
		DependabotSecurityUpdates:    &gh.DependabotSecurityUpdates{Status: status(!r.DependabotAlertsDisabled)},
	}
}
