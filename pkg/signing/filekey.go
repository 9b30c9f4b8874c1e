package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/exhibit-dev/exhibit/pkg/localfile"
)

// FileKey signs with a P-256 private key held in a local PEM file.
type FileKey struct {
	key *ecdsa.PrivateKey
}

var _ Signer = (*FileKey)(nil)

// maxKeyFile bounds a key file: a PEM P-256 key is a few hundred bytes.
const maxKeyFile = 64 << 10

// LoadOrCreateFileKey reads the PKCS#8 PEM key at path, generating it (mode
// 0600, created exclusively) when it does not exist; the directory must
// exist, so that a mistyped path fails instead of growing a tree. A key
// file that group or others can read is refused: the key is what makes
// evidence trustworthy.
func LoadOrCreateFileKey(path string) (*FileKey, bool, error) {
	k, err := LoadFileKey(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	k, err = createFileKey(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first; use theirs.
		k, err = LoadFileKey(path)
		return k, false, err
	}
	return k, err == nil, err
}

// LoadFileKey reads an existing key file, which must be a regular file.
func LoadFileKey(path string) (*FileKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s: mode %04o lets others read it; run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := localfile.Read(path, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: not a PEM PRIVATE KEY (PKCS#8)", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing key %s: not an ECDSA P-256 key", path)
	}
	return &FileKey{key: key}, nil
}

// GenerateFileKey writes a new key to path, creating its directory (mode
// 0700) if needed; it never replaces an existing file.
func GenerateFileKey(path string) (*FileKey, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return createFileKey(path)
}

func createFileKey(path string) (*FileKey, error) {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("signing key %s: directory %s does not exist", path, dir)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return &FileKey{key: key}, nil
}

// Sign implements Signer.
func (k *FileKey) Sign(_ context.Context, message []byte) ([]byte, error) {
	digest := sha256.Sum256(message)
	return ecdsa.SignASN1(rand.Reader, k.key, digest[:])
}

// PublicKey implements Signer.
func (k *FileKey) PublicKey(context.Context) (*ecdsa.PublicKey, error) {
	return &k.key.PublicKey, nil
}
