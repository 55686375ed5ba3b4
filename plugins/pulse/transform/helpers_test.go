package transform

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// sharedData finds ../shared/testdata/treeherder next to the module root, or
// skips the test.
func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package; shared test data unavailable")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "testdata", "treeherder")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared Treeherder test data not found at %s", p)
	}
	return p
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(readFile(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// asJSON round-trips v through encoding/json into plain maps and slices, the
// form fixtures are compared in.
func asJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonDiff lists the paths where got and want differ.
func jsonDiff(path string, got, want any) []string {
	if reflect.DeepEqual(got, want) {
		return nil
	}
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if gok && wok {
		keys := map[string]bool{}
		for k := range gm {
			keys[k] = true
		}
		for k := range wm {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			gv, gin := gm[k]
			wv, win := wm[k]
			switch {
			case !gin:
				out = append(out, fmt.Sprintf("%s.%s: missing, want %v", path, k, wv))
			case !win:
				out = append(out, fmt.Sprintf("%s.%s: unexpected %v", path, k, gv))
			default:
				out = append(out, jsonDiff(path+"."+k, gv, wv)...)
			}
		}
		return out
	}
	ga, gok := got.([]any)
	wa, wok := want.([]any)
	if gok && wok && len(ga) == len(wa) {
		var out []string
		for i := range ga {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), ga[i], wa[i])...)
		}
		return out
	}
	return []string{fmt.Sprintf("%s: got %v, want %v", path, got, want)}
}

func assertSameJSON(t testing.TB, name string, got, want any) {
	t.Helper()
	if diff := jsonDiff(name, asJSON(t, got), asJSON(t, want)); len(diff) > 0 {
		t.Errorf("%s differs from the fixture:\n  %s", name, strings.Join(diff, "\n  "))
	}
}

// fakeUpstream is one TLS server answering for every host (taskcluster.net,
// hg.mozilla.org, api.github.com, ...): the test transport dials it whatever
// the URL says, so URLs in the output keep their real hosts.
type fakeUpstream struct {
	srv *httptest.Server
	mu  sync.Mutex
	// routes maps "host/path" (no query) to a handler.
	routes map[string]http.HandlerFunc
	hits   map[string]int
}

func newFakeUpstream(t testing.TB) *fakeUpstream {
	f := &fakeUpstream{routes: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Host + r.URL.Path
		f.mu.Lock()
		h, ok := f.routes[key]
		f.hits[key]++
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"message":"not found"}`, http.StatusNotFound)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUpstream) handle(hostPath string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[hostPath] = h
}

func (f *fakeUpstream) serveJSON(hostPath string, body []byte) {
	f.handle(hostPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

func (f *fakeUpstream) hitCount(hostPath string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[hostPath]
}

// transport dials the fake for every host and trusts its certificate.
func (f *fakeUpstream) transport() http.RoundTripper {
	addr := f.srv.Listener.Addr().String()
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		// The fake's certificate names 127.0.0.1, not the real hosts.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test fake only
	}
}

func (f *fakeUpstream) client(t testing.TB, opts HTTPOptions) *HTTPClient {
	t.Helper()
	if opts.AllowedHosts == nil {
		opts.AllowedHosts = []string{"taskcluster.net", "hg.mozilla.org", "api.github.com"}
	}
	if opts.Transport == nil {
		opts.Transport = f.transport()
	}
	if opts.BaseBackoff == 0 {
		opts.BaseBackoff = time.Millisecond
	}
	c, err := NewHTTPClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
