package dispatch_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// perfParser answers every log with one PERFHERDER_DATA blob, except
// logs whose URL ends in "none".
type perfParser struct{}

func (perfParser) Process(ctx context.Context, _ string, task sdk.Task) (sdk.Result, error) {
	var t sdk.LogParseTask
	json.Unmarshal(task.Payload, &t)
	r := sdk.LogParseResult{Status: sdk.LogStatusParsed, AlgorithmVersion: "1"}
	if len(t.URL) < 4 || t.URL[len(t.URL)-4:] != "none" {
		r.PerfData = []json.RawMessage{json.RawMessage(`{"framework": {"name": "talos"}, "suites": []}`)}
	}
	b, _ := json.Marshal(r)
	return sdk.Result{Payload: b}, nil
}

type perfRecorder struct {
	mu    sync.Mutex
	calls []model.LogTask
	st    interface {
		PendingLogs(ctx context.Context, kind, jobs string, skip []int64, limit int) ([]model.LogTask, error)
	}
	pendingAtCall []int
	bad           int
}

func (p *perfRecorder) StorePerfData(ctx context.Context, t model.LogTask, r sdk.LogParseResult) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(r.PerfData) != 1 || r.Status != sdk.LogStatusParsed {
		p.bad++
	}
	// The log's own result is stored first: it is no longer pending.
	pending, _ := p.st.PendingLogs(ctx, model.LogKindRaw, model.JobsAny, nil, 100)
	for _, q := range pending {
		if q.JobLogID == t.JobLogID {
			p.pendingAtCall = append(p.pendingAtCall, int(t.JobLogID))
		}
	}
	p.calls = append(p.calls, t)
	return nil
}

func TestPerfDataIsStoredAfterTheParse(t *testing.T) {
	st, p := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	raw := func(u string) sdk.LogReference { return sdk.LogReference{Name: sdk.LogLiveBacking, URL: u} }
	if err := p.StoreJobData(ctx, "test", []sdk.JobDatum{
		job("a/0", "success", raw("https://logs.example.com/a")),
		job("b/0", "success", raw("https://logs.example.com/none")),
	}); err != nil {
		t.Fatal(err)
	}
	rec := &perfRecorder{st: st}
	d := dispatch.NewLogDispatcher(st, perfParser{}, dispatch.LogOptions{Processor: "p", Poll: 10 * time.Millisecond, Perf: rec})
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	waitFor(t, "both logs parsed", func() bool {
		return logStatus(t, st)["https://logs.example.com/a"] == "parsed " && logStatus(t, st)["https://logs.example.com/none"] == "parsed "
	})
	cancel()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 1 || rec.calls[0].URL != "https://logs.example.com/a" || len(rec.pendingAtCall) != 0 || rec.bad != 0 {
		t.Errorf("perf store calls %+v (pending at the call: %v)", rec.calls, rec.pendingAtCall)
	}
}
