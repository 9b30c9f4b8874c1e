// Package minio runs a real MinIO server on loopback for tests: the S3
// store, Object Lock, conditional writes and the spool are proved against it.
//
// The server binary is the pinned version that `make test-deps` installs. A
// test that calls Start skips when the binary is missing on a developer
// machine, and fails under CI (CI set in the environment), so nothing is
// skipped silently there.
package minio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/exhibit-dev/exhibit/pkg/testtool"
)

// Region is the region the server reports and the harness's clients use.
const Region = "us-east-1"

const (
	rootUser     = "exhibit-test"
	rootPassword = "exhibit-test-secret-key"
	// readyTimeout bounds a start; the server is usually ready in well under
	// a second, but a loaded CI machine may be slow.
	readyTimeout = 60 * time.Second
)

// Server is one MinIO process with its own data directory and port.
type Server struct {
	bin     string
	dataDir string
	addr    string
	console string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs *lockedWriter
}

// Start runs a fresh server for the test and stops it at cleanup. Without
// the binary it skips the test, or fails it when CI is set.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := testtool.Require(t, "minio")
	s := &Server{bin: bin, dataDir: t.TempDir()}
	var err error
	// A port picked free can be taken before the server binds it; try again
	// with new ports rather than fail on that race.
	for attempt := 0; attempt < 3; attempt++ {
		if s.addr, err = freeAddr(); err != nil {
			t.Fatalf("minio: %v", err)
		}
		if s.console, err = freeAddr(); err != nil {
			t.Fatalf("minio: %v", err)
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("minio: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	cmd := exec.Command(s.bin, "server", "--quiet", "--address", s.addr, "--console-address", s.console, s.dataDir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+rootUser,
		"MINIO_ROOT_PASSWORD="+rootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_REGION="+Region,
		"MINIO_CI_CD=1",
	)
	logs := &lockedWriter{}
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done, s.logs = cmd, done, logs
	if err := waitReady(s.Endpoint(), done); err != nil {
		s.stopLocked()
		return fmt.Errorf("server on %s: %w; output:\n%s", s.addr, err, logs.String())
	}
	if err := s.waitInitialized(done); err != nil {
		s.stopLocked()
		return fmt.Errorf("server on %s: %w; output:\n%s", s.addr, err, logs.String())
	}
	return nil
}

// waitInitialized waits until the server answers an authenticated request:
// it reports ready before its object layer and IAM are, and until then
// answers 503 XMinioServerNotInitialized, which a loaded machine can stretch
// past the SDK's retries of a test's first call.
func (s *Server) waitInitialized(done <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	c := s.Client()
	for {
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return errors.New("exited before it was initialized")
		case <-ctx.Done():
			return fmt.Errorf("not initialized after %s: %w", readyTimeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitReady(endpoint string, done <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			return errors.New("exited before it was ready")
		default:
		}
		resp, err := client.Get(endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", readyTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Endpoint is the server's base URL, http://127.0.0.1:PORT.
func (s *Server) Endpoint() string { return "http://" + s.addr }

// Credentials are the root user's access key id and secret.
func (s *Server) Credentials() (id, secret string) { return rootUser, rootPassword }

// CredentialsProvider serves the root credentials to an SDK client.
func (s *Server) CredentialsProvider() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(rootUser, rootPassword, "")
}

// Env is what a subprocess needs to reach the server with the AWS SDK's
// default chain: credentials, region and the S3 endpoint.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + rootUser,
		"AWS_SECRET_ACCESS_KEY=" + rootPassword,
		"AWS_REGION=" + Region,
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint(),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// readOnlyPolicy is what a reader of the store (verify, sample, export) is
// granted: read objects and list buckets, nothing else.
const readOnlyPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
	`"Action":["s3:GetObject","s3:ListBucket","s3:GetBucketLocation","s3:ListBucketVersions","s3:GetObjectRetention"],"Resource":["arn:aws:s3:::*"]}]}`

// ReadOnlyCredentials are temporary credentials (from the server's STS
// AssumeRole with an inline session policy) that may only get objects and
// list buckets: what an auditor's read-only access looks like.
func (s *Server) ReadOnlyCredentials(t testing.TB) aws.Credentials {
	t.Helper()
	return s.SessionCredentials(t, readOnlyPolicy)
}

// SessionCredentials are temporary credentials narrowed by an inline
// session policy (IAM JSON).
func (s *Server) SessionCredentials(t testing.TB, policy string) aws.Credentials {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	c := sts.New(sts.Options{Region: Region, BaseEndpoint: aws.String(s.Endpoint()), Credentials: s.CredentialsProvider()})
	in := &sts.AssumeRoleInput{
		// MinIO ignores the role for its root user; the policy is what
		// narrows the session.
		RoleArn:         aws.String("arn:minio:iam:::role/exhibit-reader"),
		RoleSessionName: aws.String("exhibit-reader"),
		Policy:          aws.String(policy),
		DurationSeconds: aws.Int32(3600),
	}
	out, err := c.AssumeRole(ctx, in)
	// The server reports ready before its IAM subsystem is; until then STS
	// answers "Server not initialized".
	for err != nil && strings.Contains(err.Error(), "Server not initialized") && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		out, err = c.AssumeRole(ctx, in)
	}
	if err != nil {
		t.Fatalf("minio: read-only credentials: %v", err)
	}
	return aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Source:          "minio read-only session",
	}
}

// ReadOnlyEnv is Env with read-only credentials (see ReadOnlyCredentials).
func (s *Server) ReadOnlyEnv(t testing.TB) []string {
	t.Helper()
	c := s.ReadOnlyCredentials(t)
	return []string{
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + c.SessionToken,
		"AWS_REGION=" + Region,
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint(),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Client is an S3 client with root credentials, for test setup and for
// inspecting what a store wrote (retention, versions).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials:  s.CredentialsProvider(),
	})
}

// CreateBucket makes a bucket. With objectLock, Object Lock is enabled at
// creation, and versioning with it (Object Lock requires it); no default
// retention is set.
func (s *Server) CreateBucket(t testing.TB, name string, objectLock bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if objectLock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	c := s.Client()
	if _, err := c.CreateBucket(ctx, in); err != nil {
		t.Fatalf("minio: create bucket %s: %v", name, err)
	}
	if objectLock {
		_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(name),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
		})
		if err != nil {
			t.Fatalf("minio: enable versioning on %s: %v", name, err)
		}
	}
}

// Stop ends the server; its data directory and port are kept for Restart.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	// The server shuts down cleanly on SIGTERM; kill it if it lingers.
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

// Restart starts the server again on the same address with the same data,
// as after an outage (it stops it first if it is running). It returns once
// the server is ready again.
func (s *Server) Restart() error {
	s.Stop()
	if err := s.start(); err != nil {
		return fmt.Errorf("minio: restart: %w", err)
	}
	return nil
}

// Running reports whether the server process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Logs returns what the current server process has printed.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil {
		return ""
	}
	return s.logs.String()
}

type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
