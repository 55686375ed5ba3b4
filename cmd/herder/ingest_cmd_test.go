package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/plugins/pulse/transform"
)

// fakeTaskcluster serves the recorded fixture tasks as Taskcluster's queue
// and index would, and an hg pushlog for autoland, over plain HTTP.
type fakeTaskcluster struct {
	srv      *httptest.Server
	tasks    map[string]json.RawMessage // id -> definition
	statuses map[string]json.RawMessage // id -> status (from its message)
	runIDs   map[string]int
	revs     map[string]string // id -> revision of its route
	mu       sync.Mutex
	hits     map[string]int
}

func newFakeTaskcluster(t *testing.T) *fakeTaskcluster {
	t.Helper()
	f := &fakeTaskcluster{statuses: map[string]json.RawMessage{}, runIDs: map[string]int{}, revs: map[string]string{}, hits: map[string]int{}}
	pulseReadJSON(t, pulseFixture(t, "taskcluster_tasks.json"), &f.tasks)
	var msgs map[string]struct {
		Payload struct {
			Status json.RawMessage `json:"status"`
			RunID  int             `json:"runId"`
		} `json:"payload"`
	}
	pulseReadJSON(t, pulseFixture(t, "taskcluster_pulse_messages.json"), &msgs)
	for id, m := range msgs {
		f.statuses[id], f.runIDs[id] = m.Payload.Status, m.Payload.RunID
		td, err := transform.ParseTaskDefinition(f.tasks[id])
		if err != nil {
			t.Fatal(err)
		}
		r, err := transform.FindRoute(td.Routes)
		if err != nil {
			t.Fatal(err)
		}
		f.revs[id] = r.Revision
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/queue/v1/task/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.hit("task")
		if def, ok := f.tasks[r.PathValue("id")]; ok {
			_, _ = w.Write(def)
			return
		}
		http.NotFound(w, r)
	})
	mux.HandleFunc("/api/queue/v1/task/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		f.hit("status")
		st, ok := f.statuses[r.PathValue("id")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"status": %s}`, st)
	})
	mux.HandleFunc("/api/queue/v1/task/{id}/runs/{run}/artifacts", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"artifacts": [{"name": "public/logs/live_backing.log"}]}`)
	})
	mux.HandleFunc("/api/index/v1/task/{ns}", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.PathValue("ns"), ".")
		if len(parts) != 7 || parts[2] != "autoland" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"taskId": "decision-%s"}`, parts[4])
	})
	mux.HandleFunc("/api/queue/v1/task-group/{id}/list", func(w http.ResponseWriter, r *http.Request) {
		f.hit("list")
		rev := strings.TrimPrefix(r.PathValue("id"), "decision-")
		var ids []string
		for id := range f.statuses {
			if f.revs[id] == rev {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids) // pages must agree
		var all []map[string]json.RawMessage
		for _, id := range ids {
			all = append(all, map[string]json.RawMessage{"status": f.statuses[id], "task": f.tasks[id]})
		}
		from, _ := strconv.Atoi(r.URL.Query().Get("continuationToken"))
		to := min(from+20, len(all))
		doc := map[string]any{"taskGroupId": r.PathValue("id"), "tasks": all[from:to]}
		if to < len(all) {
			doc["continuationToken"] = strconv.Itoa(to)
		}
		_ = json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("/integration/autoland/json-pushes", func(w http.ResponseWriter, r *http.Request) {
		rev := r.URL.Query().Get("changeset")
		if len(rev) != 40 {
			http.Error(w, "changeset", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"lastpushid": 9, "pushes": {"7": {"date": 1561576000, "user": "pusher@example.com",
			"changesets": [{"node": "%s", "author": "Dev <dev@example.com>", "desc": "Bug 1 - change"}]}}}`, rev)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTaskcluster) hit(what string) {
	f.mu.Lock()
	f.hits[what]++
	f.mu.Unlock()
}

// ingestConfig writes a config whose autoland repository is the fake's
// pushlog and whose allowed hosts include the fake.
func ingestConfig(t *testing.T, f *fakeTaskcluster) (cfgPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	host := strings.TrimPrefix(f.srv.URL, "http://")
	cfgPath = writeConfig(t, fmt.Sprintf(`
data_dir = %q
storage {
  driver = "sqlite"
}
log {
  level = "warn"
}
allowed_hosts = [%q]
repository "autoland" {
  group     = "development"
  dvcs_type = "hg"
  url       = "%s/integration/autoland"
}
`, dir, host, f.srv.URL))
	return cfgPath, filepath.Join(dir, "herder.db")
}

func openTestStore(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestIngestPushAllTasks: `herder ingest push --all-tasks` reads the push
// from the pushlog, finds the decision task through the index, lists its
// group (paginated) and stores a job per run, matching the fixture.
func TestIngestPushAllTasks(t *testing.T) {
	f := newFakeTaskcluster(t)
	cfg, db := ingestConfig(t, f)
	const rev = "219d38523a321229f7f48aca6592f76b993fb1aa"
	code, out, errOut := runCaptured(t, "--config", cfg, "ingest", "push", "--repo", "autoland", "--rev", rev,
		"--all-tasks", "--root-url", f.srv.URL)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, "stored push "+rev+" of autoland") || !strings.Contains(out, "49 tasks, 49 jobs stored, 0 tasks skipped, 0 failed") {
		t.Errorf("output:\n%s", out)
	}
	if f.hits["list"] != 3 {
		t.Errorf("task group listed in %d pages, want 3", f.hits["list"])
	}
	var want map[string]struct {
		Job struct {
			GUID   string `json:"job_guid"`
			State  string `json:"state"`
			Result string `json:"result"`
			Symbol string `json:"job_symbol"`
		} `json:"job"`
	}
	pulseReadJSON(t, pulseFixture(t, "taskcluster_transformed_jobs.json"), &want)
	var guids []string
	wantByGUID := map[string]string{}
	for id, d := range want {
		if f.revs[id] == rev {
			guids = append(guids, d.Job.GUID)
			wantByGUID[d.Job.GUID] = d.Job.State + "/" + d.Job.Result + "/" + d.Job.Symbol
		}
	}
	st := openTestStore(t, db)
	jobs, err := st.JobsByGUID(context.Background(), guids)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 49 {
		t.Fatalf("%d jobs stored, want 49", len(jobs))
	}
	for _, j := range jobs {
		if got := j.State + "/" + j.Result + "/" + j.JobType.Symbol; got != wantByGUID[j.GUID] || j.PushRevision != rev || j.RepositoryName != "autoland" {
			t.Errorf("job %s: %s in %s at %s, want %s", j.GUID, got, j.RepositoryName, j.PushRevision, wantByGUID[j.GUID])
		}
	}

	// Again: idempotent, nothing doubled.
	if code, _, errOut := runCaptured(t, "--config", cfg, "ingest", "push", "--repo", "autoland", "--rev", rev, "--all-tasks", "--root-url", f.srv.URL); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	counts, err := st.Counts(context.Background())
	if err != nil || counts["job"] != 49 || counts["push"] != 1 {
		t.Errorf("after a second import: %v (%v)", counts, err)
	}
}

// TestIngestTask: `herder ingest task` stores every run of one task; its
// push, missing from the store, is fetched from the pushlog first.
func TestIngestTask(t *testing.T) {
	f := newFakeTaskcluster(t)
	cfg, db := ingestConfig(t, f)
	var id string
	for tid, rev := range f.revs {
		if strings.HasPrefix(rev, "44932f23") {
			id = tid
		}
	}
	code, out, errOut := runCaptured(t, "--config", cfg, "ingest", "task", "--task-id", id, "--root-url", f.srv.URL)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, "1 jobs stored from 1 tasks") {
		t.Errorf("output: %s", out)
	}
	guid, _ := transform.JobGUID(id, f.runIDs[id])
	jobs, err := openTestStore(t, db).JobsByGUID(context.Background(), []string{guid})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v, %v", jobs, err)
	}
	j := jobs[0]
	wantLog := fmt.Sprintf("%s/api/queue/v1/task/%s/runs/0/artifacts/public/logs/live_backing.log", f.srv.URL, id)
	if j.State != "completed" || j.Result != "success" || j.PushRevision != f.revs[id] || len(j.Logs) != 1 || j.Logs[0].URL != wantLog {
		t.Errorf("stored job %s %s at %s with logs %+v", j.State, j.Result, j.PushRevision, j.Logs)
	}
}

func TestIngestErrors(t *testing.T) {
	f := newFakeTaskcluster(t)
	cfg, _ := ingestConfig(t, f)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ingest", "push", "--repo", "autoland"}, 2, "--rev"},
		{[]string{"ingest", "push", "--repo", "nope", "--rev", "abc"}, 2, "unknown repository"},
		{[]string{"ingest", "push", "--repo", "servo-try", "--rev", "abc"}, 2, "git repository"},
		{[]string{"ingest", "push", "--repo", "autoland", "--rev", "abc", "--root-url", "ftp://x"}, 2, "root-url"},
		{[]string{"ingest", "task"}, 2, "--task-id"},
		{[]string{"ingest", "task", "--task-id", "AAAAAAAAQACAAAAAAAAAZg", "--root-url", f.srv.URL}, 1, "status of task"},
	}
	for _, tc := range cases {
		code, _, errOut := runCapturedStderr(t, append([]string{"--config", cfg}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
}

// runCapturedStderr is runCaptured plus what run itself writes to the
// process's stderr (the final error line).
func runCapturedStderr(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	read := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		read <- string(b)
	}()
	code, out, errOut := runCaptured(t, args...)
	os.Stderr = old
	w.Close()
	return code, out, errOut + <-read
}

func TestProgressBar(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, "tasks", 4)
	if p.w != nil {
		t.Fatal("a progress bar on a non-terminal")
	}
	p.w = &b // as on a terminal
	for i := 0; i < 4; i++ {
		p.add()
	}
	p.finish()
	if out := b.String(); !strings.HasPrefix(out, "\rtasks [=======>") || !strings.HasSuffix(out, "\rtasks [==============================] 4/4 100%\n") {
		t.Errorf("bar %q", out)
	}
}
