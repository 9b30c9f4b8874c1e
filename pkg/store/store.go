// Package store defines where evidence lives: a minimal write-once object
// store interface, implemented by the fs and s3 backends, and the key layout
// every backend shares.
package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Store is a write-once object store. Keys are slash-separated paths.
//
// Put never replaces an object: it returns an error wrapping ErrExists when
// the key is already taken. Get returns an error wrapping fs.ErrNotExist for
// a missing key, ErrTooLarge for an object larger than MaxObjectSize (read
// no further) and ErrNotRegular for a name that is not a plain stored object
// (a directory, a FIFO, a device, a symbolic link). List calls fn for every
// key with the prefix, in lexical order, starting after startAfter ("" for
// the beginning) — every name the store holds, including ones Put would
// refuse, so that a reader can report what it did not expect.
type Store interface {
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	List(ctx context.Context, prefix, startAfter string, fn func(key string) error) error
	// String names the store for messages, without credentials.
	String() string
}

// ErrExists is returned by Put when the key already holds an object.
var ErrExists = errors.New("object already exists")

// ErrNotExist is the error Get wraps for a missing key.
var ErrNotExist = fs.ErrNotExist

// MaxObjectSize is the largest object Get returns: 256 MiB. Readers hold an
// object in memory, and a few are read at once, so a planted huge (or
// endless) object must be refused rather than read.
const MaxObjectSize = 256 << 20

// ErrTooLarge is the error Get wraps for an object larger than MaxObjectSize.
var ErrTooLarge = errors.New("too large")

// ErrNotRegular is the error Get wraps for a name that holds no plain object:
// a directory, a FIFO, a device or a symbolic link in a file store.
var ErrNotRegular = errors.New("not a regular file")

// UnlistedError is what List returns when it listed everything it could but
// some places of the store could not be read (an unreadable directory of a
// file store): fn was still called for every key found elsewhere, so a
// reader reports the places and goes on rather than stopping at the first.
type UnlistedError struct {
	// Places are the keys (prefixes) that could not be listed, each with why.
	Places []UnlistedPlace
}

// UnlistedPlace is one place List could not read.
type UnlistedPlace struct {
	Prefix string
	Err    error
}

func (e *UnlistedError) Error() string {
	parts := make([]string, 0, len(e.Places))
	for _, p := range e.Places {
		parts = append(parts, fmt.Sprintf("%s: %v", p.Prefix, p.Err))
	}
	return fmt.Sprintf("%d place(s) could not be listed: %s", len(e.Places), strings.Join(parts, "; "))
}

// ValidKey reports why key cannot be used as an object key, or nil.
func ValidKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("key %q: leading or trailing slash", key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "", seg == ".", seg == "..":
			return fmt.Errorf("key %q: empty or relative path segment", key)
		case strings.HasPrefix(seg, ".tmp-"):
			return fmt.Errorf("key %q: reserved segment %q", key, seg)
		case strings.ContainsAny(seg, "\\\x00"):
			return fmt.Errorf("key %q: invalid character", key)
		}
	}
	return nil
}
