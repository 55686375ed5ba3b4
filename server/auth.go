package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/core/model"
)

type ctxKey int

const tokenKey ctxKey = iota

// credential returns the token the request was authenticated with.
func credential(ctx context.Context) (model.APIToken, bool) {
	t, ok := ctx.Value(tokenKey).(model.APIToken)
	return t, ok
}

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

// requireRole lets a request through only with a live token of a role that
// allows `role`. Messages are Django REST framework's, which Treeherder's
// clients already handle.
func (s *Server) requireRole(role string, next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		tok := bearer(req.Request)
		if tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herder"`)
			return writeError(w, http.StatusUnauthorized, "Authentication credentials were not provided.")
		}
		if s.tokens == nil {
			return writeError(w, http.StatusUnauthorized, "Invalid token.")
		}
		t, err := auth.CheckToken(req.Context(), s.tokens, tok)
		if errors.Is(err, auth.ErrInvalidToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herder", error="invalid_token"`)
			return writeError(w, http.StatusUnauthorized, "Invalid token.")
		}
		if err != nil {
			return err
		}
		if !auth.Allows(t.Role, role) {
			return writeError(w, http.StatusForbidden, "You do not have permission to perform this action.")
		}
		return next(w, req.WithContext(context.WithValue(req.Context(), tokenKey, t)))
	}
}
