package review

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// DefaultLookbackDays is how far before the review date prepare looks for
// a system's latest access list.
const DefaultLookbackDays = 31

// PrepareOptions say what to review.
type PrepareOptions struct {
	AsOf time.Time
	// Since is the baseline for a system with no earlier review recorded;
	// zero for none (every row is then simply listed).
	Since        time.Time
	LookbackDays int
	// Progress, when set, is told what is being read.
	Progress io.Writer
}

// SnapshotRef names a stored snapshot by key, series, seq and digest.
type SnapshotRef struct {
	Key       string    `json:"key"`
	Series    string    `json:"series"`
	Seq       int64     `json:"seq"`
	SHA256    string    `json:"sha256"`
	StartedAt time.Time `json:"started_at"`
}

func refOf(m *audit.Member) SnapshotRef {
	return SnapshotRef{Key: m.Key, Series: m.Snapshot.Series, Seq: m.Snapshot.Seq, SHA256: m.SHA256, StartedAt: m.Snapshot.StartedAt.UTC()}
}

// Package is the review of one system.
type Package struct {
	System   string      `json:"system"`
	Provider string      `json:"provider"`
	Account  string      `json:"account"`
	Snapshot SnapshotRef `json:"snapshot"`
	// Status is the access list's: a partial one lists only what its run
	// could read, and the page says so.
	Status   evidence.Status `json:"status"`
	Baseline *SnapshotRef    `json:"baseline,omitempty"`
	// Basis says where the baseline comes from: the previous review, the
	// --since date, or none.
	Basis   string  `json:"basis"`
	Rows    []Row   `json:"-"`
	Changes Changes `json:"changes"`
	CSV     string  `json:"csv"`
	HTML    string  `json:"html"`
	Grants  int     `json:"grants"`
}

// Manifest lists the packages of one prepare.
type Manifest struct {
	AsOf    time.Time  `json:"as_of"`
	Since   *time.Time `json:"since,omitempty"`
	Systems []*Package `json:"systems"`
}

// Prepare builds one package per system with an access list in the look-back.
func Prepare(ctx context.Context, st store.Store, o PrepareOptions) (*Manifest, error) {
	if o.LookbackDays == 0 {
		o.LookbackDays = DefaultLookbackDays
	}
	keys, err := audit.PublishedKeys(ctx, st)
	if err != nil {
		return nil, err
	}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	progress("finding the access lists as of %s (looking back %d days)", o.AsOf.UTC().Format(time.RFC3339), o.LookbackDays)
	lists, err := audit.LatestAt(ctx, st, keys, o.AsOf, o.LookbackDays, isAccessListSeries)
	if err != nil {
		return nil, err
	}
	man := &Manifest{AsOf: o.AsOf.UTC(), Systems: []*Package{}}
	if !o.Since.IsZero() {
		s := o.Since.UTC()
		man.Since = &s
	}
	var sinceLists map[string]*audit.Member
	var errs []error
	for _, series := range sortedKeys(lists) {
		m := lists[series]
		snap := m.Snapshot
		if _, ok := Sources[snap.Collector.Type]; !ok {
			continue // another collector's instance id, not an access list
		}
		if snap.Status == evidence.StatusFailed {
			errs = append(errs, fmt.Errorf("%s: the latest access list as of the date failed to collect; nothing to review", audit.Escape(m.Key)))
			continue
		}
		progress("%s: %s", audit.Escape(series), audit.Escape(m.Key))
		p := &Package{System: series, Provider: snap.Scope.Provider, Account: snap.Scope.Account, Snapshot: refOf(m), Status: snap.Status, Rows: Rows(snap), Basis: "none: no earlier review recorded and no --since"}
		base, basis, err := previousReview(ctx, st, keys, snap, o.AsOf)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if base == nil && !o.Since.IsZero() {
			if sinceLists == nil {
				if sinceLists, err = audit.LatestAt(ctx, st, keys, o.Since, o.LookbackDays, isAccessListSeries); err != nil {
					return nil, err
				}
			}
			if b := sinceLists[series]; b != nil {
				base, basis = b, "the access list as of --since "+o.Since.UTC().Format(time.DateOnly)
			} else {
				basis = "none: no access list within the look-back before --since"
			}
		}
		// Without a baseline there is nothing to compare with: the first
		// review lists the access, and no change is claimed.
		p.Changes = Changes{Joiners: []Principal{}, Movers: []Principal{}, Leavers: []Principal{}}
		if base != nil {
			r := refOf(base)
			p.Baseline, p.Basis = &r, basis
			p.Changes = Diff(Rows(base.Snapshot), p.Rows)
		} else if basis != "" {
			p.Basis = basis
		}
		p.Grants = len(p.Rows)
		name := strings.ReplaceAll(series, "/", "_")
		p.CSV, p.HTML = name+".csv", name+".html"
		man.Systems = append(man.Systems, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(man.Systems) == 0 {
		return nil, fmt.Errorf("no access list (%s) started within %d days before %s", strings.Join(sortedKeys(Sources), ", "), o.LookbackDays, o.AsOf.UTC().Format(time.RFC3339))
	}
	return man, nil
}

// isAccessListSeries keeps the series whose collector id starts with an
// access-list type (the default id is the type), so that prepare does not
// read the latest snapshot of every other collector; the snapshot's own
// collector type then decides.
func isAccessListSeries(series string) bool {
	id, _, _ := strings.Cut(series, "/")
	for t := range Sources {
		if strings.HasPrefix(id, t) {
			return true
		}
	}
	return false
}

// previousReview is the access list the latest review before asOf reviewed.
func previousReview(ctx context.Context, st store.Store, keys audit.Keys, snap *evidence.Snapshot, asOf time.Time) (*audit.Member, string, error) {
	rev, err := audit.SeriesLatestAt(ctx, st, keys, ReviewSeries(snap), asOf)
	if err != nil || rev == nil {
		return nil, "", err
	}
	ref, ok := reviewedRef(rev.Snapshot)
	if !ok {
		return nil, "", fmt.Errorf("%s: the review names no reviewed access list", audit.Escape(rev.Key))
	}
	base, err := audit.ReadVerified(ctx, st, keys, ref.Key)
	if err != nil {
		return nil, "", fmt.Errorf("the previous review %s: %w", audit.Escape(rev.Key), err)
	}
	if base.SHA256 != ref.SHA256 {
		return nil, "", fmt.Errorf("the previous review %s reviewed %s with digest %s, which now hashes to %s (run exhibit verify)", audit.Escape(rev.Key), audit.Escape(ref.Key), audit.EscapeText(ref.SHA256), base.SHA256)
	}
	return base, "the previous review " + rev.Key + " (" + rev.Snapshot.StartedAt.UTC().Format(time.DateOnly) + ")", nil
}

// reviewedRef is the access list a review snapshot says it reviewed.
func reviewedRef(s *evidence.Snapshot) (SnapshotRef, bool) {
	for _, r := range s.Records {
		if r.Type == audit.ReviewedRecord {
			ref := SnapshotRef{Key: r.ID, SHA256: str(r.Attributes, "sha256"), Series: str(r.Attributes, "series")}
			ref.Seq, _ = r.Attributes["seq"].(int64)
			if f, ok := r.Attributes["seq"].(float64); ok {
				ref.Seq = int64(f)
			}
			return ref, true
		}
	}
	return SnapshotRef{}, false
}

// CSVHeader is the columns of a review CSV; record reads them back.
var CSVHeader = []string{"row_id", "system", "snapshot", "sha256", "principal_type", "principal", "grant", "detail", "change", "decision", "notes"}

// Write writes each package's CSV and HTML page and the manifest into dir,
// which must not hold them already: nothing is overwritten.
func (m *Manifest) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	files := map[string][]byte{}
	for _, p := range m.Systems {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.Write(CSVHeader)
		for _, r := range p.Rows {
			_ = w.Write([]string{r.ID, p.System, p.Snapshot.Key, p.Snapshot.SHA256, r.PrincipalType, r.Principal, r.Grant, r.Detail, r.Change, "", ""})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		files[p.CSV] = b.Bytes()
		var h bytes.Buffer
		if err := writePage(&h, p); err != nil {
			return fmt.Errorf("%s: %w", p.HTML, err)
		}
		files[p.HTML] = h.Bytes()
	}
	man, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	files["manifest.json"] = append(man, '\n')
	for _, name := range sortedKeys(files) {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%s already exists; prepare writes into an empty directory", filepath.Join(dir, name))
		}
	}
	for _, name := range sortedKeys(files) {
		if err := writeExclusive(filepath.Join(dir, name), files[name]); err != nil {
			return err
		}
	}
	return nil
}

func writeExclusive(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
