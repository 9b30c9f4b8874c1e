//go:build !linux

package minio

import "syscall"

// sysProcAttr puts the server in its own process group, so Stop reaches any
// child it starts.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
