package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// TestBrokerRestartLosesNothing restarts RabbitMQ (stop_app, start_app)
// while the plugin is consuming with batches in flight, publishes more after
// it is back, and checks every job is stored exactly once: nothing lost,
// nothing doubled.
func TestBrokerRestartLosesNothing(t *testing.T) {
	requireRabbitmqctl(t)
	const n = 300
	r := newRig(t)
	r.declareQueue(t)
	pulsetest.ServeSyntheticTasks(r.up, 0, n, "autoland", func(int) string { return pulsetest.Revision(0) })
	st := newStore(t, "sqlite")
	pipeline := ingest.NewPipeline(st, nil, nil)
	storePush(t, pipeline, "autoland", pulsetest.Revision(0))
	var accepted counter
	run := plugintest.StartSource(t, pluginBin, plugintest.SourceOptions{
		Name:   "pulse",
		Config: r.config(t, map[string]any{"batch_size": 10, "prefetch": 20}),
		Accept: func(ctx context.Context, events []sdk.Event) error {
			// Slow enough that batches are in flight when the broker goes.
			time.Sleep(10 * time.Millisecond)
			if err := pipeline.Accept(ctx, "pulse", events); err != nil {
				return err
			}
			accepted.add(events)
			return nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			if err := r.pub.PublishRetrying(ctx, transform.ExchangeTaskPending, pulsetest.RoutingKey(i, 0), pulsetest.TaskMessage(i, 0, false)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(0, n/2)
	waitFor(t, 20*time.Second, "some jobs stored before the restart", func() (bool, string) {
		return accepted.distinct() >= n/6, fmt.Sprintf("%d accepted", accepted.distinct())
	})

	restartBroker(t)
	publish(n/2, n)

	guids := make([]string, n)
	for i := range guids {
		guids[i] = pulsetest.JobGUID(i, 0)
	}
	waitFor(t, 40*time.Second, fmt.Sprintf("all %d jobs stored", n), func() (bool, string) {
		jobs, err := st.JobsByGUID(ctx, guids)
		if err != nil {
			return false, err.Error()
		}
		return len(jobs) == n, fmt.Sprintf("%d stored, plugin error %v", len(jobs), run.RunErr())
	})
	counts, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["job"] != n {
		t.Errorf("the job table holds %d rows, want %d (one per guid)", counts["job"], n)
	}
	t.Logf("%d events accepted for %d jobs: %d redelivered after the restart and absorbed by the store",
		accepted.total(), n, accepted.total()-accepted.distinct())
	// The plugin reconnected and drained the queue.
	waitFor(t, 10*time.Second, "queue drained", func() (bool, string) {
		ready, unacked, err := r.broker.Counts(testQueue)
		return err == nil && ready == 0 && unacked == 0, fmt.Sprintf("ready %d, unacked %d, err %v", ready, unacked, err)
	})
}

// restartBroker stops and starts the RabbitMQ application, and makes sure it
// is started again when the test ends, whatever happens.
func restartBroker(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if err := pulsetest.StartRabbit(30 * time.Second); err != nil {
			t.Errorf("bring RabbitMQ back: %v", err)
		}
	})
	if err := pulsetest.StopRabbit(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := pulsetest.StartRabbit(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}
