package awscollector

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	"github.com/aws/smithy-go/middleware"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// bucketAPI lists the only S3 calls the collector makes.
type bucketAPI interface {
	s3.ListBucketsAPIClient
	GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	GetBucketLogging(ctx context.Context, in *s3.GetBucketLoggingInput, optFns ...func(*s3.Options)) (*s3.GetBucketLoggingOutput, error)
	GetObjectLockConfiguration(ctx context.Context, in *s3.GetObjectLockConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error)
}

// accountBlockAPI lists the only S3 Control call the collector makes.
type accountBlockAPI interface {
	GetPublicAccessBlock(ctx context.Context, in *s3control.GetPublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error)
}

var (
	_ bucketAPI       = (*s3.Client)(nil)
	_ accountBlockAPI = (*s3control.Client)(nil)
)

type s3Collector struct{ perAccount }

func newS3(s collector.Settings, tune tuning) (*s3Collector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &s3Collector{perAccount{sess}}, nil
}

// bucketState is every setting read for one bucket; an error beside a
// setting means it could not be read.
type bucketState struct {
	name, region, arn string
	created           any
	outOfScope        bool // in a region the source does not list: inventoried, not read
	unreadOp          string
	unreadErr         error // nothing was read: op failed first
	enc               *s3.GetBucketEncryptionOutput
	encErr            error
	policy            *string
	policyErr         error
	pab               *s3types.PublicAccessBlockConfiguration
	pabErr            error
	versioning        *s3.GetBucketVersioningOutput
	versioningErr     error
	logging           *s3.GetBucketLoggingOutput
	loggingErr        error
	lock              *s3types.ObjectLockConfiguration
	lockErr           error
}

// Collect lists the account's buckets once and reads each one's settings
// in the bucket's own region, one call per setting. When the source lists
// regions, buckets elsewhere are inventoried but not read or judged.
func (c *s3Collector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	root := accountARN(part, acct)

	accountPAB, accountPABErr := c.accountBlock(ctx, cfg, acct)
	if accountPABErr != nil {
		partial.Add(where(acct, "", ""), "s3:GetAccountPublicAccessBlock", accountPABErr)
	} else {
		// A setting that could not be read is a run error, not a record.
		res.Records = append(res.Records, accountBlockRecord(root, accountPAB))
	}

	clients := &regionClients{s: c.s, cfg: cfg}
	var list bucketAPI = clients.get(cfg.Region)
	var buckets []s3types.Bucket
	// Any parameter makes S3 name each bucket's region in the answer.
	p := s3.NewListBucketsPaginator(list, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			// The buckets listed so far are still judged; those on the
			// pages not read are not, and each check says so for the
			// whole account.
			err = fmt.Errorf("list buckets: %w", err)
			partial.Add(where(acct, "", ""), "s3:ListAllMyBuckets", err)
			for _, chk := range S3.Checks {
				res.Findings = append(res.Findings, finding(chk, root, evidence.Error,
					"The account's buckets could not all be listed, so not every bucket was judged.", map[string]any{"error": err.Error(), "buckets_listed": len(buckets)}))
			}
			break
		}
		buckets = append(buckets, page.Buckets...)
	}

	states := make([]*bucketState, len(buckets))
	var mu sync.Mutex
	forEach(ctx, c.s.concurrency(), indexes(len(buckets)), func(ctx context.Context, i int) {
		st := c.readBucket(ctx, clients, list, part, buckets[i])
		mu.Lock()
		defer mu.Unlock()
		states[i] = st
		w := where(acct, st.region, st.arn)
		if st.unreadErr != nil {
			partial.Add(w, st.unreadOp, st.unreadErr)
			return
		}
		for _, e := range []struct {
			op  string
			err error
		}{
			{"s3:GetEncryptionConfiguration", st.encErr}, {"s3:GetBucketPolicy", st.policyErr},
			{"s3:GetBucketPublicAccessBlock", st.pabErr}, {"s3:GetBucketVersioning", st.versioningErr},
			{"s3:GetBucketLogging", st.loggingErr}, {"s3:GetBucketObjectLockConfiguration", st.lockErr},
		} {
			if e.err != nil {
				partial.Add(w, e.op, e.err)
			}
		}
	})
	for i, st := range states {
		if st == nil {
			st = unreadBucket(part, buckets[i], "", notRead(ctx))
			partial.Add(where(acct, st.region, st.arn), "", st.unreadErr)
		}
		res.Records = append(res.Records, bucketRecord(st))
		if st.outOfScope {
			continue
		}
		res.Findings = append(res.Findings,
			encryption(st), tlsOnly(st), publicAccess(st, accountPAB, accountPABErr), versioning(st), accessLogging(st))
	}
	sort.SliceStable(res.Findings, func(i, j int) bool { return res.Findings[i].Resource < res.Findings[j].Resource })
	return res, partial.Err()
}

func (c *s3Collector) accountBlock(ctx context.Context, cfg aws.Config, acct string) (*s3types.PublicAccessBlockConfiguration, error) {
	var api accountBlockAPI = c.s.s3ControlClient(cfg)
	out, err := api.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(acct)})
	if err != nil {
		if apiErrorCode(err) == "NoSuchPublicAccessBlockConfiguration" {
			return nil, nil
		}
		return nil, fmt.Errorf("get account public access block: %w", err)
	}
	if out.PublicAccessBlockConfiguration == nil {
		return nil, nil
	}
	pc := out.PublicAccessBlockConfiguration
	return &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: pc.BlockPublicAcls, IgnorePublicAcls: pc.IgnorePublicAcls,
		BlockPublicPolicy: pc.BlockPublicPolicy, RestrictPublicBuckets: pc.RestrictPublicBuckets,
	}, nil
}

// unreadBucket is a bucket none of whose settings could be read, because
// operation op failed with err first.
func unreadBucket(part string, b s3types.Bucket, op string, err error) *bucketState {
	name := aws.ToString(b.Name)
	st := &bucketState{name: name, arn: fmt.Sprintf("arn:%s:s3:::%s", part, name), created: ts(aws.ToTime(b.CreationDate)), region: aws.ToString(b.BucketRegion)}
	st.unreadOp, st.unreadErr = op, err
	st.encErr, st.policyErr, st.pabErr, st.versioningErr, st.loggingErr, st.lockErr = err, err, err, err, err, err
	return st
}

// regionClients builds one S3 client per region for an account's run and
// hands the same one to every bucket there: building a client costs more
// than a call (its middleware, endpoint resolver and caches), and a client
// is safe for concurrent use.
type regionClients struct {
	s   *session
	cfg aws.Config

	mu      sync.Mutex
	clients map[string]*s3.Client
}

func (r *regionClients) get(region string) *s3.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[region]; ok {
		return c
	}
	if r.clients == nil {
		r.clients = map[string]*s3.Client{}
	}
	c := r.s.s3Client(r.cfg, region)
	r.clients[region] = c
	return c
}

func (c *s3Collector) readBucket(ctx context.Context, clients *regionClients, list bucketAPI, part string, b s3types.Bucket) *bucketState {
	name := aws.ToString(b.Name)
	st := &bucketState{name: name, arn: fmt.Sprintf("arn:%s:s3:::%s", part, name), created: ts(aws.ToTime(b.CreationDate))}
	st.region = aws.ToString(b.BucketRegion)
	if st.region == "" {
		loc, err := list.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b.Name})
		if err != nil {
			return unreadBucket(part, b, "s3:GetBucketLocation", fmt.Errorf("get bucket location: %w", err))
		}
		st.region = bucketRegion(string(loc.LocationConstraint))
	}
	if len(c.s.src.Regions) > 0 && !contains(c.s.src.Regions, st.region) {
		st.outOfScope = true
		return st
	}
	var api bucketAPI = clients.get(st.region)
	in := aws.String(name)
	var err error
	// The outputs kept in st lose their ResultMetadata, which holds the
	// whole HTTP exchange (request, response, headers): kept for every
	// bucket of every account until the run ends, those were most of
	// the collector's heap.
	st.enc, err = api.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: in})
	if err == nil {
		st.enc.ResultMetadata = middleware.Metadata{}
	}
	st.encErr = absent(err, "ServerSideEncryptionConfigurationNotFoundError")
	pol, err := api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: in})
	if st.policyErr = absent(err, "NoSuchBucketPolicy"); err == nil {
		st.policy = pol.Policy
	}
	pab, err := api.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: in})
	if st.pabErr = absent(err, "NoSuchPublicAccessBlockConfiguration"); err == nil {
		st.pab = pab.PublicAccessBlockConfiguration
	}
	if st.versioning, st.versioningErr = api.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: in}); st.versioningErr == nil {
		st.versioning.ResultMetadata = middleware.Metadata{}
	}
	if st.logging, st.loggingErr = api.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: in}); st.loggingErr == nil {
		st.logging.ResultMetadata = middleware.Metadata{}
	}
	if !mayHaveObjectLock(st) {
		// Object Lock requires versioning, which it keeps from being
		// suspended: a bucket whose versioning is off or suspended has no
		// Object Lock configuration to ask for.
		return st
	}
	lock, err := api.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: in})
	if st.lockErr = absent(err, "ObjectLockConfigurationNotFoundError"); err == nil {
		st.lock = lock.ObjectLockConfiguration
	}
	return st
}

// mayHaveObjectLock reports whether a bucket can have Object Lock: its
// versioning is enabled, or could not be read.
func mayHaveObjectLock(st *bucketState) bool {
	return st.versioningErr != nil || st.versioning == nil || st.versioning.Status == s3types.BucketVersioningStatusEnabled
}

// absent turns the service's "not configured" answer into no error: that
// is an observation, not a failure to observe.
func absent(err error, code string) error {
	if err == nil || apiErrorCode(err) == code {
		return nil
	}
	return err
}

func blockAll(p *s3types.PublicAccessBlockConfiguration) bool {
	return p != nil && aws.ToBool(p.BlockPublicAcls) && aws.ToBool(p.IgnorePublicAcls) &&
		aws.ToBool(p.BlockPublicPolicy) && aws.ToBool(p.RestrictPublicBuckets)
}

func pabMap(p *s3types.PublicAccessBlockConfiguration) map[string]any {
	if p == nil {
		return nil
	}
	return map[string]any{
		"block_public_acls":       aws.ToBool(p.BlockPublicAcls),
		"ignore_public_acls":      aws.ToBool(p.IgnorePublicAcls),
		"block_public_policy":     aws.ToBool(p.BlockPublicPolicy),
		"restrict_public_buckets": aws.ToBool(p.RestrictPublicBuckets),
	}
}

func accountBlockRecord(root string, p *s3types.PublicAccessBlockConfiguration) evidence.Record {
	return evidence.Record{Type: "aws.s3.account_public_access_block", ID: root, Attributes: map[string]any{"public_access_block": pabMap(p)}}
}
