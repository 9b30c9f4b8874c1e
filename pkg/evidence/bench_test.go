package evidence

import (
	"fmt"
	"testing"
)

// large is a snapshot of about 165 KB, the size the issue measured: a few
// hundred resources, each with a finding and its observed values.
func large() *Snapshot {
	s := sample()
	s.Records, s.Findings = nil, nil
	for i := range 250 {
		id := fmt.Sprintf("arn:aws:s3:::bucket-%04d", i)
		s.Records = append(s.Records, Record{Type: "bucket", ID: id, Region: "eu-west-1", Attributes: map[string]any{
			"encryption": "aws:kms", "bucket_key": true, "versioning": "Enabled", "object_lock": i%3 == 0,
			"public_access_block": map[string]any{"block_public_acls": true, "ignore_public_acls": true, "restrict_public_buckets": i%7 != 0},
			"tags":                []any{"team:platform", fmt.Sprintf("cost-centre:%d", i%17)}, "size_bytes": float64(i) * 1234.5,
		}})
		s.Findings = append(s.Findings, Finding{Check: "aws.s3.default_encryption", Resource: id, Status: Pass,
			Controls: []string{"soc2:CC6.1", "hipaa:164.312(a)(2)(iv)"}, Reason: "default encryption is aws:kms with a bucket key",
			Observed: map[string]any{"sse_algorithm": "aws:kms", "kms_key": fmt.Sprintf("arn:aws:kms:eu-west-1:111122223333:key/%08d-aaaa-bbbb-cccc-dddddddddddd", i)}})
	}
	return s
}

func BenchmarkParse(b *testing.B) {
	raw, err := Encode(large())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseHead is Parse as verify calls it: every check, no records,
// calls or observed values kept.
func BenchmarkParseHead(b *testing.B) {
	raw, err := Encode(large())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHead(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseDecoding is the path bytes not in Encode's exact form
// take: decode, then re-encode and compare.
func BenchmarkParseDecoding(b *testing.B) {
	raw, err := Encode(large())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseDecoding(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	s := large()
	raw, err := Encode(s)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(s); err != nil {
			b.Fatal(err)
		}
	}
}
