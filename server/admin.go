package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/uptrace/bunrouter"
)

// PluginAdmin is what the plugin admin API needs of the plugin supervisor.
type PluginAdmin interface {
	// PluginStatus returns a JSON-encodable list of plugin states.
	PluginStatus() any
	// ReloadPlugin restarts a plugin with its (re-verified) binary; it returns
	// an error wrapping ErrNotFound for an unknown name.
	ReloadPlugin(ctx context.Context, name string) error
}

// ErrNotFound marks lookups of things that do not exist.
var ErrNotFound = errors.New("not found")

func (s *Server) pluginStatus(w http.ResponseWriter, req bunrouter.Request) error {
	if s.plugins == nil {
		return writeJSON(w, http.StatusOK, []any{})
	}
	return writeJSON(w, http.StatusOK, s.plugins.PluginStatus())
}

func (s *Server) reloadPlugin(w http.ResponseWriter, req bunrouter.Request) error {
	name := req.Param("name")
	if s.plugins == nil {
		return writeError(w, http.StatusNotFound, "No plugin named "+name+".")
	}
	err := s.plugins.ReloadPlugin(req.Context(), name)
	switch {
	case errors.Is(err, ErrNotFound):
		return writeError(w, http.StatusNotFound, "No plugin named "+name+".")
	case err != nil:
		// Reload failures (a binary that no longer verifies, a plugin that
		// will not start) are the operator's to read, not internals.
		return writeError(w, http.StatusConflict, "Reload of "+name+" failed: "+err.Error())
	}
	who, _ := currentPrincipal(req.Context())
	s.log.Info("plugin reloaded", "plugin", name, "by", who.User.Username, "session", who.session)
	return writeJSON(w, http.StatusOK, map[string]string{"message": "reloaded " + name})
}
