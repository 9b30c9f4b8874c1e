package htmlout_test

import (
	"bytes"
	"errors"
	"html/template"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/htmlout"
)

// oracle is html/template itself: a value in element text, in <title> and
// in a double-quoted attribute, which are the contexts Writer serves.
var oracle = template.Must(template.New("o").Parse(`<title>{{.}}</title><p class="x {{.}}" title="{{.}}">{{.}}</p>`))

func mine(s string) string {
	var b bytes.Buffer
	w := htmlout.New(&b)
	w.Raw(`<title>`).Text(s).Raw(`</title><p class="x `).Text(s).Raw(`" title="`).Text(s).Raw(`">`).Text(s).Raw(`</p>`)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return b.String()
}

var hostile = []string{
	"", "plain", `<script>alert(1)</script>`, `" onmouseover="x`, `' autofocus '`,
	"a&b&amp;c", "+ADw-script+AD4-", "nul\x00byte", "bad\xffutf8\xc3", "é ∑ 😀",
	"\ufdd0\ufffe\uffff", "</title><h1>", "line\nbreak\ttab", `\u003c`,
}

func TestEscapesAsHTMLTemplateDoes(t *testing.T) {
	for _, s := range hostile {
		var want bytes.Buffer
		require.NoError(t, oracle.Execute(&want, s))
		require.Equal(t, want.String(), mine(s), "%q", s)
	}
}

func FuzzEscapesAsHTMLTemplateDoes(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		if err := oracle.Execute(&want, s); err != nil {
			t.Skip()
		}
		if got := mine(s); got != want.String() {
			t.Fatalf("%q: got %q, html/template %q", s, got, want.String())
		}
	})
}

type failing struct{ n int }

func (f *failing) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("disk full")
}

func TestKeepsTheFirstErrorAndStopsWriting(t *testing.T) {
	f := &failing{}
	w := htmlout.New(f)
	big := strings.Repeat("x", 64<<10)
	w.Raw(big).Text(big).Int(42).Raw(big)
	require.EqualError(t, w.Flush(), "disk full")
	require.Equal(t, 1, f.n, "writes after the first error are dropped")
}

func TestWritesLargePagesWhole(t *testing.T) {
	var b bytes.Buffer
	w := htmlout.New(&b)
	var want strings.Builder
	for i := range 20000 {
		w.Raw("<td>").Int(int64(i)).Text("<&>").Raw("</td>")
		want.WriteString("<td>" + strconv.Itoa(i) + "&lt;&amp;&gt;</td>")
	}
	require.NoError(t, w.Flush())
	require.Equal(t, want.String(), b.String())
}
