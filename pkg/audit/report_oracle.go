package audit

// TEMPORARY: the template the page was written with, kept only to prove
// writeReportHTML writes the same bytes. Removed once checked.

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
)

//go:embed report.html.tmpl
var reportHTML string

var reportTemplate = template.Must(template.New("report").Parse(reportHTML))

// Anchor is the anchor the template used.
func (c *reportControl) Anchor() string { return fmt.Sprintf("c%d", c.anchor) }

// oracleWrite writes the page and, when EXHIBIT_REPORT_ORACLE names a
// file, writes it with the template too, logs the comparison there and
// fails on any difference.
func oracleWrite(w io.Writer, d *reportData) error {
	path := os.Getenv("EXHIBIT_REPORT_ORACLE")
	if path == "" {
		return writeReportHTML(w, d)
	}
	var mine, tmpl bytes.Buffer
	if err := writeReportHTML(&mine, d); err != nil {
		return err
	}
	if err := reportTemplate.Execute(&tmpl, *d); err != nil {
		return err
	}
	line := fmt.Sprintf("equal %d bytes %x\n", mine.Len(), sha256.Sum256(mine.Bytes()))
	var diff error
	if !bytes.Equal(mine.Bytes(), tmpl.Bytes()) {
		i := 0
		for i < mine.Len() && i < tmpl.Len() && mine.Bytes()[i] == tmpl.Bytes()[i] {
			i++
		}
		lo := max(0, i-80)
		diff = fmt.Errorf("report oracle: differs at byte %d (mine %d, template %d bytes):\nmine: %q\ntmpl: %q",
			i, mine.Len(), tmpl.Len(), mine.Bytes()[lo:min(mine.Len(), i+80)], tmpl.Bytes()[lo:min(tmpl.Len(), i+80)])
		line = "DIFF " + diff.Error() + "\n"
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, _ = f.WriteString(line)
		_ = f.Close()
	}
	if diff != nil {
		return diff
	}
	_, err = w.Write(mine.Bytes())
	return err
}
