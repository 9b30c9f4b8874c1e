package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const sharded = `
replicas: 3
collectors:
  - type: demo.noop
    schedule: "@hourly"
  - type: demo.noop
    id: fast
    schedule: "@every 10s"
`

func TestReplicasDefaultsAndValues(t *testing.T) {
	cfg, err := load(t, "collectors:\n  - {type: demo.noop, schedule: '@daily'}\n", nil)
	require.NoError(t, err)
	require.Equal(t, 1, cfg.Replicas, "one replica unless told")
	require.Zero(t, cfg.StandbyDelay, "zero: each collector's default")

	cfg, err = load(t, sharded+"standby_delay: 2s\n", nil)
	require.NoError(t, err)
	require.Equal(t, 3, cfg.Replicas)
	require.Equal(t, 2*time.Second, cfg.StandbyDelay)
}

func TestBadReplicaSettingsAreRefusedTogether(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"zero replicas", "replicas: 0\ncollectors:\n  - {type: demo.noop, schedule: '@daily'}\n", []string{"replicas: want 1 to 64, got 0"}},
		{"too many", "replicas: 65\ncollectors:\n  - {type: demo.noop, schedule: '@daily'}\n", []string{"replicas: want 1 to 64, got 65"}},
		{"not a number", "replicas: three\ncollectors:\n  - {type: demo.noop, schedule: '@daily'}\n", []string{"replicas: want"}},
		{"negative delay", sharded + "standby_delay: -1s\n", []string{"standby_delay: must not be negative, got -1s"}},
		{"delay not a duration", sharded + "standby_delay: soon\n", []string{"standby_delay: want a duration"}},
		{"delay reaches a slot", sharded + "standby_delay: 10s\n",
			[]string{`standby_delay: 10s must be shorter than the interval of collectors[1] (10s, schedule "@every 10s")`}},
		{"jitter past the default delay", "replicas: 2\ncollectors:\n  - {type: demo.noop, schedule: '@hourly', jitter: 20m}\n",
			[]string{"collectors[0].jitter: 20m0s must be shorter than the standby delay (15m0s)"}},
		{"all at once", "replicas: 0\nstandby_delay: -1s\ncollectors:\n  - {type: demo.noop, schedule: '@daily'}\n",
			[]string{"replicas: want 1 to 64, got 0", "standby_delay: must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.doc, nil)
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}

	// One replica has no standby: the delay and jitter are not its concern.
	_, err := load(t, "standby_delay: 1h\ncollectors:\n  - {type: demo.noop, schedule: '@every 10s'}\n", nil)
	require.NoError(t, err)
}

func TestReplicaOrdinal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int
		env      map[string]string
		host     string
		want     int
		err      string
	}{
		{"from the variable", 3, map[string]string{"EXHIBIT_REPLICA": "2"}, "node-7", 2, ""},
		{"variable wins over hostname", 3, map[string]string{"EXHIBIT_REPLICA": "0"}, "exhibit-2", 0, ""},
		{"from a StatefulSet hostname", 3, nil, "exhibit-agent-1", 1, ""},
		{"empty variable falls back to hostname", 3, map[string]string{"EXHIBIT_REPLICA": ""}, "exhibit-2", 2, ""},
		{"one replica ignores its hostname", 1, nil, "laptop-9", 0, ""},
		{"variable not a number", 3, map[string]string{"EXHIBIT_REPLICA": "one"}, "exhibit-0", 0,
			`EXHIBIT_REPLICA: "one" is not a replica ordinal; want an integer from 0 to 2 (replicas: 3)`},
		{"variable out of range", 3, map[string]string{"EXHIBIT_REPLICA": "3"}, "", 0,
			"EXHIBIT_REPLICA: 3 is out of range; want an integer from 0 to 2 (replicas: 3)"},
		{"negative", 3, map[string]string{"EXHIBIT_REPLICA": "-1"}, "", 0, "EXHIBIT_REPLICA: -1 is out of range"},
		{"one replica, wrong variable", 1, map[string]string{"EXHIBIT_REPLICA": "1"}, "", 0,
			"EXHIBIT_REPLICA: 1 is out of range; want an integer from 0 to 0 (replicas: 1)"},
		{"hostname out of range", 3, nil, "exhibit-5", 0, `hostname "exhibit-5": ordinal 5 is out of range; want an integer from 0 to 2`},
		{"hostname without ordinal", 3, nil, "workstation", 0, `replicas: 3, but this replica's ordinal is unknown: set EXHIBIT_REPLICA`},
		{"hostname with a word after the dash", 3, nil, "exhibit-abc", 0, `hostname "exhibit-abc" does not end in -<ordinal>; set EXHIBIT_REPLICA`},
		{"hostname ending in a dash", 3, nil, "exhibit-", 0, "this replica's ordinal is unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReplicaOrdinal(tc.replicas, env(tc.env), tc.host)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
