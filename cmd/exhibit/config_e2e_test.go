package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const baseConfig = `store: file://./evidence
signing_key: file://./key.pem
sources:
  github:
    token: ${EXHIBIT_TEST_TOKEN}
    orgs: [acme]
collectors:
  - type: github.access
    schedule: "@daily"
`

// Bad configuration exits 2, names the field, and runs nothing: no store,
// no key, no snapshot.
func TestBadConfigExitsBeforeRunning(t *testing.T) {
	cases := []struct {
		name, config string
		env          []string
		want         string
	}{
		{"unknown key", strings.Replace(baseConfig, "orgs:", "orgz:", 1), []string{"EXHIBIT_TEST_TOKEN=x"}, "sources.github.orgz: unknown key"},
		{"invalid cron", strings.Replace(baseConfig, `"@daily"`, `"61 * * * *"`, 1), []string{"EXHIBIT_TEST_TOKEN=x"}, `collectors[0].schedule: invalid cron expression "61 * * * *"`},
		{"missing variable", baseConfig, nil, "sources.github.token: environment variable EXHIBIT_TEST_TOKEN is not set"},
	}
	for _, tc := range cases {
		for _, cmd := range []string{"collect", "run"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				dir := t.TempDir()
				writeFile(t, filepath.Join(dir, "exhibit.yaml"), tc.config)
				r := exhibit(t, dir, tc.env, cmd, "-c", "exhibit.yaml")
				require.Equal(t, 2, r.code, "stderr: %s", r.stderr)
				require.Contains(t, r.stderr, tc.want)
				require.NoDirExists(t, filepath.Join(dir, "evidence"), "nothing may run before the config is valid")
				require.NoFileExists(t, filepath.Join(dir, "key.pem"))
			})
		}
	}
}

func TestMissingConfigFile(t *testing.T) {
	r := exhibit(t, t.TempDir(), nil, "collect", "-c", "nope.yaml")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "nope.yaml")
}
