package work_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/queue"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/core/work"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
)

func broker(t *testing.T) *queue.Broker {
	t.Helper()
	url := testenv.AMQPURL(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "herder-worktest-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	br, err := queue.Dial(ctx, queue.Options{URL: url, Prefix: prefix, Prefetch: 10, DeliveryLimit: 3, DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		br.Close()
		queues, exchange := queue.Topology(prefix)
		testenv.DeleteRabbitTopology(t, url, queues, exchange)
	})

	return br
}

func store(t *testing.T) (*sqlstore.Store, *ingest.Pipeline) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "h.db"))
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
	g := model.RepositoryGroup{Name: "development"}
	if err := st.UpsertRepositories(ctx, []model.RepositoryGroup{g}, []model.Repository{
		{Name: "autoland", Group: g, DVCSType: "hg", URL: "u", ActiveStatus: "active"}}); err != nil {
		t.Fatal(err)
	}
	return st, ingest.NewPipeline(st, nil, nil)
}

var rev = fmt.Sprintf("%040x", 7)

func jobEvent(guid, result string) sdk.Event {
	return sdk.Event{ID: guid, Job: &sdk.JobDatum{Project: "autoland", Revision: rev, Job: sdk.Job{
		JobGUID: guid, State: sdk.StateCompleted, Result: result,
		LogReferences: []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: "https://logs.example.com/" + guid}},
		BuildPlatform: sdk.Platform{Platform: "linux64"}, MachinePlatform: sdk.Platform{Platform: "linux64"},
	}}}
}

type handled struct {
	mu       sync.Mutex
	ids      map[int64]int
	tasks    map[int64]model.LogTask
	messages int
	err      error
}

func (h *handled) HandleLogs(ctx context.Context, ts []model.LogTask) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.messages++
	for _, t := range ts {
		h.ids[t.JobLogID]++
		if h.tasks == nil {
			h.tasks = map[int64]model.LogTask{}
		}
		h.tasks[t.JobLogID] = t
	}
	return h.err
}

func (h *handled) task(id int64) model.LogTask {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tasks[id]
}

func (h *handled) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ids)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func status(t *testing.T, b *queue.Broker) map[string]queue.QueueStatus {
	t.Helper()
	list, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]queue.QueueStatus{}
	for _, s := range list {
		out[s.Workload] = s
	}
	return out
}

// A batch goes from a source's sink through the store queue into the
// database, and the logs of its jobs land on their parse queues; a
// malformed message goes to the dead-letter queue with its reason.
func TestBatchFlowsFromSinkToParseQueues(t *testing.T) {
	b := broker(t)
	st, p := store(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sink := work.Sink{Pub: b}
	push := sdk.PushDatum{Project: "autoland", Revision: rev, Author: "a", PushTimestamp: 1}
	events := []sdk.Event{{ID: "push", Push: &push}, jobEvent("failed/0", "testfailed"), jobEvent("ok/0", "success"), {ID: "empty"}}
	if err := sink.Accept(ctx, "pulse", events); err != nil {
		t.Fatal(err)
	}
	// The same batch again (a redelivery upstream) doubles nothing.
	if err := sink.Accept(ctx, "pulse", events); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, queue.Store, queue.Message{ID: "bad", Body: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	if s := status(t, b)[queue.Store]; s.Messages != 3 {
		t.Fatalf("store queue holds %d messages, want 3", s.Messages)
	}

	w := work.StoreWorker{Pipeline: p, Logs: st, Pub: b}
	var consumers sync.WaitGroup
	consumers.Add(1)
	go func() { defer consumers.Done(); _ = b.Consume(ctx, queue.Store, w.Handle) }()
	waitFor(t, "store queue drained and the bad message dead-lettered", func() bool {
		s := status(t, b)[queue.Store]
		return s.Messages == 0 && s.DeadMessages == 1
	})
	counts, _ := st.Counts(ctx)
	if counts["job"] != 2 || counts["job_log"] != 2 {
		t.Fatalf("stored %d jobs and %d logs, want 2 and 2", counts["job"], counts["job_log"])
	}
	dead, err := b.DeadLetters(ctx, queue.Store, 10)
	if err != nil || len(dead) != 1 || dead[0].ID != "bad" || dead[0].Reason == "" {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	waitFor(t, "log messages", func() bool {
		s := status(t, b)
		return s[queue.LogsFailed].Messages == 2 && s[queue.LogsOther].Messages == 2
	})

	// Each log was queued twice (the batch came twice); the consumer sees
	// both, and claiming in the database makes the second a no-op.
	h := &handled{ids: map[int64]int{}}
	for _, wl := range work.LogWorkloads {
		consumers.Add(1)
		go func() { defer consumers.Done(); _ = b.Consume(ctx, wl, work.HandleLogs(h, nil)) }()
	}
	waitFor(t, "log messages handled", func() bool {
		s := status(t, b)
		return h.count() == 2 && s[queue.LogsFailed].Messages == 0 && s[queue.LogsOther].Messages == 0
	})
	// A message carries the log as the worker that stored it read it, so the
	// parsing worker need not read it again.
	for id := range h.ids {
		got := h.task(id)
		if got.JobGUID == "" || got.URL != "https://logs.example.com/"+got.JobGUID || got.Name != sdk.LogLiveBacking ||
			got.JobID == 0 || got.Repository != "autoland" || !got.Fresh {
			t.Errorf("log %d handed over as %+v", id, got)
		}
	}
	// One naming only the log's id (as earlier versions sent) still works.
	if err := b.Publish(ctx, queue.LogsOther, queue.Message{ID: "id-only", Body: []byte(`{"job_log_id": 999}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "id-only log message handled", func() bool { return h.task(999).JobLogID == 999 })
	if got := h.task(999); got.JobGUID != "" {
		t.Errorf("id-only message handed over as %+v", got)
	}

	// A malformed log message is dead-lettered, not retried.
	if err := b.Publish(ctx, queue.LogsFailed, queue.Message{ID: "bad-log", Body: []byte(`{"job_log_id": -1}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bad log message dead-lettered", func() bool { return status(t, b)[queue.LogsFailed].DeadMessages == 1 })
	cancel()
	consumers.Wait()
}

// The sweep queues pending logs nobody queued (jobs stored from the parked
// table, logs reset for a reparse) and leaves recently queued ones alone.
func TestSweepQueuesLogsNoQueueHolds(t *testing.T) {
	b := broker(t)
	st, p := store(t)
	ctx := context.Background()
	push := sdk.PushDatum{Project: "autoland", Revision: rev, Author: "a", PushTimestamp: 1}
	if err := p.Accept(ctx, "test", []sdk.Event{{Push: &push}, jobEvent("a/0", "busted"), jobEvent("b/0", "success")}); err != nil {
		t.Fatal(err)
	}
	n, err := work.Sweep(ctx, b, st, 15*time.Minute)
	if err != nil || n != 2 {
		t.Fatalf("first sweep queued %d, %v; want 2", n, err)
	}
	if n, err := work.Sweep(ctx, b, st, 15*time.Minute); err != nil || n != 0 {
		t.Fatalf("second sweep queued %d, %v; want 0 (just queued)", n, err)
	}
	if n, err := work.Sweep(ctx, b, st, -time.Minute); err != nil || n != 2 {
		t.Fatalf("sweep of stale marks queued %d, %v; want 2", n, err)
	}
	s := status(t, b)
	if s[queue.LogsFailed].Messages != 2 || s[queue.LogsOther].Messages != 2 {
		t.Fatalf("queues after sweeps = %+v", s)
	}
}

func TestWorkloadFor(t *testing.T) {
	for _, c := range []struct{ name, result, want string }{
		{sdk.LogLiveBacking, "testfailed", queue.LogsFailed},
		{sdk.LogErrorSummary, "busted", queue.LogsFailed},
		{sdk.LogErrorSummary, "success", queue.LogsStructured},
		{sdk.LogLiveBacking, "success", queue.LogsOther},
		{"perfherder-data.json", "success", queue.Perf},
	} {
		if got := work.WorkloadFor(model.LogTask{Name: c.name, JobResult: c.result}); got != c.want {
			t.Errorf("WorkloadFor(%s, %s) = %s, want %s", c.name, c.result, got, c.want)
		}
	}
}

// A message carries several logs, handed over together as their publisher
// read them; a handler's error sends the message back, and a malformed
// item rejects it.
func TestHandleLogsOfAMessage(t *testing.T) {
	ctx := context.Background()
	var items []string
	for id := 1; id <= 25; id++ {
		items = append(items, fmt.Sprintf(`{"job_log_id": %d, "task": {"job_id": %d, "job_guid": "g/%d", "name": "live_backing_log", "url": "https://logs.example.com/%d", "fresh": true}}`, id, 100+id, id, id))
	}
	body := []byte(`{"logs": [` + strings.Join(items, ",") + `]}`)
	h := &handled{ids: map[int64]int{}, err: errors.New("store unreachable")}
	err := work.HandleLogs(h, nil)(ctx, queue.Delivery{Body: body})
	if err == nil {
		t.Fatal("a message whose logs failed was acknowledged")
	}
	if _, rejected := queue.IsRejected(err); rejected {
		t.Fatalf("a transient failure dead-letters the message: %v", err)
	}
	if h.count() != 25 || h.messages != 1 {
		t.Fatalf("handed over %d logs in %d calls, want 25 in 1", h.count(), h.messages)
	}
	if got := h.task(12); got.JobID != 112 || got.JobGUID != "g/12" || got.URL != "https://logs.example.com/12" || !got.Fresh {
		t.Errorf("log 12 handed over as %+v", got)
	}
	h.err = nil
	if err := work.HandleLogs(h, nil)(ctx, queue.Delivery{Body: body}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`{"logs": [{"job_log_id": 1}, {"job_log_id": 0}]}`, `{}`, `[1]`, `{"job_log_id": -1}`} {
		if _, rejected := queue.IsRejected(work.HandleLogs(h, nil)(ctx, queue.Delivery{Body: []byte(bad)})); !rejected {
			t.Errorf("%s was not rejected", bad)
		}
	}
}
