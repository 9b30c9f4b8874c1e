// Package fs is the local-directory evidence store (file:// URLs).
//
// Writes are create-exclusive and atomic: data goes to a temporary file in the
// target directory, is fsynced, then hard-linked to its final name (which
// fails if the name exists, unlike rename), and the directory is fsynced.
// Stored files are made read-only.
package fs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/exhibit-dev/exhibit/pkg/localfile"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Store is a directory of evidence.
type Store struct {
	root string
}

var _ store.Store = (*Store)(nil)

// Open returns the store rooted at dir, creating the directory if needed.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	return &Store{root: abs}, nil
}

// OpenExisting returns the store at dir, which must already exist: readers
// (verify, sample) must not create an empty store where a typo was made.
func OpenExisting(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("store %s: not a directory", dir)
	}
	return &Store{root: abs}, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) String() string { return "file://" + filepath.ToSlash(s.root) }

func (s *Store) path(key string) (string, error) {
	if err := store.ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("put %s: %w", key, store.ErrExists)
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, iofs.ErrExist) {
			return fmt.Errorf("put %s: %w", key, store.ErrExists)
		}
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("put %s: remove temporary file: %w", key, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

func writeTemp(dir string, data []byte) (string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	name := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return "", err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(name)
		return "", werr
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get implements store.Store. Only a regular file is read, never a FIFO (it
// would block), a device or a symbolic link (it could lead out of the store),
// and never more than store.MaxObjectSize bytes of it: a reader must survive
// whatever was planted in the directory.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := s.path(key); err != nil {
		return nil, err
	}
	b, err := ReadRegular(s.root, filepath.FromSlash(key), store.MaxObjectSize)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return nil, fmt.Errorf("get %s: %w", key, store.ErrNotExist)
		}
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return b, nil
}

// ReadRegular reads the file name below dir, refusing anything but a regular
// file inside dir (a symbolic link, even one that stays inside, is refused)
// and anything larger than max bytes, with errors wrapping
// store.ErrNotRegular and store.ErrTooLarge. A FIFO is opened without
// blocking, so a reader never hangs on one.
func ReadRegular(dir, name string, max int64) ([]byte, error) {
	if b, ok := readBeneath(dir, name, max); ok {
		return b, nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", store.ErrNotRegular, localfile.Kind(fi.Mode()))
	}
	f, err := root.OpenFile(name, os.O_RDONLY|nonBlock|noFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The name may have been swapped between the Lstat and the open.
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(fi, st) {
		return nil, fmt.Errorf("%w (replaced while being opened)", store.ErrNotRegular)
	}
	return readOpened(f, st, max)
}

func readOpened(f *os.File, st iofs.FileInfo, max int64) ([]byte, error) {
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", store.ErrNotRegular, localfile.Kind(st.Mode()))
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", store.ErrTooLarge, st.Size(), max)
	}
	// One buffer sized from the file, with room for ReadFrom to see the
	// end without growing it: io.ReadAll would double its way up, copying
	// and leaving twice a snapshot's size to collect. The file may still
	// grow while it is read; the limit holds whatever it does.
	buf := bytes.NewBuffer(make([]byte, 0, int(st.Size())+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: grew past the limit of %d bytes while read", store.ErrTooLarge, max)
	}
	return b, nil
}

// List implements store.Store. Keys are gathered below the prefix's directory
// and sorted, so the order matches an object store's lexical listing. Every
// non-directory entry is a key, whatever it is (symbolic links are listed,
// not followed); Get decides whether it can be read.
func (s *Store) List(ctx context.Context, prefix, startAfter string, fn func(key string) error) error {
	dirKey := prefix
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dirKey = prefix[:i]
	} else {
		dirKey = ""
	}
	base := filepath.Join(s.root, filepath.FromSlash(dirKey))
	if dirKey == "" {
		// Start inside the root even when it is a symbolic link to the
		// store's directory (a mounted volume, say), which WalkDir would
		// otherwise list as a file.
		base += string(filepath.Separator)
	}
	var keys []string
	unlisted := &store.UnlistedError{}
	err := filepath.WalkDir(base, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, iofs.ErrNotExist) && p == base {
				return filepath.SkipAll
			}
			if p == base || ctx.Err() != nil {
				return err
			}
			// A directory that cannot be read hides what is in it, and
			// only that: the rest is listed, and the caller told.
			rel, rerr := filepath.Rel(s.root, p)
			if rerr != nil {
				return err
			}
			cause := err
			if pe := (*iofs.PathError)(nil); errors.As(err, &pe) {
				cause = pe.Err
			}
			unlisted.Places = append(unlisted.Places, store.UnlistedPlace{Prefix: filepath.ToSlash(rel) + "/", Err: cause})
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// Temporary files and odd names are listed too: a reader must see
		// them to report them, and readers skip what they cannot parse.
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) && key > startAfter {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	if len(unlisted.Places) > 0 {
		return fmt.Errorf("list %s: %w", prefix, unlisted)
	}
	return nil
}

// TempFiles lists leftover temporary files, which only an interrupted write
// leaves behind.
func (s *Store) TempFiles() ([]string, error) {
	var out []string
	err := filepath.WalkDir(s.root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
