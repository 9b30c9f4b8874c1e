package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const oneCollector = "collectors:\n  - {type: demo.noop, schedule: '@daily'}\n"

func TestMemoryLimitReadAsGOMEMLIMIT(t *testing.T) {
	cfg, err := load(t, oneCollector, nil)
	require.NoError(t, err)
	require.Empty(t, cfg.MemoryLimit)
	require.Zero(t, cfg.MemoryLimitBytes(), "unset: the Go runtime's own setting")

	for in, want := range map[string]int64{
		"200MiB":     200 << 20,
		"1GiB":       1 << 30,
		"67108864B":  64 << 20,
		"65536KiB":   64 << 20,
		"1TiB":       1 << 40,
		"8388608KiB": 8 << 30,
	} {
		cfg, err := load(t, "memory_limit: "+in+"\n"+oneCollector, nil)
		require.NoError(t, err, in)
		require.Equal(t, want, cfg.MemoryLimitBytes(), in)
	}
}

func TestBadMemoryLimitsAreRefusedWithTheRest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"200MB", `memory_limit: want a whole number of B, KiB, MiB, GiB or TiB, such as 200MiB; got "200MB"`},
		{"200", `memory_limit: want a whole number of B, KiB, MiB, GiB or TiB, such as 200MiB; got "200"`},
		{"1.5GiB", `memory_limit: want a whole number`},
		{"-1MiB", `memory_limit: want a whole number`},
		{"+1MiB", `memory_limit: want a whole number`},
		{"MiB", `memory_limit: want a whole number`},
		{"9999999999999TiB", `memory_limit: "9999999999999TiB" is too large`},
		{"63MiB", `memory_limit: 63MiB is below the smallest accepted, 64MiB`},
	} {
		_, err := load(t, "memory_limit: \""+tc.in+"\"\nreplicas: 0\n"+oneCollector, nil)
		require.Error(t, err, tc.in)
		require.Contains(t, err.Error(), tc.want, tc.in)
		require.Contains(t, err.Error(), "replicas: want 1 to 64, got 0", "%s: every problem is reported at once", tc.in)
	}
}
