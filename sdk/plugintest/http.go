package plugintest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// HTTPUpstream feeds a webhook-style source: it POSTs each input and retries
// until the source answers 2xx, as CI systems and GitHub redeliver webhooks.
// An input counts as acknowledged once one of its POSTs got a 2xx. It
// implements Upstream.
type HTTPUpstream struct {
	url   string
	input func(i int) (key string, body []byte, header http.Header)
	http  *http.Client
	ctx   context.Context

	mu      sync.Mutex
	unacked map[string]bool
	posts   int
	wg      sync.WaitGroup
}

// NewHTTPUpstream posts to url; input makes input i's body and headers and
// names the dedupe key of the event the source makes of it. Deliveries stop
// when the test ends.
func NewHTTPUpstream(t testing.TB, url string, input func(i int) (key string, body []byte, header http.Header)) *HTTPUpstream {
	ctx, cancel := context.WithCancel(context.Background())
	u := &HTTPUpstream{url: url, input: input, http: &http.Client{Timeout: 5 * time.Second}, ctx: ctx, unacked: map[string]bool{}}
	t.Cleanup(func() { cancel(); u.wg.Wait() })
	return u
}

// Publish implements Upstream; the delivery happens in the background.
func (u *HTTPUpstream) Publish(_ context.Context, i int) (string, error) {
	key, body, header := u.input(i)
	u.mu.Lock()
	u.unacked[key] = true
	u.mu.Unlock()
	u.wg.Add(1)
	go u.deliver(key, body, header)
	return key, nil
}

func (u *HTTPUpstream) deliver(key string, body []byte, header http.Header) {
	defer u.wg.Done()
	for u.ctx.Err() == nil {
		req, err := http.NewRequestWithContext(u.ctx, http.MethodPost, u.url, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, err := u.http.Do(req)
		u.mu.Lock()
		u.posts++
		u.mu.Unlock()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				u.mu.Lock()
				delete(u.unacked, key)
				u.mu.Unlock()
				return
			}
		}
		select {
		case <-u.ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Unacked implements Upstream.
func (u *HTTPUpstream) Unacked() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, 0, len(u.unacked))
	for k := range u.unacked {
		out = append(out, k)
	}
	return out
}

// Posts counts the POSTs made, retries included.
func (u *HTTPUpstream) Posts() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.posts
}

// FreeAddr returns a localhost address with a port free right now, for a
// source that listens (it may be taken again by the time the source binds,
// which in practice does not happen in tests).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
