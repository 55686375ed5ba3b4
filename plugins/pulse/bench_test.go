package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/plugins/pulse/listener"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// benchTasks is how many distinct tasks the benchmark's messages are about;
// their definitions are fetched once, before timing starts.
const benchTasks = 2000

// BenchmarkPulseToStore measures task messages per second from RabbitMQ to
// jobs stored by the ingest pipeline, with every task definition already in
// the plugin's cache. Each op is one message. The messages are queued before
// the plugin starts: first one per task (the warm-up, untimed, which fills
// the cache), then b.N timed ones, alternately pending and running for new
// runs, so half the messages insert a job and half update one.
//
//	go test -run XXX -bench PulseToStore -benchtime 20000x ./plugins/pulse/
//
// "binary" runs the real plugin process; "inprocess" serves the same
// listener inside the test process over the same protocol, so
// -cpuprofile sees the plugin, the host and the store together.
func BenchmarkPulseToStore(b *testing.B) {
	for _, backend := range []string{"sqlite", "mysql"} {
		for _, mode := range []string{"binary", "inprocess"} {
			b.Run(backend+"/"+mode, func(b *testing.B) { benchPulseToStore(b, backend, mode) })
		}
	}
}

func benchPulseToStore(b *testing.B, backend, mode string) {
	b.StopTimer()
	r := newRig(b)
	r.declareQueue(b)
	pulsetest.ServeSyntheticTasks(r.up, 0, benchTasks, "autoland", func(int) string { return pulsetest.Revision(0) })
	st := newStore(b, backend)
	timed := &timedStore{Store: st}
	pipeline := ingest.NewPipeline(timed, nil, nil)
	storePush(b, pipeline, "autoland", pulsetest.Revision(0))

	msgs := make([]pulsetest.Message, 0, benchTasks+b.N)
	for i := 0; i < benchTasks; i++ {
		msgs = append(msgs, pulsetest.Message{Exchange: transform.ExchangeTaskPending, Key: pulsetest.RoutingKey(i, 0), Body: pulsetest.TaskMessage(i, 0, false)})
	}
	for k := 0; k < b.N; k++ {
		task, round := k%benchTasks, k/benchTasks
		run, running := 1+round/2, round%2 == 1
		ex := transform.ExchangeTaskPending
		if running {
			ex = transform.ExchangeTaskRunning
		}
		msgs = append(msgs, pulsetest.Message{Exchange: ex, Key: pulsetest.RoutingKey(task, run), Body: pulsetest.TaskMessage(task, run, running)})
	}
	ctx := context.Background()
	if err := r.pub.PublishMany(ctx, msgs); err != nil {
		b.Fatal(err)
	}

	var accepted, storeNanos atomic.Int64
	done := make(chan struct{})
	total := int64(len(msgs))
	opts := plugintest.SourceOptions{
		Name:   "pulse",
		Config: r.config(b, map[string]any{"prefetch": 4000, "batch_size": 1000, "batch_wait": "50ms", "workers": 4}),
		Accept: func(ctx context.Context, events []sdk.Event) error {
			t0 := time.Now()
			if err := pipeline.Accept(ctx, "pulse", events); err != nil {
				return err
			}
			if accepted.Load() >= benchTasks {
				storeNanos.Add(int64(time.Since(t0)))
			} else {
				timed.reset()
			}
			if accepted.Add(int64(len(events))) == total {
				close(done)
			}
			return nil
		},
	}
	var run *plugintest.SourceRun
	if mode == "binary" {
		run = plugintest.StartSource(b, pluginBin, opts)
	} else {
		run = plugintest.StartSourceInProcess(b, listener.New(plugintest.TestLogger(b), listener.WithTransport(r.up.Transport())), opts)
	}
	for accepted.Load() < benchTasks {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	b.StartTimer()
	select {
	case <-done:
	case <-time.After(10*time.Minute + time.Duration(b.N)*time.Millisecond):
		b.Fatalf("%d of %d messages stored; plugin error %v", accepted.Load(), total, run.RunErr())
	}
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	// The share of the time the host spent storing (the rest: the broker,
	// the plugin's transform, the wire).
	b.ReportMetric(float64(storeNanos.Load())/float64(elapsed), "store-share")
	// Of which: the raw event journal, the job upsert, and the push id
	// lookups (the rest of Accept is in-process work).
	b.ReportMetric(float64(timed.raw.Load())/float64(elapsed), "raw-share")
	b.ReportMetric(float64(timed.jobs.Load())/float64(elapsed), "jobs-share")
	b.ReportMetric(float64(timed.lookups.Load())/float64(elapsed), "lookup-share")
	_ = run.Stop()
	counts, err := st.Counts(ctx)
	if err == nil && counts["job"] < int64(benchTasks) {
		b.Errorf("only %d jobs stored", counts["job"])
	}
	b.Logf("%s/%s: %d messages in %s (%s)", backend, mode, b.N, elapsed.Round(time.Millisecond), fmt.Sprint(counts["job"], " jobs"))
}

// timedStore times the store calls the pipeline makes, to say where the
// host's time goes.
type timedStore struct {
	*sqlstore.Store
	raw, jobs, lookups atomic.Int64
}

func (t *timedStore) reset() { t.raw.Store(0); t.jobs.Store(0); t.lookups.Store(0) }

func since(c *atomic.Int64, t0 time.Time) { c.Add(int64(time.Since(t0))) }

func (t *timedStore) StoreRawEvents(ctx context.Context, events []model.RawEvent) error {
	defer since(&t.raw, time.Now())
	return t.Store.StoreRawEvents(ctx, events)
}

func (t *timedStore) StoreJobs(ctx context.Context, jobs []model.Job) error {
	defer since(&t.jobs, time.Now())
	return t.Store.StoreJobs(ctx, jobs)
}

func (t *timedStore) PushIDs(ctx context.Context, repo int64, revs []string) (map[string]int64, error) {
	defer since(&t.lookups, time.Now())
	return t.Store.PushIDs(ctx, repo, revs)
}
