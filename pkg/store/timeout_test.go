package store_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
	fsstore "github.com/exhibit-dev/exhibit/pkg/store/fs"
	"github.com/exhibit-dev/exhibit/pkg/store/s3store"
)

// frozen accepts connections and never answers, as a stopped server's
// kernel does.
func frozen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// Every call to a frozen S3 endpoint fails at the deadline, through the real
// SDK client, and the store is then unavailable.
func TestBoundedFrozenS3(t *testing.T) {
	st, err := s3store.Open(t.Context(), "evidence", "prod", s3store.Options{
		Endpoint: frozen(t), Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, nil
		}),
	})
	require.NoError(t, err)
	b := store.WithTimeout(st, 300*time.Millisecond)
	require.True(t, b.Available())
	for name, call := range map[string]func(ctx context.Context) error{
		"put": func(ctx context.Context) error { return b.Put(ctx, "evidence/a/b/000000000001.json", []byte("{}")) },
		"get": func(ctx context.Context) error { _, err := b.Get(ctx, "keys/k.pem"); return err },
		"list": func(ctx context.Context) error {
			return b.List(ctx, "evidence/", "", func(string) error { return nil })
		},
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- call(t.Context()) }()
			select {
			case err := <-done:
				require.ErrorIs(t, err, store.ErrTimeout)
				require.ErrorContains(t, err, name+" ")
				require.ErrorContains(t, err, "no answer within 300ms")
			case <-time.After(time.Minute):
				t.Fatal("a call to a frozen store hung")
			}
			require.False(t, b.Available())
		})
	}
}

// hung is a backend that ignores its context, as a hung network file system
// does, until released.
type hung struct {
	store.Store
	release chan struct{}
}

func (h *hung) Put(ctx context.Context, key string, data []byte) error {
	<-h.release
	return h.Store.Put(context.WithoutCancel(ctx), key, data)
}

func (h *hung) List(ctx context.Context, prefix, after string, fn func(string) error) error {
	<-h.release
	return h.Store.List(context.WithoutCancel(ctx), prefix, after, fn)
}

func TestBoundedReturnsEvenWhenTheBackendIgnoresItsContext(t *testing.T) {
	fs, err := fsstore.Open(filepath.Join(t.TempDir(), "store"))
	require.NoError(t, err)
	require.NoError(t, fs.Put(t.Context(), "a/1", []byte("x")))
	h := &hung{Store: fs, release: make(chan struct{})}
	b := store.WithTimeout(h, 200*time.Millisecond)

	err = b.Put(t.Context(), "a/2", []byte("late"))
	require.ErrorIs(t, err, store.ErrTimeout)
	var seen []string
	err = b.List(t.Context(), "a/", "", func(k string) error { seen = append(seen, k); return nil })
	require.ErrorIs(t, err, store.ErrTimeout)
	require.False(t, b.Available())

	// Released, the abandoned Put lands (the agent recognises its own bytes
	// when it writes them again) and the abandoned List never calls fn.
	close(h.release)
	require.Eventually(t, func() bool {
		got, err := fs.Get(t.Context(), "a/2")
		return err == nil && string(got) == "late"
	}, time.Minute, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, seen, "fn was called after List returned")

	// An answer, even "already exists", makes the store available again.
	err = b.Put(t.Context(), "a/2", []byte("late"))
	require.ErrorIs(t, err, store.ErrExists)
	require.True(t, b.Available())
}

// A listing that keeps answering is not cut short by the deadline, and the
// time the caller spends on each key does not count against it.
func TestBoundedListDeadlineIsSilenceNotLength(t *testing.T) {
	fs, err := fsstore.Open(filepath.Join(t.TempDir(), "store"))
	require.NoError(t, err)
	for _, k := range []string{"a/1", "a/2", "a/3", "a/4"} {
		require.NoError(t, fs.Put(t.Context(), k, nil))
	}
	b := store.WithTimeout(fs, 200*time.Millisecond)
	var seen []string
	err = b.List(t.Context(), "a/", "", func(k string) error {
		time.Sleep(150 * time.Millisecond) // 600ms in all, more than the deadline
		seen = append(seen, k)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"a/1", "a/2", "a/3", "a/4"}, seen)

	// The caller's own cancellation is not the store's silence.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = b.Put(ctx, "a/5", nil)
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, errors.Is(err, store.ErrTimeout))
	require.True(t, b.Available())
}
