// Package server is herder's HTTP face: the REST API in Treeherder's paths
// and shapes, health and metrics endpoints, and the embedded web UI.
package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/core/model"
)

// Store is what the API reads.
type Store interface {
	Ping(ctx context.Context) error
	Repositories(ctx context.Context) ([]model.Repository, error)
	FailureClassifications(ctx context.Context) ([]model.FailureClassification, error)
}

// Readiness reports whether a dependency (the database, a broker) is usable.
type Readiness func(ctx context.Context) error

// Options configures a Server.
type Options struct {
	Store    Store
	Log      hclog.Logger
	Registry *prometheus.Registry
	// Ready lists named readiness checks for /readyz besides the store's ping.
	Ready map[string]Readiness
	// Tokens checks API tokens for writes and admin calls.
	Tokens auth.TokenStore
	// Plugins serves the plugin admin API; nil when no supervisor runs.
	Plugins PluginAdmin

	// Sign-in, classification writes and the raw-log proxy (session.go,
	// api_writes.go, api_rawlog.go).
	// OIDC signs users in; nil leaves sign-in off (API tokens still work).
	OIDC *auth.OIDC
	// SessionKey signs session cookies (32 bytes or more, see
	// LoadSessionKey); empty turns sign-in off.
	SessionKey []byte
	// SessionMaxAge is how long a sign-in lasts; 0 is DefaultSessionMaxAge.
	SessionMaxAge time.Duration
	// PublicURL is where users reach herder: cookies are Secure when it is
	// https and the OIDC callback is built on it. Empty: from each request.
	PublicURL string
	// WriteLimit rate-limits writes per user and per client address.
	WriteLimit RateLimit
	// RawLogs configures the raw-log proxy.
	RawLogs RawLogOptions
	// ReadCacheTTL is how long answers of the hot reads (push lists, push
	// status, jobs pages) are reused: the staleness bound for changes made
	// by other processes; this server's own writes clear the cache. 0 is
	// DefaultReadCacheTTL; negative turns the cache off.
	ReadCacheTTL time.Duration
}

// Server routes HTTP requests.
type Server struct {
	store   Store
	log     hclog.Logger
	ready   map[string]Readiness
	tokens  auth.TokenStore
	plugins PluginAdmin
	router  *bunrouter.Router
	// writes holds sign-in, write and raw-log proxy state (api_writes.go).
	writes *writeState
	// cache holds recent read answers (api_cache.go).
	cache *respCache

	requests *prometheus.HistogramVec
}

// New builds the router.
func New(opts Options) *Server {
	log := opts.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{
		store:   opts.Store,
		log:     log.Named("http"),
		ready:   opts.Ready,
		tokens:  opts.Tokens,
		plugins: opts.Plugins,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herder_http_request_duration_seconds",
			Help:    "HTTP request latency by route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(s.requests)
	ttl := opts.ReadCacheTTL
	if ttl == 0 {
		ttl = DefaultReadCacheTTL
	}
	s.cache = newRespCache(max(ttl, 0), reg)

	s.router = bunrouter.New(
		bunrouter.WithNotFoundHandler(s.notFound),
		bunrouter.WithMethodNotAllowedHandler(func(w http.ResponseWriter, req bunrouter.Request) error {
			return writeError(w, http.StatusMethodNotAllowed, "Method \""+req.Method+"\" not allowed.")
		}),
		bunrouter.Use(s.observe),
	)
	s.router.GET("/healthz", func(w http.ResponseWriter, req bunrouter.Request) error {
		return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.router.GET("/readyz", s.readyz)
	s.router.GET("/metrics", bunrouter.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))

	api := s.router.NewGroup("/api")
	api.GET("/repository/", s.cachedReference(s.listRepositories))
	api.GET("/repository/:id/", s.cachedReference(s.getRepository))
	api.GET("/failureclassification/", s.cachedReference(s.listFailureClassifications))

	api.GET("/admin/plugins/", s.requireRole(model.RoleAdmin, s.pluginStatus))
	api.POST("/admin/plugins/:name/reload/", s.requireRole(model.RoleAdmin, s.reloadPlugin))

	// Treeherder's read endpoints, /api/schema/ and /docs/ (api_*.go).
	s.routeReadAPI(api)

	// Classification writes, sign-in (OIDC, session cookie, CSRF),
	// /api/user/ and the raw-log proxy (api_writes.go, session.go,
	// api_user.go, api_rawlog.go).
	s.routeWrites(api, opts)

	return s
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// observe logs and measures every request, and turns handler errors into
// JSON 500s that never leak internals.
func (s *Server) observe(next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		err := next(rec, req)
		if err != nil {
			s.log.Error("request failed", "method", req.Method, "path", req.URL.Path, "error", err)
			if !rec.wrote {
				_ = writeError(rec, http.StatusInternalServerError, "Internal server error.")
			}
		}
		route := req.Route()
		if route == "" {
			route = "unmatched"
		}
		s.requests.WithLabelValues(route, req.Method, http.StatusText(rec.status)).Observe(time.Since(start).Seconds())
		s.log.Debug("request", "method", req.Method, "path", req.URL.Path, "status", rec.status, "duration", time.Since(start))
		return nil
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status, r.wrote = code, true
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Flush lets streaming handlers (server-sent events) through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) notFound(w http.ResponseWriter, req bunrouter.Request) error {
	if strings.HasPrefix(req.URL.Path, "/api/") || req.URL.Path == "/api" {
		return writeError(w, http.StatusNotFound, "Not found: "+req.URL.Path)
	}
	return s.serveUI(w, req)
}

func (s *Server) readyz(w http.ResponseWriter, req bunrouter.Request) error {
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := s.store.Ping(ctx); err != nil {
		checks["storage"], ok = "unavailable", false
		s.log.Warn("readiness: storage unavailable", "error", err)
	} else {
		checks["storage"] = "ok"
	}
	for name, check := range s.ready {
		if err := check(ctx); err != nil {
			checks[name], ok = "unavailable: "+err.Error(), false
		} else {
			checks[name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	return writeJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// writeError answers in Treeherder's error shape, {"detail": ...}.
func writeError(w http.ResponseWriter, status int, detail string) error {
	return writeJSON(w, status, map[string]string{"detail": detail})
}
