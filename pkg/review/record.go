package review

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/localfile"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// MaxDecisionsFile bounds a decisions CSV.
const MaxDecisionsFile = 64 << 20

// Decided is one reviewed row and its decision.
type Decided struct {
	Row
	Decision string
	Notes    string
}

// Review is the decisions on one system's access list, checked against it.
type Review struct {
	Reviewed *audit.Member
	Rows     []Decided
}

type csvRow struct {
	where                                 string
	id, system, snapshot, sha, ptype, who string
	grant, decision, notes                string
}

var rowIDPattern = regexp.MustCompile(`^r-[0-9a-f]{16}$`)

// ReadDecisions reads the filled CSVs and checks every row against the
// access list it was prepared from, read verified from the store. Every
// problem of every file is returned at once, each naming file and line.
func ReadDecisions(ctx context.Context, st store.Store, files []string) ([]*Review, error) {
	if len(files) == 0 {
		return nil, errors.New("no decisions file given")
	}
	var errs []error
	bad := func(where, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	bySnapshot := map[string][]csvRow{}
	var order []string
	for _, f := range files {
		rows, err := readCSV(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range rows {
			if !rowIDPattern.MatchString(r.id) {
				bad(r.where, "unknown row id %q (want the row_id prepare wrote)", r.id)
				continue
			}
			if _, _, ok := store.ParseSnapshotKey(r.snapshot); !ok {
				bad(r.where, "snapshot %q is not a snapshot key", r.snapshot)
				continue
			}
			if _, ok := bySnapshot[r.snapshot]; !ok {
				order = append(order, r.snapshot)
			}
			bySnapshot[r.snapshot] = append(bySnapshot[r.snapshot], r)
		}
	}
	// Rows that could be read are checked against their snapshot too:
	// the reviewer gets every problem in one pass.
	keys, err := audit.PublishedKeys(ctx, st)
	if err != nil {
		return nil, err
	}
	systems := map[string]string{}
	var out []*Review
	for _, key := range order {
		rows := bySnapshot[key]
		m, err := audit.ReadVerified(ctx, st, keys, key)
		if err != nil {
			bad(rows[0].where, "the reviewed access list: %v", err)
			continue
		}
		if _, ok := Sources[m.Snapshot.Collector.Type]; !ok {
			bad(rows[0].where, "%s is a %s snapshot, not an access list", audit.Escape(key), audit.Escape(m.Snapshot.Collector.Type))
			continue
		}
		if other, dup := systems[m.Snapshot.Series]; dup {
			bad(rows[0].where, "system %s is decided on two access lists, %s and %s; review one", audit.Escape(m.Snapshot.Series), audit.Escape(other), audit.Escape(key))
			continue
		}
		systems[m.Snapshot.Series] = key
		want := map[string]Row{}
		for _, r := range Rows(m.Snapshot) {
			want[r.ID] = r
		}
		seen := map[string]string{}
		rev := &Review{Reviewed: m}
		for _, r := range rows {
			w, ok := want[r.id]
			switch {
			case r.sha != m.SHA256:
				bad(r.where, "sha256 %q is not the digest of %s (%s)", r.sha, audit.Escape(key), m.SHA256)
				continue
			case r.system != m.Snapshot.Series:
				bad(r.where, "system %q is not the series of %s (%s)", r.system, audit.Escape(key), audit.Escape(m.Snapshot.Series))
				continue
			case !ok:
				bad(r.where, "row %s is not in the reviewed snapshot %s", r.id, audit.Escape(key))
				continue
			case w.Principal != r.who || w.Grant != r.grant || w.PrincipalType != r.ptype:
				bad(r.where, "row %s says %s %q has %q, but the reviewed snapshot says %s %q has %q", r.id, r.ptype, r.who, r.grant, w.PrincipalType, w.Principal, w.Grant)
				continue
			}
			if prev, dup := seen[r.id]; dup {
				bad(r.where, "row %s is decided twice (also %s)", r.id, prev)
				continue
			}
			seen[r.id] = r.where
			d := strings.ToLower(strings.TrimSpace(r.decision))
			switch d {
			case Keep, Revoke:
			case "":
				bad(r.where, "row %s (%s %s): missing decision; want keep or revoke", r.id, audit.EscapeText(w.Principal), audit.EscapeText(w.Grant))
				continue
			default:
				bad(r.where, "row %s: decision %q; want keep or revoke", r.id, r.decision)
				continue
			}
			rev.Rows = append(rev.Rows, Decided{Row: w, Decision: d, Notes: r.notes})
		}
		for _, w := range Rows(m.Snapshot) {
			if _, ok := seen[w.ID]; !ok {
				bad(rows[0].where, "row %s (%s %s %s) of %s has no decision: every grant of the reviewed access list must be decided", w.ID, audit.EscapeText(w.PrincipalType), audit.EscapeText(w.Principal), audit.EscapeText(w.Grant), audit.Escape(key))
			}
		}
		out = append(out, rev)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func readCSV(path string) ([]csvRow, error) {
	b, err := localfile.Read(path, MaxDecisionsFile)
	if err != nil {
		return nil, fmt.Errorf("decisions %s: %w", path, err)
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("decisions %s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	var missing []string
	for _, h := range CSVHeader {
		if _, ok := col[h]; !ok {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("decisions %s: line 1: missing column(s) %s (want the CSV review prepare wrote)", path, strings.Join(missing, ", "))
	}
	var out []csvRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("decisions %s: %w", path, err)
		}
		get := func(h string) string {
			if i := col[h]; i < len(rec) {
				return rec[i]
			}
			return ""
		}
		if strings.Join(rec, "") == "" {
			continue
		}
		out = append(out, csvRow{
			where: fmt.Sprintf("%s:%d", path, line),
			id:    strings.TrimSpace(get("row_id")), system: get("system"), snapshot: strings.TrimSpace(get("snapshot")), sha: strings.TrimSpace(get("sha256")),
			ptype: get("principal_type"), who: get("principal"), grant: get("grant"), decision: get("decision"), notes: get("notes"),
		})
	}
	return out, nil
}

// Decision record types.
const (
	DecisionRecord = "review.decision"
)

// Job is what the agent needs to write one system's review through its
// normal write path: the collector gives the snapshot's content.
type Job struct {
	ID, Provider string
	Scope        evidence.Scope
	Collector    collector.Collector
}

// Recorder is the collector of one system's review: it observes nothing
// itself, it hands the checked decisions to the agent.
type Recorder struct {
	Review   *Review
	Reviewer string
}

// NewJob is the review of one system, to be run once by the agent.
func NewJob(r *Review, reviewer string) Job {
	s := r.Reviewed.Snapshot
	return Job{ID: JobID(s), Provider: s.Scope.Provider, Scope: s.Scope, Collector: &Recorder{Review: r, Reviewer: reviewer}}
}

// Scopes is the reviewed system's scope, so the series is review.<system>.
func (c *Recorder) Scopes(context.Context) ([]evidence.Scope, error) {
	return []evidence.Scope{c.Review.Reviewed.Snapshot.Scope}, nil
}

// Collect returns the decisions as records, the reviewed snapshot's
// reference, and the review.completed finding.
func (c *Recorder) Collect(_ context.Context, req collector.Request) (*collector.Result, error) {
	m := c.Review.Reviewed
	res := &collector.Result{}
	res.Records = append(res.Records, evidence.Record{Type: audit.ReviewedRecord, ID: m.Key, Attributes: map[string]any{
		"series": m.Snapshot.Series, "seq": m.Snapshot.Seq, "sha256": m.SHA256, "started_at": m.Snapshot.StartedAt.UTC().Format(time.RFC3339),
	}})
	counts := map[string]int{}
	for _, d := range c.Review.Rows {
		counts[d.Decision]++
		res.Records = append(res.Records, evidence.Record{Type: DecisionRecord, ID: d.ID, Attributes: map[string]any{
			"principal_type": d.PrincipalType, "principal": d.Principal, "grant": d.Grant,
			"decision": d.Decision, "notes": d.Notes,
		}})
	}
	res.Findings = []evidence.Finding{{
		Check: CheckCompleted, Resource: m.Snapshot.Series, Status: evidence.Pass,
		Reason: fmt.Sprintf("access review of %s by %s on %s: %d grant(s) of the access list of %s decided, %d kept, %d revoked",
			m.Snapshot.Series, c.Reviewer, req.Now.UTC().Format(time.DateOnly), len(c.Review.Rows), m.Snapshot.StartedAt.UTC().Format(time.DateOnly), counts[Keep], counts[Revoke]),
		Observed: map[string]any{
			"reviewer": c.Reviewer, "reviewed_at": req.Now.UTC().Format(time.RFC3339), "reviewed_snapshot": m.Key, "reviewed_sha256": m.SHA256,
			"grants": len(c.Review.Rows), "kept": counts[Keep], "revoked": counts[Revoke],
		},
	}}
	return res, nil
}
