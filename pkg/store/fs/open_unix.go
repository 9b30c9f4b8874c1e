//go:build unix

package fs

import "syscall"

// nonBlock makes opening a FIFO return at once instead of waiting for a
// writer; noFollow refuses a symbolic link swapped in after an Lstat.
const (
	nonBlock = syscall.O_NONBLOCK
	noFollow = syscall.O_NOFOLLOW
)
