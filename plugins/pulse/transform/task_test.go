package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/herder-ci/herder/sdk"
)

const (
	testTaskID   = "A35mWTRuQmyj88yMnIF0fA"
	testGUIDRoot = "037e6659-346e-426c-a3f3-cc8c9c81747c"
	testRev      = "219d38523a321229f7f48aca6592f76b993fb1aa"
	testRoot     = "https://tc.example.com"
)

// memTasks is an in-memory TaskFetcher with paged artifact lists.
type memTasks struct {
	tasks map[string]json.RawMessage
	// pages[taskID/run] is the artifact list, page i answering token "p<i>"
	// (the first page answers "").
	pages       map[string][]ArtifactPage
	artifactErr error
	// failPage makes the page with this token fail.
	failPage string
	calls    int
}

func (m *memTasks) Task(_ context.Context, _, id string) (json.RawMessage, error) {
	raw, ok := m.tasks[id]
	if !ok {
		return nil, &UpstreamError{URL: id, StatusCode: 404, Attempts: 1}
	}
	return raw, nil
}

func (m *memTasks) Artifacts(_ context.Context, _, id string, run int, token string) (ArtifactPage, error) {
	m.calls++
	if m.artifactErr != nil {
		return ArtifactPage{}, m.artifactErr
	}
	if token != "" && token == m.failPage {
		return ArtifactPage{}, errors.New("page failed")
	}
	pages := m.pages[fmt.Sprintf("%s/%d", id, run)]
	i := 0
	if token != "" {
		fmt.Sscanf(token, "p%d", &i)
	}
	if i >= len(pages) {
		return ArtifactPage{}, nil
	}
	return pages[i], nil
}

// taskDef is a minimal valid definition; mods edit the decoded form.
func taskDef(mods ...func(d map[string]any)) json.RawMessage {
	d := map[string]any{
		"taskGroupId": "XrWNyFwpT2in-wLY9frb-w",
		"created":     "2019-06-26T19:13:51.402Z",
		"workerType":  "gecko-t-linux-large",
		"routes":      []any{"index.foo", "tc-treeherder.v2.autoland." + testRev + ".88560"},
		"metadata": map[string]any{
			"name": "test-linux64/opt-mochitest-1", "owner": "someone@example.com",
			"description": "a task", "source": "https://hg.mozilla.org/x",
		},
		"extra": map[string]any{"treeherder": map[string]any{
			"symbol": "M1", "groupSymbol": "M", "groupName": "Mochitests", "jobKind": "test",
			"machine": map[string]any{"platform": "linux64"}, "tier": 2,
		}},
		"payload": map[string]any{"env": map[string]any{}},
	}
	for _, m := range mods {
		m(d)
	}
	b, _ := json.Marshal(d)
	return b
}

func th(d map[string]any) map[string]any {
	return d["extra"].(map[string]any)["treeherder"].(map[string]any)
}

func run(id int, state string, kv ...string) map[string]any {
	r := map[string]any{"runId": id, "state": state, "reasonCreated": "scheduled",
		"scheduled": "2019-06-26T19:20:15.078Z"}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i]] = kv[i+1]
	}
	return r
}

func message(exchange string, runID int, runs ...map[string]any) TaskMessage {
	p := map[string]any{"status": map[string]any{"taskId": testTaskID, "runs": runs}, "runId": runID}
	b, _ := json.Marshal(p)
	return TaskMessage{Exchange: exchange, RootURL: testRoot, Payload: b}
}

var (
	started   = []string{"started", "2019-06-26T19:23:49.524Z", "workerId", "i-06c2c7e06fc36c6c5"}
	completed = append(append([]string{}, started...), "resolved", "2019-06-26T19:36:04.986Z")
)

func newMem(def json.RawMessage) *memTasks {
	return &memTasks{tasks: map[string]json.RawMessage{testTaskID: def}, pages: map[string][]ArtifactPage{}}
}

func datum(t *testing.T, f TaskFetcher, msg TaskMessage, opts Options) sdk.JobDatum {
	t.Helper()
	d, err := NewTransformer(f, opts).JobDatum(context.Background(), msg)
	if err != nil {
		t.Fatalf("JobDatum: %v", err)
	}
	return d
}

func TestStatesAndResults(t *testing.T) {
	cases := []struct {
		name            string
		jobKind         string
		msg             TaskMessage
		state, result   string
		start, end      bool
		logs            int
		retried         bool
		wantGUIDRunPart string
	}{
		{"pending", "test", message(ExchangeTaskPending, 0, run(0, "pending")), "pending", "unknown", false, false, 0, false, "/0"},
		{"running", "test", message(ExchangeTaskRunning, 0, run(0, "running", started...)), "running", "unknown", true, false, 0, false, "/0"},
		{"completed", "test", message(ExchangeTaskCompleted, 0, run(0, "completed", completed...)), "completed", "success", true, true, 1, false, "/0"},
		{"failed test", "test", message(ExchangeTaskFailed, 0, run(0, "failed", completed...)), "completed", "testfailed", true, true, 1, false, "/0"},
		{"failed build", "build", message(ExchangeTaskFailed, 0, run(0, "failed", completed...)), "completed", "busted", true, true, 1, false, "/0"},
		{"failed other", "", message(ExchangeTaskFailed, 0, run(0, "failed", completed...)), "completed", "busted", true, true, 1, false, "/0"},
		{"exception", "test", message(ExchangeTaskException, 0, run(0, "exception", append(completed, "reasonResolved", "worker-shutdown")...)),
			"completed", "exception", true, true, 0, false, "/0"},
		{"canceled", "test", message(ExchangeTaskException, 0, run(0, "exception", "reasonResolved", "canceled", "resolved", "2019-06-26T19:36:04Z")),
			"completed", "usercancel", false, true, 0, false, "/0"},
		{"superseded", "build", message(ExchangeTaskException, 0, run(0, "exception", "reasonResolved", "superseded", "resolved", "2019-06-26T19:36:04Z")),
			"completed", "superseded", false, true, 0, false, "/0"},
		{"exception retried", "test", message(ExchangeTaskException, 0,
			run(0, "exception", append(completed, "reasonResolved", "worker-shutdown")...),
			map[string]any{"runId": 1, "state": "pending", "reasonCreated": "retry"}),
			"completed", "retry", true, true, 0, true, "/0"},
		{"exception task-retry", "build", message(ExchangeTaskException, 1,
			run(0, "failed", completed...),
			run(1, "exception", append(completed, "reasonResolved", "intermittent-task", "reasonCreated", "rerun")...),
			map[string]any{"runId": 2, "state": "pending", "reasonCreated": "task-retry"}),
			"completed", "retry", true, true, 0, true, "/1"},
		{"exception next run not a retry", "test", message(ExchangeTaskException, 0,
			run(0, "exception", append(completed, "reasonResolved", "worker-shutdown")...),
			map[string]any{"runId": 1, "state": "pending", "reasonCreated": "rerun"}),
			"completed", "exception", true, true, 0, false, "/0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := taskDef(func(d map[string]any) {
				if tc.jobKind == "" {
					delete(th(d), "jobKind")
				} else {
					th(d)["jobKind"] = tc.jobKind
				}
			})
			d := datum(t, newMem(def), tc.msg, Options{})
			j := d.Job
			if j.State != tc.state || j.Result != tc.result {
				t.Errorf("state/result = %s/%s, want %s/%s", j.State, j.Result, tc.state, tc.result)
			}
			if (j.StartTimestamp != 0) != tc.start || (j.EndTimestamp != 0) != tc.end {
				t.Errorf("start %d end %d, want start %v end %v", j.StartTimestamp, j.EndTimestamp, tc.start, tc.end)
			}
			if len(j.LogReferences) != tc.logs {
				t.Errorf("%d log references, want %d", len(j.LogReferences), tc.logs)
			}
			if j.JobGUID != testGUIDRoot+tc.wantGUIDRunPart {
				t.Errorf("guid %s", j.JobGUID)
			}
			if j.TaskclusterTaskID != testTaskID {
				t.Errorf("task id %s", j.TaskclusterTaskID)
			}
		})
	}
}

func TestCompletedLogAndDefaults(t *testing.T) {
	def := taskDef(func(d map[string]any) {
		cfg := th(d)
		delete(cfg, "groupSymbol")
		delete(cfg, "groupName")
		delete(cfg, "machine")
		delete(cfg, "tier")
		delete(cfg, "jobKind")
	})
	d := datum(t, newMem(def), message(ExchangeTaskCompleted, 0, run(0, "completed", completed...)), Options{})
	j := d.Job
	wantLog := testRoot + "/api/queue/v1/task/" + testTaskID + "/runs/0/artifacts/public/logs/live_backing.log"
	if len(j.LogReferences) != 1 || j.LogReferences[0] != (sdk.LogReference{Name: "live_backing_log", URL: wantLog, ParseStatus: "pending"}) {
		t.Errorf("log references %+v", j.LogReferences)
	}
	if j.GroupSymbol != "?" || j.GroupName != "unknown" || j.Tier != 1 || j.Reason != "scheduled" || j.ProductName != "unknown" {
		t.Errorf("defaults: %+v", j)
	}
	wantPlat := sdk.Platform{Platform: "gecko-t-linux-large", OSName: "-", Architecture: "-"}
	if j.BuildPlatform != wantPlat || j.MachinePlatform != wantPlat {
		t.Errorf("platforms %+v %+v", j.BuildPlatform, j.MachinePlatform)
	}
	if j.Machine != "i-06c2c7e06fc36c6c5" || j.Who != "someone@example.com" || j.BuildSystemType != "taskcluster" {
		t.Errorf("machine/who/build system: %q %q %q", j.Machine, j.Who, j.BuildSystemType)
	}
	if d.Project != "autoland" || d.Revision != testRev || d.Superseded == nil || len(d.Superseded) != 0 {
		t.Errorf("project %q revision %q superseded %#v", d.Project, d.Revision, d.Superseded)
	}
	if len(j.OptionCollection) != 1 || !j.OptionCollection["opt"] {
		t.Errorf("options %v", j.OptionCollection)
	}
	if j.SubmitTimestamp != 1561576431 || j.StartTimestamp != 1561577029 || j.EndTimestamp != 1561577764 {
		t.Errorf("times %d %d %d", j.SubmitTimestamp, j.StartTimestamp, j.EndTimestamp)
	}
	// A pending run has no worker yet.
	d = datum(t, newMem(def), message(ExchangeTaskPending, 0, run(0, "pending")), Options{})
	if d.Job.Machine != "unknown" {
		t.Errorf("pending machine %q", d.Job.Machine)
	}
}

func TestLabels(t *testing.T) {
	cases := []struct {
		name string
		mod  func(cfg map[string]any)
		want []string
	}{
		{"labels win", func(c map[string]any) {
			c["labels"] = []any{"debug", "asan"}
			c["collection"] = map[string]any{"opt": true}
		}, []string{"debug", "asan"}},
		{"empty labels use collection", func(c map[string]any) { c["labels"] = []any{}; c["collection"] = map[string]any{"pgo": true} }, []string{"pgo"}},
		{"collection keys", func(c map[string]any) { c["collection"] = map[string]any{"debug": true} }, []string{"debug"}},
		{"empty collection is opt", func(c map[string]any) { c["collection"] = map[string]any{} }, []string{"opt"}},
		{"nothing is opt", func(map[string]any) {}, []string{"opt"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := taskDef(func(d map[string]any) { tc.mod(th(d)) })
			pj, err := NewTransformer(newMem(def), Options{}).PulseJob(context.Background(), message(ExchangeTaskPending, 0, run(0, "pending")))
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(pj["labels"]); got != fmt.Sprint(tc.want) {
				t.Errorf("labels %s, want %v", got, tc.want)
			}
		})
	}
	// Collection keys keep their document order, as Python dicts do.
	raw := []byte(strings.Replace(string(taskDef()), `"symbol":"M1"`, `"symbol":"M1","collection":{"zeta":true,"alpha":true,"mid":true}`, 1))
	pj, err := NewTransformer(newMem(raw), Options{}).PulseJob(context.Background(), message(ExchangeTaskPending, 0, run(0, "pending")))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pj["labels"]); got != "[zeta alpha mid]" {
		t.Errorf("collection order %s", got)
	}
	// A collection that is not an object fails like Python's .keys().
	def := taskDef(func(d map[string]any) { th(d)["collection"] = []any{"debug"} })
	_, err = NewTransformer(newMem(def), Options{}).PulseJob(context.Background(), message(ExchangeTaskPending, 0, run(0, "pending")))
	if !errors.Is(err, ErrSchema) {
		t.Errorf("list collection: %v", err)
	}
}

func TestNameAndOwnerCuts(t *testing.T) {
	long := strings.Repeat("é", 200)
	owner := strings.Repeat("o", 60) + "@example.com"
	def := taskDef(func(d map[string]any) {
		d["metadata"].(map[string]any)["name"] = long
		d["metadata"].(map[string]any)["owner"] = owner
	})
	d := datum(t, newMem(def), message(ExchangeTaskPending, 0, run(0, "pending")), Options{})
	if d.Job.Name != strings.Repeat("é", 139) {
		t.Errorf("name cut to %d runes", len([]rune(d.Job.Name)))
	}
	if d.Job.Who != owner[:49] {
		t.Errorf("owner %q", d.Job.Who)
	}
}

func TestSkips(t *testing.T) {
	ctx := context.Background()
	pending := message(ExchangeTaskPending, 0, run(0, "pending"))
	cases := []struct {
		name string
		def  json.RawMessage
		msg  TaskMessage
		opts Options
		is   error
	}{
		{"no route", taskDef(func(d map[string]any) { d["routes"] = []any{"index.x"} }), pending, Options{}, ErrNoRoute},
		{"staging prefix is not the route", taskDef(func(d map[string]any) { d["routes"] = []any{"tc-treeherder-staging.v2.try." + testRev} }), pending, Options{}, ErrNoRoute},
		{"two routes", taskDef(func(d map[string]any) {
			d["routes"] = []any{"tc-treeherder.v2.a." + testRev, "tc-treeherder.v2.b." + testRev}
		}), pending, Options{}, ErrNoRoute},
		{"no extra", taskDef(func(d map[string]any) { delete(d, "extra") }), pending, Options{}, ErrInvalidConfig},
		{"empty treeherder", taskDef(func(d map[string]any) { d["extra"] = map[string]any{"treeherder": map[string]any{}} }), pending, Options{}, ErrInvalidConfig},
		{"invalid treeherder", taskDef(func(d map[string]any) { th(d)["tier"] = 4 }), pending, Options{}, ErrInvalidConfig},
		{"ignored project", taskDef(), pending, Options{ProjectsToIngest: []string{"try"}}, ErrIgnored},
		{"exception run created by exception", taskDef(), message(ExchangeTaskException, 0,
			run(0, "exception", "reasonCreated", "exception", "resolved", "2019-06-26T19:36:04Z")), Options{}, ErrExceptionRun},
		{"task-defined", taskDef(), TaskMessage{Exchange: ExchangeTaskDefined, RootURL: testRoot,
			Payload: json.RawMessage(`{"status":{"taskId":"` + testTaskID + `","runs":[]}}`)}, Options{}, ErrUnscheduled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTransformer(newMem(tc.def), tc.opts).JobDatum(ctx, tc.msg)
			if !errors.Is(err, tc.is) || !IsSkip(err) {
				t.Fatalf("got %v, want skip %v", err, tc.is)
			}
			if errors.Is(err, ErrSchema) {
				t.Errorf("a skip must not match ErrSchema: %v", err)
			}
		})
	}
	// The invalid config names its field.
	_, err := NewTransformer(newMem(taskDef(func(d map[string]any) { th(d)["tier"] = 4 })), Options{}).JobDatum(ctx, pending)
	var se *SchemaError
	if !errors.As(err, &se) || se.Field != "extra.treeherder.tier" || se.Schema != "task-treeherder-config" {
		t.Errorf("invalid config error %v", err)
	}
	// With PROJECTS_TO_INGEST naming the project, the task goes through.
	if _, err := NewTransformer(newMem(taskDef()), Options{ProjectsToIngest: []string{"try", "autoland"}}).JobDatum(ctx, pending); err != nil {
		t.Error(err)
	}
}

func TestFailures(t *testing.T) {
	ctx := context.Background()
	good := taskDef()
	cases := []struct {
		name  string
		def   json.RawMessage
		msg   TaskMessage
		is    error
		field string
	}{
		{"payload not JSON", good, TaskMessage{Exchange: ExchangeTaskPending, RootURL: testRoot, Payload: []byte(`{"status":`)}, ErrNotJSON, ""},
		{"payload trailing garbage", good, TaskMessage{Exchange: ExchangeTaskPending, RootURL: testRoot, Payload: []byte(`{} x`)}, ErrNotJSON, ""},
		{"bad task id", good, TaskMessage{Exchange: ExchangeTaskPending, RootURL: testRoot,
			Payload: []byte(`{"status":{"taskId":"nope","runs":[]},"runId":0}`)}, ErrSchema, "status.taskId"},
		{"runs not a list", good, TaskMessage{Exchange: ExchangeTaskPending, RootURL: testRoot,
			Payload: []byte(`{"status":{"taskId":"` + testTaskID + `","runs":{}},"runId":0}`)}, ErrSchema, "status.runs"},
		{"missing runId", good, TaskMessage{Exchange: ExchangeTaskPending, RootURL: testRoot,
			Payload: []byte(`{"status":{"taskId":"` + testTaskID + `","runs":[]}}`)}, ErrSchema, "runId"},
		{"negative runId", good, message(ExchangeTaskPending, -1, run(0, "pending")), ErrSchema, "runId"},
		{"huge runId", good, TaskMessage{Exchange: ExchangeTaskPending, RootURL: testRoot,
			Payload: []byte(`{"status":{"taskId":"` + testTaskID + `","runs":[{}]},"runId":1e300}`)}, ErrSchema, "runId"},
		{"run out of range", good, message(ExchangeTaskPending, 3, run(0, "pending")), ErrSchema, "status.runs"},
		{"running without started", good, message(ExchangeTaskRunning, 0, run(0, "running")), ErrSchema, "status.runs.0.started"},
		{"unknown exchange", good, message("exchange/taskcluster-queue/v1/task-weird", 0, run(0, "pending")), ErrUnknownExchange, ""},
		{"missing root url", good, TaskMessage{Exchange: ExchangeTaskPending, Payload: message(ExchangeTaskPending, 0, run(0, "pending")).Payload}, ErrSchema, "root_url"},
		{"task not found", nil, message(ExchangeTaskPending, 0, run(0, "pending")), ErrUpstream, ""},
		{"task not JSON", json.RawMessage(`<html>`), message(ExchangeTaskPending, 0, run(0, "pending")), ErrNotJSON, ""},
		{"bad route id", taskDef(func(d map[string]any) { d["routes"] = []any{"tc-treeherder.v2.try." + testRev + ".x1"} }),
			message(ExchangeTaskPending, 0, run(0, "pending")), ErrSchema, "routes"},
		{"short route", taskDef(func(d map[string]any) { d["routes"] = []any{"tc-treeherder.v2.try"} }),
			message(ExchangeTaskPending, 0, run(0, "pending")), ErrSchema, "routes"},
		{"short revision", taskDef(func(d map[string]any) { d["routes"] = []any{"tc-treeherder.v2.try.abc"} }),
			message(ExchangeTaskPending, 0, run(0, "pending")), ErrSchema, "origin.revision"},
		{"missing owner", taskDef(func(d map[string]any) { delete(d["metadata"].(map[string]any), "owner") }),
			message(ExchangeTaskPending, 0, run(0, "pending")), ErrSchema, "metadata.owner"},
		{"platform not allowed by pulse-job", taskDef(func(d map[string]any) { delete(th(d), "machine"); d["workerType"] = "b/c" }),
			message(ExchangeTaskPending, 0, run(0, "pending")), ErrSchema, "buildMachine.platform"},
		{"unparseable time", taskDef(func(d map[string]any) { d["created"] = "yesterday" }),
			message(ExchangeTaskPending, 0, run(0, "pending")), ErrSchema, "timeScheduled"},
		{"weird run state", good, message(ExchangeTaskPending, 0, run(0, "sleeping")), ErrSchema, "state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMem(tc.def)
			if tc.def == nil {
				m = &memTasks{tasks: map[string]json.RawMessage{}}
			}
			_, err := NewTransformer(m, Options{}).JobDatum(ctx, tc.msg)
			if !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
			if IsSkip(err) {
				t.Errorf("a failure must not be a skip: %v", err)
			}
			if tc.field != "" {
				var se *SchemaError
				if !errors.As(err, &se) || se.Field != tc.field {
					t.Errorf("field: got %v, want %s", err, tc.field)
				}
			}
		})
	}
}

func TestGitHubRoute(t *testing.T) {
	def := taskDef(func(d map[string]any) {
		d["routes"] = []any{"tc-treeherder.v2.mozilla-mobile/fenix." + testRev + ".123"}
	})
	pj, err := NewTransformer(newMem(def), Options{}).PulseJob(context.Background(), message(ExchangeTaskPending, 0, run(0, "pending")))
	if err != nil {
		t.Fatal(err)
	}
	origin := pj["origin"].(map[string]any)
	if origin["project"] != "fenix" || origin["id"] != 123 || origin["revision"] != testRev {
		t.Errorf("origin %v", origin)
	}
}

func artifactsOf(names ...string) ArtifactPage {
	p := ArtifactPage{}
	for _, n := range names {
		p.Artifacts = append(p.Artifacts, Artifact{Name: n})
	}
	return p
}

func TestArtifactLinks(t *testing.T) {
	ctx := context.Background()
	m := newMem(taskDef())
	m.pages[testTaskID+"/0"] = []ArtifactPage{artifactsOf(
		"public/logs/live_backing.log",
		"public/logs/", // a directory: empty basename, skipped
		"public/test_info/mochitest_errorsummary.log",
		"public/build/perfherder-data-building.json",
		"public/a/target.zip",
		"public/b/target.zip",
		"public/c/target.zip",
		"public/test_info/perfherder-data-foo.txt",
	)}
	d := datum(t, m, message(ExchangeTaskCompleted, 0, run(0, "completed", completed...)), Options{})
	base := testRoot + "/api/queue/v1/task/" + testTaskID + "/runs/0/artifacts/"
	wantLogs := []sdk.LogReference{
		{Name: "live_backing_log", URL: base + "public/logs/live_backing.log", ParseStatus: "pending"},
		{Name: "errorsummary_json", URL: base + "public/test_info/mochitest_errorsummary.log", ParseStatus: "pending"},
	}
	if fmt.Sprint(d.Job.LogReferences) != fmt.Sprint(wantLogs) {
		t.Errorf("logs %+v", d.Job.LogReferences)
	}
	wantPerf := []sdk.LogReference{{Name: "perfherder-data-building.json", URL: base + "public/build/perfherder-data-building.json", ParseStatus: "pending"}}
	if fmt.Sprint(d.Job.PerfherderDataReferences) != fmt.Sprint(wantPerf) {
		t.Errorf("perf refs %+v", d.Job.PerfherderDataReferences)
	}

	pj, err := NewTransformer(m, Options{}).PulseJob(ctx, message(ExchangeTaskCompleted, 0, run(0, "completed", completed...)))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range pj["jobInfo"].(map[string]any)["links"].([]any) {
		texts = append(texts, l.(map[string]any)["linkText"].(string))
	}
	want := "live_backing.log mochitest_errorsummary.log perfherder-data-building.json target.zip target.zip (1) target.zip (2) perfherder-data-foo.txt"
	if strings.Join(texts, " ") != want {
		t.Errorf("link texts %q", strings.Join(texts, " "))
	}

	// Listing errors leave the job without links (and without errorsummary).
	m.artifactErr = &UpstreamError{URL: "x", StatusCode: 500, Retryable: true}
	d = datum(t, m, message(ExchangeTaskCompleted, 0, run(0, "completed", completed...)), Options{})
	if len(d.Job.LogReferences) != 1 || len(d.Job.PerfherderDataReferences) != 0 {
		t.Errorf("with a listing error: %+v", d.Job)
	}

	// A cancelled context is not swallowed.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewTransformer(m, Options{}).JobDatum(cctx, message(ExchangeTaskCompleted, 0, run(0, "completed", completed...))); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestArtifactPagination(t *testing.T) {
	page1 := artifactsOf("public/test_info/a_errorsummary.log")
	page1.ContinuationToken = "p1"
	page2 := artifactsOf("public/test_info/b_errorsummary.log")
	msg := message(ExchangeTaskCompleted, 0, run(0, "completed", completed...))
	errorsummaries := func(d sdk.JobDatum) int {
		n := 0
		for _, l := range d.Job.LogReferences {
			if l.Name == sdk.LogErrorSummary {
				n++
			}
		}
		return n
	}

	m := newMem(taskDef())
	m.pages[testTaskID+"/0"] = []ArtifactPage{page1, page2}
	// Treeherder's `.concat` bug: a second page means no links at all.
	if n := errorsummaries(datum(t, m, msg, Options{})); n != 0 {
		t.Errorf("Treeherder pagination: %d errorsummary logs, want 0", n)
	}
	if n := errorsummaries(datum(t, m, msg, Options{FollowArtifactPages: true})); n != 2 {
		t.Errorf("FollowArtifactPages: %d errorsummary logs, want 2", n)
	}
	// When the second page fails, Treeherder keeps the first.
	m.failPage = "p1"
	if n := errorsummaries(datum(t, m, msg, Options{})); n != 1 {
		t.Errorf("failing second page: %d errorsummary logs, want 1", n)
	}
}

func TestIgnoreTaskMobile(t *testing.T) {
	ctx := context.Background()
	route := func(project string) func(d map[string]any) {
		return func(d map[string]any) {
			d["routes"] = []any{"tc-treeherder.v2." + project + "." + testRev}
		}
	}
	env := func(kv ...string) func(d map[string]any) {
		return func(d map[string]any) {
			e := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				e[kv[i]] = kv[i+1]
			}
			d["payload"] = map[string]any{"env": e}
		}
	}
	const rb = "https://github.com/mozilla-mobile/reference-browser"
	cases := []struct {
		name   string
		mods   []func(map[string]any)
		ignore bool
	}{
		{"other project", []func(map[string]any){route("autoland")}, false},
		{"main branch", []func(map[string]any){route("reference-browser"),
			env("MOBILE_BASE_REPOSITORY", rb, "MOBILE_HEAD_REPOSITORY", rb, "MOBILE_HEAD_REF", "main")}, false},
		{"pull request", []func(map[string]any){route("reference-browser"),
			env("MOBILE_BASE_REPOSITORY", rb, "MOBILE_HEAD_REPOSITORY", "https://github.com/someone/reference-browser", "MOBILE_HEAD_REF", "main")}, true},
		{"other branch", []func(map[string]any){route("reference-browser"),
			env("MOBILE_BASE_REPOSITORY", rb, "MOBILE_HEAD_REPOSITORY", rb, "MOBILE_HEAD_REF", "refs/heads/feature")}, true},
		{"missing head repository stops the checks", []func(map[string]any){route("reference-browser"),
			env("MOBILE_BASE_REPOSITORY", rb, "MOBILE_HEAD_REF", "feature")}, false},
		{"base repo of another project", []func(map[string]any){route("reference-browser"),
			env("MOBILE_BASE_REPOSITORY", "https://github.com/mozilla-mobile/fenix", "MOBILE_HEAD_REF", "feature")}, false},
		{"decision task on main", []func(map[string]any){route("mozilla-vpn-client"), env()}, false},
		{"decision task elsewhere", []func(map[string]any){route("mozilla-vpn-client"), env(),
			func(d map[string]any) { d["taskGroupId"] = "Vo0j4wv3RFai2uA5IGZ1Cw" }}, true},
	}
	decisionMain := taskDef(func(d map[string]any) { d["routes"] = []any{"index.mobile.v2.vpn.branch.main.latest"} })
	decisionOther := taskDef(func(d map[string]any) { d["routes"] = []any{"index.mobile.v2.vpn.branch.feature.latest"} })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMem(taskDef(tc.mods...))
			m.tasks["XrWNyFwpT2in-wLY9frb-w"] = decisionMain
			m.tasks["Vo0j4wv3RFai2uA5IGZ1Cw"] = decisionOther
			_, err := NewTransformer(m, Options{}).JobDatum(ctx, message(ExchangeTaskPending, 0, run(0, "pending")))
			if tc.ignore != errors.Is(err, ErrIgnored) {
				t.Errorf("got %v, want ignored=%v", err, tc.ignore)
			}
			if !tc.ignore && err != nil {
				t.Errorf("unexpected %v", err)
			}
		})
	}
}

func TestTaskDefinitionFallbacks(t *testing.T) {
	// Newer definitions may lack workerType; taskQueueId stands in.
	def := taskDef(func(d map[string]any) {
		delete(d, "workerType")
		d["taskQueueId"] = "gecko-t/t-linux-xlarge"
		delete(th(d), "machine")
	})
	d := datum(t, newMem(def), message(ExchangeTaskPending, 0, run(0, "pending")), Options{})
	if d.Job.BuildPlatform.Platform != "t-linux-xlarge" {
		t.Errorf("platform %q", d.Job.BuildPlatform.Platform)
	}
}
