package signing

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFileKeyLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "k.pem")
	_, _, err := LoadOrCreateFileKey(path)
	require.ErrorContains(t, err, "directory "+filepath.Dir(path)+" does not exist", "a mistyped path does not grow a tree")
	require.NoDirExists(t, filepath.Dir(path))
	require.NoError(t, os.Mkdir(filepath.Dir(path), 0o700))
	k, created, err := LoadOrCreateFileKey(path)
	require.NoError(t, err)
	require.True(t, created)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	again, created, err := LoadOrCreateFileKey(path)
	require.NoError(t, err)
	require.False(t, created, "an existing key is used, never replaced")
	p1, _ := k.PublicKey(t.Context())
	p2, _ := again.PublicKey(t.Context())
	require.True(t, p1.Equal(p2))

	_, err = GenerateFileKey(path)
	require.Error(t, err, "generate refuses an existing file")

	msg := []byte(`{"a":1}`)
	sig, err := k.Sign(t.Context(), msg)
	require.NoError(t, err)
	require.NoError(t, Verify(p1, msg, sig))
	require.ErrorIs(t, Verify(p1, []byte(`{"a":2}`), sig), ErrBadSignature)

	der, err := DecodeSignature(EncodeSignature(sig))
	require.NoError(t, err)
	require.Equal(t, sig, der)

	pemBytes, err := MarshalPublicKey(p1)
	require.NoError(t, err)
	parsed, err := ParsePublicKey(pemBytes)
	require.NoError(t, err)
	require.True(t, parsed.Equal(p1))
	id, err := KeyID(p1)
	require.NoError(t, err)
	require.Len(t, id, 64)

	require.NoError(t, os.Chmod(path, 0o640))
	_, err = LoadFileKey(path)
	require.ErrorContains(t, err, "lets others read it")
}

func TestGenerateCreatesTheDirectoryButNeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "k.pem")
	k, err := GenerateFileKey(path)
	require.NoError(t, err)
	st, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	_, err = GenerateFileKey(path)
	require.ErrorIs(t, err, fs.ErrExist)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after)

	// Nor through a dangling symlink: O_EXCL does not follow it.
	dangling := filepath.Join(filepath.Dir(path), "dangling.pem")
	require.NoError(t, os.Symlink(filepath.Join(filepath.Dir(path), "elsewhere.pem"), dangling))
	_, err = GenerateFileKey(dangling)
	require.ErrorIs(t, err, fs.ErrExist)
	require.NoFileExists(t, filepath.Join(filepath.Dir(path), "elsewhere.pem"))

	// A Kubernetes Secret mount is a symlink to the key: it is read.
	link := filepath.Join(filepath.Dir(path), "link.pem")
	require.NoError(t, os.Symlink(path, link))
	again, err := LoadFileKey(link)
	require.NoError(t, err)
	p1, _ := k.PublicKey(t.Context())
	p2, _ := again.PublicKey(t.Context())
	require.True(t, p1.Equal(p2))
}

func TestKeyFileMustBeRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "k.pem")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err := LoadFileKey(fifo)
	require.ErrorContains(t, err, "a named pipe (FIFO), not a regular file")
	_, _, err = LoadOrCreateFileKey(fifo)
	require.ErrorContains(t, err, "not a regular file")
}

func TestBadKeyMaterial(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.pem":  "",
		"public.pem": "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n",
		"junk.pem":   "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		_, err := LoadFileKey(p)
		require.ErrorContains(t, err, name)
	}
	_, err := ParsePublicKey([]byte("nope"))
	require.Error(t, err)
	_, err = DecodeSignature([]byte("!!!"))
	require.ErrorContains(t, err, "not base64")
}
