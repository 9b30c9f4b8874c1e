package audit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// bulky is a collection of about 165 KB of evidence per snapshot: 250
// buckets, each a record and a finding with observed values.
func bulky(req collector.Request) (*collector.Result, error) { return buckets(250)(req) }

// buckets is a collection of n buckets, each a record and a finding with
// observed values: about 0.65 KB a bucket, and 1 KB besides.
func buckets(n int) func(collector.Request) (*collector.Result, error) {
	return func(req collector.Request) (*collector.Result, error) {
		res, _ := agenttest.Passing(req)
		for i := range n {
			id := fmt.Sprintf("arn:aws:s3:::%s-bucket-%04d", req.Scope.Account, i)
			res.Records = append(res.Records, evidence.Record{Type: "bucket", ID: id, Region: "eu-west-1", Attributes: map[string]any{
				"encryption": "aws:kms", "bucket_key": true, "versioning": "Enabled", "object_lock": i%3 == 0,
				"public_access_block": map[string]any{"block_public_acls": true, "restrict_public_buckets": i%7 != 0},
				"tags":                []any{"team:platform", fmt.Sprintf("cost-centre:%d", i%17)},
			}})
			res.Findings = append(res.Findings, evidence.Finding{Check: "test.check", Resource: id, Status: evidence.Pass,
				Reason:   "default encryption is aws:kms with a bucket key",
				Observed: map[string]any{"sse_algorithm": "aws:kms", "kms_key": fmt.Sprintf("arn:aws:kms:eu-west-1:111122223333:key/%08d-aaaa-bbbb-cccc-dddddddddddd", i)}})
		}
		return res, nil
	}
}

// bulkyStore is n hourly snapshots of bulky evidence, and their total size.
func bulkyStore(b *testing.B, n int) (*agenttest.Env, int64) {
	env := agenttest.NewEnv(b, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: bulky}
	var size int64
	for _, w := range env.Fill(b, agenttest.Job("t", "@hourly", c), n, time.Hour) {
		raw, err := evidence.Encode(w.Snapshot)
		if err != nil {
			b.Fatal(err)
		}
		size += int64(len(raw))
	}
	return env, size
}

// BenchmarkVerifyLocal verifies 100 snapshots of ~165 KB in a file store:
// read, parse, SHA-256 and ECDSA, no network.
func BenchmarkVerifyLocal(b *testing.B) {
	env, size := bulkyStore(b, 100)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := audit.Verify(b.Context(), env.Store, audit.VerifyOptions{})
		if err != nil || !rep.OK() || rep.Snapshots != 100 {
			b.Fatal(err, rep.Problems)
		}
	}
}

// BenchmarkDrawSample draws 25 of 200 hourly snapshots of ~165 KB.
func BenchmarkDrawSample(b *testing.B) {
	env, size := bulkyStore(b, 200)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := audit.DrawSample(b.Context(), env.Store, audit.SampleOptions{
			Control: "soc2:CC6.1", Period: audit.Period{From: t0, To: t0.Add(200 * time.Hour)}, Seed: "bench",
		})
		if err != nil || len(s.Selected) != 25 {
			b.Fatal(err)
		}
	}
}
