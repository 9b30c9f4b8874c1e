package awscollector

import (
	"testing"

	"github.com/exhibit-dev/exhibit/collectors/aws/awssim"
	"github.com/exhibit-dev/exhibit/pkg/collector"
)

// FuzzParseCredentialReport: any bytes give rows or an error, never a
// panic, and rows always name a principal.
func FuzzParseCredentialReport(f *testing.F) {
	sim := awssim.NewAt(simNow)
	for _, a := range sim.Accounts {
		f.Add(sim.CredentialReport(a.ID))
	}
	f.Add([]byte(reportHeader + "\n"))
	f.Add([]byte("user,arn\n\"unterminated"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseCredentialReport(data)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.ARN == "" {
				t.Fatalf("row without arn: %+v", r)
			}
		}
		_ = credentialFindings(rows, "arn:aws:iam::1:root", "", simNow, collector.DefaultThresholds())
	})
}

// FuzzBucketPolicy: any policy text parses or errors, never panics, and
// TLS-only detection only answers for parsed documents.
func FuzzBucketPolicy(f *testing.F) {
	f.Add(awssim.TLSOnlyPolicy("b"))
	f.Add(`{"Statement":{"Effect":"Deny","Principal":{"AWS":["*"]},"Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}}`)
	f.Add(`{"Statement":[{"Effect":"Allow","Action":"*:*","Resource":"*"}]}`)
	f.Add(`%7B%22Statement%22%3A%5B%5D%7D`)
	f.Add(`{"Statement":[{"Condition":{"Bool":null}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := parsePolicy(doc)
		if err != nil {
			return
		}
		p.deniesInsecureTransport("arn:aws:s3:::b")
		p.grantsAdmin()
		trustedPrincipals(p)
	})
}
