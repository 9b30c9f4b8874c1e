package s3store_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/minio"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
	"github.com/exhibit-dev/exhibit/pkg/store/storetest"
)

var bucketSeq atomic.Int64

// newBucket creates a uniquely named bucket on srv.
func newBucket(t *testing.T, srv *minio.Server, objectLock bool) string {
	name := fmt.Sprintf("exhibit-test-%d", bucketSeq.Add(1))
	srv.CreateBucket(t, name, objectLock)
	return name
}

func options(srv *minio.Server) s3store.Options {
	return s3store.Options{
		Region:      minio.Region,
		Endpoint:    srv.Endpoint(),
		Credentials: srv.CredentialsProvider(),
	}
}

func lockedOptions(srv *minio.Server) s3store.Options {
	o := options(srv)
	o.ObjectLockMode = "COMPLIANCE"
	o.RetainDays = 1
	return o
}

func open(t *testing.T, bucket, prefix string, o s3store.Options) *s3store.Store {
	s, err := s3store.Open(t.Context(), bucket, prefix, o)
	require.NoError(t, err)
	return s
}

func TestSuite(t *testing.T) {
	srv := minio.Start(t)
	t.Run("Locked", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return open(t, newBucket(t, srv, true), "prod/evidence-store", lockedOptions(srv))
		})
	})
	t.Run("Unlocked", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return open(t, newBucket(t, srv, false), "", options(srv))
		})
	})
}

// recorder counts and keeps the requests an SDK client sends.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
	next http.RoundTripper
}

type recorded struct {
	method, path string
	header       http.Header
	status       int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	rec := recorded{method: req.Method, path: req.URL.Path, header: req.Header.Clone()}
	if err == nil {
		rec.status = resp.StatusCode
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return resp, err
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}

func newRecorder() *recorder {
	return &recorder{next: http.DefaultTransport.(*http.Transport).Clone()}
}

func TestObjectLockRetention(t *testing.T) {
	srv := minio.Start(t)
	bucket := newBucket(t, srv, true)
	o := lockedOptions(srv)
	o.RetainDays = 3
	s := open(t, bucket, "p", o)

	before := time.Now().UTC()
	require.NoError(t, s.Put(t.Context(), "evidence/aws.iam/111/000000000001.json", []byte(`{"a":1}`)))
	after := time.Now().UTC()
	lo := before.Add(72 * time.Hour).Truncate(time.Second)
	hi := after.Add(72 * time.Hour).Add(time.Second)

	c := srv.Client()
	head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("p/evidence/aws.iam/111/000000000001.json")})
	require.NoError(t, err)
	require.Equal(t, types.ObjectLockModeCompliance, head.ObjectLockMode)
	require.NotNil(t, head.ObjectLockRetainUntilDate)
	require.False(t, head.ObjectLockRetainUntilDate.Before(lo), "retain until %s, want ≥ %s", head.ObjectLockRetainUntilDate, lo)
	require.False(t, head.ObjectLockRetainUntilDate.After(hi), "retain until %s, want ≤ %s", head.ObjectLockRetainUntilDate, hi)

	ret, err := c.GetObjectRetention(t.Context(), &s3.GetObjectRetentionInput{Bucket: aws.String(bucket), Key: aws.String("p/evidence/aws.iam/111/000000000001.json")})
	require.NoError(t, err)
	require.Equal(t, types.ObjectLockRetentionModeCompliance, ret.Retention.Mode)
	require.Equal(t, head.ObjectLockRetainUntilDate.Unix(), ret.Retention.RetainUntilDate.Unix())
}

func TestStoredVersionCannotBeDeleted(t *testing.T) {
	srv := minio.Start(t)
	bucket := newBucket(t, srv, true)
	s := open(t, bucket, "", lockedOptions(srv))
	const key = "evidence/aws.iam/111/000000000001.json"
	require.NoError(t, s.Put(t.Context(), key, []byte(`{"a":1}`)))

	c := srv.Client()
	head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)
	require.NotEmpty(t, aws.ToString(head.VersionId), "the bucket is versioned")

	// Not even the root user, not even bypassing governance retention.
	for _, bypass := range []bool{false, true} {
		_, err = c.DeleteObject(t.Context(), &s3.DeleteObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), VersionId: head.VersionId,
			BypassGovernanceRetention: aws.Bool(bypass),
		})
		require.Error(t, err, "delete of a locked version (bypass governance %v) must be refused", bypass)
	}
	// Nor shortening the retention.
	_, err = c.PutObjectRetention(t.Context(), &s3.PutObjectRetentionInput{
		Bucket: aws.String(bucket), Key: aws.String(key), VersionId: head.VersionId,
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(time.Now().Add(time.Hour))},
	})
	require.Error(t, err)

	got, err := s.Get(t.Context(), key)
	require.NoError(t, err)
	require.Equal(t, `{"a":1}`, string(got))
}

func TestSecondPutIsRefusedByTheServer(t *testing.T) {
	srv := minio.Start(t)
	rec := newRecorder()
	o := lockedOptions(srv)
	o.HTTPClient = &http.Client{Transport: rec}
	s := open(t, newBucket(t, srv, true), "", o)

	require.NoError(t, s.Put(t.Context(), "k/1.json", []byte("original")))
	rec.reset()
	err := s.Put(t.Context(), "k/1.json", []byte("replacement"))
	require.ErrorIs(t, err, store.ErrExists)
	require.Contains(t, err.Error(), "put k/1.json (bucket ")

	// The refusal came from the server (a conditional PUT answered 412),
	// not from a look before writing.
	reqs := rec.all()
	require.Len(t, reqs, 1)
	require.Equal(t, http.MethodPut, reqs[0].method)
	require.Equal(t, "*", reqs[0].header.Get("If-None-Match"))
	require.Equal(t, http.StatusPreconditionFailed, reqs[0].status)

	got, err := s.Get(t.Context(), "k/1.json")
	require.NoError(t, err)
	require.Equal(t, "original", string(got))
}

func TestPutHeaders(t *testing.T) {
	srv := minio.Start(t)
	rec := newRecorder()
	o := lockedOptions(srv)
	o.HTTPClient = &http.Client{Transport: rec}
	o.RetainDays = 2190
	bucket := newBucket(t, srv, true)
	s := open(t, bucket, "", o)
	require.NoError(t, s.Put(t.Context(), "a.json", []byte("{}")))

	reqs := rec.all()
	require.Len(t, reqs, 1)
	h := reqs[0].header
	require.Equal(t, "*", h.Get("If-None-Match"))
	require.Equal(t, "SHA256", h.Get("X-Amz-Sdk-Checksum-Algorithm"))
	require.NotEmpty(t, h.Get("X-Amz-Checksum-Sha256")+h.Get("X-Amz-Trailer"), "a SHA-256 checksum travels with the body")
	require.Equal(t, "COMPLIANCE", h.Get("X-Amz-Object-Lock-Mode"))
	until, err := time.Parse(time.RFC3339, h.Get("X-Amz-Object-Lock-Retain-Until-Date"))
	require.NoError(t, err)
	require.Greater(t, until.Sub(time.Now()), 2189*24*time.Hour)

	// SSE-KMS: this MinIO has no KMS, so only the request is checked.
	o.SSEKMSKey = "arn:aws:kms:us-east-1:111122223333:key/test"
	rec.reset()
	_ = open(t, bucket, "", o).Put(t.Context(), "b.json", []byte("{}"))
	reqs = rec.all()
	require.NotEmpty(t, reqs)
	require.Equal(t, "aws:kms", reqs[0].header.Get("X-Amz-Server-Side-Encryption"))
	require.Equal(t, o.SSEKMSKey, reqs[0].header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"))
}

func TestReadersMakeNoWrites(t *testing.T) {
	srv := minio.Start(t)
	bucket := newBucket(t, srv, true)
	w := open(t, bucket, "prod", lockedOptions(srv))
	require.NoError(t, w.Put(t.Context(), "evidence/x/1.json", []byte("1")))
	require.NoError(t, w.Put(t.Context(), "evidence/x/2.json", []byte("2")))

	rec := newRecorder()
	o := lockedOptions(srv)
	o.HTTPClient = &http.Client{Transport: rec}
	r := open(t, bucket, "prod", o)
	require.Empty(t, rec.all(), "Open makes no request")

	var keys []string
	require.NoError(t, r.List(t.Context(), "evidence/", "", func(k string) error {
		keys = append(keys, k)
		return nil
	}))
	require.Equal(t, []string{"evidence/x/1.json", "evidence/x/2.json"}, keys)
	got, err := r.Get(t.Context(), "evidence/x/2.json")
	require.NoError(t, err)
	require.Equal(t, "2", string(got))
	_, err = r.Get(t.Context(), "evidence/x/3.json")
	require.ErrorIs(t, err, store.ErrNotExist)

	for _, req := range rec.all() {
		require.Contains(t, []string{http.MethodGet, http.MethodHead}, req.method, "%s %s", req.method, req.path)
	}
}

func TestReadOnlyCredentials(t *testing.T) {
	srv := minio.Start(t)
	bucket := newBucket(t, srv, true)
	w := open(t, bucket, "prod", lockedOptions(srv))
	require.NoError(t, w.Put(t.Context(), "evidence/x/1.json", []byte("1")))

	o := lockedOptions(srv)
	o.Credentials = credentials.StaticCredentialsProvider{Value: srv.ReadOnlyCredentials(t)}
	r := open(t, bucket, "prod", o)
	var keys []string
	require.NoError(t, r.List(t.Context(), "", "", func(k string) error {
		keys = append(keys, k)
		return nil
	}))
	require.Equal(t, []string{"evidence/x/1.json"}, keys)
	got, err := r.Get(t.Context(), "evidence/x/1.json")
	require.NoError(t, err)
	require.Equal(t, "1", string(got))
	_, err = r.Get(t.Context(), "evidence/x/2.json")
	require.ErrorIs(t, err, store.ErrNotExist)

	// The credentials really are read-only.
	err = r.Put(t.Context(), "evidence/x/2.json", []byte("2"))
	require.Error(t, err)
	require.NotErrorIs(t, err, store.ErrExists)
	require.Contains(t, err.Error(), "AccessDenied")
}

func TestCheckBucket(t *testing.T) {
	srv := minio.Start(t)
	c := srv.Client()

	t.Run("Unlocked", func(t *testing.T) {
		s := open(t, newBucket(t, srv, false), "", lockedOptions(srv))
		st, err := s.CheckBucket(t.Context())
		require.NoError(t, err)
		require.False(t, st.ObjectLock)
		err = s.RequireLocked(st)
		require.Error(t, err)
		require.Contains(t, err.Error(), "versioning is not enabled")
		require.Contains(t, err.Error(), "object lock is not enabled")
		require.Contains(t, err.Error(), "accept_unlocked_bucket")
	})

	t.Run("VersionedOnly", func(t *testing.T) {
		bucket := newBucket(t, srv, false)
		_, err := c.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(bucket),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
		})
		require.NoError(t, err)
		s := open(t, bucket, "", lockedOptions(srv))
		st, err := s.CheckBucket(t.Context())
		require.NoError(t, err)
		require.Equal(t, "Enabled", st.Versioning)
		err = s.RequireLocked(st)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "versioning")
		require.Contains(t, err.Error(), "object lock is not enabled")
	})

	t.Run("Locked", func(t *testing.T) {
		bucket := newBucket(t, srv, true)
		s := open(t, bucket, "", lockedOptions(srv))
		st, err := s.CheckBucket(t.Context())
		require.NoError(t, err)
		require.Equal(t, s3store.BucketState{Versioning: "Enabled", ObjectLock: true}, st)
		require.NoError(t, s.RequireLocked(st))

		// A store that sets no retention itself needs the bucket's default.
		plain := open(t, bucket, "", options(srv))
		err = plain.RequireLocked(st)
		require.Error(t, err)
		require.Contains(t, err.Error(), "no retention")

		_, err = c.PutObjectLockConfiguration(t.Context(), &s3.PutObjectLockConfigurationInput{
			Bucket: aws.String(bucket),
			ObjectLockConfiguration: &types.ObjectLockConfiguration{
				ObjectLockEnabled: types.ObjectLockEnabledEnabled,
				Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{
					Mode: types.ObjectLockRetentionModeCompliance, Days: aws.Int32(7),
				}},
			},
		})
		require.NoError(t, err)
		st, err = plain.CheckBucket(t.Context())
		require.NoError(t, err)
		require.Equal(t, s3store.BucketState{Versioning: "Enabled", ObjectLock: true, DefaultMode: "COMPLIANCE", DefaultDays: 7}, st)
		require.NoError(t, plain.RequireLocked(st))
	})

	t.Run("MissingBucket", func(t *testing.T) {
		s := open(t, "no-such-bucket", "", lockedOptions(srv))
		_, err := s.CheckBucket(t.Context())
		require.Error(t, err)
		require.Contains(t, err.Error(), "no-such-bucket")
	})
}

func TestOutageAndRestart(t *testing.T) {
	srv := minio.Start(t)
	bucket := newBucket(t, srv, true)
	s := open(t, bucket, "", lockedOptions(srv))
	require.NoError(t, s.Put(t.Context(), "before", []byte("1")))

	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	err := s.Put(ctx, "during", []byte("2"))
	cancel()
	require.Error(t, err)
	require.NotErrorIs(t, err, store.ErrExists)

	require.NoError(t, srv.Restart())
	require.NoError(t, s.Put(t.Context(), "after", []byte("3")))
	got, err := s.Get(t.Context(), "before")
	require.NoError(t, err)
	require.Equal(t, "1", string(got))
}

func TestOpenRejectsBadOptions(t *testing.T) {
	base := s3store.Options{Region: "us-east-1"}
	for name, tc := range map[string]struct {
		bucket, prefix string
		opts           func(o *s3store.Options)
		want           string
	}{
		"empty bucket":    {bucket: "", want: "empty bucket"},
		"bad prefix":      {bucket: "b", prefix: "a/../b", want: "prefix"},
		"bad lock mode":   {bucket: "b", opts: func(o *s3store.Options) { o.ObjectLockMode = "FOREVER" }, want: `object lock mode "FOREVER"`},
		"no retain days":  {bucket: "b", opts: func(o *s3store.Options) { o.ObjectLockMode = "COMPLIANCE" }, want: "retain_days"},
		"creds in url":    {bucket: "b", opts: func(o *s3store.Options) { o.Endpoint = "http://id:secret@127.0.0.1:9000" }, want: "must not carry credentials"},
		"endpoint scheme": {bucket: "b", opts: func(o *s3store.Options) { o.Endpoint = "127.0.0.1:9000" }, want: "endpoint"},
	} {
		t.Run(name, func(t *testing.T) {
			o := base
			if tc.opts != nil {
				tc.opts(&o)
			}
			_, err := s3store.Open(t.Context(), tc.bucket, tc.prefix, o)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.NotContains(t, err.Error(), "secret")
		})
	}
}

func TestString(t *testing.T) {
	s, err := s3store.Open(t.Context(), "acme-evidence", "/prod/", s3store.Options{Region: "us-east-1"})
	require.NoError(t, err)
	require.Equal(t, "s3://acme-evidence/prod", s.String())
	s, err = s3store.Open(t.Context(), "acme-evidence", "", s3store.Options{Region: "us-east-1"})
	require.NoError(t, err)
	require.Equal(t, "s3://acme-evidence/", s.String())
}
