package minio_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store/minio"
)

func TestStopRestartKeepsAddressAndData(t *testing.T) {
	srv := minio.Start(t)
	srv.CreateBucket(t, "bucket-one", true)
	endpoint := srv.Endpoint()
	_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: aws.String("bucket-one"), Key: aws.String("k"), Body: strings.NewReader("v"),
	})
	require.NoError(t, err)

	srv.Stop()
	srv.Stop() // stopping twice is harmless
	require.False(t, srv.Running())
	_, err = http.Get(endpoint + "/minio/health/live")
	require.Error(t, err, "nothing listens while stopped")

	require.NoError(t, srv.Restart())
	require.True(t, srv.Running())
	require.Equal(t, endpoint, srv.Endpoint())
	out, err := srv.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("bucket-one"), Key: aws.String("k")})
	require.NoError(t, err)
	out.Body.Close()
}

func TestEnv(t *testing.T) {
	srv := minio.Start(t)
	env := strings.Join(srv.Env(), "\n")
	id, secret := srv.Credentials()
	require.Contains(t, env, "AWS_ACCESS_KEY_ID="+id)
	require.Contains(t, env, "AWS_SECRET_ACCESS_KEY="+secret)
	require.Contains(t, env, "AWS_ENDPOINT_URL_S3="+srv.Endpoint())
	require.Contains(t, env, "AWS_REGION="+minio.Region)
	require.Contains(t, strings.Join(srv.ReadOnlyEnv(t), "\n"), "AWS_SESSION_TOKEN=")
}
