package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bunrouter"

	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// Treeherder's classification writes: note/, bug-job-map/, internal_issue/
// and the staff-only bulk classification/ DELETE. Every write needs a
// credential (requireUser in session.go) and changes nothing when refused.

// maxWriteBody bounds a write's JSON body.
const maxWriteBody = 64 << 10

// WriteStore is what the writes and sign-in need of storage.
type WriteStore interface {
	Repositories(ctx context.Context) ([]model.Repository, error)
	AddJobNote(ctx context.Context, n store.NoteInput) (int64, error)
	DeleteJobNote(ctx context.Context, repositoryID, noteID int64) error
	AddBugJobMap(ctx context.Context, m store.BugJobMapInput) (bool, error)
	DeleteBugJobMap(ctx context.Context, repositoryID, jobID int64, bug store.BugRef) (bool, error)
	CreateInternalIssue(ctx context.Context, summary string) (store.InternalIssue, bool, error)
	UnclassifyJobs(ctx context.Context, repositoryID int64, jobIDs []int64) (int64, error)
	SyncUser(ctx context.Context, username, email string, staff bool) (model.User, error)
}

// writeState is what the writes, sign-in and the raw-log proxy share.
type writeState struct {
	store    WriteStore // nil: the store cannot write (no write routes)
	sessions *sessions  // nil: no session key, so no sign-in
	oidc     *auth.OIDC
	limiter  *limiter
	rawlog   *rawLogProxy
}

func newWriteState(s *Server, opts Options) (*writeState, error) {
	ws := &writeState{oidc: opts.OIDC, limiter: newLimiter(opts.WriteLimit, time.Now)}
	ws.store, _ = s.store.(WriteStore)
	if len(opts.SessionKey) > 0 {
		if len(opts.SessionKey) < 32 {
			return nil, fmt.Errorf("session key is %d bytes; it needs at least 32", len(opts.SessionKey))
		}
		ss := &sessions{key: opts.SessionKey, maxAge: opts.SessionMaxAge, now: time.Now}
		if ss.maxAge <= 0 {
			ss.maxAge = DefaultSessionMaxAge
		}
		if opts.PublicURL != "" {
			u, err := url.Parse(opts.PublicURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("public URL %q is not an absolute http(s) URL", opts.PublicURL)
			}
			ss.publicURL = u
		}
		ws.sessions = ss
	}
	ws.rawlog = newRawLogProxy(opts.RawLogs)
	return ws, nil
}

// routeWrites registers the writes, sign-in, /api/user/ and the raw-log
// proxy. Writes answer no CORS preflight: browsers only send them from
// herder's own pages.
func (s *Server) routeWrites(api *bunrouter.Group, opts Options) {
	ws, err := newWriteState(s, opts)
	if err != nil {
		// Options are checked by the caller (cmd/herder); a bad one here
		// turns sign-in off rather than taking the API down.
		s.log.Error("sign-in disabled", "error", err)
		ws, _ = newWriteState(s, Options{WriteLimit: opts.WriteLimit, RawLogs: opts.RawLogs, OIDC: nil})
	}
	s.writes = ws
	g := api.Use(acceptVersion)
	g.GET("/user/", s.currentUser)
	g.GET("/auth/", s.authMethods)
	g.GET("/auth/login/", s.login)
	g.GET("/auth/callback/", s.callback)
	g.GET("/auth/logout/", s.logout)
	g.POST("/auth/logout/", s.logout)
	g.GET("/project/:project/job-log-url/:id/raw/", s.rawLog)
	if ws.store == nil {
		return
	}
	g.POST("/project/:project/note/", s.requireUser(needUser, s.writeHandler(s.createNote)))
	g.DELETE("/project/:project/note/:id/", s.requireUser(needUser, s.writeHandler(s.deleteNote)))
	g.POST("/project/:project/bug-job-map/", s.requireUser(needUser, s.writeHandler(s.createBugJobMap)))
	g.DELETE("/project/:project/bug-job-map/:pk/", s.requireUser(needUser, s.writeHandler(s.deleteBugJobMap)))
	g.POST("/internal_issue/", s.requireUser(needUser, s.writeHandler(s.createInternalIssue)))
	g.DELETE("/project/:project/classification/", s.requireUser(needStaff, s.writeHandler(s.unclassify)))
	// bunrouter answers a GET on a parameterised write-only path with the
	// not-found handler; say 405 as Django REST framework does. (Treeherder
	// also retrieves single notes and links here; herder does not yet.)
	for _, path := range []string{"/project/:project/note/:id/", "/project/:project/bug-job-map/:pk/", "/project/:project/classification/"} {
		g.GET(path, methodNotAllowed)
	}
}

func methodNotAllowed(w http.ResponseWriter, req bunrouter.Request) error {
	return writeError(w, http.StatusMethodNotAllowed, "Method \""+req.Method+"\" not allowed.")
}

// statusError is an answer other than 400 or 404 (those use badRequest and
// notFoundError from api_params.go).
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// writeHandler turns the errors a write returns into JSON answers.
func (s *Server) writeHandler(fn bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		err := fn(w, req)
		// Whatever the write changed (a classification, a push's status
		// counts) must show in this server's next reads.
		s.cache.invalidate()
		var bad *badRequest
		var nf *notFoundError
		var st *statusError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &bad):
			return writeError(w, http.StatusBadRequest, bad.msg)
		case errors.As(err, &nf):
			return writeError(w, http.StatusNotFound, nf.msg)
		case errors.As(err, &st):
			return writeError(w, st.status, st.msg)
		case errors.Is(err, context.Canceled):
			return nil
		}
		return err
	}
}

// writeProject resolves the repository in the path. Writes are rare
// enough to read the (small) repository table each time.
func (s *Server) writeProject(req bunrouter.Request) (model.Repository, error) {
	name := req.Param("project")
	list, err := s.store.Repositories(req.Context())
	if err != nil {
		return model.Repository{}, err
	}
	for _, r := range list {
		if r.Name == name {
			return r, nil
		}
	}
	return model.Repository{}, notFoundf("No project with name %s", name)
}

// readBody reads a JSON body of at most maxWriteBody bytes into v.
func readBody(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &statusError{http.StatusUnsupportedMediaType, fmt.Sprintf("Unsupported media type %q in request.", ct)}
		}
	}
	tooLarge := &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is larger than %d bytes.", maxWriteBody)}
	if r.ContentLength > maxWriteBody {
		return tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWriteBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
	}
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return badf("A JSON body is required.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return badf("JSON parse error - expected a JSON %s, got %s", jsonKind(v), te.Value)
		}
		return badf("JSON parse error - %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func jsonKind(v any) string {
	if _, ok := v.(*[]classificationItem); ok {
		return "list"
	}
	return "object"
}

// intField is an integer body field as Treeherder reads it (int(value)):
// a JSON number or a string of digits.
type intField struct {
	set, null, bad bool
	v              int64
}

func (f *intField) UnmarshalJSON(b []byte) error {
	f.set = true
	s := string(b)
	switch {
	case s == "null":
		f.null = true
		return nil
	case strings.HasPrefix(s, `"`):
		if err := json.Unmarshal(b, &s); err != nil {
			f.bad = true
			return nil
		}
		s = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 5.0 is 5 to Python's int(); 5.5 is not an id.
		fl, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || fl != float64(int64(fl)) {
			f.bad = true
			return nil
		}
		n = int64(fl)
	}
	f.v = n
	return nil
}

// id reads a positive id; present false when the field is absent, null or 0.
func (f intField) id(name string) (v int64, present bool, err error) {
	switch {
	case !f.set || f.null:
		return 0, false, nil
	case f.bad:
		return 0, false, badf("%s must be an integer", name)
	case f.v == 0:
		return 0, false, nil
	case f.v < 0:
		return 0, false, badf("%s must be a positive integer", name)
	}
	return f.v, true, nil
}

func (f intField) required(name string) (int64, error) {
	v, ok, err := f.id(name)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, badf("%s is required", name)
	}
	return v, nil
}

type noteBody struct {
	JobID                   intField        `json:"job_id"`
	FailureClassificationID intField        `json:"failure_classification_id"`
	Text                    json.RawMessage `json:"text"`
}

func optionalString(raw json.RawMessage, name string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", badf("%s must be a string", name)
	}
	return s, nil
}

func messageJSON(w http.ResponseWriter, status int, msg string) error {
	return sendJSON(w, status, map[string]string{"message": msg})
}

// createNote is NoteViewSet.create: POST {job_id, failure_classification_id,
// text}; the job takes the classification.
func (s *Server) createNote(w http.ResponseWriter, req bunrouter.Request) error {
	repo, err := s.writeProject(req)
	if err != nil {
		return err
	}
	var b noteBody
	if err := readBody(w, req.Request, &b); err != nil {
		return err
	}
	jobID, err := b.JobID.required("job_id")
	if err != nil {
		return err
	}
	fc, err := b.FailureClassificationID.required("failure_classification_id")
	if err != nil {
		return err
	}
	text, err := optionalString(b.Text, "text")
	if err != nil {
		return err
	}
	p, _ := currentPrincipal(req.Context())
	_, err = s.writes.store.AddJobNote(req.Context(), store.NoteInput{RepositoryID: repo.ID, JobID: jobID,
		FailureClassificationID: fc, UserID: p.User.ID, Text: text})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFoundf("No job with id: %d", jobID)
	case errors.Is(err, store.ErrInvalid):
		return badf("Unknown failure_classification_id: %d", fc)
	case err != nil:
		return err
	}
	return messageJSON(w, http.StatusOK, fmt.Sprintf("note stored for job %d", jobID))
}

// deleteNote is NoteViewSet.destroy.
func (s *Server) deleteNote(w http.ResponseWriter, req bunrouter.Request) error {
	repo, err := s.writeProject(req)
	if err != nil {
		return err
	}
	id, err := pathID(req, "id", "Note")
	if err != nil {
		return err
	}
	err = s.writes.store.DeleteJobNote(req.Context(), repo.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundf("No note with id: %d", id)
	}
	if err != nil {
		return err
	}
	return messageJSON(w, http.StatusOK, "Note deleted")
}

type bugJobMapBody struct {
	JobID      intField        `json:"job_id"`
	BugID      intField        `json:"bug_id"`
	InternalID intField        `json:"internal_id"`
	BugOpen    json.RawMessage `json:"bug_open"`
}

// createBugJobMap is BugJobMapViewSet.create: POST {job_id, bug_id |
// internal_id, bug_open}. The Bugzilla id wins when both are given.
func (s *Server) createBugJobMap(w http.ResponseWriter, req bunrouter.Request) error {
	repo, err := s.writeProject(req)
	if err != nil {
		return err
	}
	var b bugJobMapBody
	if err := readBody(w, req.Request, &b); err != nil {
		return err
	}
	jobID, err := b.JobID.required("job_id")
	if err != nil {
		return err
	}
	bugzilla, hasBug, err := b.BugID.id("bug_id")
	if err != nil {
		return err
	}
	internal, hasInternal, err := b.InternalID.id("internal_id")
	if err != nil {
		return err
	}
	if !hasBug && !hasInternal {
		return badf("At least one of bug_id or internal_id is required")
	}
	var open bool
	if len(b.BugOpen) > 0 && string(b.BugOpen) != "null" {
		if err := json.Unmarshal(b.BugOpen, &open); err != nil {
			return badf("bug_open must be true or false")
		}
	}
	ref := store.BugRef{BugzillaID: bugzilla}
	if !hasBug {
		ref.InternalID = internal
	}
	p, _ := currentPrincipal(req.Context())
	created, err := s.writes.store.AddBugJobMap(req.Context(), store.BugJobMapInput{RepositoryID: repo.ID, JobID: jobID,
		Bug: ref, UserID: p.User.ID, BugOpen: open})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFoundf("No job with id: %d", jobID)
	case errors.Is(err, store.ErrInvalid):
		return badf("No internal issue with id: %d", internal)
	case err != nil:
		return err
	case !created:
		return messageJSON(w, http.StatusOK, "Bug job map skipped: mapping already exists")
	}
	return messageJSON(w, http.StatusOK, "Bug job map saved")
}

// parseBugJobMapKey reads Treeherder's composite key: {job}-{bug}, or
// {job}-i{internal} for an internal issue.
func parseBugJobMapKey(pk string) (int64, store.BugRef, error) {
	bad := badf("bug-job-map key must be <job_id>-<bug_id> or <job_id>-i<internal_id>, not %q", pk)
	j, b, ok := strings.Cut(pk, "-")
	if !ok {
		return 0, store.BugRef{}, bad
	}
	job, err := strconv.ParseInt(j, 10, 64)
	if err != nil || job <= 0 {
		return 0, store.BugRef{}, bad
	}
	internal := strings.HasPrefix(b, "i")
	n, err := strconv.ParseInt(strings.TrimPrefix(b, "i"), 10, 64)
	if err != nil || n <= 0 {
		return 0, store.BugRef{}, bad
	}
	if internal {
		return job, store.BugRef{InternalID: n}, nil
	}
	return job, store.BugRef{BugzillaID: n}, nil
}

// deleteBugJobMap is BugJobMapViewSet.destroy. Removing a link that does
// not exist answers as Treeherder does: deleted.
func (s *Server) deleteBugJobMap(w http.ResponseWriter, req bunrouter.Request) error {
	repo, err := s.writeProject(req)
	if err != nil {
		return err
	}
	jobID, ref, err := parseBugJobMapKey(req.Param("pk"))
	if err != nil {
		return err
	}
	if _, err := s.writes.store.DeleteBugJobMap(req.Context(), repo.ID, jobID, ref); errors.Is(err, store.ErrNotFound) {
		return notFoundf("No job with id: %d", jobID)
	} else if err != nil {
		return err
	}
	return messageJSON(w, http.StatusOK, "Bug job map deleted")
}

// internalIssueJSON is Treeherder's InternalIssueSerializer.
type internalIssueJSON struct {
	InternalID int64  `json:"internal_id"`
	Summary    string `json:"summary"`
}

// createInternalIssue is CreateInternalIssue: POST {summary}. A summary
// that names an internal issue already returns that one (200).
func (s *Server) createInternalIssue(w http.ResponseWriter, req bunrouter.Request) error {
	var b struct {
		Summary json.RawMessage `json:"summary"`
	}
	if err := readBody(w, req.Request, &b); err != nil {
		return err
	}
	summary, err := optionalString(b.Summary, "summary")
	if err != nil {
		return err
	}
	summary = strings.TrimSpace(summary)
	switch n := utf8.RuneCountInString(summary); {
	case n == 0:
		return badf("summary is required")
	case n > 255:
		return badf("summary must be at most 255 characters, not %d", n)
	}
	issue, created, err := s.writes.store.CreateInternalIssue(req.Context(), summary)
	if errors.Is(err, store.ErrInvalid) {
		return badf("%s", err.Error())
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return sendJSON(w, status, internalIssueJSON{issue.InternalID, issue.Summary})
}

type classificationItem struct {
	ID intField `json:"id"`
}

// unclassify is ClassificationViewSet.delete, the pinboard's "unclassify
// all": body [{"id": job_id}, ...]; staff only.
func (s *Server) unclassify(w http.ResponseWriter, req bunrouter.Request) error {
	repo, err := s.writeProject(req)
	if err != nil {
		return err
	}
	var items []classificationItem
	if err := readBody(w, req.Request, &items); err != nil {
		return err
	}
	if len(items) == 0 {
		return badf("Must provide job IDs")
	}
	ids := make([]int64, 0, len(items))
	for i, it := range items {
		id, err := it.ID.required(fmt.Sprintf("item %d: id", i))
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if _, err := s.writes.store.UnclassifyJobs(req.Context(), repo.ID, ids); err != nil {
		return err
	}
	return messageJSON(w, http.StatusOK, "Notes and bug classifications deleted")
}
