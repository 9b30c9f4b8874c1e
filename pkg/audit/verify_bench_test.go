package audit_test

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-dev/exhibit/pkg/agent/agenttest"
	"github.com/exhibit-dev/exhibit/pkg/audit"
	"github.com/exhibit-dev/exhibit/pkg/signing"
	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
)

// slow adds a round trip's latency to every read, as an object store
// across a network does.
type slow struct {
	store.Store
	rtt time.Duration
}

func (s slow) Get(ctx context.Context, key string) ([]byte, error) {
	time.Sleep(s.rtt)
	return s.Store.Get(ctx, key)
}

// BenchmarkVerifyRemoteStore verifies 200 snapshots behind a 2 ms round
// trip: what read-ahead saves on S3.
func BenchmarkVerifyRemoteStore(b *testing.B) {
	env := hourlyStore(b, 200)
	st := slow{Store: env.Store, rtt: 2 * time.Millisecond}
	for b.Loop() {
		rep, err := audit.Verify(b.Context(), st, audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Problems)
		}
	}
}

var (
	diskN       = flag.Int("disk-n", 200, "BenchmarkVerifyDiskSpeed: snapshots in its store")
	diskBuckets = flag.Int("disk-buckets", 250, "BenchmarkVerifyDiskSpeed: buckets in each snapshot of a store it builds (250: ~158 KB; 0: ~1 KB)")
	diskDir     = flag.String("disk-dir", "", "BenchmarkVerifyDiskSpeed: a directory that keeps its store (DIR/evidence, signing key DIR/key.pem) for 'exhibit verify' to be timed on; built when empty, reused when it holds -disk-n snapshots; a temporary directory when unset")
)

// diskStore is the store of BenchmarkVerifyDiskSpeed: its root, and the
// snapshot files in it.
func diskStore(b *testing.B) (root string, snapshots []string) {
	dir := *diskDir
	if dir == "" {
		dir = b.TempDir()
	}
	root = filepath.Join(dir, "evidence")
	list := func() []string {
		var out []string
		_ = filepath.WalkDir(filepath.Join(root, store.EvidencePrefix), func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".json") {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	if have := list(); len(have) > 0 {
		if len(have) != *diskN {
			b.Fatalf("%s holds %d snapshots, not -disk-n %d: give an empty directory", dir, len(have), *diskN)
		}
		return root, have
	}
	st, err := fsstore.Open(root)
	if err != nil {
		b.Fatal(err)
	}
	key, err := signing.GenerateFileKey(filepath.Join(dir, "key.pem"))
	if err != nil {
		b.Fatal(err)
	}
	env := agenttest.NewEnvOn(b, &agenttest.Env{Dir: dir, Store: st, Signer: key}, t0)
	c := &agenttest.Collector{Accounts: []string{"111122223333"}, Fn: buckets(*diskBuckets)}
	env.Fill(b, agenttest.Job("t", "@hourly", c), *diskN, time.Hour)
	return root, list()
}

// BenchmarkVerifyDiskSpeed sets verify against its yardstick on the same
// files: -disk-n hourly snapshots of -disk-buckets buckets (~165 KB) in a
// file store. "verify" is
// audit.Verify, every check; "yardstick" reads each snapshot and its
// signature and checks the ECDSA signature over the SHA-256 of the bytes,
// one file after another, and nothing else.
func BenchmarkVerifyDiskSpeed(b *testing.B) {
	root, snapshots := diskStore(b)
	var size int64
	for _, p := range snapshots {
		fi, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	st, err := fsstore.OpenExisting(root)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("verify", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			rep, err := audit.Verify(b.Context(), st, audit.VerifyOptions{})
			if err != nil || !rep.OK() || rep.Snapshots != len(snapshots) {
				b.Fatal(err, rep.Problems)
			}
		}
	})
	b.Run("yardstick", func(b *testing.B) {
		pems, err := filepath.Glob(filepath.Join(root, store.KeysPrefix, "*.pem"))
		if err != nil || len(pems) != 1 {
			b.Fatal("want one published key", pems, err)
		}
		raw, err := os.ReadFile(pems[0])
		if err != nil {
			b.Fatal(err)
		}
		pub, err := signing.ParsePublicKey(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range snapshots {
				doc, err := os.ReadFile(p)
				if err != nil {
					b.Fatal(err)
				}
				sig, err := os.ReadFile(p + ".sig")
				if err != nil {
					b.Fatal(err)
				}
				der, err := signing.DecodeSignature(sig)
				if err != nil {
					b.Fatal(err)
				}
				if err := signing.Verify(pub, doc, der); err != nil {
					b.Fatal(p, err)
				}
			}
		}
	})
}
