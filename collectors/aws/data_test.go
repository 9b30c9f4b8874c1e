package awscollector

import (
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/stretchr/testify/require"
	"testing"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

func dynamoNew(s collector.Settings, t tuning) (collector.Collector, error) { return newDynamoDB(s, t) }
func kmsNew(s collector.Settings, t tuning) (collector.Collector, error)    { return newKMS(s, t) }

func TestDynamoDBDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.dynamodb", dynamoNew, nil)
	golden(t, "dynamodb_demo", out.results)
}

func TestKMSDemoEstate(t *testing.T) {
	out := runCollector(t, awssim.NewAt(simNow), "aws.kms", kmsNew, nil)
	golden(t, "kms_demo", out.results)
}

// TestDataPagination reads tables and keys one per page: ListTables
// (ExclusiveStartTableName/LastEvaluatedTableName) and ListKeys
// (Marker/NextMarker/Truncated) are followed to the end and the evidence
// is the same.
func TestDataPagination(t *testing.T) {
	t.Run("dynamodb", func(t *testing.T) {
		sim := awssim.NewAt(simNow)
		sim.PageSize = 1
		out := runCollector(t, sim, "aws.dynamodb", dynamoNew, nil)
		golden(t, "dynamodb_demo", out.results)
		// us-east-1: 3 tables, 3 pages plus none after the last table is
		// named; eu-west-1: 1 table, 1 page.
		require.Equal(t, 4, sim.Count(prod, "dynamodb", "ListTables"))
	})
	t.Run("kms", func(t *testing.T) {
		sim := awssim.NewAt(simNow)
		sim.PageSize = 1
		out := runCollector(t, sim, "aws.kms", kmsNew, nil)
		golden(t, "kms_demo", out.results)
		// 5 keys in us-east-1, 2 in eu-west-1.
		require.Equal(t, 7, sim.Count(prod, "kms", "ListKeys"))
	})
}

// TestDataRegionDenied: AccessDenied in one region and a region not
// enabled are run errors with an error finding for the region; the other
// region's tables and keys are still judged.
func TestDataRegionDenied(t *testing.T) {
	regions := func(src *collector.AWSSource) { src.Regions = []string{"ap-east-1", "eu-west-1", "us-east-1"} }
	for _, c := range []struct {
		typ    string
		nf     newFunc
		op     string
		checks []string
		pass   string
	}{
		{"aws.dynamodb", dynamoNew, "dynamodb:ListTables", []string{checkDynamoEncryption, checkDynamoPITR}, "arn:aws:dynamodb:us-east-1:111122223333:table/patients"},
		{"aws.kms", kmsNew, "kms:ListKeys", []string{checkKMSRotation}, "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
	} {
		t.Run(c.typ, func(t *testing.T) {
			sim := awssim.NewAt(simNow)
			sim.Deny(prod, "eu-west-1", "")
			out := runCollector(t, sim, c.typ, c.nf, regions)
			require.Len(t, out.results, 2)
			p := out.results[0]
			require.Equal(t, evidence.StatusPartial, p.Status)
			require.Len(t, p.Errors, 2)
			require.Equal(t, "account/111122223333/region/ap-east-1", p.Errors[0].Where)
			require.Equal(t, "account/111122223333/region/eu-west-1", p.Errors[1].Where)
			require.Contains(t, p.Errors[0].Message, "UnrecognizedClientException")
			require.Contains(t, p.Errors[1].Message, "AccessDeniedException")
			for _, e := range p.Errors {
				require.Equal(t, c.op, e.Operation)
			}
			regionErrors := 0
			for _, f := range p.Findings {
				if f.Resource == "arn:aws:iam::111122223333:root" {
					require.Equal(t, evidence.Error, f.Status)
					require.Contains(t, f.Reason, "could not all be listed")
					regionErrors++
				}
				require.NotContains(t, f.Resource, ":eu-west-1:", "nothing in the denied region is judged")
			}
			require.Equal(t, 2*len(c.checks), regionErrors)
			for _, chk := range c.checks {
				require.Equal(t, evidence.Pass, findingOf(t, p, chk, c.pass).Status, chk)
			}
			// Staging only misses the region it has not enabled.
			s := out.results[1]
			require.Equal(t, evidence.StatusPartial, s.Status)
			for _, e := range s.Errors {
				require.Contains(t, e.Where, "ap-east-1")
			}
		})
	}
}

// TestDataAssumeRole: the staging account is read through its role, and
// its own tables and keys are judged there.
func TestDataAssumeRole(t *testing.T) {
	sim := awssim.NewAt(simNow)
	out := runCollector(t, sim, "aws.dynamodb", dynamoNew, nil)
	require.Equal(t, staging, out.results[1].Scope.Account)
	require.Equal(t, evidence.Pass, findingOf(t, out.results[1], checkDynamoPITR, "arn:aws:dynamodb:eu-west-1:444455556666:table/staging-orders").Status)
	out = runCollector(t, sim, "aws.kms", kmsNew, nil)
	require.Equal(t, evidence.Pass, findingOf(t, out.results[1], checkKMSRotation, "arn:aws:kms:eu-west-1:444455556666:key/4d5e6f70-8192-4a34-b5c6-d7e8f90a1b23").Status)
	var assumed int
	for _, r := range sim.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed++
			require.Contains(t, []string{"exhibit-aws.dynamodb", "exhibit-aws.kms"}, r.RoleSessionName)
		}
	}
	require.NotZero(t, assumed)
	// Staging's calls were made with the assumed role's credentials.
	require.NotZero(t, sim.Count(staging, "dynamodb", "DescribeTable"))
	require.NotZero(t, sim.Count(staging, "kms", "GetKeyRotationStatus"))
}

// TestDataCallsPerResource: DescribeTable and DescribeContinuousBackups
// once per table, DescribeKey once per key (a table key once however many
// tables use it), GetKeyRotationStatus only for enabled customer managed
// symmetric keys.
func TestDataCallsPerResource(t *testing.T) {
	sim := awssim.NewAt(simNow)
	runCollector(t, sim, "aws.dynamodb", dynamoNew, nil)
	require.Equal(t, 4, sim.Count(prod, "dynamodb", "DescribeTable"))
	require.Equal(t, 4, sim.Count(prod, "dynamodb", "DescribeContinuousBackups"))
	require.Equal(t, 2, sim.Count(prod, "kms", "DescribeKey"), "two KMS-encrypted tables, two keys")
	require.Equal(t, 4, sim.Count(prod, "dynamodb", "ListTagsOfResource"))
	sim = awssim.NewAt(simNow)
	runCollector(t, sim, "aws.kms", kmsNew, nil)
	require.Equal(t, 7, sim.Count(prod, "kms", "DescribeKey"))
	// 1234abcd… and 0987dcba… only: not the AWS managed, RSA, HMAC,
	// disabled or pending-deletion keys.
	require.Equal(t, 2, sim.Count(prod, "kms", "GetKeyRotationStatus"))
	// Tags of the six customer managed keys; AWS managed keys carry none.
	require.Equal(t, 6, sim.Count(prod, "kms", "ListResourceTags"))
}

// TestPHITags: with phi_tags configured, the snapshot records them and
// every finding on a tagged table or key says it holds ePHI; untagged
// resources are judged the same way. Without phi_tags no tag is read.
func TestPHITags(t *testing.T) {
	sim := awssim.NewAt(simNow)
	ddb := runCollector(t, sim, "aws.dynamodb", dynamoNew, nil).results[0]
	keys := runCollector(t, sim, "aws.kms", kmsNew, nil).results[0]
	for _, r := range []scopeResult{ddb, keys} {
		var rec *evidence.Record
		for i := range r.Records {
			if r.Records[i].Type == "aws.phi_tags" {
				rec = &r.Records[i]
			}
		}
		require.NotNil(t, rec, "the snapshot records which tags mark ePHI")
		require.Equal(t, []map[string]any{{"key": "data-classification", "value": "phi"}}, rec.Attributes["phi_tags"])
	}
	claims := findingOf(t, ddb, checkDynamoPITR, "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims")
	require.Equal(t, evidence.Fail, claims.Status)
	require.Equal(t, true, claims.Observed["phi"])
	require.Contains(t, claims.Reason, "ePHI")
	sessions := findingOf(t, ddb, checkDynamoPITR, "arn:aws:dynamodb:us-east-1:111122223333:table/sessions")
	require.Equal(t, evidence.Pass, sessions.Status, "untagged tables are still checked")
	require.Equal(t, false, sessions.Observed["phi"])
	appKey := findingOf(t, keys, checkKMSRotation, "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	require.Equal(t, true, appKey.Observed["phi"])
	legacy := findingOf(t, keys, checkKMSRotation, "arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321")
	require.Equal(t, evidence.Fail, legacy.Status, "untagged keys are still checked")
	require.NotContains(t, legacy.Reason, "ePHI")

	sim = awssim.NewAt(simNow)
	none := func(src *collector.AWSSource) { src.PHITags = nil }
	ddb = runCollector(t, sim, "aws.dynamodb", dynamoNew, none).results[0]
	runCollector(t, sim, "aws.kms", kmsNew, none)
	require.Zero(t, sim.Count(prod, "dynamodb", "ListTagsOfResource"))
	require.Zero(t, sim.Count(prod, "kms", "ListResourceTags"))
	require.NotContains(t, findingOf(t, ddb, checkDynamoPITR, "arn:aws:dynamodb:us-east-1:111122223333:table/phi-claims").Observed, "phi")
}

// TestDataThrottlingRetried: throttling answers from DynamoDB and KMS are
// retried by the SDK's retryer and the evidence is unchanged.
func TestDataThrottlingRetried(t *testing.T) {
	requireRetried(t, "aws.dynamodb", dynamoNew, "dynamodb_demo", "ListTables", "DescribeTable", "DescribeContinuousBackups", "DescribeKey")
	requireRetried(t, "aws.kms", kmsNew, "kms_demo", "ListKeys", "DescribeKey", "GetKeyRotationStatus")
}
