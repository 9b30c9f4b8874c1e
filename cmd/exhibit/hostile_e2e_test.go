//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/evidence"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
)

// hang bounds a run of the binary: long enough never to be a timing, short
// enough to fail a hung command.
const hang = 2 * time.Minute

// resign rewrites one stored snapshot with change applied and signs it with
// the store's own key, as an insider holding the key can.
func resign(t *testing.T, env *agenttest.Env, key string, change func(*evidence.Snapshot)) {
	t.Helper()
	p := filepath.Join(env.Store.Root(), key)
	snap, err := evidence.Parse(readFile(t, p))
	require.NoError(t, err)
	change(snap)
	b, err := evidence.Encode(snap)
	require.NoError(t, err)
	sig, err := env.Signer.Sign(t.Context(), b)
	require.NoError(t, err)
	rewrite(t, p, b)
	rewrite(t, p+".sig", signing.EncodeSignature(sig))
}

// Acceptance: verify on a store an insider planted every trap in finishes,
// lists each of them by escaped name, exits 1, and neither hangs nor reads
// the 20 GB file or /dev/zero into memory.
func TestVerifyHostileStore(t *testing.T) {
	env := agenttest.NewEnv(t, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	c := &agenttest.Collector{Accounts: []string{"111122223333", "444455556666"}, Fn: agenttest.Passing}
	env.Fill(t, agenttest.Job("aws.iam", "@daily", c), 3, 24*time.Hour)
	root := env.Store.Root()
	a, b := "aws.iam/111122223333", "aws.iam/444455556666"
	plant := func(key string, content []byte) string {
		p := filepath.Join(root, key)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, content, 0o644))
		return p
	}

	fifo := store.SnapshotKey(a, 4)
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, fifo), 0o644))
	sparse := store.SnapshotKey(a, 5)
	require.NoError(t, os.Truncate(plant(sparse, nil), 20<<30))
	zero := store.SnapshotKey(a, 6)
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(root, zero)))
	huge := store.SnapshotKey(a, 999999999999)
	plant(huge, []byte("{}"))
	backslash := `evidence/aws.iam/1111\2222/000000000001.json`
	plant(backslash, []byte("{}"))
	newline := "evidence/aws.iam/x\nverified file:/evidence: 9 snapshot(s) in 1 series, 1 key(s): OK/000000000001.json"
	plant(newline, []byte("{}"))
	escape := "evidence/aws.iam/\x1b[2J\x1b[32mgreen/000000000001.json"
	plant(escape, []byte("{}"))
	plant("README.txt", []byte("stray"))
	keyFile := "keys/notes.txt"
	plant(keyFile, []byte("stray"))
	temp := "evidence/" + a + "/.tmp-0123456789abcdef"
	plant(temp, []byte("half"))
	stray := store.AttachmentKey(evidence.Digest([]byte("unreferenced")))
	plant(stray, []byte("unreferenced"))

	day2, day9 := time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 9, 0, 0, 0, 0, time.UTC)
	moved := store.IndexKey(day9, b, 2)
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, moved)), 0o755))
	require.NoError(t, os.Rename(filepath.Join(root, store.IndexKey(day2, b, 2)), filepath.Join(root, moved)))

	// Series b's seq 3 goes back in time; seq 2 takes series a's seq 2's
	// id (made at the same instant). Both are re-signed and relinked.
	backwards := store.SnapshotKey(b, 3)
	resign(t, env, backwards, func(s *evidence.Snapshot) {
		s.StartedAt, s.FinishedAt = day2.Add(-12*time.Hour), day2.Add(-11*time.Hour)
		s.ID = ulid.MustNew(ulid.Timestamp(s.StartedAt), rand.Reader).String()
	})
	dup := store.SnapshotKey(b, 2)
	aSnap, err := evidence.Parse(readFile(t, filepath.Join(root, store.SnapshotKey(a, 2))))
	require.NoError(t, err)
	resign(t, env, dup, func(s *evidence.Snapshot) { s.ID = aSnap.ID })
	resign(t, env, backwards, func(s *evidence.Snapshot) {
		s.Prev = evidence.Digest(readFile(t, filepath.Join(root, dup)))
	})

	ctx, cancel := context.WithTimeout(t.Context(), hang)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "verify", "--store", "file://"+root)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	require.NoError(t, ctx.Err(), "verify hung; stdout so far:\n%s", out.String())
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "verify: %v", err)
	require.Equal(t, 1, ee.ExitCode(), out.String()+errb.String())
	stdout := out.String()

	// Bounded memory: the 20 GB file and /dev/zero were never read.
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	require.True(t, ok)
	require.Less(t, ru.Maxrss*1024, int64(1<<30), "peak RSS of verify, in bytes")

	for _, want := range []struct{ key, what string }{
		{fifo, "not a regular file"},
		{sparse, "larger than the 256 MiB object size limit"},
		{zero, "not a regular file"},
		{store.SnapshotKey(a, 7), "seqs 7–999999999998 of 999999999999 are absent"},
		{huge, "altered or corrupt"},
		{backslash, "unexpected object in the evidence tree"},
		{newline, "unexpected object in the evidence tree"},
		{escape, "unexpected object in the evidence tree"},
		{"README.txt", "outside the store's layout"},
		{keyFile, "unexpected object among published keys"},
		{temp, "leftover temporary file"},
		{stray, "NOTE unreferenced attachment"},
		{moved, "date-index marker on the wrong day"},
		{dup, "no date-index marker on its start date"},
		{dup, "is also the id of"},
		{backwards, "NOTE the chain goes back in time"},
	} {
		tag := "FAIL "
		if what, ok := strings.CutPrefix(want.what, "NOTE "); ok {
			tag, want.what = "NOTE ", what
		}
		i := strings.Index(stdout, tag+audit.Escape(want.key)+": ")
		require.GreaterOrEqual(t, i, 0, "%s is named", want.key)
		require.Contains(t, stdout[i:], want.what, "%s", want.key)
	}
	require.NotContains(t, stdout, "\x1b", "no terminal escape reaches the output")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		require.True(t, strings.HasPrefix(l, "FAIL ") || strings.HasPrefix(l, "NOTE "), "every line but the verdict is a problem or a note: %q", l)
	}
	require.Regexp(t, `^verified file://\S+: \d+ snapshot\(s\) in 2 series, 1 key\(s\): \d+ problem\(s\), 3 note\(s\)$`, lines[len(lines)-1])

	// --json has the same problems, names as they are (JSON escapes them).
	r := exhibit(t, t.TempDir(), nil, "verify", "--store", "file://"+root, "--json")
	require.Equal(t, 1, r.code, r.stderr)
	var rep audit.VerifyReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Len(t, rep.Problems, len(lines)-4) // all but the 3 notes and the verdict
	require.Len(t, rep.Notes, 3)
	keys := map[string]bool{}
	for _, p := range rep.Problems {
		keys[p.Key] = true
	}
	for _, k := range []string{newline, escape, backslash, fifo, moved} {
		require.True(t, keys[k], "%q in --json", k)
	}
}

// --key reads only a small regular file: a FIFO or /dev/zero is a usage
// error at once, not a hang or a read without end.
func TestVerifyKeyFlagRefusesFIFOsAndDevices(t *testing.T) {
	env := testStore(t)
	fifo := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, key := range []string{fifo, "/dev/zero"} {
		r := exhibit(t, t.TempDir(), nil, "verify", "--store", "file://"+env.Store.Root(), "--key", key)
		require.Equal(t, 2, r.code, r.stdout+r.stderr)
		require.Contains(t, r.stderr, "--key: "+key+": ")
		require.Contains(t, r.stderr, "not a regular file")
	}
}

// SIGINT and SIGTERM stop every reader at once, with a non-zero exit and no
// verdict, even while the store does not answer.
func TestReadersStopOnSignal(t *testing.T) {
	asked := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- struct{}{}:
		default:
		}
		<-r.Context().Done() // never answer
	}))
	t.Cleanup(srv.Close)
	where := []string{"--store", "s3://evidence/prod", "--endpoint", srv.URL, "--region", "us-east-1"}
	period := []string{"--from", "2026-05-01", "--to", "2026-05-04"}
	out := filepath.Join(t.TempDir(), "out")
	cases := map[string][]string{
		"verify": append(append([]string{"verify"}, where...), period...),
		"export": append(append([]string{"export", "--format", "csv", "-o", out}, where...), period...),
		"report": append(append([]string{"report", "-o", out}, where...), period...),
		"sample": append(append([]string{"sample", "--control", "CC6.1", "--seed", "s", "-o", out}, where...), period...),
		"diff":   append(append([]string{"diff", "--json", "-o", out}, where...), period...),
	}
	for name, args := range cases {
		for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
			t.Run(name+"/"+sig.String(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), hang)
				defer cancel()
				cmd := exec.CommandContext(ctx, binary, args...)
				cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=id", "AWS_SECRET_ACCESS_KEY=secret",
					"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				require.NoError(t, cmd.Start())
				select {
				case <-asked:
				case <-ctx.Done():
					t.Fatal("the command never reached the store")
				}
				require.NoError(t, cmd.Process.Signal(sig))
				err := cmd.Wait()
				require.NoError(t, ctx.Err(), "%s ignored %s", name, sig)
				var ee *exec.ExitError
				require.True(t, errors.As(err, &ee), "%v", err)
				require.NotZero(t, ee.ExitCode())
				require.Contains(t, stderr.String(), "interrupted")
				require.NotContains(t, stdout.String(), "OK")
				require.NoFileExists(t, out, "an interrupted command leaves no output")
			})
		}
	}
}
