package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RotationSchema is the value of every v1 key rotation statement's schema.
const RotationSchema = "exhibit.dev/key-rotation/v1"

// Rotation announces that evidence is signed with a new key from now on.
// It is signed with the previous key: whoever holds that key vouches for
// the next one, so a key that appears in a store without such a statement,
// or a series whose signatures change key without one, is visible to an
// auditor even when nobody pinned a key.
type Rotation struct {
	Schema string `json:"schema"`
	// From and To are the key ids (SHA-256 of the DER public key).
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	// Reason is the operator's, for the auditor.
	Reason string `json:"reason,omitempty"`
}

// EncodeRotation returns the canonical bytes of r.
func EncodeRotation(r *Rotation) ([]byte, error) {
	r.Schema = RotationSchema
	r.At = r.At.UTC().Truncate(time.Millisecond)
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return Canonical(r)
}

// ParseRotation decodes a statement, refusing anything but the exact form
// EncodeRotation writes.
func ParseRotation(b []byte) (*Rotation, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Rotation
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode key rotation: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode key rotation: data after the document")
	}
	again := r
	written, err := EncodeRotation(&again)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(written, b) {
		return nil, errors.New("not in the canonical form a v1 key rotation is written in")
	}
	return &r, nil
}

// Validate checks the structural rules of a statement.
func (r *Rotation) Validate() error {
	var errs []error
	if r.Schema != RotationSchema {
		errs = append(errs, fmt.Errorf("schema: want %q, got %q", RotationSchema, r.Schema))
	}
	if !hexDigest.MatchString(r.From) {
		errs = append(errs, fmt.Errorf("from: not a key id: %q", r.From))
	}
	if !hexDigest.MatchString(r.To) {
		errs = append(errs, fmt.Errorf("to: not a key id: %q", r.To))
	}
	if r.From == r.To && r.From != "" {
		errs = append(errs, errors.New("to: the same key as from"))
	}
	if r.At.IsZero() {
		errs = append(errs, errors.New("at: required"))
	}
	return errors.Join(errs...)
}
