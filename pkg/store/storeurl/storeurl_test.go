package storeurl_test

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/minio"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
	"github.com/exhibit-dev/exhibit/pkg/store/storeurl"
)

func TestFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evidence")
	_, err := storeurl.Open(t.Context(), "file://"+dir, storeurl.ReadOnly)
	require.Error(t, err, "a reader does not create a missing store")
	st, err := storeurl.Open(t.Context(), "file://"+dir, storeurl.ReadWrite)
	require.NoError(t, err)
	require.NoError(t, st.Put(t.Context(), "a", []byte("1")))
	_, err = storeurl.Open(t.Context(), "file://"+dir, storeurl.ReadOnly)
	require.NoError(t, err)
}

func TestBadURLs(t *testing.T) {
	for _, u := range []string{"", "s3://", "s3:///prefix", "s3://id:secret@bucket/p", "s3://bucket/p?x=1", "s3://bucket/a/../b", "gs://bucket", "file://"} {
		t.Run(u, func(t *testing.T) {
			_, err := storeurl.OpenWith(t.Context(), u, storeurl.Options{S3: s3store.Options{Region: "us-east-1"}})
			require.Error(t, err)
			require.NotContains(t, err.Error(), "secret")
		})
	}
}

func TestS3(t *testing.T) {
	srv := minio.Start(t)
	s3opts := s3store.Options{
		Region:         minio.Region,
		Endpoint:       srv.Endpoint(),
		Credentials:    srv.CredentialsProvider(),
		ObjectLockMode: "COMPLIANCE",
		RetainDays:     2190,
	}
	srv.CreateBucket(t, "locked", true)
	srv.CreateBucket(t, "unlocked", false)
	c := srv.Client()

	t.Run("LockedBucket", func(t *testing.T) {
		st, err := storeurl.OpenWith(t.Context(), "s3://locked/prod", storeurl.Options{Mode: storeurl.ReadWrite, S3: s3opts})
		require.NoError(t, err)
		require.Equal(t, "s3://locked/prod", st.String())
		require.NoError(t, st.Put(t.Context(), "keys/a.pem", []byte("pem")))
		head, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: aws.String("prod/keys/a.pem")})
		require.NoError(t, err)
		require.Equal(t, types.ObjectLockModeCompliance, head.ObjectLockMode)
	})

	t.Run("UnlockedBucketRefused", func(t *testing.T) {
		_, err := storeurl.OpenWith(t.Context(), "s3://unlocked/prod", storeurl.Options{Mode: storeurl.ReadWrite, S3: s3opts})
		require.Error(t, err)
		require.Contains(t, err.Error(), "object lock is not enabled")
		require.Contains(t, err.Error(), "accept_unlocked_bucket")
	})

	t.Run("UnlockedBucketAccepted", func(t *testing.T) {
		var reason error
		st, err := storeurl.OpenWith(t.Context(), "s3://unlocked/prod", storeurl.Options{
			Mode: storeurl.ReadWrite, S3: s3opts, AcceptUnlockedBucket: true,
			OnUnlocked: func(err error) { reason = err },
		})
		require.NoError(t, err)
		require.ErrorContains(t, reason, "object lock is not enabled")
		// Written without retention, which this bucket would refuse.
		require.NoError(t, st.Put(t.Context(), "keys/a.pem", []byte("pem")))
		require.ErrorIs(t, st.Put(t.Context(), "keys/a.pem", []byte("other")), store.ErrExists)
	})

	t.Run("ReaderNeedsNoBucketPermissions", func(t *testing.T) {
		ro := s3opts
		ro.Credentials = credentials.StaticCredentialsProvider{Value: srv.ReadOnlyCredentials(t)}
		st, err := storeurl.OpenWith(t.Context(), "s3://locked/prod", storeurl.Options{Mode: storeurl.ReadOnly, S3: ro})
		require.NoError(t, err)
		got, err := st.Get(t.Context(), "keys/a.pem")
		require.NoError(t, err)
		require.Equal(t, "pem", string(got))

		// The same credentials cannot open it for writing.
		_, err = storeurl.OpenWith(t.Context(), "s3://locked/prod", storeurl.Options{Mode: storeurl.ReadWrite, S3: ro})
		require.Error(t, err)
		require.Contains(t, err.Error(), "AccessDenied")
	})
}
