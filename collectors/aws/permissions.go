package awscollector

import "strings"

// servicePrefixes maps the SDK's service ids to IAM action prefixes.
var servicePrefixes = map[string]string{
	"IAM":             "iam",
	"STS":             "sts",
	"S3":              "s3",
	"S3 Control":      "s3",
	"CloudTrail":      "cloudtrail",
	"CloudWatch Logs": "logs",
	"Organizations":   "organizations",
	"EC2":             "ec2",
	"KMS":             "kms",
	"DynamoDB":        "dynamodb",
	"RDS":             "rds",
	"Backup":          "backup",
	"CloudWatch":      "cloudwatch",
	// IAM Identity Center's admin API kept its old IAM prefix.
	"SSO Admin":     "sso",
	"identitystore": "identitystore",
	// The Resource Groups Tagging API's actions are tag:*.
	"Resource Groups Tagging API": "tag",
	"GuardDuty":                   "guardduty",
	"SecurityHub":                 "securityhub",
	"Config Service":              "config",
}

// actionNames are the operations whose IAM action is not named after them.
var actionNames = map[string]string{
	"S3/ListBuckets":                     "ListAllMyBuckets",
	"S3/GetBucketEncryption":             "GetEncryptionConfiguration",
	"S3/GetPublicAccessBlock":            "GetBucketPublicAccessBlock",
	"S3/GetObjectLockConfiguration":      "GetBucketObjectLockConfiguration",
	"S3/GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
	"S3 Control/GetPublicAccessBlock":    "GetAccountPublicAccessBlock",
}

// iamAction returns the IAM action that authorizes an SDK operation, as
// provenance records name it (service id and operation), or "" when the
// service is not one the collectors use.
func iamAction(service, operation string) string {
	prefix, ok := servicePrefixes[service]
	if !ok || operation == "" {
		return ""
	}
	if name, ok := actionNames[service+"/"+operation]; ok {
		operation = name
	}
	return prefix + ":" + strings.TrimSpace(operation)
}
