package transform

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecoders(t *testing.T) {
	msgs, err := DecodeMessages(strings.NewReader(`{"b":{"exchange":"e2","payload":{},"root_url":"r"},"a":{"exchange":"e1","payload":{}}}`))
	if err != nil || len(msgs) != 2 || msgs[0].Exchange != "e2" || msgs[0].RootURL != "r" {
		t.Errorf("object form keeps file order: %+v %v", msgs, err)
	}
	msgs, err = DecodeMessages(strings.NewReader(` [{"exchange":"e1"}]`))
	if err != nil || len(msgs) != 1 {
		t.Errorf("array form: %+v %v", msgs, err)
	}
	for _, bad := range []string{``, `3`, `{"a":`, `[{]`} {
		if _, err := DecodeMessages(strings.NewReader(bad)); !errors.Is(err, ErrNotJSON) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	jobs, err := DecodePulseJobs(strings.NewReader(`{"x":{"taskId":"1"},"y":{"taskId":"2"}}`))
	if err != nil || len(jobs) != 2 || string(jobs[1]) != `{"taskId":"2"}` {
		t.Errorf("pulse jobs object: %s %v", jobs, err)
	}
	jobs, err = DecodePulseJobs(strings.NewReader(`[{"taskId":"1"}]`))
	if err != nil || len(jobs) != 1 {
		t.Errorf("pulse jobs array: %s %v", jobs, err)
	}
	for _, bad := range []string{``, `"x"`, `{"a":}`, `[`} {
		if _, err := DecodePulseJobs(strings.NewReader(bad)); !errors.Is(err, ErrNotJSON) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := DecodeTasks(strings.NewReader(`[]`)); !errors.Is(err, ErrNotJSON) {
		t.Errorf("tasks array: %v", err)
	}
}

func TestTransformMessagesReportsFailures(t *testing.T) {
	tasks := StaticTasks{testTaskID: taskDef()}
	good := message(ExchangeTaskPending, 0, run(0, "pending"))
	skipped := message(ExchangeTaskException, 0, run(0, "exception", "reasonCreated", "exception", "resolved", "x"))
	bad := TaskMessage{Exchange: ExchangeTaskPending, RootURL: testRoot, Payload: []byte(`nope`)}
	out, err := TransformMessages(context.Background(), []TaskMessage{bad, skipped, good}, tasks, Options{})
	if len(out) != 1 || out[testTaskID].Project != "" || out[testTaskID].Job.State != "pending" {
		t.Errorf("out %+v", out)
	}
	if !errors.Is(err, ErrNotJSON) || IsSkip(err) || !strings.Contains(err.Error(), "message 0") {
		t.Errorf("err %v", err)
	}
	// A later message for the task replaces the earlier one.
	out, err = TransformMessages(context.Background(), []TaskMessage{good, message(ExchangeTaskRunning, 0, run(0, "running", started...))}, tasks, Options{})
	if err != nil || out[testTaskID].Job.State != "running" {
		t.Errorf("replacement: %+v %v", out, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TransformMessages(ctx, []TaskMessage{good}, &memTasks{tasks: map[string]json.RawMessage{}}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
