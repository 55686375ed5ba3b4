package sdk

import (
	"context"
	"errors"
	"fmt"
)

// Source is a plugin that brings CI data into herder: it reads an upstream
// (a message queue, a webhook, a polled API) and hands events to the host.
//
// Run runs until ctx is cancelled (return nil then) or the source fails
// (return the error; the host restarts the plugin with backoff). config is the
// source block's settings from the host's HCL config, as JSON.
//
// Delivery is at least once: acknowledge an upstream message only after the
// Sink.Send carrying its event returned nil. After a crash or a restart the
// upstream redelivers what was not acknowledged, so the host may see an event
// twice; it stores events idempotently (by job guid and state, by push
// revision).
type Source interface {
	Run(ctx context.Context, config []byte, sink Sink) error
}

// Sink is the host's side of a running source.
type Sink interface {
	// Send hands events to the host. It returns nil only after the host has
	// durably stored or enqueued every one of them; only then may the source
	// acknowledge them upstream. Any error is a nack: leave the upstream
	// messages unacknowledged (or requeue them) so they are delivered again.
	// An error wrapping ErrRejected means the host will never accept these
	// events as they are; dead-letter them instead of retrying.
	//
	// Send is safe for concurrent use; large calls are split into several
	// batches on the wire.
	Send(ctx context.Context, events ...Event) error
}

// ErrRejected marks events the host refuses for good (for example an event
// with neither a push nor a job). Retrying them cannot succeed.
var ErrRejected = errors.New("events rejected by the host")

// Processor is a plugin that turns a task into a result: parse the log of a
// job, match error lines to bugs. The host bounds the number of concurrent
// Process calls by the concurrency it declares (or the configured one).
type Processor interface {
	Describe() ProcessorInfo
	Process(ctx context.Context, task Task) (Result, error)
}

// ProcessorInfo is what a processor declares about itself.
type ProcessorInfo struct {
	Name string `json:"name"`
	// Consumes and Produces name task and result kinds, e.g. "log.parse".
	Consumes []string `json:"consumes"`
	Produces []string `json:"produces"`
	// Concurrency is how many tasks the processor handles at once; 0 means 1.
	// A processor block's concurrency in the host config overrides it.
	Concurrency int `json:"concurrency"`
	// AlgorithmVersion changes whenever the same task would give a different
	// result, so results made by older versions can be recomputed.
	AlgorithmVersion string `json:"algorithm_version"`
}

// Task is one unit of work for a processor.
type Task struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Payload []byte `json:"payload"`
}

// Result is a processor's answer to a task.
type Result struct {
	Payload []byte `json:"payload"`
}

// Configurer is implemented by plugins that take settings. The host calls
// Configure with the instance's settings (JSON) before Run or the first
// Process call; an error stops the instance with that error rather than
// letting it crash-loop on bad settings.
type Configurer interface {
	Configure(ctx context.Context, config []byte) error
}

// Permanent marks a task error as permanent: retrying the same task cannot
// succeed (a log that is not there, a payload that does not parse). The host
// then records the failure instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return fmt.Sprintf("permanent: %v", p.err) }
func (p *permanentError) Unwrap() error { return p.err }
