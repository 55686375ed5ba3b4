package server_test

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/internal/oidctest"
	"github.com/herder-ci/herder/server"
)

var sessionKey = bytes.Repeat([]byte("k"), 32)

// newLoginEnv is a writeEnv whose server signs users in through a test
// OIDC provider: group "sheriffs" makes sheriffs, "admins" admins.
func newLoginEnv(t *testing.T, backend string, configure func(*server.Options)) (*writeEnv, *oidctest.Provider) {
	t.Helper()
	p := oidctest.New(t, "herder-ui", "client-secret")
	o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: p.Issuer, ClientID: "herder-ui", ClientSecret: "client-secret",
		SheriffGroup: "sheriffs", AdminGroup: "admins"})
	if err != nil {
		t.Fatal(err)
	}
	e := newWriteEnv(t, backend, func(opts *server.Options) {
		opts.OIDC, opts.SessionKey = o, sessionKey
		if configure != nil {
			configure(opts)
		}
	})
	return e, p
}

// browser is a client with a cookie jar that follows redirects and keeps
// the Set-Cookie headers it saw on the way.
type browser struct {
	*http.Client
	setCookies []*http.Cookie
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{}
	b.Client = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.Response != nil {
			b.setCookies = append(b.setCookies, req.Response.Cookies()...)
		}
		return nil
	}}
	return b
}

func (b *browser) cookie(base, name string) string {
	u, _ := url.Parse(base)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) sawCookie(name string) *http.Cookie {
	var last *http.Cookie
	for _, c := range b.setCookies {
		if c.Name == name {
			last = c
		}
	}
	return last
}

// signIn goes through the whole login as a browser does and returns where
// it ended.
func (e *writeEnv) signIn(t *testing.T, b *browser, p *oidctest.Provider, u oidctest.User, next string) *url.URL {
	t.Helper()
	p.SetUser(u)
	resp, err := b.Get(e.url("/api/auth/login/?next=" + url.QueryEscape(next)))
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 && resp.Request.URL.Path == "/api/auth/callback/" {
		t.Fatalf("sign in: callback answered %d", resp.StatusCode)
	}
	return resp.Request.URL
}

func TestOIDCLogin(t *testing.T) {
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) { testOIDCLogin(t, backend) })
	}
}

func testOIDCLogin(t *testing.T, backend string) {
	e, p := newLoginEnv(t, backend, nil)
	b := newBrowser(t)
	end := e.signIn(t, b, p, oidctest.User{Subject: "s1", Email: "oidc-sheriff@example.com", EmailVerified: true, Groups: []string{"sheriffs"}},
		"/jobs?repo=mozilla-central")
	if end.Path != "/jobs" || end.Query().Get("repo") != "mozilla-central" || end.Host != strings.TrimPrefix(e.srv.URL, "http://") {
		t.Fatalf("sign-in ended at %s", end)
	}
	if a, r := p.Counts(); a != 1 || r != 1 {
		t.Fatalf("provider saw %d authorizations and %d redemptions", a, r)
	}
	session, csrf := b.sawCookie("herder_session"), b.sawCookie("csrftoken")
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
		t.Fatalf("session cookie = %+v", session)
	}
	if csrf == nil || csrf.HttpOnly || csrf.Value == "" || csrf.SameSite != http.SameSiteLaxMode {
		t.Fatalf("csrf cookie = %+v", csrf)
	}
	if login := b.sawCookie("herder_login"); login == nil || login.MaxAge >= 0 {
		t.Fatalf("the login cookie was not cleared: %+v", login)
	}

	user := request(t, b.Client, "GET", e.url("/api/user/"), nil)
	if string(user.body) != `[{"username":"oidc-sheriff@example.com","is_superuser":false,"is_staff":false,"email":"oidc-sheriff@example.com"}]` {
		t.Fatalf("GET /api/user/ signed in: %s", user.body)
	}

	// CSRF: cookie-authenticated writes need the token in X-CSRFToken, from
	// this site.
	note := map[string]any{"job_id": e.jobs["w1/0"], "failure_classification_id": 4, "text": "from the UI"}
	notePath := e.url("/api/project/mozilla-central/note/")
	token := b.cookie(e.srv.URL, "csrftoken")
	before := e.snapshot(t)
	for _, tc := range []struct {
		headers []string
		detail  string
	}{
		{nil, "CSRF Failed: CSRF token missing."},
		{[]string{"X-CSRFToken", "wrong"}, "CSRF Failed: CSRF token incorrect."},
		{[]string{"X-CSRFToken", token + "x"}, "CSRF Failed: CSRF token incorrect."},
		{[]string{"X-CSRFToken", token, "Origin", "https://evil.example"}, "CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins."},
	} {
		if r := request(t, b.Client, "POST", notePath, note, tc.headers...); r.status != 403 || r.detail() != tc.detail {
			t.Errorf("note with %v: %d %s, want 403 %q", tc.headers, r.status, r.body, tc.detail)
		}
	}
	// The session cookie alone, without the csrftoken cookie.
	bare := &http.Client{}
	if r := request(t, bare, "POST", notePath, note, "Cookie", "herder_session="+b.cookie(e.srv.URL, "herder_session")); r.status != 403 ||
		r.detail() != "CSRF Failed: CSRF cookie not set." {
		t.Errorf("note with the session cookie alone: %d %s", r.status, r.body)
	}
	// The CSRF token of one session does not fit another.
	other := newBrowser(t)
	e.signIn(t, other, p, oidctest.User{Subject: "s2", Email: "second@example.com", EmailVerified: true}, "/")
	if r := request(t, other.Client, "POST", notePath, note, "X-CSRFToken", token); r.status != 403 {
		t.Errorf("another session's CSRF token: %d %s", r.status, r.body)
	}
	if after := e.snapshot(t); after != before {
		t.Fatalf("CSRF refusals changed the database:\n before %+v\n after  %+v", before, after)
	}
	if r := request(t, b.Client, "POST", notePath, note, "X-CSRFToken", token, "Origin", e.srv.URL); r.status != 200 {
		t.Fatalf("note with the CSRF token: %d %s", r.status, r.body)
	}
	notes, _ := e.st.JobNotes(t.Context(), []int64{e.jobs["w1/0"]})
	if len(notes) == 0 || notes[len(notes)-1].Who != "oidc-sheriff@example.com" {
		t.Fatalf("notes = %+v", notes)
	}
	// Any signed-in user classifies, in a group or not.
	if r := request(t, other.Client, "POST", notePath, note, "X-CSRFToken", other.cookie(e.srv.URL, "csrftoken")); r.status != 200 {
		t.Fatalf("note by a user in no group: %d %s", r.status, r.body)
	}
	// Bulk unclassification is for staff (admins) only.
	unclassify := e.url("/api/project/mozilla-central/classification/")
	body := []map[string]int64{{"id": e.jobs["w1/0"]}}
	if r := request(t, b.Client, "DELETE", unclassify, body, "X-CSRFToken", token); r.status != 403 {
		t.Fatalf("unclassify as a sheriff: %d %s", r.status, r.body)
	}
	admin := newBrowser(t)
	e.signIn(t, admin, p, oidctest.User{Subject: "s3", Email: "oidc-admin@example.com", EmailVerified: true, Groups: []string{"sheriffs", "admins"}}, "/")
	if r := request(t, admin.Client, "GET", e.url("/api/user/"), nil); !strings.Contains(string(r.body), `"is_staff":true`) {
		t.Fatalf("admin's /api/user/: %s", r.body)
	}
	if r := request(t, admin.Client, "DELETE", unclassify, body, "X-CSRFToken", admin.cookie(e.srv.URL, "csrftoken")); r.status != 200 {
		t.Fatalf("unclassify as an admin: %d %s", r.status, r.body)
	}
	// An API token needs no CSRF token, cookie or not.
	if r := request(t, b.Client, "POST", notePath, note, bearerHeader(e.sheriff)...); r.status != 200 {
		t.Fatalf("token write beside a session: %d %s", r.status, r.body)
	}

	// A tampered session is no session.
	forged := b.cookie(e.srv.URL, "herder_session")
	forged = forged[:len(forged)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(forged, "AA")]
	if r := request(t, bare, "GET", e.url("/api/user/"), nil, "Cookie", "herder_session="+forged); string(r.body) != "[]" {
		t.Fatalf("a forged session: %s", r.body)
	}

	// Signing out ends the session.
	if r := request(t, b.Client, "POST", e.url("/api/auth/logout/"), nil); r.status != 200 || r.message() != "Signed out" {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if b.cookie(e.srv.URL, "herder_session") != "" || b.cookie(e.srv.URL, "csrftoken") != "" {
		t.Fatal("logout left cookies behind")
	}
	if r := request(t, b.Client, "GET", e.url("/api/user/"), nil); string(r.body) != "[]" {
		t.Fatalf("GET /api/user/ after logout: %s", r.body)
	}
	if r := request(t, b.Client, "POST", notePath, note, "X-CSRFToken", token); r.status != 401 {
		t.Fatalf("note after logout: %d %s", r.status, r.body)
	}
}

// TestOIDCLoginRefusals: sign-ins that must fail, and leave no session.
func TestOIDCLoginRefusals(t *testing.T) {
	e, p := newLoginEnv(t, "sqlite", nil)
	noFollow := func() *browser {
		b := newBrowser(t)
		b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return b
	}
	// start runs login and the provider's authorization without the
	// callback, and returns the callback URL.
	start := func(b *browser, next string) *url.URL {
		t.Helper()
		resp, err := b.Get(e.url("/api/auth/login/?next=" + url.QueryEscape(next)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		resp, err = b.Get(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || cb.Path != "/api/auth/callback/" {
			t.Fatalf("provider redirected to %q", resp.Header.Get("Location"))
		}
		return cb
	}
	get := func(b *browser, u string) response { return request(t, b.Client, "GET", u, nil) }
	signedIn := func(b *browser) bool {
		return string(get(b, e.url("/api/user/")).body) != "[]"
	}

	// No login cookie: the callback was not started by this browser.
	b := noFollow()
	cb := start(b, "/")
	if r := get(noFollow(), cb.String()); r.status != 400 || !strings.Contains(r.detail(), "start again") {
		t.Errorf("callback from another browser: %d %s", r.status, r.body)
	}
	// Another state.
	q := cb.Query()
	q.Set("state", "forged")
	forged := *cb
	forged.RawQuery = q.Encode()
	if r := get(b, forged.String()); r.status != 400 || !strings.Contains(r.detail(), "state does not match") || signedIn(b) {
		t.Errorf("callback with another state: %d %s", r.status, r.body)
	}
	// The attempt is spent: even the right callback now fails.
	if r := get(b, cb.String()); r.status != 400 || signedIn(b) {
		t.Errorf("replayed callback: %d %s", r.status, r.body)
	}
	// The provider refused.
	b = noFollow()
	cb = start(b, "/")
	q = cb.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	q.Set("error_description", "not today")
	cb.RawQuery = q.Encode()
	if r := get(b, cb.String()); r.status != 403 || r.detail() != "The sign-in provider refused: access_denied: not today" || signedIn(b) {
		t.Errorf("provider refusal: %d %s", r.status, r.body)
	}
	// A bad ID token.
	for name, tamper := range map[string]func(map[string]any){
		"audience": func(c map[string]any) { c["aud"] = "another-client" },
		"key":      oidctest.WrongKey,
	} {
		p.Tamper(tamper)
		b = noFollow()
		cb = start(b, "/")
		if r := get(b, cb.String()); r.status != 403 || !strings.HasPrefix(r.detail(), "Sign-in failed: verify ID token") || signedIn(b) {
			t.Errorf("ID token with a bad %s: %d %s", name, r.status, r.body)
		}
	}
	p.Tamper(nil)
	var users int
	if err := e.st.DB().QueryRow("SELECT COUNT(*) FROM `user` WHERE username LIKE '%user@example.com'").Scan(&users); err != nil || users != 0 {
		t.Fatalf("refused sign-ins created %d users (%v)", users, err)
	}
	// Redirects after sign-in stay on this site.
	for next, want := range map[string]string{"//evil.example/x": "/", "https://evil.example/": "/", "/jobs?x=1": "/jobs?x=1", "": "/"} {
		b = noFollow()
		cb = start(b, next)
		resp, err := b.Get(cb.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("next=%q: %d to %q, want %q", next, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// An unverified email does not become the username.
	b = newBrowser(t)
	e.signIn(t, b, p, oidctest.User{Subject: "sub-9", Email: "admin@example.com", EmailVerified: false, Groups: []string{"admins"}}, "/")
	if r := get(b, e.url("/api/user/")); !strings.Contains(string(r.body), `"username":"oidc/sub-9"`) {
		t.Errorf("unverified email: %s", r.body)
	}
}

func TestOIDCLoginConfig(t *testing.T) {
	// Behind https, cookies are Secure and the callback is the public URL.
	e, _ := newLoginEnv(t, "sqlite", func(o *server.Options) { o.PublicURL = "https://herder.example.com" })
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.url("/api/auth/login/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc.Query().Get("redirect_uri") != "https://herder.example.com/api/auth/callback/" ||
		loc.Query().Get("code_challenge_method") != "S256" || loc.Query().Get("nonce") == "" {
		t.Fatalf("login: %d to %s", resp.StatusCode, loc)
	}
	var login *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "herder_login" {
			login = ck
		}
	}
	if login == nil || !login.Secure || !login.HttpOnly || login.Path != "/api/auth/" {
		t.Fatalf("login cookie = %+v", login)
	}

	// A provider that is down: 502, and the API goes on.
	down, err := auth.NewOIDC(auth.OIDCConfig{Issuer: "http://127.0.0.1:1", ClientID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Options{Store: e.st, Registry: prometheus.NewRegistry(), OIDC: down, SessionKey: sessionKey}))
	defer srv.Close()
	if r := request(t, srv.Client(), "GET", srv.URL+"/api/auth/login/", nil); r.status != 502 || !strings.Contains(r.detail(), "unavailable") {
		t.Fatalf("login with the provider down: %d %s", r.status, r.body)
	}
	if r := request(t, srv.Client(), "GET", srv.URL+"/api/user/", nil); r.status != 200 {
		t.Fatalf("/api/user/ with the provider down: %d", r.status)
	}
}

// TestSessionExpiry: a session cookie is refused after its lifetime, even
// when a client keeps sending it.
func TestSessionExpiry(t *testing.T) {
	e, p := newLoginEnv(t, "sqlite", func(o *server.Options) { o.SessionMaxAge = time.Second })
	b := newBrowser(t)
	e.signIn(t, b, p, oidctest.User{Subject: "x", Email: "x@example.com", EmailVerified: true}, "/")
	value := b.cookie(e.srv.URL, "herder_session")
	if r := request(t, &http.Client{}, "GET", e.url("/api/user/"), nil, "Cookie", "herder_session="+value); string(r.body) == "[]" {
		t.Fatal("a fresh session was refused")
	}
	time.Sleep(1100 * time.Millisecond)
	if r := request(t, &http.Client{}, "GET", e.url("/api/user/"), nil, "Cookie", "herder_session="+value); string(r.body) != "[]" {
		t.Fatalf("an expired session was accepted: %s", r.body)
	}
}

func TestLoadSessionKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(server.SessionKeyEnv, "")
	k1, err := server.LoadSessionKey(dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("LoadSessionKey = %x, %v", k1, err)
	}
	info, err := os.Stat(filepath.Join(dir, "session.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("session.key: %v, %v", info, err)
	}
	if k2, err := server.LoadSessionKey(dir); err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadSessionKey = %x, %v; want %x", k2, err, k1)
	}
	if err := os.WriteFile(filepath.Join(dir, "session.key"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := server.LoadSessionKey(dir); err == nil {
		t.Fatal("a broken session.key was accepted")
	}
	t.Setenv(server.SessionKeyEnv, "too short")
	if _, err := server.LoadSessionKey(dir); err == nil {
		t.Fatal("a short HERDER_SESSION_KEY was accepted")
	}
	t.Setenv(server.SessionKeyEnv, strings.Repeat("z", 40))
	if k, err := server.LoadSessionKey(""); err != nil || len(k) != 32 {
		t.Fatalf("LoadSessionKey from the environment = %x, %v", k, err)
	}
}

// The UI asks /api/auth/ which sign-in to offer: the provider's button only
// where OIDC is configured, API tokens always.
func TestAuthMethods(t *testing.T) {
	e, _ := newLoginEnv(t, "sqlite", nil)
	r := request(t, http.DefaultClient, "GET", e.url("/api/auth/"), nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"oidc":true`) || !strings.Contains(string(r.body), `"login_url":"/api/auth/login/"`) {
		t.Fatalf("with OIDC: %d %s", r.status, r.body)
	}
	plain := httptest.NewServer(server.New(server.Options{Store: e.st, Registry: prometheus.NewRegistry()}))
	defer plain.Close()
	r = request(t, plain.Client(), "GET", plain.URL+"/api/auth/", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"oidc":false`) || !strings.Contains(string(r.body), `"tokens":true`) {
		t.Fatalf("without OIDC: %d %s", r.status, r.body)
	}
}
