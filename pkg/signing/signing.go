// Package signing signs and verifies evidence with ECDSA P-256 / SHA-256.
//
// Signatures are ASN.1 DER, stored base64-encoded beside each snapshot: the
// format `cosign verify-blob` and `openssl dgst -sha256 -verify` read. A file
// key and a KMS key are interchangeable behind Signer.
package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Signer signs messages with a P-256 key.
type Signer interface {
	// Sign returns the ASN.1 DER ECDSA signature over SHA-256(message).
	Sign(ctx context.Context, message []byte) ([]byte, error)
	// PublicKey returns the key that verifies this signer's signatures.
	PublicKey(ctx context.Context) (*ecdsa.PublicKey, error)
}

// ErrBadSignature means a signature does not verify against the key.
var ErrBadSignature = errors.New("signature does not verify")

// Verify checks a DER signature over message.
func Verify(pub *ecdsa.PublicKey, message, sig []byte) error {
	digest := sha256.Sum256(message)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return ErrBadSignature
	}
	return nil
}

// EncodeSignature renders a DER signature as stored in X.json.sig.
func EncodeSignature(der []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(der))
}

// DecodeSignature parses the content of an X.json.sig file.
func DecodeSignature(b []byte) ([]byte, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("signature is not base64: %w", err)
	}
	return der, nil
}

// KeyID is the hex SHA-256 of the key's DER SubjectPublicKeyInfo: the name
// under which it is published and the value of a snapshot's key_id.
func KeyID(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// MarshalPublicKey returns the PEM "PUBLIC KEY" encoding published in the store.
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads a PEM "PUBLIC KEY" holding a P-256 ECDSA key.
func ParsePublicKey(b []byte) (*ecdsa.PublicKey, error) {
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New("unexpected data after the PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key")
	}
	return pub, nil
}
