package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

// chromium runs headless Chromium with a throwaway profile and nothing that
// reaches the network on its own.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	return stdout.Bytes()
}

// Acceptance: the report renders in a real browser and shows every control
// of the period, with its day strip and drill-down; a screenshot is kept.
func TestReportRendersInChromium(t *testing.T) {
	bin := testtool.Require(t, "chromium")
	_, url := auditStore(t)
	dir := t.TempDir()
	r := exhibit(t, dir, nil, "report", "--store", url, "--from", auditFrom, "--to", auditTo, "-o", "report.html")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	page := filepath.Join(dir, "report.html")
	raw, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(raw)

	// Self-contained: nothing is loaded from anywhere.
	for _, ref := range []string{"<script", "<link", "src=", "@import", "url("} {
		require.NotContains(t, html, ref)
	}
	// The finding's reason is data, not markup.
	require.Contains(t, html, "user &lt;b&gt;mallory&lt;/b&gt; has no MFA")

	dom := string(chromium(t, bin, "--dump-dom", "file://"+page))
	for _, ref := range []string{"soc2:CC6.1", "hipaa:164.312(a)(1)"} {
		section := regexp.MustCompile(`(?s)<section class="control v-failing" id="c\d+" data-control="` + regexp.QuoteMeta(ref) + `" data-verdict="failing">(.*?)</section>`).FindStringSubmatch(dom)
		require.NotNil(t, section, "the rendered page shows %s", ref)
		cells := regexp.MustCompile(`<span class="c (pass|fail|error|gap|none|future)" data-date="2026-03-\d\d" title="2026-03-\d\d \([A-Z][a-z]{2}\): [^"]*" style="[^"]*"></span>`).FindAllStringSubmatch(section[1], -1)
		require.Len(t, cells, auditDays, "%s: one cell per day", ref)
		count := map[string]int{}
		for _, c := range cells {
			count[c[1]]++
		}
		require.Equal(t, map[string]int{"pass": 24, "fail": 4, "error": 1, "gap": 1}, count, ref)
		require.Contains(t, section[1], "2026-03-13 (Fri): a scheduled run left no snapshot")
		require.Contains(t, section[1], "<h3>5 failing or undecided finding(s): 2 check and resource pair(s), worst first</h3>")
		// A finding that fails in four runs is one row: how often, the
		// latest reason, and the evidence of its first and last sighting.
		row := regexp.MustCompile(`<tr><td>test\.check</td><td>user-mallory</td><td class="st-fail">fail</td><td>(\d+)</td><td>[^<]*(?:&lt;[^<]*)*</td><td class="ev"><span class="mono">([^<]*)</span><code>([^<]*)</code><code class="h">[0-9a-f]{64}</code><hr><span class="mono">([^<]*)</span><code>([^<]*)</code><code class="h">[0-9a-f]{64}</code></td></tr>`).FindStringSubmatch(section[1])
		require.NotNil(t, row, "one row for the repeated failure")
		require.Equal(t, []string{"4", "2026-03-04T01:00:00Z", "evidence/okta.access/acme/000000000004.json", "2026-03-25T01:00:00Z", "evidence/okta.access/acme/000000000025.json"}, row[1:])
		// mallory fails one day a week: each time it appeared and was
		// resolved again, a flip.
		require.Regexp(t, `<tr data-change="flipped"><td class="ch-flipped">flipped</td><td>test\.check</td><td>user-mallory</td>`, section[1])
	}
	require.Contains(t, dom, "In-scope criteria without evidence in the period")

	png := filepath.Join(artifactDir(t), "report.png")
	chromium(t, bin, "--screenshot="+png, "--window-size=1400,2000", "file://"+page)
	b, err := os.ReadFile(png)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")), "a PNG")
	t.Logf("report screenshot: %s", png)
}

func TestReportBadInput(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing output", []string{"report", "--store", url, "--from", auditFrom, "--to", auditTo}, 2, "-o is required"},
		{"output is a directory", []string{"report", "--store", url, "--from", auditFrom, "--to", auditTo, "-o", dir}, 2, "is a directory"},
		{"bad date", []string{"report", "--store", url, "--from", auditFrom, "--to", "2026-02-30", "-o", "out.html"}, 2, `invalid value "2026-02-30" for flag -to`},
		{"to before from", []string{"report", "--store", url, "--from", auditTo, "--to", auditFrom, "-o", "out.html"}, 2, "must be after --from"},
		{"period too long", []string{"report", "--store", url, "--from", "2000-01-01", "--to", auditTo, "-o", "out.html"}, 2, "longer than 3660 days"},
		{"nothing in the period", []string{"report", "--store", url, "--from", "2026-05-01", "--to", "2026-06-01", "-o", "out.html"}, 1, "no snapshot started between"},
		{"stray argument", []string{"report", "--store", url, "--from", auditFrom, "--to", auditTo, "-o", "out.html", "extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := exhibit(t, dir, nil, tc.args...)
			require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			require.Contains(t, r.stderr, tc.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.NotEqual(t, "out.html", e.Name())
				require.False(t, strings.HasPrefix(e.Name(), ".exhibit-"), "no temporary file left: %s", e.Name())
			}
		})
	}
}

// The report of real collectors' evidence shows, in the browser, every
// control any finding of the period supports (taken from the CSV export).
func TestReportOfTheDemoEstate(t *testing.T) {
	bin := testtool.Require(t, "chromium")
	dir, url, from, to := demoStore(t)
	r := exhibit(t, dir, nil, "export", "--store", url, "--format", "csv", "--from", from, "--to", to, "-o", "f.csv")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	f, err := os.Open(filepath.Join(dir, "f.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	want := map[string]bool{}
	for _, row := range rows[1:] {
		for _, ref := range strings.Split(row[7], ";") {
			if ref != "" {
				want[ref] = true
			}
		}
	}
	require.Greater(t, len(want), 10)

	// Then the AWS credentials stop working: the next aws.iam run fails as
	// a whole, and says so in the same store.
	cfg := filepath.Join(dir, "broken.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`store: file://./estate/evidence
signing_key: file://./estate/signing-key.pem
spool_dir: ./estate/spool
sources:
  aws:
    regions: [us-east-1]
    accounts:
      - id: "111122223333"
collectors:
  - type: aws.iam
    schedule: "@daily"
`), 0o600))
	r = exhibit(t, dir, []string{"AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=x", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=http://127.0.0.1:9",
		"AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}, "collect", "-c", cfg)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout+r.stderr, "evidence/aws.iam/111122223333/000000000002.json is failed")

	r = exhibit(t, dir, nil, "report", "--store", url, "--from", from, "--to", to, "--org", "Demo Estate", "-o", "report.html")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	page := filepath.Join(dir, "report.html")
	dom := string(chromium(t, bin, "--dump-dom", "file://"+page))

	// The summary at the top, the date axis, the changes, and the failed
	// collection in every control aws.iam evidences.
	require.Contains(t, dom, "Demo Estate: control report")
	summary := regexp.MustCompile(`(?s)<section id="summary".*?</div>\n</section>`).FindString(dom)
	require.NotEmpty(t, summary)
	total := 0
	for _, m := range regexp.MustCompile(`data-verdict="(failing|incomplete|holding)"><div class="n">(\d+)</div>`).FindAllStringSubmatch(summary, -1) {
		n, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		total += n
	}
	sections := regexp.MustCompile(`(?s)<section class="control v-[a-z-]+" id="c\d+" data-control="([^"]+)" data-verdict="[a-z-]+">(.*?)</section>`).FindAllStringSubmatch(dom, -1)
	require.Equal(t, len(sections), total, "the summary counts every control")
	failedIn := 0
	for _, sec := range sections {
		require.Regexp(t, `<span class="mo" style="grid-column:\d+ / span 3" title="[A-Z][a-z]+ \d{4}">`, sec[2], sec[1])
		require.Regexp(t, `<span class="wk" style="grid-column:\d+" title="week \d+, from `, sec[2], sec[1])
		require.Contains(t, sec[2], "<h3>Changes over the period</h3>", sec[1])
		if strings.Contains(sec[2], `<td class="st-failed">failed</td>`) {
			failedIn++
			require.Contains(t, sec[2], "connection refused", sec[1])
			require.NotContains(t, sec[2], `<span class="badge v-holding">`, "%s: a control whose later run failed is not shown as holding", sec[1])
		}
	}
	require.Greater(t, failedIn, 0, "the failed collection is shown")
	got := map[string]bool{}
	for _, m := range regexp.MustCompile(`<section class="control v-[a-z-]+" id="c\d+" data-control="([^"]+)" data-verdict="[a-z-]+">`).FindAllStringSubmatch(dom, -1) {
		got[strings.ReplaceAll(m[1], "&amp;", "&")] = true
	}
	require.Equal(t, want, got, "every control of the period, and only those")

	png := filepath.Join(artifactDir(t), "report-demo.png")
	chromium(t, bin, "--screenshot="+png, "--window-size=1400,2000", "file://"+page)
	_, err = os.Stat(png)
	require.NoError(t, err)
	t.Logf("demo report screenshot: %s", png)
}

// artifactDir is where a test keeps what a person looks at afterwards
// (screenshots): EXHIBIT_TEST_ARTIFACTS when set, else the test's artifact
// directory (go test -artifacts keeps it). Its path is logged.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("EXHIBIT_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Logf("artifacts: %s", dir)
	return dir
}
