// Package logs holds the small job logs of the demo dataset and serves them,
// so that `make run` parses real-looking logs without reaching Firefox CI.
// They were written for herder (realistic mozharness, mochitest, xpcshell,
// reftest, web-platform-tests and build output, with errorsummary logs to
// match); they are not copies of Mozilla's logs.
package logs

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed files/*.log
var files embed.FS

// Prefix is where `herder serve` serves the demo logs.
const Prefix = "/demo/logs/"

// Names lists the demo logs.
func Names() []string {
	entries, _ := fs.ReadDir(files, "files")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// Read returns a demo log's text.
func Read(name string) ([]byte, bool) {
	if name == "" || strings.ContainsAny(name, "/\\") {
		return nil, false
	}
	b, err := files.ReadFile(path.Join("files", name))
	return b, err == nil
}

// Handler serves GET Prefix+name. Like Taskcluster, it sends the log
// gzip-encoded to clients that accept it.
func Handler() http.Handler {
	modified := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		b, ok := Read(strings.TrimPrefix(r.URL.Path, Prefix))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(b)
			zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			b = z.Bytes()
		}
		http.ServeContent(w, r, "", modified, bytes.NewReader(b))
	})
}
