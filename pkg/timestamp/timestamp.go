// Package timestamp anchors evidence in time with RFC 3161 time-stamp
// tokens: a Client asks a time-stamping authority (TSA) to sign the SHA-256
// of a snapshot's bytes with its own clock, and Verify checks such a token
// against the TSA certificates an auditor pinned. The operator of the agent
// controls neither the TSA's clock nor its key, so a token dates the bytes
// independently of the snapshot's own started_at and finished_at.
//
// A stored token is the TSA's whole TimeStampResp in DER, the form that
// `openssl ts -verify -in X.json.tsr -data X.json -CAfile tsa.pem` reads.
package timestamp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"time"

	"github.com/digitorus/pkcs7"
	tsp "github.com/digitorus/timestamp"
)

// MaxResponseSize bounds what is read from a TSA or from a stored token: a
// TimeStampResp with a certificate chain is a few kilobytes.
const MaxResponseSize = 1 << 20

// Client asks one TSA for tokens.
type Client struct {
	// URL is the TSA's RFC 3161 HTTP endpoint.
	URL string
	// HTTP makes the requests; http.DefaultClient when nil.
	HTTP *http.Client
}

// Stamp returns the TSA's response over the SHA-256 of data, after checking
// that it grants a token for exactly those bytes, answers this request's
// nonce and carries the certificate that signed it (without which the token
// could not be verified later).
func (c *Client) Stamp(ctx context.Context, data []byte) ([]byte, error) {
	digest := sha256.Sum256(data)
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	req, err := (&tsp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest[:], Nonce: nonce, Certificates: true}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("time-stamp request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("time-stamp authority: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("time-stamp authority: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("time-stamp authority: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("time-stamp authority: HTTP %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/timestamp-reply" {
		return nil, fmt.Errorf("time-stamp authority: answered %q, not application/timestamp-reply", resp.Header.Get("Content-Type"))
	}
	if len(body) > MaxResponseSize {
		return nil, fmt.Errorf("time-stamp authority: response larger than %d bytes", MaxResponseSize)
	}
	ts, err := parse(body, data)
	if err != nil {
		return nil, fmt.Errorf("time-stamp authority: %w", err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, errors.New("time-stamp authority: the token does not answer this request's nonce")
	}
	return body, nil
}

// Token is what a verified token says.
type Token struct {
	// Time is the TSA's time of signing; Accuracy its stated error bound.
	Time     time.Time
	Accuracy time.Duration
	// Serial is the TSA's serial number of the token.
	Serial *big.Int
	// Signer names the TSA certificate that signed it.
	Signer string
}

// Verify checks that resp is a granted time-stamp response whose token
// covers exactly data, is signed by a certificate that chains to one of
// roots at the token's time, and that certificate is for time stamping.
func Verify(resp, data []byte, roots *x509.CertPool) (*Token, error) {
	if roots == nil {
		return nil, errors.New("no TSA certificates to verify against")
	}
	if len(resp) > MaxResponseSize {
		return nil, fmt.Errorf("token larger than %d bytes", MaxResponseSize)
	}
	ts, err := parse(resp, data)
	if err != nil {
		return nil, err
	}
	p7, err := pkcs7.Parse(ts.RawToken)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	intermediates := x509.NewCertPool()
	for _, c := range p7.Certificates {
		intermediates.AddCert(c)
	}
	err = p7.VerifyWithOpts(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   ts.Time,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, fmt.Errorf("token signature or chain: %w", err)
	}
	tok := &Token{Time: ts.Time.UTC(), Accuracy: ts.Accuracy, Serial: ts.SerialNumber}
	if signer := p7.GetOnlySigner(); signer != nil {
		tok.Signer = signer.Subject.String()
	}
	return tok, nil
}

// parse reads a granted response and checks that its token is over the
// SHA-256 of data and carries its signer's certificate; the token's
// signature is checked against that certificate (not yet its chain).
func parse(resp, data []byte) (*tsp.Timestamp, error) {
	ts, err := tsp.ParseResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if len(ts.Certificates) == 0 {
		return nil, errors.New("token carries no certificate: its signature cannot be checked")
	}
	if ts.HashAlgorithm != crypto.SHA256 {
		return nil, fmt.Errorf("token is over a %s digest, not SHA-256", ts.HashAlgorithm)
	}
	digest := sha256.Sum256(data)
	if !bytes.Equal(ts.HashedMessage, digest[:]) {
		return nil, fmt.Errorf("token is over digest %x, not over these bytes (%x)", ts.HashedMessage, digest[:])
	}
	return ts, nil
}

// ParseCertificates reads the PEM certificates an auditor pinned for a TSA
// (its root, and intermediates if any) into a pool.
func ParseCertificates(pemBytes []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return pool, nil
}
