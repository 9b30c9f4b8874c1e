//go:build !unix

package fs

// openFlags: elsewhere there are no FIFOs to block on; ReadRegular's Lstat
// and same-file check still refuse anything but a regular file.
const openFlags = 0
