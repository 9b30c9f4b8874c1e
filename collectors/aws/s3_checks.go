package awscollector

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

func bucketRecord(st *bucketState) evidence.Record {
	attrs := map[string]any{"name": st.name, "created": st.created}
	if st.outOfScope {
		attrs["outside_configured_regions"] = true
		return evidence.Record{Type: "aws.s3.bucket", ID: st.arn, Region: st.region, Attributes: attrs}
	}
	if alg, key, bk, ok := sseDefault(st); ok {
		attrs["sse_algorithm"], attrs["kms_key_id"], attrs["bucket_key_enabled"] = alg, key, bk
	}
	attrs["public_access_block"] = pabMap(st.pab)
	if st.versioning != nil {
		attrs["versioning"] = string(st.versioning.Status)
		attrs["mfa_delete"] = string(st.versioning.MFADelete)
	}
	if st.logging != nil && st.logging.LoggingEnabled != nil {
		attrs["logging_target"] = aws.ToString(st.logging.LoggingEnabled.TargetBucket)
	}
	if st.lock != nil {
		attrs["object_lock"] = string(st.lock.ObjectLockEnabled)
		if r := st.lock.Rule; r != nil && r.DefaultRetention != nil {
			attrs["object_lock_mode"] = string(r.DefaultRetention.Mode)
			attrs["object_lock_days"] = aws.ToInt32(r.DefaultRetention.Days) + 365*aws.ToInt32(r.DefaultRetention.Years)
		}
	}
	attrs["has_policy"] = st.policy != nil
	return evidence.Record{Type: "aws.s3.bucket", ID: st.arn, Region: st.region, Attributes: attrs}
}

// sseDefault returns the bucket's default encryption, if any.
func sseDefault(st *bucketState) (alg, key string, bucketKey, ok bool) {
	if st.enc == nil || st.enc.ServerSideEncryptionConfiguration == nil {
		return "", "", false, false
	}
	for _, r := range st.enc.ServerSideEncryptionConfiguration.Rules {
		if d := r.ApplyServerSideEncryptionByDefault; d != nil && d.SSEAlgorithm != "" {
			return string(d.SSEAlgorithm), aws.ToString(d.KMSMasterKeyID), aws.ToBool(r.BucketKeyEnabled), true
		}
	}
	return "", "", false, false
}

func sseName(alg string) string {
	switch s3types.ServerSideEncryption(alg) {
	case s3types.ServerSideEncryptionAes256:
		return "SSE-S3"
	case s3types.ServerSideEncryptionAwsKms:
		return "SSE-KMS"
	case s3types.ServerSideEncryptionAwsKmsDsse:
		return "DSSE-KMS"
	}
	return alg
}

func readError(check string, st *bucketState, what string, err error) evidence.Finding {
	reason := fmt.Sprintf("The bucket's %s could not be read.", what)
	if st.unreadErr != nil && st.unreadOp == "s3:GetBucketLocation" {
		reason = fmt.Sprintf("The bucket's region could not be read, so neither was its %s.", what)
	}
	return finding(check, st.arn, evidence.Error, reason, map[string]any{"error": err.Error()})
}

func encryption(st *bucketState) evidence.Finding {
	if st.encErr != nil {
		return readError(checkS3Encryption, st, "encryption configuration", st.encErr)
	}
	alg, key, bk, ok := sseDefault(st)
	if !ok {
		return finding(checkS3Encryption, st.arn, evidence.Fail, fmt.Sprintf("Bucket %s has no default encryption.", st.name), map[string]any{"sse_algorithm": nil})
	}
	obs := map[string]any{"sse_algorithm": alg, "kind": sseName(alg), "bucket_key_enabled": bk}
	if key != "" {
		obs["kms_key_id"] = key
	}
	switch sseName(alg) {
	case "SSE-S3", "SSE-KMS", "DSSE-KMS":
		return finding(checkS3Encryption, st.arn, evidence.Pass, fmt.Sprintf("Bucket %s encrypts new objects by default with %s.", st.name, sseName(alg)), obs)
	}
	return finding(checkS3Encryption, st.arn, evidence.Fail, fmt.Sprintf("Bucket %s's default encryption %q is not SSE-S3, SSE-KMS or DSSE-KMS.", st.name, alg), obs)
}

func tlsOnly(st *bucketState) evidence.Finding {
	if st.policyErr != nil {
		return readError(checkS3TLS, st, "policy", st.policyErr)
	}
	if st.policy == nil {
		return finding(checkS3TLS, st.arn, evidence.Fail, fmt.Sprintf("Bucket %s has no bucket policy, so requests without TLS are not denied.", st.name), map[string]any{"policy": nil})
	}
	doc, err := parsePolicy(*st.policy)
	if err != nil {
		return finding(checkS3TLS, st.arn, evidence.Error, fmt.Sprintf("Bucket %s's policy could not be parsed.", st.name), map[string]any{"error": err.Error()})
	}
	if sid, ok := doc.deniesInsecureTransport(st.arn); ok {
		return finding(checkS3TLS, st.arn, evidence.Pass, fmt.Sprintf("Bucket %s's policy denies requests without TLS.", st.name), map[string]any{"statement_sid": sid})
	}
	return finding(checkS3TLS, st.arn, evidence.Fail, fmt.Sprintf("Bucket %s's policy does not deny requests with aws:SecureTransport false.", st.name), map[string]any{"statements": len(doc.Statement)})
}

func publicAccess(st *bucketState, account *s3types.PublicAccessBlockConfiguration, accountErr error) evidence.Finding {
	obs := map[string]any{"bucket": pabMap(st.pab), "account": pabMap(account)}
	switch {
	case blockAll(st.pab):
		return finding(checkS3PublicAccess, st.arn, evidence.Pass, fmt.Sprintf("Bucket %s blocks all public access.", st.name), obs)
	case blockAll(account):
		return finding(checkS3PublicAccess, st.arn, evidence.Pass, fmt.Sprintf("The account blocks all public access, covering bucket %s.", st.name), obs)
	case st.pabErr != nil:
		return readError(checkS3PublicAccess, st, "public access block", st.pabErr)
	case accountErr != nil:
		obs["error"] = accountErr.Error()
		return finding(checkS3PublicAccess, st.arn, evidence.Error, "The account-level public access block could not be read.", obs)
	}
	return finding(checkS3PublicAccess, st.arn, evidence.Fail, fmt.Sprintf("Neither bucket %s nor the account turns on all four public access block settings.", st.name), obs)
}

func versioning(st *bucketState) evidence.Finding {
	if st.versioningErr != nil {
		return readError(checkS3Versioning, st, "versioning", st.versioningErr)
	}
	status := string(st.versioning.Status)
	obs := map[string]any{"status": status, "mfa_delete": string(st.versioning.MFADelete)}
	if st.versioning.Status == s3types.BucketVersioningStatusEnabled {
		return finding(checkS3Versioning, st.arn, evidence.Pass, fmt.Sprintf("Bucket %s has versioning enabled.", st.name), obs)
	}
	if status == "" {
		status = "never enabled"
	}
	return finding(checkS3Versioning, st.arn, evidence.Fail, fmt.Sprintf("Bucket %s's versioning is %s.", st.name, status), obs)
}

func accessLogging(st *bucketState) evidence.Finding {
	if st.loggingErr != nil {
		return readError(checkS3Logging, st, "logging configuration", st.loggingErr)
	}
	if le := st.logging.LoggingEnabled; le != nil {
		return finding(checkS3Logging, st.arn, evidence.Pass, fmt.Sprintf("Bucket %s logs server access to %s.", st.name, aws.ToString(le.TargetBucket)),
			map[string]any{"target_bucket": aws.ToString(le.TargetBucket), "target_prefix": aws.ToString(le.TargetPrefix)})
	}
	return finding(checkS3Logging, st.arn, evidence.Fail, fmt.Sprintf("Bucket %s has server access logging disabled.", st.name), map[string]any{"target_bucket": nil})
}
