package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/collectors/github/ghsim"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// ghConfig is a configuration collecting github.access from a simulated
// GitHub into ./evidence, signing with keyPath; env carries its token.
func ghConfig(t *testing.T, keyPath string) (config string, env []string) {
	t.Helper()
	sim := ghsim.New(time.Now())
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	src := sim.Source(srv.URL)
	return fmt.Sprintf(`store: file://./evidence
signing_key: file://%s
spool_dir: ./spool
sources:
  github:
    base_url: %s
    token: ${EXHIBIT_GH_TOKEN}
    orgs: [%s]
collectors:
  - type: github.access
    schedule: "@daily"
`, keyPath, src.BaseURL, src.Orgs[0]), []string{"EXHIBIT_GH_TOKEN=" + src.Token.Reveal()}
}

func publishedKeys(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "evidence", strings.TrimSuffix(store.KeysPrefix, "/")))
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// A fresh store gets a key on first use; once it has published keys, a
// missing key file (a typo, a lost volume) is refused rather than replaced
// by a new key, until the operator generates one deliberately.
func TestMissingKeyFileWithPublishedKeys(t *testing.T) {
	dir := t.TempDir()
	cfg, env := ghConfig(t, "./key.pem")
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
	r := exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.FileExists(t, filepath.Join(dir, "key.pem"), "generated on first use")
	require.Len(t, publishedKeys(t, dir), 1)

	typo := strings.Replace(cfg, "file://./key.pem", "file://./kee.pem", 1)
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), typo)
	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "signing_key: file ./kee.pem does not exist; the store file://"+filepath.Join(dir, "evidence")+" already has published keys")
	require.Contains(t, r.stderr, "to start a new key deliberately run exhibit keys generate --key file://./kee.pem")
	require.NoFileExists(t, filepath.Join(dir, "kee.pem"))
	require.Len(t, publishedKeys(t, dir), 1)

	// Nor does a missing directory appear.
	nested := strings.Replace(cfg, "file://./key.pem", "file://./keys/key.pem", 1)
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), nested)
	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.NoDirExists(t, filepath.Join(dir, "keys"))

	// The deliberate way after a lost key: generate, then collect with it.
	// Nothing can vouch for the new key, and verify says so.
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), typo)
	r = exhibit(t, dir, nil, "keys", "generate", "--key", "file://./kee.pem")
	require.Equal(t, 0, r.code, r.stderr)
	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Len(t, publishedKeys(t, dir), 2, "the new key is published beside the old one")
	r = exhibit(t, dir, nil, "verify", "--store", "file://./evidence")
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "a key that appeared without notice")
	require.Contains(t, r.stdout, "the series changes signing key here")

	// generate never replaces a key.
	before, err := os.ReadFile(filepath.Join(dir, "kee.pem"))
	require.NoError(t, err)
	r = exhibit(t, dir, nil, "keys", "generate", "--key", "file://./kee.pem")
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "file exists")
	after, err := os.ReadFile(filepath.Join(dir, "kee.pem"))
	require.NoError(t, err)
	require.Equal(t, before, after)
}

// A store that exists but refuses the first write (publishing the key) is a
// setup problem: exit 2, like a store that cannot be opened. The test runs
// as any user, root included, so the refusal is a file where the keys
// directory should be rather than a permission bit.
func TestUnwritableExistingStoreExits2(t *testing.T) {
	dir := t.TempDir()
	cfg, env := ghConfig(t, "./key.pem")
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
	r := exhibit(t, dir, nil, "keys", "generate", "--key", "file://./key.pem")
	require.Equal(t, 0, r.code, r.stderr)
	writeFile(t, filepath.Join(dir, "evidence", "keys"), "not a directory")

	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "store file://"+filepath.Join(dir, "evidence")+": publish key keys/")
}

// Rotating the key: the key in use announces the next one, the agent then
// signs with it, and verify accepts the change and says which key signed
// what.
func TestKeysRotate(t *testing.T) {
	dir := t.TempDir()
	cfg, env := ghConfig(t, "./key.pem")
	writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
	r := exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)

	r = exhibit(t, dir, env, "keys", "rotate", "-c", "exhibit.yaml", "--to", "file://./key-2027.pem", "--reason", "yearly rotation")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "set signing_key: file://./key-2027.pem and restart the agent")
	require.FileExists(t, filepath.Join(dir, "key-2027.pem"))
	require.Len(t, publishedKeys(t, dir), 3, "two keys and the rotations folder")

	writeFile(t, filepath.Join(dir, "exhibit.yaml"), strings.Replace(cfg, "file://./key.pem", "file://./key-2027.pem", 1))
	r = exhibit(t, dir, env, "collect", "-c", "exhibit.yaml")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	r = exhibit(t, dir, nil, "verify", "--store", "file://./evidence")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "signed github.access/acme seq 1")
	require.Contains(t, r.stdout, "signed github.access/acme seq 2")

	// Pinning the first key, the auditor trusts the key it announced.
	r = exhibit(t, dir, nil, "keys", "public", "--key", "file://./key.pem")
	require.Equal(t, 0, r.code)
	writeFile(t, filepath.Join(dir, "first.pem"), r.stdout)
	r = exhibit(t, dir, nil, "verify", "--store", "file://./evidence", "--key", "first.pem")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "trusted: announced on")

	// Bad use is a usage error.
	r = exhibit(t, dir, env, "keys", "rotate", "-c", "exhibit.yaml")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--to is required")
}
