package processor

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/herder-ci/herder/sdk"
)

// sharedLog reads one shared Treeherder sample log (module root
// ../shared/testdata/treeherder/logs), or skips.
func sharedLog(tb testing.TB, name string) []byte {
	tb.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("no go.mod above the package directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "..", "shared", "testdata", "treeherder", "logs", name))
	if err != nil {
		tb.Skipf("shared sample log %s not found: %v", name, err)
	}
	return b
}

// BenchmarkParseOverHTTP is one log through the plugin's whole path
// (download from a local server, gunzip by header and content, parse,
// stored form), as MB/s of uncompressed log.
func BenchmarkParseOverHTTP(b *testing.B) {
	gz := sharedLog(b, "win-aarch64-build.txt.gz")
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		b.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz)
	}))
	defer srv.Close()
	p, err := NewWithConfig(Config{AllowedHosts: []string{"127.0.0.1"}}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	task := sdk.LogParseTask{Name: sdk.LogLiveBacking, URL: srv.URL + "/live_backing.log"}
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := p.Parse(context.Background(), task)
		if err != nil || res.Status != sdk.LogStatusParsed || len(res.PerfData) != 4 {
			b.Fatalf("%+v %v", res.Status, err)
		}
	}
}
