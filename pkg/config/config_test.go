package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func testRegistry() *collector.Registry {
	r := collector.NewRegistry()
	for _, f := range []struct{ typ, provider string }{
		{"aws.iam", "aws"}, {"github.pull_requests", "github"}, {"demo.noop", ""},
	} {
		r.Register(collector.Factory{Type: f.typ, Provider: f.provider, Version: "1", New: func(collector.Settings) (collector.Collector, error) { return nil, nil }})
	}
	return r
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func load(t *testing.T, doc string, vars map[string]string) (*Config, error) {
	t.Helper()
	return Parse([]byte(doc), env(vars), testRegistry())
}

const good = `
store: file://./evidence
sources:
  aws:
    regions: [us-east-1]
    accounts:
      - id: "111122223333"
      - id: "444455556666"
        role_arn: arn:aws:iam::444455556666:role/exhibit-reader
        external_id: ${EXT_ID}
  github:
    token: ${GITHUB_TOKEN}
    orgs: [acme]
collectors:
  - type: aws.iam
    schedule: "0 */6 * * *"
  - type: github.pull_requests
    schedule: "@every 5m"
    timeout: 2m
controls:
  custom:
    - id: ACME-AC-01
      title: MFA for all workforce access
      checks: [aws.iam.root_mfa]
`

func TestGoodConfig(t *testing.T) {
	cfg, err := load(t, good, map[string]string{"EXT_ID": "ext-123", "GITHUB_TOKEN": "ghp_secret"})
	require.NoError(t, err)
	require.Equal(t, "ext-123", cfg.Sources.AWS.Accounts[1].ExternalID.Reveal())
	require.Equal(t, "ghp_secret", cfg.Sources.GitHub.Token.Reveal())
	require.Equal(t, "aws.iam", cfg.Collectors[0].ID)
	require.Equal(t, DefaultTimeout, cfg.Collectors[0].Timeout)
	require.Equal(t, "2m0s", cfg.Collectors[1].Timeout.String())
	require.Equal(t, DefaultScopeConcurrency, cfg.Collectors[0].ScopeConcurrency)
	require.Equal(t, 90, cfg.Thresholds.AccessKeyMaxAgeDays)
	require.Equal(t, "127.0.0.1:9464", cfg.Listen)
	require.Equal(t, 30*time.Second, cfg.StoreOptions.Timeout, "every store call has a deadline by default")
}

func TestSecretsNeverPrint(t *testing.T) {
	cfg, err := load(t, good, map[string]string{"EXT_ID": "ext-123", "GITHUB_TOKEN": "ghp_secret"})
	require.NoError(t, err)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := strings.Join([]string{
			sprintf(format, cfg.Sources.GitHub), sprintf(format, *cfg.Sources.GitHub), sprintf(format, cfg.Sources.AWS.Accounts),
		}, " ")
		require.NotContains(t, out, "ghp_secret", format)
		require.NotContains(t, out, "ext-123", format)
	}
}

func TestBadConfigs(t *testing.T) {
	vars := map[string]string{"EXT_ID": "x", "GITHUB_TOKEN": "t"}
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"unknown top-level key", "stor: file://x\n", []string{"stor: unknown key (line 1)"}},
		{"unknown nested key", strings.Replace(good, "role_arn:", "rolearn:", 1), []string{"sources.aws.accounts[1].rolearn: unknown key"}},
		{"invalid cron", strings.Replace(good, `"0 */6 * * *"`, `"61 * * * *"`, 1), []string{`collectors[0].schedule: invalid cron expression "61 * * * *"`}},
		{"missing variable", good, []string{"sources.github.token: environment variable GITHUB_TOKEN is not set"}},
		{"inline secret", strings.Replace(good, "${GITHUB_TOKEN}", "ghp_inline", 1), []string{"sources.github.token: secrets are not written inline"}},
		{"variable outside a secret", strings.Replace(good, "orgs: [acme]", `orgs: ["${ORG}"]`, 1), []string{"sources.github.orgs[0]: ${VAR} is expanded only in secret fields"}},
		{"wrong type", strings.Replace(good, "timeout: 2m", "timeout: soon", 1), []string{"collectors[1].timeout: want a duration"}},
		{"unknown type", strings.Replace(good, "type: aws.iam", "type: aws.nope", 1), []string{`collectors[0].type: unknown collector type "aws.nope"`}},
		{"source missing", "collectors:\n  - type: aws.iam\n    schedule: '@daily'\n", []string{"collectors[0].type: aws.iam reads aws, but sources.aws is not configured"}},
		{"duplicate id", "collectors:\n  - {type: demo.noop, schedule: '@daily'}\n  - {type: demo.noop, schedule: '@daily'}\n", []string{`collectors[1].id: "demo.noop" is already used by collectors[0]`}},
		{"bad account", strings.Replace(good, `"111122223333"`, `"1234"`, 1), []string{`sources.aws.accounts[0].id: "1234" is not a 12-digit account id`}},
		{"empty phi tag key", strings.Replace(good, "    regions: [us-east-1]\n", "    regions: [us-east-1]\n    phi_tags: {\"\": phi}\n", 1), []string{`sources.aws.phi_tags: tag key "" must be 1 to 128 characters`}},
		{"exposed port out of range", strings.Replace(good, "    regions: [us-east-1]\n", "    regions: [us-east-1]\n    exposed_ports: [22, 0, 70000, 22]\n", 1),
			[]string{"sources.aws.exposed_ports[1]: 0 is not a port (1 to 65535)", "sources.aws.exposed_ports[2]: 70000 is not a port (1 to 65535)", "sources.aws.exposed_ports[3]: port 22 listed twice"}},
		{"rate limits out of range", strings.Replace(good, "    regions: [us-east-1]\n", "    regions: [us-east-1]\n    rate_limits: {S3: -1, IAM: 20000, CloudTrail: .nan, EC2: 0}\n", 1),
			[]string{"sources.aws.rate_limits: CloudTrail: want 0 (unpaced) to 10000 calls a second, got NaN", "sources.aws.rate_limits: IAM: want 0 (unpaced) to 10000 calls a second, got 20000", "sources.aws.rate_limits: S3: want 0 (unpaced) to 10000 calls a second, got -1"}},
		{"unknown custom check", strings.Replace(good, "[aws.iam.root_mfa]", "[okta.nope]", 1), []string{`controls.custom[0].checks[0]: unknown check "okta.nope"`}},
		{"scope concurrency out of range", strings.Replace(strings.Replace(good, "timeout: 2m", "timeout: 2m\n    scope_concurrency: 65", 1), `"0 */6 * * *"`, "\"0 */6 * * *\"\n    scope_concurrency: -1", 1),
			[]string{"collectors[0].scope_concurrency: must be between 1 and 64, got -1", "collectors[1].scope_concurrency: must be between 1 and 64, got 65"}},
		{"zero store timeout", "store_options:\n  timeout: 0s\n", []string{"store_options.timeout: must be positive, got 0s"}},
		{"bad store", "store: ftp://x\n", []string{`store: want file://PATH or s3://BUCKET[/PREFIX], got "ftp://x"`}},
		{"not yaml", "a: [\n", []string{"not valid YAML"}},
		{"list where mapping", "sources: [1]\n", []string{"sources: want a mapping"}},
		{"bad service accounts", good + "identity:\n  service_accounts:\n    - {system: gitlab, account: ci}\n    - {system: aws_iam, account: CI-Deploy, owner: o, reason: r}\n    - {system: aws_iam, account: ci-deploy, owner: o, reason: r}\n  mapfile: x\n",
			[]string{`identity.service_accounts[0].system: want one of github, aws_iam, identity_center, got "gitlab"`, "identity.service_accounts[0].owner: required",
				"identity.service_accounts[0].reason: required", `identity.service_accounts[2].account: aws_iam "ci-deploy" is already listed in service_accounts[1]`, "identity.mapfile: unknown key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := vars
			if tc.name == "missing variable" {
				v = map[string]string{"EXT_ID": "x"}
			}
			_, err := load(t, tc.doc, v)
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestAllErrorsReportedTogether(t *testing.T) {
	doc := "bogus: 1\ncollectors:\n  - type: aws.nope\n    schedule: 'every day'\n    sneaky: true\n"
	_, err := load(t, doc, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "bogus: unknown key")
	require.Contains(t, err.Error(), "collectors[0].sneaky: unknown key")
}

// Item by item, what the parser used to accept and must refuse, each with
// its field path.
func TestRefusesWhatWouldNotRunAsWritten(t *testing.T) {
	vars := map[string]string{"EXT_ID": "x", "GITHUB_TOKEN": "t"}
	col := func(extra string) string {
		return "collectors:\n  - type: demo.noop\n    schedule: '@hourly'\n" + extra
	}
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("collectors: [&c {type: demo.noop, schedule: '@daily'}")
		for range n - 1 {
			b.WriteString(", *c")
		}
		b.WriteString("]\n")
		return b.String()
	}
	cases := []struct {
		name, doc, want string
	}{
		{"never fires", "collectors:\n  - type: demo.noop\n    schedule: '0 0 30 2 *'\n", `collectors[0].schedule: invalid cron expression "0 0 30 2 *": it never fires`},
		{"every 0s", "collectors:\n  - type: demo.noop\n    schedule: '@every 0s'\n", `collectors[0].schedule: invalid schedule "@every 0s": the interval must be at least 1s`},
		{"every -5s", "collectors:\n  - type: demo.noop\n    schedule: '@every -5s'\n", `collectors[0].schedule: invalid schedule "@every -5s": the interval must be at least 1s`},
		{"every 1ns", "collectors:\n  - type: demo.noop\n    schedule: '@every 1ns'\n", `collectors[0].schedule: invalid schedule "@every 1ns": the interval must be at least 1s`},
		{"huge jitter", col("    jitter: 2000000h\n"), "collectors[0].jitter: 2000000h0m0s must be shorter than the schedule's interval (1h0m0s)"},
		{"jitter equal to the interval", col("    jitter: 1h\n"), "collectors[0].jitter: 1h0m0s must be shorter than the schedule's interval (1h0m0s)"},
		{"empty", "", "(top level): the file is empty"},
		{"only a comment", "# nothing yet\n", "(top level): the file is empty"},
		{"null", "~\n", "(top level): the file is empty"},
		{"null document", "---\nnull\n", "(top level): the file is empty"},
		{"null collector", "collectors: [~]\n", "collectors[0]: empty list item (line 1)"},
		{"no collectors", "store: file://./evidence\n", "collectors: none configured"},
		{"port out of range", col("listen: 127.0.0.1:99999\n"), `listen: port "99999" in "127.0.0.1:99999": want a number from 0 to 65535`},
		{"port not a number", col("listen: 127.0.0.1:http\n"), `listen: port "http"`},
		{"negative port", col("listen: '[::1]:-1'\n"), `listen: port "-1"`},
		{"too many collectors", many(200_000), "collectors: 200000 entries; at most 1000 are supported (line 1)"},
		{"one too many", many(MaxCollectors + 1), "collectors: 1001 entries; at most 1000 are supported"},
		{"key set twice", col("store: file://a\nstore: file://b\n"), "store: set twice (lines 4 and 5)"},
		{"time zone", "collectors:\n  - type: demo.noop\n    schedule: 'TZ=UTC'\n", "collectors[0].schedule: invalid cron expression \"TZ=UTC\": a time zone prefix is not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.doc, vars)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestAcceptsTheLimits(t *testing.T) {
	doc := "listen: 127.0.0.1:0\ncollectors: [&c {type: demo.noop, schedule: '@hourly', jitter: 59m}"
	for i := 1; i < MaxCollectors; i++ {
		doc += fmt.Sprintf(", {type: demo.noop, id: n%d, schedule: '@every 1s'}", i)
	}
	cfg, err := load(t, doc+"]\n", nil)
	require.NoError(t, err)
	require.Len(t, cfg.Collectors, MaxCollectors)
	require.Equal(t, 59*time.Minute, cfg.Collectors[0].Jitter)
}

// A configuration built in code meets the same limit as a file.
func TestValidateLimitsCollectors(t *testing.T) {
	cfg := Defaults()
	for i := range MaxCollectors + 1 {
		cfg.Collectors = append(cfg.Collectors, Collector{Type: "demo.noop", ID: fmt.Sprintf("n%d", i), Schedule: "@daily"})
	}
	cfg.Log.Level = "loud"
	err := cfg.Validate(testRegistry())
	require.ErrorContains(t, err, "collectors: 1001 entries; at most 1000 are supported")
	require.ErrorContains(t, err, "log.level", "the rest is still checked")
	cfg.Collectors = cfg.Collectors[:MaxCollectors]
	cfg.Log.Level = "info"
	require.NoError(t, cfg.Validate(testRegistry()))
}

// Unknown keys, unset variables, bad schedules and bad types used to come in
// three rounds; they come in one, in the order of the file.
func TestManyProblemsInOneRun(t *testing.T) {
	doc := `store: file://./evidence
stor: typo
listen: 127.0.0.1:99999
log:
  level: loud
sources:
  github:
    token: ${UNSET_TOKEN}
    orgs: [acme]
    base_url: 12
collectors:
  - type: github.pull_requests
    schedule: "61 * * * *"
    timeout: soon
  - type: aws.iam
    schedule: "@every 0s"
  - ~
  - type: demo.noop
    schedule: "@hourly"
    jitter: 2000000h
    sneaky: true
`
	_, err := load(t, doc, nil)
	require.Error(t, err)
	want := []string{
		"stor: unknown key (line 2)",
		`listen: port "99999"`,
		`log.level: want debug, info, warn or error, got "loud"`,
		"sources.github.token: environment variable UNSET_TOKEN is not set",
		`sources.github.base_url: "12": want an http(s) URL`,
		`collectors[0].schedule: invalid cron expression "61 * * * *"`,
		"collectors[0].timeout: want a duration",
		"collectors[1].type: aws.iam reads aws, but sources.aws is not configured",
		`collectors[1].schedule: invalid schedule "@every 0s"`,
		"collectors[2]: empty list item (line 17)",
		"collectors[3].jitter: 2000000h0m0s must be shorter",
		"collectors[3].sneaky: unknown key (line 21)",
	}
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, len(want), err.Error())
	for i, w := range want {
		require.Contains(t, lines[i], w, "problem %d of\n%s", i, err)
	}
	require.NotContains(t, err.Error(), "sources.github.token: required", "a problem is reported once")
}

func TestProblemsAreBounded(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "unknown_%d: 1\n", i)
	}
	_, err := load(t, b.String(), nil)
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, maxProblems+1)
	require.Equal(t, fmt.Sprintf("… and %d more problems", 5000+1-maxProblems), lines[maxProblems])
}

// Aliases can make a small file expand enormously; the walker stops.
func TestAliasExpansionIsBounded(t *testing.T) {
	doc := "controls:\n  custom:\n    - &c {id: A, title: t, checks: &k [" + strings.Repeat("aws.iam.root_mfa, ", 1000) + "aws.iam.root_mfa]}\n"
	for i := range 200 {
		doc += fmt.Sprintf("    - {id: B%d, title: t, checks: *k}\n", i)
	}
	_, err := load(t, "collectors: [{type: demo.noop, schedule: '@daily'}]\n"+doc, nil)
	require.ErrorContains(t, err, "(top level): more than 100000 values")
}

// An alias to the value it sits in used to crash the walker.
func TestSelfReferringAliases(t *testing.T) {
	for doc, want := range map[string]string{
		"collectors: &l [*l, ~]\n":                   "collectors[0]: an alias inside the value it refers to (line 1)",
		"sources: &s {aws: *s}\n":                    "sources.aws: an alias inside the value it refers to",
		"controls: &c {custom: [*c, ~]}\n":           "controls.custom[0]: an alias inside the value it refers to",
		"collectors: [&c {type: demo.noop, id: *c}]": "collectors[0].id: an alias inside the value it refers to",
	} {
		_, err := load(t, doc, nil)
		require.ErrorContains(t, err, want, doc)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(good, []byte("ghp_from_file\n"), 0o600))
	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, make([]byte, MaxSecretFileSize+1), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	doc := func(ref string) string {
		return "sources:\n  github:\n    token: " + ref + "\n    orgs: [acme]\ncollectors: [{type: github.pull_requests, schedule: '@daily'}]\n"
	}
	cfg, err := load(t, doc("file:"+good), nil)
	require.NoError(t, err)
	require.Equal(t, "ghp_from_file", cfg.Sources.GitHub.Token.Reveal())

	for name, tc := range map[string]struct{ ref, want string }{
		"fifo":    {"file:" + fifo, "sources.github.token: read secret file: " + fifo + ": a named pipe (FIFO), not a regular file"},
		"too big": {"file:" + big, "larger than 64 KiB"},
		"device":  {"file:/dev/zero", "a character device, not a regular file"},
		"empty":   {"file:" + empty, "sources.github.token: secret file " + empty + " is empty"},
		"missing": {"file:" + filepath.Join(dir, "nope"), "no such file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, doc(tc.ref), nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// An alias to a secret expands it once; the second visit must not take the
// expanded value for an inline secret.
func TestAliasedSecret(t *testing.T) {
	doc := "sources:\n  aws:\n    regions: [us-east-1]\n    accounts:\n" +
		"      - {id: '111122223333', role_arn: 'arn:aws:iam::111122223333:role/r', external_id: &e '${EXT_ID}'}\n" +
		"      - {id: '444455556666', role_arn: 'arn:aws:iam::444455556666:role/r', external_id: *e}\n" +
		"collectors: [{type: aws.iam, schedule: '@daily'}]\n"
	cfg, err := load(t, doc, map[string]string{"EXT_ID": "ext"})
	require.NoError(t, err)
	require.Equal(t, "ext", cfg.Sources.AWS.Accounts[1].ExternalID.Reveal())
}

func TestLoadReadsOnlyABoundedRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "exhibit.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err := Load(fifo, testRegistry())
	require.ErrorContains(t, err, "config: "+fifo+": a named pipe (FIFO), not a regular file")

	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o600))
	_, err = Load(big, testRegistry())
	require.ErrorContains(t, err, "config: "+big+": larger than 1 MiB")

	_, err = Load(dir, testRegistry())
	require.ErrorContains(t, err, "a directory, not a regular file")
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("collectors: [{type: aws.iam, schedule: '@daily', timeout: 1s}]"))
	f.Add([]byte("sources: {aws: {accounts: [{id: *a}]}}"))
	f.Add([]byte("a: &x [*x]"))
	f.Add([]byte("collectors: [~, &c {type: demo.noop, schedule: '@every 1s', jitter: 1s}, *c]\nstore: x\nstore: y"))
	f.Add([]byte("collectors: &l [*l]"))
	f.Add([]byte("collectors: &l [*l, ~]"))
	f.Add([]byte("listen: ':99999'\nthresholds: {access_key_max_age_days: [1]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b, env(map[string]string{"GITHUB_TOKEN": "t", "EXT_ID": "e"}), testRegistry())
		if err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		require.NotEmpty(t, cfg.Collectors, "an accepted configuration collects something")
	})
}

// accepted_risks names a file that Load reads and validates against the
// checks the registry's collectors declare, every problem prefixed with the
// setting and the file.
func TestAcceptedRisksFile(t *testing.T) {
	reg := collector.NewRegistry()
	reg.Register(collector.Factory{Type: "aws.iam", Provider: "aws", Version: "1", Checks: []string{"aws.iam.root_mfa", "aws.iam.access_key_age"},
		New: func(collector.Settings) (collector.Collector, error) { return nil, nil }})
	dir := t.TempDir()
	risks := filepath.Join(dir, "risks.yaml")
	cfgPath := filepath.Join(dir, "exhibit.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("sources:\n  aws:\n    regions: [us-east-1]\n    accounts: [{id: \"111122223333\"}]\n"+
		"collectors:\n  - type: aws.iam\n    schedule: \"@daily\"\naccepted_risks: "+risks+"\n"), 0o600))

	require.NoError(t, os.WriteFile(risks, []byte(`accepted_risks:
  - {id: AR-1, check: aws.iam.*, resource: "arn:aws:iam::111122223333:*", owner: o, reason: r, until: 2027-01-31, approver: a, approved: 2026-12-01}
`), 0o600))
	cfg, err := Load(cfgPath, reg)
	require.NoError(t, err)
	require.Equal(t, risks, cfg.AcceptedRisks)
	set, err := cfg.LoadAcceptedRisks(reg)
	require.NoError(t, err)
	require.Len(t, set.Entries, 1)

	require.NoError(t, os.WriteFile(risks, []byte(`accepted_risks:
  - {id: AR-1, check: aws.iam.nope, resource: "*", owner: o, reason: r, approver: a, approved: 2026-12-01}
`), 0o600))
	_, err = Load(cfgPath, reg)
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 2, err.Error())
	require.Equal(t, "config "+cfgPath+": accepted_risks: "+risks+": accepted_risks[0].until: required: an exception without an expiry date is refused", lines[0])
	require.Equal(t, "accepted_risks: "+risks+`: accepted_risks[0].check: unknown check "aws.iam.nope" (line 2); exhibit controls lists the checks`, lines[1])

	require.NoError(t, os.Remove(risks))
	_, err = Load(cfgPath, reg)
	require.ErrorContains(t, err, "accepted_risks: stat "+risks+": no such file or directory")

	cfg.AcceptedRisks = ""
	set, err = cfg.LoadAcceptedRisks(reg)
	require.NoError(t, err)
	require.Empty(t, set.Entries)
	require.Equal(t, []string{"aws.iam.access_key_age", "aws.iam.root_mfa"}, Checks(reg))
}
