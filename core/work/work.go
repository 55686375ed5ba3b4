// Package work carries herder's work between process roles over a message
// broker (RabbitMQ, core/queue) when the config names one: ingest processes
// publish what sources deliver, worker processes store it and parse logs,
// the scheduler requeues what fell between the cracks.
//
// The database stays the source of truth. A queue message names work; the
// rows say whether it is still to do (a job guid upsert, a log's status and
// lease), so a redelivered or duplicated message changes nothing, and a lost
// one is found again by the sweep.
package work

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/queue"
	"github.com/herder-ci/herder/sdk"
)

// Publisher hands messages to a workload's queue, returning once the broker
// has confirmed them.
type Publisher interface {
	Publish(ctx context.Context, workload string, msgs ...queue.Message) error
}

// publishTimeout bounds the wait for the broker's confirms. A connection
// that hangs rather than closes would otherwise hold a source's Send (and
// so its upstream acks) for good; after the timeout the batch is nacked
// upstream and delivered again.
const publishTimeout = time.Minute

func publish(ctx context.Context, pub Publisher, workload string, msgs ...queue.Message) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	return pub.Publish(ctx, workload, msgs...)
}

// batch is the body of a store message: what one Sink.Send carried.
type batch struct {
	Source string      `json:"source"`
	Events []sdk.Event `json:"events"`
}

// logMessage is the body of a log parse message: the logs of one stored
// batch bound for one queue, so a message (a publish, a confirm, a delivery
// and an ack, each with a quorum write) carries up to maxLogsPerMessage logs
// rather than one. Each log is as its publisher read it, so the worker
// claims it without reading it again (the claim checks the row still
// matches). The single form {"job_log_id": N}, optionally with its task,
// is what earlier versions sent and is still read.
type logMessage struct {
	JobLogID int64     `json:"job_log_id,omitempty"`
	Task     *logTask  `json:"task,omitempty"`
	Logs     []logItem `json:"logs,omitempty"`
}

type logItem struct {
	JobLogID int64    `json:"job_log_id"`
	Task     *logTask `json:"task,omitempty"`
}

// maxLogsPerMessage bounds a message's logs.
const maxLogsPerMessage = 25

type logTask struct {
	JobID        int64  `json:"job_id"`
	JobGUID      string `json:"job_guid"`
	RepositoryID int64  `json:"repository_id"`
	Repository   string `json:"repository"`
	Name         string `json:"name"`
	URL          string `json:"url"`
	JobResult    string `json:"job_result"`
	Fresh        bool   `json:"fresh"`
}

// Sink is the ingest role's durable sink: a batch is accepted once the
// broker confirmed it, and stored later by a worker. Events that can never be
// stored are refused here, as the pipeline would refuse them.
type Sink struct {
	Pub Publisher
	Log hclog.Logger
}

// Accept publishes the valid events of a batch as one store message.
func (s Sink) Accept(ctx context.Context, source string, events []sdk.Event) error {
	valid := events[:0:0]
	for _, e := range events {
		if err := e.Validate(); err != nil {
			if s.Log != nil {
				s.Log.Warn("event refused", "source", source, "reason", "invalid", "error", err)
			}
			continue
		}
		valid = append(valid, e)
	}
	if len(valid) == 0 {
		return nil
	}
	body, err := json.Marshal(batch{Source: source, Events: valid})
	if err != nil {
		return fmt.Errorf("encode batch from %s: %w", source, err)
	}
	if err := publish(ctx, s.Pub, queue.Store, queue.Message{Body: body}); err != nil {
		return fmt.Errorf("queue batch of %d events from %s: %w", len(valid), source, err)
	}
	return nil
}

// Accepter stores a batch durably (ingest.Pipeline).
type Accepter interface {
	Accept(ctx context.Context, source string, events []sdk.Event) error
}

// LogStore is what routing logs to their queues needs of storage.
type LogStore interface {
	PendingLogsOfJobs(ctx context.Context, guids []string) ([]model.LogTask, error)
	UnqueuedLogs(ctx context.Context, queuedBefore time.Time, limit int) ([]model.LogTask, error)
	MarkLogsQueued(ctx context.Context, ids []int64, at time.Time) error
}

// WorkloadFor is the queue a log's parse goes to: failed jobs' logs first,
// then structured logs, other raw logs and performance data, each with a
// queue of its own so one backlog never starves another.
func WorkloadFor(t model.LogTask) string {
	switch dispatch.LaneFor(t).Name {
	case "fail_raw", "fail_json":
		return queue.LogsFailed
	case "json":
		return queue.LogsStructured
	case "perf":
		return queue.Perf
	default:
		return queue.LogsOther
	}
}

// LogWorkloads are the queues log parse messages go to.
var LogWorkloads = []string{queue.LogsFailed, queue.LogsStructured, queue.LogsOther, queue.Perf}

// PublishLogs hands logs to their parse queues, then records that it did.
func PublishLogs(ctx context.Context, pub Publisher, st LogStore, tasks []model.LogTask) error {
	if len(tasks) == 0 {
		return nil
	}
	by := map[string][]logItem{}
	ids := make([]int64, 0, len(tasks))
	for _, t := range tasks {
		w := WorkloadFor(t)
		by[w] = append(by[w], logItem{JobLogID: t.JobLogID, Task: &logTask{
			JobID: t.JobID, JobGUID: t.JobGUID, RepositoryID: t.RepositoryID, Repository: t.Repository,
			Name: t.Name, URL: t.URL, JobResult: t.JobResult, Fresh: t.Fresh,
		}})
		ids = append(ids, t.JobLogID)
	}
	for _, w := range LogWorkloads {
		items := by[w]
		if len(items) == 0 {
			continue
		}
		var msgs []queue.Message
		for start := 0; start < len(items); start += maxLogsPerMessage {
			part := items[start:min(start+maxLogsPerMessage, len(items))]
			body, err := json.Marshal(logMessage{Logs: part})
			if err != nil {
				return fmt.Errorf("encode log message: %w", err)
			}
			msgs = append(msgs, queue.Message{ID: fmt.Sprintf("logs-%d+%d", part[0].JobLogID, len(part)), Body: body})
		}
		if err := publish(ctx, pub, w, msgs...); err != nil {
			return fmt.Errorf("queue %d logs on %s: %w", len(items), w, err)
		}
	}
	return st.MarkLogsQueued(ctx, ids, time.Now())
}

// StoreWorker stores the batches ingest processes queued, then queues the
// logs of the jobs it stored. The message is acknowledged only after both,
// so a crash in between redelivers it: storing is idempotent (guid upsert,
// state guard) and a log queued twice is parsed once (its lease).
type StoreWorker struct {
	Pipeline Accepter
	Logs     LogStore
	Pub      Publisher
	Log      hclog.Logger
	// Patience is how long a batch is retried in place while the database is
	// unreachable before it goes back to the queue (default 2 minutes).
	Patience time.Duration
	// Slots, when set, bounds how many batches this process writes at once
	// (a buffered channel of that size): more concurrent multi-row upserts
	// than the database has cores only add lock waits and deadlocks.
	Slots chan struct{}
}

// Handle is the store queue's handler.
func (w StoreWorker) Handle(ctx context.Context, d queue.Delivery) error {
	var b batch
	if err := json.Unmarshal(d.Body, &b); err != nil {
		return queue.Reject("malformed batch: not JSON of {source, events}", err)
	}
	if b.Source == "" {
		return queue.Reject("malformed batch: no source", nil)
	}
	var guids []string
	for _, e := range b.Events {
		if e.Job != nil {
			guids = append(guids, e.Job.Job.JobGUID)
		}
	}
	if w.Slots != nil {
		select {
		case w.Slots <- struct{}{}:
			defer func() { <-w.Slots }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return w.retry(ctx, func() error {
		if err := w.Pipeline.Accept(ctx, b.Source, b.Events); err != nil {
			return fmt.Errorf("store batch from %s: %w", b.Source, err)
		}
		if len(guids) == 0 {
			return nil
		}
		tasks, err := w.Logs.PendingLogsOfJobs(ctx, guids)
		if err != nil {
			return err
		}
		return PublishLogs(ctx, w.Pub, w.Logs, tasks)
	})
}

// retry runs fn until it succeeds, ctx ends or the patience runs out. A
// database restart then costs a pause, not a redelivery: the queue's
// delivery limit is kept for messages that truly cannot be handled.
func (w StoreWorker) retry(ctx context.Context, fn func() error) error {
	patience := w.Patience
	if patience == 0 {
		patience = 2 * time.Minute
	}
	deadline := time.Now().Add(patience)
	wait := 250 * time.Millisecond
	for {
		err := fn()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		if w.Log != nil {
			w.Log.Warn("storing a queued batch failed, retrying", "error", err, "in", wait)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

// LogHandler parses the logs of a queue message (dispatch.LogDispatcher):
// nil when none needs more work, an error to have the message delivered
// again.
type LogHandler interface {
	HandleLogs(ctx context.Context, ts []model.LogTask) error
}

// HandleLogs returns the handler of the log parse queues. ready, when set,
// blocks until the processor can take work, so messages wait in the queue
// rather than failing while a plugin restarts.
func HandleLogs(h LogHandler, ready func(context.Context) error) queue.Handler {
	return func(ctx context.Context, d queue.Delivery) error {
		var m logMessage
		if err := json.Unmarshal(d.Body, &m); err != nil {
			return queue.Reject(`malformed log message: want {"logs": [{"job_log_id": N, ...}]}`, err)
		}
		items := m.Logs
		if len(items) == 0 {
			items = []logItem{{JobLogID: m.JobLogID, Task: m.Task}}
		}
		tasks := make([]model.LogTask, len(items))
		for i, it := range items {
			if it.JobLogID <= 0 {
				return queue.Reject(`malformed log message: want {"logs": [{"job_log_id": N, ...}]}`, nil)
			}
			tasks[i] = it.logTask()
		}
		if ready != nil {
			if err := ready(ctx); err != nil {
				return err
			}
		}
		return h.HandleLogs(ctx, tasks)
	}
}

func (it logItem) logTask() model.LogTask {
	c := it.Task
	if c == nil || c.JobGUID == "" {
		return model.LogTask{JobLogID: it.JobLogID}
	}
	return model.LogTask{JobLogID: it.JobLogID, JobID: c.JobID, JobGUID: c.JobGUID, RepositoryID: c.RepositoryID,
		Repository: c.Repository, Name: c.Name, URL: c.URL, JobResult: c.JobResult, Fresh: c.Fresh}
}

// Sweep queues pending logs no queue holds: never queued (a worker died
// between storing jobs and queueing their logs; parked jobs stored when
// their push came; logs reset for a reparse) or queued longer ago than
// stale (the message may be lost). It returns how many it queued.
func Sweep(ctx context.Context, pub Publisher, st LogStore, stale time.Duration) (int, error) {
	total := 0
	for {
		tasks, err := st.UnqueuedLogs(ctx, time.Now().Add(-stale), 1000)
		if err != nil {
			return total, err
		}
		if err := PublishLogs(ctx, pub, st, tasks); err != nil {
			return total, err
		}
		total += len(tasks)
		if len(tasks) < 1000 {
			return total, nil
		}
	}
}
