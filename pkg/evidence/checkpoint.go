package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// CheckpointSchema is the value of every v1 checkpoint's schema field.
const CheckpointSchema = "exhibit.dev/checkpoint/v1"

// Checkpoint records the head of every series of a store at one moment.
// A chain proves that nothing in it was changed, not that nothing was cut
// off its end: a store whose newest snapshots were deleted, or rewritten
// and re-signed, is still a valid chain. A checkpoint kept where the store's
// operator cannot reach it (an auditor's copy), or written to a write-once
// store, pins each series' head so that any later store must extend it.
type Checkpoint struct {
	Schema  string    `json:"schema"`
	ID      string    `json:"id"`
	TakenAt time.Time `json:"taken_at"`
	// TakenBy says who took it: "agent" (written to the store by the
	// agent, signed with its key) or "reader" (exhibit checkpoint, from
	// what the store held).
	TakenBy string `json:"taken_by"`
	// Store names the store it was taken of, for the reader's benefit.
	Store string `json:"store,omitempty"`
	// KeyID names the signing key of an agent's checkpoint.
	KeyID string `json:"key_id,omitempty"`
	Heads []Head `json:"heads"`
}

// Head is a series' newest snapshot at the checkpoint.
type Head struct {
	Series string `json:"series"`
	Seq    int64  `json:"seq"`
	// SHA256 is the digest of the snapshot's stored bytes.
	SHA256     string    `json:"sha256"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Who took a checkpoint.
const (
	TakenByAgent  = "agent"
	TakenByReader = "reader"
)

// EncodeCheckpoint normalizes c (UTC times, heads sorted by series) and
// returns its canonical bytes.
func EncodeCheckpoint(c *Checkpoint) ([]byte, error) {
	c.Schema = CheckpointSchema
	c.TakenAt = c.TakenAt.UTC().Truncate(time.Millisecond)
	for i := range c.Heads {
		c.Heads[i].FinishedAt = c.Heads[i].FinishedAt.UTC().Truncate(time.Millisecond)
	}
	slices.SortFunc(c.Heads, func(a, b Head) int { return strings.Compare(a.Series, b.Series) })
	if c.Heads == nil {
		c.Heads = []Head{}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return Canonical(c)
}

// ParseCheckpoint decodes checkpoint bytes, refusing anything but the exact
// form EncodeCheckpoint writes.
func ParseCheckpoint(b []byte) (*Checkpoint, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Checkpoint
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode checkpoint: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode checkpoint: data after the document")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	again := c
	again.Heads = slices.Clone(c.Heads)
	written, err := EncodeCheckpoint(&again)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(written, b) {
		return nil, errors.New("not in the canonical form a v1 checkpoint is written in")
	}
	return &c, nil
}

// Validate checks the structural rules of a checkpoint.
func (c *Checkpoint) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Schema != CheckpointSchema {
		bad("schema", "want %q, got %q", CheckpointSchema, c.Schema)
	}
	if _, err := ulid.ParseStrict(c.ID); err != nil {
		bad("id", "not a ULID: %q", c.ID)
	}
	if c.TakenAt.IsZero() {
		bad("taken_at", "required")
	}
	switch c.TakenBy {
	case TakenByAgent:
		if !hexDigest.MatchString(c.KeyID) {
			bad("key_id", "an agent's checkpoint names its key: %q", c.KeyID)
		}
	case TakenByReader:
	default:
		bad("taken_by", "want %q or %q, got %q", TakenByAgent, TakenByReader, c.TakenBy)
	}
	seen := map[string]bool{}
	for i, h := range c.Heads {
		switch {
		case !ValidSeries(h.Series):
			bad(fmt.Sprintf("heads[%d].series", i), "malformed series name %q", h.Series)
		case seen[h.Series]:
			bad(fmt.Sprintf("heads[%d].series", i), "%q listed twice", h.Series)
		}
		seen[h.Series] = true
		if h.Seq < 1 {
			bad(fmt.Sprintf("heads[%d].seq", i), "must be 1 or more, got %d", h.Seq)
		}
		if !hexDigest.MatchString(h.SHA256) {
			bad(fmt.Sprintf("heads[%d].sha256", i), "not a hex SHA-256: %q", h.SHA256)
		}
	}
	return errors.Join(errs...)
}
