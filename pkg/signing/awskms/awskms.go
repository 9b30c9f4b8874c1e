// Package awskms signs evidence with an AWS KMS asymmetric key
// (signing_key: awskms:///KEY): key spec ECC_NIST_P256, algorithm
// ECDSA_SHA_256. The SHA-256 digest is computed here and KMS signs the digest
// (MessageType DIGEST), so the message never leaves the process and any
// size is accepted. The signature KMS returns is ASN.1 DER, the same bytes a
// file key produces, so the two are interchangeable.
package awskms

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/exhibit-dev/exhibit/pkg/signing"
)

// Scheme prefixes a KMS key in the signing_key setting.
const Scheme = "awskms:///"

// KMSAPI is the part of the KMS client a signer uses.
type KMSAPI interface {
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
}

// Signer signs with one KMS key.
type Signer struct {
	client KMSAPI
	keyID  string
	pub    *ecdsa.PublicKey
}

var _ signing.Signer = (*Signer)(nil)

// Open builds a KMS client from the AWS SDK's default configuration
// (credentials chain, AWS_REGION, AWS_ENDPOINT_URL_KMS) and returns the
// signer for uri, awskms:///KEY where KEY is a key ARN, an alias ARN, a key
// id or alias/NAME. The region of an ARN wins over the default region.
// optFns adjust the client (endpoint, HTTP client, credentials).
func Open(ctx context.Context, uri string, optFns ...func(*kms.Options)) (*Signer, error) {
	keyID, ok := strings.CutPrefix(uri, Scheme)
	if !ok || keyID == "" {
		return nil, fmt.Errorf("%q: want %sKEY-ARN, %sKEY-ID or %salias/NAME", uri, Scheme, Scheme, Scheme)
	}
	var loadOpts []func(*config.LoadOptions) error
	if strings.HasPrefix(keyID, "arn:") {
		a, err := arn.Parse(keyID)
		if err != nil || a.Service != "kms" || a.Region == "" {
			return nil, fmt.Errorf("%q: not a KMS key or alias ARN", uri)
		}
		loadOpts = append(loadOpts, config.WithRegion(a.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("kms key %s: aws config: %w", keyID, err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("kms key %s: no region: use a key ARN or set AWS_REGION", keyID)
	}
	return New(ctx, keyID, kms.NewFromConfig(cfg, optFns...))
}

// New returns the signer for keyID, after checking with GetPublicKey that the
// key is an ECC_NIST_P256 signing key that allows ECDSA_SHA_256.
func New(ctx context.Context, keyID string, client KMSAPI) (*Signer, error) {
	if keyID == "" {
		return nil, errors.New("kms key: empty key id")
	}
	out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("kms key %s: get public key: %w", keyID, err)
	}
	if out.KeySpec != types.KeySpecEccNistP256 {
		return nil, fmt.Errorf("kms key %s: key spec is %s, want %s (create the key with --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY)",
			keyID, orNone(string(out.KeySpec)), types.KeySpecEccNistP256)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("kms key %s: key usage is %s, want %s", keyID, orNone(string(out.KeyUsage)), types.KeyUsageTypeSignVerify)
	}
	if !slices.Contains(out.SigningAlgorithms, types.SigningAlgorithmSpecEcdsaSha256) {
		return nil, fmt.Errorf("kms key %s: signing algorithms %v do not include %s", keyID, out.SigningAlgorithms, types.SigningAlgorithmSpecEcdsaSha256)
	}
	parsed, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("kms key %s: public key: %w", keyID, err)
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("kms key %s: public key is %T, want ECDSA P-256", keyID, parsed)
	}
	// Sign with the canonical ARN KMS reports, so an alias repointed later
	// cannot switch keys under a running agent.
	if id := aws.ToString(out.KeyId); id != "" {
		keyID = id
	}
	return &Signer{client: client, keyID: keyID, pub: pub}, nil
}

func orNone(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// KeyID is the KMS key the signer uses: its ARN as KMS reported it.
func (s *Signer) KeyID() string { return s.keyID }

// Sign implements signing.Signer.
func (s *Signer) Sign(ctx context.Context, message []byte) ([]byte, error) {
	digest := sha256.Sum256(message)
	out, err := s.client.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.keyID),
		Message:          digest[:],
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
	})
	if err != nil {
		return nil, fmt.Errorf("sign with %s: %w", s.keyID, err)
	}
	// A signature that does not verify must never reach the store.
	if !ecdsa.VerifyASN1(s.pub, digest[:], out.Signature) {
		return nil, fmt.Errorf("sign with %s: the returned signature does not verify against the key's public key", s.keyID)
	}
	return out.Signature, nil
}

// PublicKey implements signing.Signer.
func (s *Signer) PublicKey(context.Context) (*ecdsa.PublicKey, error) {
	return s.pub, nil
}
