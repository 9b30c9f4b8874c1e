package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnusedSDKOperationsAreNotLinked holds the linker to dropping the AWS
// SDK client operations exhibit never calls. It can only when nothing in
// the program looks methods up by a name known at run time, as executing a
// text/template or html/template does: then every exported method of every
// type used through an interface is kept, and the EC2 client alone brings
// its 2,439 (the executable was 142.7 MB, and a process mapped some 76 MiB
// of it, where it is now 45.6 MB and 28 MiB). So the pages are written
// through pkg/htmlout and fmt, not templates.
func TestUnusedSDKOperationsAreNotLinked(t *testing.T) {
	out, err := exec.Command("go", "tool", "nm", binary).Output()
	require.NoError(t, err)
	var ec2, lookup int
	for line := range strings.Lines(string(out)) {
		switch {
		case strings.Contains(line, "/service/ec2.(*Client)."):
			ec2++
		case strings.HasSuffix(strings.TrimSpace(line), "text/template.(*state).evalField"):
			lookup++
		}
	}
	require.Zero(t, lookup, "text/template's execution is linked: it looks methods up by name")
	require.Positive(t, ec2, "no EC2 client method found: is the symbol name right?")
	require.Less(t, ec2, 200, "%d EC2 client methods are linked; exhibit calls a handful", ec2)
}
