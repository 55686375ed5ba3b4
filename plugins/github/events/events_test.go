package events

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJobState(t *testing.T) {
	for _, tc := range []struct{ status, conclusion, state, result string }{
		{"queued", "", "pending", "unknown"},
		{"waiting", "", "pending", "unknown"},
		{"pending", "", "pending", "unknown"},
		{"requested", "", "pending", "unknown"},
		{"in_progress", "", "running", "unknown"},
		{"completed", "success", "completed", "success"},
		{"completed", "neutral", "completed", "success"},
		{"completed", "failure", "completed", "testfailed"},
		{"completed", "timed_out", "completed", "busted"},
		{"completed", "startup_failure", "completed", "busted"},
		{"completed", "cancelled", "completed", "usercancel"},
		{"completed", "skipped", "completed", "skipped"},
		{"completed", "stale", "completed", "exception"},
		{"completed", "action_required", "pending", "unknown"},
		{"completed", "", "completed", "unknown"},
		{"completed", "something_new", "completed", "unknown"},
		{"brand_new_status", "", "pending", "unknown"},
	} {
		state, result := JobState(tc.status, tc.conclusion)
		if state != tc.state || result != tc.result {
			t.Errorf("%s/%s: %s/%s, want %s/%s", tc.status, tc.conclusion, state, result, tc.state, tc.result)
		}
	}
}

func TestRunnerPlatform(t *testing.T) {
	for _, tc := range []struct {
		labels []string
		want   sdk.Platform
	}{
		{[]string{"ubuntu-latest"}, sdk.Platform{Platform: "ubuntu-latest", OSName: "linux", Architecture: "x86_64"}},
		{[]string{"ubuntu-24.04-arm"}, sdk.Platform{Platform: "ubuntu-24.04-arm", OSName: "linux", Architecture: "aarch64"}},
		{[]string{"windows-2022"}, sdk.Platform{Platform: "windows-2022", OSName: "windows", Architecture: "x86_64"}},
		{[]string{"windows-11-arm"}, sdk.Platform{Platform: "windows-11-arm", OSName: "windows", Architecture: "aarch64"}},
		{[]string{"macos-13"}, sdk.Platform{Platform: "macos-13", OSName: "mac", Architecture: "x86_64"}},
		{[]string{"macos-14"}, sdk.Platform{Platform: "macos-14", OSName: "mac", Architecture: "aarch64"}},
		{[]string{"macos-latest"}, sdk.Platform{Platform: "macos-latest", OSName: "mac", Architecture: "aarch64"}},
		{[]string{"macos-14-large"}, sdk.Platform{Platform: "macos-14-large", OSName: "mac", Architecture: "x86_64"}},
		{[]string{"macos-13-xlarge"}, sdk.Platform{Platform: "macos-13-xlarge", OSName: "mac", Architecture: "aarch64"}},
		{[]string{"self-hosted", "Linux", "ARM64"}, sdk.Platform{Platform: "self-hosted-linux-arm64", OSName: "linux", Architecture: "aarch64"}},
		{[]string{"self-hosted", "gpu"}, sdk.Platform{Platform: "self-hosted-gpu", OSName: "unknown", Architecture: "x86_64"}},
		{nil, sdk.Platform{}},
	} {
		if got := RunnerPlatform(tc.labels); got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.labels, got, tc.want)
		}
	}
}

func TestJobGUID(t *testing.T) {
	if g := JobGUID(10795212121, 2, 29679449256); g != "github-actions/10795212121/2/29679449256" {
		t.Errorf("guid %s", g)
	}
	if g := JobGUID(1, 0, 2); g != "github-actions/1/1/2" {
		t.Errorf("attempt 0: %s", g)
	}
	// Treeherder's job_guid is 50 characters: today's ids fit with room.
	if g := JobGUID(99999999999999, 99, 99999999999999); len(g) > 50 {
		t.Errorf("%s is %d characters", g, len(g))
	}
}

func testRoutes(t testing.TB) *Routes {
	r, err := NewRoutes("", []Repo{
		{Name: "example-app", FullName: "Example-Org/example-app", Branches: []string{"main", "release-*"}, AcceptsPullRequests: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// nopFetcher fails every API call.
type nopFetcher struct{}

var errNoAPI = errors.New("no API in this test")

func (nopFetcher) Compare(context.Context, string, string, string, string) ([]transform.GitHubCommit, error) {
	return nil, errNoAPI
}
func (nopFetcher) PullRequestCommits(context.Context, string, string, int) ([]transform.GitHubCommit, error) {
	return nil, errNoAPI
}
func (nopFetcher) RunJobs(context.Context, string, string, int64, string) ([]json.RawMessage, string, bool, error) {
	return nil, "", false, errNoAPI
}

func TestWorkflowJobWebhook(t *testing.T) {
	w, err := Decode(EventWorkflowJob, "application/json", testdata(t, "workflow_job_completed.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(testRoutes(t), nopFetcher{}, "https://api.github.com")
	evs, err := b.Webhook(context.Background(), w, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	d := evs[0].Job
	j := d.Job
	if evs[0].ID != "github/72d3162e-cc78-11e3-81ab-4c9367dc0958" || d.Project != "example-app" || d.Revision != "3f786850e387550fdab836ed7e6dc881de23001b" {
		t.Errorf("event %s: %s at %s", evs[0].ID, d.Project, d.Revision)
	}
	want := sdk.Job{
		JobGUID: "github-actions/10795212121/2/29679449256", Name: "test (ubuntu-latest, 3.12)", JobSymbol: "test (ubuntu-latest, 3.12)",
		GroupName: "CI", GroupSymbol: "CI", Who: "octo-dev", State: "completed", Result: "testfailed", Tier: 1,
		BuildSystemType: "github-actions", Machine: "GitHub Actions 14",
		BuildPlatform:   sdk.Platform{Platform: "ubuntu-latest", OSName: "linux", Architecture: "x86_64"},
		MachinePlatform: sdk.Platform{Platform: "ubuntu-latest", OSName: "linux", Architecture: "x86_64"},
		SubmitTimestamp: 1725959521, StartTimestamp: 1725959527, EndTimestamp: 1725959743,
		LogReferences: []sdk.LogReference{{Name: "live_backing_log", ParseStatus: "pending",
			URL: "https://api.github.com/repos/example-org/example-app/actions/jobs/29679449256/logs"}},
	}
	gotJSON, _ := json.Marshal(j)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("job\n got %s\nwant %s", gotJSON, wantJSON)
	}

	// Queued: pending, no start, no log; the null runner is "" (the host
	// makes it unknown).
	w, err = Decode(EventWorkflowJob, "application/json", testdata(t, "workflow_job_queued.json"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err = b.Webhook(context.Background(), w, "d1")
	if err != nil {
		t.Fatal(err)
	}
	j = evs[0].Job.Job
	if j.State != "pending" || j.Result != "unknown" || j.StartTimestamp != 0 || j.LogReferences != nil || j.Machine != "" ||
		j.MachinePlatform.Architecture != "aarch64" {
		t.Errorf("queued job %+v", j)
	}
}

func TestCheckRunWebhook(t *testing.T) {
	body := testdata(t, "check_run.json")
	w, err := Decode(EventCheckRun, "", body)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(testRoutes(t), nopFetcher{}, "https://api.github.com")
	evs, err := b.Webhook(context.Background(), w, "d2")
	if err != nil {
		t.Fatal(err)
	}
	j := evs[0].Job.Job
	if j.JobGUID != "github-check/30111222333" || j.GroupName != "Coverage Bot" || j.Name != "coverage/project" ||
		j.State != "completed" || j.Result != "success" || j.LogReferences != nil {
		t.Errorf("check run job %+v", j)
	}
	// GitHub Actions' own check runs duplicate workflow_job: ignored.
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	m["check_run"].(map[string]any)["app"] = map[string]any{"slug": "github-actions", "name": "GitHub Actions"}
	body, _ = json.Marshal(m)
	w, _ = Decode(EventCheckRun, "", body)
	if _, err := b.Webhook(context.Background(), w, "d3"); !errors.Is(err, ErrIgnored) {
		t.Errorf("actions check run: %v", err)
	}
}

func TestWebhookRouting(t *testing.T) {
	b := NewBuilder(testRoutes(t), nopFetcher{}, "https://api.github.com")
	job := testdata(t, "workflow_job_completed.json")
	for _, tc := range []struct {
		name   string
		edit   func(m map[string]any)
		ignore bool
	}{
		{"unknown repository", func(m map[string]any) { m["repository"].(map[string]any)["full_name"] = "someone/else" }, true},
		{"case-insensitive repository", func(m map[string]any) { m["repository"].(map[string]any)["full_name"] = "EXAMPLE-ORG/Example-App" }, false},
		// A branch no rule takes still maps to the repository accepting
		// pull requests (a workflow_job does not say it ran for one).
		{"pull request branch", func(m map[string]any) { m["workflow_job"].(map[string]any)["head_branch"] = "fix-1234" }, false},
	} {
		var m map[string]any
		_ = json.Unmarshal(job, &m)
		tc.edit(m)
		body, _ := json.Marshal(m)
		w, err := Decode(EventWorkflowJob, "", body)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Webhook(context.Background(), w, "d")
		if got := errors.Is(err, ErrIgnored); got != tc.ignore {
			t.Errorf("%s: ignored %v (%v), want %v", tc.name, got, err, tc.ignore)
		}
	}
	// Without a repository accepting pull requests, an unknown branch is ignored.
	r, _ := NewRoutes("", []Repo{{Name: "app", FullName: "example-org/example-app", Branches: []string{"main"}}})
	var m map[string]any
	_ = json.Unmarshal(job, &m)
	m["workflow_job"].(map[string]any)["head_branch"] = "fix-1234"
	body, _ := json.Marshal(m)
	w, _ := Decode(EventWorkflowJob, "", body)
	if _, err := NewBuilder(r, nopFetcher{}, "").Webhook(context.Background(), w, "d"); !errors.Is(err, ErrIgnored) {
		t.Errorf("branch without a rule: %v", err)
	}
}

func TestNewBranchPushFromWebhookCommits(t *testing.T) {
	w, err := Decode(EventPush, "", testdata(t, "push_new_branch.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(testRoutes(t), nopFetcher{}, "")
	evs, err := b.Webhook(context.Background(), w, "d")
	if err != nil {
		t.Fatal(err)
	}
	p := evs[0].Push
	// Wildcard rule release-*: the branch is recorded (Treeherder's rule).
	if p.Project != "example-app" || p.Branch != "release-2.1" || p.Revision != "9c1b2a7d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b" ||
		p.Author != "octo@example.org" || p.PushTimestamp != 1726056220 || len(p.Revisions) != 2 ||
		p.Revisions[0].Author != "Release Bot <release@example.org>" {
		t.Errorf("push %+v", p)
	}
	// A push to a branch no rule takes is ignored; so is a deletion.
	var m map[string]any
	_ = json.Unmarshal(testdata(t, "push_new_branch.json"), &m)
	m["ref"] = "refs/heads/experiment"
	body, _ := json.Marshal(m)
	w, _ = Decode(EventPush, "", body)
	if _, err := b.Webhook(context.Background(), w, "d"); !errors.Is(err, ErrIgnored) {
		t.Errorf("unconfigured branch: %v", err)
	}
	m["ref"], m["deleted"], m["after"] = "refs/heads/main", true, NullSHA
	body, _ = json.Marshal(m)
	w, _ = Decode(EventPush, "", body)
	if _, err := b.Webhook(context.Background(), w, "d"); !errors.Is(err, ErrIgnored) {
		t.Errorf("deletion: %v", err)
	}
	// A branch created at an existing commit lists no commits: its head commit is the push.
	_ = json.Unmarshal(testdata(t, "push_new_branch.json"), &m)
	m["commits"] = []any{}
	body, _ = json.Marshal(m)
	w, _ = Decode(EventPush, "", body)
	evs, err = b.Webhook(context.Background(), w, "d")
	if err != nil || len(evs[0].Push.Revisions) != 1 || evs[0].Push.Revision != "9c1b2a7d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b" {
		t.Errorf("branch at an existing commit: %+v %v", evs, err)
	}
	// The raw journal keeps the delivery as sent.
	if !strings.Contains(string(evs[0].Raw), `"commits":[]`) {
		t.Errorf("raw is not the delivery: %.100s", evs[0].Raw)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		event, body, field string
	}{
		{"push", `[]`, ""},
		{"push", `{"ref": "refs/heads/main"}`, "repository.full_name"},
		{"push", `{"ref": "main", "repository": {"full_name": "a/b"}}`, "ref"},
		{"push", `{"ref": "refs/heads/main", "before": "x", "repository": {"full_name": "a/b"}}`, "before"},
		{"pull_request", `{"action": "opened", "repository": {"full_name": "a/b"}}`, "number"},
		{"workflow_job", `{"repository": {"full_name": "a/b"}, "workflow_job": {"id": 1}}`, "workflow_job"},
		{"workflow_job", `{"repository": {"full_name": "a/b/c"}}`, "repository.full_name"},
		{"check_run", `{"repository": {"full_name": "a/b"}, "check_run": {"id": 1, "head_sha": "abc"}}`, "check_run.head_sha"},
		{"workflow_run", `{"repository": {"full_name": "a/b"}, "workflow_run": "x"}`, "workflow_run"},
		{"push", `{"ref": "refs/heads/main"} trailing`, ""},
	} {
		_, err := Decode(tc.event, "application/json", []byte(tc.body))
		var pe *PayloadError
		if !errors.As(err, &pe) || pe.Field != tc.field {
			t.Errorf("%s %s: %v, want a payload error on %q", tc.event, tc.body, err, tc.field)
		}
	}
	if _, err := Decode("issues", "", []byte(`{}`)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("issues: %v", err)
	}
	// GitHub's form encoding carries the JSON in payload.
	form := "payload=" + url.QueryEscape(string(testdata(t, "workflow_job_queued.json")))
	if w, err := Decode(EventWorkflowJob, "application/x-www-form-urlencoded", []byte(form)); err != nil || w.WorkflowJob.ID != 29679449301 {
		t.Errorf("form delivery: %v", err)
	}
}

// FuzzDecode feeds arbitrary bodies of every handled event type through
// decoding and event building: no panic, every failure a typed error, and
// every event built valid.
func FuzzDecode(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it finds, which on
	// multi-kilobyte payloads takes most of a short fuzz run.
	const repo = `"repository":{"full_name":"example-org/example-app"}`
	const head = `"3f786850e387550fdab836ed7e6dc881de23001b"`
	f.Add(uint8(0), []byte(`{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":`+head+`,"created":true,`+
		`"commits":[{"id":`+head+`,"message":"m","timestamp":"2024-09-11T14:03:40+02:00","author":{"name":"A","email":"a@x"}}],`+repo+`}`))
	f.Add(uint8(1), []byte(`{"action":"opened","number":1,"pull_request":{"head":{"sha":`+head+`},"base":{"ref":"main"}},`+repo+`}`))
	f.Add(uint8(2), []byte(`{"action":"completed","workflow_job":{"id":1,"run_id":2,"run_attempt":1,"head_sha":`+head+`,"head_branch":"main",`+
		`"name":"t","workflow_name":"CI","status":"completed","conclusion":"failure","created_at":"2024-09-10T09:12:01Z",`+
		`"labels":["macos-14"],"runner_name":"r"},"sender":{"login":"u"},`+repo+`}`))
	f.Add(uint8(3), []byte(`{"action":"completed","workflow_run":{"id":5,"run_attempt":1,"event":"push","head_branch":"main"},`+repo+`}`))
	f.Add(uint8(4), []byte(`{"action":"completed","check_run":{"id":3,"name":"c","head_sha":`+head+`,"status":"completed",`+
		`"conclusion":"neutral","app":{"slug":"bot","name":"Bot"},"check_suite":{"head_branch":"main"}},`+repo+`}`))
	f.Add(uint8(5), []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`))
	kinds := []string{EventPush, EventPullRequest, EventWorkflowJob, EventWorkflowRun, EventCheckRun, EventPing, "issues"}
	b := NewBuilder(testRoutes(f), nopFetcher{}, "https://api.github.com")
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		for _, event := range []string{kinds[int(kind)%len(kinds)], EventWorkflowJob, EventPush} {
			w, err := Decode(event, "application/json", body)
			if err != nil {
				var pe *PayloadError
				if !errors.As(err, &pe) && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("%s: untyped error %v", event, err)
				}
				continue
			}
			evs, err := b.Webhook(context.Background(), w, "fuzz")
			if err != nil {
				continue
			}
			for _, e := range evs {
				if err := e.Validate(); err != nil {
					t.Fatalf("%s: invalid event: %v", event, err)
				}
				if e.Job != nil && (e.Job.Job.JobGUID == "" || !IsSHA(e.Job.Revision) || e.Job.Project == "") {
					t.Fatalf("%s: job without guid, revision or project: %+v", event, e.Job)
				}
				if e.Push != nil && e.Push.Project == "" {
					t.Fatalf("%s: push without project", event)
				}
			}
		}
	})
}
