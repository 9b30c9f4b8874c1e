package agent

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/oklog/ulid/v2"

	"github.com/exhibit-dev/exhibit/pkg/collector"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
)

// Spool keeps finished snapshots on local disk until the store holds them
// whole, so that no evidence is lost to an outage or a crash. Every signed
// snapshot is written here before its first byte goes to the store (a
// write-ahead log) and removed once its snapshot, signature and date-index
// marker are all stored; while the store cannot be reached entries wait.
// Entries survive restarts and are uploaded in order, per series, when the
// store returns.
//
// One process owns a spool at a time: two processes draining one directory
// would upload an entry twice or trip over each other's removals, so a
// second OpenSpool of a directory in use fails with ErrSpoolInUse.
type Spool struct {
	dir  string
	lock *os.File

	mu      sync.Mutex
	pending map[string][]string // series -> entry file names, oldest first
	// inflight are entries of writes in progress: journaled, not waiting.
	inflight map[string]bool
}

// spoolEntry is one waiting snapshot. When the series head was known at
// spooling time the snapshot is already chained and signed (Bytes and
// Signature set); otherwise it is chained and signed on upload.
type spoolEntry struct {
	Snapshot  *evidence.Snapshot `json:"snapshot,omitempty"`
	Bytes     []byte             `json:"bytes,omitempty"`
	Signature []byte             `json:"signature,omitempty"`
	// Token is the TSA's time-stamp token over Bytes, when it gave one.
	Token       []byte                 `json:"token,omitempty"`
	Attachments []collector.Attachment `json:"attachments,omitempty"`
	OncePerSlot bool                   `json:"once_per_slot,omitempty"`
	// SlotWindows counts an "@every" schedule's slots as the clock's
	// windows, at whose starts the runner fires it. It is false only in
	// entries an earlier version spooled unsharded, when its runner fired
	// "@every" from the process's start.
	SlotWindows bool `json:"slot_windows,omitempty"`

	// name is the entry's file name once it is in the spool; dirty means
	// Bytes changed since it was written there.
	name  string
	dirty bool
}

// writeEntryTo writes an entry as the spool keeps it: JSON that
// encoding/json reads back into the same entry. Once chained and signed,
// its snapshot is exactly its Bytes, so only the Bytes are kept: writing
// the snapshot a second time through encoding/json doubled what each write
// cost in memory and CPU. The Bytes, by far the largest part, are
// base64-encoded straight to w: json.Marshal would have held them encoded
// twice over (its buffer and the copy it returns), about 2.7 times the
// snapshot's size, for as long as the write took.
func writeEntryTo(w io.Writer, e *spoolEntry) error {
	rest := *e
	raw := rest.Bytes
	if len(raw) == 0 {
		// Not chained yet: the snapshot is all there is.
		b, err := json.Marshal(&rest)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	rest.Snapshot, rest.Bytes = nil, nil
	// The other fields, small, as {…}; the bytes go first.
	others, err := json.Marshal(&rest)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"bytes":"`)
	enc := base64.NewEncoder(base64.StdEncoding, bw)
	enc.Write(raw) //nolint:errcheck // bw keeps the first error; Flush returns it
	enc.Close()    //nolint:errcheck // likewise
	bw.WriteByte('"')
	if len(others) > len("{}") {
		bw.WriteByte(',')
		bw.Write(others[1:])
	} else {
		bw.WriteByte('}')
	}
	return bw.Flush()
}

// decodeEntry reads an entry the spool keeps; the snapshot of one kept as
// its Bytes alone is parsed from them (an entry written before keeps both).
func decodeEntry(b []byte) (*spoolEntry, error) {
	var e spoolEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	if e.Snapshot == nil {
		if e.Bytes == nil {
			return nil, errors.New("it holds neither a snapshot nor its bytes")
		}
		snap, err := evidence.Parse(e.Bytes)
		if err != nil {
			return nil, fmt.Errorf("its snapshot bytes: %w", err)
		}
		e.Snapshot = snap
	}
	return &e, nil
}

// ErrSpoolInUse is returned by OpenSpool when another process holds the
// spool directory.
var ErrSpoolInUse = errors.New("in use by another exhibit process")

const spoolLockName = ".lock"

// OpenSpool opens (creating) the spool directory, locks it for this process
// and loads what an earlier process left in it.
func OpenSpool(dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	lock, err := lockSpool(dir)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, lock: lock, pending: map[string][]string{}, inflight: map[string]bool{}}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".tmp") {
			// A crash while an entry was being written: the entry was never
			// added, and the write it journaled never began.
			return os.Remove(p)
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		series := filepath.ToSlash(filepath.Dir(rel))
		s.pending[series] = append(s.pending[series], d.Name())
		return nil
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	for _, names := range s.pending {
		sort.Strings(names)
	}
	return s, nil
}

// Close releases the spool for another process. Exiting releases it too.
func (s *Spool) Close() error {
	if s == nil || s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Backlog is the number of snapshots waiting, not counting the writes in
// progress.
func (s *Spool) Backlog() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, names := range s.pending {
		n += len(names)
	}
	return n - len(s.inflight)
}

// has reports whether series has entries waiting.
func (s *Spool) has(series string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending[series]) > 0
}

func (s *Spool) seriesList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.pending))
	for series, names := range s.pending {
		if len(names) > 0 {
			out = append(out, series)
		}
	}
	sort.Strings(out)
	return out
}

// add writes a new entry atomically; its name sorts after every earlier
// one. An inflight entry is a write in progress, not yet waiting.
func (s *Spool) add(series string, e *spoolEntry, inflight bool) error {
	dir := filepath.Join(s.dir, filepath.FromSlash(series))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := ulid.Make().String() + ".json"
	if names := s.pending[series]; len(names) > 0 && name <= names[len(names)-1] {
		return errors.New("spool: entry names out of order (clock moved backwards?)")
	}
	if err := writeEntry(dir, name, e); err != nil {
		return err
	}
	s.pending[series] = append(s.pending[series], name)
	e.name = name
	if inflight {
		s.inflight[name] = true
	}
	return nil
}

// rewrite replaces an entry's file with its new content (a snapshot chained
// again after another writer took its place), atomically: the entry is
// always the one or the other.
func (s *Spool) rewrite(series string, e *spoolEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return writeEntry(filepath.Join(s.dir, filepath.FromSlash(series)), e.name, e)
}

// release turns a write in progress into a waiting entry.
func (s *Spool) release(e *spoolEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, e.name)
}

// writeEntry writes dir/name through a temporary file, a rename and a sync
// of the directory, so that a crash leaves the old entry or the new one.
func writeEntry(dir, name string, e *spoolEntry) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := writeSync(tmp, e); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() //nolint:errcheck // best effort; the rename is already visible
		d.Close()
	}
	return nil
}

func writeSync(path string, e *spoolEntry) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = writeEntryTo(f, e)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// first returns the oldest entry of a series.
func (s *Spool) first(series string) (string, *spoolEntry, error) {
	s.mu.Lock()
	names := s.pending[series]
	s.mu.Unlock()
	if len(names) == 0 {
		return "", nil, nil
	}
	b, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(series), names[0]))
	if err != nil {
		return "", nil, fmt.Errorf("spool: %w", err)
	}
	e, err := decodeEntry(b)
	if err != nil {
		return "", nil, fmt.Errorf("spool: entry %s/%s unreadable: %w", series, names[0], err)
	}
	e.name = names[0]
	return names[0], e, nil
}

// last returns the newest entry of a series, or nil.
func (s *Spool) last(series string) (*spoolEntry, error) {
	if s == nil {
		return nil, nil
	}
	s.mu.Lock()
	names := s.pending[series]
	s.mu.Unlock()
	if len(names) == 0 {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(series), names[len(names)-1]))
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	e, err := decodeEntry(b)
	if err != nil {
		return nil, fmt.Errorf("spool: newest entry of %s unreadable: %w", series, err)
	}
	return e, nil
}

// done removes an entry whose snapshot the store holds whole.
func (s *Spool) done(series, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, name)
	if err := os.Remove(filepath.Join(s.dir, filepath.FromSlash(series), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: %w", err)
	}
	names := s.pending[series]
	for i, n := range names {
		if n == name {
			s.pending[series] = append(names[:i:i], names[i+1:]...)
			break
		}
	}
	return nil
}
