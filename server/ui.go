package server

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/uptrace/bunrouter"
)

// ui holds the web UI. `make build` builds the React app (frontend/) into
// ui/dist before compiling, so the binary serves it with no files beside it;
// a binary built without it serves the placeholder page in ui/static.
//
//go:embed all:ui
var ui embed.FS

// uiRoot is the built app when present, else the placeholder.
var uiRoot = func() fs.FS {
	if _, err := fs.Stat(ui, "ui/dist/index.html"); err == nil {
		sub, _ := fs.Sub(ui, "ui/dist")
		return sub
	}
	sub, _ := fs.Sub(ui, "ui/static")
	return sub
}()

// serveUI serves a static asset when one exists at the path, and the app's
// index.html for every other non-API path, so client-side routes such as
// /jobs?repo=autoland load the app.
func (s *Server) serveUI(w http.ResponseWriter, req bunrouter.Request) error {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return writeError(w, http.StatusNotFound, "Not found: "+req.URL.Path)
	}
	static := uiRoot
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
