package audit

import (
	"strconv"
	"strings"
	"unicode"
)

// Escape returns a name read from the store ready for text output: as it
// is when it holds only characters the key layout uses, otherwise quoted as
// a Go string with every byte outside printable ASCII escaped. A name is
// whatever an insider made it, and a newline or a terminal escape in it must
// not forge a line of the output (a fake "verified …: OK") or hide one.
// Every reader command prints names through it; JSON output needs nothing,
// encoding/json escapes.
func Escape(name string) string {
	if name != "" && strings.IndexFunc(name, unsafeInName) < 0 {
		return name
	}
	return strconv.QuoteToASCII(name)
}

func unsafeInName(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	case strings.ContainsRune("/._-:@+=,", r):
		return false
	}
	return true
}

// EscapeText escapes the characters of free text (a message that quotes an
// error from the store, say) that are not printable, leaving the rest as it
// is, so that the text stays on its line and cannot drive a terminal.
func EscapeText(s string) string {
	if strings.IndexFunc(s, unprintable) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !unprintable(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRuneToASCII(r) // e.g. '\n' or '\x1b'
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

func unprintable(r rune) bool { return r != ' ' && !unicode.IsPrint(r) }
