// Package storetest is the behaviour every store backend must show, run
// against each of them.
package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exhibit-dev/exhibit/pkg/store"
)

// Run exercises a fresh, empty store returned by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("PutGet", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Put(t.Context(), "evidence/a/b/000000000001.json", []byte(`{"x":1}`)))
		got, err := s.Get(t.Context(), "evidence/a/b/000000000001.json")
		require.NoError(t, err)
		require.Equal(t, `{"x":1}`, string(got))
	})

	t.Run("NeverOverwrites", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Put(t.Context(), "k/one", []byte("first")))
		err := s.Put(t.Context(), "k/one", []byte("second"))
		require.ErrorIs(t, err, store.ErrExists)
		got, err := s.Get(t.Context(), "k/one")
		require.NoError(t, err)
		require.Equal(t, "first", string(got))
	})

	t.Run("MissingKey", func(t *testing.T) {
		s := open(t)
		_, err := s.Get(t.Context(), "nothing/here")
		require.ErrorIs(t, err, store.ErrNotExist)
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := open(t)
		for _, k := range []string{"", "/abs", "a/../b", "a//b", "trailing/", "a/.tmp-x"} {
			require.Error(t, s.Put(t.Context(), k, []byte("x")), "key %q", k)
		}
	})

	t.Run("ListOrderPrefixStartAfter", func(t *testing.T) {
		s := open(t)
		keys := []string{
			"evidence/aws.iam/111/000000000002.json",
			"evidence/aws.iam/111/000000000001.json",
			"evidence/aws.iam/111/000000000001.json.sig",
			"evidence/aws.iam-prod/111/000000000001.json",
			"evidence/aws.s3/111/000000000001.json",
			"keys/abc.pem",
		}
		for _, k := range keys {
			require.NoError(t, s.Put(t.Context(), k, []byte(k)))
		}
		list := func(prefix, after string) []string {
			var out []string
			require.NoError(t, s.List(t.Context(), prefix, after, func(k string) error {
				out = append(out, k)
				return nil
			}))
			return out
		}
		require.Equal(t, []string{
			"evidence/aws.iam/111/000000000001.json",
			"evidence/aws.iam/111/000000000001.json.sig",
			"evidence/aws.iam/111/000000000002.json",
		}, list("evidence/aws.iam/", ""))
		require.Equal(t, []string{
			"evidence/aws.iam-prod/111/000000000001.json",
			"evidence/aws.iam/111/000000000001.json",
			"evidence/aws.iam/111/000000000001.json.sig",
			"evidence/aws.iam/111/000000000002.json",
		}, list("evidence/aws.iam", ""))
		require.Equal(t, []string{"evidence/aws.iam/111/000000000002.json"},
			list("evidence/aws.iam/111/", "evidence/aws.iam/111/000000000001.json.sig"))
		require.Empty(t, list("nothing/", ""))
		require.Len(t, list("", ""), len(keys))
	})

	t.Run("ListStopsOnCallbackError", func(t *testing.T) {
		s := open(t)
		require.NoError(t, s.Put(t.Context(), "l/1", []byte("1")))
		require.NoError(t, s.Put(t.Context(), "l/2", []byte("2")))
		stop := errors.New("stop")
		n := 0
		err := s.List(t.Context(), "l/", "", func(string) error { n++; return stop })
		require.ErrorIs(t, err, stop)
		require.Equal(t, 1, n)
	})

	t.Run("ConcurrentPutsOneWinner", func(t *testing.T) {
		s := open(t)
		const writers = 8
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Put(t.Context(), "race/000000000001.json", []byte(fmt.Sprintf("writer %d", i)))
			}()
		}
		wg.Wait()
		winners := 0
		for _, err := range errs {
			if err == nil {
				winners++
			} else {
				require.ErrorIs(t, err, store.ErrExists)
			}
		}
		require.Equal(t, 1, winners)
	})
}
