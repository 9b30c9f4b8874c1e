package s3store

import (
	"context"
	"errors"
	"fmt"
)

// ProbeWrite shows whether the agent may write to the store, without
// writing: it repeats the Put of key — an object that must exist already,
// such as a published public key — with its own bytes and the headers
// every Put sends (If-None-Match: *, the Object Lock retention, SSE-KMS).
// S3 authorizes a request before it evaluates its preconditions, so the
// answer 412 Precondition Failed proves the write is allowed, and nothing is
// stored; AccessDenied is the missing permission.
//
// What it cannot prove: that the KMS key would encrypt (S3 asks KMS only
// for a write it goes on to store), nor anything of a key that does not
// exist yet. A store that accepts the PUT does not honour If-None-Match;
// ProbeWrite then reports that the identical bytes were stored again.
func (s *Store) ProbeWrite(ctx context.Context, key string) error {
	where := s.where("probe write", key)
	data, err := s.get(ctx, key)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	_, err = s.putOnce(ctx, key, data)
	switch {
	case isPreconditionFailed(err):
		return nil
	case err == nil:
		return fmt.Errorf("%s: %w", where, errors.New("the store accepted a conditional PUT over an existing object (the same bytes were stored again): it does not honour If-None-Match, so it cannot keep evidence write-once"))
	}
	return fmt.Errorf("%s: %w", where, err)
}

// SSEKMSKey is the KMS key the store encrypts with, "" for none.
func (s *Store) SSEKMSKey() string { return s.sseKey }
