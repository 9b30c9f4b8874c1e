// Package storeurl opens a store from its URL: file:///path or
// s3://bucket/prefix.
package storeurl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
)

// Mode says whether the caller writes or only reads.
type Mode int

// Modes.
const (
	// ReadWrite creates a local store directory if needed.
	ReadWrite Mode = iota
	// ReadOnly requires the store to exist already.
	ReadOnly
)

// Options configure OpenWith.
type Options struct {
	Mode Mode
	// S3 configures an s3:// store (region, endpoint, Object Lock, SSE-KMS).
	S3 s3store.Options
	// AcceptUnlockedBucket lets a writer use a bucket that is not
	// write-once (no versioning or Object Lock). Without it, opening such a
	// bucket for writing is an error.
	AcceptUnlockedBucket bool
	// OnUnlocked, when set, is told why an accepted bucket is not write-once.
	OnUnlocked func(reason error)
}

// Open returns the store at rawURL, with default S3 options.
func Open(ctx context.Context, rawURL string, mode Mode) (store.Store, error) {
	return OpenWith(ctx, rawURL, Options{Mode: mode})
}

// OpenWith returns the store at rawURL. Opening an s3:// store for writing
// reads the bucket's versioning and Object Lock configuration and refuses a
// bucket that is not write-once unless opts.AcceptUnlockedBucket; a bucket
// without Object Lock is then written without per-object retention, which it
// would refuse. Opening for reading makes no request.
func OpenWith(ctx context.Context, rawURL string, opts Options) (store.Store, error) {
	mode := opts.Mode
	switch {
	case strings.HasPrefix(rawURL, "file://"):
		dir := FilePath(rawURL)
		if dir == "" {
			return nil, fmt.Errorf("store %q: no path after file://", rawURL)
		}
		if mode == ReadOnly {
			return fsstore.OpenExisting(dir)
		}
		return fsstore.Open(dir)
	case strings.HasPrefix(rawURL, "s3://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, errors.New("store: not a valid s3://BUCKET[/PREFIX] URL")
		}
		if u.Host == "" {
			return nil, fmt.Errorf("store %q: want s3://BUCKET[/PREFIX]", u.Redacted())
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			// Redacted: never echo a secret someone pasted into the URL.
			return nil, fmt.Errorf("store %q: want s3://BUCKET[/PREFIX], without credentials, query or fragment", u.Redacted())
		}
		st, err := s3store.Open(ctx, u.Host, u.Path, opts.S3)
		if err != nil {
			return nil, fmt.Errorf("store %q: %w", rawURL, err)
		}
		if mode == ReadOnly {
			return st, nil
		}
		state, err := st.CheckBucket(ctx)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", st, err)
		}
		if err := st.RequireLocked(state); err != nil {
			if !opts.AcceptUnlockedBucket {
				return nil, fmt.Errorf("store %s: %w", st, err)
			}
			if opts.OnUnlocked != nil {
				opts.OnUnlocked(err)
			}
			if !state.ObjectLock {
				st = st.WithoutObjectLock()
			}
		}
		return st, nil
	}
	return nil, fmt.Errorf("store %q: want file://PATH or s3://BUCKET[/PREFIX]", rawURL)
}

// FilePath turns file://./x, file:///abs/x and file://x into a path.
func FilePath(rawURL string) string {
	return strings.TrimPrefix(rawURL, "file://")
}
