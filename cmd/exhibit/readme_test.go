package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
)

// The README names every collector and every permission each declares, so
// the documented access can never fall behind the code.
func TestREADMEDocumentsEveryPermission(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(b)
	reg := all.Registry()
	for _, typ := range reg.Types() {
		require.Contains(t, readme, "`"+typ+"`", "README does not describe collector %s", typ)
		f, _ := reg.Lookup(typ)
		for _, p := range f.Permissions {
			require.Contains(t, readme, "`"+p+"`", "README does not list %s's permission %s", typ, p)
		}
	}
}

// Every test docs/threat-model.md names exists, in the package it names
// (pkg/audit when it names none), and every row of its table names one:
// a claim about what an insider cannot do rests on a test that runs.
func TestThreatModelNamesRealTests(t *testing.T) {
	b, err := os.ReadFile("../../docs/threat-model.md")
	require.NoError(t, err)
	doc := string(b)
	refs := regexp.MustCompile("`(?:(cmd|pkg/[a-z]+) )?(Test[A-Za-z0-9_]+)`").FindAllStringSubmatch(doc, -1)
	require.NotEmpty(t, refs)
	for _, m := range refs {
		dir := map[string]string{"": "../../pkg/audit", "cmd": "."}[m[1]]
		if dir == "" {
			dir = "../../" + m[1]
		}
		files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
		require.NoError(t, err)
		found := false
		for _, f := range files {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			if strings.Contains(string(src), "func "+m[2]+"(") {
				found = true
				break
			}
		}
		require.True(t, found, "docs/threat-model.md names %s in %s, which has no such test", m[2], dir)
	}
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(line, "|") == 6 && !strings.HasPrefix(line, "| insider action") {
			require.Regexp(t, "`(cmd |pkg/[a-z]+ )?Test", line, "a row of the threat model names no test: %s", line)
		}
	}
}
