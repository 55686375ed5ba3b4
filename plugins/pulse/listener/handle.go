package listener

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

// Message is one AMQP delivery as the handler sees it.
type Message struct {
	Exchange   string
	RoutingKey string
	Body       []byte
	// RootURL is the Taskcluster deployment of the source it came from.
	RootURL string
}

// Outcome says what to do with a message.
type Outcome int

// Outcomes.
const (
	// Emit: hand Event to the host, ack once it accepted it.
	Emit Outcome = iota + 1
	// Skip: ack without an event (Treeherder ignores these too).
	Skip
	// DeadLetter: publish to the dead-letter queue with Reason, then ack.
	DeadLetter
	// Retry: an upstream API failed in a way that may pass; keep the
	// message and try again later, dead-letter it after the retry budget.
	Retry
)

// Result is the handling of one message.
type Result struct {
	Outcome Outcome
	Event   sdk.Event
	// Code names the reason in a few words (metrics-style): "no_route",
	// "not_json", "schema", "unknown_repository", "upstream"...
	Code string
	Err  error
}

const taskExchangePrefix = "exchange/taskcluster-queue/v1/task-"

// handler turns messages into events with the transform library.
type handler struct {
	tasks  *transform.Transformer
	pushes *transform.PushTransformer
	// repos are the active configured repository names; nil means jobs'
	// repositories are left to the host.
	repos    map[string]bool
	maxBytes int
}

func newHandler(tasks *transform.Transformer, pushes *transform.PushTransformer, repos []transform.Repository, maxBytes int) *handler {
	h := &handler{tasks: tasks, pushes: pushes, maxBytes: maxBytes}
	if len(repos) > 0 {
		h.repos = map[string]bool{}
		for _, r := range repos {
			if !r.Inactive {
				h.repos[r.Name] = true
			}
		}
	}
	return h
}

// handle transforms one message; it never panics on bad input.
func (h *handler) handle(ctx context.Context, m Message) (res Result) {
	if h.maxBytes > 0 && len(m.Body) > h.maxBytes {
		return Result{Outcome: DeadLetter, Code: "too_large",
			Err: fmt.Errorf("message of %d bytes is over the %d-byte limit", len(m.Body), h.maxBytes)}
	}
	switch {
	case strings.HasPrefix(m.Exchange, taskExchangePrefix):
		return h.task(ctx, m)
	case m.Exchange == transform.ExchangeHgPushesV2:
		return h.hgV2(ctx, m)
	}
	if _, err := transform.PushKindOf(m.Exchange); err != nil {
		return classify(ctx, err)
	}
	return h.push(ctx, m.Exchange, m.Body, m.Body)
}

func (h *handler) task(ctx context.Context, m Message) Result {
	d, err := h.tasks.JobDatum(ctx, transform.TaskMessage{
		Exchange: m.Exchange, RoutingKey: m.RoutingKey, RootURL: m.RootURL, Payload: m.Body,
	})
	if err != nil {
		return classify(ctx, err)
	}
	if h.repos != nil && !h.repos[d.Project] {
		return Result{Outcome: DeadLetter, Code: "unknown_repository",
			Err: fmt.Errorf("job %s: repository %q: %w", d.Job.JobGUID, d.Project, transform.ErrUnknownRepository)}
	}
	id := fmt.Sprintf("tc/%s/%d/%s", d.Job.TaskclusterTaskID, d.Job.TaskclusterRetryID, strings.TrimPrefix(m.Exchange, taskExchangePrefix))
	return Result{Outcome: Emit, Event: sdk.Event{ID: id, Job: &d, Raw: m.Body}}
}

// hgV2 reads hg.mozilla.org's v2 push exchange: {"payload": {"type":
// "changegroup.1", "data": <the v1 payload>}}. Other message types (new
// repositories, obsolescence markers) are not pushes.
func (h *handler) hgV2(ctx context.Context, m Message) Result {
	var msg struct {
		Payload struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(m.Body, &msg); err != nil {
		if !json.Valid(m.Body) {
			return Result{Outcome: DeadLetter, Code: "not_json", Err: fmt.Errorf("hg push v2: %w: %v", transform.ErrNotJSON, err)}
		}
		return Result{Outcome: DeadLetter, Code: "schema", Err: fmt.Errorf("hg push v2: %w: %v", transform.ErrSchema, err)}
	}
	if msg.Payload.Type != "changegroup.1" {
		return Result{Outcome: Skip, Code: "not_a_push", Err: fmt.Errorf("hg message of type %q", msg.Payload.Type)}
	}
	v1, err := json.Marshal(map[string]json.RawMessage{"payload": msg.Payload.Data})
	if err != nil {
		return Result{Outcome: DeadLetter, Code: "schema", Err: fmt.Errorf("hg push v2: %w: %v", transform.ErrSchema, err)}
	}
	return h.push(ctx, transform.ExchangeHgPushesV1, v1, m.Body)
}

func (h *handler) push(ctx context.Context, exchange string, body, raw []byte) Result {
	d, err := h.pushes.Push(ctx, exchange, body)
	if err != nil {
		return classify(ctx, err)
	}
	return Result{Outcome: Emit, Event: sdk.Event{ID: "push/" + d.Project + "/" + d.Revision, Push: &d, Raw: raw}}
}

// classify maps a transform error to an outcome, as transform-notes says:
// skips are acked, retryable upstream failures retried, the rest
// dead-lettered.
func classify(ctx context.Context, err error) Result {
	switch {
	case ctx.Err() != nil:
		return Result{Outcome: Retry, Code: "cancelled", Err: err}
	case transform.IsSkip(err):
		return Result{Outcome: Skip, Code: skipCode(err), Err: err}
	case transform.IsRetryable(err):
		return Result{Outcome: Retry, Code: "upstream", Err: err}
	}
	code := "error"
	for _, c := range []struct {
		err  error
		code string
	}{
		{transform.ErrNotJSON, "not_json"},
		{transform.ErrSchema, "schema"},
		{transform.ErrUnknownExchange, "unknown_exchange"},
		{transform.ErrUnknownRepository, "unknown_repository"},
		{transform.ErrAmbiguousRepository, "ambiguous_repository"},
		{transform.ErrUpstream, "upstream"},
	} {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	return Result{Outcome: DeadLetter, Code: code, Err: err}
}

func skipCode(err error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{transform.ErrNoRoute, "no_route"},
		{transform.ErrInvalidConfig, "invalid_config"},
		{transform.ErrIgnored, "ignored"},
		{transform.ErrExceptionRun, "exception_run"},
		{transform.ErrUnscheduled, "unscheduled"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "skipped"
}

// bodyHash names a message body in logs without printing it.
func bodyHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
