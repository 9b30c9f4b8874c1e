package audit

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
}

func (o *ExportOptions) catalog() (*controls.Catalog, error) {
	if o.Catalog != nil {
		return o.Catalog, nil
	}
	return controls.Default()
}

// Export writes the period's snapshots in the given format.
func Export(w io.Writer, format string, members []Member, opts ExportOptions) error {
	switch format {
	case FormatCSV:
		return ExportCSV(w, members)
	case FormatOCSF:
		return ExportOCSF(w, members, opts)
	case FormatOSCAL:
		return ExportOSCAL(w, members, opts)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// CSVHeader is the first row of a CSV export.
var CSVHeader = []string{"snapshot_key", "snapshot_sha256", "series", "collected_at", "check", "resource", "status", "controls", "reason"}

// ExportCSV writes one RFC 4180 row per finding. Controls are separated by
// semicolons; collected_at is the snapshot's started_at.
func ExportCSV(w io.Writer, members []Member) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180 line breaks
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, m := range members {
		s := m.Snapshot
		for _, f := range s.Findings {
			row := []string{m.Key, m.SHA256, s.Series, s.StartedAt.UTC().Format(time.RFC3339Nano),
				f.Check, f.Resource, string(f.Status), strings.Join(f.Controls, ";"), f.Reason}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
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
	Time         int64             `json:"time"`
	Message      string            `json:"message"`
	Metadata     ocsfMetadata      `json:"metadata"`
	FindingInfo  ocsfFindingInfo   `json:"finding_info"`
	Compliance   ocsfCompliance    `json:"compliance"`
	Resources    []ocsfResource    `json:"resources"`
	Unmapped     map[string]string `json:"unmapped"`
}

type ocsfMetadata struct {
	UID     string      `json:"uid"`
	Version string      `json:"version"`
	Product ocsfProduct `json:"product"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

type ocsfFindingInfo struct {
	UID   string `json:"uid"`
	Title string `json:"title"`
	Desc  string `json:"desc"`
}

type ocsfCompliance struct {
	Standards    []string `json:"standards"`
	Control      string   `json:"control"`
	Requirements []string `json:"requirements"`
	Status       string   `json:"status"`
	StatusID     int      `json:"status_id"`
}

type ocsfResource struct {
	UID    string `json:"uid"`
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`
}

// ocsfStatus maps a check result to the compliance object's status_id
// (1 Pass, 2 Warning: no result for lack of information, 3 Fail) and the
// event's severity_id. A not_applicable finding has no compliance status
// in OCSF and is not exported.
func ocsfStatus(r evidence.Result) (statusID int, status string, severityID int, severity string, ok bool) {
	switch r {
	case evidence.Pass:
		return 1, "Pass", 1, "Informational", true
	case evidence.Error:
		return 2, "Warning", 2, "Low", true
	case evidence.Fail:
		return 3, "Fail", 3, "Medium", true
	}
	return 0, "", 0, "", false
}

var standardNames = map[string]string{
	controls.FrameworkSOC2:   "AICPA SOC 2 Trust Services Criteria (2017)",
	controls.FrameworkHIPAA:  "HIPAA Security Rule (45 CFR 164.312)",
	controls.FrameworkCustom: "Customer-defined controls",
}

// ExportOCSF writes one OCSF 1.8.0 Compliance Finding per finding, one JSON
// object per line. The snapshot the finding comes from is named in
// unmapped, with its digest, so every event leads back to signed evidence.
func ExportOCSF(w io.Writer, members []Member, opts ExportOptions) error {
	cat, err := opts.catalog()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, m := range members {
		s := m.Snapshot
		for i, f := range s.Findings {
			statusID, status, sevID, sev, ok := ocsfStatus(f.Status)
			if !ok {
				continue
			}
			uid := findingUID(m, i)
			title := f.Check
			if ch, ok := cat.Check(f.Check); ok {
				title = ch.Title
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
			res := ocsfResource{UID: f.Resource, Name: f.Resource}
			if len(s.Scope.Regions) == 1 {
				res.Region = s.Scope.Regions[0]
			}
			ev := ocsfEvent{
				ActivityID: ocsfActivityID, ActivityName: "Create",
				CategoryUID: ocsfCategoryUID, CategoryName: "Findings",
				ClassUID: ocsfClassUID, ClassName: "Compliance Finding",
				TypeUID: ocsfTypeUID, TypeName: "Compliance Finding: Create",
				SeverityID: sevID, Severity: sev,
				StatusID: 1, Status: "New",
				Time:    s.StartedAt.UnixMilli(),
				Message: f.Reason,
				Metadata: ocsfMetadata{UID: uid, Version: OCSFVersion,
					Product: ocsfProduct{Name: "exhibit", VendorName: "exhibit", Version: opts.Version}},
				FindingInfo: ocsfFindingInfo{UID: uid, Title: title + ": " + f.Resource, Desc: f.Reason},
				Compliance: ocsfCompliance{Standards: nonNil(standards), Control: f.Check,
					Requirements: nonNil(f.Controls), Status: status, StatusID: statusID},
				Resources: []ocsfResource{res},
				Unmapped: map[string]string{
					"exhibit.snapshot_key":    m.Key,
					"exhibit.snapshot_sha256": m.SHA256,
					"exhibit.series":          s.Series,
					"exhibit.check":           f.Check,
					"exhibit.status":          string(f.Status),
				},
			}
			if err := enc.Encode(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// findingUID names the i-th finding of a snapshot by content.
func findingUID(m Member, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", m.Key, m.SHA256, i))
	return hex.EncodeToString(sum[:16])
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// uuidNamespace is the UUIDv5 namespace of every identifier exhibit writes
// into OSCAL: the v5 UUID of the URL below in the RFC 9562 URL namespace.
var uuidNamespace = uuidV5([16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}, "https://exhibit.dev/ns/oscal")

// uuidV5 is the RFC 9562 name-based (SHA-1) UUID of name in namespace ns.
func uuidV5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

// UUID returns the deterministic UUID exhibit uses in OSCAL for a name.
func UUID(name string) string {
	u := uuidV5(uuidNamespace, name)
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
