package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/review"
	"github.com/okta/okta-sdk-golang/v2/okta"
)

// reviewEstate is the Okta simulator and the real okta.access collector
// reading it, run by an in-process agent whose clock the test sets, over
// a file store signed with a file key, as the agent writes them.
type reviewEstate struct {
	sim    *oktasim.Sim
	url    string
	env    *agenttest.Env
	job    agent.Job
	series string
}

func newReviewEstate(t *testing.T, start time.Time) *reviewEstate {
	t.Helper()
	sim := oktasim.New(start)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cat, err := controls.Default()
	require.NoError(t, err)
	env := agenttest.NewEnvWith(t, start, func(o *agent.Options) { o.Refs = cat.Refs })
	f, ok := all.Registry().Lookup("okta.access")
	require.True(t, ok)
	src := sim.Source(srv.URL)
	coll, err := f.New(collector.Settings{ID: "okta.access", Sources: collector.Sources{Okta: src}, HTTPClient: collector.NewHTTPClient(nil), Logger: zap.NewNop()})
	require.NoError(t, err)
	// No schedule: the access list promises no runs, so verify's
	// completeness judges only the review series here.
	job := agent.Job{ID: "okta.access", Type: f.Type, Version: f.Version, Provider: f.Provider, Collector: coll, Checks: f.Checks}
	scopes, err := coll.Scopes(context.Background())
	require.NoError(t, err)
	return &reviewEstate{sim: sim, url: src.OrgURL, env: env, job: job, series: evidence.SeriesName("okta.access", scopes[0].Account)}
}

// collectAt runs the okta.access collector at t.
func (e *reviewEstate) collectAt(t *testing.T, at time.Time) *evidence.Snapshot {
	t.Helper()
	e.env.Clock.Advance(at.Sub(e.env.Clock.Now()))
	w, err := e.env.Agent.Run(context.Background(), e.job)
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.Equal(t, evidence.StatusComplete, w[0].Status, w[0].Errors)
	return w[0].Snapshot
}

// without removes the users with these logins from the simulated org, as
// if they had never been there (or had been deleted).
func (e *reviewEstate) without(logins ...string) {
	e.sim.Org.Users = slices.DeleteFunc(e.sim.Org.Users, func(u *okta.User) bool {
		return slices.Contains(logins, fmt.Sprint((*u.Profile)["login"]))
	})
}

// config is the agent's configuration on the estate's store and key.
func (e *reviewEstate) config(t *testing.T, dir, extra string) string {
	t.Helper()
	path := filepath.Join(dir, "exhibit.yaml")
	writeFile(t, path, fmt.Sprintf(`store: file://%s
signing_key: file://%s
spool_dir: %s
sources:
  okta:
    org_url: %s
    token: ${EXHIBIT_OKTA_TOKEN}
collectors:
  - type: okta.access
    schedule: "@daily"
%s`, e.env.Store.Root(), filepath.Join(e.env.Dir, "key.pem"), filepath.Join(dir, "spool"), e.url, extra))
	return path
}

var reviewEnv = []string{"EXHIBIT_OKTA_TOKEN=" + oktasim.Token}

// fillCSV writes a copy of the prepared CSV with decide's decision and
// notes on each row.
func fillCSV(t *testing.T, in, out string, decide func(principal, grant string) (string, string)) {
	t.Helper()
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		r[col["decision"]], r[col["notes"]] = decide(r[col["principal"]], r[col["grant"]])
	}
	o, err := os.Create(out)
	require.NoError(t, err)
	w := csv.NewWriter(o)
	require.NoError(t, w.WriteAll(rows))
	require.NoError(t, o.Close())
}

func readManifest(t *testing.T, dir string) review.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	var m review.Manifest
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func principals(ps []review.Principal) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

const (
	daveApp    = "app:GitHub Enterprise"
	daveLogin  = "dave@acme.example"
	heidiLogin = "heidi@acme.example"
	erinLogin  = "erin@acme.example"
)

// Acceptance 3: review prepare a quarter apart shows the joiners and
// leavers between them; review record writes a signed snapshot that verify
// checks (and catches a reviewed access list gone from the store) and
// sample draws; a revoke still present after the grace period is a fail.
func TestReviewPrepareRecordFollowUp(t *testing.T) {
	now := time.Now().UTC()
	t1, t2 := now.AddDate(0, 0, -100), now.AddDate(0, 0, -5)
	e := newReviewEstate(t, t1)
	dir := t.TempDir()
	cfg := e.config(t, dir, "reviews: quarterly\n")
	url := "file://" + e.env.Store.Root()

	// The first quarter: erin has not joined yet.
	e.without(erinLogin)
	first := e.collectAt(t, t1)
	r := exhibit(t, dir, nil, "review", "prepare", "--store", url, "--as-of", t1.Format(time.DateOnly), "-o", "q1")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, e.series+": 17 grant(s), 0 joiner(s), 0 mover(s), 0 leaver(s) since none")
	require.Contains(t, r.stderr, e.series, "progress names what is read")
	m1 := readManifest(t, filepath.Join(dir, "q1"))
	require.Len(t, m1.Systems, 1)
	require.Equal(t, first.Series, m1.Systems[0].Snapshot.Series)
	require.Equal(t, first.Seq, m1.Systems[0].Snapshot.Seq)
	require.Len(t, m1.Systems[0].Snapshot.SHA256, 64)
	page, err := os.ReadFile(filepath.Join(dir, "q1", m1.Systems[0].HTML))
	require.NoError(t, err)
	require.Contains(t, string(page), "dave@acme.example")
	prepared := filepath.Join(dir, "q1", m1.Systems[0].CSV)

	// Broken decisions: every problem at once, nothing recorded.
	broken := filepath.Join(dir, "broken.csv")
	fillCSV(t, prepared, broken, func(who, grant string) (string, string) {
		switch {
		case who == daveLogin && grant == daveApp:
			return "", ""
		case who == "bob@acme.example":
			return "maybe", ""
		}
		return "keep", ""
	})
	b, err := os.ReadFile(broken)
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	lines[1] = "r-zz" + lines[1][4:]                                       // an id prepare never wrote
	lines[2] = "r-0000000000000000" + lines[2][len("r-0000000000000000"):] // a row not in the snapshot
	writeFile(t, broken, strings.Join(lines, "\n"))
	r = exhibit(t, dir, reviewEnv, "review", "record", "-c", cfg, "--decisions", broken, "--reviewer", "Rita Reviewer")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	for _, want := range []string{"unknown row id", "is not in the reviewed snapshot", "missing decision", `decision "maybe"; want keep or revoke`, "has no decision"} {
		require.Contains(t, r.stderr, want)
	}
	_, err = os.Stat(filepath.Join(e.env.Store.Root(), "evidence", "review.okta.access"))
	require.True(t, os.IsNotExist(err), "nothing is recorded from broken decisions")

	// The review: dave's GitHub app and heidi's account are revoked.
	filled := filepath.Join(dir, "decided.csv")
	fillCSV(t, prepared, filled, func(who, grant string) (string, string) {
		if (who == daveLogin && grant == daveApp) || (who == heidiLogin && grant == "account") {
			return "revoke", "no longer needed"
		}
		return "keep", ""
	})
	r = exhibit(t, dir, reviewEnv, "review", "record", "-c", cfg, "--decisions", filled, "--reviewer", "Rita Reviewer")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	reviewSeries := "review." + e.series
	require.Contains(t, r.stdout, reviewSeries)
	revs := seriesSnapshots(t, e.env.Store, reviewSeries)
	require.Len(t, revs, 1)
	rev := revs[0]
	require.Equal(t, "0 0 1 1,4,7,10 *", rev.Schedule, "the review carries its schedule for completeness")
	require.Len(t, rev.Findings, 1)
	require.Equal(t, review.CheckCompleted, rev.Findings[0].Check)
	require.Equal(t, evidence.Pass, rev.Findings[0].Status)
	require.Equal(t, "Rita Reviewer", rev.Findings[0].Observed["reviewer"])
	require.Contains(t, rev.Findings[0].Controls, "hipaa:164.308(a)(4)(ii)(C)")
	require.Equal(t, m1.Systems[0].Snapshot.Key, rev.Records[0].ID, "the review names the access list it reviewed")
	require.Equal(t, m1.Systems[0].Snapshot.SHA256, rev.Records[0].Attributes["sha256"])

	// collect runs the follow-up with the collectors; within the grace
	// period it judges nothing yet.
	r = exhibit(t, dir, reviewEnv, "collect", "-c", cfg, "--only", review.FollowUpType)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	fu := seriesSnapshots(t, e.env.Store, evidence.SeriesName(review.FollowUpType, reviewSeries))
	require.Len(t, fu, 1)
	require.Len(t, fu[0].Findings, 2)
	for _, f := range fu[0].Findings {
		require.Equal(t, evidence.NotApplicable, f.Status, f.Reason)
	}

	// The next quarter: erin joined, heidi left.
	e.sim.Org = oktasim.New(t2).Org
	e.without(heidiLogin)
	e.collectAt(t, t2)
	r = exhibit(t, dir, nil, "verify", "--store", url)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	r = exhibit(t, dir, nil, "sample", "--store", url, "--control", "CC6.3", "--from", t1.AddDate(0, 0, -1).Format(time.DateOnly), "--to", now.AddDate(0, 0, 1).Format(time.DateOnly), "--seed", "s", "--size", "3", "-o", "s.zip")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	files := readZip(t, filepath.Join(dir, "s.zip"))
	require.Contains(t, string(files["population.csv"]), "evidence/"+reviewSeries+"/", "the review is in the population sample draws from")

	r = exhibit(t, dir, nil, "review", "prepare", "--store", url, "--as-of", now.Format(time.DateOnly), "-o", "q2")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "1 joiner(s), 0 mover(s), 1 leaver(s) since the previous review evidence/"+reviewSeries)
	m2 := readManifest(t, filepath.Join(dir, "q2"))
	require.Equal(t, []string{erinLogin}, principals(m2.Systems[0].Changes.Joiners))
	require.Equal(t, []string{heidiLogin}, principals(m2.Systems[0].Changes.Leavers))
	require.Equal(t, m1.Systems[0].Snapshot.Key, m2.Systems[0].Baseline.Key)
	q2csv, err := os.ReadFile(filepath.Join(dir, "q2", m2.Systems[0].CSV))
	require.NoError(t, err)
	require.Contains(t, string(q2csv), "erin@acme.example,app:Salesforce,,joiner")
	r = exhibit(t, dir, nil, "review", "prepare", "--store", url, "--as-of", now.Format(time.DateOnly), "-o", "q2")
	require.Equal(t, 1, r.code, "prepare never overwrites a package")
	require.Contains(t, r.stderr, "already exists")

	// The follow-up, at collect time: before the grace period ends it
	// judges nothing; after it, dave's app still there is a fail naming
	// him and the grant, heidi's account gone a pass.
	followUp := agent.Job{ID: review.FollowUpType, Type: review.FollowUpType, Version: "1", Provider: "review", Schedule: "@daily",
		Collector: &review.FollowUp{Store: e.env.Store, GraceDays: 14}, Checks: []string{review.CheckRevocationApplied}}
	judge := func(at time.Time) map[string]evidence.Finding {
		e.env.Clock.Advance(at.Sub(e.env.Clock.Now()))
		w, err := e.env.Agent.Run(context.Background(), followUp)
		require.NoError(t, err)
		require.Len(t, w, 1)
		out := map[string]evidence.Finding{}
		for _, f := range w[0].Snapshot.Findings {
			require.Equal(t, review.CheckRevocationApplied, f.Check)
			out[f.Observed["principal"].(string)] = f
		}
		require.Len(t, out, 2)
		return out
	}
	early := judge(now.AddDate(0, 0, 1))
	require.Equal(t, evidence.NotApplicable, early[daveLogin].Status, early[daveLogin].Reason)
	require.Contains(t, early[daveLogin].Reason, "grace period runs until")
	noList := judge(now.AddDate(0, 0, 15))
	require.Equal(t, evidence.Error, noList[daveLogin].Status, "no access list after the grace period: not known, never a pass")
	e.collectAt(t, now.AddDate(0, 0, 15).Add(time.Hour))
	late := judge(now.AddDate(0, 0, 16))
	require.Equal(t, evidence.Fail, late[daveLogin].Status, late[daveLogin].Reason)
	require.Contains(t, late[daveLogin].Reason, daveLogin+" still has "+daveApp)
	require.Contains(t, late[daveLogin].Resource, daveApp)
	require.Contains(t, late[daveLogin].Controls, "hipaa:164.308(a)(3)(ii)(C)")
	require.Equal(t, evidence.Pass, late[heidiLogin].Status, late[heidiLogin].Reason)

	// A review whose reviewed access list is gone from the store is a
	// verify problem.
	require.NoError(t, os.Remove(filepath.Join(e.env.Store.Root(), m1.Systems[0].Snapshot.Key)))
	r = exhibit(t, dir, nil, "verify", "--store", url)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout+r.stderr, "the access review references "+m1.Systems[0].Snapshot.Key+", which is not in the store")
}

// recordReviewAt prepares the review as of at's access list, keeps every
// grant, and records it through the agent's write path at recordAt, with
// the reviews schedule configured.
func (e *reviewEstate) recordReviewAt(t *testing.T, dir string, asOf, recordAt time.Time, cfg *config.Config) {
	t.Helper()
	ctx := context.Background()
	man, err := review.Prepare(ctx, e.env.Store, review.PrepareOptions{AsOf: asOf})
	require.NoError(t, err)
	out := filepath.Join(dir, asOf.Format(time.DateOnly))
	require.NoError(t, man.Write(out))
	filled := filepath.Join(out, "decided.csv")
	fillCSV(t, filepath.Join(out, man.Systems[0].CSV), filled, func(string, string) (string, string) { return "keep", "" })
	reviews, err := review.ReadDecisions(ctx, e.env.Store, []string{filled})
	require.NoError(t, err)
	e.env.Clock.Advance(recordAt.Sub(e.env.Clock.Now()))
	w, err := e.env.Agent.Run(ctx, reviewAgentJob(review.NewJob(reviews[0], "Rita Reviewer"), cfg))
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.Equal(t, evidence.StatusComplete, w[0].Status)
}

// Acceptance 3: with reviews: quarterly, a quarter without a review is a
// gap in verify's completeness and in the report; the quarters with one
// are not.
func TestReviewQuarterWithoutReviewIsAGap(t *testing.T) {
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, time.UTC) }
	e := newReviewEstate(t, day(1, 10))
	dir := t.TempDir()
	cfg := &config.Config{Reviews: &config.Reviews{Schedule: "quarterly"}}
	e.collectAt(t, day(1, 10))
	e.recordReviewAt(t, dir, day(1, 10), day(1, 16), cfg)
	// No review in the second quarter; the third has one.
	e.collectAt(t, day(7, 9))
	e.recordReviewAt(t, dir, day(7, 9), day(7, 10), cfg)

	url := "file://" + e.env.Store.Root()
	reviewSeries := "review." + e.series
	r := exhibit(t, dir, nil, "verify", "--store", url, "--from", "2026-01-01", "--to", "2026-10-01")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	out := r.stdout + r.stderr
	require.Contains(t, out, "evidence/"+reviewSeries+"/: gap: no snapshot for the run due 2026-04-01T00:00:00Z (schedule 0 0 1 1,4,7,10 *)")
	require.Equal(t, 1, strings.Count(out, "gap: "), "only the second quarter is missing: "+out)

	r = exhibit(t, dir, nil, "report", "--store", url, "--from", "2026-01-01", "--to", "2026-10-01", "-o", "report.html")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	require.Contains(t, string(page), `<td class="mono">2026-04-01T00:00:00Z</td><td>0 0 1 1,4,7,10 *</td>`)
}

func TestReviewBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"review"}, "want a subcommand: prepare, record"},
		{[]string{"review", "audit"}, `unknown subcommand "audit"`},
		{[]string{"review", "prepare", "--store", "file://" + dir, "-o", "x"}, "--as-of is required"},
		{[]string{"review", "prepare", "--store", "file://" + dir, "--as-of", "2026-01-01"}, "-o DIRECTORY is required"},
		{[]string{"review", "prepare", "--store", "file://" + dir, "--as-of", "2026-01-01", "--since", "2026-02-01", "-o", "x"}, "--since must be before --as-of"},
		{[]string{"review", "record", "-c", "none.yaml"}, "--decisions and --reviewer required"},
	} {
		r := exhibit(t, dir, nil, c.args...)
		require.Equal(t, 2, r.code, "%v: %s", c.args, r.stderr)
		require.Contains(t, r.stderr, c.want)
	}
	r := exhibit(t, dir, nil, "review", "prepare", "--store", "file://"+dir, "--as-of", "2026-01-01", "-o", "x")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "no access list")
}
