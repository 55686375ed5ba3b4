package server

import (
	"errors"
	"net/http"

	"github.com/uptrace/bunrouter"
)

// userJSON is Treeherder's UserSerializer.
type userJSON struct {
	Username    string `json:"username"`
	IsSuperuser bool   `json:"is_superuser"`
	IsStaff     bool   `json:"is_staff"`
	Email       string `json:"email"`
}

// currentUser is Treeherder's /api/user/: the requester as a one-element
// list, or [] when anonymous. is_staff says what this credential may do
// (herder's admin role), so the UI offers staff actions only when they work.
func (s *Server) currentUser(w http.ResponseWriter, req bunrouter.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Cookie, Authorization")
	p, ok, err := s.authenticate(req.Request)
	if errors.Is(err, errInvalidToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="herder", error="invalid_token"`)
		return writeError(w, http.StatusUnauthorized, "Invalid token.")
	}
	if err != nil {
		return err
	}
	if !ok {
		return sendJSON(w, http.StatusOK, []userJSON{})
	}
	return sendJSON(w, http.StatusOK, []userJSON{{Username: p.User.Username, IsSuperuser: p.User.IsSuperuser,
		IsStaff: p.staff(), Email: p.User.Email}})
}
