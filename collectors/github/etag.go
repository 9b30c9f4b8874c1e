package github

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Conditional requests. The collector keeps, for its lifetime (the
// daemon's, one exhibit process), the ETag and the answer of each REST
// listing and read it made, and sends If-None-Match the next time; GitHub
// answers 304 Not Modified when nothing changed, and a 304 does not count
// against the rate limit. The previous answer is then handed back as it
// was, so what the collector observes is the same as a full read. A new
// process starts with an empty cache: its first run pays full price.
const (
	// maxETagBody is the largest answer kept; larger ones are read anew.
	maxETagBody = 2 << 20
	// maxETagBytes bounds the cache of one collector; past it the answers
	// least recently used are dropped (reads whose URL changes every run,
	// such as a window's since, would otherwise fill it).
	maxETagBytes = 16 << 20
)

type etagEntry struct {
	used   uint64 // the tick of its last use
	etag   string
	status int
	header http.Header
	body   []byte
}

type etagTransport struct {
	base http.RoundTripper

	mu      sync.Mutex
	entries map[string]*etagEntry
	bytes   int
	tick    uint64
}

func etagKey(req *http.Request) string {
	return req.Header.Get("Accept") + " " + req.URL.String()
}

// revalidationHeaders are taken from the 304 itself: they describe now.
var revalidationHeaders = []string{"Date", "X-Github-Request-Id", "X-Ratelimit-Limit", "X-Ratelimit-Remaining",
	"X-Ratelimit-Used", "X-Ratelimit-Reset", "X-Ratelimit-Resource", "X-Oauth-Scopes"}

func (t *etagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" || req.Header.Get("Range") != "" {
		return t.base.RoundTrip(req)
	}
	key := etagKey(req)
	t.mu.Lock()
	prev := t.entries[key]
	if prev != nil {
		t.tick++
		prev.used = t.tick
	}
	t.mu.Unlock()
	if prev != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", prev.etag)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && prev != nil:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		h := prev.header.Clone()
		for _, k := range revalidationHeaders {
			if v, ok := resp.Header[k]; ok {
				h[k] = v
			}
		}
		return &http.Response{
			Status: http.StatusText(prev.status), StatusCode: prev.status, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(prev.body)), ContentLength: int64(len(prev.body)),
			Request: resp.Request, TLS: resp.TLS,
		}, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxETagBody+1))
		if err != nil {
			_ = resp.Body.Close()
			return nil, err
		}
		if len(body) > maxETagBody {
			// Too large to keep: hand the answer on whole, unkept.
			resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
			t.forget(key)
			return resp, nil
		}
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		t.keep(key, &etagEntry{etag: resp.Header.Get("ETag"), status: resp.StatusCode, header: resp.Header.Clone(), body: body})
		return resp, nil
	default:
		// An error or an answer without an ETag: what was kept is stale.
		if resp.StatusCode != http.StatusNotModified {
			t.forget(key)
		}
		return resp, nil
	}
}

func (t *etagTransport) keep(key string, e *etagEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil {
		t.entries = map[string]*etagEntry{}
	}
	if old := t.entries[key]; old != nil {
		t.bytes -= len(old.body)
		delete(t.entries, key)
	}
	for t.bytes+len(e.body) > maxETagBytes && len(t.entries) > 0 {
		var lru string
		var oldest uint64
		first := true
		for k, v := range t.entries {
			if first || v.used < oldest {
				lru, oldest, first = k, v.used, false
			}
		}
		t.bytes -= len(t.entries[lru].body)
		delete(t.entries, lru)
	}
	t.tick++
	e.used = t.tick
	t.entries[key] = e
	t.bytes += len(e.body)
}

func (t *etagTransport) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.entries[key]; old != nil {
		t.bytes -= len(old.body)
		delete(t.entries, key)
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}
