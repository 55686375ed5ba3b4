package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/plugins/pulse/listener"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// TestDeadLetters sends every kind of bad message between good ones: each
// bad one lands in the dead-letter queue with its reason, exchange and
// routing key (and so does an event the host rejects for good); skipped ones are acked without a trace; the good ones after
// them still flow, and the queue ends empty.
func TestDeadLetters(t *testing.T) {
	const other = "exchange/other/v1"
	r := newRig(t, other)
	r.broker.DeclareQueue(t, testQueue, append(allExchanges, other)...)
	pulsetest.ServeSyntheticTasks(r.up, 0, 10, "autoland", func(int) string { return pulsetest.Revision(0) })
	// Task 100 has no tc-treeherder route (a skip); task 101's project is not
	// a configured repository; task 102's definition always fails.
	noRoute := strings.Replace(string(pulsetest.TaskDefinition(100, "autoland", pulsetest.Revision(0))), "tc-treeherder.", "tc-elsewhere.", 1)
	r.up.ServeJSON("taskcluster.net/api/queue/v1/task/"+pulsetest.TaskID(100), []byte(noRoute))
	r.up.ServeJSON("taskcluster.net/api/queue/v1/task/"+pulsetest.TaskID(101), pulsetest.TaskDefinition(101, "elm", pulsetest.Revision(0)))
	r.up.Handle("taskcluster.net/api/queue/v1/task/"+pulsetest.TaskID(102), func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"message":"down"}`, http.StatusServiceUnavailable)
	})

	var accepted counter
	run := plugintest.StartSource(t, pluginBin, plugintest.SourceOptions{
		Name: "pulse",
		Config: r.config(t, map[string]any{
			"exchanges":     []any{transform.ExchangeTaskPending, transform.ExchangeTaskRunning, map[string]any{"exchange": transform.ExchangeHgPushesV1, "routing_keys": []string{"#"}}, other},
			"http_attempts": 2, "retry_attempts": 2,
		}),
		// The host refuses task 5's job for good: only it is dead-lettered.
		Accept: func(_ context.Context, events []sdk.Event) error {
			for _, e := range events {
				if e.Job != nil && e.Job.Job.JobGUID == pulsetest.JobGUID(5, 0) {
					return fmt.Errorf("%w: job 5 is not welcome", sdk.ErrRejected)
				}
			}
			accepted.add(events)
			return nil
		},
	})

	good := func(i int) {
		r.publish(t, transform.ExchangeTaskPending, pulsetest.RoutingKey(i, 0), pulsetest.TaskMessage(i, 0, false))
	}
	type bad struct {
		exchange, key, code string
		body                []byte
	}
	bads := []bad{
		{transform.ExchangeTaskPending, "primary.x", "not_json", []byte(`{"status": {"taskId": `)},
		{transform.ExchangeTaskRunning, "primary.y", "schema", []byte(`{"status": {"taskId": "` + pulsetest.TaskID(3) + `", "runs": []}}`)},
		{other, "whatever.key", "unknown_exchange", []byte(`{"hello": "world"}`)},
		{transform.ExchangeHgPushesV1, "unknown-repo", "unknown_repository",
			[]byte(`{"payload": {"repo_url": "https://hg.mozilla.org/unknown-repo", "pushlog_pushes": [{"push_full_json_url": "https://hg.mozilla.org/unknown-repo/json-pushes?version=2&full=1&startID=1&endID=2"}]}}`)},
		{transform.ExchangeTaskPending, pulsetest.RoutingKey(101, 0), "unknown_repository", pulsetest.TaskMessage(101, 0, false)},
		{transform.ExchangeTaskPending, pulsetest.RoutingKey(102, 0), "upstream", pulsetest.TaskMessage(102, 0, false)},
	}
	good(0)
	published := bads
	bads = append(bads, bad{transform.ExchangeTaskPending, pulsetest.RoutingKey(5, 0), "rejected_by_host", pulsetest.TaskMessage(5, 0, false)})
	for i, b := range published {
		r.publish(t, b.exchange, b.key, b.body)
		good(i + 1)
	}
	r.publish(t, transform.ExchangeTaskPending, pulsetest.RoutingKey(100, 0), pulsetest.TaskMessage(100, 0, false)) // skipped
	good(8)

	waitFor(t, 20*time.Second, "every good job delivered and every bad message dead-lettered", func() (bool, string) {
		dead, _ := r.broker.Ready(t, testDLQ)
		return accepted.distinct() == 7 && dead == len(bads), fmt.Sprintf("%d accepted, %d dead-lettered; plugin error %v", accepted.distinct(), dead, run.RunErr())
	})
	if requireCounts(t) {
		waitFor(t, 10*time.Second, "main queue drained", func() (bool, string) {
			ready, unacked, err := r.broker.Counts(testQueue)
			return err == nil && ready+unacked == 0, fmt.Sprintf("ready %d, unacked %d, err %v", ready, unacked, err)
		})
	}

	var got, want []string
	for _, b := range bads {
		want = append(want, b.code+" "+b.exchange+" "+b.key+" "+string(b.body))
	}
	for _, d := range r.broker.Drain(t, testDLQ) {
		reason, _ := d.Headers[listener.HeaderReason].(string)
		if reason == "" {
			t.Errorf("dead letter without %s: %v", listener.HeaderReason, d.Headers)
		}
		code, _ := d.Headers[listener.HeaderReasonCode].(string)
		ex, _ := d.Headers[listener.HeaderExchange].(string)
		key, _ := d.Headers[listener.HeaderRoutingKey].(string)
		got = append(got, code+" "+ex+" "+key+" "+string(d.Body))
		t.Logf("dead letter: %s: %s", code, reason)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dead letters:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := r.up.Hits("taskcluster.net/api/queue/v1/task/" + pulsetest.TaskID(102)); n != 2*3 {
		t.Errorf("the failing task was fetched %d times, want 6 (2 HTTP attempts × 3 tries)", n)
	}
}

// requireCounts reports whether exact queue counts (rabbitmqctl) are
// available, without skipping the test.
func requireCounts(t testing.TB) bool {
	return pulsetest.HaveRabbitmqctl()
}
