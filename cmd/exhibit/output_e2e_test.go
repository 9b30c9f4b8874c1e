package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// -o - writes the product to standard output and the command's messages to
// standard error; the bytes are those -o FILE writes.
func TestOutputToStandardOutput(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	period := []string{"--store", url, "--from", auditFrom, "--to", auditTo}
	cases := map[string][]string{
		"export": append([]string{"export", "--format", "csv"}, period...),
		"sample": append([]string{"sample", "--control", "CC6.1", "--seed", "s"}, period...),
		"report": append([]string{"report"}, period...),
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			r := exhibit(t, dir, nil, append(args, "-o", "-")...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stderr, "to standard output", "the message goes to standard error")
			require.NotEmpty(t, r.stdout)
			require.NotContains(t, r.stdout, "standard output")
			if name == "report" {
				require.Contains(t, r.stdout, "<html")
				return
			}
			file := exhibit(t, dir, nil, append(args, "-o", name+".out")...)
			require.Equal(t, 0, file.code, file.stderr)
			b, err := os.ReadFile(filepath.Join(dir, name+".out"))
			require.NoError(t, err)
			require.Equal(t, string(b), r.stdout)
		})
	}
}

// A path that exists and is not a regular file is refused, left as it was,
// and nothing is written beside it; a FIFO is never opened, so nothing
// hangs waiting for a reader.
func TestOutputRefusesSpecialFiles(t *testing.T) {
	_, url := auditStore(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "real.csv")
	writeFile(t, target, "keep me\n")
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "link.csv")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.csv"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir.csv"), 0o755))
	kinds := map[string]string{
		"link.csv": "a symlink",
		"fifo.csv": "a named pipe (FIFO)",
		"dir.csv":  "a directory",
	}
	// /dev/null's numbers; made here so that a failure replaces a node in a
	// temp dir, not the machine's.
	err := syscall.Mknod(filepath.Join(dir, "null.csv"), syscall.S_IFCHR|0o666, 1<<8|3)
	switch {
	case err == nil:
		kinds["null.csv"] = "a character device"
	case errors.Is(err, syscall.EPERM):
		t.Log("mknod not permitted here: the character-device case is not run")
	default:
		require.NoError(t, err)
	}
	mode := func(name string) os.FileMode {
		fi, err := os.Lstat(filepath.Join(dir, name))
		require.NoError(t, err)
		return fi.Mode().Type()
	}
	for name, kind := range kinds {
		before := mode(name)
		for _, args := range [][]string{
			{"export", "--format", "csv"},
			{"report"},
			{"sample", "--control", "CC6.1", "--seed", "s"},
		} {
			t.Run(name+"/"+args[0], func(t *testing.T) {
				args = append(args, "--store", url, "--from", auditFrom, "--to", auditTo, "-o", name)
				r := exhibit(t, dir, nil, args...)
				require.Equal(t, 2, r.code, r.stdout+r.stderr)
				require.Contains(t, r.stderr, args[0]+": -o "+name+" is "+kind+"; exhibit writes a regular file there")
				require.Equal(t, before, mode(name), "left as it was")
			})
		}
	}
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "keep me\n", string(b), "a symlink's target is untouched")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), ".exhibit-"), "no temporary file left: %s", e.Name())
	}

	// A regular file is replaced whole.
	r := exhibit(t, dir, nil, "export", "--format", "csv", "--store", url, "--from", auditFrom, "--to", auditTo, "-o", "real.csv")
	require.Equal(t, 0, r.code, r.stderr)
	b, err = os.ReadFile(target)
	require.NoError(t, err)
	require.NotContains(t, string(b), "keep me")
}
