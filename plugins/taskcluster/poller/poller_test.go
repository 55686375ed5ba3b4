package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/plugins/taskcluster/importer"
	"github.com/herder-ci/herder/sdk"
)

// fake serves a pushlog under /repo and Taskcluster's index and queue.
type fake struct {
	srv       *httptest.Server
	mu        sync.Mutex
	pushes    map[int]string                  // id -> revision
	decisions map[string]string               // revision -> decision task id
	groups    map[string][]importer.TaskEntry // decision id -> tasks
}

func newFake(t *testing.T) *fake {
	f := &fake{pushes: map[int]string{}, decisions: map[string]string{}, groups: map[string][]importer.TaskEntry{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/repo/json-pushes", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		last := 0
		for id := range f.pushes {
			last = max(last, id)
		}
		start, end := last-10, last
		if s := r.URL.Query().Get("startID"); s != "" {
			start, _ = strconv.Atoi(s)
		}
		if e := r.URL.Query().Get("endID"); e != "" {
			end, _ = strconv.Atoi(e)
		}
		pushes := map[string]any{}
		for id, rev := range f.pushes {
			if id > start && id <= end {
				pushes[strconv.Itoa(id)] = map[string]any{"date": 1700000000 + id, "user": "u@example.com",
					"changesets": []any{map[string]any{"node": rev, "author": "A <a@example.com>", "desc": "d"}}}
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"lastpushid": last, "pushes": pushes})
	})
	mux.HandleFunc("/api/index/v1/task/{ns}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for rev, id := range f.decisions {
			if r.PathValue("ns") == "gecko.v2.autoland.revision."+rev+".taskgraph.decision" {
				fmt.Fprintf(w, `{"taskId": %q}`, id)
				return
			}
		}
		http.Error(w, "{}", http.StatusNotFound)
	})
	mux.HandleFunc("/api/queue/v1/task-group/{id}/list", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"tasks": f.groups[r.PathValue("id")]})
	})
	mux.HandleFunc("/api/queue/v1/task/{id}/runs/{run}/artifacts", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"artifacts": [{"name": "public/logs/live_backing.log"}]}`)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

var taskIDs = []string{"A35mWTRuQmyj88yMnIF0fA", "A3dJ8bDIQRKzHiZBhM0c5Q"}

func taskEntry(id, rev, state string) importer.TaskEntry {
	run := map[string]any{"runId": 0, "state": state, "reasonCreated": "scheduled", "scheduled": "2024-01-01T00:00:01Z"}
	if state != "pending" {
		run["started"] = "2024-01-01T00:00:02Z"
	}
	if state == "completed" {
		run["resolved"] = "2024-01-01T00:00:03Z"
	}
	status, _ := json.Marshal(map[string]any{"taskId": id, "runs": []any{run}})
	def := `{"created": "2024-01-01T00:00:00Z", "workerType": "w", "routes": ["tc-treeherder.v2.autoland.` + rev + `"],
		"metadata": {"name": "n", "owner": "o@example.com", "description": "d", "source": "s"},
		"extra": {"treeherder": {"symbol": "B"}}}`
	return importer.TaskEntry{Status: status, Task: json.RawMessage(def)}
}

// recorder is a sink that stores events and can refuse batches.
type recorder struct {
	mu     sync.Mutex
	events []sdk.Event
	fail   error
}

func (r *recorder) Send(_ context.Context, events ...sdk.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, events...)
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Push != nil {
			out = append(out, "push "+e.Push.Revision[:4])
		} else {
			out = append(out, "job "+e.Job.Job.JobGUID[:4]+" "+e.Job.Job.State)
		}
	}
	r.events = nil
	return out
}

func rev(i int) string { return fmt.Sprintf("%04d%036d", i, 0) }

func newPoll(t *testing.T, f *fake, dir string, sink sdk.Sink) *poll {
	t.Helper()
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`{"root_url": %q, "repository": {"name": "autoland", "url": %q},
		"state_dir": %q, "initial_pushes": 2, "http_backoff": 0.001, "http_attempts": 1}`, f.srv.URL, f.srv.URL+"/repo", dir)))
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil)
	p, err := s.newPoll(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPollerFollowsPushesAndTasks(t *testing.T) {
	f := newFake(t)
	for i := 1; i <= 3; i++ {
		f.pushes[i] = rev(i)
	}
	f.decisions[rev(3)] = "D3"
	f.groups["D3"] = []importer.TaskEntry{taskEntry(taskIDs[0], rev(3), "pending"), taskEntry(taskIDs[1], rev(3), "running")}
	dir := t.TempDir()
	sink := &recorder{}
	ctx := context.Background()
	p := newPoll(t, f, dir, sink)

	if err := p.once(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.take(), ", "); got != "push 0002, push 0003, job 037e pending, job 0377 running" {
		t.Errorf("first poll sent %s", got)
	}
	st, _, err := readState(p.path)
	if err != nil || st.LastPushID != 3 || len(st.Tracked) != 2 || st.Tracked[1].DecisionTask != "D3" {
		t.Errorf("state %+v, %v", st, err)
	}
	// Nothing changed: nothing sent.
	if err := p.once(ctx); err != nil || len(sink.take()) != 0 {
		t.Errorf("an idle poll sent events (%v)", err)
	}
	// A task completes and a push arrives.
	f.mu.Lock()
	f.groups["D3"][0] = taskEntry(taskIDs[0], rev(3), "completed")
	f.pushes[4] = rev(4)
	f.mu.Unlock()
	if err := p.once(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.take(), ", "); got != "push 0004, job 037e completed" {
		t.Errorf("third poll sent %s", got)
	}

	// A restart reads the cursor: no push again, the tracked group once.
	p = newPoll(t, f, dir, sink)
	if err := p.once(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.take(), ", "); got != "job 037e completed, job 0377 running" {
		t.Errorf("after a restart: %s", got)
	}

	// The host refuses: the cursor stays, the push comes again later.
	f.mu.Lock()
	f.pushes[5] = rev(5)
	f.mu.Unlock()
	sink.fail = errors.New("host down")
	if err := p.once(ctx); err == nil {
		t.Error("a refused batch gave no error")
	}
	if st, _, _ := readState(p.path); st.LastPushID != 4 {
		t.Errorf("cursor moved to %d although the host refused the push", st.LastPushID)
	}
	sink.fail = nil
	if err := p.once(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.take(), ", "); got != "push 0005" {
		t.Errorf("after the host came back: %s", got)
	}
}

func TestPollerRepositoryReset(t *testing.T) {
	f := newFake(t)
	f.pushes[1], f.pushes[2] = rev(1), rev(2)
	dir := t.TempDir()
	if err := writeState(filepath.Join(dir, "cursor-autoland.json"), State{LastPushID: 40}); err != nil {
		t.Fatal(err)
	}
	sink := &recorder{}
	p := newPoll(t, f, dir, sink)
	if err := p.once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.take(), ", "); got != "push 0001, push 0002" {
		t.Errorf("after a reset: %s", got)
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cursor-x.json")
	st := State{LastPushID: 7, Tracked: []Tracked{{Revision: "r", PushID: 7, FirstSeen: time.Unix(1700000000, 0).UTC(), DecisionTask: "D"}}}
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	got, found, err := readState(path)
	if err != nil || !found || got.LastPushID != 7 || got.Tracked[0].DecisionTask != "D" {
		t.Errorf("read back %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readState(path); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt cursor: %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"repository": {"name": "autoland", "url": "https://hg.mozilla.org/integration/autoland/"}, "state_dir": "/tmp/x", "interval": "5m"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.RootURL != importer.DefaultRootURL || time.Duration(c.Interval) != 5*time.Minute || !*c.AllTasks || c.Repository.URL != "https://hg.mozilla.org/integration/autoland" {
		t.Errorf("config %+v", c)
	}
	if h := strings.Join(c.Hosts(), " "); h != "firefox-ci-tc.services.mozilla.com hg.mozilla.org" {
		t.Errorf("hosts %s", h)
	}
	for in, want := range map[string]string{
		`{}`: "repository",
		`{"repository": {"name": "a", "url": "https://x"}}`:                                       "state_dir",
		`{"repository": {"name": "a", "url": "ftp://x"}, "state_dir": "s"}`:                       "repository",
		`{"repository": {"name": "a", "url": "https://x"}, "state_dir": "s", "interval": "1ns"}`:  "too short",
		`{"repository": {"name": "a", "url": "https://x"}, "state_dir": "s", "bogus": true}`:      "unknown field",
		`{"repository": {"name": "a", "url": "https://x"}, "state_dir": "s", "root_url": "nope"}`: "root_url",
	} {
		if _, err := ParseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error about %s", in, err, want)
		}
	}
}
