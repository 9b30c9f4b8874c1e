package minio

import "syscall"

// sysProcAttr puts the server in its own process group, so Stop reaches any
// child it starts, and has the kernel kill it if the test binary dies
// without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
