package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/auth"
)

// bearer extracts a token from "Authorization: Bearer T" (or DRF's "Token T").
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "Token "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

// requireRole guards the admin API: a live API token, or a signed-in
// session (with the CSRF check for anything but a read), whose role allows
// `role`. Messages are Django REST framework's, which Treeherder's clients
// already handle.
func (s *Server) requireRole(role string, next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		p, ok, err := s.authenticate(req.Request)
		if err != nil && !errors.Is(err, errInvalidToken) {
			return err
		}
		if !ok {
			return unauthorized(w, err)
		}
		if p.session && !safeMethod(req.Method) {
			if why := s.writes.sessions.checkCSRF(req.Request, p); why != "" {
				return writeError(w, http.StatusForbidden, why)
			}
		}
		if !auth.Allows(p.Role, role) {
			return writeError(w, http.StatusForbidden, "You do not have permission to perform this action.")
		}
		return next(w, req.WithContext(context.WithValue(req.Context(), principalKey{}, p)))
	}
}

// unauthorized answers a request without a live credential with 401: a
// token that is unknown, expired or revoked (err is errInvalidToken), or
// none at all.
func unauthorized(w http.ResponseWriter, err error) error {
	if errors.Is(err, errInvalidToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="herder", error="invalid_token"`)
		return writeError(w, http.StatusUnauthorized, "Invalid token.")
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="herder"`)
	return writeError(w, http.StatusUnauthorized, "Authentication credentials were not provided.")
}

// safeMethod: requests that change nothing, which need no CSRF token.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
