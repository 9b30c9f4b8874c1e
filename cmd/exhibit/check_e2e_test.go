package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/all"
	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/collectors/okta/oktasim"
	"github.com/exhibit-dev/exhibit/pkg/store/minio"
	"github.com/exhibit-dev/exhibit/pkg/timestamp/tsatest"
)

// simulatedEstate serves the AWS, GitHub and Okta simulators, as the demo
// does, and returns the sources and collectors of a configuration reading
// all of it with every collector, and the environment it needs.
func simulatedEstate(t *testing.T) (cfg string, env []string, aws *awssim.Sim) {
	t.Helper()
	now := time.Now().UTC()
	aws, gh, okta := awssim.NewAt(now), ghsim.New(now), oktasim.New(now)
	var urls []string
	for _, srv := range []*httptest.Server{httptest.NewServer(aws), httptest.NewServer(gh), httptest.NewServer(okta)} {
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	src, g, o := aws.Source(urls[0]), gh.Source(urls[1]), okta.Source(urls[2])
	var b strings.Builder
	fmt.Fprintf(&b, "sources:\n  aws:\n    endpoint: %s\n    regions: [%s]\n    accounts:\n", src.Endpoint, strings.Join(src.Regions, ", "))
	env = []string{
		"AWS_ACCESS_KEY_ID=AKIADEMODEMODEMO0000", "AWS_SECRET_ACCESS_KEY=demo-secret-not-a-real-key", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_PROFILE=", "AWS_SESSION_TOKEN=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3=",
		"EXHIBIT_GH_TOKEN=" + g.Token.Reveal(), "EXHIBIT_OKTA_TOKEN=" + o.Token.Reveal(),
	}
	for i, a := range src.Accounts {
		fmt.Fprintf(&b, "      - id: %q\n", a.ID)
		if a.RoleARN != "" {
			fmt.Fprintf(&b, "        role_arn: %s\n        external_id: ${EXHIBIT_EXTERNAL_ID_%d}\n", a.RoleARN, i)
			env = append(env, fmt.Sprintf("EXHIBIT_EXTERNAL_ID_%d=%s", i, a.ExternalID.Reveal()))
		}
	}
	fmt.Fprintf(&b, "  github:\n    base_url: %s\n    token: ${EXHIBIT_GH_TOKEN}\n    orgs: [%s]\n    protected_branches: [release]\n", g.BaseURL, g.Orgs[0])
	fmt.Fprintf(&b, "  okta:\n    org_url: %s\n    token: ${EXHIBIT_OKTA_TOKEN}\n", o.OrgURL)
	b.WriteString("collectors:\n")
	for _, typ := range all.Registry().Types() {
		fmt.Fprintf(&b, "  - type: %s\n    schedule: \"@daily\"\n", typ)
	}
	return b.String(), env, aws
}

// treeHashes is every file under dir with its SHA-256.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	}))
	return out
}

func decodeCheck(t *testing.T, stdout string) checkReport {
	t.Helper()
	var rep checkReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	return rep
}

func TestCheckSimulatedEstate(t *testing.T) {
	estate, env, sim := simulatedEstate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), "store: file://./evidence\nsigning_key: file://./key.pem\nspool_dir: ./spool\n"+estate)

	t.Run("before the first collect it creates nothing", func(t *testing.T) {
		before := treeHashes(t, dir)
		r := exhibit(t, dir, env, "check", "-c", "exhibit.yaml")
		require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, "check passed")
		require.Contains(t, r.stdout, "the first collect generates it")
		require.Equal(t, before, treeHashes(t, dir), "check wrote nothing: no store, no key, no spool")
	})

	r := exhibit(t, dir, env, "collect", "-c", "exhibit.yaml", "--only", "github.access")
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	before := treeHashes(t, dir)

	t.Run("passes", func(t *testing.T) {
		r := exhibit(t, dir, env, "check", "-c", "exhibit.yaml", "--json")
		require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
		rep := decodeCheck(t, r.stdout)
		require.True(t, rep.OK)
		require.Zero(t, rep.Counts["denied"])
		require.Zero(t, rep.Counts["error"])
		seen := map[string]bool{}
		for _, it := range rep.Items {
			seen[it.Area+" "+it.Check+" "+string(it.Status)] = true
			// No secret is ever printed.
			for _, e := range env {
				if k, v, _ := strings.Cut(e, "="); strings.HasPrefix(k, "EXHIBIT_") {
					require.NotContains(t, it.Detail, v)
				}
			}
		}
		for _, want := range []string{
			"config valid ok", "secrets sources.github.token ok", "secrets sources.aws.accounts[1].external_id ok",
			"aws.kms kms:ListKeys ok", "aws.kms sts:AssumeRole ok", "aws.kms sts:GetCallerIdentity ok",
			"aws.kms region eu-west-1 ok", "aws.kms kms:DescribeKey not probed", "aws.iam iam:GenerateCredentialReport not probed",
			"store writable ok", "signing_key sign ok", "signing_key published ok",
			"github.access admin:org ok", "github.access reach ok", "okta.access okta.users.read ok",
		} {
			require.True(t, seen[want], "missing %q in\n%s", want, r.stdout)
		}
		for _, typ := range all.Registry().Types() {
			found := false
			for _, it := range rep.Items {
				found = found || it.Area == typ
			}
			require.True(t, found, "no line for collector %s", typ)
		}
	})

	t.Run("a denied action fails the check, naming it and the collector", func(t *testing.T) {
		var acct string
		for id := range sim.Accounts {
			if id != sim.Home && (acct == "" || id < acct) {
				acct = id
			}
		}
		sim.Deny(acct, "", "ListKeys")
		r := exhibit(t, dir, env, "check", "-c", "exhibit.yaml")
		require.Equal(t, 1, r.code, "%s\n%s", r.stdout, r.stderr)
		var line string
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, "denied") && strings.Contains(l, "kms:ListKeys") {
				line = l
			}
		}
		require.NotEmpty(t, line, r.stdout)
		require.True(t, strings.HasPrefix(line, "aws.kms "), line)
		require.Contains(t, line, "account "+acct)
		require.Contains(t, r.stdout, "aws.kms: ")
		require.Contains(t, r.stdout, "check FAILED")
		require.Contains(t, r.stderr, "1 denied")

		r = exhibit(t, dir, env, "check", "-c", "exhibit.yaml", "--json")
		require.Equal(t, 1, r.code)
		rep := decodeCheck(t, r.stdout)
		require.False(t, rep.OK)
		var denied []checkItem
		for _, it := range rep.Items {
			if it.Status == "denied" {
				denied = append(denied, it)
			}
		}
		require.Equal(t, []checkItem{{Area: "aws.kms", Scope: "account " + acct, Check: "kms:ListKeys", Status: "denied", Detail: denied[0].Detail}}, denied)
	})

	require.Equal(t, before, treeHashes(t, dir), "the store, key and spool are unchanged byte for byte")
}

func TestCheckBadConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), `store: ftp://nowhere
signing_key: file://./key.pem
sources:
  github:
    token: ${EXHIBIT_CHECK_UNSET_TOKEN}
    orgs: [x]
collectors:
  - type: no.such.collector
    schedule: "@daily"
`)
	r := exhibit(t, dir, nil, "check", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code)
	// Every problem at once.
	require.Contains(t, r.stderr, "EXHIBIT_CHECK_UNSET_TOKEN is not set")
	require.Contains(t, r.stderr, "no.such.collector")
	require.Contains(t, r.stderr, "store")

	r = exhibit(t, dir, nil, "check", "-c", "exhibit.yaml", "--json")
	require.Equal(t, 2, r.code)
	rep := decodeCheck(t, r.stdout)
	require.False(t, rep.OK)
	require.GreaterOrEqual(t, len(rep.Items), 3)

	r = exhibit(t, dir, nil, "check", "-c", "missing.yaml")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "missing.yaml")
}

// versions lists every object version in the bucket: a store unchanged
// byte for byte has the same versions with the same ETags.
func versions(t *testing.T, srv *minio.Server) []string {
	t.Helper()
	c := s3.New(s3.Options{Region: minio.Region, BaseEndpoint: aws.String(srv.Endpoint()), UsePathStyle: true, Credentials: srv.CredentialsProvider()})
	var out []string
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String("evidence")})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		for _, v := range page.Versions {
			out = append(out, aws.ToString(v.Key)+" "+aws.ToString(v.VersionId)+" "+aws.ToString(v.ETag))
		}
		for _, m := range page.DeleteMarkers {
			out = append(out, aws.ToString(m.Key)+" deleted "+aws.ToString(m.VersionId))
		}
	}
	sort.Strings(out)
	return out
}

func TestCheckS3Store(t *testing.T) {
	srv := minio.Start(t)
	srv.CreateBucket(t, "evidence", true)
	sources, env, _ := estate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), s3Config(srv, sources, "@daily"))
	env = append(env, srv.Env()...)

	r := exhibit(t, dir, env, "check", "-c", "exhibit.yaml", "--json")
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	rep := decodeCheck(t, r.stdout)
	require.Contains(t, rep.Items, checkItem{Area: "store", Scope: "s3://evidence/prod", Check: "s3:PutObject", Status: "not probed", Detail: findDetail(rep, "s3:PutObject")})
	require.Empty(t, versions(t, srv), "check wrote nothing to an empty bucket")

	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	before := versions(t, srv)
	require.NotEmpty(t, before)

	r = exhibit(t, dir, env, "check", "-c", "exhibit.yaml", "--json")
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	rep = decodeCheck(t, r.stdout)
	status := map[string]string{}
	for _, it := range rep.Items {
		if it.Area == "store" || it.Area == "signing_key" {
			status[it.Area+" "+it.Check] = string(it.Status)
		}
	}
	require.Equal(t, map[string]string{
		"store reachable": "ok", "store write-once": "ok", "store s3:ListBucket": "ok", "store s3:PutObject": "ok",
		"signing_key sign": "ok", "signing_key published": "ok",
	}, status)
	require.Contains(t, findDetail(rep, "write-once"), "versioning enabled, object lock true")
	require.Equal(t, before, versions(t, srv), "the conditional PUT was refused: no new version")

	// Credentials that may read the bucket and its settings but not put:
	// the write is denied, and still nothing is written.
	c := srv.SessionCredentials(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket",`+
		`"s3:GetBucketLocation","s3:GetBucketVersioning","s3:GetBucketObjectLockConfiguration"],"Resource":["arn:aws:s3:::*"]}]}`)
	noPut := append(env, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "AWS_SESSION_TOKEN="+c.SessionToken)
	r = exhibit(t, dir, noPut, "check", "-c", "exhibit.yaml", "--json")
	require.Equal(t, 1, r.code, "%s\n%s", r.stdout, r.stderr)
	rep = decodeCheck(t, r.stdout)
	var put checkItem
	for _, it := range rep.Items {
		if it.Check == "s3:PutObject" {
			put = it
		}
	}
	require.Equal(t, "denied", string(put.Status), "%+v", put)
	require.Contains(t, put.Detail, "AccessDenied")
	require.Equal(t, before, versions(t, srv))
}

func findDetail(rep checkReport, check string) string {
	for _, it := range rep.Items {
		if it.Check == check {
			return it.Detail
		}
	}
	return ""
}

// The TSA is asked for one token of a throwaway digest, which is not
// stored; a TSA that does not answer fails the check.
func TestCheckTimestampAuthority(t *testing.T) {
	tsa := tsatest.Start(t)
	dir := t.TempDir()
	cfg, env := ghConfig(t, "./key.pem")
	cfg = strings.Replace(cfg, "spool_dir: ./spool\n", "spool_dir: ./spool\ntimestamp_authority: "+tsa.URL+"\n", 1)
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
	r := exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	before := treeHashes(t, dir)

	r = exhibit(t, dir, env, "check", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Regexp(t, `timestamp_authority\s+http://\S+\s+token\s+ok\s+a \d+-byte token for a throwaway digest \(not stored\)`, r.stdout)

	tsa.Down()
	r = exhibit(t, dir, env, "check", "-c", "exhibit.yaml")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	require.Regexp(t, `timestamp_authority\s+token\s+error`, r.stdout)
	require.Equal(t, before, treeHashes(t, dir))
}

// A signing key that is not among the keys the store published fails the
// check: evidence there is signed by another key.
func TestCheckSigningKeyNotPublished(t *testing.T) {
	dir := t.TempDir()
	cfg, env := ghConfig(t, "./key.pem")
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
	r := exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.NoError(t, os.Rename(filepath.Join(dir, "key.pem"), filepath.Join(dir, "old.pem")))
	r = exhibit(t, dir, nil, "keys", "generate", "--key", "file://./key.pem")
	require.Equal(t, 0, r.code, r.stderr)
	before := treeHashes(t, dir)

	r = exhibit(t, dir, env, "check", "-c", "exhibit.yaml", "--json")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	rep := decodeCheck(t, r.stdout)
	var published checkItem
	for _, it := range rep.Items {
		if it.Area == "signing_key" && it.Check == "published" {
			published = it
		}
	}
	require.Equal(t, "error", string(published.Status))
	require.Contains(t, published.Detail, "do not include this key")
	require.Contains(t, published.Detail, "exhibit keys rotate")

	// And a key file that is missing while keys are published.
	require.NoError(t, os.Remove(filepath.Join(dir, "key.pem")))
	r = exhibit(t, dir, env, "check", "-c", "exhibit.yaml")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, "does not exist, but the store already has published keys")
	require.NoFileExists(t, filepath.Join(dir, "key.pem"), "check never creates a key")
	delete(before, "key.pem")
	require.Equal(t, before, treeHashes(t, dir))
}
