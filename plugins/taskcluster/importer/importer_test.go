package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// fixtureFetcher serves fixture definitions and, for every run, an artifact
// list holding only the live backing log (as Treeherder's test mocks it).
type fixtureFetcher struct{ transform.StaticTasks }

func (fixtureFetcher) Artifacts(context.Context, string, string, int, string) (transform.ArtifactPage, error) {
	return transform.ArtifactPage{Artifacts: []transform.Artifact{{Name: "public/logs/live_backing.log"}}}, nil
}

// TestTaskJobsMatchFixtures feeds each recorded task's status (from its
// message) and definition through TaskJobs, as `herder ingest` and the
// poller do, and compares the job of the message's run with
// taskcluster_transformed_jobs.json.
func TestTaskJobsMatchFixtures(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "pulse")
	var msgs map[string]struct {
		Payload struct {
			Status json.RawMessage `json:"status"`
			RunID  int             `json:"runId"`
		} `json:"payload"`
	}
	readJSON(t, filepath.Join(dir, "taskcluster_pulse_messages.json"), &msgs)
	var tasks transform.StaticTasks
	readJSON(t, filepath.Join(dir, "taskcluster_tasks.json"), &tasks)
	var want map[string]json.RawMessage
	readJSON(t, filepath.Join(dir, "taskcluster_transformed_jobs.json"), &want)

	im := NewWith(nil, fixtureFetcher{tasks}, Options{})
	entries := make([]TaskEntry, 0, len(msgs))
	var ids []string
	for id, m := range msgs {
		entries = append(entries, TaskEntry{Status: m.Payload.Status, Task: tasks[id]})
		ids = append(ids, id)
	}
	var done atomic.Int64
	results := im.TasksJobs(context.Background(), "https://taskcluster.net", entries, func() { done.Add(1) })
	if done := int(done.Load()); done != len(entries) {
		t.Errorf("progress called %d times for %d tasks", done, len(entries))
	}
	matched := 0
	for i, r := range results {
		id := ids[i]
		if r.Err != nil {
			t.Errorf("%s: %v", id, r.Err)
			continue
		}
		guid, _ := transform.JobGUID(id, msgs[id].Payload.RunID)
		var got *sdk.JobDatum
		for _, e := range r.Events {
			if e.Job.Job.JobGUID == guid {
				got = e.Job
			}
			if !strings.HasPrefix(e.ID, "tc/"+id+"/") || len(e.Raw) == 0 {
				t.Errorf("%s: event id %q, raw %d bytes", id, e.ID, len(e.Raw))
			}
		}
		if got == nil {
			t.Errorf("%s: no job for run %d among %d events", id, msgs[id].Payload.RunID, len(r.Events))
			continue
		}
		got.Project = ""
		gb, _ := json.Marshal(got)
		var g, w any
		_ = json.Unmarshal(gb, &g)
		_ = json.Unmarshal(want[id], &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: job differs from the fixture:\n got %s\nwant %s", id, gb, want[id])
			continue
		}
		matched++
	}
	if matched != 61 {
		t.Errorf("%d of 61 fixture jobs matched", matched)
	}
}

func TestTaskJobsRunsAndSkips(t *testing.T) {
	def := `{"created": "2024-01-01T00:00:00Z", "workerType": "w", "routes": ["tc-treeherder.v2.autoland.` + strings.Repeat("a", 40) + `"],
		"metadata": {"name": "n", "owner": "o@example.com", "description": "d", "source": "s"},
		"extra": {"treeherder": {"symbol": "B", "jobKind": "build"}}}`
	id := "A35mWTRuQmyj88yMnIF0fA"
	im := NewWith(nil, fixtureFetcher{transform.StaticTasks{id: json.RawMessage(def)}}, Options{})
	status := `{"taskId": "` + id + `", "runs": [
		{"runId": 0, "state": "exception", "reasonCreated": "scheduled", "reasonResolved": "worker-shutdown", "scheduled": "2024-01-01T00:00:01Z", "started": "2024-01-01T00:00:02Z", "resolved": "2024-01-01T00:00:03Z"},
		{"runId": 1, "state": "failed", "reasonCreated": "retry", "scheduled": "2024-01-01T00:00:04Z", "started": "2024-01-01T00:00:05Z", "resolved": "2024-01-01T00:00:06Z"}]}`
	r := im.TaskJobs(context.Background(), "https://tc.example", TaskEntry{Status: json.RawMessage(status)})
	if r.Err != nil || len(r.Events) != 2 {
		t.Fatalf("events %d, err %v", len(r.Events), r.Err)
	}
	// Newest run first; run 0 was retried, run 1 failed a build: busted.
	got := []string{r.Events[0].Job.Job.JobGUID + " " + r.Events[0].Job.Job.Result, r.Events[1].Job.Job.JobGUID + " " + r.Events[1].Job.Job.Result}
	if got[0] != "037e6659-346e-426c-a3f3-cc8c9c81747c/1 busted" || got[1] != "037e6659-346e-426c-a3f3-cc8c9c81747c/0 retry" {
		t.Errorf("jobs %v", got)
	}
	r = im.TaskJobs(context.Background(), "https://tc.example", TaskEntry{Status: json.RawMessage(`{"taskId": "` + id + `", "runs": []}`)})
	if !errors.Is(r.Skipped, transform.ErrUnscheduled) || len(r.Events) != 0 {
		t.Errorf("no runs: skipped %v, %d events", r.Skipped, len(r.Events))
	}
	noRoute := strings.Replace(def, "tc-treeherder", "other", 1)
	r = im.TaskJobs(context.Background(), "https://tc.example", TaskEntry{Status: json.RawMessage(status), Task: json.RawMessage(noRoute)})
	if !errors.Is(r.Skipped, transform.ErrNoRoute) || r.Err != nil {
		t.Errorf("no route: skipped %v, err %v", r.Skipped, r.Err)
	}
	if r := im.TaskJobs(context.Background(), "https://tc.example", TaskEntry{Status: json.RawMessage(`[]`)}); r.Err == nil {
		t.Error("a malformed status gave no error")
	}
}

// fakeAPIs serves a pushlog under /repo and Taskcluster's index and queue.
type fakeAPIs struct {
	srv      *httptest.Server
	pushes   map[int]string // push id -> revision; missing changesets when ""
	groups   map[string][]TaskEntry
	pageSize int
}

func newFakeAPIs(t *testing.T) *fakeAPIs {
	f := &fakeAPIs{pushes: map[int]string{}, groups: map[string][]TaskEntry{}, pageSize: 2}
	mux := http.NewServeMux()
	mux.HandleFunc("/repo/json-pushes", f.pushlog)
	mux.HandleFunc("/api/index/v1/task/{ns}", func(w http.ResponseWriter, r *http.Request) {
		ns := r.PathValue("ns")
		for id := range f.groups {
			if strings.Contains(ns, "."+id+".") {
				fmt.Fprintf(w, `{"namespace": %q, "taskId": %q}`, ns, id)
				return
			}
		}
		http.Error(w, `{"code": "ResourceNotFound"}`, http.StatusNotFound)
	})
	mux.HandleFunc("/api/queue/v1/task-group/{id}/list", func(w http.ResponseWriter, r *http.Request) {
		all := f.groups[r.PathValue("id")]
		from, _ := strconv.Atoi(r.URL.Query().Get("continuationToken"))
		to := min(from+f.pageSize, len(all))
		doc := map[string]any{"taskGroupId": r.PathValue("id"), "tasks": all[from:to]}
		if to < len(all) {
			doc["continuationToken"] = strconv.Itoa(to)
		}
		_ = json.NewEncoder(w).Encode(doc)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPIs) pushlog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	last := 0
	for id := range f.pushes {
		last = max(last, id)
	}
	doc := map[string]any{"lastpushid": last}
	pushes := map[string]any{}
	add := func(id int) {
		cs := []any{}
		if rev := f.pushes[id]; rev != "" {
			cs = append(cs, map[string]any{"node": rev, "author": "A <a@example.com>", "desc": "push " + strconv.Itoa(id)})
		}
		pushes[strconv.Itoa(id)] = map[string]any{"changesets": cs, "date": 1700000000 + id, "user": "u@example.com"}
	}
	switch {
	case q.Get("changeset") != "":
		for id, rev := range f.pushes {
			if rev == q.Get("changeset") {
				add(id)
			}
		}
	case q.Get("startID") != "":
		start, _ := strconv.Atoi(q.Get("startID"))
		end := last
		if e := q.Get("endID"); e != "" {
			end, _ = strconv.Atoi(e)
		}
		for id := range f.pushes {
			if id > start && id <= end {
				add(id)
			}
		}
	default:
		for id := range f.pushes {
			if id > last-10 {
				add(id)
			}
		}
	}
	doc["pushes"] = pushes
	_ = json.NewEncoder(w).Encode(doc)
}

func (f *fakeAPIs) importer(t *testing.T, tasks transform.TaskFetcher) *Importer {
	u, _ := url.Parse(f.srv.URL)
	c, err := transform.NewHTTPClient(transform.HTTPOptions{AllowedHosts: []string{u.Host}, BaseBackoff: time.Millisecond, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	if tasks == nil {
		tasks = transform.NewTaskCache(c, 100, 0)
	}
	return New(c, tasks, Options{})
}

func TestHgPushes(t *testing.T) {
	f := newFakeAPIs(t)
	for i := 1; i <= 5; i++ {
		f.pushes[i] = fmt.Sprintf("%040d", i)
	}
	f.pushes[3] = "" // no changesets: left out
	im := f.importer(t, nil)
	ctx := context.Background()
	repo := f.srv.URL + "/repo"

	p, err := im.HgPush(ctx, repo, "autoland", fmt.Sprintf("%040d", 4))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != 4 || p.Data.Project != "autoland" || p.Data.Revision != fmt.Sprintf("%040d", 4) || p.Data.PushTimestamp != 1700000004 || p.Data.Author != "u@example.com" {
		t.Errorf("push %+v", p)
	}
	if _, err := im.HgPush(ctx, repo, "autoland", strings.Repeat("f", 40)); err == nil {
		t.Error("an unknown revision gave no error")
	}
	pushes, last, err := im.HgPushesSince(ctx, repo, "autoland", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, p := range pushes {
		ids = append(ids, p.ID)
	}
	if fmt.Sprint(ids) != "[2 4]" || last != 5 {
		t.Errorf("pushes since 1 (3 at most): %v, last %d", ids, last)
	}
	recent, _, err := im.HgRecentPushes(ctx, repo, "autoland")
	if err != nil || len(recent) != 4 {
		t.Errorf("recent pushes: %d, %v", len(recent), err)
	}
}

// TestHgPushFixture: the hg fixture's pushlog document gives exactly
// transformed_hg_push.json.
func TestHgPushFixture(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "pulse")
	doc, err := os.ReadFile(filepath.Join(dir, "hg_push_commits.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want any
	readJSON(t, filepath.Join(dir, "transformed_hg_push.json"), &want)
	get := func(_ context.Context, u string) (json.RawMessage, error) {
		if !strings.HasPrefix(u, "https://hg.mozilla.org/try/json-pushes?full=1&version=2&changeset=") {
			return nil, fmt.Errorf("unexpected %s", u)
		}
		return doc, nil
	}
	p, err := NewWith(get, nil, Options{}).HgPush(context.Background(), "https://hg.mozilla.org/try", "", "2f77bc4f354d9ba67ea5270b2fc789f4b0521287")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p.Data)
	var got any
	_ = json.Unmarshal(b, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("push %s\nwant %v", b, want)
	}
}

func TestDecisionTaskAndGroup(t *testing.T) {
	f := newFakeAPIs(t)
	for i := 0; i < 5; i++ {
		f.groups["DECISION"] = append(f.groups["DECISION"], TaskEntry{
			Status: json.RawMessage(fmt.Sprintf(`{"taskId": "T%d", "runs": []}`, i)), Task: json.RawMessage(`{}`)})
	}
	im := f.importer(t, nil)
	ctx := context.Background()
	id, err := im.DecisionTask(ctx, f.srv.URL, "DECISION", "rev")
	if err != nil || id != "DECISION" {
		t.Fatalf("decision task %q, %v", id, err)
	}
	if _, err := im.DecisionTask(ctx, f.srv.URL, "nothing", "rev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing index entry: %v", err)
	}
	var pages, tasks int
	err = im.GroupTasks(ctx, f.srv.URL, "DECISION", func(e []TaskEntry) error { pages++; tasks += len(e); return nil })
	if err != nil || pages != 3 || tasks != 5 {
		t.Errorf("group: %d pages, %d tasks, %v", pages, tasks, err)
	}
	boom := errors.New("boom")
	if err := im.GroupTasks(ctx, f.srv.URL, "DECISION", func([]TaskEntry) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("page error: %v", err)
	}
}
