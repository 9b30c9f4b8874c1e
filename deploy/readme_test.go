package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/config"
	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

// readmeBlock returns the fenced block between <!-- name --> and
// <!-- /name --> in the README.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- " + name + " -->\n```[a-z]*\n(.*?)```\n<!-- /" + name + " -->").FindSubmatch(b)
	require.NotNil(t, m, "README has no %s block", name)
	return string(m[1])
}

// The README's AWS commands name only parameters and outputs the templates
// have, give every parameter without a default, and write a configuration
// the agent accepts.
func TestREADMEQuickStartMatchesTemplates(t *testing.T) {
	script := readmeBlock(t, "aws-quickstart") + readmeBlock(t, "aws-stackset")
	// Join continued lines, so each command is one line.
	script = strings.ReplaceAll(script, "\\\n", " ")
	templates := map[string]map[string]any{}
	for _, p := range cfnTemplates {
		templates[strings.TrimPrefix(p, "aws/")] = loadTemplate(t, p)
	}
	commands := 0
	for _, line := range strings.Split(script, "\n") {
		m := regexp.MustCompile(`(?:--template-file |--template-body file://)deploy/aws/(\S+)`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		commands++
		tpl, ok := templates[m[1]]
		require.True(t, ok, "README deploys %s, which is not a tested template", m[1])
		require.Contains(t, line, "--capabilities CAPABILITY_NAMED_IAM", "the templates name their roles")
		var given []string
		if _, overrides, ok := strings.Cut(line, "--parameter-overrides "); ok {
			for _, kv := range strings.Fields(overrides) {
				k, _, ok := strings.Cut(kv, "=")
				require.True(t, ok, kv)
				given = append(given, k)
			}
		}
		for _, m := range regexp.MustCompile(`ParameterKey=(\w+),`).FindAllStringSubmatch(line, -1) {
			given = append(given, m[1])
		}
		params := tpl["Parameters"].(map[string]any)
		for _, k := range given {
			require.Contains(t, params, k, "README passes %s a parameter it does not have", m[1])
		}
		for name, p := range params {
			if _, hasDefault := p.(map[string]any)["Default"]; !hasDefault {
				require.Contains(t, given, name, "README's command for %s leaves out %s, which has no default", m[1], name)
			}
		}
	}
	require.Equal(t, 4, commands, "the agent stack, the reader stack, the StackSet and the management account's stack")

	outputs := templates["agent.yaml"]["Outputs"].(map[string]any)
	for _, m := range regexp.MustCompile(`\$\(out (\w+)\)`).FindAllStringSubmatch(script, -1) {
		require.Contains(t, outputs, m[1], "README reads an output agent.yaml does not have")
	}
	for _, want := range []string{"--permission-model SERVICE_MANAGED", "--auto-deployment Enabled=true", "--deployment-targets OrganizationalUnitIds=", "exhibit check -c exhibit.yaml", "exhibit collect -c exhibit.yaml", "exhibit verify --store"} {
		require.Contains(t, script, want)
	}

	// The configuration the quick start writes, with the stack's outputs.
	block := readmeBlock(t, "aws-quickstart")
	start := strings.Index(block, "cat > exhibit.yaml <<CONFIG\n")
	end := strings.Index(block, "\nCONFIG\n")
	require.True(t, start >= 0 && end > start, "README writes exhibit.yaml with a CONFIG here-document")
	cmd := exec.Command(testtool.Require(t, "bash"), "-euc", "cat <<CONFIG\n"+block[start+len("cat > exhibit.yaml <<CONFIG\n"):end]+"\nCONFIG\n")
	cmd.Env = append(os.Environ(), "BUCKET=exhibit-agent-evidencebucket-1a2b3c", "AWS_REGION=us-east-1", "ACCOUNT=111122223333",
		"SSE_KEY=arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"SIGNING_KEY=arn:aws:kms:us-east-1:111122223333:key/5678abcd-12ab-34cd-56ef-1234567890ab")
	out, err := cmd.Output()
	require.NoError(t, err)
	env := map[string]string{"EXHIBIT_EXTERNAL_ID": testExternalID}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := config.Parse(out, lookup, all.Registry())
	require.NoError(t, err, string(out))
	require.Equal(t, "s3://exhibit-agent-evidencebucket-1a2b3c/prod", cfg.Store)
	acc := cfg.Sources.AWS.Accounts
	require.Len(t, acc, 1)
	require.Equal(t, "arn:aws:iam::111122223333:role/exhibit-reader", acc[0].RoleARN)
	require.Equal(t, testExternalID, acc[0].ExternalID.Reveal())

	// The organization's sources, in a configuration of their own.
	org := "store: file://./evidence\n" + readmeBlock(t, "aws-organization-config") + "collectors:\n  - type: aws.iam\n    schedule: \"@daily\"\n"
	cfg, err = config.Parse([]byte(org), lookup, all.Registry())
	require.NoError(t, err, org)
	require.True(t, cfg.Sources.AWS.Organization)
	require.Equal(t, testExternalID, cfg.Sources.AWS.ExternalID.Reveal())
	reader := templates["reader-role.yaml"]["Parameters"].(map[string]any)["RoleName"].(map[string]any)["Default"]
	require.Equal(t, reader, cfg.Sources.AWS.OrganizationRole)
	require.True(t, slices.ContainsFunc(cfg.Sources.AWS.Accounts, func(a collector.AWSAccount) bool { return a.RoleARN != "" }))
}

// The quick start's as_role runs a command with the role's credentials
// from sts assume-role, and not at all when assuming the role fails: the
// command must never run quietly with the caller's own credentials.
func TestREADMEQuickStartAsRole(t *testing.T) {
	bash := testtool.Require(t, "bash")
	block := readmeBlock(t, "aws-quickstart")
	start := strings.Index(block, "as_role() {\n")
	end := strings.Index(block[max(start, 0):], "\n}\n")
	require.True(t, start >= 0 && end > 0, "README defines as_role")
	fn := block[start : start+end+3]

	dir := t.TempDir()
	fake := "#!/bin/sh\n[ \"$4\" = arn:aws:iam::111122223333:role/exhibit-agent ] || { echo 'AccessDenied' >&2; exit 254; }\nprintf 'AKIA1\\tsecret1\\ttoken1\\n'\n"
	require.NoError(t, os.WriteFile(dir+"/aws", []byte(fake), 0o755))
	run := func(role string) (string, error) {
		cmd := exec.Command(bash, "-c", fn+`as_role "$ROLE" sh -c 'echo "$AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN"'`)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "ROLE="+role, "AWS_ACCESS_KEY_ID=caller")
		out, err := cmd.Output()
		return string(out), err
	}
	out, err := run("arn:aws:iam::111122223333:role/exhibit-agent")
	require.NoError(t, err)
	require.Equal(t, "AKIA1 secret1 token1\n", out)
	out, err = run("arn:aws:iam::111122223333:role/other")
	require.Error(t, err)
	require.Empty(t, out, "the command ran although the role was not assumed")
}
