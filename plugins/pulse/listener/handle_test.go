package listener

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/plugins/pulse/transform"
)

// fakeFetcher serves task definitions from memory and fails on demand.
type fakeFetcher struct {
	transform.StaticTasks
	fail map[string]error
}

func (f fakeFetcher) Task(ctx context.Context, root, id string) (json.RawMessage, error) {
	if err := f.fail[id]; err != nil {
		return nil, err
	}
	return f.StaticTasks.Task(ctx, root, id)
}

type fakeHg map[string]json.RawMessage

func (f fakeHg) HgPushes(_ context.Context, url string) (json.RawMessage, error) {
	if b, ok := f[url]; ok {
		return b, nil
	}
	return nil, &transform.UpstreamError{URL: url, StatusCode: 404, Attempts: 1}
}

func testHandler() *handler {
	tasks := transform.StaticTasks{}
	for i := 0; i < 4; i++ {
		tasks[pulsetest.TaskID(i)] = pulsetest.TaskDefinition(i, "autoland", pulsetest.Revision(0))
	}
	tasks[pulsetest.TaskID(4)] = pulsetest.TaskDefinition(4, "elm", pulsetest.Revision(0))
	tasks[pulsetest.TaskID(5)] = json.RawMessage(strings.Replace(string(pulsetest.TaskDefinition(5, "autoland", pulsetest.Revision(0))), "tc-treeherder.", "other.", 1))
	f := fakeFetcher{StaticTasks: tasks, fail: map[string]error{
		pulsetest.TaskID(6): &transform.UpstreamError{URL: "x", StatusCode: 503, Attempts: 4, Retryable: true},
		pulsetest.TaskID(7): &transform.UpstreamError{URL: "x", StatusCode: 404, Attempts: 1},
	}}
	hg := fakeHg{pulsetest.HgRepoURL + "/json-pushes?version=2&full=1&startID=3&endID=4": json.RawMessage(`{"lastpushid": 4, "pushes": {"4": {"changesets": [{"node": "` + pulsetest.Revision(3) + `", "author": "a", "desc": "d"}], "date": 1700000000, "user": "u@example.com"}}}`)}
	repos := []transform.Repository{{Name: "autoland", URL: pulsetest.HgRepoURL}, {Name: "try", URL: "https://hg.mozilla.org/try", Inactive: true}}
	return newHandler(transform.NewTransformer(f, transform.Options{}), transform.NewPushTransformer(hg, nil, repos), repos, 1<<20)
}

func TestHandleOutcomes(t *testing.T) {
	h := testHandler()
	v2 := func(typ string, data []byte) []byte {
		b, _ := json.Marshal(map[string]any{"payload": map[string]any{"type": typ, "data": json.RawMessage(data)}})
		return b
	}
	var hgPayload struct {
		Payload json.RawMessage `json:"payload"`
	}
	_ = json.Unmarshal(pulsetest.HgPushMessage(3), &hgPayload)
	cases := []struct {
		name, exchange string
		body           []byte
		outcome        Outcome
		code           string
	}{
		{"pending", transform.ExchangeTaskPending, pulsetest.TaskMessage(1, 0, false), Emit, ""},
		{"running retry", transform.ExchangeTaskRunning, pulsetest.TaskMessage(2, 1, true), Emit, ""},
		{"defined", transform.ExchangeTaskDefined, pulsetest.TaskMessage(1, 0, false), Skip, "unscheduled"},
		{"no route", transform.ExchangeTaskPending, pulsetest.TaskMessage(5, 0, false), Skip, "no_route"},
		{"unknown project", transform.ExchangeTaskPending, pulsetest.TaskMessage(4, 0, false), DeadLetter, "unknown_repository"},
		{"upstream down", transform.ExchangeTaskPending, pulsetest.TaskMessage(6, 0, false), Retry, "upstream"},
		{"task gone", transform.ExchangeTaskPending, pulsetest.TaskMessage(7, 0, false), DeadLetter, "upstream"},
		{"not json", transform.ExchangeTaskPending, []byte("{"), DeadLetter, "not_json"},
		{"schema", transform.ExchangeTaskPending, []byte(`{"status": {"taskId": 5}}`), DeadLetter, "schema"},
		{"unknown exchange", "exchange/what/v1", []byte(`{}`), DeadLetter, "unknown_exchange"},
		{"too large", transform.ExchangeTaskPending, make([]byte, 2<<20), DeadLetter, "too_large"},
		{"hg v1", transform.ExchangeHgPushesV1, pulsetest.HgPushMessage(3), Emit, ""},
		{"hg v2", transform.ExchangeHgPushesV2, v2("changegroup.1", hgPayload.Payload), Emit, ""},
		{"hg v2 other", transform.ExchangeHgPushesV2, v2("newrepo.1", []byte(`{}`)), Skip, "not_a_push"},
		{"hg v2 not json", transform.ExchangeHgPushesV2, []byte(`{"payload"`), DeadLetter, "not_json"},
		{"hg v2 wrong shape", transform.ExchangeHgPushesV2, []byte(`{"payload": 3}`), DeadLetter, "schema"},
		{"hg inactive repo", transform.ExchangeHgPushesV1, []byte(`{"payload": {"repo_url": "https://hg.mozilla.org/try", "pushlog_pushes": [{"push_full_json_url": "x"}]}}`), DeadLetter, "unknown_repository"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.handle(context.Background(), Message{Exchange: tc.exchange, RoutingKey: "k", Body: tc.body, RootURL: "https://tc.example"})
			if r.Outcome != tc.outcome || r.Code != tc.code {
				t.Fatalf("got outcome %d code %q (%v), want %d %q", r.Outcome, r.Code, r.Err, tc.outcome, tc.code)
			}
			if r.Outcome != Emit {
				if r.Err == nil {
					t.Error("no reason given")
				}
				return
			}
			e := r.Event
			if err := e.Validate(); err != nil || e.ID == "" || string(e.Raw) != string(tc.body) {
				t.Errorf("event %q: %v; raw kept: %v", e.ID, err, string(e.Raw) == string(tc.body))
			}
		})
	}
	r := h.handle(context.Background(), Message{Exchange: transform.ExchangeTaskRunning, Body: pulsetest.TaskMessage(2, 1, true), RootURL: "https://tc.example"})
	if want := "tc/" + pulsetest.TaskID(2) + "/1/running"; r.Event.ID != want || r.Event.Job.Job.JobGUID != pulsetest.JobGUID(2, 1) || r.Event.Job.Project != "autoland" {
		t.Errorf("running event %q guid %s project %s, want %s", r.Event.ID, r.Event.Job.Job.JobGUID, r.Event.Job.Project, want)
	}
	r = h.handle(context.Background(), Message{Exchange: transform.ExchangeHgPushesV1, Body: pulsetest.HgPushMessage(3)})
	if r.Event.ID != "push/autoland/"+pulsetest.Revision(3) {
		t.Errorf("push event id %q", r.Event.ID)
	}
}

func TestHandleCancelledIsRetried(t *testing.T) {
	h := testHandler()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := h.handle(ctx, Message{Exchange: transform.ExchangeTaskPending, Body: pulsetest.TaskMessage(6, 0, false), RootURL: "https://tc.example"})
	if r.Outcome != Retry {
		t.Errorf("cancelled handling: outcome %d (%v), want Retry", r.Outcome, r.Err)
	}
}

func TestClassifyUnknownError(t *testing.T) {
	if r := classify(context.Background(), errors.New("boom")); r.Outcome != DeadLetter || r.Code != "error" {
		t.Errorf("got %+v", r)
	}
}

func FuzzHandle(f *testing.F) {
	exchanges := append([]string{"exchange/unknown", transform.ExchangeHgPushesV1, transform.ExchangeHgPushesV2,
		transform.ExchangeGitHubPush, transform.ExchangeGitHubPullRequest}, defaultTaskExchanges...)
	f.Add(uint8(6), pulsetest.TaskMessage(1, 0, false))
	f.Add(uint8(7), pulsetest.TaskMessage(2, 1, true))
	f.Add(uint8(1), pulsetest.HgPushMessage(3))
	f.Add(uint8(2), []byte(`{"payload": {"type": "changegroup.1", "data": {"repo_url": "x", "pushlog_pushes": []}}}`))
	f.Add(uint8(3), []byte(`{"details": {"event.head.repo.url": "https://github.com/a/b"}}`))
	h := testHandler()
	f.Fuzz(func(t *testing.T, ex uint8, body []byte) {
		r := h.handle(context.Background(), Message{Exchange: exchanges[int(ex)%len(exchanges)], Body: body, RootURL: "https://tc.example"})
		switch r.Outcome {
		case Emit:
			if err := r.Event.Validate(); err != nil {
				t.Fatalf("emitted an invalid event: %v", err)
			}
		case Skip, DeadLetter, Retry:
			if r.Err == nil || r.Code == "" {
				t.Fatalf("outcome %d without a reason", r.Outcome)
			}
		default:
			t.Fatalf("no outcome")
		}
	})
}
