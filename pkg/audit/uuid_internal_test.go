package audit

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// RFC 9562, appendix A.4: the name-based SHA-1 UUID of "www.example.com" in
// the DNS namespace.
func TestUUIDv5Vector(t *testing.T) {
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	u := uuidV5(dns, "www.example.com")
	require.Equal(t, "2ed6657d-e927-568b-95e1-2665a8aea6a2", fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
}
