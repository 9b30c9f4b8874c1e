package audit

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Export formats.
const (
	FormatCSV   = "csv"
	FormatOCSF  = "ocsf"
	FormatOSCAL = "oscal"
)

// Formats lists the export formats.
var Formats = []string{FormatOSCAL, FormatOCSF, FormatCSV}

// ExportOptions shape an export. Exports are deterministic: the same
// snapshots give the same bytes, so an export can be diffed and re-made.
type ExportOptions struct {
	Period Period
	// Catalog names checks and criteria; Default() when nil.
	Catalog *controls.Catalog
	// Version is the exporting tool's version, recorded in OCSF metadata.
	Version string
	// TempDir is where the OSCAL export keeps its observations until the
	// document's heading is known; the system's temporary directory when
	// empty.
	TempDir string
}

func (o *ExportOptions) catalog() (*controls.Catalog, error) {
	if o.Catalog != nil {
		return o.Catalog, nil
	}
	return controls.Default()
}

// Export writes the period's snapshots in the given format. CSV and OCSF
// are written as the members are read; OSCAL, whose heading depends on the
// whole period, once they all are (see ExportOSCAL). When a member cannot
// be read the error names it and what was written is incomplete.
func Export(ctx context.Context, w io.Writer, format string, members Members, opts ExportOptions) error {
	switch format {
	case FormatCSV:
		return ExportCSV(ctx, w, members, opts)
	case FormatOCSF:
		return ExportOCSF(ctx, w, members, opts)
	case FormatOSCAL:
		return ExportOSCAL(ctx, w, members, opts)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// CSVHeader is the first row of a CSV export.
var CSVHeader = []string{"snapshot_key", "snapshot_sha256", "series", "collected_at", "check", "resource", "status", "controls", "reason",
	"accepted_id", "accepted_owner", "accepted_until", "accepted_reason", "accepted_approver", "accepted_approved", "acceptance_expired",
	"severity"}

// ExportCSV writes one RFC 4180 row per finding. Controls are separated by
// semicolons; collected_at is the snapshot's started_at. The accepted_
// columns hold the accepted risk a failing finding carried (its status
// stays fail); acceptance_expired names one that had lapsed at the run:
// "ID (owner OWNER, until DATE)". severity is the check's severity in the
// catalog (critical, high, medium, low or info) on every row, whatever its
// status, so a sheet filtered on fail can be sorted by it; it is empty for
// a check the catalog does not know. New columns are added at the end.
//
// Rows come in key order, written as each member is read; when one cannot
// be read, the rows before it are written whole before the error returns.
//
// A period without findings (or without snapshots) gives the header alone.
func ExportCSV(ctx context.Context, w io.Writer, members Members, opts ExportOptions) error {
	cat, err := opts.catalog()
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180 line breaks
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	err = members.Each(ctx, ByKey, func(m Member) error {
		s := m.Snapshot
		for _, f := range s.Findings {
			row := []string{m.Key, m.SHA256, s.Series, s.StartedAt.UTC().Format(time.RFC3339Nano),
				f.Check, f.Resource, string(f.Status), strings.Join(f.Controls, ";"), f.Reason,
				"", "", "", "", "", "", "", ""}
			if ch, ok := cat.Check(f.Check); ok {
				row[16] = ch.Severity
			}
			if a := f.Accepted; a != nil {
				copy(row[9:], []string{a.ID, a.Owner, a.Until, a.Reason, a.Approver, a.Approved})
			}
			if e := f.AcceptanceExpired; e != nil {
				row[15] = expiredText(e)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	cw.Flush() // whole rows only, when the period is cut short too
	if err != nil {
		return err
	}
	return cw.Error()
}

// acceptedText is how an accepted risk reads wherever people read it.
func acceptedText(a *evidence.Acceptance) string {
	return fmt.Sprintf("accepted by %s until %s: %s (accepted risk %s, approved by %s on %s)", a.Owner, a.Until, a.Reason, a.ID, a.Approver, a.Approved)
}

func expiredText(e *evidence.ExpiredAcceptance) string {
	return fmt.Sprintf("%s (owner %s, until %s)", e.ID, e.Owner, e.Until)
}

// OCSF identifiers of a Compliance Finding (class 2003 in category 2,
// Findings) with activity 1, Create, in schema version 1.8.0.
const (
	OCSFVersion     = "1.8.0"
	ocsfCategoryUID = 2
	ocsfClassUID    = 2003
	ocsfActivityID  = 1
	ocsfTypeUID     = ocsfClassUID*100 + ocsfActivityID
)

// ocsfEvent is one OCSF Compliance Finding.
type ocsfEvent struct {
	ActivityID   int               `json:"activity_id"`
	ActivityName string            `json:"activity_name"`
	CategoryUID  int               `json:"category_uid"`
	CategoryName string            `json:"category_name"`
	ClassUID     int               `json:"class_uid"`
	ClassName    string            `json:"class_name"`
	TypeUID      int               `json:"type_uid"`
	TypeName     string            `json:"type_name"`
	SeverityID   int               `json:"severity_id"`
	Severity     string            `json:"severity"`
	StatusID     int               `json:"status_id"`
	Status       string            `json:"status"`
	StatusDetail string            `json:"status_detail,omitempty"`
	Time         int64             `json:"time"`
	Message      string            `json:"message"`
	Metadata     ocsfMetadata      `json:"metadata"`
	Cloud        *ocsfCloud        `json:"cloud,omitempty"`
	FindingInfo  ocsfFindingInfo   `json:"finding_info"`
	Compliance   ocsfCompliance    `json:"compliance"`
	Resources    []ocsfResource    `json:"resources"`
	Unmapped     map[string]string `json:"unmapped"`
}

type ocsfMetadata struct {
	UID      string      `json:"uid"`
	Version  string      `json:"version"`
	Profiles []string    `json:"profiles,omitempty"`
	Product  ocsfProduct `json:"product"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

// ocsfCloud is the cloud profile's object: provider is what the profile
// requires; account and region say where the evidence comes from.
type ocsfCloud struct {
	Provider string       `json:"provider"`
	Account  *ocsfAccount `json:"account,omitempty"`
	Region   string       `json:"region,omitempty"`
}

type ocsfAccount struct {
	UID string `json:"uid"`
}

type ocsfFindingInfo struct {
	UID   string `json:"uid"`
	Title string `json:"title"`
	Desc  string `json:"desc"`
}

type ocsfCompliance struct {
	Standards    []string    `json:"standards"`
	Control      string      `json:"control,omitempty"`
	Desc         string      `json:"desc,omitempty"`
	Requirements []string    `json:"requirements"`
	Checks       []ocsfCheck `json:"checks"`
	Status       string      `json:"status"`
	StatusID     int         `json:"status_id"`
}

type ocsfCheck struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
}

type ocsfResource struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
	// Region belongs to OCSF's cloud profile: set only with the profile.
	Region string `json:"region,omitempty"`
}

// ocsfComplianceStatus maps a check result to the compliance object's
// status_id (1 Pass, 2 Warning: no result for lack of information, 3 Fail).
// A not_applicable finding has no compliance status in OCSF and is not
// exported.
func ocsfComplianceStatus(r evidence.Result) (statusID int, status string, ok bool) {
	switch r {
	case evidence.Pass:
		return 1, "Pass", true
	case evidence.Error:
		return 2, "Warning", true
	case evidence.Fail:
		return 3, "Fail", true
	}
	return 0, "", false
}

// ocsfSeverities are OCSF's severity_id values (and their captions, the
// severity attribute) for the catalog's severities.
var ocsfSeverities = map[string]struct {
	id      int
	caption string
}{
	controls.SeverityCritical: {5, "Critical"},
	controls.SeverityHigh:     {4, "High"},
	controls.SeverityMedium:   {3, "Medium"},
	controls.SeverityLow:      {2, "Low"},
	controls.SeverityInfo:     {1, "Informational"},
}

// ocsfSeverity is an event's severity_id and severity. OCSF's severity is
// the effort a finding asks for, so:
//
//   - fail → the check's severity in the catalog (critical 5 … info 1),
//     0 Unknown for a check the catalog does not know;
//   - pass → 1 Informational: nothing to do;
//   - error → 2 Low: the check could not be decided, which asks for the
//     collector's access or the API to be looked at, not for the control
//     to be fixed (the compliance status, Warning, says so).
func ocsfSeverity(r evidence.Result, check controls.Check, known bool) (int, string) {
	switch r {
	case evidence.Pass:
		return 1, "Informational"
	case evidence.Error:
		return 2, "Low"
	}
	if s, ok := ocsfSeverities[check.Severity]; ok && known {
		return s.id, s.caption
	}
	return 0, "Unknown"
}

// findingState is what the export has seen of one finding so far.
type findingState int

const (
	unseen   findingState = iota
	failing               // its last result was fail
	resolved              // it failed, and its last result was pass
	passing               // it passed, and has not failed in the period
)

// ocsfFindingStatus is the event's status_id and status: the finding's
// place in OCSF's finding workflow, following it through the period.
//
//   - fail, not failing before → 1 New (again after it was resolved: a
//     regression is a new occurrence of the same finding);
//   - fail, failing before → 2 In Progress, the caption OCSF gives an open
//     finding that is not new ("under review");
//   - pass after a failure → 4 Resolved, and it stays so while it passes;
//   - pass that never failed in the period → 99 Other, "Passing": there is
//     nothing to review, so none of New, In Progress or Resolved is true;
//   - error (not determined) → 0 Unknown, and the state is kept, so a
//     failure on either side of a failed run reads as still open.
//
// A failing finding that carries an accepted risk is 3 Suppressed instead
// (see ocsfAccepted), and stays open in the state: when the acceptance
// lapses, the next failure is In Progress.
//
// The period is what the export holds: a finding already failing on the
// day before its first exported snapshot is New in the export.
func ocsfFindingStatus(prev findingState, r evidence.Result) (int, string, findingState) {
	switch r {
	case evidence.Fail:
		if prev == failing {
			return 2, "In Progress", failing
		}
		return 1, "New", failing
	case evidence.Pass:
		if prev == failing || prev == resolved {
			return 4, "Resolved", resolved
		}
		return 99, "Passing", passing
	}
	return 0, "Unknown", prev
}

// ocsfProviders are the cloud.provider names of the providers exhibit
// collects from.
var ocsfProviders = map[string]string{"aws": "AWS", "github": "GitHub", "okta": "Okta"}

var standardNames = map[string]string{
	controls.FrameworkSOC2:   "AICPA SOC 2 Trust Services Criteria (2017)",
	controls.FrameworkHIPAA:  "HIPAA Security Rule (45 CFR 164.312)",
	controls.FrameworkCustom: "Customer-defined controls",
}

// ExportOCSF writes one OCSF 1.8.0 Compliance Finding per finding, one JSON
// object per line, in the order the snapshots were taken. The snapshot the
// finding comes from is named in unmapped, with its digest, so every event
// leads back to signed evidence.
//
// A scope with an account or a region is described with OCSF's cloud
// profile (declared in metadata.profiles): cloud.provider, cloud.account,
// and the region, in cloud and on the resource, when the scope has exactly
// one. finding_info.uid names the finding, the same in every snapshot (see
// ocsfFindingUID); metadata.uid names the event. compliance.control is the
// finding's first criterion in catalog order (SOC 2 before HIPAA) and
// compliance.requirements lists every criterion it supports. severity_id
// comes from the check's severity in the catalog (see ocsfSeverity), which
// unmapped also carries as exhibit.check_severity on every event.
//
// Events are written as each member is read; what is kept between members
// is each finding's state, one per finding of the estate.
//
// A period without findings (or without snapshots) gives no events: an
// empty file, which is valid line-delimited JSON.
func ExportOCSF(ctx context.Context, w io.Writer, members Members, opts ExportOptions) error {
	cat, err := opts.catalog()
	if err != nil {
		return err
	}
	rank := map[string]int{}
	for i, c := range cat.Criteria() {
		rank[c.Ref] = i
	}
	// Status follows each finding in time, and one finding may be in more
	// than one series: members come in start order.
	states := map[string]findingState{}

	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return members.Each(ctx, ByStart, func(m Member) error {
		s := m.Snapshot
		var cloud *ocsfCloud
		var profiles []string
		region := ""
		if len(s.Scope.Regions) == 1 {
			region = s.Scope.Regions[0]
		}
		if s.Scope.Account != "" || region != "" {
			provider := ocsfProviders[s.Scope.Provider]
			if provider == "" {
				provider = cmp.Or(s.Scope.Provider, "unknown")
			}
			cloud = &ocsfCloud{Provider: provider, Region: region}
			if s.Scope.Account != "" {
				cloud.Account = &ocsfAccount{UID: s.Scope.Account}
			}
			profiles = []string{"cloud"}
		}
		for i, f := range s.Findings {
			compID, comp, ok := ocsfComplianceStatus(f.Status)
			if !ok {
				continue
			}
			check, known := cat.Check(f.Check)
			sevID, sev := ocsfSeverity(f.Status, check, known)
			findingUID := ocsfFindingUID(s.Scope, f)
			statusID, status, state := ocsfFindingStatus(states[findingUID], f.Status)
			states[findingUID] = state
			detail := ""
			if f.Accepted != nil {
				statusID, status, detail = 3, "Suppressed", acceptedText(f.Accepted)
			} else if f.AcceptanceExpired != nil {
				detail = "accepted risk " + expiredText(f.AcceptanceExpired) + " has expired: the finding is no longer accepted"
			}

			title := f.Check
			if known {
				title = check.Title
			}
			var standards []string
			for _, ref := range f.Controls {
				fw, _, _ := strings.Cut(ref, ":")
				name := standardNames[fw]
				if name == "" {
					name = fw
				}
				if !slices.Contains(standards, name) {
					standards = append(standards, name)
				}
			}
			control := ""
			if len(f.Controls) > 0 {
				control = slices.MinFunc(f.Controls, func(a, b string) int {
					ra, okA := rank[a]
					rb, okB := rank[b]
					if okA != okB { // a criterion the catalog lacks goes last
						if okA {
							return -1
						}
						return 1
					}
					return cmp.Or(cmp.Compare(ra, rb), strings.Compare(a, b))
				})
			}
			desc := ""
			if c, ok := cat.Criterion(control); ok {
				desc = c.Title
			}
			ev := ocsfEvent{
				ActivityID: ocsfActivityID, ActivityName: "Create",
				CategoryUID: ocsfCategoryUID, CategoryName: "Findings",
				ClassUID: ocsfClassUID, ClassName: "Compliance Finding",
				TypeUID: ocsfTypeUID, TypeName: "Compliance Finding: Create",
				SeverityID: sevID, Severity: sev,
				StatusID: statusID, Status: status, StatusDetail: detail,
				Time:    s.StartedAt.UnixMilli(),
				Message: f.Reason,
				Metadata: ocsfMetadata{UID: ocsfEventUID(m, i), Version: OCSFVersion, Profiles: profiles,
					Product: ocsfProduct{Name: "exhibit", VendorName: "exhibit", Version: opts.Version}},
				Cloud:       cloud,
				FindingInfo: ocsfFindingInfo{UID: findingUID, Title: title + ": " + f.Resource, Desc: f.Reason},
				Compliance: ocsfCompliance{Standards: nonNil(standards), Control: control, Desc: desc,
					Requirements: nonNil(f.Controls), Checks: []ocsfCheck{{UID: f.Check, Name: title}},
					Status: comp, StatusID: compID},
				Resources: []ocsfResource{{UID: f.Resource, Name: f.Resource, Region: region}},
				Unmapped: map[string]string{
					"exhibit.snapshot_key":    m.Key,
					"exhibit.snapshot_sha256": m.SHA256,
					"exhibit.series":          s.Series,
					"exhibit.check":           f.Check,
					"exhibit.status":          string(f.Status),
				},
			}
			if known {
				ev.Unmapped["exhibit.check_severity"] = check.Severity
			}
			ocsfAccepted(ev.Unmapped, f)
			if err := enc.Encode(ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// ocsfAccepted puts a finding's accepted risk where OCSF has no attribute
// for it. OCSF's finding status 3, Suppressed, is what a GRC tool filters
// on ("reviewed ... and is now suppressed"); compliance.status stays Fail,
// because an accepted risk is still a failing control.
func ocsfAccepted(unmapped map[string]string, f evidence.Finding) {
	if a := f.Accepted; a != nil {
		unmapped["exhibit.accepted_id"] = a.ID
		unmapped["exhibit.accepted_owner"] = a.Owner
		unmapped["exhibit.accepted_reason"] = a.Reason
		unmapped["exhibit.accepted_until"] = a.Until
		unmapped["exhibit.accepted_approver"] = a.Approver
		unmapped["exhibit.accepted_approved"] = a.Approved
	}
	if e := f.AcceptanceExpired; e != nil {
		unmapped["exhibit.acceptance_expired_id"] = e.ID
		unmapped["exhibit.acceptance_expired_owner"] = e.Owner
		unmapped["exhibit.acceptance_expired_until"] = e.Until
	}
}

// ocsfFindingUID names a finding the same way in every snapshot: the same
// finding is the same check on the same resource in the same provider
// account (AWS account, GitHub org, Okta org). The series, collector
// instance, endpoint and regions are left out: renaming an instance,
// moving an endpoint or adding a region to the configuration does not make
// an old failure new. A resource whose identity depends on its region
// carries the region in its own identifier (an ARN).
func ocsfFindingUID(sc evidence.Scope, f evidence.Finding) string {
	return UUID("ocsf/finding\x00" + sc.Provider + "\x00" + sc.Account + "\x00" + f.Check + "\x00" + f.Resource)
}

// ocsfEventUID names one event: the i-th finding of one stored snapshot.
func ocsfEventUID(m Member, i int) string {
	return UUID(fmt.Sprintf("ocsf/event\x00%s\x00%s\x00%d", m.Key, m.SHA256, i))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// uuidNamespace is the UUIDv5 namespace of every identifier exhibit writes
// into OSCAL and OCSF: the v5 UUID of the URL below in the RFC 9562 URL namespace.
var uuidNamespace = uuidV5([16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}, "https://exhibit.dev/ns/oscal")

// uuidV5 is the RFC 9562 name-based (SHA-1) UUID of name in namespace ns.
func uuidV5(ns [16]byte, name string) [16]byte {
	h := newUUIDHash(ns)
	h.Write([]byte(name))
	return uuidSum(h)
}

// newUUIDHash starts a name-based UUID in namespace ns; the name is written
// to it, in as many pieces as it comes in, and uuidSum ends it.
func newUUIDHash(ns [16]byte) hash.Hash {
	h := sha1.New()
	h.Write(ns[:])
	return h
}

func uuidSum(h hash.Hash) [16]byte {
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

func uuidString(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// UUID returns the deterministic UUID exhibit uses in OSCAL and OCSF for a
// name.
func UUID(name string) string { return uuidString(uuidV5(uuidNamespace, name)) }
