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

	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
)

// sharedLog reads one shared Treeherder sample log; testenv skips (or, in
// CI, fails) when the shared data is absent.
func sharedLog(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedData(tb), "logs", name))
	if err != nil {
		tb.Fatalf("shared sample log %s: %v", name, err)
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
