// Package localfile reads the small local files an operator names: the
// configuration, a secret referenced from it, a signing key. Only a regular
// file is read, and never more than a bound, so that a FIFO cannot hang the
// process and a device such as /dev/zero cannot exhaust its memory.
package localfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Read returns the contents of the regular file at path, which must not be
// larger than limit bytes. A symlink is followed, because Kubernetes mounts
// ConfigMaps and Secrets as symlinks, but what it points to must be a regular
// file. A missing file is an error wrapping fs.ErrNotExist.
func Read(path string, limit int64) ([]byte, error) {
	// Stat before opening: opening a FIFO blocks until a writer comes, and
	// opening a device can have effects of its own.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	// O_NONBLOCK, and the same check on what was opened: the file may have
	// been replaced since the Stat.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %s; refusing to read it", path, Size(limit))
	}
	return b, nil
}

func regular(path string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s: %s, not a regular file", path, Kind(fi.Mode()))
}

// Kind names what a file that is not regular is, for messages: "a
// directory", "a named pipe (FIFO)", "a character device", …
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// Size prints a byte count the way limits are documented: 1 MiB, 64 KiB.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
