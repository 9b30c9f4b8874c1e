package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Rotate announces next as the store's signing key from now on: a rotation
// statement signed with current, the key in use, then next's public key
// published. It returns the statement. Rotating to a key that already has a
// statement is an error naming it; so is a current key the store does not
// publish (it cannot vouch for anything there).
//
// With tsa (nil for none), the statement is time-stamped too, so that when
// the key changed does not rest on the statement's own word.
func Rotate(ctx context.Context, st store.Store, current, next signing.Signer, tsa Timestamper, reason string, now time.Time) (*evidence.Rotation, error) {
	fromPub, err := current.PublicKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("current key: %w", err)
	}
	from, err := signing.KeyID(fromPub)
	if err != nil {
		return nil, err
	}
	toPub, err := next.PublicKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	to, err := signing.KeyID(toPub)
	if err != nil {
		return nil, err
	}
	if from == to {
		return nil, errors.New("the new key is the key in use")
	}
	if _, err := st.Get(ctx, store.PublicKeyKey(from)); err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return nil, fmt.Errorf("the key in use (%s) is not published in %s, so it cannot vouch for a new one", from, st)
		}
		return nil, fmt.Errorf("read %s: %w", store.PublicKeyKey(from), err)
	}
	// Statement, signature, then the new key. A run that was interrupted
	// is completed by the next: the stored statement is signed (again, if
	// need be) and the key published.
	key := store.RotationKey(to)
	b, err := st.Get(ctx, key)
	var r *evidence.Rotation
	switch {
	case errors.Is(err, store.ErrNotExist):
		r = &evidence.Rotation{From: from, To: to, At: now, Reason: reason}
		if b, err = evidence.EncodeRotation(r); err != nil {
			return nil, err
		}
		if err := st.Put(ctx, key, b); err != nil {
			return nil, fmt.Errorf("store %s: %w", key, err)
		}
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", key, err)
	default:
		if r, err = evidence.ParseRotation(b); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if r.From != from {
			return nil, fmt.Errorf("%s already announces key %s, vouched for by key %s, not by the key in use", key, to, r.From)
		}
	}
	if err := putSignature(ctx, st, key, b, current); err != nil {
		return nil, err
	}
	if tsa != nil {
		var stampErr error
		tok := stampWith(ctx, tsa, b, func(err error) { stampErr = err })
		if tok == nil {
			return nil, fmt.Errorf("time-stamp the rotation: %w (run the rotation again once the TSA answers)", stampErr)
		}
		if err := st.Put(ctx, store.TokenKey(key), tok); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("store %s: %w", store.TokenKey(key), err)
		}
	}
	if _, err := PublishKey(ctx, st, next); err != nil {
		return nil, err
	}
	return r, nil
}

// putSignature stores signer's signature of b beside key, unless a valid
// one is there already.
func putSignature(ctx context.Context, st store.Store, key string, b []byte, signer signing.Signer) error {
	sigKey := store.SignatureKey(key)
	pub, err := signer.PublicKey(ctx)
	if err != nil {
		return err
	}
	if have, err := st.Get(ctx, sigKey); err == nil {
		if der, derr := signing.DecodeSignature(have); derr == nil && signing.Verify(pub, b, der) == nil {
			return nil
		}
		return fmt.Errorf("%s holds a signature that does not verify with the key in use", sigKey)
	} else if !errors.Is(err, store.ErrNotExist) {
		return fmt.Errorf("read %s: %w", sigKey, err)
	}
	sig, err := signer.Sign(ctx, b)
	if err != nil {
		return fmt.Errorf("sign %s: %w", key, err)
	}
	if err := st.Put(ctx, sigKey, signing.EncodeSignature(sig)); err != nil {
		return fmt.Errorf("store %s: %w", sigKey, err)
	}
	return nil
}
