package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/server"
)

// writeEnv is a real server over a real store with three jobs (two on
// mozilla-central, one on autoland), API tokens of each role, and a log
// host for the raw-log proxy.
type writeEnv struct {
	st       *sqlstore.Store
	srv      *httptest.Server
	central  int64
	autoland int64
	jobs     map[string]int64 // guid -> id
	logs     map[string]int64 // log name -> job_log id (of job "w1/0")
	logHost  *httptest.Server

	sheriff, admin, revoked string
}

func newWriteEnv(t testing.TB, backend string, configure func(*server.Options)) *writeEnv {
	t.Helper()
	ctx := context.Background()
	var st *sqlstore.Store
	var err error
	if backend == "mysql" {
		st, err = sqlstore.OpenMySQL(ctx, testenv.MySQLDSN(t))
	} else {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "writes.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SeedFailureClassifications(ctx); err != nil {
		t.Fatal(err)
	}
	dev := model.RepositoryGroup{ID: 1, Name: "development", Description: "landing"}
	if err := st.UpsertRepositories(ctx, []model.RepositoryGroup{dev}, []model.Repository{
		{ID: 1, Name: "mozilla-central", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/mozilla-central", ActiveStatus: "active"},
		{ID: 77, Name: "autoland", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/integration/autoland", ActiveStatus: "active"},
	}); err != nil {
		t.Fatal(err)
	}

	e := &writeEnv{st: st, central: 1, autoland: 77, jobs: map[string]int64{}, logs: map[string]int64{}}
	e.logHost = newLogHost(t)
	disallowed := strings.Replace(e.logHost.URL, "127.0.0.1", "localhost", 1)
	job := func(project, rev, guid string) sdk.JobDatum {
		return sdk.JobDatum{Project: project, Revision: rev, Job: sdk.Job{
			JobGUID: guid, Name: "test-linux64/opt-mochitest-1", JobSymbol: "M1", GroupName: "Mochitests", GroupSymbol: "M",
			ProductName: "firefox", Reason: "scheduled", Who: "dev@example.com", State: sdk.StateCompleted, Result: sdk.ResultTestFailed,
			Tier: 1, BuildSystemType: "taskcluster", Machine: "worker-1",
			BuildPlatform:    sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			MachinePlatform:  sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			OptionCollection: map[string]bool{"opt": true}, SubmitTimestamp: 1_700_000_000,
		}}
	}
	revA, revB := strings.Repeat("a", 40), strings.Repeat("b", 40)
	w1 := job("mozilla-central", revA, "w1/0")
	for _, name := range logNames {
		url := e.logHost.URL + "/" + name
		if name == "disallowed.log" {
			url = disallowed + "/plain.log"
		}
		w1.Job.LogReferences = append(w1.Job.LogReferences, sdk.LogReference{Name: name, URL: url})
	}
	w2 := job("mozilla-central", revA, "w2/0")
	other := job("autoland", revB, "other/0")
	events := []sdk.Event{
		{ID: "p1", Push: &sdk.PushDatum{Project: "mozilla-central", Revision: revA, Author: "dev@example.com", PushTimestamp: 1_700_000_000,
			Revisions: []sdk.Revision{{Revision: revA, Author: "Dev <dev@example.com>", Comment: "Bug 1 - a"}}}},
		{ID: "p2", Push: &sdk.PushDatum{Project: "autoland", Revision: revB, Author: "dev@example.com", PushTimestamp: 1_700_000_000,
			Revisions: []sdk.Revision{{Revision: revB, Author: "Dev <dev@example.com>", Comment: "Bug 2 - b"}}}},
		{ID: "j1", Job: &w1}, {ID: "j2", Job: &w2}, {ID: "j3", Job: &other},
	}
	if err := ingest.NewPipeline(st, nil, nil).Accept(ctx, "test", events); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.JobsByGUID(ctx, []string{"w1/0", "w2/0", "other/0"})
	if err != nil || len(jobs) != 3 {
		t.Fatalf("jobs: %d, %v", len(jobs), err)
	}
	for _, j := range jobs {
		e.jobs[j.GUID] = j.ID
		if j.GUID == "w1/0" {
			for _, l := range j.Logs {
				e.logs[l.Name] = l.ID
			}
		}
	}

	token := func(user, role string) string {
		u, err := st.EnsureUser(ctx, user, user, role == model.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		tok, hash, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		id, err := st.CreateToken(ctx, u.ID, "test", role, hash)
		if err != nil {
			t.Fatal(err)
		}
		if user == "revoked@example.com" {
			if err := st.RevokeToken(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		return tok
	}
	e.sheriff = token("sheriff@example.com", model.RoleSheriff)
	e.admin = token("admin@example.com", model.RoleAdmin)
	e.revoked = token("revoked@example.com", model.RoleAdmin)

	opts := server.Options{Store: st, Tokens: st, Registry: prometheus.NewRegistry(),
		RawLogs: server.RawLogOptions{AllowedHosts: []string{strings.TrimPrefix(e.logHost.URL, "http://")}, MaxBytes: 1 << 20, MaxOutputBytes: 2 << 20,
			Timeout: time.Second}}
	if configure != nil {
		configure(&opts)
	}
	e.srv = httptest.NewServer(server.New(opts))
	t.Cleanup(e.srv.Close)
	return e
}

// response is an answer, decoded when it is JSON.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) detail() string {
	var v struct {
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(r.body, &v)
	return v.Detail
}

func (r response) message() string {
	var v struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(r.body, &v)
	return v.Message
}

// request sends a request; body is JSON-encoded unless it is a string or
// []byte. headers are name, value pairs.
func request(t testing.TB, c *http.Client, method, url string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func bearerHeader(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func (e *writeEnv) url(path string) string { return e.srv.URL + path }

// snapshot is everything a refused write must leave alone.
type snapshot struct {
	notes, links, bugs int64
	jobs               string
}

func (e *writeEnv) snapshot(t *testing.T) snapshot {
	t.Helper()
	db := e.st.DB()
	var s snapshot
	for q, dst := range map[string]*int64{"SELECT COUNT(*) FROM job_note": &s.notes, "SELECT COUNT(*) FROM bug_job_map": &s.links,
		"SELECT COUNT(*) FROM bugscache": &s.bugs} {
		if err := db.QueryRow(q).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Query("SELECT id, failure_classification_id, last_modified FROM job ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, fc, lm int64
		if err := rows.Scan(&id, &fc, &lm); err != nil {
			t.Fatal(err)
		}
		s.jobs += fmt.Sprintf("%d:%d:%d ", id, fc, lm)
	}
	return s
}

func (e *writeEnv) job(t *testing.T, guid string) store.JobRecord {
	t.Helper()
	j, err := e.st.JobByID(context.Background(), 0, e.jobs[guid])
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// writeCalls are one of each write, valid but for the credential.
func (e *writeEnv) writeCalls(t *testing.T) []struct {
	method, path string
	body         any
} {
	t.Helper()
	ctx := context.Background()
	// A note and a link to delete.
	note, err := e.st.AddJobNote(ctx, store.NoteInput{RepositoryID: e.central, JobID: e.jobs["w2/0"], FailureClassificationID: 4, Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: e.central, JobID: e.jobs["w2/0"], Bug: store.BugRef{BugzillaID: 42}}); err != nil {
		t.Fatal(err)
	}
	j1, j2 := e.jobs["w1/0"], e.jobs["w2/0"]
	return []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": j1, "failure_classification_id": 4, "text": "x"}},
		{"DELETE", fmt.Sprintf("/api/project/mozilla-central/note/%d/", note), nil},
		{"POST", "/api/project/mozilla-central/bug-job-map/", map[string]any{"job_id": j1, "bug_id": 1234, "bug_open": false}},
		{"DELETE", fmt.Sprintf("/api/project/mozilla-central/bug-job-map/%d-42/", j2), nil},
		{"POST", "/api/internal_issue/", map[string]any{"summary": "a new internal issue"}},
		{"DELETE", "/api/project/mozilla-central/classification/", []map[string]any{{"id": j1}, {"id": j2}}},
	}
}

func TestWrites(t *testing.T) {
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			e := newWriteEnv(t, backend, nil)
			t.Run("RefusedWithoutTheRightRole", e.testRefused)
			t.Run("Notes", e.testNotes)
			t.Run("BugJobMap", e.testBugJobMap)
			t.Run("InternalIssue", e.testInternalIssue)
			t.Run("Unclassify", e.testUnclassify)
			t.Run("Validation", e.testValidation)
			t.Run("BodyLimit", e.testBodyLimit)
			t.Run("User", e.testUser)
			t.Run("CORS", e.testCORS)
			t.Run("RawLog", e.testRawLog)
		})
	}
}

// testRefused: every write without a credential, with a dead one or with a
// role too low is refused, and nothing changes.
func (e *writeEnv) testRefused(t *testing.T) {
	calls := e.writeCalls(t)
	before := e.snapshot(t)
	c := e.srv.Client()
	for _, call := range calls {
		name := call.method + " " + call.path
		r := request(t, c, call.method, e.url(call.path), call.body)
		if r.status != 401 || r.detail() != "Authentication credentials were not provided." || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s anonymous: %d %s", name, r.status, r.body)
		}
		for _, h := range [][]string{bearerHeader("hdr_not-a-real-token"), bearerHeader(e.revoked), {"Authorization", "Basic dXNlcjpwYXNz"}} {
			if r := request(t, c, call.method, e.url(call.path), call.body, h...); r.status != 401 || r.detail() != "Invalid token." {
				t.Errorf("%s with %s: %d %s", name, h[1][:10], r.status, r.body)
			}
		}
		// A cookie that is not a session is no credential either.
		if r := request(t, c, call.method, e.url(call.path), call.body, "Cookie", "herder_session=forged.value; csrftoken=x", "X-CSRFToken", "x"); r.status != 401 {
			t.Errorf("%s with a forged session: %d %s", name, r.status, r.body)
		}
	}
	// Sheriffs classify but do not bulk-unclassify.
	last := calls[len(calls)-1]
	r := request(t, c, last.method, e.url(last.path), last.body, bearerHeader(e.sheriff)...)
	if r.status != 403 || r.detail() != "Must be staff or in sheriffing group" {
		t.Errorf("unclassify as sheriff: %d %s", r.status, r.body)
	}
	if after := e.snapshot(t); after != before {
		t.Fatalf("refused writes changed the database:\n before %+v\n after  %+v", before, after)
	}
	// The same calls with the right role go through.
	for i, call := range calls {
		tok := e.sheriff
		if i == len(calls)-1 {
			tok = e.admin
		}
		if r := request(t, c, call.method, e.url(call.path), call.body, bearerHeader(tok)...); r.status/100 != 2 {
			t.Errorf("%s %s as %s: %d %s", call.method, call.path, map[bool]string{true: "admin", false: "sheriff"}[tok == e.admin], r.status, r.body)
		}
	}
	// DRF's "Token" scheme works too.
	if r := request(t, c, "POST", e.url("/api/internal_issue/"), map[string]string{"summary": "token scheme"}, "Authorization", "Token "+e.sheriff); r.status != 201 {
		t.Errorf("Token scheme: %d %s", r.status, r.body)
	}
}

// testNotes: the classification reset rule through the API, and
// last_modified moving so polling sees each change.
func (e *writeEnv) testNotes(t *testing.T) {
	c := e.srv.Client()
	id := e.jobs["w1/0"]
	auth := bearerHeader(e.sheriff)
	post := func(fc int, text string) {
		t.Helper()
		r := request(t, c, "POST", e.url("/api/project/mozilla-central/note/"), map[string]any{"job_id": id, "failure_classification_id": fc, "text": text}, auth...)
		if r.status != 200 || r.message() != fmt.Sprintf("note stored for job %d", id) {
			t.Fatalf("POST note: %d %s", r.status, r.body)
		}
	}
	list := func() []struct {
		ID   int64  `json:"id"`
		FC   int64  `json:"failure_classification_id"`
		Who  string `json:"who"`
		Text string `json:"text"`
	} {
		t.Helper()
		r := request(t, c, "GET", e.url(fmt.Sprintf("/api/project/mozilla-central/note/?job_id=%d", id)), nil)
		var out []struct {
			ID   int64  `json:"id"`
			FC   int64  `json:"failure_classification_id"`
			Who  string `json:"who"`
			Text string `json:"text"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &out) != nil {
			t.Fatalf("GET notes: %d %s", r.status, r.body)
		}
		return out
	}
	// Start from no notes.
	if r := request(t, c, "DELETE", e.url("/api/project/mozilla-central/classification/"), []map[string]int64{{"id": id}}, bearerHeader(e.admin)...); r.status != 200 {
		t.Fatalf("unclassify: %d %s", r.status, r.body)
	}
	lm := e.job(t, "w1/0").LastModified
	step := func(wantFC int64, what string) {
		t.Helper()
		j := e.job(t, "w1/0")
		if j.FailureClass != wantFC || j.LastModified <= lm {
			t.Fatalf("after %s: classification %d (want %d), last_modified %d -> %d", what, j.FailureClass, wantFC, lm, j.LastModified)
		}
		lm = j.LastModified
	}
	post(4, "intermittent")
	step(4, "an intermittent note")
	post(2, "fixed by backout")
	step(2, "a fixed-by-commit note")
	notes := list()
	if len(notes) != 2 || notes[1].FC != 2 || notes[1].Who != "sheriff@example.com" || notes[1].Text != "fixed by backout" {
		t.Fatalf("notes = %+v", notes)
	}
	del := func(noteID int64) {
		t.Helper()
		r := request(t, c, "DELETE", e.url(fmt.Sprintf("/api/project/mozilla-central/note/%d/", noteID)), nil, auth...)
		if r.status != 200 || r.message() != "Note deleted" {
			t.Fatalf("DELETE note: %d %s", r.status, r.body)
		}
	}
	del(notes[1].ID)
	step(4, "deleting the newest note")
	del(notes[0].ID)
	step(1, "deleting the last note")
	if r := request(t, c, "DELETE", e.url(fmt.Sprintf("/api/project/mozilla-central/note/%d/", notes[0].ID)), nil, auth...); r.status != 404 ||
		r.detail() != fmt.Sprintf("No note with id: %d", notes[0].ID) {
		t.Fatalf("DELETE a deleted note: %d %s", r.status, r.body)
	}
	// Polling sees the change: the job comes back for last_modified__gt
	// a moment before the write.
	before := time.UnixMicro(lm).UTC().Add(-time.Millisecond).Format("2006-01-02T15:04:05.000000")
	post(5, "")
	r := request(t, c, "GET", e.url(fmt.Sprintf("/api/jobs/?push_id=%d&last_modified__gt=%s", e.job(t, "w1/0").PushID, before)), nil)
	var page struct {
		Results [][]any `json:"results"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &page) != nil || len(page.Results) != 1 {
		t.Fatalf("polling after a note: %d %s", r.status, r.body)
	}
}

func (e *writeEnv) testBugJobMap(t *testing.T) {
	c := e.srv.Client()
	id := e.jobs["w1/0"]
	auth := bearerHeader(e.sheriff)
	path := e.url("/api/project/mozilla-central/bug-job-map/")
	r := request(t, c, "POST", path, map[string]any{"job_id": id, "bug_id": 1700042, "bug_open": false}, auth...)
	if r.status != 200 || r.message() != "Bug job map saved" {
		t.Fatalf("POST bug-job-map: %d %s", r.status, r.body)
	}
	r = request(t, c, "POST", path, map[string]any{"job_id": fmt.Sprint(id), "bug_id": "1700042"}, auth...)
	if r.status != 200 || r.message() != "Bug job map skipped: mapping already exists" {
		t.Fatalf("POST the same bug again: %d %s", r.status, r.body)
	}
	var summary string
	if err := e.st.DB().QueryRow("SELECT summary FROM bugscache WHERE bugzilla_id = 1700042").Scan(&summary); err != nil || summary != store.StubBugSummary {
		t.Fatalf("stub bug summary %q, %v", summary, err)
	}
	links := func() []struct {
		BugID      *int64 `json:"bug_id"`
		InternalID int64  `json:"bug_internal_id"`
		Who        string `json:"who"`
	} {
		t.Helper()
		r := request(t, c, "GET", e.url(fmt.Sprintf("/api/project/mozilla-central/bug-job-map/?job_id=%d", id)), nil)
		var out []struct {
			BugID      *int64 `json:"bug_id"`
			InternalID int64  `json:"bug_internal_id"`
			Who        string `json:"who"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &out) != nil {
			t.Fatalf("GET bug-job-map: %d %s", r.status, r.body)
		}
		return out
	}
	if l := links(); len(l) != 1 || l[0].BugID == nil || *l[0].BugID != 1700042 || l[0].Who != "sheriff@example.com" {
		t.Fatalf("links = %+v", l)
	}
	issue := request(t, c, "POST", e.url("/api/internal_issue/"), map[string]string{"summary": "Intermittent crash in test_x"}, auth...)
	var ii struct {
		InternalID int64  `json:"internal_id"`
		Summary    string `json:"summary"`
	}
	if issue.status != 201 || json.Unmarshal(issue.body, &ii) != nil || ii.InternalID == 0 {
		t.Fatalf("POST internal_issue: %d %s", issue.status, issue.body)
	}
	r = request(t, c, "POST", path, map[string]any{"job_id": id, "internal_id": ii.InternalID, "bug_open": true}, auth...)
	if r.status != 200 || r.message() != "Bug job map saved" {
		t.Fatalf("POST internal issue link: %d %s", r.status, r.body)
	}
	if l := links(); len(l) != 2 || l[1].BugID != nil || l[1].InternalID != ii.InternalID {
		t.Fatalf("links with an internal issue = %+v", l)
	}
	lm := e.job(t, "w1/0").LastModified
	for _, key := range []string{fmt.Sprintf("%d-1700042", id), fmt.Sprintf("%d-i%d", id, ii.InternalID)} {
		r := request(t, c, "DELETE", e.url("/api/project/mozilla-central/bug-job-map/"+key+"/"), nil, auth...)
		if r.status != 200 || r.message() != "Bug job map deleted" {
			t.Fatalf("DELETE %s: %d %s", key, r.status, r.body)
		}
	}
	if l := links(); len(l) != 0 {
		t.Fatalf("links after deleting = %+v", l)
	}
	if j := e.job(t, "w1/0"); j.LastModified <= lm {
		t.Fatalf("unlinking did not bump last_modified")
	}
}

func (e *writeEnv) testInternalIssue(t *testing.T) {
	c := e.srv.Client()
	path := e.url("/api/internal_issue/")
	first := request(t, c, "POST", path, map[string]string{"summary": "  Shutdown hang in xpcshell  "}, bearerHeader(e.sheriff)...)
	if first.status != 201 || !strings.Contains(string(first.body), `"summary":"Shutdown hang in xpcshell"`) {
		t.Fatalf("POST internal_issue: %d %s", first.status, first.body)
	}
	again := request(t, c, "POST", path, map[string]string{"summary": "Shutdown hang in xpcshell"}, bearerHeader(e.admin)...)
	if again.status != 200 || string(again.body) != string(first.body) {
		t.Fatalf("POST the same summary: %d %s, first %s", again.status, again.body, first.body)
	}
	for _, body := range []any{map[string]any{}, map[string]any{"summary": ""}, map[string]any{"summary": 5},
		map[string]any{"summary": strings.Repeat("é", 256)}, "[1]"} {
		if r := request(t, c, "POST", path, body, bearerHeader(e.sheriff)...); r.status != 400 || r.detail() == "" {
			t.Errorf("POST internal_issue %v: %d %s", body, r.status, r.body)
		}
	}
}

func (e *writeEnv) testUnclassify(t *testing.T) {
	c := e.srv.Client()
	ctx := context.Background()
	j1, j2, other := e.jobs["w1/0"], e.jobs["w2/0"], e.jobs["other/0"]
	for _, id := range []int64{j1, j2} {
		if _, err := e.st.AddJobNote(ctx, store.NoteInput{RepositoryID: e.central, JobID: id, FailureClassificationID: 4}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.AddBugJobMap(ctx, store.BugJobMapInput{RepositoryID: e.central, JobID: id, Bug: store.BugRef{BugzillaID: 99}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.AddJobNote(ctx, store.NoteInput{RepositoryID: e.autoland, JobID: other, FailureClassificationID: 4}); err != nil {
		t.Fatal(err)
	}
	path := e.url("/api/project/mozilla-central/classification/")
	r := request(t, c, "DELETE", path, []map[string]any{{"id": j1}, {"id": j2}, {"id": other}}, bearerHeader(e.admin)...)
	if r.status != 200 || r.message() != "Notes and bug classifications deleted" {
		t.Fatalf("unclassify: %d %s", r.status, r.body)
	}
	for _, guid := range []string{"w1/0", "w2/0"} {
		notes, _ := e.st.JobNotes(ctx, []int64{e.jobs[guid]})
		links, _ := e.st.BugJobMaps(ctx, []int64{e.jobs[guid]})
		if j := e.job(t, guid); j.FailureClass != 1 || len(notes) != 0 || len(links) != 0 {
			t.Fatalf("%s after unclassify: fc %d, %d notes, %d links", guid, j.FailureClass, len(notes), len(links))
		}
	}
	if j := e.job(t, "other/0"); j.FailureClass != 4 {
		t.Fatalf("unclassify on mozilla-central reached autoland's job: fc %d", j.FailureClass)
	}
	for _, body := range []any{"[]", map[string]any{"id": j1}, []map[string]any{{"id": "x"}}, []map[string]any{{}}} {
		if r := request(t, c, "DELETE", path, body, bearerHeader(e.admin)...); r.status != 400 {
			t.Errorf("unclassify %v: %d %s", body, r.status, r.body)
		}
	}
}

func (e *writeEnv) testValidation(t *testing.T) {
	c := e.srv.Client()
	auth := bearerHeader(e.sheriff)
	j1, other := e.jobs["w1/0"], e.jobs["other/0"]
	before := e.snapshot(t)
	cases := []struct {
		method, path string
		body         any
		headers      []string
		status       int
		detail       string
	}{
		{"POST", "/api/project/nope/note/", map[string]any{"job_id": j1, "failure_classification_id": 4}, nil, 404, "No project with name nope"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"failure_classification_id": 4}, nil, 400, "job_id is required"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": "abc", "failure_classification_id": 4}, nil, 400, "job_id must be an integer"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": 1.5, "failure_classification_id": 4}, nil, 400, "job_id must be an integer"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": -3, "failure_classification_id": 4}, nil, 400, "job_id must be a positive integer"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": j1}, nil, 400, "failure_classification_id is required"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": j1, "failure_classification_id": 99}, nil, 400, "Unknown failure_classification_id: 99"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": j1, "failure_classification_id": 4, "text": 7}, nil, 400, "text must be a string"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": 1 << 40, "failure_classification_id": 4}, nil, 404, fmt.Sprintf("No job with id: %d", 1<<40)},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": other, "failure_classification_id": 4}, nil, 404, fmt.Sprintf("No job with id: %d", other)},
		{"POST", "/api/project/mozilla-central/note/", "{not json", nil, 400, ""},
		{"POST", "/api/project/mozilla-central/note/", "", nil, 400, "A JSON body is required."},
		{"POST", "/api/project/mozilla-central/note/", "[]", nil, 400, "JSON parse error - expected a JSON object, got array"},
		{"POST", "/api/project/mozilla-central/note/", map[string]any{"job_id": j1, "failure_classification_id": 4}, []string{"Content-Type", "text/plain"}, 415, `Unsupported media type "text/plain" in request.`},
		{"DELETE", "/api/project/mozilla-central/note/abc/", nil, nil, 400, ""},
		{"DELETE", "/api/project/mozilla-central/note/999999/", nil, nil, 404, "No note with id: 999999"},
		{"POST", "/api/project/mozilla-central/bug-job-map/", map[string]any{"job_id": j1}, nil, 400, "At least one of bug_id or internal_id is required"},
		{"POST", "/api/project/mozilla-central/bug-job-map/", map[string]any{"job_id": j1, "bug_id": 0, "internal_id": nil}, nil, 400, "At least one of bug_id or internal_id is required"},
		{"POST", "/api/project/mozilla-central/bug-job-map/", map[string]any{"job_id": j1, "bug_id": "x"}, nil, 400, "bug_id must be an integer"},
		{"POST", "/api/project/mozilla-central/bug-job-map/", map[string]any{"job_id": j1, "internal_id": 999999}, nil, 400, "No internal issue with id: 999999"},
		{"POST", "/api/project/mozilla-central/bug-job-map/", map[string]any{"job_id": j1, "bug_id": 5, "bug_open": "yes"}, nil, 400, "bug_open must be true or false"},
		{"POST", "/api/project/mozilla-central/bug-job-map/", map[string]any{"job_id": other, "bug_id": 5}, nil, 404, fmt.Sprintf("No job with id: %d", other)},
		{"DELETE", "/api/project/mozilla-central/bug-job-map/12/", nil, nil, 400, `bug-job-map key must be <job_id>-<bug_id> or <job_id>-i<internal_id>, not "12"`},
		{"DELETE", "/api/project/mozilla-central/bug-job-map/12-ix/", nil, nil, 400, ""},
		{"DELETE", fmt.Sprintf("/api/project/mozilla-central/bug-job-map/%d-5/", other), nil, nil, 404, fmt.Sprintf("No job with id: %d", other)},
		{"DELETE", "/api/project/nope/classification/", []map[string]any{{"id": j1}}, bearerHeader(e.admin), 404, "No project with name nope"},
	}
	for _, tc := range cases {
		h := append(append([]string{}, auth...), tc.headers...)
		r := request(t, c, tc.method, e.url(tc.path), tc.body, h...)
		if r.status != tc.status || (tc.detail != "" && r.detail() != tc.detail) || r.detail() == "" ||
			!strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s %v: %d %s, want %d %q", tc.method, tc.path, tc.body, r.status, r.body, tc.status, tc.detail)
		}
	}
	if after := e.snapshot(t); after != before {
		t.Fatalf("refused writes changed the database:\n before %+v\n after  %+v", before, after)
	}
}

// testBodyLimit: bodies over 64 KiB are refused with 413, whether or not
// they declare their length, and nothing is stored.
func (e *writeEnv) testBodyLimit(t *testing.T) {
	before := e.snapshot(t)
	big := fmt.Sprintf(`{"job_id": %d, "failure_classification_id": 4, "text": "%s"}`, e.jobs["w1/0"], strings.Repeat("x", 64<<10))
	r := request(t, e.srv.Client(), "POST", e.url("/api/project/mozilla-central/note/"), big, bearerHeader(e.sheriff)...)
	if r.status != 413 || r.detail() != "Request body is larger than 65536 bytes." {
		t.Fatalf("big note: %d %s", r.status, r.body)
	}
	// Chunked: no Content-Length to refuse early.
	req, _ := http.NewRequest("POST", e.url("/api/project/mozilla-central/note/"), io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer "+e.sheriff)
	req.ContentLength = -1
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("big chunked note: %d", resp.StatusCode)
	}
	// Just under the limit is fine.
	ok := fmt.Sprintf(`{"job_id": %d, "failure_classification_id": 4, "text": "%s"}`, e.jobs["w1/0"], strings.Repeat("y", 60<<10))
	if r := request(t, e.srv.Client(), "POST", e.url("/api/project/mozilla-central/note/"), ok, bearerHeader(e.sheriff)...); r.status != 200 {
		t.Fatalf("a 60 KiB note: %d %s", r.status, r.body)
	}
	after := e.snapshot(t)
	if after.notes != before.notes+1 {
		t.Fatalf("notes %d -> %d, want one more", before.notes, after.notes)
	}
}

func (e *writeEnv) testUser(t *testing.T) {
	c := e.srv.Client()
	for _, tc := range []struct {
		headers []string
		want    string
	}{
		{nil, `[]`},
		{bearerHeader(e.sheriff), `[{"username":"sheriff@example.com","is_superuser":false,"is_staff":false,"email":"sheriff@example.com"}]`},
		{bearerHeader(e.admin), `[{"username":"admin@example.com","is_superuser":false,"is_staff":true,"email":"admin@example.com"}]`},
	} {
		r := request(t, c, "GET", e.url("/api/user/"), nil, tc.headers...)
		if r.status != 200 || string(r.body) != tc.want || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET /api/user/ %v: %d %s, want %s", tc.headers, r.status, r.body, tc.want)
		}
	}
	if r := request(t, c, "GET", e.url("/api/user/"), nil, bearerHeader(e.revoked)...); r.status != 401 || r.detail() != "Invalid token." {
		t.Errorf("GET /api/user/ with a revoked token: %d %s", r.status, r.body)
	}
	// Without OIDC, sign-in says so.
	if r := request(t, c, "GET", e.url("/api/auth/login/"), nil); r.status != 404 || !strings.Contains(r.detail(), "not configured") {
		t.Errorf("GET /api/auth/login/ without OIDC: %d %s", r.status, r.body)
	}
}

// testCORS: reads allow any origin; writes answer no preflight and carry
// no CORS header, so other sites cannot write with a user's credentials.
func (e *writeEnv) testCORS(t *testing.T) {
	c := e.srv.Client()
	read := request(t, c, "GET", e.url(fmt.Sprintf("/api/project/mozilla-central/note/?job_id=%d", e.jobs["w1/0"])), nil, "Origin", "https://elsewhere.example")
	if read.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("read CORS header = %q", read.header.Get("Access-Control-Allow-Origin"))
	}
	pre := request(t, c, "OPTIONS", e.url("/api/project/mozilla-central/note/1/"), nil, "Origin", "https://elsewhere.example",
		"Access-Control-Request-Method", "DELETE")
	if pre.status/100 == 2 || pre.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("write preflight: %d, Allow-Origin %q", pre.status, pre.header.Get("Access-Control-Allow-Origin"))
	}
	pre = request(t, c, "OPTIONS", e.url("/api/project/mozilla-central/note/"), nil, "Origin", "https://elsewhere.example",
		"Access-Control-Request-Method", "POST")
	if strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight allows POST: %q", pre.header.Get("Access-Control-Allow-Methods"))
	}
	w := request(t, c, "POST", e.url("/api/internal_issue/"), map[string]string{"summary": "cors"}, append(bearerHeader(e.sheriff), "Origin", "https://elsewhere.example")...)
	if w.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("write CORS header = %q", w.header.Get("Access-Control-Allow-Origin"))
	}
}

// TestWriteRateLimit: past the burst a user gets 429 with Retry-After and
// nothing is stored; anonymous attempts are limited by address.
func TestWriteRateLimit(t *testing.T) {
	e := newWriteEnv(t, "sqlite", func(o *server.Options) { o.WriteLimit = server.RateLimit{PerSecond: 0.01, Burst: 3} })
	c := e.srv.Client()
	body := map[string]any{"job_id": e.jobs["w1/0"], "failure_classification_id": 4, "text": "rate"}
	path := e.url("/api/project/mozilla-central/note/")
	for i := 0; i < 3; i++ {
		if r := request(t, c, "POST", path, body, bearerHeader(e.sheriff)...); r.status != 200 {
			t.Fatalf("write %d: %d %s", i, r.status, r.body)
		}
	}
	before := e.snapshot(t)
	r := request(t, c, "POST", path, body, bearerHeader(e.sheriff)...)
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.HasPrefix(r.detail(), "Request was throttled.") {
		t.Fatalf("write past the burst: %d %s, Retry-After %q", r.status, r.body, r.header.Get("Retry-After"))
	}
	if after := e.snapshot(t); after != before {
		t.Fatalf("a throttled write changed the database")
	}
	// Another user has their own bucket.
	if r := request(t, c, "POST", path, body, bearerHeader(e.admin)...); r.status != 200 {
		t.Fatalf("another user's write: %d %s", r.status, r.body)
	}
	// Reads are not limited.
	for i := 0; i < 5; i++ {
		if r := request(t, c, "GET", e.url("/api/user/"), nil, bearerHeader(e.sheriff)...); r.status != 200 {
			t.Fatalf("read %d: %d", i, r.status)
		}
	}
	// Failed attempts count against the address.
	var last response
	for i := 0; i < 4; i++ {
		last = request(t, c, "POST", path, body, bearerHeader("hdr_guess")...)
	}
	if last.status != 429 {
		t.Fatalf("repeated bad tokens: %d %s", last.status, last.body)
	}
}

// BenchmarkWriteNote measures a classification end to end: HTTP,
// token check, rate limit, the note, the job's reclassification.
func BenchmarkWriteNote(b *testing.B) {
	for _, backend := range []string{"sqlite", "mysql"} {
		b.Run(backend, func(b *testing.B) { benchmarkWriteNote(b, backend) })
	}
}

func benchmarkWriteNote(b *testing.B, backend string) {
	e := newWriteEnv(b, backend, func(o *server.Options) { o.WriteLimit = server.RateLimit{PerSecond: -1} })
	c := e.srv.Client()
	body := []byte(fmt.Sprintf(`{"job_id": %d, "failure_classification_id": 4, "text": "bench"}`, e.jobs["w1/0"]))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", e.url("/api/project/mozilla-central/note/"), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.sheriff)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
