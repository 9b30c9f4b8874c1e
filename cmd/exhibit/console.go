package main

import (
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/term"
)

// console is standard error as the progress line and the log share it.
// Both write through it, one at a time: a log line that comes while a
// progress line is open ends that line first (on a terminal it is erased
// and written again after the log line), so the two never interleave.
type console struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	open string // the progress line begun and not yet ended
}

func newConsole(w io.Writer) *console {
	if c, ok := w.(*console); ok {
		return c
	}
	return &console{w: w, tty: isTerminal(w)}
}

// Write is the log's: zap writes one entry per call.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open != "" {
		if c.tty {
			io.WriteString(c.w, "\r\x1b[K") //nolint:errcheck // the log line's own write reports a broken stream
		} else {
			io.WriteString(c.w, "\n") //nolint:errcheck // as above
		}
	}
	n, err := c.w.Write(p)
	if c.open != "" {
		io.WriteString(c.w, c.open) //nolint:errcheck // as above
	}
	return n, err
}

// begin starts a progress line; end finishes it.
func (c *console) begin(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.w, s) //nolint:errcheck // progress is best effort
	c.open = s
}

func (c *console) end(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.w, s+"\n") //nolint:errcheck // progress is best effort
	c.open = ""
}

func isTerminal(w io.Writer) bool {
	if c, ok := w.(*console); ok {
		return c.tty
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// outputWidth is how wide a table printed on w may be: the terminal's
// width when w is one; else COLUMNS when it is set; else 0, no limit —
// output piped to a file or a program keeps every key whole.
func outputWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
}

// shorten keeps s within n runes, eliding its start: a snapshot key's end
// (series, scope, sequence) is what tells one row from the next.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n || n < 2 {
		return s
	}
	r := []rune(s)
	return "…" + string(r[len(r)-(n-1):])
}

// cut keeps s within n runes.
func cut(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// wrap breaks s into lines of at most n runes, at spaces where it can;
// n <= 0 is one line.
func wrap(s string, n int) []string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return []string{s}
	}
	var lines []string
	var line []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		if len(line) > 0 && len(line)+1+len(w) > n {
			lines = append(lines, string(line))
			line = nil
		}
		if len(line) > 0 {
			line = append(line, ' ')
		}
		line = append(line, w...)
		for len(line) > n {
			lines = append(lines, string(line[:n]))
			line = line[n:]
		}
	}
	if len(line) > 0 {
		lines = append(lines, string(line))
	}
	return lines
}
