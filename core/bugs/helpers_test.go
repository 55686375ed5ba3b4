package bugs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

var ctx = context.Background()

// pluginBin is the bugmatcher plugin, built once for the package's tests.
var pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bugs-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginBin, err = plugintest.BuildMain(dir, "github.com/herder-ci/herder/plugins/bugmatcher")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// backends runs fn on a fresh SQLite file and a fresh MariaDB database.
func backends(t *testing.T, fn func(t *testing.T, st *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "herder.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		prepare(t, st)
		fn(t, st)
	})
	t.Run("mysql", func(t *testing.T) {
		st, err := sqlstore.OpenMySQL(ctx, testenv.MySQLDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		prepare(t, st)
		fn(t, st)
	})
}

func prepare(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SeedFailureClassifications(ctx); err != nil {
		t.Fatal(err)
	}
	dev := model.RepositoryGroup{ID: 1, Name: "development", Description: "landing"}
	try := model.RepositoryGroup{ID: 3, Name: "try", Description: "try pushes"}
	repos := []model.Repository{
		{ID: 1, Name: "mozilla-central", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/mozilla-central", ActiveStatus: "active"},
		{ID: 4, Name: "try", Group: try, DVCSType: "hg", URL: "https://hg.mozilla.org/try", IsTryRepo: true, ActiveStatus: "active"},
		{ID: 35, Name: "comm-central", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/comm-central", ActiveStatus: "active"},
		{ID: 77, Name: "autoland", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/integration/autoland", ActiveStatus: "active"},
	}
	if err := st.UpsertRepositories(ctx, []model.RepositoryGroup{dev, try}, repos); err != nil {
		t.Fatal(err)
	}
}

func rev(n int) string { return fmt.Sprintf("%040x", n) }

// addPush stores a push and returns its id.
func addPush(t *testing.T, st *sqlstore.Store, repoID int64, revision string, at int64) int64 {
	t.Helper()
	p := []model.Push{{RepositoryID: repoID, Revision: revision, Author: "dev@example.com", Time: at,
		Commits: []model.Commit{{Revision: revision, Author: "dev@example.com", Comments: "a change"}}}}
	if err := st.StorePushes(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p[0].ID
}

type jobSpec struct {
	guid, repo, revision, name, result string
	submit                             int64
	logs                               []string // log names
}

// addJob stores a completed job through the ingestion pipeline and returns
// it with its logs.
func addJob(t *testing.T, st *sqlstore.Store, j jobSpec) model.Job {
	t.Helper()
	if j.name == "" {
		j.name = "test-linux1804-64/debug-mochitest-browser-chrome-e10s-2"
	}
	d := sdk.JobDatum{Project: j.repo, Revision: j.revision, Job: sdk.Job{
		JobGUID: j.guid, Name: j.name, JobSymbol: "bc2", GroupName: "Mochitests", GroupSymbol: "M",
		ProductName: "firefox", Reason: "scheduled", Who: "dev@example.com", State: sdk.StateCompleted, Result: j.result,
		Tier: 1, BuildSystemType: "taskcluster", Machine: "worker-1",
		BuildPlatform:    sdk.Platform{Platform: "linux1804-64", OSName: "linux", Architecture: "x86_64"},
		MachinePlatform:  sdk.Platform{Platform: "linux1804-64", OSName: "linux", Architecture: "x86_64"},
		OptionCollection: map[string]bool{"debug": true},
		SubmitTimestamp:  j.submit, StartTimestamp: j.submit, EndTimestamp: j.submit + 60,
	}}
	for _, l := range j.logs {
		url := "https://example.com/" + j.guid + "/" + l
		if l == sdk.LogErrorSummary {
			url = "https://example.com/" + j.guid + "/mochitest_errorsummary.log"
		}
		d.Job.LogReferences = append(d.Job.LogReferences, sdk.LogReference{Name: l, URL: url})
	}
	p := ingest.NewPipeline(st, nil, nil)
	if err := p.ReloadRepositories(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.StoreJobData(ctx, "test", []sdk.JobDatum{d}); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.JobsByGUID(ctx, []string{j.guid})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("job %s: %v %v", j.guid, jobs, err)
	}
	return jobs[0]
}

// logTask is the dispatcher's view of one of a job's logs.
func logTask(t *testing.T, job model.Job, name string) model.LogTask {
	t.Helper()
	for _, l := range job.Logs {
		if l.Name == name {
			return model.LogTask{JobLogID: l.ID, JobID: job.ID, JobGUID: job.GUID, RepositoryID: job.RepositoryID, Name: l.Name, URL: l.URL, JobResult: job.Result}
		}
	}
	t.Fatalf("job %s has no %s log", job.GUID, name)
	return model.LogTask{}
}

// procAdapter lets a plugin under test serve as the supervisor.
type procAdapter struct{ p *plugintest.ProcessorRun }

func (a procAdapter) Process(ctx context.Context, _ string, task sdk.Task) (sdk.Result, error) {
	return a.p.Process(ctx, task)
}

func startPlugin(t testing.TB) procAdapter {
	t.Helper()
	return procAdapter{plugintest.StartProcessor(t, pluginBin, plugintest.ProcessorOptions{Name: "bugmatcher"})}
}

// sharedBugs reads a file of Treeherder's bug sample data.
func sharedBugs(t *testing.T, name string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "bugs", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Bugs []map[string]any `json:"bugs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Bugs
}

// fakeBugzilla serves Treeherder's bug cache population data the way
// Treeherder's test mock does: the intermittent-failure query answers with
// run-0.json, an id query with those bugs from any run file, every bug
// changed 20 days ago. Fail and Delay simulate an outage.
type fakeBugzilla struct {
	srv *httptest.Server

	mu       sync.Mutex
	seed     []map[string]any         // answer to the keyword query
	byID     map[int64]map[string]any // answers to id queries
	requests []string                 // raw queries
	puts     []string                 // PUT paths and bodies
	fail     int                      // answer that many requests with HTTP 500
	delay    time.Duration
	failAll  bool
	apiKeys  []string
}

func newFakeBugzilla(t *testing.T) *fakeBugzilla {
	t.Helper()
	f := &fakeBugzilla{byID: map[int64]map[string]any{}}
	changed := time.Now().UTC().Add(-20 * 24 * time.Hour).Format("2006-01-02T15:04:05Z")
	for _, run := range []string{"run-0.json", "run-1.json", "run-2.json", "run-6.json", "run-7.json"} {
		for _, b := range sharedBugs(t, run) {
			b["last_change_time"] = changed
			f.byID[int64(b["id"].(float64))] = b
			if run == "run-0.json" {
				f.seed = append(f.seed, b)
			}
		}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBugzilla) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	delay, fail := f.delay, f.fail > 0 || f.failAll
	if f.fail > 0 {
		f.fail--
	}
	f.apiKeys = append(f.apiKeys, r.Header.Get("X-BUGZILLA-API-KEY"))
	if r.Method == http.MethodPut {
		body := make([]byte, 1<<16)
		n, _ := r.Body.Read(body)
		f.puts = append(f.puts, r.URL.Path+" "+string(body[:n]))
	} else {
		f.requests = append(f.requests, r.URL.RawQuery)
	}
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if fail {
		http.Error(w, `{"error":true,"message":"Bugzilla is down"}`, http.StatusInternalServerError)
		return
	}
	if r.Method == http.MethodPut {
		w.Write([]byte(`{"bugs":[]}`))
		return
	}
	if r.URL.Path != "/rest/bug" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	var out []map[string]any
	f.mu.Lock()
	if ids := q.Get("id"); ids != "" {
		var list []int64
		for _, s := range strings.Split(ids, ",") {
			id, _ := strconv.ParseInt(s, 10, 64)
			list = append(list, id)
		}
		sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
		for _, id := range list {
			if b, ok := f.byID[id]; ok {
				out = append(out, b)
			}
		}
	} else if q.Get("keywords") == "intermittent-failure" {
		offset, _ := strconv.Atoi(q.Get("offset"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		if offset < len(f.seed) {
			out = f.seed[offset:min(offset+limit, len(f.seed))]
		}
	}
	f.mu.Unlock()
	if out == nil {
		out = []map[string]any{}
	}
	json.NewEncoder(w).Encode(map[string]any{"bugs": out})
}

func (f *fakeBugzilla) queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeBugzilla) client(t *testing.T, opts BugzillaOptions) *Bugzilla {
	t.Helper()
	opts.URL = f.srv.URL
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	b, err := NewBugzilla(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
