// Package storeurl opens a store from its URL: file:///path or
// s3://bucket/prefix.
package storeurl

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
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

// Open returns the store at rawURL.
func Open(ctx context.Context, rawURL string, mode Mode) (store.Store, error) {
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
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("store %q: want s3://BUCKET[/PREFIX]", rawURL)
		}
		return nil, fmt.Errorf("store %q: the s3:// store is not available in this build", rawURL)
	}
	return nil, fmt.Errorf("store %q: want file://PATH or s3://BUCKET[/PREFIX]", rawURL)
}

// FilePath turns file://./x, file:///abs/x and file://x into a path.
func FilePath(rawURL string) string {
	return strings.TrimPrefix(rawURL, "file://")
}
