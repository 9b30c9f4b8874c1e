package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/exhibit-dev/exhibit/pkg/localfile"
)

// output is where export, report and sample write what they produce (-o).
//
// "-" is standard output; the command's own messages then go to standard
// error. A path is written under a temporary name beside it, fsynced and
// renamed into place only when complete, so a failed or interrupted command
// never leaves a partial file there. A path that exists and is not a
// regular file is refused: the rename would replace a symlink, a FIFO or
// (as root) a device node with a plain file.
type output struct {
	// w is what the command writes to.
	w io.Writer
	// name is the destination, for messages.
	name string
	// msgs is where the command reports what it did.
	msgs io.Writer
	// tmp is the temporary file, nil for standard output.
	tmp  *os.File
	path string
	done bool
}

// createOutput opens the temporary file at once, so an unwritable or
// refused destination is reported before any work is done.
func createOutput(cmd, path string, s streams) (*output, error) {
	switch path {
	case "":
		return nil, usageErr("%s: -o is required (a file, or - for standard output)", cmd)
	case "-":
		return &output{w: s.out, name: "standard output", msgs: s.err}, nil
	}
	fi, err := os.Lstat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return nil, usageErr("%s: -o %s is %s; exhibit writes a regular file there, and would replace it (use -o - for standard output)", cmd, path, localfile.Kind(fi.Mode()))
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, usageErr("%s: -o %s: %v", cmd, path, unwrapPath(err))
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".exhibit-"+filepath.Base(path)+"-*")
	if err != nil {
		return nil, usageErr("%s: -o %s: cannot write there: %v", cmd, path, unwrapPath(err))
	}
	return &output{w: f, name: path, msgs: s.out, tmp: f, path: path}, nil
}

// commit puts the finished file in place. On standard output everything is
// written already.
func (o *output) commit() error {
	if o.tmp == nil {
		o.done = true
		return nil
	}
	if err := o.tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	if err := o.tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	if err := o.tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	if err := os.Rename(o.tmp.Name(), o.path); err != nil {
		return fmt.Errorf("write %s: %w", o.path, err)
	}
	o.done = true
	// The rename is durable once the directory is synced.
	if d, err := os.Open(filepath.Dir(o.path)); err == nil {
		d.Sync() //nolint:errcheck // the file itself is synced; this is best effort
		d.Close()
	}
	return nil
}

// abort removes the temporary file unless it was committed.
func (o *output) abort() {
	if o.done || o.tmp == nil {
		return
	}
	o.tmp.Close()
	os.Remove(o.tmp.Name())
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
