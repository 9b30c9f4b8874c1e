package awscollector

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// keyAPI lists the only KMS calls the collector makes; key policies are
// never read.
type keyAPI interface {
	kms.ListKeysAPIClient
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
	kms.ListResourceTagsAPIClient
}

var _ keyAPI = (*kms.Client)(nil)

type kmsCollector struct{ perAccount }

func newKMS(s collector.Settings, tune tuning) (*kmsCollector, error) {
	sess, err := newSession(s, tune)
	if err != nil {
		return nil, err
	}
	return &kmsCollector{perAccount{sess}}, nil
}

// keyState is everything read about one key.
type keyState struct {
	arn, region string
	meta        *kmstypes.KeyMetadata
	metaErr     error
	rotation    *kms.GetKeyRotationStatusOutput
	rotationErr error
	// phi is whether the key's tags mark it as protecting ePHI; only
	// customer managed keys carry tags, and only when phi_tags are set.
	phi     bool
	tagsErr error
}

// readsTags says whether a key's tags are read.
func (c *kmsCollector) readsTags(k *keyState) bool {
	return len(c.s.src.PHITags) > 0 && k.meta != nil && k.meta.KeyManager == kmstypes.KeyManagerTypeCustomer
}

// rotatable says whether KMS can rotate the key automatically and the
// account is the one to turn that on: an enabled customer managed
// symmetric key with key material KMS generated. AWS managed keys are
// rotated by AWS every year; asymmetric, HMAC, imported and custom key
// store keys cannot be rotated automatically.
func rotatable(m *kmstypes.KeyMetadata) (bool, string) {
	switch {
	case m.KeyManager == kmstypes.KeyManagerTypeAws:
		return false, "AWS managed key: AWS rotates it every year, the account cannot change that"
	case m.KeySpec != kmstypes.KeySpecSymmetricDefault:
		return false, fmt.Sprintf("key spec %s (asymmetric or HMAC) cannot be rotated automatically", m.KeySpec)
	case m.Origin != kmstypes.OriginTypeAwsKms:
		return false, fmt.Sprintf("key material origin %s cannot be rotated automatically", m.Origin)
	case m.KeyState != kmstypes.KeyStateEnabled:
		return false, fmt.Sprintf("key is %s, so it encrypts nothing new", m.KeyState)
	}
	return true, ""
}

func (c *kmsCollector) client(cfg aws.Config, region string) keyAPI {
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.Region = region
		if ep := c.s.endpoint(); ep != nil {
			o.BaseEndpoint = ep
		}
	})
}

// Collect lists the keys of each region and describes each one; rotation
// status is asked only of keys whose rotation the account controls.
func (c *kmsCollector) Collect(ctx context.Context, req collector.Request) (*collector.Result, error) {
	acct := req.Scope.Account
	run, err := c.s.begin(ctx, acct)
	if err != nil {
		return nil, err
	}
	cfg, part, res, partial := run.cfg, run.part, run.res, run.partial
	res.Records = append(res.Records, phiRecord(accountARN(part, acct), c.s.src.PHITags))
	keys, ok := eachRegion(ctx, c.s, run, req.Scope, listing{op: "kms:ListKeys", noun: "key", checks: KMS.Checks},
		func(ctx context.Context, region string) ([]*keyState, error) {
			var got []*keyState
			p := kms.NewListKeysPaginator(c.client(cfg, region), &kms.ListKeysInput{Limit: aws.Int32(1000)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return got, fmt.Errorf("list keys: %w", err)
				}
				for _, k := range page.Keys {
					got = append(got, &keyState{arn: aws.ToString(k.KeyArn), region: region})
				}
			}
			return got, nil
		})
	if !ok {
		return res, partial.Err()
	}
	var mu sync.Mutex
	sort.Slice(keys, func(i, j int) bool { return keys[i].arn < keys[j].arn })
	forEach(ctx, c.s.concurrency(), keys, func(ctx context.Context, k *keyState) {
		api := c.client(cfg, k.region)
		out, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k.arn)})
		if err != nil {
			k.metaErr = fmt.Errorf("describe key: %w", err)
		} else {
			k.meta = out.KeyMetadata
		}
		if k.meta != nil {
			if ok, _ := rotatable(k.meta); ok {
				k.rotation, err = api.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(k.arn)})
				if err != nil {
					k.rotationErr = fmt.Errorf("get key rotation status: %w", err)
				}
			}
		}
		if c.readsTags(k) {
			tags := map[string]string{}
			p := kms.NewListResourceTagsPaginator(api, &kms.ListResourceTagsInput{KeyId: aws.String(k.arn)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					k.tagsErr = fmt.Errorf("list resource tags: %w", err)
					break
				}
				for _, t := range page.Tags {
					tags[aws.ToString(t.TagKey)] = aws.ToString(t.TagValue)
				}
			}
			k.phi = k.tagsErr == nil && phiTagged(c.s.src.PHITags, tags)
		}
		mu.Lock()
		defer mu.Unlock()
		w := where(acct, k.region, k.arn)
		if k.tagsErr != nil {
			partial.Add(w, "kms:ListResourceTags", k.tagsErr)
		}
		if k.metaErr != nil {
			partial.Add(w, "kms:DescribeKey", k.metaErr)
		}
		if k.rotationErr != nil {
			partial.Add(w, "kms:GetKeyRotationStatus", k.rotationErr)
		}
	})
	for _, k := range keys {
		if k.meta == nil && k.metaErr == nil {
			k.metaErr = notRead(ctx)
			partial.Add(where(acct, k.region, k.arn), "kms:DescribeKey", k.metaErr)
		}
		rec := keyRecord(k)
		if c.readsTags(k) && k.tagsErr == nil {
			rec.Attributes["phi"] = k.phi
		}
		res.Records = append(res.Records, rec)
		res.Findings = append(res.Findings, markPHI(keyRotation(k), c.readsTags(k), k.phi, k.tagsErr))
	}
	return res, partial.Err()
}
