package server

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bunrouter"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestCache(ttl time.Duration) (*respCache, *clock) {
	c := newRespCache(ttl, prometheus.NewRegistry())
	clk := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	c.now = clk.now
	return c, clk
}

// through serves one request for key through the cache; handle counts its
// calls and answers with the current value of *v.
func through(t *testing.T, c *respCache, key string, calls *atomic.Int64, v *atomic.Int64, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/x", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	err := c.serve(w, bunrouter.NewRequest(r), key, c.ttl, func(w http.ResponseWriter, req bunrouter.Request) error {
		calls.Add(1)
		return sendJSON(w, http.StatusOK, map[string]int64{"v": v.Load()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRespCacheTTLAndInvalidation(t *testing.T) {
	c, clk := newTestCache(2 * time.Second)
	var calls, v atomic.Int64
	v.Store(1)
	first := through(t, c, "k", &calls, &v)
	v.Store(2) // another process changes the data
	if w := through(t, c, "k", &calls, &v); w.Body.String() != `{"v":1}` || calls.Load() != 1 {
		t.Fatalf("within the TTL: %s after %d computations", w.Body, calls.Load())
	}
	clk.add(2 * time.Second)
	if w := through(t, c, "k", &calls, &v); w.Body.String() != `{"v":2}` || calls.Load() != 2 {
		t.Fatalf("after the TTL: %s after %d computations", w.Body, calls.Load())
	}
	v.Store(3)
	c.invalidate() // this process wrote
	if w := through(t, c, "k", &calls, &v); w.Body.String() != `{"v":3}` || calls.Load() != 3 {
		t.Fatalf("after a write: %s after %d computations", w.Body, calls.Load())
	}
	etag := first.Header().Get("ETag")
	if etag == "" || first.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("headers: %v", first.Header())
	}
	// The first answer's ETag is stale now; the current one revalidates.
	if w := through(t, c, "k", &calls, &v, "If-None-Match", etag); w.Code != 200 {
		t.Fatalf("stale ETag: %d", w.Code)
	}
	cur := through(t, c, "k", &calls, &v).Header().Get("ETag")
	if w := through(t, c, "k", &calls, &v, "If-None-Match", cur); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Fatalf("current ETag: %d %q", w.Code, w.Body)
	}
}

// An answer computed while a write happened is not kept: it may predate
// the write.
func TestRespCacheDropsAnswersRacingAWrite(t *testing.T) {
	c, _ := newTestCache(time.Minute)
	calls := 0
	handle := func(w http.ResponseWriter, req bunrouter.Request) error {
		calls++
		if calls == 1 {
			c.invalidate()
		}
		return sendJSON(w, http.StatusOK, calls)
	}
	for i := 0; i < 2; i++ {
		r := bunrouter.NewRequest(httptest.NewRequest("GET", "/x", nil))
		if err := c.serve(httptest.NewRecorder(), r, "k", c.ttl, handle); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 {
		t.Fatalf("the answer that raced a write was served again (%d computations)", calls)
	}
}

// Concurrent identical misses wait for one computation.
func TestRespCacheSharesOneComputation(t *testing.T) {
	c, _ := newTestCache(time.Minute)
	release := make(chan struct{})
	var calls atomic.Int64
	handle := func(w http.ResponseWriter, req bunrouter.Request) error {
		calls.Add(1)
		<-release
		return sendJSON(w, http.StatusOK, "answer")
	}
	const n = 8
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := httptest.NewRecorder()
			if err := c.serve(w, bunrouter.NewRequest(httptest.NewRequest("GET", "/x", nil)), "k", c.ttl, handle); err != nil {
				t.Error(err)
			}
			bodies[i] = w.Body.String()
		}(i)
	}
	// Let the first request start computing; the others either wait for it
	// or, arriving after it stored its answer, hit the cache.
	for {
		c.mu.Lock()
		started := len(c.inflight) == 1
		c.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i, b := range bodies {
		if b != `"answer"` {
			t.Fatalf("request %d got %q", i, b)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d computations for %d identical requests", calls.Load(), n)
	}
}

func TestRespCacheKeepsItsBudget(t *testing.T) {
	c, _ := newTestCache(time.Minute)
	big := make([]byte, readCacheMaxBody)
	for i := range big {
		big[i] = 'x'
	}
	for i := 0; i < 2*readCacheMaxBytes/readCacheMaxBody; i++ {
		c.put("k"+strconv.Itoa(i), newCachedBody(big, http.Header{}, c.ttl, c.now()), c.generation())
		if c.size > readCacheMaxBytes {
			t.Fatalf("after %d bodies the cache holds %d bytes", i+1, c.size)
		}
	}
	c.put("huge", newCachedBody(make([]byte, readCacheMaxBody+1), http.Header{}, c.ttl, c.now()), c.generation())
	if c.fresh("huge") != nil {
		t.Fatal("an answer over readCacheMaxBody was cached")
	}
}
