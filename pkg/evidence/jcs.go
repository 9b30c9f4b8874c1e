package evidence

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// This file writes a snapshot in RFC 8785 form directly from its Go types:
// members sorted by their names' UTF-16 code units, numbers as ECMAScript
// prints a double, strings with only the escapes RFC 8785 keeps, no white
// space. It produces exactly the bytes Canonical (json.Marshal, then a JCS
// pass over its output) produces for the same snapshot, without parsing
// that output again; FuzzCanonicalAgreesWithJCS holds the two together.

// appendSnapshot appends the canonical form of s to b.
func appendSnapshot(b []byte, s *Snapshot) ([]byte, error) {
	e := encoder{b: b}
	e.snapshot(s)
	return e.b, e.err
}

// encodedSize is the length of the canonical form of s, found by writing
// it through a small buffer that is counted and emptied between the
// elements of its lists: a large snapshot is then made at its final size
// at once, rather than grown to it, which held the last two sizes at
// once (the bytes of 20,000 pull requests are 27 MB).
func encodedSize(s *Snapshot) (int, error) {
	e := encoder{b: make([]byte, 0, 2*spillAt), counting: true}
	e.snapshot(s)
	return e.n + len(e.b), e.err
}

// spillAt is how much a counting encoder holds before it counts and
// empties its buffer.
const spillAt = 32 << 10

// encoder appends canonical JSON to b; the first error sticks and the
// caller discards b. A counting encoder only counts what it writes (n).
type encoder struct {
	b        []byte
	err      error
	counting bool
	n        int
}

// spill counts and empties the buffer of a counting encoder that holds
// spillAt or more.
func (e *encoder) spill() {
	if e.counting && len(e.b) >= spillAt {
		e.n += len(e.b)
		e.b = e.b[:0]
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// name writes a member name of the types below, all ASCII and needing no
// escape, preceded by a comma unless it is the first of its object.
func (e *encoder) name(first bool, n string) {
	if !first {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, n...)
	e.b = append(e.b, '"', ':')
}

// The members of each type are written in their sorted order; json tags
// with omitempty leave out empty strings, zero numbers, nil pointers and
// empty slices and maps, as encoding/json does.

func (e *encoder) snapshot(s *Snapshot) {
	e.b = append(e.b, '{')
	e.name(true, "agent")
	e.agent(s.Agent)
	e.name(false, "attachments")
	e.list(len(s.Attachments), s.Attachments == nil, func(i int) { e.attachment(&s.Attachments[i]) })
	e.name(false, "calls")
	e.list(len(s.Calls), s.Calls == nil, func(i int) { e.call(&s.Calls[i]) })
	e.name(false, "collector")
	e.collector(s.Collector)
	e.name(false, "controls")
	e.strings(s.Controls)
	e.name(false, "errors")
	e.list(len(s.Errors), s.Errors == nil, func(i int) { e.runError(&s.Errors[i]) })
	e.name(false, "findings")
	e.list(len(s.Findings), s.Findings == nil, func(i int) { e.finding(&s.Findings[i]) })
	e.name(false, "finished_at")
	e.time(s.FinishedAt)
	e.name(false, "id")
	e.string(s.ID)
	e.name(false, "key_id")
	e.string(s.KeyID)
	e.name(false, "prev")
	e.string(s.Prev)
	e.name(false, "records")
	e.list(len(s.Records), s.Records == nil, func(i int) { e.record(&s.Records[i]) })
	if s.Schedule != "" {
		e.name(false, "schedule")
		e.string(s.Schedule)
	}
	e.name(false, "schema")
	e.string(s.Schema)
	e.name(false, "scope")
	e.scope(s.Scope)
	e.name(false, "seq")
	e.number(float64(s.Seq))
	e.name(false, "series")
	e.string(s.Series)
	e.name(false, "started_at")
	e.time(s.StartedAt)
	e.name(false, "status")
	e.string(string(s.Status))
	if len(s.Warnings) > 0 {
		e.name(false, "warnings")
		e.strings(s.Warnings)
	}
	if s.Window != nil {
		e.name(false, "window")
		e.b = append(e.b, '{')
		e.name(true, "end")
		e.time(s.Window.End)
		e.name(false, "start")
		e.time(s.Window.Start)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, '}')
}

func (e *encoder) agent(a Agent) {
	e.b = append(e.b, '{')
	first := true
	if a.Hostname != "" {
		e.name(first, "hostname")
		e.string(a.Hostname)
		first = false
	}
	e.name(first, "version")
	e.string(a.Version)
	e.b = append(e.b, '}')
}

func (e *encoder) attachment(a *Attachment) {
	e.b = append(e.b, '{')
	e.name(true, "media_type")
	e.string(a.MediaType)
	e.name(false, "name")
	e.string(a.Name)
	e.name(false, "sha256")
	e.string(a.SHA256)
	e.name(false, "size")
	e.number(float64(a.Size))
	e.b = append(e.b, '}')
}

func (e *encoder) call(c *Call) {
	e.b = append(e.b, '{')
	e.name(true, "attempt")
	e.number(float64(c.Attempt))
	if c.Error != "" {
		e.name(false, "error")
		e.string(c.Error)
	}
	if c.HTTPStatus != 0 {
		e.name(false, "http_status")
		e.number(float64(c.HTTPStatus))
	}
	e.name(false, "operation")
	e.string(c.Operation)
	if c.Region != "" {
		e.name(false, "region")
		e.string(c.Region)
	}
	if c.RequestID != "" {
		e.name(false, "request_id")
		e.string(c.RequestID)
	}
	e.name(false, "service")
	e.string(c.Service)
	e.name(false, "time")
	e.time(c.Time)
	e.b = append(e.b, '}')
}

func (e *encoder) collector(c CollectorRef) {
	e.b = append(e.b, '{')
	e.name(true, "id")
	e.string(c.ID)
	e.name(false, "type")
	e.string(c.Type)
	e.name(false, "version")
	e.string(c.Version)
	e.b = append(e.b, '}')
}

func (e *encoder) runError(r *RunError) {
	e.b = append(e.b, '{')
	e.name(true, "message")
	e.string(r.Message)
	if r.Operation != "" {
		e.name(false, "operation")
		e.string(r.Operation)
	}
	e.name(false, "where")
	e.string(r.Where)
	e.b = append(e.b, '}')
}

func (e *encoder) finding(f *Finding) {
	e.b = append(e.b, '{')
	first := true
	if e2 := f.AcceptanceExpired; e2 != nil {
		e.name(first, "acceptance_expired")
		first = false
		e.b = append(e.b, '{')
		e.name(true, "id")
		e.string(e2.ID)
		e.name(false, "owner")
		e.string(e2.Owner)
		e.name(false, "until")
		e.string(e2.Until)
		e.b = append(e.b, '}')
	}
	if a := f.Accepted; a != nil {
		e.name(first, "accepted")
		first = false
		e.b = append(e.b, '{')
		e.name(true, "approved")
		e.string(a.Approved)
		e.name(false, "approver")
		e.string(a.Approver)
		e.name(false, "id")
		e.string(a.ID)
		e.name(false, "owner")
		e.string(a.Owner)
		e.name(false, "reason")
		e.string(a.Reason)
		e.name(false, "until")
		e.string(a.Until)
		e.b = append(e.b, '}')
	}
	e.name(first, "check")
	e.string(f.Check)
	e.name(false, "controls")
	e.strings(f.Controls)
	if len(f.Observed) > 0 {
		e.name(false, "observed")
		e.object(f.Observed)
	}
	e.name(false, "reason")
	e.string(f.Reason)
	e.name(false, "resource")
	e.string(f.Resource)
	e.name(false, "status")
	e.string(string(f.Status))
	e.b = append(e.b, '}')
}

func (e *encoder) record(r *Record) {
	e.b = append(e.b, '{')
	e.name(true, "attributes")
	if r.Attributes == nil {
		e.b = append(e.b, "null"...)
	} else {
		e.object(r.Attributes)
	}
	e.name(false, "id")
	e.string(r.ID)
	if r.Region != "" {
		e.name(false, "region")
		e.string(r.Region)
	}
	e.name(false, "type")
	e.string(r.Type)
	e.b = append(e.b, '}')
}

func (e *encoder) scope(s Scope) {
	e.b = append(e.b, '{')
	e.name(true, "account")
	e.string(s.Account)
	if s.Endpoint != "" {
		e.name(false, "endpoint")
		e.string(s.Endpoint)
	}
	e.name(false, "provider")
	e.string(s.Provider)
	if len(s.Regions) > 0 {
		e.name(false, "regions")
		e.strings(s.Regions)
	}
	e.b = append(e.b, '}')
}

// list writes an array of n elements, or null for a nil slice.
func (e *encoder) list(n int, isNil bool, elem func(i int)) {
	if isNil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i := range n {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		elem(i)
		e.spill()
	}
	e.b = append(e.b, ']')
}

func (e *encoder) strings(ss []string) {
	e.list(len(ss), ss == nil, func(i int) { e.string(ss[i]) })
}

// time writes t as encoding/json does (RFC 3339 with the nanoseconds it
// has), refusing what that refuses: a year outside 0–9999.
func (e *encoder) time(t time.Time) {
	e.b = append(e.b, '"')
	b, err := t.AppendText(e.b)
	if err != nil {
		e.fail(fmt.Errorf("encode: %w", err))
		return
	}
	e.b = append(b, '"')
}

func (e *encoder) number(f float64) {
	var err error
	if e.b, err = appendNumber(e.b, f); err != nil {
		e.fail(err)
	}
}

func (e *encoder) string(s string) { e.b = appendString(e.b, s) }

// value writes an observed value: what collectors put in attributes and
// observed maps, or what Parse decoded there. The JSON types are written
// directly; any other Go value takes the general path, json.Marshal then a
// JCS pass over that value alone, which is what the whole document's JCS
// pass would have made of it.
func (e *encoder) value(v any) {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case string:
		e.string(x)
	case bool:
		e.b = strconv.AppendBool(e.b, x)
	case float64:
		e.number(x)
	case int:
		e.number(float64(x))
	case int64:
		e.number(float64(x))
	case int32:
		e.number(float64(x))
	case uint:
		e.number(float64(x))
	case uint64:
		e.number(float64(x))
	case uint32:
		e.number(float64(x))
	case map[string]any:
		if x == nil {
			e.b = append(e.b, "null"...)
			return
		}
		e.object(x)
	case []any:
		e.list(len(x), x == nil, func(i int) { e.value(x[i]) })
	case []string:
		e.strings(x)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			e.fail(fmt.Errorf("encode: %w", err))
			return
		}
		out, err := jcs.Transform(raw)
		if err != nil {
			e.fail(fmt.Errorf("canonicalize: %w", err))
			return
		}
		e.b = append(e.b, out...)
	}
}

// member is one member of a generic object: its name as written (invalid
// UTF-8 replaced, as encoding/json does) and the key that holds its value.
type member struct{ name, key string }

func (e *encoder) object(m map[string]any) {
	members := make([]member, 0, len(m))
	for k := range m {
		members = append(members, member{name: validUTF8(k), key: k})
	}
	slices.SortFunc(members, func(a, b member) int { return compareUTF16(a.name, b.name) })
	e.b = append(e.b, '{')
	for i, mb := range members {
		if i > 0 {
			if members[i-1].name == mb.name {
				// Two keys that differ only in invalid bytes write the
				// same name twice, which is not canonical JSON.
				e.fail(fmt.Errorf("canonicalize: duplicate key %q", mb.name))
				return
			}
			e.b = append(e.b, ',')
		}
		e.string(mb.name)
		e.b = append(e.b, ':')
		e.value(m[mb.key])
	}
	e.b = append(e.b, '}')
}

// compareUTF16 orders strings of valid UTF-8 by their UTF-16 code units, as
// RFC 8785 sorts member names: the same as byte order except that a
// character beyond U+FFFF (a surrogate pair, from 0xD800) sorts before one
// from U+E000 to U+FFFF.
func compareUTF16[T string | []byte](a, b T) int {
	for len(a) > 0 && len(b) > 0 {
		if a[0] < utf8.RuneSelf && b[0] < utf8.RuneSelf {
			if a[0] != b[0] {
				return cmp.Compare(a[0], b[0])
			}
			a, b = a[1:], b[1:]
			continue
		}
		ra, na := decodeRune(a)
		rb, nb := decodeRune(b)
		if ra != rb {
			if ka, kb := utf16Lead(ra), utf16Lead(rb); ka != kb {
				return cmp.Compare(ka, kb)
			}
			// Two characters beyond U+FFFF with the same high surrogate:
			// their low surrogates order as the characters do.
			return cmp.Compare(ra, rb)
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

func decodeRune[T string | []byte](s T) (rune, int) {
	return utf8.DecodeRuneInString(string(s[:min(len(s), utf8.UTFMax)]))
}

// utf16Lead is the first UTF-16 code unit of r.
func utf16Lead(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 with
// U+FFFD, byte by byte, as encoding/json does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(appendValid(nil, s))
}

func appendValid(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s quoted as RFC 8785 does: backslash and quote
// escaped, the control characters that have a short escape (\b \t \n \f
// \r) written so, the others as \u00xx, everything else (U+2028, U+007F,
// '<' included) as itself; invalid UTF-8 becomes U+FFFD byte by byte, as
// json.Marshal writes it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += n
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendNumber writes f as ECMAScript's Number.prototype.toString does,
// which RFC 8785 adopts: the shortest digits that read back as f, in fixed
// notation from 1e-6 up to (not including) 1e21 and in exponent notation
// (1e+21, 5e-324) outside it; -0 is 0. NaN and the infinities are not JSON.
func appendNumber(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("encode: %v is not a JSON number", f)
	}
	if f == 0 {
		return append(b, '0'), nil
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	if f >= 1e-6 && f < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	// Go writes at least two exponent digits (e+09, e-07); ECMAScript
	// writes no leading zero.
	if i := n + bytes.IndexByte(b[n:], 'e'); b[i+2] == '0' {
		b = append(b[:i+2], b[i+3:]...)
	}
	return b, nil
}
