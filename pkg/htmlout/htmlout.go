// Package htmlout writes an HTML page piece by piece: markup as written,
// and every value read from a store escaped for the text or the
// double-quoted attribute value it goes into.
//
// It replaces html/template in the binary. Executing a template looks up
// methods by name at run time, and a program that can do that keeps every
// exported method of every type it uses in an interface: with the AWS SDK's
// clients that was two thirds of the executable, and some 48 MiB of its
// resident set. The escaping is html/template's for those two contexts,
// byte for byte, so a page written here reads as the template wrote it.
package htmlout

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// Writer writes to an underlying writer and keeps the first error; later
// writes are dropped once one failed. Err reports it.
type Writer struct {
	w   io.Writer
	buf []byte
	err error
}

// New returns a Writer onto w.
func New(w io.Writer) *Writer { return &Writer{w: w, buf: make([]byte, 0, 32<<10)} }

// Raw writes markup as it is. It must never carry a value read from a store.
func (w *Writer) Raw(s string) *Writer {
	w.buf = append(w.buf, s...)
	return w.spill()
}

// Text writes s escaped: usable as element text (also in <title>) and as a
// double-quoted attribute value.
func (w *Writer) Text(s string) *Writer {
	w.buf = AppendEscaped(w.buf, s)
	return w.spill()
}

// Int writes n in decimal.
func (w *Writer) Int(n int64) *Writer {
	w.buf = strconv.AppendInt(w.buf, n, 10)
	return w.spill()
}

// Flush writes what is buffered and returns the first error of any write.
func (w *Writer) Flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.w.Write(w.buf)
	}
	w.buf = w.buf[:0]
	return w.err
}

func (w *Writer) spill() *Writer {
	if len(w.buf) >= cap(w.buf)/2 {
		_ = w.Flush()
	}
	return w
}

// AppendEscaped appends s to dst as html/template escapes a value in text
// and in a quoted attribute: the five markup characters and '+' as
// character references, NUL as U+FFFD; every other byte, invalid UTF-8
// included, as it is.
func AppendEscaped(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = string(utf8.RuneError)
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, repl...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}
