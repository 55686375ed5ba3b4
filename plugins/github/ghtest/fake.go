// Package ghtest is a fake GitHub REST API for tests: JSON resources with
// ETags (a matching If-None-Match is answered 304), Link-header pagination,
// redirects, plain-text bodies and scripted rate-limit answers, with hit
// counts per path.
package ghtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Fake is the fake API server.
type Fake struct {
	Server *httptest.Server

	mu          sync.Mutex
	resources   map[string]*resource
	hits        map[string]int
	notMod      map[string]int
	queries     map[string][]string
	auth        map[string][]string
	scripted    map[string][]Answer
	token       string
	tokenStatus int
}

type resource struct {
	pages    [][]byte
	etag     string
	location string
	text     bool
}

// Answer is a scripted answer: status, headers and body.
type Answer struct {
	Status int
	Header map[string]string
	Body   string
}

// New starts a fake API; it stops when the test ends.
func New(t testing.TB) *Fake {
	f := &Fake{resources: map[string]*resource{}, hits: map[string]int{}, notMod: map[string]int{},
		queries: map[string][]string{}, auth: map[string][]string{}, scripted: map[string][]Answer{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Server.Close)
	return f
}

// URL is the API root.
func (f *Fake) URL() string { return f.Server.URL }

// Host is the API's host:port.
func (f *Fake) Host() string { return strings.TrimPrefix(f.Server.URL, "http://") }

// RequireToken makes every request without "Authorization: Bearer token"
// fail with status (GitHub answers 401 on most endpoints, 403 on job logs).
func (f *Fake) RequireToken(token string, status int) {
	f.mu.Lock()
	f.token, f.tokenStatus = token, status
	f.mu.Unlock()
}

func etagOf(pages [][]byte) string {
	h := sha256.New()
	for _, p := range pages {
		h.Write(p)
		h.Write([]byte{0})
	}
	return `W/"` + hex.EncodeToString(h.Sum(nil))[:16] + `"`
}

// JSON serves body at path (any query), with an ETag of its content.
func (f *Fake) JSON(path string, body []byte) { f.Pages(path, body) }

// Pages serves a paginated listing: page n (?page=n, from 1) is pages[n-1],
// with a Link rel="next" header while there are more. The ETag covers
// every page.
func (f *Fake) Pages(path string, pages ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resources[path] = &resource{pages: pages, etag: etagOf(pages)}
}

// Text serves a plain-text body at path, without an ETag.
func (f *Fake) Text(path, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resources[path] = &resource{pages: [][]byte{[]byte(body)}, text: true}
}

// Redirect answers 302 to location at path.
func (f *Fake) Redirect(path, location string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resources[path] = &resource{location: location}
}

// Remove stops serving path (404 from then on).
func (f *Fake) Remove(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.resources, path)
}

// Script makes the next requests to path get these answers, one each,
// before the resource is served again.
func (f *Fake) Script(path string, answers ...Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripted[path] = append(f.scripted[path], answers...)
}

// Hits is the number of requests to path, 304s and scripted answers
// included.
func (f *Fake) Hits(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// TotalHits is the number of requests to every path.
func (f *Fake) TotalHits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, h := range f.hits {
		n += h
	}
	return n
}

// NotModified is the number of 304 answers at path.
func (f *Fake) NotModified(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notMod[path]
}

// Queries are the query strings requested at path, in order.
func (f *Fake) Queries(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries[path]...)
}

// Authorizations are the Authorization headers sent to path, in order.
func (f *Fake) Authorizations(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth[path]...)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	f.mu.Lock()
	f.hits[path]++
	f.queries[path] = append(f.queries[path], r.URL.RawQuery)
	f.auth[path] = append(f.auth[path], r.Header.Get("Authorization"))
	token, tokenStatus := f.token, f.tokenStatus
	var answer *Answer
	if s := f.scripted[path]; len(s) > 0 {
		answer = &s[0]
		f.scripted[path] = s[1:]
	}
	res := f.resources[path]
	f.mu.Unlock()

	w.Header().Set("X-RateLimit-Limit", "5000")
	if answer != nil {
		for k, v := range answer.Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(answer.Status)
		fmt.Fprint(w, answer.Body)
		return
	}
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(tokenStatus)
		fmt.Fprint(w, `{"message": "Must have admin rights to Repository."}`)
		return
	}
	if res == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message": "Not Found"}`)
		return
	}
	if res.location != "" {
		http.Redirect(w, r, res.location, http.StatusFound)
		return
	}
	if res.text {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, string(res.pages[0]))
		return
	}
	w.Header().Set("X-RateLimit-Remaining", "4999")
	page := 1
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 0 {
		page = p
	}
	if page == 1 && res.etag != "" && r.Header.Get("If-None-Match") == res.etag {
		f.mu.Lock()
		f.notMod[path]++
		f.mu.Unlock()
		w.Header().Set("ETag", res.etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if page > len(res.pages) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[]`)
		return
	}
	if page < len(res.pages) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		next := url.URL{Scheme: "http", Host: r.Host, Path: path, RawQuery: q.Encode()}
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
	}
	w.Header().Set("ETag", res.etag)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(res.pages[page-1])
}
