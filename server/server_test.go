package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/server"
)

func newServer(t *testing.T) (*httptest.Server, *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SeedFailureClassifications(ctx); err != nil {
		t.Fatal(err)
	}
	dev := model.RepositoryGroup{ID: 1, Name: "development", Description: "where code lands"}
	order := 10
	if err := st.UpsertRepositories(ctx, []model.RepositoryGroup{dev}, []model.Repository{
		{ID: 1, Name: "mozilla-central", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/mozilla-central",
			Codebase: "gecko", ActiveStatus: "active", LifeCycleOrder: &order, TCRootURL: "https://firefox-ci-tc.services.mozilla.com"},
		{ID: 2, Name: "mozilla-inbound", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/integration/mozilla-inbound", ActiveStatus: "onhold"},
		{ID: 77, Name: "autoland", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/integration/autoland", ActiveStatus: "active"},
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Options{Store: st, Registry: prometheus.NewRegistry()}))
	t.Cleanup(srv.Close)
	return srv, st
}

func get(t *testing.T, srv *httptest.Server, method, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// keysInOrder returns an object's keys in the order they were written.
func keysInOrder(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestRepositoryList(t *testing.T) {
	srv, _ := newServer(t)
	code, hdr, body := get(t, srv, "GET", "/api/repository/")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, type %s", code, hdr.Get("Content-Type"))
	}
	var repos []json.RawMessage
	if err := json.Unmarshal(body, &repos); err != nil {
		t.Fatal(err)
	}
	if len(repos) != 2 {
		t.Fatalf("want the 2 active repositories, got %d: %s", len(repos), body)
	}
	want := []string{"id", "repository_group", "name", "dvcs_type", "url", "branch", "codebase", "description",
		"active_status", "life_cycle_order", "performance_alerts_enabled", "expire_performance_data",
		"is_try_repo", "tc_root_url", "accepts_pull_requests"}
	if got := keysInOrder(t, repos[0]); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("fields = %v\nwant   %v", got, want)
	}
	var first struct {
		ID              int64 `json:"id"`
		Name            string
		RepositoryGroup struct{ Name, Description string } `json:"repository_group"`
		LifeCycleOrder  *int                               `json:"life_cycle_order"`
	}
	if err := json.Unmarshal(repos[0], &first); err != nil {
		t.Fatal(err)
	}
	if first.ID != 1 || first.Name != "mozilla-central" || first.RepositoryGroup.Name != "development" ||
		first.LifeCycleOrder == nil || *first.LifeCycleOrder != 10 {
		t.Fatalf("first repository = %+v", first)
	}
}

func TestRepositoryDetailAndErrors(t *testing.T) {
	srv, _ := newServer(t)
	cases := []struct {
		method, path string
		status       int
		contains     string
	}{
		{"GET", "/api/repository/77/", 200, `"name":"autoland"`},
		{"GET", "/api/repository/2/", 404, `"detail"`}, // on hold: not served
		{"GET", "/api/repository/999/", 404, `"detail"`},
		{"GET", "/api/repository/abc/", 400, `"detail"`},
		{"GET", "/api/no-such-endpoint/", 404, `"detail"`},
		{"POST", "/api/repository/", 405, `"detail"`},
	}
	for _, c := range cases {
		code, hdr, body := get(t, srv, c.method, c.path)
		if code != c.status || !strings.Contains(string(body), c.contains) {
			t.Errorf("%s %s = %d %s, want %d containing %s", c.method, c.path, code, body, c.status, c.contains)
		}
		if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: content type %q, want JSON", c.method, c.path, hdr.Get("Content-Type"))
		}
	}
}

func TestFailureClassifications(t *testing.T) {
	srv, _ := newServer(t)
	code, _, body := get(t, srv, "GET", "/api/failureclassification/")
	var fcs []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &fcs); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if len(fcs) != 8 || fcs[0].Name != "not classified" || fcs[5].ID != 6 || fcs[5].Name != "new failure not classified" {
		t.Fatalf("classifications = %+v", fcs)
	}
}

func TestHealthReadinessMetrics(t *testing.T) {
	srv, st := newServer(t)
	if code, _, body := get(t, srv, "GET", "/healthz"); code != 200 {
		t.Fatalf("healthz %d %s", code, body)
	}
	if code, _, body := get(t, srv, "GET", "/readyz"); code != 200 || !strings.Contains(string(body), `"ready":true`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	if code, _, body := get(t, srv, "GET", "/metrics"); code != 200 || !strings.Contains(string(body), "herder_http_request_duration_seconds") {
		t.Fatalf("metrics %d lacks request histogram", code)
	}
	st.Close()
	if code, _, body := get(t, srv, "GET", "/readyz"); code != 503 || !strings.Contains(string(body), `"storage":"unavailable"`) {
		t.Fatalf("readyz with a closed database = %d %s", code, body)
	}
	if code, _, body := get(t, srv, "GET", "/api/repository/"); code != 500 || !strings.Contains(string(body), `"detail"`) || strings.Contains(string(body), "sql") {
		t.Fatalf("a database error must be a JSON 500 without internals: %d %s", code, body)
	}
}

func TestUIFallback(t *testing.T) {
	srv, _ := newServer(t)
	for _, p := range []string{"/", "/jobs?repo=autoland"} {
		code, hdr, body := get(t, srv, "GET", p)
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html") {
			t.Errorf("GET %s = %d %s", p, code, hdr.Get("Content-Type"))
		}
	}
}
