// Package s3store is the S3 evidence store (s3://bucket/prefix URLs), for
// AWS S3 and S3-compatible servers.
//
// Nothing is ever overwritten: every write is a conditional PUT
// (If-None-Match: *), so when several replicas race for one key exactly one
// wins and the others get store.ErrExists. Each object carries a SHA-256
// checksum the server verifies, and, when the store is configured with an
// Object Lock mode, its own retention (mode and retain-until date), so the
// bucket keeps it write-once even for the account's administrators
// (COMPLIANCE mode).
//
// Opening a store makes no request. Readers (verify, sample, export) need only
// s3:GetObject and s3:ListBucket; the lock settings apply to Put alone.
package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Options configure a store. The zero value writes without Object Lock
// retention, with the region, endpoint and credentials of the AWS SDK's
// default chain.
type Options struct {
	// Region of the bucket; empty takes the SDK default (AWS_REGION, the
	// profile), and us-east-1 for a custom endpoint.
	Region string
	// Endpoint of an S3-compatible server (MinIO, a VPC endpoint). When set,
	// or when AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL is, requests use
	// path-style addressing.
	Endpoint string
	// ObjectLockMode is COMPLIANCE, GOVERNANCE, or empty for no per-object
	// retention (the bucket's default retention, if any, still applies).
	ObjectLockMode string
	// RetainDays is each object's retention from the time it is written;
	// required with ObjectLockMode.
	RetainDays int
	// SSEKMSKey, when set, encrypts each object with this KMS key (SSE-KMS).
	SSEKMSKey string
	// HTTPClient replaces the SDK's HTTP client.
	HTTPClient *http.Client
	// Credentials replace the SDK's default credential chain.
	Credentials aws.CredentialsProvider
	// Now is the clock retention dates are computed from (time.Now if nil).
	Now func() time.Time
}

// Store is an S3 bucket, or a prefix of one, holding evidence.
type Store struct {
	client     *s3.Client
	bucket     string
	prefix     string // "" or ending in "/"
	lockMode   types.ObjectLockMode
	retainDays int
	sseKey     string
	now        func() time.Time
}

var _ store.Store = (*Store)(nil)

// conflictRetries bounds the re-tries of a PUT the server answered with 409
// ConditionalRequestConflict (another conditional write to the key was in
// flight).
const conflictRetries = 4

// Open returns the store for bucket and prefix. It makes no request: a
// missing bucket or credential shows on first use, or in CheckBucket.
func Open(ctx context.Context, bucket, prefix string, opts Options) (*Store, error) {
	s := &Store{bucket: bucket, retainDays: opts.RetainDays, sseKey: opts.SSEKMSKey, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if bucket == "" {
		return nil, errors.New("s3 store: empty bucket name")
	}
	if p := strings.Trim(prefix, "/"); p != "" {
		if err := store.ValidKey(p); err != nil {
			return nil, fmt.Errorf("s3 store (bucket %s): prefix: %w", bucket, err)
		}
		s.prefix = p + "/"
	}
	switch mode := strings.ToUpper(opts.ObjectLockMode); mode {
	case "":
	case string(types.ObjectLockModeCompliance), string(types.ObjectLockModeGovernance):
		if opts.RetainDays <= 0 {
			return nil, fmt.Errorf("%s: object lock mode %s needs retain_days > 0", s, mode)
		}
		s.lockMode = types.ObjectLockMode(mode)
	default:
		return nil, fmt.Errorf("%s: object lock mode %q: want COMPLIANCE or GOVERNANCE", s, opts.ObjectLockMode)
	}
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: endpoint: want http(s)://HOST[:PORT]", s)
		}
		if u.User != nil {
			return nil, fmt.Errorf("%s: endpoint must not carry credentials; use the AWS credential chain", s)
		}
	}

	var loadOpts []func(*config.LoadOptions) error
	loadOpts = append(loadOpts, config.WithRetryMode(aws.RetryModeAdaptive))
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.Credentials != nil {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(opts.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("%s: aws config: %w", s, err)
	}
	custom := opts.Endpoint != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	if cfg.Region == "" {
		if !custom {
			return nil, fmt.Errorf("%s: no region: set store_options.region or AWS_REGION", s)
		}
		cfg.Region = "us-east-1"
	}
	s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = custom
		// Objects written by other tools may lack a checksum; that is not
		// worth a line on stderr per read.
		o.DisableLogOutputChecksumValidationSkipped = true
		if opts.HTTPClient != nil {
			o.HTTPClient = opts.HTTPClient
		}
	})
	return s, nil
}

// String names the store: s3://bucket/prefix.
func (s *Store) String() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

// Bucket is the store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Prefix is the store's key prefix, "" or ending in a slash.
func (s *Store) Prefix() string { return s.prefix }

// Client is the store's S3 client.
func (s *Store) Client() *s3.Client { return s.client }

// Locking reports the Object Lock mode and retention Put applies ("" and 0
// when it applies none).
func (s *Store) Locking() (mode string, retainDays int) {
	if s.lockMode == "" {
		return "", 0
	}
	return string(s.lockMode), s.retainDays
}

// WithoutObjectLock returns a store on the same bucket and prefix whose Put
// sets no per-object retention: for a bucket without Object Lock, which
// refuses such writes, when the configuration accepts that risk.
func (s *Store) WithoutObjectLock() *Store {
	c := *s
	c.lockMode, c.retainDays = "", 0
	return &c
}

func (s *Store) where(op, key string) string {
	return fmt.Sprintf("%s %s (bucket %s)", op, key, s.bucket)
}

// Put implements store.Store: a conditional PUT that never replaces an
// object. A PUT the SDK had to retry may find its own first attempt stored;
// when the stored bytes are exactly data, Put succeeds.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := store.ValidKey(key); err != nil {
		return err
	}
	where := s.where("put", key)
	uncertain := false // an earlier attempt of ours may have been stored
	for try := 0; ; try++ {
		attempts, err := s.putOnce(ctx, key, data)
		if attempts > 1 {
			uncertain = true
		}
		switch {
		case err == nil:
			return nil
		case isPreconditionFailed(err):
			if uncertain && s.holds(ctx, key, data) {
				return nil
			}
			return fmt.Errorf("%s: %w", where, store.ErrExists)
		case isConditionalConflict(err) && try < conflictRetries:
			uncertain = true
			if err := sleep(ctx, time.Duration(50<<try)*time.Millisecond); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			continue
		case isConditionalConflict(err):
			// The conflicting write has had time to land: whichever it was,
			// the key is taken unless it holds our bytes.
			got, gerr := s.get(ctx, key)
			switch {
			case gerr == nil && bytes.Equal(got, data):
				return nil
			case gerr == nil:
				return fmt.Errorf("%s: %w", where, store.ErrExists)
			}
			return fmt.Errorf("%s: %w", where, err)
		}
		return fmt.Errorf("%s: %w", where, err)
	}
}

func (s *Store) putOnce(ctx context.Context, key string, data []byte) (int, error) {
	in := &s3.PutObjectInput{
		Bucket:            aws.String(s.bucket),
		Key:               aws.String(s.prefix + key),
		Body:              bytes.NewReader(data),
		ContentLength:     aws.Int64(int64(len(data))),
		ContentType:       aws.String(contentType(key)),
		IfNoneMatch:       aws.String("*"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	}
	if s.lockMode != "" {
		in.ObjectLockMode = s.lockMode
		in.ObjectLockRetainUntilDate = aws.Time(s.now().UTC().Add(time.Duration(s.retainDays) * 24 * time.Hour))
	}
	if s.sseKey != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(s.sseKey)
	}
	attempts := 0
	_, err := s.client.PutObject(ctx, in, s3.WithAPIOptions(countAttempts(&attempts)))
	return attempts, err
}

// countAttempts counts the HTTP attempts of one call, retries included.
func countAttempts(n *int) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("exhibitCountAttempts",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				*n++
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

// holds reports whether key stores exactly data.
func (s *Store) holds(ctx context.Context, key string, data []byte) bool {
	got, err := s.get(ctx, key)
	return err == nil && sha256.Sum256(got) == sha256.Sum256(data)
}

func contentType(key string) string {
	switch path.Ext(key) {
	case ".json":
		return "application/json"
	case ".pem":
		return "application/x-pem-file"
	case ".sig":
		return "text/plain"
	}
	return "application/octet-stream"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Get implements store.Store. The SDK checks the stored SHA-256 checksum
// against the bytes read when the object has one. An object larger than
// store.MaxObjectSize is refused without being read.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := store.ValidKey(key); err != nil {
		return nil, err
	}
	b, err := s.get(ctx, key)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%s: %w", s.where("get", key), store.ErrNotExist)
		}
		return nil, fmt.Errorf("%s: %w", s.where("get", key), err)
	}
	return b, nil
}

func (s *Store) get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket:       aws.String(s.bucket),
		Key:          aws.String(s.prefix + key),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	// Refuse a huge object before reading it, and never read past the
	// limit whatever the length header said.
	if n := aws.ToInt64(out.ContentLength); n > store.MaxObjectSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", store.ErrTooLarge, n, store.MaxObjectSize)
	}
	b, err := io.ReadAll(io.LimitReader(out.Body, store.MaxObjectSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > store.MaxObjectSize {
		return nil, fmt.Errorf("%w: more than the limit of %d bytes", store.ErrTooLarge, store.MaxObjectSize)
	}
	return b, nil
}

// List implements store.Store with ListObjectsV2, whose UTF-8 binary order is
// Go's string order.
func (s *Store) List(ctx context.Context, prefix, startAfter string, fn func(key string) error) error {
	in := &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(s.prefix + prefix),
	}
	if startAfter != "" {
		in.StartAfter = aws.String(s.prefix + startAfter)
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", s.where("list", prefix), err)
		}
		for _, obj := range page.Contents {
			k, ok := strings.CutPrefix(aws.ToString(obj.Key), s.prefix)
			if !ok || k == "" || strings.HasSuffix(k, "/") {
				continue // not ours, or a folder placeholder
			}
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// BucketState is what the bucket's configuration guarantees about stored
// objects.
type BucketState struct {
	// Versioning is the bucket's versioning status: Enabled, Suspended, or
	// empty when it was never enabled.
	Versioning string
	// ObjectLock is true when Object Lock is enabled on the bucket.
	ObjectLock bool
	// DefaultMode and DefaultDays are the bucket's default retention, if
	// any (years are counted as 365 days).
	DefaultMode string
	DefaultDays int
}

// CheckBucket reads the bucket's versioning and Object Lock configuration
// (s3:GetBucketVersioning, s3:GetBucketObjectLockConfiguration).
func (s *Store) CheckBucket(ctx context.Context) (BucketState, error) {
	var st BucketState
	where := fmt.Sprintf("check bucket %s", s.bucket)
	v, err := s.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(s.bucket)})
	if err != nil {
		return st, fmt.Errorf("%s: versioning: %w", where, err)
	}
	st.Versioning = string(v.Status)
	lc, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.bucket)})
	switch {
	case err != nil && apiCode(err) == "ObjectLockConfigurationNotFoundError":
		return st, nil
	case err != nil:
		return st, fmt.Errorf("%s: object lock configuration: %w", where, err)
	}
	if c := lc.ObjectLockConfiguration; c != nil {
		st.ObjectLock = c.ObjectLockEnabled == types.ObjectLockEnabledEnabled
		if c.Rule != nil && c.Rule.DefaultRetention != nil {
			r := c.Rule.DefaultRetention
			st.DefaultMode = string(r.Mode)
			st.DefaultDays = int(aws.ToInt32(r.Days)) + 365*int(aws.ToInt32(r.Years))
		}
	}
	return st, nil
}

// RequireLocked returns an error naming every protection the bucket lacks
// for write-once evidence, or nil: versioning and Object Lock enabled, and a
// retention for each object — set by this store on every Put, or else by the
// bucket's default retention.
func (s *Store) RequireLocked(st BucketState) error {
	var missing []string
	if st.Versioning != string(types.BucketVersioningStatusEnabled) {
		status := st.Versioning
		if status == "" {
			status = "never enabled"
		}
		missing = append(missing, fmt.Sprintf("versioning is not enabled (%s)", strings.ToLower(status)))
	}
	if !st.ObjectLock {
		missing = append(missing, "object lock is not enabled")
	}
	if s.lockMode == "" && (st.DefaultMode == "" || st.DefaultDays <= 0) {
		missing = append(missing, "no retention: store_options.object_lock_mode is empty and the bucket has no default retention")
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("bucket %s is not write-once: %s; fix the bucket, or set store_options.accept_unlocked_bucket to accept the risk",
		s.bucket, strings.Join(missing, "; "))
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isPreconditionFailed(err error) bool {
	return apiCode(err) == "PreconditionFailed" || httpStatus(err) == http.StatusPreconditionFailed
}

func isConditionalConflict(err error) bool {
	code := apiCode(err)
	return code == "ConditionalRequestConflict" || (code == "" && httpStatus(err) == http.StatusConflict)
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf) || httpStatus(err) == http.StatusNotFound && apiCode(err) != "NoSuchBucket"
}
