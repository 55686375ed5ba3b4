package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/oidctest"
	"github.com/herder-ci/herder/server"
)

type fakePlugins struct {
	reloaded []string
	fail     error
}

func (f *fakePlugins) PluginStatus() any {
	return []map[string]any{{"name": "pulse", "state": "running"}}
}

func (f *fakePlugins) ReloadPlugin(ctx context.Context, name string) error {
	if name != "pulse" {
		return fmt.Errorf("plugin %q: %w", name, server.ErrNotFound)
	}
	if f.fail != nil {
		return f.fail
	}
	f.reloaded = append(f.reloaded, name)
	return nil
}

func token(t *testing.T, st *sqlstore.Store, user, role string) string {
	t.Helper()
	u, err := st.EnsureUser(context.Background(), user, user, role == model.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	tok, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateToken(context.Background(), u.ID, "test", role, hash); err != nil {
		t.Fatal(err)
	}
	return tok
}

func call(t *testing.T, base, method, path, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPluginAdminNeedsAnAdminToken(t *testing.T) {
	_, st := newServer(t)
	plugins := &fakePlugins{}
	srv := httptest.NewServer(server.New(server.Options{Store: st, Tokens: st, Plugins: plugins, Registry: prometheus.NewRegistry()}))
	defer srv.Close()
	admin := token(t, st, "admin@example.com", model.RoleAdmin)
	sheriff := token(t, st, "sheriff@example.com", model.RoleSheriff)

	cases := []struct {
		method, path, tok string
		status            int
		contains          string
	}{
		{"GET", "/api/admin/plugins/", "", 401, "Authentication credentials were not provided."},
		{"GET", "/api/admin/plugins/", "hdr_not-a-real-token", 401, "Invalid token."},
		{"GET", "/api/admin/plugins/", "garbage", 401, "Invalid token."},
		{"GET", "/api/admin/plugins/", sheriff, 403, "permission"},
		{"POST", "/api/admin/plugins/pulse/reload/", sheriff, 403, "permission"},
		{"GET", "/api/admin/plugins/", admin, 200, `"state":"running"`},
		{"POST", "/api/admin/plugins/nope/reload/", admin, 404, "No plugin named nope"},
		{"POST", "/api/admin/plugins/pulse/reload/", admin, 200, "reloaded pulse"},
	}
	for _, c := range cases {
		code, body := call(t, srv.URL, c.method, c.path, c.tok)
		if code != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s (token %.8s) = %d %s, want %d with %q", c.method, c.path, c.tok, code, body, c.status, c.contains)
		}
	}
	if len(plugins.reloaded) != 1 {
		t.Fatalf("reloads = %v: refused calls must not reload", plugins.reloaded)
	}
	// A revoked token stops working at once.
	list, _ := st.Tokens(context.Background())
	for _, tk := range list {
		if tk.User.Username == "admin@example.com" {
			if err := st.RevokeToken(context.Background(), tk.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if code, _ := call(t, srv.URL, "GET", "/api/admin/plugins/", admin); code != 401 {
		t.Fatalf("revoked token answered %d", code)
	}
	plugins.fail = fmt.Errorf("checksum mismatch for pulse")
	second := token(t, st, "admin2@example.com", model.RoleAdmin)
	code, body := call(t, srv.URL, "POST", "/api/admin/plugins/pulse/reload/", second)
	var e struct{ Detail string }
	_ = json.Unmarshal([]byte(body), &e)
	if code != 409 || !strings.Contains(e.Detail, "checksum mismatch") {
		t.Fatalf("failed reload = %d %s", code, body)
	}
}

// The plugin admin API also takes a signed-in admin's session, with the
// CSRF check for the reload (a POST) as for other session writes.
func TestPluginAdminTakesAnAdminSession(t *testing.T) {
	plugins := &fakePlugins{}
	e, p := newLoginEnv(t, "sqlite", func(o *server.Options) { o.Plugins = plugins })
	admin, sheriff := newBrowser(t), newBrowser(t)
	e.signIn(t, admin, p, oidctest.User{Subject: "a1", Email: "plugin-admin@example.com", EmailVerified: true, Groups: []string{"admins"}}, "/")
	e.signIn(t, sheriff, p, oidctest.User{Subject: "s1", Email: "plugin-sheriff@example.com", EmailVerified: true, Groups: []string{"sheriffs"}}, "/")
	token := admin.cookie(e.srv.URL, "csrftoken")
	reload := e.url("/api/admin/plugins/pulse/reload/")

	if r := request(t, admin.Client, "GET", e.url("/api/admin/plugins/"), nil); r.status != 200 || !strings.Contains(string(r.body), `"state":"running"`) {
		t.Fatalf("plugin status as a signed-in admin: %d %s", r.status, r.body)
	}
	if r := request(t, sheriff.Client, "GET", e.url("/api/admin/plugins/"), nil); r.status != 403 {
		t.Fatalf("plugin status as a signed-in sheriff: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		c       *http.Client
		headers []string
		status  int
		detail  string
	}{
		{admin.Client, nil, 403, "CSRF Failed: CSRF token missing."},
		{admin.Client, []string{"X-CSRFToken", "wrong"}, 403, "CSRF Failed: CSRF token incorrect."},
		{admin.Client, []string{"X-CSRFToken", token, "Origin", "https://evil.example"}, 403,
			"CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins."},
		{sheriff.Client, []string{"X-CSRFToken", sheriff.cookie(e.srv.URL, "csrftoken")}, 403, "You do not have permission to perform this action."},
		{&http.Client{}, nil, 401, "Authentication credentials were not provided."},
	} {
		if r := request(t, tc.c, "POST", reload, nil, tc.headers...); r.status != tc.status || r.detail() != tc.detail {
			t.Errorf("reload with %v: %d %s, want %d %q", tc.headers, r.status, r.body, tc.status, tc.detail)
		}
	}
	if len(plugins.reloaded) != 0 {
		t.Fatalf("refused reloads ran: %v", plugins.reloaded)
	}
	if r := request(t, admin.Client, "POST", reload, nil, "X-CSRFToken", token, "Origin", e.srv.URL); r.status != 200 ||
		!strings.Contains(string(r.body), "reloaded pulse") {
		t.Fatalf("reload as a signed-in admin: %d %s", r.status, r.body)
	}
	if len(plugins.reloaded) != 1 {
		t.Fatalf("reloads = %v", plugins.reloaded)
	}
	// A token still works beside the session, and needs no CSRF token.
	if r := request(t, admin.Client, "POST", reload, nil, bearerHeader(e.admin)...); r.status != 200 {
		t.Fatalf("reload with an admin token beside a session: %d %s", r.status, r.body)
	}
}
