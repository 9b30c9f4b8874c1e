// Package awscollector reads audit evidence from AWS: IAM (aws.iam), S3
// (aws.s3) and CloudTrail (aws.cloudtrail), across accounts and regions,
// with read-only calls made through the agent's recording HTTP client.
//
// Credentials come from the SDK's default chain. Each configured account
// is read with those credentials or through its role_arn (with its
// external_id, session name "exhibit-<collector id>"); with organization:
// true, active member accounts are discovered with Organizations
// ListAccounts and read through organization_role (default
// exhibit-reader), and inactive ones are recorded, not read. Before reading
// an account the collector checks, with STS GetCallerIdentity, that the
// credentials really belong to it.
//
// Each account is one scope and one snapshot. Regions are the configured
// ones or every enabled region (EC2 DescribeRegions). Calls fan out over
// regions and resources with at most Concurrency in flight and use the
// SDK's adaptive retry mode. A call that fails (access denied, throttling
// beyond the retries, a region not enabled) is a run error in a
// *collector.PartialError; the checks that needed its answer report error,
// never pass, and the rest of the evidence is kept.
//
// What each collector reads:
//
//   - aws.iam: the credential report (generated, polled, downloaded: the
//     same few calls for any number of users; the CSV is attached),
//     the password policy, and GetAccountAuthorizationDetails for the access
//     list and direct admin grants.
//   - aws.s3: ListBuckets once, then each bucket's encryption, policy,
//     public access block, versioning, logging and Object Lock settings in
//     the bucket's own region; the account's public access block through
//     S3 Control.
//   - aws.cloudtrail: trails as every region lists them (organization
//     trails included), each read once in its home region (status, event
//     selectors), and the retention of its logs: the bucket's lifecycle
//     rules that reach the trail's prefix, its Object Lock default
//     retention, and the CloudWatch Logs group's retentionInDays.
//
// Findings name the resource's ARN; account-wide findings name the
// account's root ARN (arn:aws:iam::ID:root). Controls are left empty: the
// agent fills them from the control catalog by check id.
//
// Endpoint overrides every service's endpoint; without it the SDK's
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> apply. Either way S3
// then uses path-style addressing. Package awssim serves a simulated estate
// for the demo and the tests.
package awscollector
