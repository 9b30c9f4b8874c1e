package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/testtool"
	"github.com/exhibit-dev/exhibit/pkg/timestamp/tsatest"
)

// With timestamp_authority set, collect stores an RFC 3161 token beside each
// snapshot; a TSA outage still writes the snapshot and the token follows
// once the TSA answers; verify checks the tokens against the pinned TSA
// certificates, and the README's openssl ts commands, run as written,
// print Verification: OK.
func TestTimestampAuthority(t *testing.T) {
	bash := testtool.Require(t, "bash")
	testtool.Require(t, "openssl")
	tsa := tsatest.Start(t)
	dir := t.TempDir()
	cfg, env := ghConfig(t, "./key.pem")
	cfg = strings.Replace(cfg, "spool_dir: ./spool\n", "spool_dir: ./spool\ntimestamp_authority: "+tsa.URL+"\n", 1)
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
	snap := func(seq string) string {
		return filepath.Join(dir, "evidence", "evidence", "github.access", "acme", "00000000000"+seq+".json")
	}

	tsa.Down()
	r := exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, "a TSA outage does not fail the collection: %s", r.stdout+r.stderr)
	require.FileExists(t, snap("1"))
	require.NoFileExists(t, snap("1")+".tsr")
	require.Contains(t, r.stderr, "time-stamp token pending")

	tsa.Up()
	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.FileExists(t, snap("2")+".tsr")
	require.FileExists(t, snap("1")+".tsr", "the pending token is attached once the TSA answers")

	r = exhibit(t, dir, nil, "verify", "--store", "file://./evidence", "--tsa-certs", tsa.RootsFile)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	r = exhibit(t, dir, nil, "verify", "--store", "file://./evidence")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "snapshot(s) or other object(s) carry an RFC 3161 time-stamp token that was not checked")
	other := tsatest.Start(t)
	r = exhibit(t, dir, nil, "verify", "--store", "file://./evidence", "--tsa-certs", other.RootsFile)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "time-stamp token does not verify")

	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- openssl-ts-verify -->\n```sh\n(.*?)```\n<!-- /openssl-ts-verify -->").FindSubmatch(readme)
	require.NotNil(t, m, "README has no openssl-ts-verify block")
	script := strings.Replace(string(m[1]), "evidence/aws.iam/111122223333/000000000001.json", "evidence/github.access/acme/000000000002.json", 1)
	require.NotEqual(t, string(m[1]), script, "the block names the snapshot this test substitutes")
	root := filepath.Join(dir, "evidence")
	b, err := os.ReadFile(tsa.RootsFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "tsa.pem"), b, 0o644))
	cmd := exec.Command(bash, "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "Verification: OK")
	require.Contains(t, string(out), "Time stamp: ")
}
