//go:build !unix

package agent

import "os"

// lockSpool does not lock where flock(2) is missing: there, the operator
// must not point two processes at one spool_dir.
func lockSpool(string) (*os.File, error) { return nil, nil }
