package server

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bunrouter"
)

// The read API's response cache. The UI and sheriff scripts ask the same
// few questions over and over (the newest pushes, their status, the jobs of
// the push on screen), often from several tabs and clients at once. Each
// answer is kept for a short TTL, concurrent identical misses are answered
// by one computation, and every answer carries an ETag so polling clients
// revalidate with a 304 instead of downloading the body again.
//
// Writes made through this process (notes, bug links, unclassification)
// drop the whole cache at once. Other processes (ingestion workers, another
// herder behind the same load balancer) may change what a cached answer
// says: the TTL bounds how stale it can be.

const (
	// DefaultReadCacheTTL bounds how old a cached push list, push status or
	// jobs page may be. Treeherder's UI polls once a minute; a few seconds
	// is invisible to it but spares the database most repeated reads.
	DefaultReadCacheTTL = 2 * time.Second
	// referenceCacheTTL is for reference data (option collections, machine
	// platforms, repositories, failure classifications): rows that are
	// added rarely and never change.
	referenceCacheTTL = 30 * time.Second
	// readCacheMaxBytes bounds the cached bodies; a 2,000-job page is about
	// 650 kB.
	readCacheMaxBytes = 64 << 20
	// readCacheMaxBody leaves bigger answers uncached.
	readCacheMaxBody = 4 << 20
)

// respCache holds recent response bodies by request.
type respCache struct {
	ttl time.Duration // of hot reads; 0: off
	now func() time.Time

	mu sync.Mutex
	// gen counts invalidations: an answer computed before the latest one
	// is not stored, and a request does not wait for such an answer.
	gen      uint64
	entries  map[string]*cachedBody
	size     int
	inflight map[string]*flight

	results *prometheus.CounterVec
}

type cachedBody struct {
	body    []byte
	header  http.Header // Content-Type, ETag, Cache-Control
	etag    string
	expires time.Time
}

// flight is a computation other requests for the same key wait for.
type flight struct {
	done  chan struct{}
	gen   uint64
	entry *cachedBody // nil: the answer was not cacheable (an error, a 404)
}

func newRespCache(ttl time.Duration, reg prometheus.Registerer) *respCache {
	c := &respCache{
		ttl: ttl, now: time.Now,
		entries: map[string]*cachedBody{}, inflight: map[string]*flight{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_api_cache_requests_total",
			Help: "Read API requests by response cache outcome: hit, shared (waited for an identical request), miss, or bypass.",
		}, []string{"result"}),
	}
	reg.MustRegister(c.results)
	return c
}

func (c *respCache) enabled() bool { return c != nil && c.ttl > 0 }

// invalidate forgets every cached answer; writes call it once they are done.
func (c *respCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.gen++
	c.entries = map[string]*cachedBody{}
	c.size = 0
	c.mu.Unlock()
}

// generation is the current invalidation count, taken before reading data
// that put will store.
func (c *respCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// fresh returns the live entry of key, if any.
func (c *respCache) fresh(key string) *cachedBody {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && c.now().Before(e.expires) {
		return e
	}
	return nil
}

// put stores an answer computed from data read at generation gen, unless
// a write invalidated the cache since. Called with c.mu held.
func (c *respCache) putLocked(key string, e *cachedBody, gen uint64) {
	if gen != c.gen || len(e.body) > readCacheMaxBody {
		return
	}
	if old, ok := c.entries[key]; ok {
		c.size -= len(old.body)
	}
	c.entries[key] = e
	c.size += len(e.body)
	if c.size <= readCacheMaxBytes {
		return
	}
	// Over budget: drop what expired, then whatever comes first.
	now := c.now()
	for k, old := range c.entries {
		if !now.Before(old.expires) {
			delete(c.entries, k)
			c.size -= len(old.body)
		}
	}
	for k, old := range c.entries {
		if c.size <= readCacheMaxBytes*3/4 {
			break
		}
		if k != key {
			delete(c.entries, k)
			c.size -= len(old.body)
		}
	}
}

func (c *respCache) put(key string, e *cachedBody, gen uint64) {
	c.mu.Lock()
	c.putLocked(key, e, gen)
	c.mu.Unlock()
}

// newCachedBody wraps a 200 answer; header is what the handler set.
func newCachedBody(body []byte, header http.Header, ttl time.Duration, now time.Time) *cachedBody {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	etag := header.Get("ETag")
	if etag == "" {
		etag = etagOf(body)
	}
	h.Set("ETag", etag)
	if cc := header.Get("Cache-Control"); cc != "" {
		h.Set("Cache-Control", cc)
	} else {
		// Stored by browsers, but revalidated on every use.
		h.Set("Cache-Control", "no-cache")
	}
	return &cachedBody{body: body, header: h, etag: etag, expires: now.Add(ttl)}
}

// send writes a cached answer, or 304 when the client holds it already.
func (e *cachedBody) send(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	if etagMatches(r.Header.Get("If-None-Match"), e.etag) {
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return sendBody(w, http.StatusOK, e.body)
}

// etagMatches is If-None-Match's weak comparison.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, m := range strings.Split(header, ",") {
		m = strings.TrimPrefix(strings.TrimSpace(m), "W/")
		if m == etag || m == "*" {
			return true
		}
	}
	return false
}

// bodyRecorder captures what a handler writes, for the cache.
type bodyRecorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *bodyRecorder) Header() http.Header { return r.header }

func (r *bodyRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *bodyRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	// Copied: writers may reuse b (json.Encoder's buffer is pooled).
	r.body = append(r.body, b...)
	return len(b), nil
}

// replay writes a recorded answer that was not cached.
func (r *bodyRecorder) replay(w http.ResponseWriter) error {
	h := w.Header()
	for k, v := range r.header {
		h[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, err := w.Write(r.body)
	return err
}

// serve answers req from the cache, or computes the answer with handle
// (once for all concurrent identical requests) and caches it for ttl when
// it is a 200.
func (c *respCache) serve(w http.ResponseWriter, req bunrouter.Request, key string, ttl time.Duration,
	handle func(w http.ResponseWriter, req bunrouter.Request) error) error {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		c.results.WithLabelValues("hit").Inc()
		return e.send(w, req.Request)
	}
	if f, ok := c.inflight[key]; ok && f.gen == c.gen {
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-req.Context().Done():
			return req.Context().Err()
		}
		if f.entry != nil {
			c.results.WithLabelValues("shared").Inc()
			return f.entry.send(w, req.Request)
		}
		// The first request got an error or a 404: answer on our own.
		c.results.WithLabelValues("bypass").Inc()
		return handle(w, req)
	}
	f := &flight{done: make(chan struct{}), gen: c.gen}
	c.inflight[key] = f
	c.mu.Unlock()
	c.results.WithLabelValues("miss").Inc()

	// The cached answer must not depend on this client's validators.
	inner := req
	if req.Header.Get("If-None-Match") != "" || req.Header.Get("If-Modified-Since") != "" {
		inner = req.WithContext(req.Context())
		inner.Request.Header = req.Header.Clone()
		inner.Request.Header.Del("If-None-Match")
		inner.Request.Header.Del("If-Modified-Since")
	}
	rec := &bodyRecorder{header: http.Header{}}
	err := handle(rec, inner)
	if err == nil && (rec.status == http.StatusOK || rec.status == 0) {
		f.entry = newCachedBody(rec.body, rec.header, ttl, c.now())
	}
	c.mu.Lock()
	if c.inflight[key] == f {
		delete(c.inflight, key)
	}
	if f.entry != nil {
		c.putLocked(key, f.entry, f.gen)
	}
	c.mu.Unlock()
	close(f.done)
	switch {
	case err != nil:
		return err
	case f.entry == nil:
		return rec.replay(w)
	}
	return f.entry.send(w, req.Request)
}

// serveTagged answers with an ETag, and 304 when the client holds the
// answer already, without caching it.
func serveTagged(w http.ResponseWriter, req bunrouter.Request, handle func(w http.ResponseWriter, req bunrouter.Request) error) error {
	rec := &bodyRecorder{header: http.Header{}}
	if err := handle(rec, req); err != nil {
		return err
	}
	if rec.status != http.StatusOK && rec.status != 0 {
		return rec.replay(w)
	}
	return newCachedBody(rec.body, rec.header, 0, time.Time{}).send(w, req.Request)
}

// cacheKey names a request's answer: its path and query string, and for
// answers holding absolute links, the scheme and host they were built on.
func cacheKey(r *http.Request, absolute bool) string {
	key := pathKey(r.URL.Path, r.URL.RawQuery)
	if absolute {
		return absoluteURL(r, "") + "\x00" + key
	}
	return key
}

// pathKey is the cache key of a path and query for a response without
// absolute URLs in it; prefetches build the keys of requests to come with it.
func pathKey(path, rawQuery string) string {
	return path + "?" + rawQuery
}
