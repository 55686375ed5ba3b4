package processor

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/sdk"
)

func TestHostAllowed(t *testing.T) {
	patterns := []string{"firefox-ci-tc.services.mozilla.com", "*.taskcluster-artifacts.net", "127.0.0.1:8080", "[::1]:9000", "LocalHost"}
	for raw, want := range map[string]bool{
		"https://firefox-ci-tc.services.mozilla.com/api/queue/v1/task/x": true,
		"http://firefox-ci-tc.services.mozilla.com:8443/x":               true, // no port in the entry: any port
		"https://FIREFOX-CI-TC.services.mozilla.com./x":                  true,
		"https://a.b.taskcluster-artifacts.net/x":                        true,
		"https://taskcluster-artifacts.net/x":                            false, // *. needs a subdomain
		"https://evil-taskcluster-artifacts.net/x":                       false,
		"https://firefox-ci-tc.services.mozilla.com.evil.org/x":          false,
		"http://127.0.0.1:8080/demo/logs/a.log":                          true,
		"http://127.0.0.1:8081/demo/logs/a.log":                          false,
		"http://127.0.0.1/x":                                             false,
		"http://[::1]:9000/x":                                            true,
		"http://localhost:1234/x":                                        true,
		"ftp://firefox-ci-tc.services.mozilla.com/x":                     false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := sdk.HostAllowed(patterns, u); got != want {
			t.Errorf("%s: allowed %v, want %v", raw, got, want)
		}
	}
	u, _ := url.Parse("https://anything.example/x")
	if !sdk.HostAllowed([]string{"*"}, u) || sdk.HostAllowed(nil, u) {
		t.Error(`"*" must allow every host and no patterns none`)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"allowed_hosts": ["a.org"], "timeout": 30}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxDownloadBytes != 5<<20 || c.MaxLogBytes != 1<<30 || c.MaxPerfBytes != 5<<20 ||
		time.Duration(c.Timeout) != 30*time.Second || c.Concurrency != 4 || !strings.HasPrefix(c.UserAgent, "herder-logparser/") {
		t.Errorf("defaults: %+v", c)
	}
	if c, err := ParseConfig(nil); err != nil || time.Duration(c.Timeout) != 2*time.Minute {
		t.Errorf("empty config: %+v %v", c, err)
	}
}

func TestLimitedBody(t *testing.T) {
	for _, tc := range []struct {
		size, limit int
		over        bool
	}{{10, 10, false}, {11, 10, true}, {5, 0, false}, {1 << 20, 1000, true}} {
		b := &LimitedBody{r: bytes.NewReader(make([]byte, tc.size)), limit: int64(tc.limit)}
		var buf bytes.Buffer
		_, err := buf.ReadFrom(b)
		var o *Outcome
		if got := errors.As(err, &o); got != tc.over || b.over != tc.over {
			t.Errorf("size %d limit %d: err %v over %v", tc.size, tc.limit, err, b.over)
		}
		if tc.over && (o.Status != sdk.LogStatusSkippedSize || b.N() != int64(tc.limit)) {
			t.Errorf("size %d limit %d: %+v after %d bytes", tc.size, tc.limit, o, b.N())
		}
	}
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestPerfArtifacts(t *testing.T) {
	bodies := map[string][]byte{
		"/ok.json":      []byte(`{"framework": {"name": "build_metrics"}, "suites": []}`),
		"/ok.json.gz":   gz(`{"framework": {"name": "awsy"},` + "\n" + ` "suites": []}`),
		"/empty.json":   []byte(`{}`),
		"/emptyarr":     []byte(` [] `),
		"/list.json":    []byte(`[1]`),
		"/broken.json":  []byte(`{"framework": `),
		"/big.json":     []byte(`{"x": "` + strings.Repeat("a", 200) + `"}`),
		"/nan.json":     []byte(`{"suites": NaN}`),
		"/encoded.json": gz(`{"framework": {"name": "talos"}, "suites": []}`),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/encoded.json" {
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Write(bodies[r.URL.Path])
	}))
	defer srv.Close()
	p, err := NewWithConfig(Config{AllowedHosts: []string{"127.0.0.1"}, MaxPerfBytes: 100}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/ok.json": `{"framework":{"name":"build_metrics"},"suites":[]}`, "/ok.json.gz": `{"framework":{"name":"awsy"},"suites":[]}`,
		"/encoded.json": `{"framework":{"name":"talos"},"suites":[]}`, "/empty.json": "", "/emptyarr": "",
		"/list.json": "failed: performance artifact is not a JSON object", "/broken.json": "failed: performance artifact is not valid JSON",
		"/big.json": "skipped-size: log is 209 bytes, more than the 100-byte download limit", "/nan.json": "failed: performance artifact is not valid JSON",
	} {
		res, err := p.Parse(context.Background(), sdk.LogParseTask{Name: "perfherder-data-building.json", URL: srv.URL + path})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var got string
		switch {
		case res.Status != sdk.LogStatusParsed:
			got = res.Status + ": " + res.Reason
		case len(res.PerfData) == 1:
			got = string(res.PerfData[0])
		case len(res.PerfData) > 1:
			t.Fatalf("%s: %d blobs", path, len(res.PerfData))
		}
		if !strings.HasPrefix(got, want) || (want == "" && got != "") {
			t.Errorf("%s: got %q, want %q", path, got, want)
		}
		if res.AlgorithmVersion != AlgorithmVersion {
			t.Errorf("%s: version %q", path, res.AlgorithmVersion)
		}
	}
}

func TestLogKind(t *testing.T) {
	for name, want := range map[string]string{
		"live_backing_log": KindRaw, "errorsummary_json": KindSummary, "perfherder-data.json": KindPerf,
		"perfherder-data-building.json": KindPerf, "perfherder_data_resource-usage.json": KindPerf, "builds-4h": "",
	} {
		if got := LogKind(name); got != want {
			t.Errorf("LogKind(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRawSummaryOutcomes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.NotFound(w, r)
		case "/ok":
			w.Write(gz("12:00:00     INFO - TEST-UNEXPECTED-FAIL | a.js | boom\n"))
		}
	}))
	defer srv.Close()
	p, _ := NewWithConfig(Config{AllowedHosts: []string{"*"}}, nil, nil)
	sum, err := p.RawSummary(context.Background(), srv.URL+"/ok")
	if err != nil || len(sum.Errors) != 1 || sum.Errors[0].LineNumber != 0 {
		t.Fatalf("ok: %+v %v", sum, err)
	}
	_, err = p.RawSummary(context.Background(), srv.URL+"/gone")
	var o *Outcome
	if !errors.As(err, &o) || o.Status != sdk.LogStatusFailed {
		t.Fatalf("gone: %v", err)
	}
}

func TestProcessRejectsBadTasks(t *testing.T) {
	p := New(nil)
	if _, err := p.Process(context.Background(), sdk.Task{Kind: "bugs.match"}); !sdk.IsPermanent(err) {
		t.Errorf("wrong kind: %v", err)
	}
	if _, err := p.Process(context.Background(), sdk.Task{Kind: sdk.TaskLogParse, Payload: []byte("{")}); !sdk.IsPermanent(err) {
		t.Errorf("bad payload: %v", err)
	}
}
