package server

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/uptrace/bunrouter"
)

// ui holds the built web UI. `make build` writes the React app's bundle into
// ui/static before compiling, so the binary serves it with no files beside it.
//
//go:embed all:ui/static
var ui embed.FS

// serveUI serves a static asset when one exists at the path, and the app's
// index.html for every other non-API path, so client-side routes such as
// /jobs?repo=autoland load the app.
func (s *Server) serveUI(w http.ResponseWriter, req bunrouter.Request) error {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return writeError(w, http.StatusNotFound, "Not found: "+req.URL.Path)
	}
	static, err := fs.Sub(ui, "ui/static")
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(path.Clean(req.URL.Path), "/")
	if name != "" && name != "index.html" {
		if f, err := static.Open(name); err == nil {
			st, statErr := f.Stat()
			f.Close()
			if statErr == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					// Vite names assets by content hash, so they never change.
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				http.ServeFileFS(w, req.Request, static, name)
				return nil
			}
		}
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, req.Request, static, "index.html")
	return nil
}
