package pulsetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/herder-ci/herder/plugins/pulse/transform"
)

// PulseDir is ../shared/testdata/treeherder/pulse beside the module root;
// the test skips when it is absent.
func PulseDir(t testing.TB, sharedData string) string {
	return filepath.Join(sharedData, "pulse")
}

// ReadFile reads a file or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReadJSON decodes a JSON file or fails the test.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(ReadFile(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// RecordedMessage is an entry of taskcluster_pulse_messages.json.
type RecordedMessage struct {
	TaskID   string
	Exchange string          `json:"exchange"`
	Payload  json.RawMessage `json:"payload"`
	RootURL  string          `json:"root_url"`
	// Routes is the routing key the message was published with.
	Routes string `json:"routes"`
}

// TaskMessages reads taskcluster_pulse_messages.json in file order.
func TaskMessages(t testing.TB, dir string) []RecordedMessage {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "taskcluster_pulse_messages.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var out []RecordedMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var m RecordedMessage
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		m.TaskID = tok.(string)
		out = append(out, m)
	}
	return out
}

// ServeTaskFixtures serves taskcluster_tasks.json's definitions under
// https://taskcluster.net/api/queue/v1/task/{id}, and for every run an
// artifact list with only the live backing log, as Treeherder's test mocks
// it (so completed tasks get links but no errorsummary or perf references).
func ServeTaskFixtures(t testing.TB, u *Upstream, dir string) map[string]json.RawMessage {
	t.Helper()
	var tasks map[string]json.RawMessage
	ReadJSON(t, filepath.Join(dir, "taskcluster_tasks.json"), &tasks)
	for id, raw := range tasks {
		u.ServeJSON("taskcluster.net/api/queue/v1/task/"+id, raw)
		for run := 0; run < 3; run++ {
			u.ServeJSON(fmt.Sprintf("taskcluster.net/api/queue/v1/task/%s/runs/%d/artifacts", id, run),
				[]byte(`{"artifacts":[{"name":"public/logs/live_backing.log","storageType":"s3","contentType":"text/plain"}]}`))
		}
	}
	return tasks
}

// ServePushFixtures serves hg json-pushes and the GitHub compare and PR
// commit lists the push fixtures need.
func ServePushFixtures(t testing.TB, u *Upstream, dir string) {
	t.Helper()
	u.ServeJSON("hg.mozilla.org/try/json-pushes", ReadFile(t, filepath.Join(dir, "hg_push_commits.json")))
	var compare []json.RawMessage
	ReadJSON(t, filepath.Join(dir, "github_push_compare.json"), &compare)
	u.ServeJSON("api.github.com/repos/mozilla-mobile/android-components/compare/"+
		"7285afe57ae6207fdb5d6db45133dac2053b7820...5fdb785b28b356f50fc1d9cb180d401bb03fc1f1", compare[0])
	u.ServeJSON("api.github.com/repos/servo/servo/compare/"+
		"4c25e02f26f7536edbf23a360d56604fb9507378...ad9bfc2a62b70b9f3dbb1c3a5969f30bacce3d74", compare[1])
	u.ServeJSON("api.github.com/repos/mozilla/test_treeherder/pulls/1692/commits", ReadFile(t, filepath.Join(dir, "github_pr_commits.json")))
}

// PushMessage is a push fixture as published: exchange, body, and the
// transformed push it must become.
type PushMessage struct {
	Name     string
	Exchange string
	Body     []byte
	Want     map[string]any
}

// PushMessages reads the hg push, the first GitHub push (android-components)
// and the pull request with their transformed fixtures.
func PushMessages(t testing.TB, dir string) []PushMessage {
	t.Helper()
	var gh []struct {
		Exchange string          `json:"exchange"`
		Payload  json.RawMessage `json:"payload"`
	}
	ReadJSON(t, filepath.Join(dir, "github_push.json"), &gh)
	out := []PushMessage{
		{Name: "hg_push", Exchange: transform.ExchangeHgPushesV1, Body: ReadFile(t, filepath.Join(dir, "hg_push.json"))},
		{Name: "gh_push", Exchange: transform.ExchangeGitHubPush, Body: gh[0].Payload},
		{Name: "gh_pr", Exchange: transform.ExchangeGitHubPullRequest, Body: ReadFile(t, filepath.Join(dir, "github_pr.json"))},
	}
	for i := range out {
		ReadJSON(t, filepath.Join(dir, "transformed_"+out[i].Name+".json"), &out[i].Want)
	}
	return out
}

// Synthetic tasks for load and delivery tests: task i has its own slug,
// guid and definition on the fake Taskcluster, and belongs to project at a
// revision chosen by the caller.

// TaskID is synthetic task i's slug.
func TaskID(i int) string {
	slug, err := transform.UUIDToSlug(fmt.Sprintf("00000000-0000-4000-8000-%012x", i))
	if err != nil {
		panic(err)
	}
	return slug
}

// JobGUID is the guid of synthetic task i's run.
func JobGUID(i, run int) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012x/%d", i, run)
}

// Revision is a 40-hex revision derived from n.
func Revision(n int) string { return fmt.Sprintf("%040x", 0xabc0000+n) }

// TaskDefinition is synthetic task i's definition for project at revision.
func TaskDefinition(i int, project, revision string) []byte {
	def := map[string]any{
		"taskGroupId": TaskID(i), "created": "2024-01-01T00:00:00.000Z", "deadline": "2024-01-02T00:00:00.000Z",
		"provisionerId": "gecko-t", "workerType": "t-linux-large", "schedulerId": "gecko-level-3",
		"routes": []string{fmt.Sprintf("tc-treeherder.v2.%s.%s.%d", project, revision, 1000+i%97), "index.whatever"},
		"metadata": map[string]any{
			"name": fmt.Sprintf("test-linux1804-64/opt-mochitest-browser-chrome-%d", i), "owner": "someone@example.com",
			"description": "synthetic", "source": "https://hg.mozilla.org/x",
		},
		"extra": map[string]any{"treeherder": map[string]any{
			"symbol": "bc" + strconv.Itoa(i%20), "groupSymbol": "M", "groupName": "Mochitests", "tier": 1 + i%2,
			"jobKind": "test", "machine": map[string]any{"platform": "linux1804-64"}, "collection": map[string]any{"opt": true},
		}},
		"payload": map[string]any{},
	}
	b, _ := json.Marshal(def)
	return b
}

// TaskMessage is a task-pending (run started == false) or task-running
// message for run of synthetic task i.
func TaskMessage(i, run int, running bool) []byte {
	runs := make([]map[string]any, run+1)
	for r := range runs {
		runs[r] = map[string]any{"runId": r, "state": "exception", "reasonCreated": "retry",
			"scheduled": "2024-01-01T00:00:01.000Z", "started": "2024-01-01T00:00:02.000Z", "resolved": "2024-01-01T00:00:03.000Z",
			"reasonResolved": "worker-shutdown"}
	}
	last := map[string]any{"runId": run, "state": "pending", "reasonCreated": "scheduled", "scheduled": "2024-01-01T00:01:00.000Z"}
	if run > 0 {
		last["reasonCreated"] = "retry"
	}
	if running {
		last["state"] = "running"
		last["started"] = "2024-01-01T00:02:00.000Z"
		last["workerId"] = "i-0123456789"
		last["workerGroup"] = "us-east-1"
	}
	runs[run] = last
	msg := map[string]any{
		"status": map[string]any{"taskId": TaskID(i), "provisionerId": "gecko-t", "workerType": "t-linux-large",
			"schedulerId": "gecko-level-3", "taskGroupId": TaskID(i), "deadline": "2024-01-02T00:00:00.000Z",
			"expires": "2025-01-01T00:00:00.000Z", "retriesLeft": 5, "state": last["state"], "runs": runs},
		"runId": run, "version": 1,
	}
	b, _ := json.Marshal(msg)
	return b
}

// RoutingKey is the primary routing key of a task message.
func RoutingKey(i, run int) string {
	return fmt.Sprintf("primary.%s.%d.us-east-1.i-0123456789.gecko-t.t-linux-large.gecko-level-3.%s._", TaskID(i), run, TaskID(i))
}

// ServeSyntheticTasks serves definitions of tasks [from, to) under
// https://taskcluster.net for project at the revision rev(i).
func ServeSyntheticTasks(u *Upstream, from, to int, project string, rev func(i int) string) {
	for i := from; i < to; i++ {
		u.ServeJSON("taskcluster.net/api/queue/v1/task/"+TaskID(i), TaskDefinition(i, project, rev(i)))
	}
}

// HgRepoURL is the synthetic hg repository pushes are announced for.
const HgRepoURL = "https://hg.mozilla.org/integration/autoland"

// HgPushMessage announces synthetic push n (revision Revision(n)).
func HgPushMessage(n int) []byte {
	b, _ := json.Marshal(map[string]any{"payload": map[string]any{
		"repo_url": HgRepoURL, "heads": []string{Revision(n)},
		"pushlog_pushes": []map[string]any{{
			"pushid": n + 1, "time": 1700000000 + n, "user": "pusher@example.com",
			"push_full_json_url": fmt.Sprintf("%s/json-pushes?version=2&full=1&startID=%d&endID=%d", HgRepoURL, n, n+1),
		}},
	}})
	return b
}

// ServeHgPushes answers json-pushes for synthetic pushes: startID=n gives
// push n+1 with the single changeset Revision(n).
func ServeHgPushes(u *Upstream) {
	u.Handle("hg.mozilla.org/integration/autoland/json-pushes", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("startID"))
		if err != nil {
			http.Error(w, "startID", http.StatusBadRequest)
			return
		}
		doc := map[string]any{"lastpushid": n + 1, "pushes": map[string]any{strconv.Itoa(n + 1): map[string]any{
			"changesets": []map[string]any{{"node": Revision(n), "author": "Dev <dev@example.com>", "desc": fmt.Sprintf("Bug %d - change", n)}},
			"date":       1700000000 + n, "user": "pusher@example.com",
		}}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
}
