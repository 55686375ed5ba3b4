package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/core/model"
)

// Sign-in for the web UI: OpenID Connect (authorization code flow with
// PKCE) through core/auth, then a session in a signed cookie, with CSRF
// protection for the writes that cookie authorises. Scripts use API tokens
// instead, which need no CSRF token.

const (
	sessionCookie = "herder_session"
	// csrfCookie is Django's name: the UI reads it and sends it back in
	// csrfHeader, as Treeherder's UI does.
	csrfCookie = "csrftoken"
	csrfHeader = "X-CSRFToken"
	// loginCookie carries one sign-in attempt's state, nonce and PKCE
	// verifier from /api/auth/login/ to /api/auth/callback/.
	loginCookie   = "herder_login"
	loginLifetime = 10 * time.Minute

	// DefaultSessionMaxAge is how long a sign-in lasts.
	DefaultSessionMaxAge = 12 * time.Hour
	// SessionKeyEnv names the environment variable holding the key that
	// signs session cookies; every server behind one address needs the same.
	SessionKeyEnv = "HERDER_SESSION_KEY"
)

// LoadSessionKey returns the session signing key: from $HERDER_SESSION_KEY
// when set (at least 32 characters), else from <dataDir>/session.key,
// which is created with a random key on first use.
func LoadSessionKey(dataDir string) ([]byte, error) {
	if v := os.Getenv(SessionKeyEnv); v != "" {
		if len(v) < 32 {
			return nil, fmt.Errorf("%s is %d characters; use at least 32 random ones", SessionKeyEnv, len(v))
		}
		sum := sha256.Sum256([]byte(v))
		return sum[:], nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("no %s and no data_dir to keep a session key in", SessionKeyEnv)
	}
	path := filepath.Join(dataDir, "session.key")
	read := func() ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("session key %s is not 32 or more hex-encoded bytes", path)
		}
		return key, nil
	}
	if key, err := read(); err == nil || !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate session key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dataDir, err)
	}
	// O_EXCL: when two processes start at once, one key wins and both use it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return read()
	}
	if err != nil {
		return nil, fmt.Errorf("create session key %s: %w", path, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write session key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write session key %s: %w", path, err)
	}
	return key, nil
}

// principal is who a request acts as.
type principal struct {
	User model.User
	// Role is the credential's: auth.RoleUser, model.RoleSheriff or
	// model.RoleAdmin.
	Role string
	// session marks cookie authentication, to which CSRF checks apply.
	session bool
	csrf    string
}

// staff is Treeherder's is_staff: herder's admins.
func (p principal) staff() bool { return p.Role == model.RoleAdmin }

type principalKey struct{}

func currentPrincipal(ctx context.Context) (principal, bool) {
	p, ok := ctx.Value(principalKey{}).(principal)
	return p, ok
}

// sessionData is what a session cookie holds. It is signed, not encrypted:
// nothing in it is secret from its owner, and the cookie is HttpOnly.
type sessionData struct {
	UserID   int64  `json:"u"`
	Username string `json:"n"`
	Email    string `json:"e,omitempty"`
	Role     string `json:"r"`
	CSRF     string `json:"c"`
	Expires  int64  `json:"x"`
}

type loginData struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r"`
	Next     string `json:"t"`
	Expires  int64  `json:"x"`
}

// sessions signs and reads the cookies.
type sessions struct {
	key       []byte
	maxAge    time.Duration
	publicURL *url.URL // nil: taken from each request
	now       func() time.Time
}

func (s *sessions) mac(purpose, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// seal signs v for one purpose, so a login cookie can never pass as a
// session and the other way round.
func (s *sessions) seal(purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, payload)), nil
}

func (s *sessions) open(purpose, value string, v any) bool {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok || len(value) > 4096 {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(purpose, payload)) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	return err == nil && json.Unmarshal(b, v) == nil
}

// secure says whether cookies need HTTPS: when herder is public on https,
// or the request came over TLS (here or at a proxy that says so).
func (s *sessions) secure(r *http.Request) bool {
	if s.publicURL != nil {
		return s.publicURL.Scheme == "https"
	}
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// origin is herder's own scheme://host, for redirect URIs and Origin checks.
func (s *sessions) origin(r *http.Request) string {
	if s.publicURL != nil {
		return s.publicURL.Scheme + "://" + s.publicURL.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// sameOrigin checks an Origin header: the public URL's origin when one is
// configured, else any scheme on the request's own host (behind a TLS proxy
// that sends no X-Forwarded-Proto the scheme herder sees is not the
// browser's; a foreign page cannot send this host as its origin anyway).
func (s *sessions) sameOrigin(r *http.Request, origin string) bool {
	if s.publicURL != nil {
		return origin == s.origin(r)
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
}

func (s *sessions) callbackURL(r *http.Request) string {
	base := s.origin(r)
	if s.publicURL != nil {
		base += strings.TrimSuffix(s.publicURL.Path, "/")
	}
	return base + "/api/auth/callback/"
}

func (s *sessions) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge time.Duration, httpOnly bool) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: httpOnly, Secure: s.secure(r), SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

// start signs a user in: a session cookie and a fresh CSRF token.
func (s *sessions) start(w http.ResponseWriter, r *http.Request, u model.User, role string) error {
	csrf, _, err := auth.NewToken()
	if err != nil {
		return err
	}
	csrf = strings.TrimPrefix(csrf, "hdr_")
	value, err := s.seal(sessionCookie, sessionData{UserID: u.ID, Username: u.Username, Email: u.Email, Role: role,
		CSRF: csrf, Expires: s.now().Add(s.maxAge).Unix()})
	if err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, value, "/", s.maxAge, true)
	// Readable by the UI's JavaScript, by design (double submit).
	s.setCookie(w, r, csrfCookie, csrf, "/", s.maxAge, false)
	return nil
}

func (s *sessions) end(w http.ResponseWriter, r *http.Request) {
	s.setCookie(w, r, sessionCookie, "", "/", -1, true)
	s.setCookie(w, r, csrfCookie, "", "/", -1, false)
}

// read returns the request's live session, if any.
func (s *sessions) read(r *http.Request) (sessionData, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return sessionData{}, false
	}
	var d sessionData
	if !s.open(sessionCookie, c.Value, &d) || d.Expires <= s.now().Unix() || d.UserID <= 0 || d.CSRF == "" {
		return sessionData{}, false
	}
	return d, true
}

// checkCSRF is Django's CSRF check for a cookie-authenticated unsafe
// request: a same-origin Origin when one is sent, and the X-CSRFToken header
// equal to the session's token (which the csrftoken cookie carries).
func (s *sessions) checkCSRF(r *http.Request, p principal) string {
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) {
		return fmt.Sprintf("CSRF Failed: Origin checking failed - %s does not match any trusted origins.", o)
	}
	h := r.Header.Get(csrfHeader)
	if h == "" {
		if _, err := r.Cookie(csrfCookie); err != nil {
			return "CSRF Failed: CSRF cookie not set."
		}
		return "CSRF Failed: CSRF token missing."
	}
	if subtle.ConstantTimeCompare([]byte(h), []byte(p.csrf)) != 1 {
		return "CSRF Failed: CSRF token incorrect."
	}
	return ""
}

// errInvalidToken marks a request whose bearer token is not live.
var errInvalidToken = errors.New("invalid token")

// authenticate resolves the request's credential: an API token in the
// Authorization header first, else a session cookie. ok is false for an
// anonymous request; errInvalidToken for a token that is not live.
func (s *Server) authenticate(r *http.Request) (principal, bool, error) {
	if tok := bearer(r); tok != "" {
		if s.tokens == nil {
			return principal{}, false, errInvalidToken
		}
		t, err := auth.CheckToken(r.Context(), s.tokens, tok)
		if errors.Is(err, auth.ErrInvalidToken) {
			return principal{}, false, errInvalidToken
		}
		if err != nil {
			return principal{}, false, err
		}
		return principal{User: t.User, Role: t.Role}, true, nil
	}
	if r.Header.Get("Authorization") != "" {
		return principal{}, false, errInvalidToken // a scheme we do not take
	}
	if s.writes.sessions == nil {
		return principal{}, false, nil
	}
	d, ok := s.writes.sessions.read(r)
	if !ok {
		return principal{}, false, nil
	}
	return principal{User: model.User{ID: d.UserID, Username: d.Username, Email: d.Email, IsStaff: d.Role == model.RoleAdmin},
		Role: d.Role, session: true, csrf: d.CSRF}, true, nil
}

// Permissions a write needs.
const (
	// needUser: any signed-in user or token classifies, as in Treeherder.
	needUser = iota
	// needStaff: Treeherder's is_staff, herder's admin role.
	needStaff
)

// requireUser guards a write: 401 without a credential (or with a dead
// token), 403 for a failed CSRF check or a role that does not allow the
// write, 429 past the rate limit. Refused requests reach no handler, so
// nothing is stored.
func (s *Server) requireUser(need int, next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		p, ok, err := s.authenticate(req.Request)
		if err != nil && !errors.Is(err, errInvalidToken) {
			return err
		}
		if !ok {
			// Failed attempts count against the client's address.
			if wait, allowed := s.writes.limiter.allow("addr:" + clientAddr(req.Request)); !allowed {
				return tooManyRequests(w, wait)
			}
			return unauthorized(w, err)
		}
		if p.session {
			if why := s.writes.sessions.checkCSRF(req.Request, p); why != "" {
				return writeError(w, http.StatusForbidden, why)
			}
		}
		switch need {
		case needUser:
			if p.Role != auth.RoleUser && !auth.Allows(p.Role, model.RoleSheriff) {
				return writeError(w, http.StatusForbidden, "You do not have permission to perform this action.")
			}
		case needStaff:
			if !p.staff() {
				return writeError(w, http.StatusForbidden, "Must be staff or in sheriffing group")
			}
		}
		if wait, allowed := s.writes.limiter.allow(fmt.Sprintf("user:%d", p.User.ID)); !allowed {
			return tooManyRequests(w, wait)
		}
		return next(w, req.WithContext(context.WithValue(req.Context(), principalKey{}, p)))
	}
}

// clientAddr is the peer's IP address. X-Forwarded-For is not trusted:
// behind a proxy every anonymous client shares the proxy's allowance.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authMethodsJSON tells the UI which sign-in to offer: the provider's
// button when OIDC is configured, API tokens always.
type authMethodsJSON struct {
	OIDC     bool   `json:"oidc"`
	LoginURL string `json:"login_url,omitempty"`
	Tokens   bool   `json:"tokens"`
}

func (s *Server) authMethods(w http.ResponseWriter, req bunrouter.Request) error {
	out := authMethodsJSON{Tokens: true}
	if ws := s.writes; ws != nil && ws.oidc != nil && ws.sessions != nil {
		out.OIDC, out.LoginURL = true, "/api/auth/login/"
	}
	return writeJSON(w, http.StatusOK, out)
}

// safeNext keeps post-sign-in redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// login starts a sign-in: it remembers the attempt in a short-lived signed
// cookie and sends the browser to the provider.
func (s *Server) login(w http.ResponseWriter, req bunrouter.Request) error {
	ws := s.writes
	if ws.oidc == nil || ws.sessions == nil {
		return writeError(w, http.StatusNotFound, "Sign-in with OpenID Connect is not configured on this server; use an API token.")
	}
	if wait, ok := ws.limiter.allow("login:" + clientAddr(req.Request)); !ok {
		return tooManyRequests(w, wait)
	}
	state, nonce, verifier, err := auth.NewLoginSecrets()
	if err != nil {
		return err
	}
	redirect := ws.sessions.callbackURL(req.Request)
	target, err := ws.oidc.AuthCodeURL(req.Context(), redirect, state, nonce, verifier)
	if errors.Is(err, auth.ErrProvider) {
		s.log.Warn("sign-in provider unavailable", "error", err)
		return writeError(w, http.StatusBadGateway, "The sign-in provider is unavailable; try again later.")
	}
	if err != nil {
		return err
	}
	value, err := ws.sessions.seal(loginCookie, loginData{State: state, Nonce: nonce, Verifier: verifier, Redirect: redirect,
		Next: safeNext(req.URL.Query().Get("next")), Expires: ws.sessions.now().Add(loginLifetime).Unix()})
	if err != nil {
		return err
	}
	ws.sessions.setCookie(w, req.Request, loginCookie, value, "/api/auth/", loginLifetime, true)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, req.Request, target, http.StatusFound)
	return nil
}

// callback finishes a sign-in: it checks the attempt, redeems the code,
// verifies the ID token, records the user and starts a session.
func (s *Server) callback(w http.ResponseWriter, req bunrouter.Request) error {
	ws := s.writes
	if ws.oidc == nil || ws.sessions == nil {
		return writeError(w, http.StatusNotFound, "Sign-in with OpenID Connect is not configured on this server.")
	}
	if wait, ok := ws.limiter.allow("login:" + clientAddr(req.Request)); !ok {
		return tooManyRequests(w, wait)
	}
	w.Header().Set("Cache-Control", "no-store")
	var ld loginData
	c, err := req.Cookie(loginCookie)
	ok := err == nil && ws.sessions.open(loginCookie, c.Value, &ld) && ld.Expires > ws.sessions.now().Unix()
	// One attempt, one callback.
	ws.sessions.setCookie(w, req.Request, loginCookie, "", "/api/auth/", -1, true)
	if !ok {
		return writeError(w, http.StatusBadRequest, "This sign-in expired or was started in another browser; start again at /api/auth/login/.")
	}
	q := req.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(ld.State)) != 1 {
		return writeError(w, http.StatusBadRequest, "The sign-in state does not match; start again at /api/auth/login/.")
	}
	if e := q.Get("error"); e != "" {
		msg := "The sign-in provider refused: " + e
		if d := q.Get("error_description"); d != "" {
			msg += ": " + d
		}
		return writeError(w, http.StatusForbidden, truncate(msg, 300))
	}
	code := q.Get("code")
	if code == "" {
		return writeError(w, http.StatusBadRequest, "The sign-in provider sent no authorization code.")
	}
	id, err := ws.oidc.Exchange(req.Context(), ld.Redirect, code, ld.Nonce, ld.Verifier)
	if errors.Is(err, auth.ErrProvider) {
		s.log.Warn("sign-in provider unavailable", "error", err)
		return writeError(w, http.StatusBadGateway, "The sign-in provider is unavailable; try again later.")
	}
	if err != nil {
		s.log.Info("sign-in refused", "error", err)
		return writeError(w, http.StatusForbidden, truncate("Sign-in failed: "+err.Error(), 300))
	}
	if ws.store == nil {
		return writeError(w, http.StatusServiceUnavailable, "Sign-in needs storage that records users.")
	}
	u, err := ws.store.SyncUser(req.Context(), id.Username, id.Email, id.Role == model.RoleAdmin)
	if err != nil {
		return err
	}
	if err := ws.sessions.start(w, req.Request, u, id.Role); err != nil {
		return err
	}
	s.log.Info("signed in", "user", u.Username, "role", id.Role)
	http.Redirect(w, req.Request, safeNext(ld.Next), http.StatusFound)
	return nil
}

// logout ends the session. GET works too, as Treeherder's does: signing
// someone out is all a forged request could do.
func (s *Server) logout(w http.ResponseWriter, req bunrouter.Request) error {
	if s.writes.sessions != nil {
		s.writes.sessions.end(w, req.Request)
	}
	w.Header().Set("Cache-Control", "no-store")
	if next := req.URL.Query().Get("next"); next != "" {
		http.Redirect(w, req.Request, safeNext(next), http.StatusFound)
		return nil
	}
	return writeJSON(w, http.StatusOK, map[string]string{"message": "Signed out"})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
