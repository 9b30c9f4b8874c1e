//go:build linux

package fs

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// readBeneath reads name below dir in a handful of system calls when
// nothing about it is unusual, and reports false for anything else: any
// error, a symbolic link anywhere on the way, a file that is not regular,
// too large, or not the file looked at before the open. ReadRegular then
// reads it the portable way, which refuses what is to be refused and says
// why, so this path never decides a refusal and never reads what that one
// would not: openat2 resolves the name beneath dir without following any
// link, the file is opened without blocking (a FIFO swapped in after the
// look cannot hang it), and it must still be the regular file looked at.
//
// The portable way opens every directory of the name in turn, twice (for
// the look and for the open): for a snapshot and its signature that is
// most of the system calls verify makes.
func readBeneath(dir, name string, max int64) ([]byte, bool) {
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(dfd)
	var looked unix.Stat_t
	if unix.Fstatat(dfd, name, &looked, unix.AT_SYMLINK_NOFOLLOW) != nil ||
		looked.Mode&unix.S_IFMT != unix.S_IFREG || looked.Size > max {
		return nil, false
	}
	fd, err := unix.Openat2(dfd, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, false // also where the kernel has no openat2, or a filter refuses it
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false
	}
	opened, ok := st.Sys().(*syscall.Stat_t)
	if !ok || opened.Dev != looked.Dev || opened.Ino != looked.Ino {
		return nil, false
	}
	b, err := readOpened(f, st, max)
	if err != nil {
		return nil, false
	}
	return b, true
}
