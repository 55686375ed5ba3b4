package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/server"
)

// get fetches a URL with optional header pairs and returns status, header
// and body.
func fetchURL(t *testing.T, u string, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// cacheCount reads herder_api_cache_requests_total{result} from /metrics.
func cacheCount(t *testing.T, base, result string) int {
	t.Helper()
	_, _, body := fetchURL(t, base+"/metrics")
	m := regexp.MustCompile(`herder_api_cache_requests_total\{result="` + result + `"\} (\d+)`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestReadCacheAnswers checks the cached answers of the hot reads equal a
// cache-less server's byte for byte, carry an ETag that a revalidation
// answers with 304, and that a push list asked as the UI does (full=true)
// answers its pushes' status requests in advance.
func TestReadCacheAnswers(t *testing.T) {
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			e := newAPIEnv(t, backend)
			plain := httptest.NewServer(server.New(server.Options{Store: e.st, Registry: prometheus.NewRegistry(), ReadCacheTTL: -1}))
			t.Cleanup(plain.Close)

			list := "/api/project/mozilla-central/push/?count=5&full=true"
			_, _, body := fetchURL(t, e.srv.URL+list)
			ids := regexp.MustCompile(`\{"id":(\d+),`).FindAllSubmatch(body, -1)
			if len(ids) != 5 {
				t.Fatalf("push list: %s", body)
			}
			hits := cacheCount(t, e.srv.URL, "hit")
			var statuses []string
			for _, id := range ids {
				statuses = append(statuses, "/api/project/mozilla-central/push/"+string(id[1])+"/status/")
			}
			for _, p := range statuses {
				if code, _, _ := fetchURL(t, e.srv.URL+p); code != 200 {
					t.Fatalf("%s: %d", p, code)
				}
			}
			if got := cacheCount(t, e.srv.URL, "hit") - hits; got != len(statuses) {
				t.Errorf("%d of the %d status requests after the push list were cache hits", got, len(statuses))
			}

			push := strconv.FormatInt(e.push, 10)
			paths := append([]string{
				list,
				"/api/project/mozilla-central/push/?count=2",
				"/api/project/mozilla-central/push/" + push + "/",
				"/api/project/mozilla-central/push/" + push + "/status/",
				"/api/project/mozilla-central/push/health_summary/?revision=" + fixtureRev,
				"/api/jobs/?push_id=" + push + "&count=2",
				"/api/jobs/?push_id=" + push + "&count=2&page=2",
				// A poll: not cached, but tagged.
				"/api/jobs/?push_id=" + push + "&last_modified__gt=2000-01-01T00:00:00",
				"/api/project/mozilla-central/jobs/?count=3",
				"/api/optioncollectionhash/",
				"/api/machineplatforms/",
				"/api/repository/",
				"/api/repository/1/",
				"/api/failureclassification/",
			}, statuses...)
			for _, p := range paths {
				code, h, cached := fetchURL(t, e.srv.URL+p)
				_, _, again := fetchURL(t, e.srv.URL+p)
				_, _, want := fetchURL(t, plain.URL+p)
				// Absolute links name the server they came from.
				want = bytes.ReplaceAll(want, []byte(plain.URL), []byte(e.srv.URL))
				if code != 200 || !bytes.Equal(cached, want) || !bytes.Equal(again, want) {
					t.Errorf("%s: %d\n cached %.300s\n again  %.300s\n want   %.300s", p, code, cached, again, want)
					continue
				}
				etag := h.Get("ETag")
				if etag == "" || h.Get("Content-Type") != "application/json" {
					t.Errorf("%s: headers %v", p, h)
					continue
				}
				if code, _, body := fetchURL(t, e.srv.URL+p, "If-None-Match", etag); code != 304 || len(body) != 0 {
					t.Errorf("%s with If-None-Match %s: %d %q", p, etag, code, body)
				}
				if code, _, body := fetchURL(t, e.srv.URL+p, "If-None-Match", `W/`+etag+`, "other"`); code != 304 || len(body) != 0 {
					t.Errorf("%s with a weak If-None-Match list: %d %q", p, code, body)
				}
				if code, _, body := fetchURL(t, e.srv.URL+p, "If-None-Match", `"stale"`); code != 200 || !bytes.Equal(body, want) {
					t.Errorf("%s with a stale If-None-Match: %d %.100s", p, code, body)
				}
			}
			// Errors are never cached.
			for i := 0; i < 2; i++ {
				if code, _, body := fetchURL(t, e.srv.URL+"/api/project/mozilla-central/push/999999/status/"); code != 404 ||
					!strings.Contains(string(body), "No push with id: 999999") {
					t.Fatalf("unknown push's status: %d %s", code, body)
				}
			}
		})
	}
}

// TestReadCacheSeesOwnWrites checks a write through this server shows in
// its next read at once, cached answer or not.
func TestReadCacheSeesOwnWrites(t *testing.T) {
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			e := newWriteEnv(t, backend, nil)
			ids, err := e.st.PushIDs(context.Background(), e.central, []string{strings.Repeat("a", 40)})
			if err != nil {
				t.Fatal(err)
			}
			status := e.url(fmt.Sprintf("/api/project/mozilla-central/push/%d/status/", ids[strings.Repeat("a", 40)]))
			jobs := e.url(fmt.Sprintf("/api/jobs/?push_id=%d", ids[strings.Repeat("a", 40)]))
			before := `{"completed":2,"pending":0,"running":0,"testfailed":2}`
			for i := 0; i < 2; i++ {
				if _, _, body := fetchURL(t, status); string(body) != before {
					t.Fatalf("status before: %s", body)
				}
			}
			_, h, _ := fetchURL(t, jobs)
			etag := h.Get("ETag")
			if code, _, _ := fetchURL(t, jobs, "If-None-Match", etag); code != 304 {
				t.Fatalf("jobs revalidated: %d", code)
			}
			note := map[string]any{"job_id": e.jobs["w1/0"], "failure_classification_id": 4, "text": "intermittent"}
			if r := request(t, http.DefaultClient, "POST", e.url("/api/project/mozilla-central/note/"), note, bearerHeader(e.sheriff)...); r.status != 200 {
				t.Fatalf("note: %d %s", r.status, r.body)
			}
			if _, _, body := fetchURL(t, status); string(body) != `{"completed":1,"pending":0,"running":0,"testfailed":1}` {
				t.Fatalf("status after classifying a job: %s", body)
			}
			// The jobs page changed (a failure_classification_id), so the old
			// ETag no longer matches.
			if code, _, body := fetchURL(t, jobs, "If-None-Match", etag); code != 200 || !strings.Contains(string(body), "[4,"+strconv.FormatInt(e.jobs["w1/0"], 10)+",") {
				t.Fatalf("jobs after classifying one: %d %.300s", code, body)
			}
		})
	}
}
