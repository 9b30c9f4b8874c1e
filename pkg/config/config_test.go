package config

import (
	"context"
	"strings"
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
	cfg, err := Parse([]byte(doc), env(vars))
	if err != nil {
		return nil, err
	}
	return cfg, cfg.Validate(testRegistry())
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
	require.Equal(t, 90, cfg.Thresholds.AccessKeyMaxAgeDays)
	require.Equal(t, "127.0.0.1:9464", cfg.Listen)
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
		{"unknown custom check", strings.Replace(good, "[aws.iam.root_mfa]", "[okta.nope]", 1), []string{`controls.custom[0].checks[0]: unknown check "okta.nope"`}},
		{"zero store timeout", "store_options:\n  timeout: 0s\n", []string{"store_options.timeout: must be positive, got 0s"}},
		{"bad store", "store: ftp://x\n", []string{`store: want file://PATH or s3://BUCKET[/PREFIX], got "ftp://x"`}},
		{"not yaml", "a: [\n", []string{"not valid YAML"}},
		{"list where mapping", "sources: [1]\n", []string{"sources: want a mapping"}},
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

func TestEmptyFileIsDefaults(t *testing.T) {
	cfg, err := load(t, "", nil)
	require.NoError(t, err)
	require.Equal(t, "file://./evidence", cfg.Store)
	require.Equal(t, 30*time.Second, cfg.StoreOptions.Timeout)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("collectors: [{type: aws.iam, schedule: '@daily', timeout: 1s}]"))
	f.Add([]byte("sources: {aws: {accounts: [{id: *a}]}}"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_ = ctx
		cfg, err := Parse(b, env(map[string]string{"GITHUB_TOKEN": "t", "EXT_ID": "e"}))
		if err != nil {
			return
		}
		_ = cfg.Validate(testRegistry())
	})
}
