//go:build !unix

package fs

// Elsewhere there are no FIFOs to block on; the Lstat and the same-file
// check still refuse anything but a regular file.
const (
	nonBlock = 0
	noFollow = 0
)
