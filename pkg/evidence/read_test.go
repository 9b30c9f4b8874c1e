package evidence

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// validSnapshot is randomSnapshot made to pass Validate, its generic
// values kept: what an agent could store.
func validSnapshot(seed1, seed2 uint64) *Snapshot {
	s := randomSnapshot(seed1, seed2)
	v := sample()
	s.Schema, s.ID, s.Series, s.Seq, s.Prev, s.Collector = v.Schema, v.ID, v.Series, 1, "", v.Collector
	s.StartedAt = v.StartedAt
	s.FinishedAt = s.StartedAt.Add(time.Duration(seed1%1000) * time.Millisecond)
	if s.Window != nil {
		s.Window.End = s.Window.Start.Add(time.Hour)
	}
	s.Status, s.Errors = StatusComplete, nil
	s.KeyID = ""
	s.Controls = nil
	for i := range s.Attachments {
		s.Attachments[i].SHA256 = strings.Repeat("ab", 32)
	}
	for i := range s.Findings {
		f := &s.Findings[i]
		f.Check, f.Resource, f.Status = "c", "r"+f.Resource, Fail
		f.Controls = []string{"soc2:CC6.1", "hipaa:164.312(a)(1)"}[:i%3%2+1]
		f.Accepted, f.AcceptanceExpired = nil, nil
		if i%2 == 0 {
			f.Accepted = &Acceptance{ID: "a", Owner: "o", Reason: "r" + f.Reason, Until: "2027-01-01", Approver: "p", Approved: "2026-01-01"}
		}
	}
	return s
}

// Whatever Encode writes is read in one pass, to the snapshot the
// decoding path gives; ParseHead gives the same less what it leaves out.
func TestReadAcceptsWhatEncodeWrites(t *testing.T) {
	snaps := []*Snapshot{sample(), large()}
	full := sample()
	full.Schedule, full.Warnings, full.Agent.Hostname = "@hourly", []string{"w"}, "h"
	full.Window = &Window{Start: full.StartedAt.Add(-time.Hour), End: full.StartedAt}
	full.Scope.Regions, full.Scope.Endpoint = []string{"eu-west-1"}, "https://x"
	full.Status, full.Errors = StatusPartial, []RunError{{Where: "w", Operation: "op", Message: "m\n\x01"}}
	full.Calls = []Call{{Service: "s", Operation: "o", Region: "r", RequestID: "id", Time: full.StartedAt, HTTPStatus: 200, Attempt: 1, Error: "e"}, {Time: full.StartedAt}}
	full.Attachments = []Attachment{{Name: "n", MediaType: "text/csv", SHA256: strings.Repeat("a", 64), Size: 3}}
	full.Records[0].Attributes["nested"] = map[string]any{"\U0001F600": []any{nil, true, false, -0.5, 5e-324, "\u2028\"\\"}, "\ue000": map[string]any{}, "l": []any{}}
	full.Findings[0].Observed = map[string]any{"k": "v", "n": math.MaxFloat64}
	full.Findings[0].AcceptanceExpired = &ExpiredAcceptance{ID: "a", Owner: "o", Until: "2026-01-01"}
	snaps = append(snaps, full)
	fixed := len(snaps)
	for i := range uint64(500) {
		snaps = append(snaps, validSnapshot(i, i+1))
	}
	read1 := 0
	for i, s := range snaps {
		b, err := Encode(s)
		if i >= fixed && err != nil {
			continue // a random NaN or infinity: not JSON
		}
		require.NoError(t, err, i)
		read1++
		got, ok := read(b, true)
		require.True(t, ok, "snapshot %d is not read in one pass:\n%s", i, b)
		want, err := parseDecoding(b)
		require.NoError(t, err)
		require.True(t, reflect.DeepEqual(want, got), "snapshot %d differs:\n%#v\n%#v", i, want, got)
		head, err := ParseHead(b)
		require.NoError(t, err)
		dropped(want)
		require.True(t, reflect.DeepEqual(want, head), "snapshot %d: ParseHead differs", i)
	}
	require.Greater(t, read1, 250, "too few random snapshots encode to be a test")
	t.Logf("%d snapshots read in one pass", read1)
}

func dropped(s *Snapshot) { s.Records, s.Calls, s.Findings = nil, nil, nil }

// Bytes in any other form are not read in one pass: they go the decoding
// way, whose verdicts (and error texts) TestParseRejects holds.
func TestReadRefusesOtherForms(t *testing.T) {
	good, err := Encode(sample())
	require.NoError(t, err)
	_, ok := read(good, true)
	require.True(t, ok)
	edits := map[string][2]string{
		"space":              {`{"agent"`, `{ "agent"`},
		"escaped slash":      {`"aws.iam"`, `"aws.iam\/"`},
		"upper-case escape":  {`"root has no MFA"`, `"root has no MFA\u001F"`},
		"needless escape":    {`"root has no MFA"`, `"root has no MF\u0041"`},
		"short escape long":  {`"root has no MFA"`, `"root has no MFA\u000a"`},
		"number form":        {`"n":1e+21`, `"n":1E+21`},
		"number form 2":      {`"z":1`, `"z":1.0`},
		"negative zero":      {`"z":1`, `"z":-0`},
		"member order":       {`"a":"<b>&","n":1e+21`, `"n":1e+21,"a":"<b>&"`},
		"repeated member":    {`"a":"<b>&"`, `"a":"<b>&","a":"<b>&"`},
		"time precision":     {`"2026-11-24T09:00:00.123Z"`, `"2026-11-24T09:00:00.1234Z"`},
		"time zone":          {`"2026-11-24T09:00:00.123Z"`, `"2026-11-24T10:00:00.123+01:00"`},
		"controls unsorted":  {`["soc2:CC6.1","soc2:CC6.6"],"reason"`, `["soc2:CC6.6","soc2:CC6.1"],"reason"`},
		"null list":          {`"errors":[]`, `"errors":null`},
		"empty schedule":     {`"schema"`, `"schedule":"","schema"`},
		"trailing space":     {`"status":"complete"}`, `"status":"complete"} `},
		"seq as float":       {`"seq":1`, `"seq":1.0`},
		"invalid UTF-8":      {`"root has no MFA"`, "\"root has no MFA\xff\""},
		"unknown member":     {`{"agent"`, `{"aaa":1,"agent"`},
		"missing member":     {`"key_id":"",`, ``},
		"top control absent": {`"controls":["soc2:CC6.1","soc2:CC6.6"],"errors"`, `"controls":["soc2:CC6.1"],"errors"`},
	}
	for name, e := range edits {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(string(good), e[0], e[1], 1)
			require.NotEqual(t, string(good), bad, "the edit must apply")
			_, ok := read([]byte(bad), true)
			require.False(t, ok)
			_, errDecoding := parseDecoding([]byte(bad))
			require.Error(t, errDecoding)
			_, err := Parse([]byte(bad))
			require.Equal(t, errDecoding, err)
		})
	}
}

// FuzzReadAgreesWithParse holds the one-pass reader to the decoding path:
// whatever it accepts, that path accepts too, with the same snapshot.
func FuzzReadAgreesWithParse(f *testing.F) {
	for _, s := range []*Snapshot{sample(), large(), validSnapshot(1, 2), validSnapshot(3, 4)} {
		b, err := Encode(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range corpusSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := read(b, true)
		head, headOK := read(b, false)
		if ok != headOK {
			t.Fatalf("read with values %v, without %v", ok, headOK)
		}
		if !ok {
			return
		}
		want, err := parseDecoding(b)
		if err != nil {
			t.Fatalf("read in one pass, but the decoding path refuses it: %v", err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("snapshots differ:\n%#v\n%#v", want, got)
		}
		dropped(want)
		if !reflect.DeepEqual(want, head) {
			t.Fatalf("heads differ:\n%#v\n%#v", want, head)
		}
	})
}

// TestPlainRunStopsAtEverySpecialByte puts each byte value at each offset
// of a run of plain bytes: the word-at-a-time scan must stop exactly where
// the byte-at-a-time one does.
func TestPlainRunStopsAtEverySpecialByte(t *testing.T) {
	for c := range 256 {
		for at := range 20 {
			b := bytes.Repeat([]byte("a"), 20)
			b[at] = byte(c)
			want := 0
			for want < len(b) && plain[b[want]] {
				want++
			}
			for from := 0; from <= at; from++ {
				if got := plainRun(b, from); got != max(want, from) {
					t.Fatalf("byte %#x at %d, from %d: stopped at %d, want %d", c, at, from, got, max(want, from))
				}
			}
		}
	}
}

// shortInt takes exactly the integers whose round trip through the float
// form gives them back digit for digit, up to 15 digits.
func TestShortIntAgreesWithTheFloatRoundTrip(t *testing.T) {
	for _, tok := range []string{"0", "-0", "7", "-7", "10", "007", "-01", "123456789012345", "-123456789012345",
		"1234567890123456", "1e3", "1.5", "1.0", "+1", "-", "--1", "9007199254740993", "100000000000000"} {
		n, ok := shortInt([]byte(tok))
		f, err := strconv.ParseFloat(tok, 64)
		round := err == nil && sameNumber([]byte(tok), f)
		if ok {
			require.True(t, round, "%s: taken, but the float form does not give it back", tok)
			require.Equal(t, f, float64(n), tok)
		} else if len(strings.TrimPrefix(tok, "-")) <= 15 && !strings.ContainsAny(tok, "e.+") && round {
			t.Errorf("%s: refused, but it is a short integer written as appendNumber writes it", tok)
		}
	}
}

// With several special bytes, and any mix of them, the word-at-a-time
// scan still stops at the first.
func TestPlainRunStopsAtTheFirstOfMany(t *testing.T) {
	special := []byte{'"', '\\', 0, 0x1f, 0x80, 0xff, 0xa0, 0xe2}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, 1+rng.IntN(40))
		for i := range b {
			if rng.IntN(6) == 0 {
				b[i] = special[rng.IntN(len(special))]
			} else {
				b[i] = byte(0x20 + rng.IntN(0x60))
			}
		}
		from := rng.IntN(len(b))
		want := from
		for want < len(b) && plain[b[want]] {
			want++
		}
		require.Equal(t, want, plainRun(b, from), "%q from %d", b, from)
	}
}

// A finding's strings are shared by their written form: one written with
// escapes can be written, byte for byte, as another reads (the reason
// "a\\nb" is written as the reason "a\nb" reads), and each must still read
// as itself, in either order.
func TestSharedStringsReadAsWritten(t *testing.T) {
	for _, reasons := range [][]string{{"a\nb", `a\nb`}, {`a\nb`, "a\nb"}, {`x\"y`, `x"y`, `x\"y`}} {
		s := sample()
		base := s.Findings[0]
		s.Findings = nil
		for i, r := range reasons {
			f := base
			f.Resource = fmt.Sprintf("thing-%d", i)
			f.Controls = slices.Clone(base.Controls) // Encode sorts them in place
			f.Reason = r
			s.Findings = append(s.Findings, f)
		}
		raw, err := Encode(s)
		require.NoError(t, err)
		got, err := Parse(raw)
		require.NoError(t, err)
		for i, r := range reasons {
			require.Equal(t, r, got.Findings[i].Reason, "finding %d of %q", i, reasons)
		}
	}
}
