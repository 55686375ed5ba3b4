package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
)

// fakeParser answers log.parse tasks in process.
type fakeParser struct {
	mu       sync.Mutex
	calls    map[string]int
	failures map[string]int // URL -> transient failures before success
	block    chan struct{}  // when set, raw logs wait on it
}

func (f *fakeParser) Process(ctx context.Context, processor string, task sdk.Task) (sdk.Result, error) {
	var t sdk.LogParseTask
	if err := json.Unmarshal(task.Payload, &t); err != nil {
		return sdk.Result{}, sdk.Permanent(err)
	}
	f.mu.Lock()
	f.calls[t.URL]++
	n := f.calls[t.URL]
	left := f.failures[t.URL]
	f.mu.Unlock()
	if t.Name == sdk.LogLiveBacking && f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return sdk.Result{}, ctx.Err()
		}
	}
	switch {
	case t.URL == "https://logs.example.com/gone":
		return sdk.Result{}, sdk.Permanent(fmt.Errorf("GET %s: 404", t.URL))
	case n <= left:
		return sdk.Result{}, errors.New("connection reset")
	}
	r := sdk.LogParseResult{Status: sdk.LogStatusParsed, AlgorithmVersion: "1"}
	if t.Name == sdk.LogLiveBacking {
		r.Errors = []sdk.ErrorLine{{LineNumber: 7, Line: "TEST-UNEXPECTED-FAIL | " + t.JobGUID}, {LineNumber: 9, Line: "second"}}
	} else {
		test := "dom/test.html"
		r.FailureLines = []sdk.FailureLine{{Action: "test_result", Line: 0, Test: &test, Status: "FAIL"}}
		r.Groups = []sdk.GroupResult{{Group: "dom/mochitest.toml", Status: 2, Duration: 12}, {Group: "layout/a.toml", Status: 1, Duration: 3}}
	}
	b, _ := json.Marshal(r)
	return sdk.Result{Payload: b}, nil
}

func setup(t *testing.T) (*sqlstore.Store, *ingest.Pipeline) {
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
	p := ingest.NewPipeline(st, nil, nil)
	rev := fmt.Sprintf("%040x", 1)
	push := sdk.PushDatum{Project: "autoland", Revision: rev, Author: "a", PushTimestamp: 1}
	if err := p.Accept(ctx, "test", []sdk.Event{{Push: &push}}); err != nil {
		t.Fatal(err)
	}
	return st, p
}

func job(guid, result string, logs ...sdk.LogReference) sdk.JobDatum {
	return sdk.JobDatum{Project: "autoland", Revision: fmt.Sprintf("%040x", 1), Job: sdk.Job{
		JobGUID: guid, State: sdk.StateCompleted, Result: result, LogReferences: logs,
		BuildPlatform: sdk.Platform{Platform: "linux64"}, MachinePlatform: sdk.Platform{Platform: "linux64"},
	}}
}

func logStatus(t *testing.T, st *sqlstore.Store) map[string]string {
	t.Helper()
	rows, err := st.DB().Query("SELECT url, status, status_reason FROM job_log")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var url, reason string
		var status int
		if err := rows.Scan(&url, &status, &reason); err != nil {
			t.Fatal(err)
		}
		out[url] = model.LogStatusNames[status] + " " + reason
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLogsAreParsedAndStored(t *testing.T) {
	st, p := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	raw := func(u string) sdk.LogReference { return sdk.LogReference{Name: sdk.LogLiveBacking, URL: u} }
	summary := func(u string) sdk.LogReference { return sdk.LogReference{Name: sdk.LogErrorSummary, URL: u} }
	if err := p.StoreJobData(ctx, "test", []sdk.JobDatum{
		job("a/0", "testfailed", raw("https://logs.example.com/a"), summary("https://logs.example.com/a.json")),
		job("b/0", "success", raw("https://logs.example.com/b")),
		job("c/0", "busted", raw("https://logs.example.com/flaky")),
		job("d/0", "testfailed", raw("https://logs.example.com/gone")),
	}); err != nil {
		t.Fatal(err)
	}
	fp := &fakeParser{calls: map[string]int{}, failures: map[string]int{"https://logs.example.com/flaky": 2}}
	d := dispatch.NewLogDispatcher(st, fp, dispatch.LogOptions{Processor: "logparser", Poll: 10 * time.Millisecond, Backoff: 5 * time.Millisecond})
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	waitFor(t, "every log to be settled", func() bool {
		for _, s := range logStatus(t, st) {
			if s[:7] == "pending" {
				return false
			}
		}
		return true
	})
	cancel()
	<-done
	got := logStatus(t, st)
	if got["https://logs.example.com/a"] != "parsed " || got["https://logs.example.com/a.json"] != "parsed " ||
		got["https://logs.example.com/b"] != "parsed " || got["https://logs.example.com/flaky"] != "parsed " {
		t.Fatalf("statuses = %v", got)
	}
	if s := got["https://logs.example.com/gone"]; s[:6] != "failed" || len(s) < 20 {
		t.Fatalf("a permanent failure must be recorded with its reason, got %q", s)
	}
	if fp.calls["https://logs.example.com/flaky"] != 3 {
		t.Fatalf("flaky log tried %d times, want 3", fp.calls["https://logs.example.com/flaky"])
	}
	var n int
	st.DB().QueryRow("SELECT COUNT(*) FROM text_log_error").Scan(&n)
	if n != 6 { // a, b and flaky have two error lines each
		t.Fatalf("text log errors = %d, want 6", n)
	}
	st.DB().QueryRow("SELECT COUNT(*) FROM failure_line").Scan(&n)
	if n != 1 {
		t.Fatalf("failure lines = %d", n)
	}
	var status, duration int
	st.DB().QueryRow("SELECT gs.status, gs.duration FROM group_status gs JOIN test_group g ON g.id = gs.group_id WHERE g.name = 'dom/mochitest.toml'").Scan(&status, &duration)
	if status != 2 || duration != 12 {
		t.Fatalf("group result = %d/%d", status, duration)
	}
	// Reparsing replaces results instead of doubling them.
	if n, err := st.ResetLogs(context.Background(), 0, "2"); err != nil || n != 5 {
		t.Fatalf("reset = %d, %v", n, err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go d.Run(ctx2)
	waitFor(t, "the reparse", func() bool {
		var pending int
		st.DB().QueryRow("SELECT COUNT(*) FROM job_log WHERE status = 0").Scan(&pending)
		return pending == 0
	})
	st.DB().QueryRow("SELECT COUNT(*) FROM text_log_error").Scan(&n)
	if n != 6 {
		t.Fatalf("after reparse text log errors = %d, want 6", n)
	}
}

func TestStructuredLogsDoNotWaitBehindRawOnes(t *testing.T) {
	st, p := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var data []sdk.JobDatum
	for i := 0; i < 20; i++ {
		data = append(data, job(fmt.Sprintf("raw%d/0", i), "testfailed", sdk.LogReference{Name: sdk.LogLiveBacking, URL: fmt.Sprintf("https://logs.example.com/r%d", i)}))
	}
	data = append(data, job("json/0", "testfailed", sdk.LogReference{Name: sdk.LogErrorSummary, URL: "https://logs.example.com/s.json"}))
	if err := p.StoreJobData(ctx, "test", data); err != nil {
		t.Fatal(err)
	}
	fp := &fakeParser{calls: map[string]int{}, block: make(chan struct{})}
	d := dispatch.NewLogDispatcher(st, fp, dispatch.LogOptions{Processor: "logparser", Poll: 10 * time.Millisecond})
	go d.Run(ctx)
	// Every raw parse is stuck, yet the errorsummary log gets parsed.
	waitFor(t, "the structured log", func() bool { return logStatus(t, st)["https://logs.example.com/s.json"] == "parsed " })
	close(fp.block)
}
