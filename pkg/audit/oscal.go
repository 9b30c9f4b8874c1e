package audit

import (
	"encoding/json"
	"fmt"
	"io"
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
	UUID             string             `json:"uuid"`
	Title            string             `json:"title"`
	Description      string             `json:"description"`
	Start            string             `json:"start"`
	End              string             `json:"end"`
	ReviewedControls oscalReviewed      `json:"reviewed-controls"`
	Observations     []oscalObservation `json:"observations,omitempty"`
	Findings         []oscalFinding     `json:"findings,omitempty"`
}

type oscalReviewed struct {
	ControlSelections []oscalSelection `json:"control-selections"`
}

type oscalSelection struct {
	Description     string             `json:"description,omitempty"`
	IncludeControls []oscalControlByID `json:"include-controls"`
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
	UUID                string            `json:"uuid"`
	Title               string            `json:"title"`
	Description         string            `json:"description"`
	Props               []oscalProp       `json:"props,omitempty"`
	Target              oscalTarget       `json:"target"`
	RelatedObservations []oscalRelatedObs `json:"related-observations,omitempty"`
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
	observations         []string
}

// ExportOSCAL writes an OSCAL assessment-results document: one result for
// the period, one observation per snapshot (its key as relevant evidence,
// with its SHA-256), and one finding per control with the observations
// that support it. A control is satisfied when none of its findings in the
// period failed or could not be determined. Every UUID is derived from
// content (UUIDv5), so the same snapshots give the same document.
func ExportOSCAL(w io.Writer, members []Member, opts ExportOptions) error {
	cat, err := opts.catalog()
	if err != nil {
		return err
	}
	from := opts.Period.From.UTC().Format(time.RFC3339)
	to := opts.Period.To.UTC().Format(time.RFC3339)
	var digests strings.Builder
	lastModified := opts.Period.From.UTC()
	for _, m := range members {
		digests.WriteString(m.Key + " " + m.SHA256 + "\n")
		if f := m.Snapshot.FinishedAt.UTC(); f.After(lastModified) {
			lastModified = f
		}
	}
	contentID := UUID("content\x00" + from + "\x00" + to + "\x00" + digests.String())
	apUUID := UUID("assessment-plan\x00" + from + "\x00" + to)

	tallies := map[string]*controlTally{}
	var observations []oscalObservation
	for _, m := range members {
		s := m.Snapshot
		obsUUID := UUID("observation\x00" + m.Key + "\x00" + m.SHA256)
		sum := s.Summary()
		desc := fmt.Sprintf("Snapshot %d of series %s, run by collector %s (%s %s) over %s account %s; status %s; findings: %d pass, %d fail, %d error, %d not applicable.",
			s.Seq, s.Series, s.Collector.ID, s.Collector.Type, s.Collector.Version, s.Scope.Provider, s.Scope.Account, s.Status,
			sum[evidence.Pass], sum[evidence.Fail], sum[evidence.Error], sum[evidence.NotApplicable])
		for _, e := range s.Errors {
			desc += fmt.Sprintf("\n\nRun error at %s: %s", e.Where, e.Message)
		}
		observations = append(observations, oscalObservation{
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
		})
		seen := map[string]bool{}
		for _, f := range s.Findings {
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
				case evidence.Error:
					t.errs++
				default:
					t.na++
				}
				if !seen[ref] {
					seen[ref] = true
					t.observations = append(t.observations, obsUUID)
				}
			}
		}
	}

	refs := sortRefs(cat, sortedSet(tallies))
	var selected []oscalControlByID
	var findings []oscalFinding
	for _, ref := range refs {
		t := tallies[ref]
		id := OSCALControlID(ref)
		selected = append(selected, oscalControlByID{ControlID: id})
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
			related = append(related, oscalRelatedObs{ObservationUUID: o})
		}
		findings = append(findings, oscalFinding{
			UUID:  UUID("finding\x00" + contentID + "\x00" + ref),
			Title: title,
			Description: fmt.Sprintf("Between %s and %s, %d check result(s) support %s: %d pass, %d fail, %d could not be determined (error), %d not applicable, in %d snapshot(s).",
				from, to, t.pass+t.fail+t.errs+t.na, ref, t.pass, t.fail, t.errs, t.na, len(t.observations)),
			Props:               []oscalProp{{Name: "control-ref", NS: oscalNS, Value: ref}},
			Target:              oscalTarget{Type: "objective-id", TargetID: id, Status: oscalTStatus{State: state, Reason: reason}},
			RelatedObservations: related,
		})
	}
	if len(selected) == 0 {
		return fmt.Errorf("no snapshot in the period has a finding for any control: nothing to report in OSCAL")
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
		Results: []oscalResult{{
			UUID:        UUID("result\x00" + contentID),
			Title:       fmt.Sprintf("Automated evidence collected between %s and %s", from, to),
			Description: fmt.Sprintf("Signed, hash-chained evidence snapshots written by exhibit and started in [%s, %s): %d snapshot(s), findings for %d control(s).", from, to, len(members), len(selected)),
			Start:       from,
			End:         to,
			ReviewedControls: oscalReviewed{ControlSelections: []oscalSelection{{
				Description:     "Every control that at least one finding in the period supports.",
				IncludeControls: selected,
			}}},
			Observations: observations,
			Findings:     findings,
		}},
		BackMatter: oscalBackMatter{Resources: []oscalResource{{
			UUID:        apUUID,
			Title:       "Continuous automated evidence collection",
			Description: "The assessment plan is exhibit's configuration: its collectors, their schedules and the control catalog (exhibit controls).",
		}}},
	}}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
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
