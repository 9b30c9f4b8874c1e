package ghsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type gqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

func (s *Sim) graphql(w http.ResponseWriter, r *http.Request) {
	if s.NoGraphQL {
		writeJSON(w, http.StatusNotFound, apiError("Not Found"))
		return
	}
	var req gqlRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError("Problems parsing JSON"))
		return
	}
	str := func(k string) string { v, _ := req.Variables[k].(string); return v }
	if strings.HasPrefix(strings.TrimSpace(req.Query), "query exhibitProbe(") {
		if s.graphqlFailure(w, req.Query) {
			return
		}
		s.count("graphql:probe")
		s.probe(w, req.Variables)
		return
	}
	if str("owner") != s.Org.Login || s.Org.Repo(str("name")) == nil {
		writeJSON(w, http.StatusOK, map[string]any{
			"data":   map[string]any{"repository": nil},
			"errors": []any{map[string]any{"type": "NOT_FOUND", "path": []string{"repository"}, "message": fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", str("owner"), str("name"))}},
		})
		return
	}
	repo := s.Org.Repo(str("name"))
	offset, err := decodeCursor(str("cursor"))
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{"message": "`" + str("cursor") + "` does not appear to be a valid cursor."}}})
		return
	}
	if s.graphqlFailure(w, req.Query) {
		return
	}
	per := s.GraphQLPageSize
	for _, field := range []string{"pullRequests", "history"} {
		if n, ok := firstArg(req.Query, field); ok {
			if n < 1 || n > 100 {
				// GitHub's answer to a page larger than it allows.
				writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{"type": "MAX_NODE_LIMIT_EXCEEDED",
					"message": fmt.Sprintf("Requesting %d records on the `%s` connection exceeds the `first` limit of 100 records.", n, field)}}})
				return
			}
			per = min(per, n)
		}
	}
	for _, field := range []string{"pullRequests", "history"} {
		if strings.Contains(req.Query, field+"(") {
			s.count("graphql:" + field)
		}
	}
	switch {
	case strings.Contains(req.Query, "pullRequests("):
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"repository": map[string]any{
			"pullRequests": s.pullRequestsConnection(repo, str("base"), offset, per),
		}}})
	case strings.Contains(req.Query, "history("):
		since, err1 := time.Parse(time.RFC3339, str("since"))
		until, err2 := time.Parse(time.RFC3339, str("until"))
		if err1 != nil || err2 != nil {
			writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{"message": "Argument 'since' or 'until' has an invalid value."}}})
			return
		}
		var ref any
		if str("ref") == "refs/heads/"+repo.DefaultBranch {
			ref = map[string]any{"target": map[string]any{"history": s.historyConnection(repo, since, until, offset, per)}}
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"repository": map[string]any{"ref": ref}}})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "this simulator answers pullRequests and history queries only"}}})
	}
}

// graphqlFailure answers a query reading a connection Fail was told to
// refuse, and says whether it did.
func (s *Sim) graphqlFailure(w http.ResponseWriter, query string) bool {
	for _, field := range []string{"pullRequests", "history"} {
		s.mu.Lock()
		status := s.fail["graphql:"+field]
		s.mu.Unlock()
		switch {
		case status == 0 || !strings.Contains(query, field+"("):
			continue
		case status == http.StatusForbidden:
			writeJSON(w, http.StatusOK, map[string]any{
				"data":   map[string]any{"repository": nil},
				"errors": []any{map[string]any{"type": "FORBIDDEN", "path": []string{"repository"}, "message": "Resource not accessible by integration"}},
			})
		default:
			writeJSON(w, http.StatusBadGateway, map[string]any{"message": "Server Error"})
		}
		return true
	}
	return false
}

// probe answers the collector's batched query over many repositories
// (query exhibitProbe): repository rN is named by the variables oN and nN,
// its branch J by bN_J, and it is answered under the query's aliases: pJ,
// the newest merged pull request into the branch by update; eJ, the
// branch's ref or null, with e0's commits within since..until (first 1).
func (s *Sim) probe(w http.ResponseWriter, vars map[string]any) {
	str := func(k string) (string, bool) { v, ok := vars[k].(string); return v, ok }
	since, err1 := time.Parse(time.RFC3339, fmt.Sprint(vars["since"]))
	until, err2 := time.Parse(time.RFC3339, fmt.Sprint(vars["until"]))
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{"message": "Argument 'since' or 'until' has an invalid value."}}})
		return
	}
	data := map[string]any{}
	var errs []any
	for i := 0; ; i++ {
		owner, ok := str(fmt.Sprintf("o%d", i))
		if !ok {
			break
		}
		name, _ := str(fmt.Sprintf("n%d", i))
		alias := fmt.Sprintf("r%d", i)
		repo := s.Org.Repo(name)
		if owner != s.Org.Login || repo == nil {
			data[alias] = nil
			errs = append(errs, map[string]any{"type": "NOT_FOUND", "path": []string{alias},
				"message": fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name)})
			continue
		}
		fields := map[string]any{}
		for j := 0; ; j++ {
			branch, ok := str(fmt.Sprintf("b%d_%d", i, j))
			if !ok {
				break
			}
			var top []any
			for _, pr := range sortedByUpdate(repo.PRs) {
				if pr.Base == branch {
					top = append(top, map[string]any{"updatedAt": gqlTime(pr.UpdatedAt)})
					break
				}
			}
			fields[fmt.Sprintf("p%d", j)] = map[string]any{"nodes": nonNilNodes(top)}
			_, exists := repo.Branches[branch]
			if !exists && branch != repo.DefaultBranch {
				fields[fmt.Sprintf("e%d", j)] = nil
				continue
			}
			ref := map[string]any{"name": branch}
			if j == 0 {
				h := s.historyConnection(repo, since, until, 0, 1)
				ref["target"] = map[string]any{"history": map[string]any{"nodes": h["nodes"]}}
			}
			fields[fmt.Sprintf("e%d", j)] = ref
		}
		data[alias] = fields
	}
	out := map[string]any{"data": data}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	writeJSON(w, http.StatusOK, out)
}

func nonNilNodes(n []any) []any {
	if n == nil {
		return []any{}
	}
	return n
}

func encodeCursor(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(string(b), "cursor:v2:")
	if !ok {
		return 0, fmt.Errorf("bad cursor")
	}
	return strconv.Atoi(n)
}

// firstArg reads the first: argument of a connection in a query, as the
// collectors write it ("field(... first: N ...").
func firstArg(query, field string) (int, bool) {
	_, rest, ok := strings.Cut(query, field+"(")
	if !ok {
		return 0, false
	}
	args, _, _ := strings.Cut(rest, ")")
	_, v, ok := strings.Cut(args, "first:")
	if !ok {
		return 0, false
	}
	v = strings.TrimSpace(v)
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		v = v[:end]
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// page cuts one page of per nodes from offset.
func (s *Sim) page(total, offset, per int) (from, to int, info map[string]any) {
	from = min(offset, total)
	to = min(total, from+per)
	info = map[string]any{"hasNextPage": to < total, "endCursor": nil}
	if to > from {
		info["endCursor"] = encodeCursor(to)
	}
	return from, to, info
}

func gqlActor(u User) any {
	if u.Login == "" {
		return nil
	}
	return map[string]any{"login": u.Login, "__typename": u.Type}
}

func gqlTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Sim) pullRequestsConnection(repo *Repo, base string, offset, per int) map[string]any {
	var prs []*PR
	for _, pr := range sortedByUpdate(repo.PRs) {
		if pr.Base == base {
			prs = append(prs, pr)
		}
	}
	from, to, info := s.page(len(prs), offset, per)
	nodes := make([]any, 0, to-from)
	for _, pr := range prs[from:to] {
		reviews := make([]any, 0, len(pr.Reviews))
		for _, rv := range pr.Reviews {
			reviews = append(reviews, map[string]any{
				"author": gqlActor(rv.Author), "state": rv.State, "submittedAt": gqlTime(rv.SubmittedAt),
				"commit": map[string]any{"oid": rv.Commit},
			})
		}
		nodes = append(nodes, map[string]any{
			"number": pr.Number, "title": pr.Title,
			"url":       "https://github.example/" + s.Org.Login + "/" + repo.Name + "/pull/" + strconv.Itoa(pr.Number),
			"updatedAt": gqlTime(pr.UpdatedAt), "mergedAt": gqlTime(pr.MergedAt),
			"baseRefName": pr.Base, "headRefOid": pr.HeadOID,
			"author": gqlActor(pr.Author), "mergedBy": gqlActor(pr.MergedBy),
			"mergeCommit": map[string]any{"oid": pr.MergeCommit},
			"commits": map[string]any{"nodes": []any{map[string]any{"commit": map[string]any{
				"oid": pr.HeadOID, "committedDate": gqlTime(pr.HeadCommittedAt)}}}},
			"reviews": map[string]any{"totalCount": len(reviews), "nodes": reviews},
		})
	}
	return map[string]any{"pageInfo": info, "nodes": nodes}
}

func (s *Sim) historyConnection(repo *Repo, since, until time.Time, offset, per int) map[string]any {
	var commits []Commit
	for _, c := range repo.Commits {
		if !c.Date.Before(since) && !c.Date.After(until) {
			commits = append(commits, c)
		}
	}
	sort.SliceStable(commits, func(i, j int) bool { return commits[i].Date.After(commits[j].Date) })
	from, to, info := s.page(len(commits), offset, per)
	nodes := make([]any, 0, to-from)
	for _, c := range commits[from:to] {
		prs := make([]any, 0, len(c.PRs))
		for _, n := range c.PRs {
			prs = append(prs, map[string]any{"number": n, "merged": true, "baseRefName": repo.PR(n).Base})
		}
		person := map[string]any{"name": c.Author, "user": map[string]any{"login": c.Author}}
		nodes = append(nodes, map[string]any{
			"oid": c.OID, "messageHeadline": c.Headline, "committedDate": gqlTime(c.Date),
			"author": person, "committer": person,
			"associatedPullRequests": map[string]any{"nodes": prs},
		})
	}
	return map[string]any{"pageInfo": info, "nodes": nodes}
}
