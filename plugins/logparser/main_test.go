package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/plugins/logparser/parse"
	"github.com/herder-ci/herder/plugins/logparser/processor"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// pluginBin is the logparser binary, built once for the package's tests.
var pluginBin string

func TestMain(m *testing.M) { plugintest.RunTestsWithPlugin(m, &pluginBin) }

// sharedLogs returns the shared Treeherder sample logs; testenv skips (or,
// in CI, fails) when the shared data is absent.
func sharedLogs(t testing.TB) string {
	t.Helper()
	return filepath.Join(testenv.SharedData(t), "logs")
}

// logServer serves the shared logs the ways Taskcluster does, and the
// failure modes a log parser meets:
//
//	/encoded/NAME   the .gz file with Content-Encoding: gzip (Treeherder's tests)
//	/gz/NAME        the .gz file as it is (gzip by content only)
//	/plain/NAME     the file decompressed
//	/status/N       HTTP status N
//	/big-length     a Content-Length over 5 MiB
//	/big-chunked    6 MiB without a Content-Length
//	/truncated      a gzip log cut in the middle
//	/garbage        random-looking binary bytes
//	/redirect?to=U  a redirect to U
//	/endless        a log that never ends, one line every 10 ms
func logServer(t *testing.T, logs string) *httptest.Server {
	t.Helper()
	read := func(w http.ResponseWriter, name string) []byte {
		b, err := os.ReadFile(filepath.Join(logs, filepath.Base(name)))
		if err != nil {
			http.NotFound(w, nil)
			return nil
		}
		return b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /encoded/{name}", func(w http.ResponseWriter, r *http.Request) {
		if b := read(w, r.PathValue("name")); b != nil {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(b)
		}
	})
	mux.HandleFunc("GET /gz/{name}", func(w http.ResponseWriter, r *http.Request) {
		if b := read(w, r.PathValue("name")); b != nil {
			w.Write(b)
		}
	})
	mux.HandleFunc("GET /plain/{name}", func(w http.ResponseWriter, r *http.Request) {
		b := read(w, r.PathValue("name"))
		if b == nil {
			return
		}
		if strings.HasSuffix(r.PathValue("name"), ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			b, _ = io.ReadAll(zr)
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		http.Error(w, "nope", code)
	})
	mux.HandleFunc("GET /big-length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(6<<20))
		w.Write(bytes.Repeat([]byte("x"), 6<<20))
	})
	mux.HandleFunc("GET /big-chunked", func(w http.ResponseWriter, r *http.Request) {
		line := []byte(strings.Repeat("a", 1023) + "\n")
		for i := 0; i < 6<<10; i++ {
			if _, err := w.Write(line); err != nil {
				return
			}
			if i%256 == 0 {
				w.(http.Flusher).Flush()
			}
		}
	})
	mux.HandleFunc("GET /truncated", func(w http.ResponseWriter, r *http.Request) {
		b := read(w, "mochitest-fail.log.gz")
		if b != nil {
			w.Write(b[:len(b)/2])
		}
	})
	mux.HandleFunc("GET /garbage", func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 1<<20)
		x := uint32(2463534242)
		for i := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[i] = byte(x)
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("GET /endless", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "line %d TEST-PASS | still going\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func startParser(t *testing.T, config string) *plugintest.ProcessorRun {
	t.Helper()
	return plugintest.StartProcessor(t, pluginBin, plugintest.ProcessorOptions{Name: "logparser", Config: []byte(config)})
}

// parseLog sends one log.parse task and decodes the result.
func parseLog(t *testing.T, p *plugintest.ProcessorRun, name, url string) (sdk.LogParseResult, error) {
	t.Helper()
	payload, _ := json.Marshal(sdk.LogParseTask{JobLogID: 1, JobID: 1, JobGUID: "g/0", Repository: "try", Name: name, URL: url})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := p.Process(ctx, sdk.Task{ID: "1", Kind: sdk.TaskLogParse, Payload: payload})
	if err != nil {
		return sdk.LogParseResult{}, err
	}
	var out sdk.LogParseResult
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("result is not a LogParseResult: %v: %s", err, res.Payload)
	}
	return out, nil
}

func mustParse(t *testing.T, p *plugintest.ProcessorRun, name, url string) sdk.LogParseResult {
	t.Helper()
	res, err := parseLog(t, p, name, url)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return res
}

func TestDescribe(t *testing.T) {
	p := startParser(t, `{"allowed_hosts": ["127.0.0.1"]}`)
	want := sdk.ProcessorInfo{Name: "logparser", Consumes: []string{"log.parse"}, Produces: []string{"log.parsed"},
		Concurrency: 4, AlgorithmVersion: fmt.Sprintf("logparser-%d", parse.Version)}
	if !reflect.DeepEqual(p.Info, want) {
		t.Fatalf("Describe = %+v, want %+v", p.Info, want)
	}
	if p := startParser(t, `{"concurrency": 9}`); p.Info.Concurrency != 9 {
		t.Errorf("configured concurrency: %d", p.Info.Concurrency)
	}
}

func TestConfigureRefusesBadSettings(t *testing.T) {
	for _, cfg := range []string{`{"allowed_hosts": ["https://example.org/"]}`, `{"timeout": "soon"}`,
		`{"max_download_bytes": -1}`, `{"alowed_hosts": []}`, `{"allowed_hosts": ["a.*.org"]}`} {
		if _, err := processor.ParseConfig([]byte(cfg)); err == nil {
			t.Errorf("config %s accepted", cfg)
		}
	}
}

// TestLogviewFixtures parses every shared *.log.gz that has a
// *.logview.json through the plugin binary, served gzip-encoded as
// Treeherder's tests serve them, as a .gz file and as plain text.
func TestLogviewFixtures(t *testing.T) {
	logs := sharedLogs(t)
	srv := logServer(t, logs)
	p := startParser(t, `{"allowed_hosts": ["127.0.0.1"]}`)
	// Uncompressed, some logs are over Treeherder's 5 MiB download cap.
	plain := startParser(t, `{"allowed_hosts": ["127.0.0.1"], "max_download_bytes": 67108864}`)
	views, _ := filepath.Glob(filepath.Join(logs, "*.logview.json"))
	if len(views) == 0 {
		t.Fatalf("no *.logview.json fixtures in %s", logs)
	}
	for _, view := range views {
		name := strings.TrimSuffix(filepath.Base(view), ".logview.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(view)
			if err != nil {
				t.Fatal(err)
			}
			var want parse.LogView
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			for i := range want.Errors {
				want.Errors[i].Line = parse.StoredLine(want.Errors[i].Line)
			}
			for _, how := range []string{"encoded", "gz", "plain"} {
				p := p
				if how == "plain" {
					p = plain
				}
				res := mustParse(t, p, sdk.LogLiveBacking, srv.URL+"/"+how+"/"+name+".log.gz")
				if res.Status != sdk.LogStatusParsed || res.Reason != "" {
					t.Fatalf("%s: status %q reason %q", how, res.Status, res.Reason)
				}
				if res.AlgorithmVersion != processor.AlgorithmVersion {
					t.Errorf("%s: algorithm version %q", how, res.AlgorithmVersion)
				}
				if len(res.Errors) != len(want.Errors) {
					t.Fatalf("%s: %d errors, want %d", how, len(res.Errors), len(want.Errors))
				}
				for i := range want.Errors {
					if res.Errors[i] != want.Errors[i] {
						t.Fatalf("%s: error %d = %+v, want %+v", how, i, res.Errors[i], want.Errors[i])
					}
				}
			}
		})
	}
}

func TestPerfBlobs(t *testing.T) {
	logs := sharedLogs(t)
	srv := logServer(t, logs)
	p := startParser(t, `{"allowed_hosts": ["127.0.0.1"]}`)
	for name, want := range map[string]int{"android-opt-build.txt.gz": 5, "win-aarch64-build.txt.gz": 4,
		"linux-awsy.txt.gz": 2, "geckodriver-sigining-mac.txt.gz": 0} {
		res := mustParse(t, p, sdk.LogLiveBacking, srv.URL+"/encoded/"+name)
		if res.Status != sdk.LogStatusParsed || len(res.PerfData) != want {
			t.Errorf("%s: status %s, %d perf blobs, want %d", name, res.Status, len(res.PerfData), want)
		}
		for _, blob := range res.PerfData {
			var v map[string]any
			if err := json.Unmarshal(blob, &v); err != nil || v["framework"] == nil {
				t.Errorf("%s: blob is not a perf artifact: %.200s", name, blob)
			}
		}
	}
}

// TestErrorSummaryFixtures: every shared errorsummary log through the
// plugin gives what package parse gives in process, and the
// mochitest-browser-chrome log the lines and groups Treeherder stores.
func TestErrorSummaryFixtures(t *testing.T) {
	logs := sharedLogs(t)
	srv := logServer(t, logs)
	p := startParser(t, `{"allowed_hosts": ["127.0.0.1"]}`)
	files, _ := filepath.Glob(filepath.Join(logs, "*errorsummary*.log"))
	if len(files) == 0 {
		t.Fatalf("no errorsummary fixtures in %s", logs)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			res := mustParse(t, p, sdk.LogErrorSummary, srv.URL+"/plain/"+name)
			if res.Status != sdk.LogStatusParsed {
				t.Fatalf("status %s: %s", res.Status, res.Reason)
			}
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			es, err := parse.ParseErrorSummary(context.Background(), fh, parse.SummaryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.FailureLines) != len(es.FailureLines) || len(res.Groups) != len(es.Groups) {
				t.Fatalf("%d lines %d groups, want %d and %d", len(res.FailureLines), len(res.Groups), len(es.FailureLines), len(es.Groups))
			}
			for i := range es.FailureLines {
				want := sdk.FailureLine(es.FailureLines[i])
				if len(want.KnownIntermittent) == 0 {
					want.KnownIntermittent = nil // omitted from the JSON when empty
				}
				if !reflect.DeepEqual(res.FailureLines[i], want) {
					t.Errorf("failure line %d = %+v, want %+v", i, res.FailureLines[i], es.FailureLines[i])
				}
			}
			for i := range es.Groups {
				if res.Groups[i] != sdk.GroupResult(es.Groups[i]) {
					t.Errorf("group %d = %+v, want %+v", i, res.Groups[i], es.Groups[i])
				}
			}
		})
	}
	t.Run("mochitest-browser-chrome counts", func(t *testing.T) {
		res := mustParse(t, p, sdk.LogErrorSummary, srv.URL+"/plain/mochitest-browser-chrome_errorsummary.log")
		ok, bad := 0, 0
		for _, g := range res.Groups {
			switch g.Status {
			case parse.GroupOK:
				ok++
			case parse.GroupError:
				bad++
			}
		}
		if len(res.FailureLines) != 5 || len(res.Groups) != 29 || ok != 26 || bad != 3 {
			t.Errorf("%d failure lines, %d groups (%d OK, %d ERROR); want 5, 29 (26, 3)", len(res.FailureLines), len(res.Groups), ok, bad)
		}
		if res.Groups[0].Group != "dom/base/test/browser.ini" {
			t.Errorf("first group %q", res.Groups[0].Group)
		}
	})
	t.Run("plain-chunked", func(t *testing.T) {
		res := mustParse(t, p, sdk.LogErrorSummary, srv.URL+"/plain/plain-chunked_errorsummary.log")
		if len(res.FailureLines) != 1 {
			t.Errorf("%d failure lines, want 1", len(res.FailureLines))
		}
	})
	t.Run("cutoff", func(t *testing.T) {
		p := startParser(t, `{"allowed_hosts": ["127.0.0.1"], "max_failure_lines": 5}`)
		res := mustParse(t, p, sdk.LogErrorSummary, srv.URL+"/plain/plain-chunked_errorsummary_10_lines.log")
		if len(res.FailureLines) != 6 || res.FailureLines[5].Action != "truncated" {
			t.Errorf("cutoff 5: %d lines (last %+v)", len(res.FailureLines), res.FailureLines[len(res.FailureLines)-1])
		}
	})
}

// TestDownloadOutcomes covers what is recorded, and what is retried.
func TestDownloadOutcomes(t *testing.T) {
	logs := sharedLogs(t)
	srv := logServer(t, logs)
	p := startParser(t, `{"allowed_hosts": ["127.0.0.1"]}`)

	for _, code := range []int{403, 404} {
		for _, name := range []string{sdk.LogLiveBacking, sdk.LogErrorSummary, "perfherder-data-build.json"} {
			res, err := parseLog(t, p, name, fmt.Sprintf("%s/status/%d?secret=hush", srv.URL, code))
			if err != nil {
				t.Fatalf("%d %s: error %v; want a failed result without retry", code, name, err)
			}
			if res.Status != sdk.LogStatusFailed || !strings.Contains(res.Reason, fmt.Sprint(code)) {
				t.Errorf("%d %s: %+v", code, name, res)
			}
			if strings.Contains(res.Reason, "hush") {
				t.Errorf("reason shows the query string: %s", res.Reason)
			}
		}
	}
	for _, code := range []int{500, 502, 429} {
		if res, err := parseLog(t, p, sdk.LogLiveBacking, fmt.Sprintf("%s/status/%d", srv.URL, code)); err == nil {
			t.Errorf("%d: result %+v, want an error so the host retries", code, res)
		} else if sdk.IsPermanent(err) {
			t.Errorf("%d: permanent error %v", code, err)
		}
	}
	if _, err := parseLog(t, p, sdk.LogLiveBacking, "http://127.0.0.1:1/refused.log"); err == nil {
		t.Error("connection refused: want an error to retry")
	}

	check := func(what, name, url, status, reason string) {
		t.Helper()
		res, err := parseLog(t, p, name, url)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.Status != status || !strings.Contains(res.Reason, reason) {
			t.Errorf("%s: status %q reason %q; want %q with %q", what, res.Status, res.Reason, status, reason)
		}
	}
	check("Content-Length over the cap", sdk.LogLiveBacking, srv.URL+"/big-length", sdk.LogStatusSkippedSize, "5242880")
	check("chunked body over the cap", sdk.LogLiveBacking, srv.URL+"/big-chunked", sdk.LogStatusSkippedSize, "download limit")
	check("truncated gzip", sdk.LogLiveBacking, srv.URL+"/truncated", sdk.LogStatusFailed, "gunzip: unexpected EOF")
	check("redirect to a host not allowed", sdk.LogLiveBacking, srv.URL+"/redirect?to=http://localhost:1/x.log",
		sdk.LogStatusFailed, "not in allowed_hosts")
	check("not a log name it parses", "builds-4h", srv.URL+"/plain/leak.log.gz", sdk.LogStatusFailed, "builds-4h")
	check("not http", sdk.LogLiveBacking, "file:///etc/passwd", sdk.LogStatusFailed, "only http and https")
	// An errorsummary that is not JSON lines fails with the line named.
	check("errorsummary garbage", sdk.LogErrorSummary, srv.URL+"/plain/leak.log.gz", sdk.LogStatusFailed, "errorsummary line 1")
	check("perf artifact not JSON", "perfherder-data.json", srv.URL+"/garbage", sdk.LogStatusFailed, "not valid JSON")

	// A redirect within the allowed hosts is followed.
	res := mustParse(t, p, sdk.LogLiveBacking, srv.URL+"/redirect?to=/encoded/leak.log.gz")
	if res.Status != sdk.LogStatusParsed || len(res.Errors) == 0 {
		t.Errorf("followed redirect: %+v", res)
	}
	// Binary garbage is a log without error lines, not a crash.
	if res := mustParse(t, p, sdk.LogLiveBacking, srv.URL+"/garbage"); res.Status != sdk.LogStatusParsed {
		t.Errorf("garbage: %+v", res)
	}
	// The plugin survived all of it.
	if res := mustParse(t, p, sdk.LogLiveBacking, srv.URL+"/encoded/leak.log.gz"); res.Status != sdk.LogStatusParsed {
		t.Errorf("after the bad inputs: %+v", res)
	}
}

func TestHostsNotAllowed(t *testing.T) {
	logs := sharedLogs(t)
	srv := logServer(t, logs)
	url := srv.URL + "/encoded/leak.log.gz"
	for cfg, reason := range map[string]string{
		`{"allowed_hosts": ["*.example.org", "127.0.0.1:1"]}`: "not in allowed_hosts",
		`{}`: "allowed_hosts is empty",
	} {
		p := startParser(t, cfg)
		res, err := parseLog(t, p, sdk.LogLiveBacking, url)
		if err != nil || res.Status != sdk.LogStatusFailed || !strings.Contains(res.Reason, reason) {
			t.Errorf("config %s: %+v, %v; want failed with %q", cfg, res, err, reason)
		}
	}
}

func TestLimits(t *testing.T) {
	logs := sharedLogs(t)
	srv := logServer(t, logs)
	p := startParser(t, `{"allowed_hosts": ["127.0.0.1"], "timeout": "1s", "max_log_bytes": 1000000}`)
	res := mustParse(t, p, sdk.LogLiveBacking, srv.URL+"/endless")
	if res.Status != sdk.LogStatusFailed || !strings.Contains(res.Reason, "not read within 1s") {
		t.Errorf("endless log: %+v", res)
	}
	res = mustParse(t, p, sdk.LogLiveBacking, srv.URL+"/encoded/leak.log.gz")
	if res.Status != sdk.LogStatusSkippedSize || !strings.Contains(res.Reason, "1000000 bytes uncompressed") {
		t.Errorf("log over max_log_bytes: %+v", res)
	}
}
