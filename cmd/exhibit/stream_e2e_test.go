package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The readers stream, so a snapshot that cannot be read may be met after
// output began. Every command still names every such snapshot and exits
// non-zero; -o FILE leaves nothing there; on standard output OSCAL, report
// and diff write nothing, and a CSV or OCSF export stops, with whole rows,
// before the first bad snapshot and is followed by a note saying it is
// incomplete.
func TestReadersOverAStoreWithBadSnapshots(t *testing.T) {
	env, url := auditStore(t)
	first := "evidence/aws.s3/111122223333/000000000004.json"
	second := "evidence/okta.access/acme/000000000020.json"
	for _, key := range []string{first, second} {
		path := filepath.Join(env.Store.Root(), filepath.FromSlash(key))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, append([]byte(" "), b...), 0o644)) // no longer canonical
	}
	dir := t.TempDir()
	period := []string{"--store", url, "--from", auditFrom, "--to", auditTo}
	commands := map[string][]string{
		"csv":    append([]string{"export", "--format", "csv"}, period...),
		"ocsf":   append([]string{"export", "--format", "ocsf"}, period...),
		"oscal":  append([]string{"export", "--format", "oscal"}, period...),
		"report": append([]string{"report"}, period...),
		"diff":   append([]string{"diff"}, period...),
	}
	for name, args := range commands {
		t.Run(name+" to a file", func(t *testing.T) {
			r := exhibit(t, dir, nil, append(args, "-o", "out")...)
			require.Equal(t, 1, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stderr, "snapshot "+first+":")
			require.Contains(t, r.stderr, "snapshot "+second+":")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing written, no temporary file left")
		})
		t.Run(name+" to standard output", func(t *testing.T) {
			r := exhibit(t, dir, nil, append(args, "-o", "-")...)
			require.Equal(t, 1, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stderr, "snapshot "+first+":")
			require.Contains(t, r.stderr, "snapshot "+second+":")
			switch name {
			case "csv":
				require.Contains(t, r.stderr, "INCOMPLETE")
				rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
				require.NoError(t, err, "whole rows")
				require.Greater(t, len(rows), 1)
				for _, row := range rows[1:] {
					require.Less(t, row[0], first, "nothing from the first bad snapshot on")
				}
			case "ocsf":
				require.Contains(t, r.stderr, "INCOMPLETE")
				require.NotContains(t, r.stdout, first)
				require.True(t, r.stdout == "" || strings.HasSuffix(r.stdout, "}\n"), "whole events")
			default:
				require.NotContains(t, r.stderr, "INCOMPLETE")
				require.Empty(t, r.stdout)
			}
		})
	}
}
