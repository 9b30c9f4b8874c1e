package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/schedule"
	"github.com/exhibit-dev/exhibit/pkg/store"
	"github.com/exhibit-dev/exhibit/pkg/store/minio"
)

// Three replicas of `exhibit run` divide six series on one bucket. While
// all are up, every slot is recorded by its series' primary: "@every" fires
// at the clock's windows on every replica, so no standby finds a slot
// unrecorded at its deadline. Then the one that has recorded the most runs
// as a primary is killed mid-period. Its standbys take its series over with
// no operator action: every slot of every series is recorded exactly once,
// no seq is written twice or skipped, and verify finds one contiguous chain
// per series with no gap.
func TestShardedReplicasSurviveAKilledReplica(t *testing.T) {
	const (
		replicas = 3
		every    = 4 * time.Second
	)
	srv := minio.Start(t)
	srv.CreateBucket(t, "evidence", true)
	sources, env, base := estate(t)
	// Three instances of each collector: six series, each with its own
	// primary and standby.
	var collectors strings.Builder
	var series []string
	for _, b := range base {
		typ, scope, _ := strings.Cut(b, "/")
		for _, suffix := range []string{"a", "b", "c"} {
			id := typ + "-" + suffix
			fmt.Fprintf(&collectors, "  - type: %s\n    id: %s\n    schedule: \"@every %s\"\n", typ, id, every)
			series = append(series, evidence.SeriesName(id, scope))
		}
	}
	config := fmt.Sprintf(`store: s3://evidence/prod
store_options:
  endpoint: %s
  region: %s
  retain_days: 1
signing_key: file://./key.pem
spool_dir: ./spool
listen: 127.0.0.1:0
replicas: %d
standby_delay: 1s
%scollectors:
%s`, srv.Endpoint(), minio.Region, replicas, sources, collectors.String())

	// Replicas sign with one key, as they would with one KMS key.
	keyDir := t.TempDir()
	r := exhibit(t, keyDir, nil, "keys", "generate", "--key", "file://./key.pem")
	require.Equal(t, 0, r.code, r.stderr)
	key := readFile(t, filepath.Join(keyDir, "key.pem"))
	var daemons []*daemon
	for i := range replicas {
		if i > 0 {
			// Replicas start at different instants, as pods do: more than
			// standby_delay apart, so that firing every interval from each
			// one's start would put a standby's deadline before its
			// primary's run.
			time.Sleep(every / 3)
		}
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "exhibit.yaml"), config)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), key, 0o600))
		daemons = append(daemons, startDaemon(t, dir, append(append(env, srv.Env()...), fmt.Sprintf("EXHIBIT_REPLICA=%d", i))))
	}
	logs := func() []*syncBuffer {
		var out []*syncBuffer
		for _, d := range daemons {
			out = append(out, d.logs)
		}
		return out
	}
	reader := readerStore(t, srv)
	counts := func() map[string]int {
		out := map[string]int{}
		for _, s := range series {
			out[s] = len(seriesSnapshots(t, reader, s))
		}
		return out
	}
	atLeast := func(base map[string]int, more int) func() bool {
		return func() bool {
			for s, n := range counts() {
				if n < base[s]+more {
					return false
				}
			}
			return true
		}
	}

	// wrote lists the snapshots a replica's log says it wrote.
	type written struct {
		series string
		seq    int64
	}
	writtenLog := regexp.MustCompile(`"msg":"snapshot written".*?"key":"([^"]+)"`)
	wrote := func(d *daemon) []written {
		var out []written
		for _, m := range writtenLog.FindAllStringSubmatch(d.logs.String(), -1) {
			s, seq, ok := store.ParseSnapshotKey(m[1])
			require.True(t, ok, m[1])
			out = append(out, written{s, seq})
		}
		return out
	}

	start := time.Now().UTC()
	// A replica logs its schedules before it starts them; from the next
	// window on, every replica fires every slot.
	waitUntil(t, 90*time.Second, "every replica to schedule its collectors", func() bool {
		for _, d := range daemons {
			if !strings.Contains(d.logs.String(), `"msg":"scheduled"`) {
				return false
			}
		}
		return true
	}, logs()...)
	allUp := schedule.Window(every, time.Now()).Add(every)
	startedIn := map[written]time.Time{}
	waitUntil(t, 90*time.Second, "three slots of every series, two with every replica up", func() bool {
		if !atLeast(nil, 3)() {
			return false
		}
		for _, s := range series {
			n := 0
			for _, snap := range seriesSnapshots(t, reader, s) {
				startedIn[written{s, snap.Seq}] = snap.StartedAt
				if !snap.StartedAt.Before(allUp) {
					n++
				}
			}
			if n < 2 {
				return false
			}
		}
		return true
	}, logs()...)
	// With every replica up, each slot was recorded by its primary, and so
	// no standby collected any.
	recordedUp := 0
	for i, d := range daemons {
		for _, w := range wrote(d) {
			at, ok := startedIn[w]
			if !ok || at.Before(allUp) {
				continue
			}
			p, _ := agent.Assign(w.series, replicas)
			require.Equal(t, p, i, "%s seq %d (started %s) was written by replica %d, not by its primary", w.series, w.seq, at.Format(time.RFC3339Nano), i)
			recordedUp++
		}
	}
	require.GreaterOrEqual(t, recordedUp, 2*len(series))

	// The victim is the replica that has recorded the most runs as a
	// primary: the one whose death its standbys must make good.
	asPrimary := make([]int, replicas)
	for i, d := range daemons {
		for _, w := range wrote(d) {
			if p, _ := agent.Assign(w.series, replicas); p == i {
				asPrimary[i]++
			}
		}
	}
	victim := 0
	for i := range replicas {
		if asPrimary[i] > asPrimary[victim] {
			victim = i
		}
	}
	require.Positive(t, asPrimary[victim], "some primary records its runs")
	var orphaned []string // the series the victim is primary for
	for _, s := range series {
		if p, _ := agent.Assign(s, replicas); p == victim {
			orphaned = append(orphaned, s)
		}
	}
	require.NoError(t, daemons[victim].cmd.Process.Kill())
	<-daemons[victim].exited
	killed := time.Now().UTC()
	atKill := counts()
	waitUntil(t, 90*time.Second, "four more slots of every series after the kill", atLeast(atKill, 4), logs()...)
	for i, d := range daemons {
		if i != victim {
			d.stop(t)
		}
	}
	end := time.Now().UTC()

	for _, s := range series {
		snaps := seriesSnapshots(t, reader, s)
		for i, snap := range snaps {
			require.Equal(t, int64(i+1), snap.Seq, "%s: no seq is written twice or skipped", s)
			require.Equal(t, evidence.StatusComplete, snap.Status, s)
			if i == 0 {
				continue
			}
			// One snapshot per slot, and no slot without one: each starts in
			// the window of the clock after its predecessor's.
			prev, this := schedule.Window(every, snaps[i-1].StartedAt), schedule.Window(every, snap.StartedAt)
			require.Equal(t, prev.Add(every), this, "%s: seq %d started %s, seq %d started %s",
				s, i, snaps[i-1].StartedAt.Format(time.RFC3339Nano), i+1, snap.StartedAt.Format(time.RFC3339Nano))
		}
	}
	for _, s := range orphaned {
		after := 0
		for _, snap := range seriesSnapshots(t, reader, s) {
			if snap.StartedAt.After(killed) {
				after++
			}
		}
		require.GreaterOrEqual(t, after, 4, "%s: its standby collected it after its primary was killed", s)
	}

	// Each replica wrote only series it is primary or standby for.
	for i, d := range daemons {
		for _, w := range wrote(d) {
			p, sb := agent.Assign(w.series, replicas)
			require.Contains(t, []int{p, sb}, i, "replica %d wrote %s, a series it has no part in", i, w.series)
		}
	}

	// The store alone, read-only: signatures, chains and the schedule's
	// completeness over the period.
	r = exhibit(t, t.TempDir(), srv.ReadOnlyEnv(t), "verify", "--store", "s3://evidence/prod",
		"--endpoint", srv.Endpoint(), "--region", minio.Region, "--min-retain-days", "1",
		"--from", start.Add(2*every).Format(time.RFC3339), "--to", end.Add(-every).Format(time.RFC3339))
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	require.NotContains(t, r.stdout, "gap")
}

// A replica that cannot tell its place refuses to start, naming why, before
// touching the store: two replicas on one ordinal would both stand by for
// the same series and none for others.
func TestRunRefusesABadReplicaOrdinal(t *testing.T) {
	cfg := "store: file://./evidence\nsigning_key: file://./key.pem\nreplicas: 3\n" +
		"sources:\n  github:\n    token: ${EXHIBIT_TEST_TOKEN}\n    orgs: [acme]\n" +
		"collectors:\n  - type: github.access\n    schedule: '@hourly'\n"
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"EXHIBIT_REPLICA=3"}, "EXHIBIT_REPLICA: 3 is out of range; want an integer from 0 to 2 (replicas: 3)"},
		{[]string{"EXHIBIT_REPLICA=first"}, `EXHIBIT_REPLICA: "first" is not a replica ordinal`},
	} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "exhibit.yaml"), cfg)
		r := exhibit(t, dir, append(tc.env, "EXHIBIT_TEST_TOKEN=unused"), "run", "-c", "exhibit.yaml")
		require.Equal(t, 2, r.code, "%s\n%s", r.stdout, r.stderr)
		require.Contains(t, r.stderr, tc.want)
		_, err := os.Stat(filepath.Join(dir, "evidence"))
		require.ErrorIs(t, err, os.ErrNotExist, "nothing written")
	}
}
