// Package kmstest is a loopback AWS KMS for tests: an httptest server that
// speaks KMS's JSON 1.1 protocol (POST /, X-Amz-Target TrentService.*,
// application/x-amz-json-1.1) for GetPublicKey and Sign, backed by a real
// P-256 key, so the real SDK client, its serializers and retryer are what a
// test exercises.
package kmstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Region and Account name the fake key's ARN.
const (
	Region  = "us-east-1"
	Account = "111122223333"
	KeyID   = "1234abcd-12ab-34cd-56ef-1234567890ab"
	Alias   = "alias/exhibit-signing"
)

// Server is a fake KMS holding one asymmetric key.
type Server struct {
	// Key is the private half of the fake KMS key.
	Key *ecdsa.PrivateKey

	srv *httptest.Server

	mu                sync.Mutex
	keySpec, keyUsage string
	signingAlgorithms []string
	calls             map[string]int
}

// Start runs a fake KMS with a fresh ECC_NIST_P256 SIGN_VERIFY key until the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("kmstest: %v", err)
	}
	s := &Server{
		Key:               key,
		keySpec:           "ECC_NIST_P256",
		keyUsage:          "SIGN_VERIFY",
		signingAlgorithms: []string{"ECDSA_SHA_256"},
		calls:             map[string]int{},
	}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// Describe changes what GetPublicKey reports about the key (its key spec,
// key usage and signing algorithms), to test a wrongly created key.
func (s *Server) Describe(keySpec, keyUsage string, signingAlgorithms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keySpec, s.keyUsage, s.signingAlgorithms = keySpec, keyUsage, signingAlgorithms
}

// URL is the endpoint (AWS_ENDPOINT_URL_KMS, or kms.Options.BaseEndpoint).
func (s *Server) URL() string { return s.srv.URL }

// KeyARN is the key's ARN.
func (s *Server) KeyARN() string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", Region, Account, KeyID)
}

// AliasARN is the ARN of the key's alias.
func (s *Server) AliasARN() string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:%s", Region, Account, Alias)
}

// Env is what a process needs to reach this KMS through the SDK's default
// configuration.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=kmstest",
		"AWS_SECRET_ACCESS_KEY=kmstest-secret",
		"AWS_REGION=" + Region,
		"AWS_ENDPOINT_URL_KMS=" + s.URL(),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// ClientOptions point a kms client at this server with static credentials.
func (s *Server) ClientOptions(o *kms.Options) {
	o.BaseEndpoint = aws.String(s.URL())
	o.Region = Region
	o.Credentials = credentials.NewStaticCredentialsProvider("kmstest", "kmstest-secret", "")
}

// Client is a real KMS client for this server.
func (s *Server) Client() *kms.Client {
	return kms.New(kms.Options{}, s.ClientOptions)
}

// Calls counts the requests served per operation (GetPublicKey, Sign).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// known reports whether id names the key: its ARN, its id, its alias or the
// alias ARN.
func (s *Server) known(id string) bool {
	switch id {
	case s.KeyARN(), KeyID, Alias, s.AliasARN():
		return true
	}
	return false
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		writeErr(w, http.StatusBadRequest, "UnknownOperationException", "POST / expected")
		return
	case !ok:
		writeErr(w, http.StatusBadRequest, "UnknownOperationException", "missing X-Amz-Target")
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1"):
		writeErr(w, http.StatusBadRequest, "SerializationException", "content type must be application/x-amz-json-1.1")
		return
	case !strings.Contains(r.Header.Get("Authorization"), "/kms/aws4_request"):
		writeErr(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "request is not signed for kms")
		return
	}
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	switch op {
	case "GetPublicKey":
		s.getPublicKey(w, body)
	case "Sign":
		s.sign(w, body)
	default:
		writeErr(w, http.StatusBadRequest, "UnknownOperationException", op+" is not served here")
	}
}

func (s *Server) getPublicKey(w http.ResponseWriter, body []byte) {
	var in struct{ KeyId string }
	if err := json.Unmarshal(body, &in); err != nil {
		writeErr(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if !s.known(in.KeyId) {
		writeErr(w, http.StatusBadRequest, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", in.KeyId))
		return
	}
	der, err := x509.MarshalPKIXPublicKey(&s.Key.PublicKey)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "KMSInternalException", err.Error())
		return
	}
	s.mu.Lock()
	out := map[string]any{
		"KeyId":                 s.KeyARN(),
		"PublicKey":             der, // []byte marshals as base64, as KMS sends blobs
		"KeySpec":               s.keySpec,
		"CustomerMasterKeySpec": s.keySpec,
		"KeyUsage":              s.keyUsage,
		"SigningAlgorithms":     s.signingAlgorithms,
	}
	s.mu.Unlock()
	writeJSON(w, out)
}

func (s *Server) sign(w http.ResponseWriter, body []byte) {
	var in struct {
		KeyId            string
		Message          []byte
		MessageType      string
		SigningAlgorithm string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeErr(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if !s.known(in.KeyId) {
		writeErr(w, http.StatusBadRequest, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", in.KeyId))
		return
	}
	if in.SigningAlgorithm != "ECDSA_SHA_256" {
		writeErr(w, http.StatusBadRequest, "InvalidKeyUsageException", "signing algorithm "+in.SigningAlgorithm+" is not supported by this key")
		return
	}
	var digest []byte
	switch in.MessageType {
	case "DIGEST":
		if len(in.Message) != sha256.Size {
			writeErr(w, http.StatusBadRequest, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.")
			return
		}
		digest = in.Message
	case "", "RAW":
		if len(in.Message) > 4096 {
			writeErr(w, http.StatusBadRequest, "ValidationException", "Message must be at most 4096 bytes")
			return
		}
		sum := sha256.Sum256(in.Message)
		digest = sum[:]
	default:
		writeErr(w, http.StatusBadRequest, "ValidationException", "invalid MessageType "+in.MessageType)
		return
	}
	sig, err := ecdsa.SignASN1(rand.Reader, s.Key, digest)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "KMSInternalException", err.Error())
		return
	}
	writeJSON(w, map[string]any{
		"KeyId":            s.KeyARN(),
		"Signature":        sig,
		"SigningAlgorithm": in.SigningAlgorithm,
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "kmstest")
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "kmstest")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
