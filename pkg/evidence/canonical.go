package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gowebpki/jcs"
	"github.com/oklog/ulid/v2"
)

// Canonical returns the RFC 8785 (JSON Canonicalization Scheme) encoding of v:
// the exact bytes that are stored, hashed and signed.
func Canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("canonicalize: %w", err)
	}
	return out, nil
}

// Digest returns the lower-case hex SHA-256 of b, as sha256sum prints it.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Encode normalizes s (UTC times, sorted control lists, no nil slices) and
// returns its canonical bytes: those Canonical returns for s, written
// directly from its fields (see jcs.go).
func Encode(s *Snapshot) ([]byte, error) {
	return encode(s, 0)
}

// encode is Encode with room for size bytes made at once. With size 0, a
// snapshot of many findings, records and calls is sized first; a small
// one is grown as it is written, which costs less than the second pass.
func encode(s *Snapshot, size int) ([]byte, error) {
	s.normalize()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if size == 0 && len(s.Findings)+len(s.Records)+len(s.Calls) > sizeFirstAbove {
		n, err := encodedSize(s)
		if err != nil {
			return nil, err
		}
		size = n
	}
	return appendSnapshot(make([]byte, 0, max(size, 4096)), s)
}

// sizeFirstAbove is how many findings, records and calls in all make a
// snapshot large enough to size first.
const sizeFirstAbove = 256

// Parse decodes stored snapshot bytes. It refuses bytes that are not in
// canonical form or carry fields the contract does not define, so that what
// verifies is exactly what was signed.
//
// Bytes exactly as Encode writes them are read in one pass that checks
// each token's form as it goes (read.go). Any others are decoded and
// re-encoded once: bytes identical to what Encode writes for the snapshot
// they decode to are canonical JSON (Encode's output always is), spell
// every field as the contract does, omit none and carry no unknown one.
// Only bytes that fail that comparison take the slowest path, which names
// the first rule they break.
func Parse(b []byte) (*Snapshot, error) {
	if s, ok := read(b, true); ok {
		return s, nil
	}
	return parseDecoding(b)
}

// ParseHead is Parse for a reader that needs neither records nor calls nor
// findings (verify): it checks them all the same, so that it accepts and
// refuses exactly what Parse does, but returns a snapshot whose Records,
// Calls and Findings are nil.
func ParseHead(b []byte) (*Snapshot, error) {
	if s, ok := read(b, false); ok {
		return s, nil
	}
	s, err := parseDecoding(b)
	if err != nil {
		return nil, err
	}
	s.Records, s.Calls, s.Findings = nil, nil, nil
	return s, nil
}

// parseDecoding is Parse by decoding and re-encoding.
func parseDecoding(b []byte) (*Snapshot, error) {
	s, err := decode(b)
	if err == nil {
		// Encode normalizes s in place; bytes that survive the comparison
		// were already normal, so s is what they say.
		written, eerr := encode(s, len(b))
		if eerr == nil && bytes.Equal(written, b) {
			return s, nil
		}
	}
	return nil, diagnose(b)
}

// diagnose names why b is not a stored snapshot, in the order the rules
// are checked: JSON, canonical form, the contract's fields, their values,
// then the form Encode writes.
func diagnose(b []byte) error {
	canon, err := jcs.Transform(b)
	if err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if !bytes.Equal(canon, b) {
		return errors.New("not canonical JSON (RFC 8785)")
	}
	s, err := decode(b)
	if err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	// Go's decoder matches field names regardless of case and lets fields
	// be absent: only bytes identical to what exhibit writes are evidence.
	written, err := Encode(s)
	if err != nil {
		return err
	}
	if !bytes.Equal(written, b) {
		return errors.New("not in the form the v1 contract writes (field names, missing fields, order of controls, or time precision)")
	}
	// Unreachable while Encode is deterministic: Parse found a difference.
	return errors.New("not in the form the v1 contract writes (re-encoding is not stable)")
}

func decode(b []byte) (*Snapshot, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	return &s, nil
}

var (
	hexDigest  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	seriesName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$`)
	// controlRef is the pattern ValidControlRef matches by hand.
	controlRef = regexp.MustCompile(`^[a-z0-9]+:[A-Za-z0-9()._\-]+$`)
)

// ValidSeries reports whether name is a well-formed series name:
// "<collector id>/<scope>", lower case, safe as a storage key.
func ValidSeries(name string) bool { return seriesName.MatchString(name) }

// ValidControlRef reports whether ref looks like "soc2:CC6.1" or
// "hipaa:164.312(a)(2)(iv)": the framework in lower-case letters and
// digits, a colon, then letters, digits and ( ) . _ -. It matches as the
// pattern controlRef does, without the regexp machinery: every finding's
// controls are checked on every read.
func ValidControlRef(ref string) bool {
	framework, id, ok := strings.Cut(ref, ":")
	if !ok || framework == "" || id == "" {
		return false
	}
	for i := range len(framework) {
		if c := framework[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	for i := range len(id) {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '(', c == ')', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Validate checks the structural rules of the contract.
func (s *Snapshot) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if s.Schema != Schema {
		bad("schema", "want %q, got %q", Schema, s.Schema)
	}
	if _, err := ulid.ParseStrict(s.ID); err != nil {
		bad("id", "not a ULID: %q", s.ID)
	}
	if !ValidSeries(s.Series) {
		bad("series", "malformed series name %q", s.Series)
	}
	switch {
	case s.Seq < 1:
		bad("seq", "must be 1 or more, got %d", s.Seq)
	case s.Seq == 1 && s.Prev != "":
		bad("prev", "must be empty for seq 1")
	case s.Seq > 1 && !hexDigest.MatchString(s.Prev):
		bad("prev", "must be a hex SHA-256 for seq %d, got %q", s.Seq, s.Prev)
	}
	if s.Collector.Type == "" || s.Collector.ID == "" {
		bad("collector", "type and id are required")
	}
	if s.StartedAt.IsZero() || s.FinishedAt.IsZero() {
		bad("started_at/finished_at", "both are required")
	} else if s.FinishedAt.Before(s.StartedAt) {
		bad("finished_at", "before started_at")
	}
	if s.Window != nil && s.Window.End.Before(s.Window.Start) {
		bad("window", "end before start")
	}
	switch s.Status {
	case StatusComplete:
		if len(s.Errors) > 0 {
			bad("status", "complete, but %d errors are recorded", len(s.Errors))
		}
	case StatusPartial, StatusFailed:
		if len(s.Errors) == 0 {
			bad("status", "%s without any recorded error", s.Status)
		}
	default:
		bad("status", "unknown status %q", s.Status)
	}
	for i, a := range s.Attachments {
		if !hexDigest.MatchString(a.SHA256) {
			bad(fmt.Sprintf("attachments[%d].sha256", i), "not a hex SHA-256: %q", a.SHA256)
		}
	}
	for i := range s.Findings {
		validFinding(bad, i, &s.Findings[i])
	}
	if s.KeyID != "" && !hexDigest.MatchString(s.KeyID) {
		bad("key_id", "not a hex SHA-256: %q", s.KeyID)
	}
	return errors.Join(errs...)
}

// validFinding checks findings[i], f: its result, check, resource,
// controls and accepted risk.
func validFinding(bad func(field, format string, args ...any), i int, f *Finding) {
	if !f.Status.Valid() {
		bad(fmt.Sprintf("findings[%d].status", i), "unknown result %q", f.Status)
	}
	if f.Check == "" || f.Resource == "" {
		bad(fmt.Sprintf("findings[%d]", i), "check and resource are required")
	}
	for _, c := range f.Controls {
		if !ValidControlRef(c) {
			bad(fmt.Sprintf("findings[%d].controls", i), "malformed reference %q", c)
		}
	}
	if f.Accepted != nil || f.AcceptanceExpired != nil {
		validAcceptance(bad, fmt.Sprintf("findings[%d]", i), f)
	}
}

// validAcceptance checks a finding's accepted risk: only a failing finding
// carries one (an acceptance never sits on a pass, an error or a finding
// that does not apply), never together with an expired one, with every
// field set and dates as YYYY-MM-DD.
func validAcceptance(bad func(field, format string, args ...any), p string, f *Finding) {
	if f.Accepted == nil && f.AcceptanceExpired == nil {
		return
	}
	if f.Status != Fail {
		bad(p, "an accepted risk on a finding that is %s, not fail; only failing findings carry one", f.Status)
	}
	if f.Accepted != nil && f.AcceptanceExpired != nil {
		bad(p, "both accepted and acceptance_expired")
	}
	date := func(field, v string) {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			bad(p+"."+field, "want a date YYYY-MM-DD, got %q", v)
		}
	}
	if a := f.Accepted; a != nil {
		if a.ID == "" || a.Owner == "" || a.Reason == "" || a.Approver == "" {
			bad(p+".accepted", "id, owner, reason and approver are required")
		}
		date("accepted.until", a.Until)
		date("accepted.approved", a.Approved)
	}
	if e := f.AcceptanceExpired; e != nil {
		if e.ID == "" || e.Owner == "" {
			bad(p+".acceptance_expired", "id and owner are required")
		}
		date("acceptance_expired.until", e.Until)
	}
}

func (s *Snapshot) normalize() {
	utc := func(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
	s.Schema = Schema
	s.StartedAt, s.FinishedAt = utc(s.StartedAt), utc(s.FinishedAt)
	if s.Window != nil {
		s.Window.Start, s.Window.End = utc(s.Window.Start), utc(s.Window.End)
	}
	for i := range s.Calls {
		s.Calls[i].Time = utc(s.Calls[i].Time)
	}
	set := map[string]struct{}{}
	for i := range s.Findings {
		f := &s.Findings[i]
		slices.Sort(f.Controls)
		f.Controls = slices.Compact(f.Controls)
		if f.Controls == nil {
			f.Controls = []string{}
		}
		for _, c := range f.Controls {
			set[c] = struct{}{}
		}
	}
	for _, c := range s.Controls {
		set[c] = struct{}{}
	}
	s.Controls = make([]string, 0, len(set))
	for c := range set {
		s.Controls = append(s.Controls, c)
	}
	slices.Sort(s.Controls)
	for i := range s.Records {
		if s.Records[i].Attributes == nil {
			s.Records[i].Attributes = map[string]any{}
		}
	}
	if s.Errors == nil {
		s.Errors = []RunError{}
	}
	if s.Records == nil {
		s.Records = []Record{}
	}
	if s.Attachments == nil {
		s.Attachments = []Attachment{}
	}
	if s.Findings == nil {
		s.Findings = []Finding{}
	}
	if s.Calls == nil {
		s.Calls = []Call{}
	}
}

// Summary counts findings by result.
func (s *Snapshot) Summary() map[Result]int {
	out := map[Result]int{}
	for _, f := range s.Findings {
		out[f.Status]++
	}
	return out
}

// SeriesName builds a series name from a collector id and a scope account,
// lower-cased, with characters unsafe in storage keys replaced.
func SeriesName(collectorID, account string) string {
	clean := func(v string) string {
		v = strings.ToLower(v)
		var b strings.Builder
		for _, r := range v {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
				b.WriteRune(r)
			default:
				b.WriteRune('-')
			}
		}
		out := strings.Trim(b.String(), "-._")
		if out == "" {
			out = "default"
		}
		return out
	}
	return clean(collectorID) + "/" + clean(account)
}
