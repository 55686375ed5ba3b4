package server

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// ReadStore is what the read API needs of storage: the store's "API reads".
type ReadStore interface {
	Repositories(ctx context.Context) ([]model.Repository, error)
	QueryJobs(ctx context.Context, q store.JobQuery) ([]store.JobRecord, error)
	CountJobs(ctx context.Context, q store.JobQuery) (int64, error)
	JobByID(ctx context.Context, repositoryID, id int64) (store.JobRecord, error)
	JobLogs(ctx context.Context, repositoryID int64, jobIDs []int64) ([]model.JobLog, error)
	JobLogByID(ctx context.Context, repositoryID, id int64) (model.JobLog, error)
	TextLogErrors(ctx context.Context, jobID int64) ([]store.TextLogError, error)
	TaskclusterMetadata(ctx context.Context, jobIDs []int64) ([]store.TaskclusterMetadata, error)
	OptionCollections(ctx context.Context) ([]store.OptionCollection, error)
	MachinePlatforms(ctx context.Context) ([]store.MachinePlatform, error)
	QueryPushes(ctx context.Context, q store.PushQuery) ([]store.PushRecord, error)
	PushByID(ctx context.Context, repositoryID, id int64) (store.PushRecord, error)
	PushExists(ctx context.Context, repositoryID, id int64) (bool, error)
	PushTime(ctx context.Context, repositoryID int64, revision string) (int64, error)
	PushStatus(ctx context.Context, repositoryID int64, pushIDs []int64) (map[int64][]store.StateCount, error)
	JobNotes(ctx context.Context, jobIDs []int64) ([]store.JobNote, error)
	BugJobMaps(ctx context.Context, jobIDs []int64) ([]store.BugJobMap, error)
	RepositoryBugJobMaps(ctx context.Context, repositoryID int64, jobIDs []int64) ([]store.BugJobMap, error)
	FailureCountsByBug(ctx context.Context, q store.FailureQuery) ([]store.BugCount, error)
	FailuresByBug(ctx context.Context, q store.FailureQuery) ([]store.BugFailure, error)
	FailureCounts(ctx context.Context, q store.FailureQuery) ([]store.DayCount, error)
	PerformanceSignatures(ctx context.Context, q store.PerfSignatureQuery) ([]store.PerfSignature, error)
	PerformanceData(ctx context.Context, q store.PerfDataQuery) ([]store.PerfDatum, error)
	BugSuggestions(ctx context.Context, jobID int64) ([]store.BugSuggestion, error)
}

// readAPI serves Treeherder's read endpoints.
type readAPI struct {
	store ReadStore
	log   hclog.Logger
	now   func() time.Time
	// cache keeps recent answers of the hot reads (api_cache.go).
	cache *respCache

	reposMu     sync.Mutex
	repos       map[string]model.Repository
	reposLoaded time.Time
}

// apiHandler serves one endpoint with its validated query parameters.
type apiHandler func(w http.ResponseWriter, req bunrouter.Request, p *params) error

// apiParam documents (and allows) one query parameter.
type apiParam struct {
	name     string
	typ      string // integer, number, string, boolean, date, date-time, integer-list, string-list
	desc     string
	required bool
	repeat   bool
}

// Sets of job filters an endpoint accepts besides its own parameters.
const (
	noJobFilters = iota
	jobFilterSet
	legacyJobFilterSet // plus result_set_id* and *_timestamp
)

// endpoint is one route: registration, validation and documentation come
// from the same table, so the OpenAPI document cannot drift from the router.
type endpoint struct {
	method     string // GET when empty; only GETs are registered here
	path       string // bunrouter syntax: /api/project/:project/push/
	summary    string
	tag        string
	params     []apiParam
	jobFilters int
	response   any  // a value whose type describes the 200 response
	cached     bool // reference data: ETag and Cache-Control, cached for referenceCacheTTL
	// hot reads the UI repeats (push lists and status, jobs of a push) are
	// answered from the response cache for its TTL.
	hot bool
	// absolute answers hold links built on the request's scheme and host.
	absolute bool
	handle   apiHandler
	// external routes are registered by server.go; listed for the schema.
	external bool
}

// routeReadAPI registers the read endpoints, the schema and the docs page,
// when the store can serve them.
func (s *Server) routeReadAPI(api *bunrouter.Group) {
	rs, ok := s.store.(ReadStore)
	if !ok {
		return
	}
	a := &readAPI{store: rs, log: s.log.Named("api"), now: time.Now, cache: s.cache}
	eps := a.endpoints()
	reads := api.Use(corsReads, acceptVersion)
	for _, ep := range eps {
		if ep.external || (ep.method != "" && ep.method != http.MethodGet) {
			continue
		}
		path := strings.TrimPrefix(ep.path, "/api")
		reads.GET(path, a.wrap(ep))
		reads.OPTIONS(path, preflight)
	}
	schema := buildOpenAPI(append(eps, documentedRoutes()...))
	reads.GET("/schema/", func(w http.ResponseWriter, req bunrouter.Request) error {
		return sendCached(w, req.Request, schema)
	})
	reads.OPTIONS("/schema/", preflight)
	s.router.GET("/docs/", serveDocs)
}

// corsReads lets any origin read, as Treeherder's CORS settings do.
func corsReads(next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		return next(w, req)
	}
}

func preflight(w http.ResponseWriter, req bunrouter.Request) error {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Accept, Content-Type, If-None-Match")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// acceptVersion implements Django REST framework's AcceptHeaderVersioning:
// versions 1.0 and 1.1 are served alike, any other gets 406.
func acceptVersion(next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		for _, mediaRange := range strings.Split(req.Header.Get("Accept"), ",") {
			_, paramsPart, _ := strings.Cut(mediaRange, ";")
			for _, kv := range strings.Split(paramsPart, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
				if strings.EqualFold(k, "version") {
					if v = strings.Trim(strings.TrimSpace(v), `"`); v != "1.0" && v != "1.1" {
						return writeError(w, http.StatusNotAcceptable, `Invalid version in "Accept" header.`)
					}
				}
			}
		}
		return next(w, req)
	}
}

// wrap validates the query string against the endpoint's parameters and
// turns the errors handlers return into JSON answers.
func (a *readAPI) wrap(ep *endpoint) bunrouter.HandlerFunc {
	allowed := map[string]bool{"format": true}
	for _, p := range ep.params {
		allowed[p.name] = true
	}
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		p, err := parseParams(req.URL.RawQuery)
		if err == nil {
			err = checkParams(p, allowed, ep)
		}
		if err == nil {
			handle := func(w http.ResponseWriter, req bunrouter.Request) error { return ep.handle(w, req, p) }
			switch ttl := a.cacheTTL(ep, p); {
			case ttl > 0:
				err = a.cache.serve(w, req, cacheKey(req.Request, ep.absolute), ttl, handle)
			case ep.hot:
				// Polls are not cached, but a poller that repeats one
				// question still gets its 304.
				err = serveTagged(w, req, handle)
			default:
				err = ep.handle(w, req, p)
			}
		}
		var bad *badRequest
		var nf *notFoundError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &bad):
			return writeError(w, http.StatusBadRequest, bad.msg)
		case errors.As(err, &nf):
			return writeError(w, http.StatusNotFound, nf.msg)
		case errors.Is(err, store.ErrNotFound):
			return writeError(w, http.StatusNotFound, "Not found.")
		case errors.Is(err, context.Canceled):
			return nil // the client went away
		}
		return err
	}
}

// cacheTTL is how long the endpoint's answers are cached; 0: not at all.
func (a *readAPI) cacheTTL(ep *endpoint, p *params) time.Duration {
	switch {
	case !a.cache.enabled():
		return 0
	case ep.hot && isPoll(p):
		// "What changed since" must see every change at once, and each
		// poll asks with a newer time anyway.
		return 0
	case ep.hot:
		return a.cache.ttl
	case ep.cached:
		return max(a.cache.ttl, referenceCacheTTL)
	}
	return 0
}

// isPoll says the request filters on last_modified, as the UI's job polling does.
func isPoll(p *params) bool {
	for _, k := range p.keys {
		if strings.HasPrefix(k, "last_modified") {
			return true
		}
	}
	return false
}

func checkParams(p *params, allowed map[string]bool, ep *endpoint) error {
	var unknown []string
	for _, k := range p.keys {
		switch {
		case allowed[k]:
		case ep.jobFilters == jobFilterSet && isJobFilter(k, false):
		case ep.jobFilters == legacyJobFilterSet && isJobFilter(k, true):
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badf("Unknown query parameter: %s.", strings.Join(unknown, ", "))
	}
	if p.has("format") && p.get("format") != "json" {
		return badf("Unsupported format %q: this API speaks json.", p.get("format"))
	}
	for _, ap := range ep.params {
		if ap.required && (!p.has(ap.name) || p.get(ap.name) == "") {
			return badf("The %s parameter is mandatory for this endpoint.", ap.name)
		}
	}
	return nil
}

// repository finds a repository by name (any status, as Treeherder's
// project endpoints do), reloading the list at most once a second on a miss.
func (a *readAPI) repository(ctx context.Context, name string) (model.Repository, error) {
	a.reposMu.Lock()
	defer a.reposMu.Unlock()
	if r, ok := a.repos[name]; ok && time.Since(a.reposLoaded) < time.Minute {
		return r, nil
	}
	if a.repos == nil || time.Since(a.reposLoaded) > time.Second {
		list, err := a.store.Repositories(ctx)
		if err != nil {
			return model.Repository{}, err
		}
		a.repos = make(map[string]model.Repository, len(list))
		for _, r := range list {
			a.repos[r.Name] = r
		}
		a.reposLoaded = time.Now()
	}
	if r, ok := a.repos[name]; ok {
		return r, nil
	}
	return model.Repository{}, notFoundf("No project with name %s", name)
}

func (a *readAPI) project(req bunrouter.Request) (model.Repository, error) {
	return a.repository(req.Context(), req.Param("project"))
}

// pathID reads a numeric path parameter.
func pathID(req bunrouter.Request, name, what string) (int64, error) {
	id, err := strconv.ParseInt(req.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, badf("%s id must be a positive integer, not %q.", what, req.Param(name))
	}
	return id, nil
}

// absoluteURL rebuilds the request's URL with a new query, as Django's
// build_absolute_uri does for the paginator's next and previous links.
func absoluteURL(r *http.Request, query string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	u := scheme + "://" + r.Host + r.URL.Path
	if query != "" {
		u += "?" + query
	}
	return u
}
