package evidence

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"
	"github.com/stretchr/testify/require"
)

// viaJCS is the reference the direct writer is held to: json.Marshal of the
// snapshot, then the JCS library's pass over that output.
func viaJCS(s *Snapshot) ([]byte, error) { return Canonical(s) }

// direct is the writer Encode uses, without Encode's normalizing and
// validating, so that any snapshot can be compared.
func direct(s *Snapshot) ([]byte, error) { return appendSnapshot(nil, s) }

// agree fails t unless both writers fail, or both write the same bytes.
func agree(t *testing.T, s *Snapshot) {
	t.Helper()
	want, errWant := viaJCS(s)
	got, errGot := direct(s)
	if (errWant == nil) != (errGot == nil) {
		t.Fatalf("JCS path error %v, direct writer error %v", errWant, errGot)
	}
	if errWant == nil && string(want) != string(got) {
		t.Fatalf("writers disagree:\nJCS:    %s\ndirect: %s", want, got)
	}
}

func TestCanonicalNumbers(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-1, "-1"},
		{1e21, "1e+21"}, {1e20, "100000000000000000000"}, {999999999999999900000, "999999999999999900000"},
		{1e-6, "0.000001"}, {1e-7, "1e-7"}, {5e-324, "5e-324"}, {-5e-324, "-5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {0.1, "0.1"}, {1.5e300, "1.5e+300"},
		{9007199254740993, "9007199254740992"}, {123456789.125, "123456789.125"}, {4.35, "4.35"},
	}
	for _, c := range cases {
		got, err := appendNumber(nil, c.in)
		require.NoError(t, err)
		require.Equal(t, c.want, string(got), "%v", c.in)
		lib, err := jcs.NumberToJSON(c.in)
		require.NoError(t, err)
		require.Equal(t, lib, string(got), "%v", c.in)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := appendNumber(nil, bad)
		require.Error(t, err)
	}
}

func TestCanonicalStrings(t *testing.T) {
	cases := map[string]string{
		"plain":                   `"plain"`,
		"a\"b\\c":                 `"a\"b\\c"`,
		"\b\t\n\f\r":              `"\b\t\n\f\r"`,
		"\x00\x01\x1f":            `"\u0000\u0001\u001f"`,
		"\x7f<>&/":                "\"\x7f<>&/\"",
		"line\u2028para\u2029":    "\"line\u2028para\u2029\"",
		"bad\xffbyte":             "\"bad\uFFFDbyte\"",
		"\xed\xa0\x80":            "\"\uFFFD\uFFFD\uFFFD\"", // a surrogate written in UTF-8
		"\U0001F600 \u00e9\ufffd": "\"\U0001F600 \u00e9\ufffd\"",
	}
	for in, want := range cases {
		require.Equal(t, want, string(appendString(nil, in)), "%q", in)
		raw, err := json.Marshal(in)
		require.NoError(t, err)
		lib, err := jcs.Transform(raw)
		require.NoError(t, err)
		require.Equal(t, string(lib), want, "%q", in)
	}
}

func TestCanonicalMemberOrder(t *testing.T) {
	// By UTF-16 code units: U+1F600 (D83D DE00) sorts before U+E000 and
	// U+FFFD, although its code point is larger; ASCII before both.
	m := map[string]any{"\ufffd": 1, "\ue000": 2, "\U0001F600": 3, "b": 4, "a": 5, "aa": 6, "\u00e9": 7, "\U0001F601": 8, "\U00010000": 9}
	var e encoder
	e.object(m)
	require.NoError(t, e.err)
	require.Equal(t, "{\"a\":5,\"aa\":6,\"b\":4,\"\u00e9\":7,\"\U00010000\":9,\"\U0001F600\":3,\"\U0001F601\":8,\"\ue000\":2,\"\ufffd\":1}", string(e.b))
	raw, err := json.Marshal(m)
	require.NoError(t, err)
	lib, err := jcs.Transform(raw)
	require.NoError(t, err)
	require.Equal(t, string(lib), string(e.b))

	// Keys that differ only in invalid bytes collapse to one name.
	e = encoder{}
	e.object(map[string]any{"a\xff": 1, "a\xfe": 2})
	require.ErrorContains(t, e.err, "duplicate key")
}

func TestCanonicalObservedValues(t *testing.T) {
	type custom struct {
		Name string  `json:"name"`
		Z    float32 `json:"z"`
	}
	s := sample()
	s.Records[0].Attributes = map[string]any{
		"nil": nil, "nil map": map[string]any(nil), "nil list": []any(nil), "nil strings": []string(nil),
		"ints":    []any{int(-3), int64(1 << 60), int32(7), uint(8), uint64(math.MaxUint64), uint32(9)},
		"float32": float32(0.1), "struct": custom{Name: "x\u2028", Z: 1e21}, "time": time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		"number": json.Number("1.50"), "strings": []string{"b", "a"}, "map": map[string]int{"b": 1, "a": 2},
		"nested": map[string]any{"z": []any{map[string]any{"y": true, "x": false}}, "\U0001F600": "e"},
		"-0":     math.Copysign(0, -1), "tiny": 5e-324, "big": 1e21,
	}
	s.Findings[0].Observed = map[string]any{"ptr": &custom{Name: "p"}, "empty": map[string]any{}}
	agree(t, s)

	s.Records[0].Attributes = map[string]any{"nan": math.NaN()}
	_, err := direct(s)
	require.Error(t, err)
	agree(t, s)
}

func TestCanonicalOptionalFields(t *testing.T) {
	s := sample()
	agree(t, s)
	full := sample()
	full.Schedule = "@hourly"
	full.Warnings = []string{"w"}
	full.Window = &Window{Start: full.StartedAt.Add(-time.Hour), End: full.StartedAt}
	full.Scope.Regions, full.Scope.Endpoint = []string{"eu-west-1"}, "https://x"
	full.Agent.Hostname = "h"
	full.Records[0].Region = "eu-west-1"
	full.Errors = []RunError{{Where: "w", Operation: "op", Message: "m"}}
	full.Calls = []Call{{Service: "s", Operation: "o", Region: "r", RequestID: "id", Time: full.StartedAt, HTTPStatus: 200, Attempt: 1, Error: "e"}}
	full.Attachments = []Attachment{{Name: "n", MediaType: "text/csv", SHA256: strings.Repeat("a", 64), Size: 3}}
	full.Findings[0].Observed = map[string]any{"k": "v"}
	full.Findings[0].Accepted = &Acceptance{ID: "a", Owner: "o", Reason: "r", Until: "u", Approver: "p", Approved: "d"}
	full.Findings[0].AcceptanceExpired = &ExpiredAcceptance{ID: "a", Owner: "o", Until: "u"}
	agree(t, full)
	// Empty but not nil: omitempty leaves these out, the others stay.
	empty := sample()
	empty.Warnings, empty.Scope.Regions, empty.Findings[0].Observed = []string{}, []string{}, map[string]any{}
	empty.Records[0].Attributes = nil
	empty.Errors, empty.Calls = []RunError{}, nil
	agree(t, empty)
	// Years encoding/json refuses, the direct writer refuses.
	far := sample()
	far.StartedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := direct(far)
	require.Error(t, err)
	agree(t, far)
}

// randomSnapshot builds a snapshot of every shape the contract allows, with
// hostile strings and numbers, from a seed.
func randomSnapshot(seed1, seed2 uint64) *Snapshot {
	r := rand.New(rand.NewPCG(seed1, seed2))
	runes := []rune{'a', 'Z', '"', '\\', '/', '\b', '\t', '\n', 0, 0x1f, 0x7f, '<', 0xe9, 0x2028, 0x2029, 0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff}
	str := func() string {
		var b strings.Builder
		for range r.IntN(6) {
			if r.IntN(10) == 0 {
				b.WriteByte(byte(0x80 + r.IntN(0x80))) // invalid UTF-8
			} else {
				b.WriteRune(runes[r.IntN(len(runes))])
			}
		}
		return b.String()
	}
	num := func() float64 {
		switch r.IntN(5) {
		case 0:
			return math.Float64frombits(r.Uint64())
		case 1:
			return float64(r.Int64N(1<<62)) - float64(1<<61)
		case 2:
			return math.Copysign(0, -1)
		case 3:
			return r.NormFloat64() * math.Pow(10, float64(r.IntN(60)-30))
		}
		return float64(r.IntN(1000))
	}
	var value func(depth int) any
	value = func(depth int) any {
		k := r.IntN(12)
		if depth > 3 {
			k %= 6
		}
		switch k {
		case 0:
			return nil
		case 1:
			return str()
		case 2:
			return r.IntN(2) == 0
		case 3:
			return num()
		case 4:
			return r.Int64()
		case 5:
			return []string{str(), str()}
		case 6, 7:
			m := map[string]any{}
			for range r.IntN(5) {
				m[str()] = value(depth + 1)
			}
			return m
		case 8, 9:
			var l []any
			for range r.IntN(4) {
				l = append(l, value(depth+1))
			}
			return l
		case 10:
			return map[string]string{str(): str()}
		}
		return float32(num())
	}
	obj := func() map[string]any {
		if r.IntN(5) == 0 {
			return nil
		}
		m := map[string]any{}
		for range r.IntN(5) {
			m[str()] = value(0)
		}
		return m
	}
	when := func() time.Time {
		return time.Unix(r.Int64N(1<<35), r.Int64N(1e9)).In(time.FixedZone("", (r.IntN(48)-24)*1800))
	}
	maybe := func(s string) string {
		if r.IntN(2) == 0 {
			return ""
		}
		return s
	}
	s := &Snapshot{
		Schema: str(), ID: str(), Series: str(), Seq: r.Int64N(1 << 60), Prev: maybe(str()),
		Collector: CollectorRef{Type: str(), Version: str(), ID: str()},
		Scope:     Scope{Provider: str(), Account: str(), Endpoint: maybe(str())},
		Schedule:  maybe(str()), Agent: Agent{Version: str(), Hostname: maybe(str())},
		StartedAt: when(), FinishedAt: when(), Status: Status(str()), KeyID: maybe(str()),
	}
	if r.IntN(2) == 0 {
		s.Window = &Window{Start: when(), End: when()}
		s.Scope.Regions = []string{str()}
		s.Warnings = []string{str(), str()}
		s.Controls = []string{str()}
	}
	for range r.IntN(3) {
		s.Errors = append(s.Errors, RunError{Where: str(), Operation: maybe(str()), Message: str()})
	}
	for range r.IntN(4) {
		s.Records = append(s.Records, Record{Type: str(), ID: str(), Region: maybe(str()), Attributes: obj()})
	}
	for range r.IntN(3) {
		s.Attachments = append(s.Attachments, Attachment{Name: str(), MediaType: str(), SHA256: str(), Size: r.Int64()})
	}
	for range r.IntN(4) {
		f := Finding{Check: str(), Resource: str(), Status: Result(str()), Reason: str(), Observed: obj()}
		if r.IntN(2) == 0 {
			f.Controls = []string{str(), str()}
		}
		if r.IntN(3) == 0 {
			f.Accepted = &Acceptance{ID: str(), Owner: str(), Reason: str(), Until: str(), Approver: str(), Approved: str()}
		}
		if r.IntN(3) == 0 {
			f.AcceptanceExpired = &ExpiredAcceptance{ID: str(), Owner: str(), Until: str()}
		}
		s.Findings = append(s.Findings, f)
	}
	for range r.IntN(3) {
		s.Calls = append(s.Calls, Call{Service: str(), Operation: str(), Region: maybe(str()), RequestID: maybe(str()),
			Time: when(), HTTPStatus: r.IntN(3) * 200, Attempt: r.IntN(3), Error: maybe(str())})
	}
	return s
}

// corpusSeeds reads the stored fuzz corpora of this package: each file's
// []byte value.
func corpusSeeds(f *testing.F) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			lit, ok := strings.CutPrefix(line, "[]byte(")
			if !ok {
				continue
			}
			v, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
			if err != nil {
				f.Fatalf("%s: %v", name, err)
			}
			out = append(out, []byte(v))
		}
	}
	return out
}

// FuzzCanonicalAgreesWithJCS holds the direct writer to the JCS path: over
// random snapshots (two seeds), and over any document that decodes as a
// snapshot (the stored corpora, encoded samples), before and after Encode's
// normalizing.
func FuzzCanonicalAgreesWithJCS(f *testing.F) {
	for _, b := range corpusSeeds(f) {
		f.Add(uint64(0), uint64(0), b)
	}
	for _, s := range []*Snapshot{sample(), large()} {
		b, err := Encode(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint64(1), uint64(2), b)
	}
	f.Add(uint64(3), uint64(4), []byte(`{"records":[{"attributes":{"\ue000":1,"\ud83d\ude00":-0,"x":[1e21,5e-324,"\u2028"]}}]}`))
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64, doc []byte) {
		agree(t, randomSnapshot(seed1, seed2))
		var s Snapshot
		if json.Unmarshal(doc, &s) != nil {
			return
		}
		agree(t, &s)
		s.normalize()
		agree(t, &s)
	})
}

func TestRandomSnapshotsAgree(t *testing.T) {
	for i := range uint64(2000) {
		agree(t, randomSnapshot(i, i*7+1))
	}
}
