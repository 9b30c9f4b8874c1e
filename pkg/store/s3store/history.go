package s3store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Versions calls fn for every version and delete marker of the keys under
// prefix (s3:ListBucketVersions), in key order and, for one key, newest
// first. What it reports is the server's record, which a writer cannot set:
// when each version was stored, and which were deleted.
func (s *Store) Versions(ctx context.Context, prefix string, fn func(store.Version) error) error {
	p := s3.NewListObjectVersionsPaginator(s.client, &s3.ListObjectVersionsInput{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(s.prefix + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", s.where("list versions", prefix), err)
		}
		// A page holds versions and delete markers in two lists; merged by
		// key, newest first, they read as the key's history.
		var all []store.Version
		for _, v := range page.Versions {
			if k, ok := s.relative(aws.ToString(v.Key)); ok {
				all = append(all, store.Version{Key: k, VersionID: aws.ToString(v.VersionId), LastModified: aws.ToTime(v.LastModified),
					Size: aws.ToInt64(v.Size), IsLatest: aws.ToBool(v.IsLatest)})
			}
		}
		for _, m := range page.DeleteMarkers {
			if k, ok := s.relative(aws.ToString(m.Key)); ok {
				all = append(all, store.Version{Key: k, VersionID: aws.ToString(m.VersionId), LastModified: aws.ToTime(m.LastModified),
					IsLatest: aws.ToBool(m.IsLatest), DeleteMarker: true})
			}
		}
		sortVersions(all)
		for _, v := range all {
			if err := fn(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Retention reads the Object Lock retention of one version of key ("" for
// the current one) with s3:GetObjectRetention. A version without retention
// has an empty mode.
func (s *Store) Retention(ctx context.Context, key, versionID string) (store.Retention, error) {
	in := &s3.GetObjectRetentionInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := s.client.GetObjectRetention(ctx, in)
	if err != nil {
		if noRetention(err) {
			return store.Retention{}, nil
		}
		if isNotFound(err) {
			return store.Retention{}, fmt.Errorf("%s: %w", s.where("get retention", key), store.ErrNotExist)
		}
		return store.Retention{}, fmt.Errorf("%s: %w", s.where("get retention", key), err)
	}
	if out.Retention == nil {
		return store.Retention{}, nil
	}
	return store.Retention{Mode: string(out.Retention.Mode), Until: aws.ToTime(out.Retention.RetainUntilDate)}, nil
}

// noRetention tells the answers that mean "this version is not locked":
// S3 says so with NoSuchObjectLockConfiguration for an object without
// retention, and with InvalidRequest "Bucket is missing Object Lock
// Configuration" for a bucket without Object Lock at all.
func noRetention(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError":
		return true
	case "InvalidRequest":
		msg := strings.ToLower(strings.ReplaceAll(ae.ErrorMessage(), " ", ""))
		return strings.Contains(msg, "missingobjectlockconfiguration")
	}
	return false
}

func (s *Store) relative(full string) (string, bool) {
	k, ok := strings.CutPrefix(full, s.prefix)
	return k, ok && k != "" && !strings.HasSuffix(k, "/")
}

func sortVersions(vs []store.Version) {
	slices.SortStableFunc(vs, func(a, b store.Version) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return b.LastModified.Compare(a.LastModified)
	})
}
