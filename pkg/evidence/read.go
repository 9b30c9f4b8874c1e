package evidence

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// This file reads stored snapshot bytes in one pass when they are exactly
// what Encode writes, checking each token against the form Encode would
// give it as it goes: members in their fixed order with their contract
// names, optional members present only when not empty, strings with only
// RFC 8785's escapes and valid UTF-8, numbers as appendNumber writes them,
// times in UTC to the millisecond, control lists sorted. Bytes it accepts
// are those Parse's decode-and-re-encode comparison accepts, and give the
// same snapshot (FuzzReadAgreesWithParse); bytes it does not accept go that
// slower way, which names what is wrong.

// maxValueDepth bounds the nesting of observed values read in one pass;
// deeper ones take the general path, which has its own limit.
const maxValueDepth = 200

// reader reads b from i. Once ok is false it stays false and every method
// returns zero values: the bytes are not in Encode's form (or may not be).
type reader struct {
	b  []byte
	i  int
	ok bool
	// values keeps what ParseHead lets go: records, calls, findings and
	// observed values; without it they are checked and let go.
	values bool
	// seen holds the strings that findings repeat (checks, results,
	// reasons, controls), so that each is allocated once per snapshot.
	seen map[string]string
	// recent holds the last strings shared returned that were written
	// without escapes, looked at before seen: a finding mostly repeats the
	// strings of the one before it.
	recent [8]string
	next   int
	// controls is the list a finding's controls are read into when the
	// finding is checked and let go.
	controls []string
}

// maxSeen bounds the strings a reader keeps to share.
const maxSeen = 512

// shared reads a string that findings repeat, allocating it only the
// first time it appears in the snapshot.
func (r *reader) shared() string {
	start := r.i + 1
	_, n := r.scan(false)
	if !r.ok {
		return ""
	}
	view := r.b[start : start+n]
	for _, s := range r.recent {
		if len(s) == len(view) && s == string(view) {
			return s
		}
	}
	s, ok := r.seen[string(view)]
	if !ok {
		sub := reader{b: r.b, i: start - 1, ok: true}
		s, _ = sub.scan(true)
		if len(r.seen) < maxSeen {
			if r.seen == nil {
				r.seen = map[string]string{}
			}
			r.seen[string(view)] = s
		}
	}
	if len(s) == n {
		// Written without escapes: its view is itself, which is what the
		// loop above compares. A string with escapes is not kept there: the
		// view of another could be its decoded form ("a\\nb" decodes to
		// what "a\nb" is written as).
		r.recent[r.next%len(r.recent)] = s
		r.next++
	}
	return s
}

// read reads b into a snapshot. With all, records, calls, findings and
// observed values are kept; without, they are checked and left nil.
func read(b []byte, all bool) (*Snapshot, bool) {
	r := reader{b: b, ok: true, values: all}
	s := &Snapshot{}
	r.snapshot(s, all)
	if !r.ok || r.i != len(b) || !normalControls(s) || s.Validate() != nil {
		return nil, false
	}
	return s, true
}

// normalControls reports whether s's controls are what normalize makes
// them: sorted, without repeats, each finding's among the snapshot's.
func normalControls(s *Snapshot) bool {
	if !strictlySorted(s.Controls) {
		return false
	}
	for i := range s.Findings {
		for _, c := range s.Findings[i].Controls {
			if _, found := slices.BinarySearch(s.Controls, c); !found {
				return false
			}
		}
	}
	return true
}

func strictlySorted(ss []string) bool {
	for i := 1; i < len(ss); i++ {
		if ss[i-1] >= ss[i] {
			return false
		}
	}
	return true
}

func (r *reader) fail() { r.ok = false }

// lit consumes s, which must come next.
func (r *reader) lit(s string) {
	if !r.ok {
		return
	}
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		r.fail()
		return
	}
	r.i += len(s)
}

// opt consumes s if it comes next, and says whether it did.
func (r *reader) opt(s string) bool {
	if !r.ok || len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// list reads an array (never null), calling elem for each element.
func (r *reader) list(elem func()) {
	r.lit("[")
	if r.opt("]") {
		return
	}
	for r.ok {
		elem()
		if !r.opt(",") {
			break
		}
	}
	r.lit("]")
}

func (r *reader) strings() []string {
	out := []string{}
	r.list(func() { out = append(out, r.str()) })
	return out
}

// nonEmptyStrings reads a list omitempty leaves out when empty.
func (r *reader) nonEmptyStrings() []string {
	out := r.strings()
	if len(out) == 0 {
		r.fail()
	}
	return out
}

// plain marks the bytes a string holds as themselves, without a look at
// what follows: printable ASCII but the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainRun returns the index of the first byte from i on that is not
// plain, or len(b): eight bytes at a time, then byte by byte for the last
// few. A byte is special if it is the quote, the backslash, below 0x20 or
// above 0x7f; the word test flags each special byte, and may flag bytes
// above a special one, never below it, so its lowest flag is the first
// special byte.
func plainRun(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := w^(ones*'"'), w^(ones*'\\')
		// A byte below n sets its high bit in w - ones*n (for n <= 0x80);
		// a zero byte of quote or backslash is a match.
		if m := (w | (w - ones*0x20) | (quote-ones)&^quote | (backslash-ones)&^backslash) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

// str reads a string as appendString writes it.
func (r *reader) str() string {
	s, _ := r.scan(true)
	return s
}

// text reads a string kept only with r.values (of records and calls).
func (r *reader) text() string {
	s, _ := r.scan(r.values)
	return s
}

// nonEmptyText reads a text omitempty leaves out when empty.
func (r *reader) nonEmptyText() string {
	s, n := r.scan(r.values)
	if n == 0 {
		r.fail()
	}
	return s
}

// scan reads a string as appendString writes it, returning it when keep
// and the length of its written form between the quotes.
func (r *reader) scan(keep bool) (string, int) {
	if r.ok && r.i < len(r.b) && r.b[r.i] == '"' {
		// Most strings are plain bytes to the closing quote.
		start := r.i + 1
		if end := plainRun(r.b, start); end < len(r.b) && r.b[end] == '"' {
			r.i = end + 1
			if keep {
				return string(r.b[start:end]), end - start
			}
			return "", end - start
		}
	}
	r.lit(`"`)
	if !r.ok {
		return "", 0
	}
	start := r.i
	var esc []byte // the decoded string, once an escape is met
	for r.i < len(r.b) {
		run := r.i
		r.i = plainRun(r.b, r.i)
		if esc != nil {
			esc = append(esc, r.b[run:r.i]...)
		}
		if r.i == len(r.b) {
			break
		}
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			n := r.i - 1 - start
			switch {
			case !keep:
				return "", n
			case esc != nil:
				return string(esc), n
			}
			return string(r.b[start : r.i-1]), n
		case c == '\\':
			if keep && esc == nil {
				esc = append([]byte(nil), r.b[start:r.i]...)
			}
			d, n := canonicalEscape(r.b[r.i:])
			if n == 0 {
				r.fail()
				return "", 0
			}
			if keep {
				esc = append(esc, d)
			}
			r.i += n
		case c < 0x20:
			r.fail()
			return "", 0
		case c < utf8.RuneSelf:
			if esc != nil {
				esc = append(esc, c)
			}
			r.i++
		default:
			ru, n := utf8.DecodeRune(r.b[r.i:])
			if ru == utf8.RuneError && n == 1 {
				r.fail()
				return "", 0
			}
			if esc != nil {
				esc = append(esc, r.b[r.i:r.i+n]...)
			}
			r.i += n
		}
	}
	r.fail()
	return "", 0
}

// key reads a member name of an observed object: the name with r.values,
// else its bytes (without a copy when written without escapes), enough to
// check the order of names.
func (r *reader) key() (name string, view []byte) {
	start := r.i + 1
	s, n := r.scan(r.values)
	if !r.ok || r.values {
		return s, nil
	}
	view = r.b[start : start+n]
	if bytes.IndexByte(view, '\\') >= 0 {
		// Rare: decode it.
		sub := reader{b: r.b, i: start - 1, ok: true}
		d, _ := sub.scan(true)
		view = []byte(d)
	}
	return "", view
}

// canonicalEscape decodes the escape at the start of b if appendString
// writes that escape, and says how many bytes it took (0: not canonical).
func canonicalEscape(b []byte) (byte, int) {
	if len(b) < 2 {
		return 0, 0
	}
	switch b[1] {
	case '"', '\\':
		return b[1], 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		if len(b) < 6 || b[2] != '0' || b[3] != '0' || (b[4] != '0' && b[4] != '1') {
			return 0, 0
		}
		lo := byteIndex(hexDigits, b[5])
		if lo < 0 {
			return 0, 0
		}
		c := (b[4]-'0')<<4 | byte(lo)
		switch c {
		case '\b', '\f', '\n', '\r', '\t':
			return 0, 0 // written with their short escapes
		}
		return c, 6
	}
	return 0, 0
}

func byteIndex(s string, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// nonEmpty reads a string omitempty leaves out when empty.
func (r *reader) nonEmpty() string {
	s := r.str()
	if s == "" {
		r.fail()
	}
	return s
}

// token is the number at i: the bytes a JSON number may be made of.
func (r *reader) token() []byte {
	start := r.i
	for r.ok && r.i < len(r.b) {
		switch r.b[r.i] {
		case '-', '+', '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			r.i++
			continue
		}
		break
	}
	if r.i == start {
		r.fail()
	}
	return r.b[start:r.i]
}

// int reads an integer as encoding/json decodes it into an integer field
// and appendNumber writes it back.
func (r *reader) int() int64 {
	tok := r.token()
	if !r.ok {
		return 0
	}
	if n, ok := shortInt(tok); ok {
		return n
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	if err != nil || !sameNumber(tok, float64(n)) {
		r.fail()
	}
	return n
}

// intField reads an int field, refused where int is narrower than the
// number, as encoding/json refuses it.
func (r *reader) intField() int {
	n := r.int()
	if int64(int(n)) != n {
		r.fail()
	}
	return int(n)
}

// shortInt reads an integer of at most 15 digits written as appendNumber
// writes it (no sign but a minus, no leading zero, not -0): every such
// integer is exact as a float64 and written back digit for digit, so it
// needs no round trip through the float form.
func shortInt(tok []byte) (int64, bool) {
	digits := tok
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 || digits[0] == '0' && len(tok) > 1 {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(tok) {
		n = -n
	}
	return n, true
}

func sameNumber(tok []byte, f float64) bool {
	var buf [32]byte
	out, err := appendNumber(buf[:0], f)
	return err == nil && string(out) == string(tok)
}

// time reads a time as encoding/json decodes it (without unescaping) and
// Encode writes it after normalizing: UTC, to the millisecond.
func (r *reader) time() time.Time {
	if !r.ok || r.i >= len(r.b) || r.b[r.i] != '"' {
		r.fail()
		return time.Time{}
	}
	start := r.i
	r.i++
	for r.i < len(r.b) && r.b[r.i] != '"' {
		if r.b[r.i] == '\\' || r.b[r.i] < 0x20 || r.b[r.i] >= utf8.RuneSelf {
			r.fail()
			return time.Time{}
		}
		r.i++
	}
	if r.i >= len(r.b) {
		r.fail()
		return time.Time{}
	}
	r.i++
	tok := r.b[start:r.i]
	var t time.Time
	if err := t.UnmarshalJSON(tok); err != nil {
		r.fail()
		return time.Time{}
	}
	t = t.UTC().Truncate(time.Millisecond)
	var buf [40]byte
	out, err := t.AppendText(buf[:0])
	if err != nil || string(out) != string(tok[1:len(tok)-1]) {
		r.fail()
	}
	return t
}

// value reads an observed value as encoding/json decodes it into an any
// and the direct writer writes it back; nil unless r.values.
func (r *reader) value(depth int) any {
	if !r.ok || r.i >= len(r.b) || depth > maxValueDepth {
		r.fail()
		return nil
	}
	switch c := r.b[r.i]; {
	case c == '{':
		return r.object(depth + 1)
	case c == '[':
		var out []any
		if r.values {
			out = []any{}
		}
		r.list(func() {
			v := r.value(depth + 1)
			if r.values {
				out = append(out, v)
			}
		})
		if r.values {
			return out
		}
		return nil
	case c == '"':
		s, _ := r.scan(r.values)
		if r.values {
			return s
		}
		return nil
	case c == 't':
		r.lit("true")
		return true
	case c == 'f':
		r.lit("false")
		return false
	case c == 'n':
		r.lit("null")
		return nil
	}
	tok := r.token()
	if !r.ok {
		return nil
	}
	if n, ok := shortInt(tok); ok {
		if r.values {
			return float64(n)
		}
		return nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || !sameNumber(tok, f) {
		r.fail()
		return nil
	}
	if r.values {
		return f
	}
	return nil
}

// object reads an object whose member names are in RFC 8785 order without
// repeats: a map that the direct writer writes back member for member.
func (r *reader) object(depth int) map[string]any {
	var m map[string]any
	if r.values {
		m = map[string]any{}
	}
	r.lit("{")
	if r.opt("}") {
		return m
	}
	var prevName string
	var prevView []byte
	first := true
	for r.ok {
		k, view := r.key()
		if !first && (r.values && compareUTF16(prevName, k) >= 0 || !r.values && compareUTF16(prevView, view) >= 0) {
			r.fail()
		}
		prevName, prevView, first = k, view, false
		r.lit(":")
		v := r.value(depth)
		if r.values {
			m[k] = v
		}
		if !r.opt(",") {
			break
		}
	}
	r.lit("}")
	return m
}

// The members below come in the order, and with the omissions, of the
// direct writer (jcs.go).

func (r *reader) snapshot(s *Snapshot, all bool) {
	r.lit(`{"agent":{`)
	if r.opt(`"hostname":`) {
		s.Agent.Hostname = r.nonEmpty()
		r.lit(",")
	}
	r.lit(`"version":`)
	s.Agent.Version = r.str()
	r.lit(`},"attachments":`)
	s.Attachments = []Attachment{}
	r.list(func() {
		var a Attachment
		r.lit(`{"media_type":`)
		a.MediaType = r.str()
		r.lit(`,"name":`)
		a.Name = r.str()
		r.lit(`,"sha256":`)
		a.SHA256 = r.str()
		r.lit(`,"size":`)
		a.Size = r.int()
		r.lit("}")
		s.Attachments = append(s.Attachments, a)
	})
	r.lit(`,"calls":`)
	if all {
		s.Calls = []Call{}
	}
	r.list(func() {
		c := r.call()
		if all {
			s.Calls = append(s.Calls, c)
		}
	})
	r.lit(`,"collector":{"id":`)
	s.Collector.ID = r.str()
	r.lit(`,"type":`)
	s.Collector.Type = r.str()
	r.lit(`,"version":`)
	s.Collector.Version = r.str()
	r.lit(`},"controls":`)
	s.Controls = r.strings()
	r.lit(`,"errors":`)
	s.Errors = []RunError{}
	r.list(func() {
		var e RunError
		r.lit(`{"message":`)
		e.Message = r.str()
		if r.opt(`,"operation":`) {
			e.Operation = r.nonEmpty()
		}
		r.lit(`,"where":`)
		e.Where = r.str()
		r.lit("}")
		s.Errors = append(s.Errors, e)
	})
	r.lit(`,"findings":`)
	if all {
		s.Findings = []Finding{}
	}
	n := 0
	r.list(func() {
		f := r.finding()
		if all {
			s.Findings = append(s.Findings, f)
			return
		}
		// Checked here as Validate and normalControls would check it in
		// s.Findings, then let go.
		valid := true
		validFinding(func(string, string, ...any) { valid = false }, n, &f)
		for _, c := range f.Controls {
			if _, found := slices.BinarySearch(s.Controls, c); !found {
				valid = false
			}
		}
		if !valid {
			r.fail()
		}
		r.controls = f.Controls
		n++
	})
	r.lit(`,"finished_at":`)
	s.FinishedAt = r.time()
	r.lit(`,"id":`)
	s.ID = r.str()
	r.lit(`,"key_id":`)
	s.KeyID = r.str()
	r.lit(`,"prev":`)
	s.Prev = r.str()
	r.lit(`,"records":`)
	if all {
		s.Records = []Record{}
	}
	r.list(func() {
		rec := r.record()
		if all {
			s.Records = append(s.Records, rec)
		}
	})
	if r.opt(`,"schedule":`) {
		s.Schedule = r.nonEmpty()
	}
	r.lit(`,"schema":`)
	s.Schema = r.str()
	r.lit(`,"scope":{"account":`)
	s.Scope.Account = r.str()
	if r.opt(`,"endpoint":`) {
		s.Scope.Endpoint = r.nonEmpty()
	}
	r.lit(`,"provider":`)
	s.Scope.Provider = r.str()
	if r.opt(`,"regions":`) {
		s.Scope.Regions = r.nonEmptyStrings()
	}
	r.lit(`},"seq":`)
	s.Seq = r.int()
	r.lit(`,"series":`)
	s.Series = r.str()
	r.lit(`,"started_at":`)
	s.StartedAt = r.time()
	r.lit(`,"status":`)
	s.Status = Status(r.str())
	if r.opt(`,"warnings":`) {
		s.Warnings = r.nonEmptyStrings()
	}
	if r.opt(`,"window":{"end":`) {
		s.Window = &Window{}
		s.Window.End = r.time()
		r.lit(`,"start":`)
		s.Window.Start = r.time()
		r.lit("}")
	}
	r.lit("}")
}

func (r *reader) call() Call {
	var c Call
	r.lit(`{"attempt":`)
	c.Attempt = r.intField()
	if r.opt(`,"error":`) {
		c.Error = r.nonEmptyText()
	}
	if r.opt(`,"http_status":`) {
		if c.HTTPStatus = r.intField(); c.HTTPStatus == 0 {
			r.fail()
		}
	}
	r.lit(`,"operation":`)
	c.Operation = r.text()
	if r.opt(`,"region":`) {
		c.Region = r.nonEmptyText()
	}
	if r.opt(`,"request_id":`) {
		c.RequestID = r.nonEmptyText()
	}
	r.lit(`,"service":`)
	c.Service = r.text()
	r.lit(`,"time":`)
	c.Time = r.time()
	r.lit("}")
	return c
}

func (r *reader) finding() Finding {
	var f Finding
	r.lit("{")
	if r.opt(`"acceptance_expired":{"id":`) {
		e := &ExpiredAcceptance{}
		e.ID = r.str()
		r.lit(`,"owner":`)
		e.Owner = r.str()
		r.lit(`,"until":`)
		e.Until = r.str()
		r.lit("},")
		f.AcceptanceExpired = e
	}
	if r.opt(`"accepted":{"approved":`) {
		a := &Acceptance{}
		a.Approved = r.str()
		r.lit(`,"approver":`)
		a.Approver = r.str()
		r.lit(`,"id":`)
		a.ID = r.str()
		r.lit(`,"owner":`)
		a.Owner = r.str()
		r.lit(`,"reason":`)
		a.Reason = r.str()
		r.lit(`,"until":`)
		a.Until = r.str()
		r.lit("},")
		f.Accepted = a
	}
	r.lit(`"check":`)
	f.Check = r.shared()
	r.lit(`,"controls":`)
	if r.values {
		f.Controls = []string{}
	} else {
		f.Controls = r.controls[:0] // let go before the next finding
	}
	r.list(func() { f.Controls = append(f.Controls, r.shared()) })
	if !strictlySorted(f.Controls) {
		r.fail()
	}
	if r.opt(`,"observed":`) {
		if r.opt("{}") {
			r.fail() // omitempty leaves an empty map out
		}
		f.Observed = r.object(1)
	}
	r.lit(`,"reason":`)
	f.Reason = r.shared()
	r.lit(`,"resource":`)
	if r.values {
		f.Resource = r.str()
	} else if _, n := r.scan(false); n > 0 {
		// Kept only to say it is not empty: the finding is let go.
		f.Resource = "resource"
	}
	r.lit(`,"status":`)
	f.Status = Result(r.shared())
	r.lit("}")
	return f
}

func (r *reader) record() Record {
	var rec Record
	r.lit(`{"attributes":`)
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		r.fail() // normalize makes a nil map {}
	}
	rec.Attributes = r.object(1)
	r.lit(`,"id":`)
	rec.ID = r.text()
	if r.opt(`,"region":`) {
		rec.Region = r.nonEmptyText()
	}
	r.lit(`,"type":`)
	rec.Type = r.text()
	r.lit("}")
	return rec
}
