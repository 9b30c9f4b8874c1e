package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/minio"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
)

var serverBucket atomic.Int64

// s3Env is an agent writing to a fresh MinIO bucket, with a clock the test
// sets: the times a snapshot claims are the agent's, the times the bucket
// records are the server's.
type s3Env struct {
	srv    *minio.Server
	bucket string
	writer *s3store.Store
	agent  *agent.Agent
	clock  *agenttest.Clock
}

// newS3Env's lock is the Object Lock mode the agent writes with ("": a
// bucket without Object Lock).
func newS3Env(t *testing.T, srv *minio.Server, lock string) *s3Env {
	e := &s3Env{srv: srv, bucket: fmt.Sprintf("exhibit-serverside-%d", serverBucket.Add(1)), clock: &agenttest.Clock{}}
	srv.CreateBucket(t, e.bucket, lock != "")
	o := s3store.Options{Region: minio.Region, Endpoint: srv.Endpoint(), Credentials: srv.CredentialsProvider()}
	if lock != "" {
		o.ObjectLockMode, o.RetainDays = lock, 1
	}
	var err error
	e.writer, err = s3store.Open(t.Context(), e.bucket, "prod", o)
	require.NoError(t, err)
	key, err := signing.GenerateFileKey(t.TempDir() + "/key.pem")
	require.NoError(t, err)
	e.clock.Advance(time.Duration(time.Now().UnixNano()))
	e.agent, err = agent.New(t.Context(), agent.Options{Store: e.writer, Signer: key, Version: "test", Now: e.clock.Now})
	require.NoError(t, err)
	return e
}

// run collects once with the agent's clock at now+offset.
func (e *s3Env) run(t *testing.T, offset time.Duration) {
	e.clock.Advance(time.Duration(time.Now().Add(offset).UnixNano() - e.clock.Now().UnixNano()))
	c := &agenttest.Collector{Accounts: []string{"acme"}, Fn: agenttest.Passing}
	_, err := e.agent.Run(t.Context(), agenttest.Job("t", "", c))
	require.NoError(t, err)
}

// verify reads the bucket as an auditor does, with read-only credentials.
func (e *s3Env) verify(t *testing.T) []audit.Problem {
	return e.verifyAs(t, e.srv.ReadOnlyCredentials(t))
}

func (e *s3Env) verifyAs(t *testing.T, ro aws.Credentials) []audit.Problem {
	reader, err := s3store.Open(t.Context(), e.bucket, "prod", s3store.Options{Region: minio.Region, Endpoint: e.srv.Endpoint(),
		Credentials: credentials.NewStaticCredentialsProvider(ro.AccessKeyID, ro.SecretAccessKey, ro.SessionToken)})
	require.NoError(t, err)
	rep, err := audit.Verify(t.Context(), reader, audit.VerifyOptions{MinRetainDays: 1})
	require.NoError(t, err)
	return rep.Problems
}

func problemsText(ps []audit.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// On S3 the server's record is evidence the operator cannot forge: when
// each object was stored, whether it was deleted, and how long it is locked.
func TestVerifyReadsTheServersRecord(t *testing.T) {
	srv := minio.Start(t)

	t.Run("honest", func(t *testing.T) {
		e := newS3Env(t, srv, "COMPLIANCE")
		e.run(t, 0)
		e.run(t, 0)
		require.Empty(t, e.verify(t))
	})

	t.Run("backdated", func(t *testing.T) {
		// An insider with the signing key writes snapshots claiming to have
		// run an hour and two days ago: signatures and chain are fine, the
		// server's clock is not theirs.
		e := newS3Env(t, srv, "COMPLIANCE")
		e.run(t, -48*time.Hour)
		e.run(t, -time.Hour)
		e.run(t, 0)
		got := problemsText(e.verify(t))
		require.Contains(t, got, "evidence/t/acme/000000000001.json: stored 48h0m")
		require.Contains(t, got, "evidence/t/acme/000000000002.json: stored 1h0m")
		require.Contains(t, got, "backdated, or uploaded late from a spool")
		require.NotContains(t, got, "000000000003.json: stored")
	})

	t.Run("deleted under object lock", func(t *testing.T) {
		// Deleting the newest snapshot and its date-index marker leaves no
		// gap in the chain and no dangling marker: only the bucket's version
		// history shows it.
		e := newS3Env(t, srv, "COMPLIANCE")
		e.run(t, 0)
		e.run(t, 0)
		root := srv.Client()
		var index string
		require.NoError(t, e.writer.List(t.Context(), store.IndexPrefix, "", func(k string) error {
			if strings.HasSuffix(k, "/000000000002") {
				index = k
			}
			return nil
		}))
		require.NotEmpty(t, index)
		for _, k := range []string{"evidence/t/acme/000000000002.json", "evidence/t/acme/000000000002.json.sig", index} {
			_, err := root.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("prod/" + k)})
			require.NoError(t, err)
		}
		got := problemsText(e.verify(t))
		require.Contains(t, got, "evidence/t/acme/000000000002.json: deleted: a delete marker")
		require.Contains(t, got, "evidence/t/acme/000000000002.json.sig: deleted: a delete marker")
		require.Contains(t, got, index+": deleted: a delete marker")
		require.Contains(t, got, "retained: version ")
	})

	t.Run("rewritten under object lock", func(t *testing.T) {
		// A plain PUT (without the agent's If-None-Match) over the newest
		// snapshot and its signature, re-signed with the key: the bucket
		// keeps the locked version beside the new one.
		e := newS3Env(t, srv, "COMPLIANCE")
		e.run(t, 0)
		e.run(t, 0)
		k := "evidence/t/acme/000000000002.json"
		old, err := e.writer.Get(t.Context(), k)
		require.NoError(t, err)
		edited := []byte(strings.Replace(string(old), `"reason":"fine"`, `"reason":"all fine"`, 1))
		require.NotEqual(t, old, edited)
		root := srv.Client()
		_, err = root.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("prod/" + k), Body: strings.NewReader(string(edited))})
		require.NoError(t, err)
		got := problemsText(e.verify(t))
		require.Contains(t, got, k+": written 2 times")
	})

	t.Run("not locked", func(t *testing.T) {
		e := newS3Env(t, srv, "")
		e.run(t, 0)
		got := problemsText(e.verify(t))
		require.Contains(t, got, "evidence/t/acme/: 2 snapshot(s) or signature(s) have no Object Lock retention")
	})

	t.Run("governance mode", func(t *testing.T) {
		// Whoever may bypass governance retention deletes versions without
		// leaving a marker: not write-once against an insider.
		e := newS3Env(t, srv, "GOVERNANCE")
		e.run(t, 0)
		got := problemsText(e.verify(t))
		require.Contains(t, got, "evidence/t/acme/: 2 snapshot(s) or signature(s) are locked in GOVERNANCE mode only")
	})

	t.Run("reader without s3:GetObjectRetention", func(t *testing.T) {
		// An auditor with the older read-only policy still gets every other
		// check (MinIO lists versions under s3:ListBucket, so the server
		// times are read), and is told what was left unchecked.
		e := newS3Env(t, srv, "COMPLIANCE")
		e.run(t, -48*time.Hour)
		ps := e.verifyAs(t, srv.SessionCredentials(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
			`"Action":["s3:GetObject","s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::*"]}]}`))
		got := problemsText(ps)
		require.Len(t, ps, 2, got)
		require.Contains(t, got, "evidence/t/acme/: the Object Lock retention of 2 snapshot(s) or signature(s) could not be read")
		require.Contains(t, got, "AccessDenied")
		require.Contains(t, got, "evidence/t/acme/000000000001.json: stored 48h0m")
	})
}
