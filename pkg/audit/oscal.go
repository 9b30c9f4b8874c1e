package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/controls"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// OSCALVersion is the OSCAL release the assessment-results export follows.
const OSCALVersion = "1.2.2"

// oscalNS is the namespace of the properties exhibit defines.
const oscalNS = "https://exhibit.dev/ns/oscal"

type oscalDoc struct {
	AssessmentResults oscalAR `json:"assessment-results"`
}

type oscalAR struct {
	UUID       string          `json:"uuid"`
	Metadata   oscalMetadata   `json:"metadata"`
	ImportAP   oscalImportAP   `json:"import-ap"`
	Results    []oscalResult   `json:"results"`
	BackMatter oscalBackMatter `json:"back-matter"`
}

type oscalMetadata struct {
	Title        string      `json:"title"`
	LastModified string      `json:"last-modified"`
	Version      string      `json:"version"`
	OSCALVersion string      `json:"oscal-version"`
	Props        []oscalProp `json:"props,omitempty"`
}

type oscalProp struct {
	Name  string `json:"name"`
	NS    string `json:"ns,omitempty"`
	Value string `json:"value"`
}

type oscalImportAP struct {
	Href    string `json:"href"`
	Remarks string `json:"remarks,omitempty"`
}

type oscalResult struct {
	UUID             string        `json:"uuid"`
	Title            string        `json:"title"`
	Description      string        `json:"description"`
	Start            string        `json:"start"`
	End              string        `json:"end"`
	Props            []oscalProp   `json:"props,omitempty"`
	ReviewedControls oscalReviewed `json:"reviewed-controls"`
	// Observations, Risks and Findings are written element by element in
	// their place (see writeOSCAL); nil when there are none.
	Observations *oscalSlot `json:"observations,omitempty"`
	Risks        *oscalSlot `json:"risks,omitempty"`
	Findings     *oscalSlot `json:"findings,omitempty"`
}

// oscalRisk is an accepted risk: a deviation approved for failing findings.
type oscalRisk struct {
	UUID                string            `json:"uuid"`
	Title               string            `json:"title"`
	Description         string            `json:"description"`
	Statement           string            `json:"statement"`
	Props               []oscalProp       `json:"props,omitempty"`
	Status              string            `json:"status"`
	Deadline            string            `json:"deadline,omitempty"`
	Remediations        []oscalResponse   `json:"remediations,omitempty"`
	RiskLog             *oscalRiskLog     `json:"risk-log,omitempty"`
	RelatedObservations []oscalRelatedObs `json:"related-observations,omitempty"`
}

type oscalResponse struct {
	UUID        string      `json:"uuid"`
	Lifecycle   string      `json:"lifecycle"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Props       []oscalProp `json:"props,omitempty"`
}

type oscalRiskLog struct {
	Entries []oscalRiskLogEntry `json:"entries"`
}

type oscalRiskLogEntry struct {
	UUID         string `json:"uuid"`
	Title        string `json:"title"`
	Description  string `json:"description,omitempty"`
	Start        string `json:"start"`
	StatusChange string `json:"status-change,omitempty"`
}

type oscalRelatedRisk struct {
	RiskUUID string `json:"risk-uuid"`
}

type oscalReviewed struct {
	ControlSelections []oscalSelection `json:"control-selections"`
}

// oscalSelection holds exactly one of IncludeAll and IncludeControls.
type oscalSelection struct {
	Description     string             `json:"description,omitempty"`
	IncludeAll      *struct{}          `json:"include-all,omitempty"`
	IncludeControls []oscalControlByID `json:"include-controls,omitempty"`
}

type oscalControlByID struct {
	ControlID string `json:"control-id"`
}

type oscalObservation struct {
	UUID             string          `json:"uuid"`
	Title            string          `json:"title"`
	Description      string          `json:"description"`
	Props            []oscalProp     `json:"props,omitempty"`
	Methods          []string        `json:"methods"`
	Types            []string        `json:"types,omitempty"`
	RelevantEvidence []oscalEvidence `json:"relevant-evidence"`
	Collected        string          `json:"collected"`
}

type oscalEvidence struct {
	Href        string      `json:"href"`
	Description string      `json:"description"`
	Props       []oscalProp `json:"props,omitempty"`
}

type oscalFinding struct {
	UUID                string             `json:"uuid"`
	Title               string             `json:"title"`
	Description         string             `json:"description"`
	Props               []oscalProp        `json:"props,omitempty"`
	Target              oscalTarget        `json:"target"`
	RelatedObservations []oscalRelatedObs  `json:"related-observations,omitempty"`
	RelatedRisks        []oscalRelatedRisk `json:"related-risks,omitempty"`
}

type oscalTarget struct {
	Type     string       `json:"type"`
	TargetID string       `json:"target-id"`
	Status   oscalTStatus `json:"status"`
}

type oscalTStatus struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

type oscalRelatedObs struct {
	ObservationUUID string `json:"observation-uuid"`
}

type oscalBackMatter struct {
	Resources []oscalResource `json:"resources"`
}

type oscalResource struct {
	UUID        string `json:"uuid"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// OSCALControlID turns a reference into an OSCAL token (a letter, then
// letters, digits, '.', '-' or '_'): "soc2:CC6.1" → "soc2_cc6.1",
// "hipaa:164.312(a)(2)(iv)" → "hipaa_164.312_a_2_iv". The reference itself
// travels beside it in a control-ref property.
func OSCALControlID(ref string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(ref) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		case r == ')':
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

type controlTally struct {
	pass, fail, errs, na int
	// accepted counts the failures that carried an accepted risk.
	accepted int
	// observations are indexes into the period's observation UUIDs.
	observations []int32
	risks        []string
}

// riskTally is what the period holds of one accepted risk (by its id): the
// latest acceptance and lapse seen, and where.
type riskTally struct {
	id                      string
	accepted                *evidence.Acceptance
	expired                 *evidence.ExpiredAcceptance
	lastAccepted, lastLapse time.Time
	findings                int
	checks, resources       []string
	observations            []int32 // indexes into the observation UUIDs
}

// sighting records one failing finding that carried (or had lapsed from)
// this accepted risk.
func (r *riskTally) sighting(f evidence.Finding, at time.Time, obs int32) {
	r.findings++
	if a := f.Accepted; a != nil && !at.Before(r.lastAccepted) {
		r.accepted, r.lastAccepted = a, at
	}
	if e := f.AcceptanceExpired; e != nil && !at.Before(r.lastLapse) {
		r.expired, r.lastLapse = e, at
	}
	if !slices.Contains(r.checks, f.Check) {
		r.checks = append(r.checks, f.Check)
	}
	if !slices.Contains(r.resources, f.Resource) {
		r.resources = append(r.resources, f.Resource)
	}
	// Members come one after the other: an observation already listed
	// is the last one.
	if n := len(r.observations); n == 0 || r.observations[n-1] != obs {
		r.observations = append(r.observations, obs)
	}
}

// oscalRiskUUID names an accepted risk the same in every export.
func oscalRiskUUID(id string) string { return UUID("accepted-risk\x00" + id) }

// risk is the OSCAL risk of an accepted risk over the period. Its status
// is deviation-approved while the latest sighting is accepted, and open
// once the acceptance has lapsed; the risk log dates both.
func (r *riskTally) risk(from, to string, obsUUIDs []string) oscalRisk {
	uuid := oscalRiskUUID(r.id)
	subject := fmt.Sprintf("%s on %s", strings.Join(r.checks, ", "), r.resources[0])
	if len(r.resources) > 1 {
		subject = fmt.Sprintf("%s on %d resources", strings.Join(r.checks, ", "), len(r.resources))
	}
	out := oscalRisk{
		UUID:  uuid,
		Title: "Accepted risk " + r.id + ": " + subject,
		Description: fmt.Sprintf("Between %s and %s, %d failing check result(s) carried accepted risk %s (%s; resources: %s). "+
			"An accepted risk never changes a result: these findings count as failing, and their controls are not satisfied.",
			from, to, r.findings, r.id, strings.Join(r.checks, ", "), strings.Join(r.resources, ", ")),
		Props: []oscalProp{{Name: "accepted-risk-id", NS: oscalNS, Value: r.id}},
	}
	for _, o := range r.observations {
		out.RelatedObservations = append(out.RelatedObservations, oscalRelatedObs{ObservationUUID: obsUUIDs[o]})
	}
	var until string
	if a := r.accepted; a != nil {
		until = a.Until
		out.Statement = a.Reason
		out.Props = append(out.Props,
			oscalProp{Name: "owner", NS: oscalNS, Value: a.Owner},
			oscalProp{Name: "approver", NS: oscalNS, Value: a.Approver},
			oscalProp{Name: "approved", NS: oscalNS, Value: a.Approved},
			oscalProp{Name: "until", NS: oscalNS, Value: a.Until})
		out.Remediations = []oscalResponse{{
			UUID:        UUID("accepted-risk/response\x00" + r.id),
			Lifecycle:   "planned",
			Title:       "Risk accepted by " + a.Owner,
			Description: "The failing findings are " + acceptedText(a) + ".",
		}}
		out.RiskLog = &oscalRiskLog{Entries: []oscalRiskLogEntry{{
			UUID:         UUID("accepted-risk/approved\x00" + r.id + "\x00" + a.Approved),
			Title:        "Deviation approved by " + a.Approver,
			Start:        a.Approved + "T00:00:00Z",
			StatusChange: "deviation-approved",
		}}}
	}
	out.Status = "deviation-approved"
	if e := r.expired; e != nil && r.lastLapse.After(r.lastAccepted) {
		until = e.Until
		out.Status = "open"
		if out.Statement == "" {
			out.Statement = fmt.Sprintf("Accepted risk %s (owner %s) expired at the end of %s; the findings it covered are failing and no longer accepted.", e.ID, e.Owner, e.Until)
			out.Props = append(out.Props, oscalProp{Name: "owner", NS: oscalNS, Value: e.Owner},
				oscalProp{Name: "until", NS: oscalNS, Value: e.Until})
		}
		if out.RiskLog == nil {
			out.RiskLog = &oscalRiskLog{}
		}
		lapsed, _ := time.Parse(time.DateOnly, e.Until)
		out.RiskLog.Entries = append(out.RiskLog.Entries, oscalRiskLogEntry{
			UUID:         UUID("accepted-risk/expired\x00" + r.id + "\x00" + e.Until),
			Title:        "Acceptance expired",
			Description:  fmt.Sprintf("The acceptance ended with %s; from then on the findings are failing without an accepted risk.", e.Until),
			Start:        lapsed.AddDate(0, 0, 1).Format(time.RFC3339),
			StatusChange: "open",
		})
	}
	if until != "" {
		out.Deadline = until + "T23:59:59Z"
	}
	return out
}

// ExportOSCAL writes an OSCAL assessment-results document: one result for
// the period, one observation per snapshot (its key as relevant evidence,
// with its SHA-256), and one finding per control with the observations
// that support it. A control is satisfied when none of its findings in the
// period failed or could not be determined. Every UUID is derived from
// content (UUIDv5), so the same snapshots give the same document.
//
// The document's heading (its UUID, last-modified, the controls reviewed)
// depends on every member, and comes before the observations: the members
// are read first, in key order, their observations written to a temporary
// file in opts.TempDir as they come and their findings tallied per control;
// then the document is written, the observations copied from that file. So
// nothing is written when a member cannot be read, and what is held in
// memory is the tallies and one UUID per member, not the observations.
//
// A period with no evidence for any control (no snapshot at all, or only
// snapshots without findings, such as failed collections) is still a
// valid document: its result says so in its description and in an
// exhibit "evidence" property of "none", reviews the whole catalog
// (include-all) and has no findings, so no control reads as satisfied;
// the snapshots it does have are observations as usual.
func ExportOSCAL(ctx context.Context, w io.Writer, members Members, opts ExportOptions) error {
	cat, err := opts.catalog()
	if err != nil {
		return err
	}
	from := opts.Period.From.UTC().Format(time.RFC3339)
	to := opts.Period.To.UTC().Format(time.RFC3339)
	spool, err := os.CreateTemp(opts.TempDir, ".exhibit-oscal-observations-*")
	if err != nil {
		return fmt.Errorf("oscal: observations spool: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	indent, err := oscalObservationIndent()
	if err != nil {
		return err
	}
	obsOut := bufio.NewWriter(spool)
	observations := newArrayWriter(obsOut, indent)

	digests := newUUIDHash(uuidNamespace)
	io.WriteString(digests, "content\x00"+from+"\x00"+to+"\x00")
	lastModified := opts.Period.From.UTC()
	var obsUUIDs []string
	tallies := map[string]*controlTally{}
	risks := map[string]*riskTally{}
	err = members.Each(ctx, ByKey, func(m Member) error {
		s := m.Snapshot
		io.WriteString(digests, m.Key+" "+m.SHA256+"\n")
		if f := s.FinishedAt.UTC(); f.After(lastModified) {
			lastModified = f
		}
		obs := int32(len(obsUUIDs))
		obsUUID := UUID("observation\x00" + m.Key + "\x00" + m.SHA256)
		obsUUIDs = append(obsUUIDs, obsUUID)
		sum := s.Summary()
		desc := fmt.Sprintf("Snapshot %d of series %s, run by collector %s (%s %s) over %s account %s; status %s; findings: %d pass, %d fail, %d error, %d not applicable.",
			s.Seq, s.Series, s.Collector.ID, s.Collector.Type, s.Collector.Version, s.Scope.Provider, s.Scope.Account, s.Status,
			sum[evidence.Pass], sum[evidence.Fail], sum[evidence.Error], sum[evidence.NotApplicable])
		for _, e := range s.Errors {
			desc += fmt.Sprintf("\n\nRun error at %s: %s", e.Where, e.Message)
		}
		if err := observations.add(oscalObservation{
			UUID:        obsUUID,
			Title:       m.Key,
			Description: desc,
			Props: []oscalProp{
				{Name: "snapshot-status", NS: oscalNS, Value: string(s.Status)},
				{Name: "series", NS: oscalNS, Value: s.Series},
			},
			Methods: []string{"TEST"},
			RelevantEvidence: []oscalEvidence{{
				Href: m.Key,
				Description: "The signed evidence snapshot, relative to the root of the evidence store; its signature is at the same path + .sig " +
					"(base64 DER ECDSA P-256 / SHA-256) and the key at keys/" + s.KeyID + ".pem.",
				Props: []oscalProp{{Name: "sha256", NS: oscalNS, Value: m.SHA256}},
			}},
			Collected: s.StartedAt.UTC().Format(time.RFC3339Nano),
		}); err != nil {
			return fmt.Errorf("oscal: observations spool: %w", err)
		}
		seen := map[string]bool{}
		for _, f := range s.Findings {
			riskID := ""
			switch {
			case f.Status != evidence.Fail:
			case f.Accepted != nil:
				riskID = f.Accepted.ID
			case f.AcceptanceExpired != nil:
				riskID = f.AcceptanceExpired.ID
			}
			if riskID != "" {
				r := risks[riskID]
				if r == nil {
					r = &riskTally{id: riskID}
					risks[riskID] = r
				}
				r.sighting(f, s.StartedAt, obs)
			}
			for _, ref := range f.Controls {
				t := tallies[ref]
				if t == nil {
					t = &controlTally{}
					tallies[ref] = t
				}
				switch f.Status {
				case evidence.Pass:
					t.pass++
				case evidence.Fail:
					t.fail++
					if f.Accepted != nil {
						t.accepted++
					}
				case evidence.Error:
					t.errs++
				default:
					t.na++
				}
				if !seen[ref] {
					seen[ref] = true
					t.observations = append(t.observations, obs)
				}
				if riskID != "" && !slices.Contains(t.risks, riskID) {
					t.risks = append(t.risks, riskID)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := obsOut.Flush(); err != nil {
		return fmt.Errorf("oscal: observations spool: %w", err)
	}
	contentID := uuidString(uuidSum(digests))
	apUUID := UUID("assessment-plan\x00" + from + "\x00" + to)

	refs := sortRefs(cat, sortedSet(tallies))
	var selected []oscalControlByID
	for _, ref := range refs {
		selected = append(selected, oscalControlByID{ControlID: OSCALControlID(ref)})
	}
	writeFindings := func(aw *arrayWriter) error {
		for _, ref := range refs {
			if err := aw.add(tallies[ref].finding(cat, ref, contentID, from, to, obsUUIDs)); err != nil {
				return err
			}
		}
		return nil
	}
	writeRisks := func(aw *arrayWriter) error {
		for _, id := range sortedSet(risks) {
			if err := aw.add(risks[id].risk(from, to, obsUUIDs)); err != nil {
				return err
			}
		}
		return nil
	}
	writeObservations := func(aw *arrayWriter) error {
		if aw.indent != indent {
			return fmt.Errorf("oscal: observations indented by %d, not %d", len(indent), len(aw.indent))
		}
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("oscal: observations spool: %w", err)
		}
		if _, err := io.Copy(aw.w, spool); err != nil {
			return fmt.Errorf("oscal: observations spool: %w", err)
		}
		return nil
	}

	selection := oscalSelection{
		Description:     "Every control that at least one finding in the period supports.",
		IncludeControls: selected,
	}
	description := fmt.Sprintf("Signed, hash-chained evidence snapshots written by exhibit and started in [%s, %s): %d snapshot(s), findings for %d control(s).", from, to, len(obsUUIDs), len(selected))
	var resultProps []oscalProp
	if len(selected) == 0 {
		// OSCAL requires a control selection; with nothing to name, the
		// selection is the catalog, and the missing findings say the rest.
		selection = oscalSelection{
			Description: "No finding in the period supports any control: every control of the catalog (exhibit controls) was to be assessed, and none has evidence.",
			IncludeAll:  &struct{}{},
		}
		description = fmt.Sprintf("No evidence: no snapshot written by exhibit was started in [%s, %s), so no control has a finding and none is shown satisfied.", from, to)
		if len(obsUUIDs) > 0 {
			description = fmt.Sprintf("No evidence for any control: %d snapshot(s) written by exhibit were started in [%s, %s), none with a finding (see the observations for their status and errors), so no control is shown satisfied.", len(obsUUIDs), from, to)
		}
		resultProps = []oscalProp{{Name: "evidence", NS: oscalNS, Value: "none"}}
	}

	result := oscalResult{
		UUID:             UUID("result\x00" + contentID),
		Title:            fmt.Sprintf("Automated evidence collected between %s and %s", from, to),
		Description:      description,
		Start:            from,
		End:              to,
		Props:            resultProps,
		ReviewedControls: oscalReviewed{ControlSelections: []oscalSelection{selection}},
	}
	slots := map[oscalSlot]func(*arrayWriter) error{}
	if len(obsUUIDs) > 0 {
		result.Observations = fillSlot(slots, "observations", writeObservations)
	}
	if len(risks) > 0 {
		result.Risks = fillSlot(slots, "risks", writeRisks)
	}
	if len(refs) > 0 {
		result.Findings = fillSlot(slots, "findings", writeFindings)
	}
	doc := oscalDoc{AssessmentResults: oscalAR{
		UUID: contentID,
		Metadata: oscalMetadata{
			Title:        fmt.Sprintf("exhibit automated evidence, %s to %s", from, to),
			LastModified: lastModified.Format(time.RFC3339Nano),
			Version:      contentID[:8],
			OSCALVersion: OSCALVersion,
		},
		ImportAP: oscalImportAP{
			Href:    "#" + apUUID,
			Remarks: "exhibit collects evidence continuously on the schedules in its configuration; there is no separate OSCAL assessment plan.",
		},
		Results: []oscalResult{result},
		BackMatter: oscalBackMatter{Resources: []oscalResource{{
			UUID:        apUUID,
			Title:       "Continuous automated evidence collection",
			Description: "The assessment plan is exhibit's configuration: its collectors, their schedules and the control catalog (exhibit controls).",
		}}},
	}}
	return writeOSCAL(w, doc, slots)
}

// finding is the OSCAL finding of one control over the period.
func (t *controlTally) finding(cat *controls.Catalog, ref, contentID, from, to string, obsUUIDs []string) oscalFinding {
	id := OSCALControlID(ref)
	title := ref
	if c, ok := cat.Criterion(ref); ok {
		title = ref + ": " + c.Title
	}
	state, reason := "satisfied", "pass"
	switch {
	case t.fail > 0:
		state, reason = "not-satisfied", "fail"
	case t.errs > 0:
		state, reason = "not-satisfied", "other"
	}
	var related []oscalRelatedObs
	for _, o := range t.observations {
		related = append(related, oscalRelatedObs{ObservationUUID: obsUUIDs[o]})
	}
	var relatedRisks []oscalRelatedRisk
	slices.Sort(t.risks)
	for _, id := range t.risks {
		relatedRisks = append(relatedRisks, oscalRelatedRisk{RiskUUID: oscalRiskUUID(id)})
	}
	desc := fmt.Sprintf("Between %s and %s, %d check result(s) support %s: %d pass, %d fail, %d could not be determined (error), %d not applicable, in %d snapshot(s).",
		from, to, t.pass+t.fail+t.errs+t.na, ref, t.pass, t.fail, t.errs, t.na, len(t.observations))
	if t.accepted > 0 {
		desc += fmt.Sprintf(" %d of the failures carried an accepted risk (see the related risks); they still count as failures.", t.accepted)
	}
	return oscalFinding{
		UUID:                UUID("finding\x00" + contentID + "\x00" + ref),
		Title:               title,
		Description:         desc,
		Props:               []oscalProp{{Name: "control-ref", NS: oscalNS, Value: ref}},
		Target:              oscalTarget{Type: "objective-id", TargetID: id, Status: oscalTStatus{State: state, Reason: reason}},
		RelatedObservations: related,
		RelatedRisks:        relatedRisks,
	}
}

// oscalSlot stands in the document for an array that is written element
// by element in its place: it encodes as a string no value of the document
// can hold before the arrays (the heading holds no text from the store but
// the control ids, which OSCALControlID reduces to a token).
type oscalSlot string

func (s oscalSlot) marker() string { return `"\u0000exhibit-slot:` + string(s) + `"` }

// MarshalJSON implements json.Marshaler.
func (s oscalSlot) MarshalJSON() ([]byte, error) { return []byte(s.marker()), nil }

func fillSlot(slots map[oscalSlot]func(*arrayWriter) error, name oscalSlot, write func(*arrayWriter) error) *oscalSlot {
	slots[name] = write
	return &name
}

// writeOSCAL writes doc as indented JSON, each slot replaced by the array
// its function writes: the bytes json.Encoder with two-space indentation
// gives for the document holding those arrays.
func writeOSCAL(w io.Writer, doc oscalDoc, slots map[oscalSlot]func(*arrayWriter) error) error {
	var skel bytes.Buffer
	enc := json.NewEncoder(&skel)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	rest := skel.Bytes()
	for len(slots) > 0 {
		at, name := -1, oscalSlot("")
		for s := range slots {
			if i := bytes.Index(rest, []byte(s.marker())); i >= 0 && (at < 0 || i < at) {
				at, name = i, s
			}
		}
		if at < 0 {
			return errors.New("oscal: a slot is missing from the document")
		}
		line := rest[bytes.LastIndexByte(rest[:at], '\n')+1 : at]
		outer := string(line[:len(line)-len(bytes.TrimLeft(line, " "))])
		if _, err := w.Write(append(rest[:at:at], '[')); err != nil {
			return err
		}
		aw := newArrayWriter(w, outer+"  ")
		if err := slots[name](aw); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"+outer+"]"); err != nil {
			return err
		}
		rest = rest[at+len(name.marker()):]
		delete(slots, name)
	}
	_, err := w.Write(rest)
	return err
}

// oscalObservationIndent is the indentation of the elements of a result's
// observations: the document's shape alone sets it.
func oscalObservationIndent() (string, error) {
	var indent string
	slots := map[oscalSlot]func(*arrayWriter) error{}
	doc := oscalDoc{AssessmentResults: oscalAR{Results: []oscalResult{{
		Observations: fillSlot(slots, "observations", func(aw *arrayWriter) error { indent = aw.indent; return nil }),
	}}}}
	err := writeOSCAL(io.Discard, doc, slots)
	return indent, err
}

// arrayWriter writes the elements of a JSON array, each indented as
// json.Encoder indents the array's elements at that depth.
type arrayWriter struct {
	w      io.Writer
	indent string
	n      int
	buf    bytes.Buffer
	enc    *json.Encoder
}

func newArrayWriter(w io.Writer, indent string) *arrayWriter {
	aw := &arrayWriter{w: w, indent: indent}
	aw.enc = json.NewEncoder(&aw.buf)
	aw.enc.SetEscapeHTML(false)
	aw.enc.SetIndent(indent, "  ")
	return aw
}

func (aw *arrayWriter) add(v any) error {
	aw.buf.Reset()
	if aw.n > 0 {
		aw.buf.WriteByte(',')
	}
	aw.buf.WriteString("\n" + aw.indent)
	if err := aw.enc.Encode(v); err != nil {
		return err
	}
	aw.n++
	_, err := aw.w.Write(bytes.TrimSuffix(aw.buf.Bytes(), []byte("\n")))
	return err
}

// sortRefs orders references as the catalog does (soc2, hipaa, custom;
// CC6.2 before CC6.10), unknown ones last by name.
func sortRefs(cat *controls.Catalog, refs []string) []string {
	order := map[string]int{}
	for i, c := range cat.Criteria() {
		order[c.Ref] = i
	}
	slices.SortStableFunc(refs, func(a, b string) int {
		ia, oka := order[a]
		ib, okb := order[b]
		switch {
		case oka && okb:
			return ia - ib
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	})
	return refs
}
