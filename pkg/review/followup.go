package review

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// FollowUpType is the collector type (and job id) of the follow-up.
const FollowUpType = "review.follow_up"

// DefaultGraceDays is how long a revoked access may take to disappear.
const DefaultGraceDays = 14

// FollowUp judges, at collect time, whether the access each system's latest
// review revoked is gone from the system's latest access list. It reads only
// the store, never a provider: what the collectors recorded is the proof.
// A run before the grace period ends judges nothing yet (not_applicable);
// after it, each revoked grant still in the latest access list is a fail,
// one gone a pass — every run, until the next review supersedes it.
type FollowUp struct {
	Store     store.Store
	GraceDays int
	// LookbackDays bounds how far back the latest access list is looked
	// for; DefaultLookbackDays when zero.
	LookbackDays int
}

// Scopes are the systems whose latest review revoked something: one per
// review series, its account the review series' name.
func (f *FollowUp) Scopes(ctx context.Context) ([]evidence.Scope, error) {
	heads := map[string]int64{}
	err := f.Store.List(ctx, store.EvidencePrefix+"review.", "", func(key string) error {
		s, seq, ok := store.ParseSnapshotKey(key)
		if ok && !strings.HasPrefix(s, FollowUpType+"/") && seq > heads[s] {
			heads[s] = seq
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	keys, err := audit.PublishedKeys(ctx, f.Store)
	if err != nil {
		return nil, err
	}
	var out []evidence.Scope
	for _, series := range sortedKeys(heads) {
		m, err := audit.ReadVerified(ctx, f.Store, keys, store.SnapshotKey(series, heads[series]))
		if err != nil {
			return nil, fmt.Errorf("latest review of %s: %w", audit.Escape(series), err)
		}
		if m.Snapshot.Collector.Type != audit.ReviewType || len(revoked(m.Snapshot)) == 0 {
			continue
		}
		out = append(out, evidence.Scope{Provider: "review", Account: series})
	}
	return out, nil
}

func revoked(s *evidence.Snapshot) []evidence.Record {
	var out []evidence.Record
	for _, r := range s.Records {
		if r.Type == DecisionRecord && str(r.Attributes, "decision") == Revoke {
			out = append(out, r)
		}
	}
	return out
}

// Collect judges the revocations of one review series' latest review.
func (f *FollowUp) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	grace := f.GraceDays
	if grace == 0 {
		grace = DefaultGraceDays
	}
	lookback := f.LookbackDays
	if lookback == 0 {
		lookback = DefaultLookbackDays
	}
	keys, err := audit.PublishedKeys(ctx, f.Store)
	if err != nil {
		return nil, err
	}
	rev, err := audit.SeriesLatestAt(ctx, f.Store, keys, req.Scope.Account, req.Now)
	if err != nil {
		return nil, err
	}
	if rev == nil {
		return nil, fmt.Errorf("no review in %s", audit.Escape(req.Scope.Account))
	}
	ref, ok := reviewedRef(rev.Snapshot)
	if !ok {
		return nil, fmt.Errorf("%s names no reviewed access list", audit.Escape(rev.Key))
	}
	system, _, _ := store.ParseSnapshotKey(ref.Key)
	deadline := rev.Snapshot.StartedAt.UTC().AddDate(0, 0, grace)
	res := &collector.Result{Records: []evidence.Record{
		{Type: audit.ReviewedRecord, ID: rev.Key, Attributes: map[string]any{"series": rev.Snapshot.Series, "seq": rev.Snapshot.Seq, "sha256": rev.SHA256, "role": "review"}},
	}}
	var current *audit.Member
	if !req.Now.Before(deadline) {
		lists, err := audit.LatestAt(ctx, f.Store, keys, req.Now, lookback, func(s string) bool { return s == system })
		if err != nil {
			return nil, err
		}
		if m := lists[system]; m != nil && !m.Snapshot.StartedAt.Before(deadline) {
			current = m
			res.Records = append(res.Records, evidence.Record{Type: audit.ReviewedRecord, ID: m.Key, Attributes: map[string]any{
				"series": m.Snapshot.Series, "seq": m.Snapshot.Seq, "sha256": m.SHA256, "role": "access list after the grace period"}})
		}
	}
	var present map[string]bool
	if current != nil {
		present = map[string]bool{}
		for _, r := range Rows(current.Snapshot) {
			present[r.ID] = true
		}
	}
	for _, d := range revoked(rev.Snapshot) {
		who, grant := str(d.Attributes, "principal"), str(d.Attributes, "grant")
		resource := system + ": " + str(d.Attributes, "principal_type") + " " + who + " " + grant
		obs := map[string]any{"row_id": d.ID, "principal": who, "grant": grant, "review": rev.Key, "reviewed_at": rev.Snapshot.StartedAt.UTC().Format(time.RFC3339), "grace_ends": deadline.Format(time.RFC3339)}
		fd := evidence.Finding{Check: CheckRevocationApplied, Resource: resource, Observed: obs}
		switch {
		case req.Now.Before(deadline):
			fd.Status = evidence.NotApplicable
			fd.Reason = fmt.Sprintf("%s's %s was revoked by the review of %s; the grace period runs until %s", who, grant, rev.Snapshot.StartedAt.UTC().Format(time.DateOnly), deadline.Format(time.DateOnly))
		case current == nil:
			fd.Status = evidence.Error
			fd.Reason = fmt.Sprintf("no access list of %s collected since the grace period ended %s (looked back %d days): whether %s's %s was removed is not known", system, deadline.Format(time.DateOnly), lookback, who, grant)
		case present[d.ID]:
			obs["access_list"] = current.Key
			fd.Status = evidence.Fail
			fd.Reason = fmt.Sprintf("%s still has %s in %s (access list of %s), %d days after the review of %s revoked it", who, grant, system,
				current.Snapshot.StartedAt.UTC().Format(time.DateOnly), int(current.Snapshot.StartedAt.Sub(rev.Snapshot.StartedAt).Hours()/24), rev.Snapshot.StartedAt.UTC().Format(time.DateOnly))
		default:
			obs["access_list"] = current.Key
			fd.Status = evidence.Pass
			fd.Reason = fmt.Sprintf("%s's %s, revoked by the review of %s, is gone from the access list of %s", who, grant, rev.Snapshot.StartedAt.UTC().Format(time.DateOnly), current.Snapshot.StartedAt.UTC().Format(time.DateOnly))
		}
		res.Findings = append(res.Findings, fd)
	}
	return res, nil
}
