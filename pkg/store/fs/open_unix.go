//go:build unix

package fs

import "syscall"

// openFlags make opening a FIFO return at once instead of waiting for a
// writer, and refuse a symbolic link swapped in after the Lstat.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOFOLLOW
