package server_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/server"
)

// logNames are the logs of job "w1/0", each served by newLogHost as its
// name says.
var logNames = []string{"plain.log", "gz.log", "file.log.gz", "big.log", "bigchunked.log", "bomb.log.gz", "missing.log",
	"redirect.log", "slow.log", "truncated.log", "corrupt.log", "disallowed.log"}

const logText = "[task 2024-05-01T12:00:00.000Z] TEST-UNEXPECTED-FAIL | test_a.html | boom\r\nline two\n"

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newLogHost serves the test logs. The proxy's limits in newWriteEnv are
// 1 MiB read from the host and a 1-second timeout.
func newLogHost(t testing.TB) *httptest.Server {
	t.Helper()
	gz := gzipped(t, []byte(logText))
	bomb := gzipped(t, bytes.Repeat([]byte("a"), 3<<20))
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/plain.log", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, logText) })
	mux.HandleFunc("/gz.log", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz)
	})
	mux.HandleFunc("/file.log.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(gz)
	})
	mux.HandleFunc("/big.log", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(2<<20))
		w.Write(bytes.Repeat([]byte("b"), 2<<20))
	})
	mux.HandleFunc("/bigchunked.log", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 32; i++ {
			w.Write(bytes.Repeat([]byte("c"), 64<<10))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/bomb.log.gz", func(w http.ResponseWriter, r *http.Request) { w.Write(bomb) })
	mux.HandleFunc("/missing.log", http.NotFound)
	mux.HandleFunc("/redirect.log", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/plain.log", http.StatusFound)
	})
	mux.HandleFunc("/slow.log", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/truncated.log", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write([]byte("only the start"))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/corrupt.log", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, "this is not gzip at all")
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (e *writeEnv) testRawLog(t *testing.T) {
	c := e.srv.Client()
	raw := func(name string) string {
		return e.url(fmt.Sprintf("/api/project/mozilla-central/job-log-url/%d/raw/", e.logs[name]))
	}
	identity := []string{"Accept-Encoding", "identity"}
	for _, name := range []string{"plain.log", "gz.log", "file.log.gz"} {
		r := request(t, c, "GET", raw(name), nil, identity...)
		if r.status != 200 || string(r.body) != logText || r.header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Content-Encoding") != "" {
			t.Errorf("%s: %d %q %v", name, r.status, r.body, r.header)
		}
	}
	// A client that takes gzip gets the compressed bytes as they came.
	for _, name := range []string{"gz.log", "file.log.gz"} {
		r := request(t, c, "GET", raw(name), nil, "Accept-Encoding", "gzip")
		if r.status != 200 || r.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s with gzip: %d %v", name, r.status, r.header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(zr); err != nil || string(b) != logText {
			t.Fatalf("%s with gzip: %q, %v", name, b, err)
		}
	}
	for name, want := range map[string]struct {
		status int
		detail string
	}{
		"big.log":        {502, "more than the proxy's 1048576-byte limit"},
		"missing.log":    {404, "404 Not Found"},
		"redirect.log":   {403, "redirected outside allowed_hosts"},
		"slow.log":       {504, "did not answer in time"},
		"corrupt.log":    {502, "not valid gzip"},
		"disallowed.log": {403, "is not in allowed_hosts"},
	} {
		r := request(t, c, "GET", raw(name), nil, identity...)
		if r.status != want.status || !strings.Contains(r.detail(), want.detail) {
			t.Errorf("%s: %d %s, want %d %q", name, r.status, r.body, want.status, want.detail)
		}
	}
	// Failures after the headers went out cut the connection: the client
	// sees an error, never a short log that looks complete.
	for _, name := range []string{"bigchunked.log", "truncated.log", "bomb.log.gz"} {
		req, _ := http.NewRequest("GET", raw(name), nil)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := c.Do(req)
		if err != nil {
			continue
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("%s: read a whole answer (status %d); want a broken connection", name, resp.StatusCode)
		}
	}
	for path, status := range map[string]int{
		"/api/project/mozilla-central/job-log-url/999999/raw/":                        404,
		"/api/project/nope/job-log-url/1/raw/":                                        404,
		"/api/project/mozilla-central/job-log-url/x/raw/":                             400,
		fmt.Sprintf("/api/project/autoland/job-log-url/%d/raw/", e.logs["plain.log"]): 404,
	} {
		if r := request(t, c, "GET", e.url(path), nil); r.status != status || r.detail() == "" {
			t.Errorf("GET %s: %d %s, want %d", path, r.status, r.body, status)
		}
	}
	// Without allowed hosts the proxy is off, and says so with 501 so the
	// viewer fetches the log itself.
	off := httptest.NewServer(server.New(server.Options{Store: e.st, Registry: prometheus.NewRegistry()}))
	defer off.Close()
	if r := request(t, off.Client(), "GET", off.URL+fmt.Sprintf("/api/project/mozilla-central/job-log-url/%d/raw/", e.logs["plain.log"]), nil); r.status != 501 {
		t.Errorf("proxy off: %d %s", r.status, r.body)
	}
}
