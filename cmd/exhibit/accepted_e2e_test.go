package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/exceptions"
)

// The documented example is a valid accepted-risks file for the checks the
// collectors declare, so it cannot go stale.
func TestConfigAcceptedRisksExampleLoads(t *testing.T) {
	set, err := exceptions.Load("../../docs/accepted-risks.example.yaml", config.Checks(all.Registry()))
	require.NoError(t, err)
	require.NotEmpty(t, set.Entries)
}

// accepted_risks in the configuration: a bad file stops collect before
// anything runs, with every problem named; a good one annotates the
// failing findings in the evidence and the CSV export.
func TestConfigAcceptedRisksInCollectAndExport(t *testing.T) {
	dir := t.TempDir()
	cfg, env := ghConfig(t, "./key.pem")
	// github.pull_requests finds the simulated org's planted unapproved merges.
	cfg = strings.Replace(cfg, "type: github.access", "type: github.pull_requests", 1)
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg+"accepted_risks: ./risks.yaml\n")
	risks := filepath.Join(dir, "risks.yaml")

	writeFile(t, risks, "accepted_risks:\n  - {id: AR-1, check: github.nope, resource: \"*\", owner: o, reason: r, approver: a, approved: 2026-01-01}\n")
	r := exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, `accepted_risks: ./risks.yaml: accepted_risks[0].until: required: an exception without an expiry date is refused`)
	require.Contains(t, r.stderr, `accepted_risks: ./risks.yaml: accepted_risks[0].check: unknown check "github.nope"`)
	require.NoDirExists(t, filepath.Join(dir, "evidence"), "nothing runs before the file is valid")

	writeFile(t, risks, `accepted_risks:
  - id: AR-1
    check: github.*
    resource: "*"
    owner: platform-team
    reason: reviewed quarterly
    until: 2999-12-31
    approver: ciso
    approved: 2026-01-01
`)
	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	b, err := os.ReadFile(filepath.Join(dir, "evidence", "evidence", "github.pull_requests", "acme", "000000000001.json"))
	require.NoError(t, err)
	snap, err := evidence.Parse(b)
	require.NoError(t, err)
	fails := 0
	for _, f := range snap.Findings {
		if f.Status == evidence.Fail {
			fails++
			require.NotNil(t, f.Accepted, f.Check)
			require.Equal(t, "AR-1", f.Accepted.ID)
		} else {
			require.Nil(t, f.Accepted, "only failing findings carry an acceptance")
		}
	}
	require.NotZero(t, fails, "the simulated org has failing findings")

	r = exhibit(t, dir, nil, "export", "--store", "file://./evidence", "--format", "csv", "--from", time.Now().AddDate(0, 0, -2).Format(time.DateOnly), "--to", time.Now().AddDate(0, 0, 2).Format(time.DateOnly), "-o", "f.csv")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	out, err := os.ReadFile(filepath.Join(dir, "f.csv"))
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	require.NoError(t, err)
	accepted := 0
	for _, row := range rows[1:] {
		if row[9] == "AR-1" {
			accepted++
			require.Equal(t, "fail", row[6])
			require.Equal(t, []string{"platform-team", "2999-12-31", "reviewed quarterly", "ciso", "2026-01-01"}, row[10:15])
		}
	}
	require.Equal(t, fails, accepted)

	// A file broken since is refused at the next start; a daemon already
	// running records it in the run's snapshots instead (pkg/agent
	// TestUnreadableAcceptedRisksAreRecorded).
	writeFile(t, risks, "accepted_risks: [\n")
	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "accepted_risks: ./risks.yaml: not valid YAML")
}
