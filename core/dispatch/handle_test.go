package dispatch_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// Two workers handed the same log (a redelivered message, a sweep that
// requeued it) parse it once between them; a flaky processor is retried in
// the handler rather than by redelivery.
func TestHandleLogParsesOnceAcrossWorkers(t *testing.T) {
	st, p := setup(t)
	ctx := context.Background()
	raw := func(u string) sdk.LogReference { return sdk.LogReference{Name: sdk.LogLiveBacking, URL: u} }
	if err := p.StoreJobData(ctx, "test", []sdk.JobDatum{
		job("a/0", "testfailed", raw("https://logs.example.com/a")),
		job("b/0", "testfailed", raw("https://logs.example.com/flaky")),
		job("c/0", "testfailed", raw("https://logs.example.com/gone")),
	}); err != nil {
		t.Fatal(err)
	}
	tasks, err := st.PendingLogsOfJobs(ctx, []string{"a/0", "b/0", "c/0"})
	if err != nil || len(tasks) != 3 {
		t.Fatalf("pending = %+v, %v", tasks, err)
	}
	fp := &fakeParser{calls: map[string]int{}, failures: map[string]int{"https://logs.example.com/flaky": 1}}
	w1 := dispatch.NewLogDispatcher(st, fp, dispatch.LogOptions{Processor: "p", Owner: "w1"})
	w2 := dispatch.NewLogDispatcher(st, fp, dispatch.LogOptions{Processor: "p", Owner: "w2"})
	var wg sync.WaitGroup
	for _, task := range tasks {
		for i, w := range []*dispatch.LogDispatcher{w1, w2, w1} {
			// Messages carry the task as it was read, or only its id.
			req := task
			if i == 1 {
				req = model.LogTask{JobLogID: task.JobLogID}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := w.HandleLog(ctx, req); err != nil {
					t.Errorf("HandleLog(%d): %v", task.JobLogID, err)
				}
			}()
		}
	}
	wg.Wait()
	if fp.calls["https://logs.example.com/a"] != 1 {
		t.Errorf("log a parsed %d times, want once", fp.calls["https://logs.example.com/a"])
	}
	if fp.calls["https://logs.example.com/flaky"] != 2 {
		t.Errorf("flaky log tried %d times, want 2 (one failure, one success)", fp.calls["https://logs.example.com/flaky"])
	}
	got := logStatus(t, st)
	for u, want := range map[string]string{
		"https://logs.example.com/a":     "parsed",
		"https://logs.example.com/flaky": "parsed",
		"https://logs.example.com/gone":  "failed",
	} {
		if s := got[u]; len(s) < len(want) || s[:len(want)] != want {
			t.Errorf("%s: status %q, want %s", u, s, want)
		}
	}
	var counts []int
	rows, err := st.DB().Query("SELECT parse_count FROM job_log ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		_ = rows.Scan(&n)
		counts = append(counts, n)
	}
	if len(counts) != 3 || counts[0] != 1 || counts[1] != 1 || counts[2] != 1 {
		t.Errorf("parse counts = %v, want each log stored once", counts)
	}
}

func TestLaneFor(t *testing.T) {
	for _, c := range []struct {
		name, result, lane string
	}{
		{sdk.LogLiveBacking, "testfailed", "fail_raw"},
		{sdk.LogErrorSummary, "busted", "fail_json"},
		{sdk.LogLiveBacking, "success", "raw"},
		{sdk.LogErrorSummary, "success", "json"},
		{"perfherder-data-build.json", "success", "perf"},
	} {
		if got := dispatch.LaneFor(model.LogTask{Name: c.name, JobResult: c.result}).Name; got != c.lane {
			t.Errorf("LaneFor(%s, %s) = %s, want %s", c.name, c.result, got, c.lane)
		}
	}
}

// A parse that outlasts the lease keeps it by renewing, so another worker
// handed the same log meanwhile does not parse it too.
func TestLeaseIsRenewedDuringASlowParse(t *testing.T) {
	st, p := setup(t)
	ctx := context.Background()
	raw := sdk.LogReference{Name: sdk.LogLiveBacking, URL: "https://logs.example.com/slow"}
	if err := p.StoreJobData(ctx, "test", []sdk.JobDatum{job("slow/0", "testfailed", raw)}); err != nil {
		t.Fatal(err)
	}
	tasks, err := st.PendingLogsOfJobs(ctx, []string{"slow/0"})
	if err != nil || len(tasks) != 1 {
		t.Fatal(tasks, err)
	}
	fp := &fakeParser{calls: map[string]int{}, block: make(chan struct{})}
	w1 := dispatch.NewLogDispatcher(st, fp, dispatch.LogOptions{Processor: "p", Owner: "w1", Lease: 300 * time.Millisecond})
	w2 := dispatch.NewLogDispatcher(st, fp, dispatch.LogOptions{Processor: "p", Owner: "w2", Lease: 300 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- w1.HandleLog(ctx, tasks[0]) }()
	waitFor(t, "the first parse to start", func() bool {
		fp.mu.Lock()
		defer fp.mu.Unlock()
		return fp.calls[raw.URL] == 1
	})
	// Three lease lengths later the first worker still holds the log.
	time.Sleep(900 * time.Millisecond)
	second := make(chan error, 1)
	go func() { second <- w2.HandleLog(ctx, model.LogTask{JobLogID: tasks[0].JobLogID}) }()
	select {
	case err := <-second:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		close(fp.block)
		t.Fatal("the second worker took the log over and parsed it: the lease was not renewed")
	}
	close(fp.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := fp.calls[raw.URL]; n != 1 {
		t.Fatalf("the slow log was parsed %d times, want once", n)
	}
	if got := logStatus(t, st)[raw.URL]; len(got) < 6 || got[:6] != "parsed" {
		t.Fatalf("status %q", got)
	}
}

// Messages of several logs, delivered twice to two workers at once (a
// redelivery, a sweep) and mixing logs as read, by id only and as they no
// longer are, get every log parsed exactly once.
func TestHandleLogsParsesAMessageOnceAcrossWorkers(t *testing.T) {
	st, p := setup(t)
	ctx := context.Background()
	var jobs []sdk.JobDatum
	var guids []string
	for i := range 12 {
		guid := fmt.Sprintf("m/%d", i)
		guids = append(guids, guid)
		jobs = append(jobs, job(guid, "testfailed", sdk.LogReference{Name: sdk.LogLiveBacking, URL: "https://logs.example.com/m" + strconv.Itoa(i)}))
	}
	if err := p.StoreJobData(ctx, "test", jobs); err != nil {
		t.Fatal(err)
	}
	tasks, err := st.PendingLogsOfJobs(ctx, guids)
	if err != nil || len(tasks) != 12 {
		t.Fatalf("pending = %+v, %v", tasks, err)
	}
	msg := append([]model.LogTask{}, tasks...)
	msg[3] = model.LogTask{JobLogID: tasks[3].JobLogID} // named by id only
	msg[5].Fresh = false                                // read before a change
	fp := &fakeParser{calls: map[string]int{}, failures: map[string]int{"https://logs.example.com/m7": 1}}
	w1 := dispatch.NewLogDispatcher(st, fp, dispatch.LogOptions{Processor: "p", Owner: "w1"})
	w2 := dispatch.NewLogDispatcher(st, fp, dispatch.LogOptions{Processor: "p", Owner: "w2"})
	var wg sync.WaitGroup
	for _, w := range []*dispatch.LogDispatcher{w1, w2, w1, w2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.HandleLogs(ctx, msg); err != nil {
				t.Errorf("HandleLogs: %v", err)
			}
		}()
	}
	wg.Wait()
	for i := range 12 {
		u := "https://logs.example.com/m" + strconv.Itoa(i)
		want := 1
		if i == 7 {
			want = 2 // one transient failure, retried in the handler
		}
		if fp.calls[u] != want {
			t.Errorf("%s processed %d times, want %d", u, fp.calls[u], want)
		}
	}
	rows, err := st.DB().Query("SELECT status, parse_count, lease_owner IS NULL FROM job_log")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var status, parses int
		var released bool
		if err := rows.Scan(&status, &parses, &released); err != nil {
			t.Fatal(err)
		}
		if status != model.LogParsed || parses != 1 || !released {
			t.Errorf("log status %d, parse_count %d, lease released %v; want parsed once and released", status, parses, released)
		}
	}
}
