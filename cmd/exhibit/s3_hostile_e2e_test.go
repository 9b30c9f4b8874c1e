package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/minio"
)

// An S3 store lists every name an insider put in the bucket: verify, with
// read-only credentials, names each stray escaped and checks the rest. (A
// terminal escape cannot travel in an S3 listing's XML at all; a
// right-to-left override, which can, stands in for it.)
func TestVerifyHostileS3Store(t *testing.T) {
	srv := minio.Start(t)
	srv.CreateBucket(t, "hostile", false)
	c := srv.Client()
	put := func(key string, b []byte) {
		_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("hostile"), Key: aws.String("prod/" + key), Body: bytes.NewReader(b)})
		require.NoError(t, err, "put %q", key)
	}
	// Written now, so that the bucket's server times agree with what the
	// snapshots claim: only the planted objects are out of place.
	env := agenttest.NewEnv(t, time.Now().Add(-time.Minute))
	col := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: agenttest.Passing}
	env.Fill(t, agenttest.Job("aws.iam", "@daily", col), 3, time.Second)
	root := env.Store.Root()
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		rel, err := filepath.Rel(root, p)
		require.NoError(t, err)
		put(filepath.ToSlash(rel), b)
		return nil
	}))

	strays := map[string]string{
		"evidence/aws.iam/x\nverified s3: 3 snapshot(s) in 1 series, 1 key(s): OK/000000000001.json": "unexpected object in the evidence tree",
		"evidence/aws.iam/\u202etxt.exe/000000000001.json":                                           "unexpected object in the evidence tree",
		"evidence/aws.iam/.tmp-1/000000000001.json":                                                  "leftover temporary file",
		"README.txt":    "outside the store's layout",
		"keys/note.txt": "unexpected object among published keys",
		store.IndexKey(time.Date(2026, 5, 9, 0, 0, 0, 0, time.UTC), "aws.iam/111122223333", 2): "date-index marker on the wrong day",
	}
	for key := range strays {
		put(key, []byte("planted"))
	}

	r := exhibit(t, t.TempDir(), srv.ReadOnlyEnv(t), "verify", "--store", "s3://hostile/prod", "--endpoint", srv.Endpoint(), "--region", minio.Region)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	for key, what := range strays {
		i := strings.Index(r.stdout, "FAIL "+audit.Escape(key)+": ")
		require.GreaterOrEqual(t, i, 0, "%q is named:\n%s", key, r.stdout)
		require.Contains(t, r.stdout[i:], what)
	}
	require.NotContains(t, r.stdout, "\u202e", "a right-to-left override reaches no terminal")
	require.Contains(t, r.stdout, "3 snapshot(s) in 1 series, 1 key(s): ")
	// The bucket has no Object Lock, which verify reports once for the
	// series, and the key's span is noted.
	require.Contains(t, r.stdout, "FAIL evidence/aws.iam/111122223333/: 6 snapshot(s) or signature(s) have no Object Lock retention")
	require.Contains(t, r.stdout, "NOTE keys/")
	require.Equal(t, len(strays)+3, strings.Count(r.stdout, "\n"), "one line per stray, the retention, the key's span and the verdict:\n%s", r.stdout)
}
