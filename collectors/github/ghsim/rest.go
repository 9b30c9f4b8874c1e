package ghsim

import (
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"time"

	gh "github.com/google/go-github/v60/github"
)

func (s *Sim) rest(w http.ResponseWriter, r *http.Request, p []string) {
	notFound := func() { writeJSON(w, http.StatusNotFound, apiError("Not Found")) }
	if len(p) >= 2 && p[0] == "organizations" && p[1] == strconv.FormatInt(id(s.Org.Login), 10) {
		// Link headers name the organization by id.
		p = append([]string{"orgs", s.Org.Login}, p[2:]...)
	}
	switch {
	case len(p) >= 2 && p[0] == "orgs":
		if p[1] != s.Org.Login {
			notFound()
			return
		}
		switch {
		case len(p) == 2:
			writeJSON(w, http.StatusOK, s.organization())
		case len(p) == 3 && p[2] == "repos":
			repos := make([]*gh.Repository, 0, len(s.Org.Repos))
			for _, repo := range s.Org.Repos {
				repos = append(repos, s.repository(repo))
			}
			writePage(s, w, r, repos)
		case len(p) == 3 && p[2] == "members":
			writePage(s, w, r, s.members(r.URL.Query().Get("role"), r.URL.Query().Get("filter")))
		case len(p) == 3 && p[2] == "outside_collaborators":
			users := make([]*gh.User, 0, len(s.Org.Outside))
			for _, l := range s.Org.Outside {
				users = append(users, user(User{Login: l, Type: "User"}))
			}
			writePage(s, w, r, users)
		case len(p) == 4 && p[2] == "dependabot" && p[3] == "alerts":
			s.orgDependabotAlerts(w, r)
		case len(p) == 4 && p[2] == "code-scanning" && p[3] == "alerts":
			s.orgCodeScanningAlerts(w, r)
		case len(p) == 4 && p[2] == "secret-scanning" && p[3] == "alerts":
			s.orgSecretScanningAlerts(w, r)
		default:
			notFound()
		}
	case len(p) >= 4 && p[0] == "repos":
		repo := s.Org.Repo(p[2])
		if p[1] != s.Org.Login || repo == nil {
			notFound()
			return
		}
		s.repoREST(w, r, repo, p[3:])
	default:
		notFound()
	}
}

func (s *Sim) repoREST(w http.ResponseWriter, r *http.Request, repo *Repo, p []string) {
	notFound := func() { writeJSON(w, http.StatusNotFound, apiError("Not Found")) }
	switch {
	case len(p) == 1 && p[0] == "vulnerability-alerts":
		// 204 when Dependabot alerts are on, 404 when they are off.
		if repo.DependabotAlertsDisabled {
			notFound()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(p) == 1 && p[0] == "collaborators":
		var users []*gh.User
		if r.URL.Query().Get("permission") == "admin" {
			for _, l := range repo.Admins {
				u := user(User{Login: l, Type: "User"})
				u.Permissions = map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}
				u.RoleName = gh.String("admin")
				users = append(users, u)
			}
		}
		writePage(s, w, r, users)
	case len(p) == 3 && p[0] == "branches" && p[2] == "protection":
		prot, exists := repo.Protection, true
		if p[1] != repo.DefaultBranch {
			prot, exists = repo.Branches[p[1]]
		}
		switch {
		case repo.ProtectionStatus == http.StatusForbidden:
			writeJSON(w, http.StatusForbidden, apiError("Resource not accessible by integration"))
		case repo.ProtectionStatus != 0:
			writeJSON(w, repo.ProtectionStatus, apiError("Server Error"))
		case !exists:
			writeJSON(w, http.StatusNotFound, apiError("Branch not found"))
		case prot == nil:
			writeJSON(w, http.StatusNotFound, apiError("Branch not protected"))
		default:
			writeJSON(w, http.StatusOK, prot)
		}
	case len(p) == 1 && p[0] == "rulesets":
		list := make([]*gh.Ruleset, 0, len(repo.Rulesets))
		for _, rs := range repo.Rulesets {
			// The list carries summaries; rules, conditions and bypass
			// actors come with each ruleset.
			list = append(list, &gh.Ruleset{ID: rs.ID, Name: rs.Name, Target: rs.Target, SourceType: rs.SourceType, Source: rs.Source, Enforcement: rs.Enforcement, NodeID: rs.NodeID})
		}
		writePage(s, w, r, list)
	case len(p) == 2 && p[0] == "rulesets":
		for _, rs := range repo.Rulesets {
			if strconv.FormatInt(rs.GetID(), 10) == p[1] {
				writeJSON(w, http.StatusOK, rs)
				return
			}
		}
		notFound()
	case len(p) == 1 && p[0] == "commits":
		q := r.URL.Query()
		if sha := q.Get("sha"); sha != "" && sha != repo.DefaultBranch {
			writePage(s, w, r, []*gh.RepositoryCommit{})
			return
		}
		since, _ := time.Parse(time.RFC3339, q.Get("since"))
		until, err := time.Parse(time.RFC3339, q.Get("until"))
		if err != nil {
			until = s.Now
		}
		var out []*gh.RepositoryCommit
		for _, c := range sortedByDate(repo.Commits) {
			if c.Date.Before(since) || c.Date.After(until) {
				continue
			}
			who := &gh.CommitAuthor{Name: gh.String(c.Author), Email: gh.String(c.Author + "@users.noreply.github.example"), Date: &gh.Timestamp{Time: c.Date}}
			out = append(out, &gh.RepositoryCommit{
				SHA:       gh.String(c.OID),
				Commit:    &gh.Commit{SHA: gh.String(c.OID), Message: gh.String(c.Headline), Author: who, Committer: who},
				Author:    user(User{Login: c.Author, Type: "User"}),
				Committer: user(User{Login: c.Author, Type: "User"}),
			})
		}
		writePage(s, w, r, out)
	case len(p) == 3 && p[0] == "commits" && p[2] == "pulls":
		var prs []*gh.PullRequest
		for _, c := range repo.Commits {
			if c.OID == p[1] {
				for _, n := range c.PRs {
					prs = append(prs, s.pullRequest(repo, repo.PR(n), false))
				}
			}
		}
		writePage(s, w, r, prs)
	case len(p) == 1 && p[0] == "pulls":
		q := r.URL.Query()
		var prs []*gh.PullRequest
		for _, pr := range sortedByUpdate(repo.PRs) {
			if b := q.Get("base"); b != "" && pr.Base != b {
				continue
			}
			prs = append(prs, s.pullRequest(repo, pr, false))
		}
		writePage(s, w, r, prs)
	case len(p) >= 2 && p[0] == "pulls":
		n, _ := strconv.Atoi(p[1])
		pr := repo.PR(n)
		if pr == nil {
			notFound()
			return
		}
		switch {
		case len(p) == 2:
			writeJSON(w, http.StatusOK, s.pullRequest(repo, pr, true))
		case len(p) == 3 && p[2] == "reviews":
			reviews := make([]*gh.PullRequestReview, 0, len(pr.Reviews))
			for _, rv := range pr.Reviews {
				reviews = append(reviews, &gh.PullRequestReview{
					ID: gh.Int64(rv.ID), User: user(rv.Author), State: gh.String(rv.State),
					SubmittedAt: &gh.Timestamp{Time: rv.SubmittedAt}, CommitID: gh.String(rv.Commit),
					AuthorAssociation: gh.String("MEMBER"),
				})
			}
			writePage(s, w, r, reviews)
		default:
			notFound()
		}
	default:
		notFound()
	}
}

func sortedByDate(commits []Commit) []Commit {
	out := append([]Commit(nil), commits...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date.After(out[j].Date) })
	return out
}

func sortedByUpdate(prs []*PR) []*PR {
	out := append([]*PR(nil), prs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	return out
}

func (s *Sim) organization() *gh.Organization {
	o := &gh.Organization{Login: gh.String(s.Org.Login), ID: gh.Int64(id(s.Org.Login)), Type: gh.String("Organization"),
		DefaultRepoPermission: gh.String("read"), MembersCanCreateRepos: gh.Bool(false)}
	o.TwoFactorRequirementEnabled = s.Org.TwoFactorRequired
	return o
}

func (s *Sim) repository(r *Repo) *gh.Repository {
	vis := "internal"
	if r.Private {
		vis = "private"
	}
	return &gh.Repository{
		ID: gh.Int64(id(s.Org.Login + "/" + r.Name)), Name: gh.String(r.Name), FullName: gh.String(s.Org.Login + "/" + r.Name),
		Owner: &gh.User{Login: gh.String(s.Org.Login), Type: gh.String("Organization")}, Private: gh.Bool(r.Private),
		Archived: gh.Bool(r.Archived), DefaultBranch: gh.String(r.DefaultBranch), Visibility: gh.String(vis),
		SecurityAndAnalysis: securityAndAnalysis(r),
	}
}

func (s *Sim) members(role, filter string) []*gh.User {
	var out []*gh.User
	for _, m := range s.Org.Members {
		if role != "" && role != "all" && m.Role != role {
			continue
		}
		if filter == "2fa_disabled" && m.TwoFactorActive {
			continue
		}
		out = append(out, user(User{Login: m.Login, Type: "User"}))
	}
	return out
}

func (s *Sim) pullRequest(repo *Repo, pr *PR, full bool) *gh.PullRequest {
	out := &gh.PullRequest{
		ID: gh.Int64(id(repo.Name) + int64(pr.Number)), Number: gh.Int(pr.Number), State: gh.String("closed"),
		Title: gh.String(pr.Title), User: user(pr.Author),
		HTMLURL:   gh.String("https://github.example/" + s.Org.Login + "/" + repo.Name + "/pull/" + strconv.Itoa(pr.Number)),
		UpdatedAt: &gh.Timestamp{Time: pr.UpdatedAt}, ClosedAt: &gh.Timestamp{Time: pr.MergedAt},
		MergedAt: &gh.Timestamp{Time: pr.MergedAt}, MergeCommitSHA: gh.String(pr.MergeCommit),
		Head: &gh.PullRequestBranch{Ref: gh.String("feature-" + strconv.Itoa(pr.Number)), SHA: gh.String(pr.HeadOID)},
		Base: &gh.PullRequestBranch{Ref: gh.String(pr.Base)},
	}
	if full {
		out.Merged = gh.Bool(true)
		out.MergedBy = user(pr.MergedBy)
	}
	return out
}

func user(u User) *gh.User {
	return &gh.User{Login: gh.String(u.Login + botSuffix(u)), ID: gh.Int64(id(u.Login)), Type: gh.String(u.Type), SiteAdmin: gh.Bool(false)}
}

// botSuffix: REST names GitHub App bots "name[bot]"; GraphQL does not.
func botSuffix(u User) string {
	if u.Type == "Bot" {
		return "[bot]"
	}
	return ""
}

func id(s string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return int64(h.Sum32() % 90000000)
}
