//go:build unix

package audit_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
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

// plant creates a file at key, making its directories.
func plant(t *testing.T, env *agenttest.Env, key string, content []byte) string {
	t.Helper()
	p := path(env, key)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, content, 0o644))
	return p
}

// forge rewrites snapshot seq of the series with change applied, re-signs
// it with the store's own key and re-chains every snapshot after it: what an
// insider holding the key can do. Only consistency checks can catch it.
func forge(t *testing.T, env *agenttest.Env, seq int64, change func(*evidence.Snapshot)) {
	t.Helper()
	forgeBytes(t, env, seq, change, nil)
}

// forgeBytes is forge with a last edit of the encoded bytes, for what the
// encoder itself refuses to write.
func forgeBytes(t *testing.T, env *agenttest.Env, seq int64, change func(*evidence.Snapshot), edit func([]byte) []byte) {
	t.Helper()
	prev := ""
	if seq > 1 {
		prev = evidence.Digest(mustRead(t, path(env, store.SnapshotKey(series, seq-1))))
	}
	for s := seq; ; s++ {
		k := store.SnapshotKey(series, s)
		b, err := os.ReadFile(path(env, k))
		if os.IsNotExist(err) {
			return
		}
		require.NoError(t, err)
		snap, err := evidence.Parse(b)
		require.NoError(t, err)
		if s == seq {
			change(snap)
		}
		snap.Prev = prev
		nb, err := evidence.Encode(snap)
		require.NoError(t, err)
		if s == seq && edit != nil {
			nb = edit(nb)
		}
		sig, err := env.Signer.Sign(t.Context(), nb)
		require.NoError(t, err)
		overwrite(t, path(env, k), nb)
		overwrite(t, path(env, store.SignatureKey(k)), signing.EncodeSignature(sig))
		prev = evidence.Digest(nb)
	}
}

// requireNote asserts some note names key and says what.
func requireNote(t *testing.T, rep *audit.VerifyReport, key, what string) {
	t.Helper()
	for _, p := range rep.Notes {
		if p.Key == key && strings.Contains(p.Message, what) {
			return
		}
	}
	t.Fatalf("no note on %s saying %q; got %v", key, what, rep.Notes)
}

func marker(day int, seq int64) string {
	return store.IndexKey(t0.AddDate(0, 0, day), series, seq)
}

// A store an insider planted things in: verify finishes, names every one
// of them, and still checks everything else.
func TestHostileStoreIsReportedNotObeyed(t *testing.T) {
	k6 := store.SnapshotKey(series, 6)
	var unusedKey string // the key the case below publishes; its name is its hash
	cases := []struct {
		name   string
		plant  func(t *testing.T, env *agenttest.Env)
		key    string
		what   string
		others int // problems expected besides the one named (0: no check)
	}{
		{"a FIFO named as a snapshot", func(t *testing.T, env *agenttest.Env) {
			require.NoError(t, syscall.Mkfifo(path(env, k6), 0o644))
		}, k6, "not a regular file", 0},
		{"a symlink to /dev/zero named as a snapshot", func(t *testing.T, env *agenttest.Env) {
			require.NoError(t, os.Symlink("/dev/zero", path(env, k6)))
		}, k6, "not a regular file", 0},
		{"a huge sparse file named as a snapshot", func(t *testing.T, env *agenttest.Env) {
			p := plant(t, env, k6, nil)
			require.NoError(t, os.Truncate(p, 20<<30))
		}, k6, "larger than the 256 MiB object size limit", 0},
		{"a 12-digit seq", func(t *testing.T, env *agenttest.Env) {
			plant(t, env, store.SnapshotKey(series, 999999999999), []byte("{}"))
		}, k6, "seqs 6–999999999998 of 999999999999 are absent", 0},
		{"a backslash in a series name", func(t *testing.T, env *agenttest.Env) {
			plant(t, env, `evidence/t/1111\22223333/000000000001.json`, []byte("{}"))
		}, `evidence/t/1111\22223333/000000000001.json`, "unexpected object in the evidence tree", 1},
		{"a .tmp- segment", func(t *testing.T, env *agenttest.Env) {
			plant(t, env, "evidence/t/.tmp-1/000000000001.json", []byte("{}"))
		}, "evidence/t/.tmp-1/000000000001.json", "leftover temporary file", 1},
		{"a leftover temporary file", func(t *testing.T, env *agenttest.Env) {
			plant(t, env, "evidence/t/111122223333/.tmp-0123abcd", []byte("{}"))
		}, "evidence/t/111122223333/.tmp-0123abcd", "leftover temporary file", 1},
		{"a file at the store root", func(t *testing.T, env *agenttest.Env) {
			plant(t, env, "notes.txt", []byte("hi"))
		}, "notes.txt", "outside the store's layout", 1},
		{"an extra file among the keys", func(t *testing.T, env *agenttest.Env) {
			plant(t, env, "keys/readme.txt", []byte("hi"))
		}, "keys/readme.txt", "unexpected object among published keys", 1},
		{"a published key that signs nothing", func(t *testing.T, env *agenttest.Env) {
			other, err := signing.GenerateFileKey(filepath.Join(t.TempDir(), "other.pem"))
			require.NoError(t, err)
			pub, err := other.PublicKey(t.Context())
			require.NoError(t, err)
			id, err := signing.KeyID(pub)
			require.NoError(t, err)
			b, err := signing.MarshalPublicKey(pub)
			require.NoError(t, err)
			require.NoError(t, env.Store.Put(t.Context(), store.PublicKeyKey(id), b))
			unusedKey = store.PublicKeyKey(id)
		}, "", "NOTE published key signs no snapshot", 0},
		{"an unreferenced attachment", func(t *testing.T, env *agenttest.Env) {
			plant(t, env, store.AttachmentKey(evidence.Digest([]byte("x"))), []byte("x"))
		}, store.AttachmentKey(evidence.Digest([]byte("x"))), "NOTE unreferenced attachment", 0},
		{"a date-index marker moved to another day", func(t *testing.T, env *agenttest.Env) {
			require.NoError(t, os.MkdirAll(filepath.Dir(path(env, marker(5, 3))), 0o755))
			require.NoError(t, os.Rename(path(env, marker(2, 3)), path(env, marker(5, 3))))
		}, marker(5, 3), "date-index marker on the wrong day", 2},
		{"a duplicated date-index marker", func(t *testing.T, env *agenttest.Env) {
			plant(t, env, marker(6, 3), nil)
		}, marker(6, 3), "date-index marker on the wrong day", 1},
		{"a date-index marker with content", func(t *testing.T, env *agenttest.Env) {
			overwrite(t, path(env, marker(2, 3)), []byte("hidden"))
		}, marker(2, 3), "not empty (6 bytes)", 1},
		{"started_at going backwards, re-signed", func(t *testing.T, env *agenttest.Env) {
			forge(t, env, 3, func(s *evidence.Snapshot) {
				s.StartedAt, s.FinishedAt = t0.Add(12*time.Hour), t0.Add(13*time.Hour)
				s.ID = ulid.MustNew(ulid.Timestamp(s.StartedAt), rand.Reader).String()
			})
		}, store.SnapshotKey(series, 3), "NOTE the chain goes back in time", 0},
		{"finished_at before started_at, re-signed", func(t *testing.T, env *agenttest.Env) {
			forgeBytes(t, env, 3, func(*evidence.Snapshot) {}, func(b []byte) []byte {
				var s evidence.Snapshot
				require.NoError(t, json.Unmarshal(b, &s))
				was, _ := json.Marshal(s.FinishedAt)
				early, _ := json.Marshal(s.StartedAt.Add(-time.Hour))
				require.Contains(t, string(b), `"finished_at":`+string(was))
				return []byte(strings.Replace(string(b), `"finished_at":`+string(was), `"finished_at":`+string(early), 1))
			})
		}, store.SnapshotKey(series, 3), "finished_at: before started_at", 0},
		{"a duplicated id, re-signed", func(t *testing.T, env *agenttest.Env) {
			s2, err := evidence.Parse(mustRead(t, path(env, store.SnapshotKey(series, 2))))
			require.NoError(t, err)
			forge(t, env, 3, func(s *evidence.Snapshot) { s.ID = s2.ID })
		}, store.SnapshotKey(series, 3), "is also the id of " + store.SnapshotKey(series, 2), 0},
		{"an id made at another time, re-signed", func(t *testing.T, env *agenttest.Env) {
			forge(t, env, 3, func(s *evidence.Snapshot) {
				s.ID = ulid.MustNew(ulid.Timestamp(s.StartedAt.Add(time.Hour)), rand.Reader).String()
			})
		}, store.SnapshotKey(series, 3), "was made at 2026-03-03T01:00:00Z, but started_at is 2026-03-03T00:00:00Z", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := populated(t)
			tc.plant(t, env)
			done := make(chan *audit.VerifyReport, 1)
			go func() { done <- verify(t, env) }()
			var rep *audit.VerifyReport
			select {
			case rep = <-done:
			case <-time.After(2 * time.Minute):
				t.Fatal("verify hangs") // a guard against a hang, not a timing
			}
			key := tc.key
			if key == "" {
				key = unusedKey
			}
			if what, ok := strings.CutPrefix(tc.what, "NOTE "); ok {
				requireNote(t, rep, key, what)
			} else {
				requireProblem(t, rep, key, tc.what)
			}
			if tc.others > 0 {
				require.Len(t, rep.Problems, tc.others, "%v", rep.Problems)
			}
			// Nothing stopped the walk: the other series was read whole
			// and raises nothing.
			require.GreaterOrEqual(t, rep.Snapshots, 10)
			for _, p := range rep.Problems {
				require.NotContains(t, p.Key, "444455556666", "only the tampered series is named: %v", p)
			}
		})
	}
}

// Names from the store are escaped in every line of text: a newline or a
// terminal escape in a name can neither forge a line nor reach the
// terminal.
func TestProblemTextEscapesNames(t *testing.T) {
	env := populated(t)
	evil := "evidence/t/x\nverified store: 10 snapshot(s) in 2 series, 1 key(s): OK\x1b[2J/000000000001.json"
	plant(t, env, evil, []byte("{}"))
	rep := verify(t, env)
	requireProblem(t, rep, evil, "unexpected object in the evidence tree")
	for _, p := range rep.Problems {
		line := p.String()
		require.NotContains(t, line, "\n")
		require.NotContains(t, line, "\x1b")
		if p.Key == evil {
			require.True(t, strings.HasPrefix(line, `"evidence/t/x\nverified`), line)
		}
	}
	require.Equal(t, "evidence/t/111122223333/000000000001.json", audit.Escape("evidence/t/111122223333/000000000001.json"))
	require.Equal(t, `"a\\b"`, audit.Escape(`a\b`))
	require.Equal(t, `"caf\u00e9"`, audit.Escape("café"))
	require.Equal(t, `bad \x1b[2J byte`, audit.EscapeText("bad \x1b[2J byte"))
}

// A FIFO or a huge file planted as a snapshot is named, never read: the
// readers built on LoadPeriod (export, report, sample) cannot be hung or
// made to exhaust memory by one.
func TestLoadPeriodNamesUnreadableSnapshots(t *testing.T) {
	env := hourlyStore(t, 5)
	k2, k4 := store.SnapshotKey("t/111122223333", 2), store.SnapshotKey("t/111122223333", 4)
	p2, p4 := filepath.Join(env.Store.Root(), k2), filepath.Join(env.Store.Root(), k4)
	require.NoError(t, os.Remove(p2))
	require.NoError(t, syscall.Mkfifo(p2, 0o644))
	require.NoError(t, os.Chmod(p4, 0o644))
	require.NoError(t, os.Truncate(p4, 20<<30))
	done := make(chan error, 1)
	go func() {
		_, err := audit.LoadPeriod(t.Context(), env.Store, audit.Period{From: t0, To: t0.Add(5 * time.Hour)})
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "read "+k2+": not a regular file")
		require.ErrorContains(t, err, "read "+k4+": larger than the 256 MiB object size limit")
	case <-time.After(2 * time.Minute):
		t.Fatal("LoadPeriod hangs") // a guard against a hang, not a timing
	}
}

// A selected snapshot replaced by a FIFO after the sample was drawn is a
// failed check in the package, which is still written with the rest; a FIFO
// among the published keys is skipped, not read.
func TestSamplePackageSurvivesPlantedObjects(t *testing.T) {
	env := populated(t)
	s, err := audit.DrawSample(t.Context(), env.Store, audit.SampleOptions{
		Control: "soc2:CC6.1", Period: audit.Period{From: t0, To: t0.AddDate(0, 0, 5)}, Seed: "s", Size: 10,
	})
	require.NoError(t, err)
	k := store.SnapshotKey(series, 2)
	require.NoError(t, os.Remove(path(env, k)))
	require.NoError(t, syscall.Mkfifo(path(env, k), 0o644))
	require.NoError(t, syscall.Mkfifo(path(env, store.PublicKeyKey(strings.Repeat("0", 64))), 0o644))

	done := make(chan error, 1)
	var ver *audit.SampleVerification
	var buf bytes.Buffer
	go func() {
		var err error
		ver, err = audit.WritePackage(t.Context(), env.Store, s, &buf)
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(2 * time.Minute):
		t.Fatal("WritePackage hangs") // a guard against a hang, not a timing
	}
	require.False(t, ver.OK)
	var bad []string
	for _, c := range ver.Snapshots {
		if !c.OK {
			bad = append(bad, c.Key+": "+c.Signature)
		}
	}
	require.Equal(t, []string{k + ": the snapshot is unreadable now: not a regular file (a FIFO, device, directory or symbolic link); not read"}, bad)
	require.Len(t, ver.Snapshots, 10, "the other snapshots are still checked")
	require.NotZero(t, buf.Len())
}

// A report built from a store whose every name carries markup, quotes, a
// plus, a NUL and invalid UTF-8: none of it reaches the page as it is,
// each value is there escaped, and every part of the page that prints one
// (changes, failing findings, accepted risks, collections, gaps, series)
// is written.
func TestReportEscapesHostileValues(t *testing.T) {
	const evil = "<b>\"'&+\x00\xff"
	const escaped = "&lt;b&gt;&#34;&#39;&amp;&#43;\ufffd\xff"
	v := func(field string) string { return field + evil }
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	series := "aws.iam/" + v("scope")
	ctl := []string{"soc2:CC6.1", v("soc2:ref")}
	finding := func(check string, status evidence.Result) evidence.Finding {
		return evidence.Finding{Check: v(check), Resource: v(check + "-resource"), Status: status, Controls: ctl, Reason: v(check + "-reason")}
	}
	var members []audit.Member
	for i := range 30 {
		if i == 5 {
			continue // a gap
		}
		at := from.Add(time.Duration(i) * time.Hour)
		appeared := finding("appeared", evidence.Pass)
		if i >= 3 {
			appeared.Status = evidence.Fail
		}
		if i == 29 {
			appeared.Accepted = &evidence.Acceptance{ID: v("ar-id"), Owner: v("ar-owner"), Reason: v("ar-reason"),
				Until: v("ar-until"), Approver: v("ar-approver"), Approved: v("ar-approved")}
			appeared.AcceptanceExpired = &evidence.ExpiredAcceptance{ID: v("exp-id"), Owner: v("exp-owner"), Until: v("exp-until")}
		}
		resolved := finding("resolved", evidence.Fail)
		if i >= 10 {
			resolved.Status = evidence.Pass
		}
		flipped := finding("flipped", evidence.Pass)
		if i%4 == 1 {
			flipped.Status = evidence.Fail
		}
		s := &evidence.Snapshot{
			Series: series, Seq: int64(i + 1), Schedule: "@hourly", StartedAt: at, FinishedAt: at.Add(time.Minute),
			Status:   evidence.StatusComplete,
			Findings: []evidence.Finding{appeared, resolved, flipped, finding("undecided", evidence.Error)},
		}
		switch i {
		case 7:
			s.Status = evidence.StatusPartial
			for range 5 {
				s.Errors = append(s.Errors, evidence.RunError{Where: v("where"), Operation: v("operation"), Message: v("message")})
			}
		case 8:
			s.Status = evidence.StatusFailed
			s.Errors = []evidence.RunError{{Where: v("where"), Message: v("message")}}
		}
		members = append(members, audit.Member{Key: fmt.Sprintf("evidence/%s/%012d.json", series, i+1), SHA256: v("sha256"), Snapshot: s})
	}
	var out bytes.Buffer
	require.NoError(t, audit.WriteReport(t.Context(), &out, audit.Slice(members), audit.ReportOptions{
		Period: audit.Period{From: from, To: from.AddDate(0, 0, 3)}, Store: v("store"), Organization: v("org"),
		Generated: from.Add(30 * time.Hour),
	}))
	html := out.String()

	for _, raw := range []string{"<b>", "\"'", "'&", "&+", "\x00"} {
		require.Zero(t, strings.Count(html, raw), "%q in the page", raw)
	}
	for _, field := range []string{"org", "store", "scope", "soc2:ref", "appeared", "appeared-resource", "appeared-reason",
		"resolved", "flipped", "undecided-reason", "ar-id", "ar-owner", "ar-reason", "ar-until", "ar-approver", "ar-approved",
		"exp-id", "exp-owner", "exp-until", "where", "operation", "message", "sha256"} {
		require.True(t, strings.Contains(html, field+escaped), "%q not in the page", field+escaped)
	}
	require.Contains(t, html, "<title>org"+escaped+": controls from 2 March 2026 to 4 March 2026</title>")
	require.Contains(t, html, `<dd><code class="store">store`+escaped+`</code></dd>`)
	require.Contains(t, html, `data-control="soc2:ref`+escaped+`"`)
	require.Contains(t, html, `aria-label="soc2:ref`+escaped+` day by day, 2026-03-02 to 2026-03-04"`)
	require.Contains(t, html, `<tr><td><code>aws.iam/scope`+escaped+`</code></td><td class="mono">2026-03-02T05:00:00Z</td><td>@hourly</td></tr>`)
	require.Contains(t, html, `<tr data-change="appeared">`)
	require.Contains(t, html, `<tr data-change="resolved">`)
	require.Contains(t, html, `<tr data-change="flipped">`)
	require.Contains(t, html, `<code>aws.iam/scope`+escaped+` #30</code>`)
	require.Contains(t, html, `<div><code>where`+escaped+`</code> operation`+escaped+`: message`+escaped+`</div>`)
	require.Contains(t, html, `<div class="meta">and 2 more</div>`)
	require.Contains(t, html, "; days after it are shown as future, not as missing evidence")
}
