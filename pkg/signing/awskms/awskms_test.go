package awskms_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/signing/awskms"
	"github.com/exhibit-dev/exhibit/pkg/signing/kmstest"
)

func TestSignVerifies(t *testing.T) {
	kms := kmstest.Start(t)
	s, err := awskms.New(t.Context(), kms.KeyARN(), kms.Client())
	require.NoError(t, err)
	require.Equal(t, kms.KeyARN(), s.KeyID())

	pub, err := s.PublicKey(t.Context())
	require.NoError(t, err)
	require.True(t, pub.Equal(&kms.Key.PublicKey))

	msg := []byte(`{"schema":"exhibit.dev/evidence/v1","seq":1}`)
	sig, err := s.Sign(t.Context(), msg)
	require.NoError(t, err)
	require.NoError(t, signing.Verify(pub, msg, sig))
	require.ErrorIs(t, signing.Verify(pub, append(msg, ' '), sig), signing.ErrBadSignature)

	// A message far above KMS's 4 KiB RAW limit: only its digest is sent.
	big := bytes.Repeat([]byte("x"), 1<<20)
	sig, err = s.Sign(t.Context(), big)
	require.NoError(t, err)
	require.NoError(t, signing.Verify(pub, big, sig))

	require.Equal(t, 1, kms.Calls("GetPublicKey"), "the public key is read once")
	require.Equal(t, 2, kms.Calls("Sign"))
}

// TestOpenSSLVerifies checks a KMS signature the way an auditor does, with
// openssl and the key published as PEM.
func TestOpenSSLVerifies(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not found; run `make test-deps`")
		}
		t.Skip("openssl not found")
	}
	kms := kmstest.Start(t)
	s, err := awskms.New(t.Context(), kmstest.Alias, kms.Client())
	require.NoError(t, err)
	pub, err := s.PublicKey(t.Context())
	require.NoError(t, err)
	pemKey, err := signing.MarshalPublicKey(pub)
	require.NoError(t, err)

	msg := []byte(`{"records":[],"schema":"exhibit.dev/evidence/v1"}`)
	sig, err := s.Sign(t.Context(), msg)
	require.NoError(t, err)
	// Stored beside the snapshot as base64; the auditor decodes it to DER.
	der, err := signing.DecodeSignature(signing.EncodeSignature(sig))
	require.NoError(t, err)

	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	pubPath, sigPath, msgPath := write("pub.pem", pemKey), write("sig.der", der), write("msg.json", msg)
	out, err := exec.CommandContext(t.Context(), openssl, "dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, msgPath).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "Verified OK", strings.TrimSpace(string(out)))

	// And it is not fooled by another message.
	other := write("other.json", append(msg, '\n'))
	out, err = exec.CommandContext(t.Context(), openssl, "dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, other).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "Verification failure")
}

func TestOpenFromDefaultConfig(t *testing.T) {
	kms := kmstest.Start(t)
	for _, kv := range kms.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	for _, key := range []string{kms.KeyARN(), kms.AliasARN(), kmstest.KeyID, kmstest.Alias} {
		t.Run(key, func(t *testing.T) {
			s, err := awskms.Open(t.Context(), awskms.Scheme+key)
			require.NoError(t, err)
			require.Equal(t, kms.KeyARN(), s.KeyID(), "signs with the key's ARN, whatever named it")
			sig, err := s.Sign(t.Context(), []byte("m"))
			require.NoError(t, err)
			pub, err := s.PublicKey(t.Context())
			require.NoError(t, err)
			require.NoError(t, signing.Verify(pub, []byte("m"), sig))
		})
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		spec, usage string
		algs        []string
		want        string
	}{
		"rsa key":         {"RSA_2048", "SIGN_VERIFY", []string{"RSASSA_PSS_SHA_256"}, "key spec is RSA_2048, want ECC_NIST_P256"},
		"secp256k1 key":   {"ECC_SECG_P256K1", "SIGN_VERIFY", []string{"ECDSA_SHA_256"}, "key spec is ECC_SECG_P256K1, want ECC_NIST_P256"},
		"encryption key":  {"ECC_NIST_P256", "KEY_AGREEMENT", nil, "key usage is KEY_AGREEMENT, want SIGN_VERIFY"},
		"no ecdsa sha256": {"ECC_NIST_P256", "SIGN_VERIFY", []string{"ECDSA_SHA_384"}, "do not include ECDSA_SHA_256"},
	} {
		t.Run(name, func(t *testing.T) {
			kms := kmstest.Start(t)
			kms.Describe(tc.spec, tc.usage, tc.algs...)
			_, err := awskms.New(t.Context(), kms.KeyARN(), kms.Client())
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), kms.KeyARN())
			require.Zero(t, kms.Calls("Sign"))
		})
	}
}

func TestUnknownKey(t *testing.T) {
	kms := kmstest.Start(t)
	_, err := awskms.New(t.Context(), "alias/nope", kms.Client())
	require.Error(t, err)
	require.Contains(t, err.Error(), "kms key alias/nope")
	require.Contains(t, err.Error(), "NotFoundException")
}

func TestOpenRejectsBadURIs(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	for uri, want := range map[string]string{
		"awskms:///":                           "want awskms:///KEY-ARN",
		"awskms://key":                         "want awskms:///KEY-ARN",
		"awskms:///arn:aws:s3:::bucket":        "not a KMS key or alias ARN",
		"awskms:///arn:aws:kms::111:key/x":     "not a KMS key or alias ARN",
		"awskms:///1234abcd-12ab-34cd-56ef-12": "no region",
	} {
		t.Run(uri, func(t *testing.T) {
			_, err := awskms.Open(t.Context(), uri)
			require.Error(t, err)
			require.Contains(t, err.Error(), want)
		})
	}
}
