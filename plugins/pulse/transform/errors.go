package transform

import (
	"errors"
	"fmt"
	"time"
)

// Skips are outcomes, not failures: Treeherder drops these messages silently
// (or with a debug log), so the plugin should ack them without dead-lettering.
// Every skip error matches ErrSkip with errors.Is, plus its own sentinel.
var (
	// ErrSkip matches every skip below.
	ErrSkip = errors.New("skipped")
	// ErrNoRoute: the task has no tc-treeherder route, or more than one.
	ErrNoRoute error = skipSentinel("no single tc-treeherder route")
	// ErrInvalidConfig: the task's extra.treeherder is missing or fails
	// task-treeherder-config. The returned error is a *SchemaError when the
	// config exists but is invalid.
	ErrInvalidConfig error = skipSentinel("invalid extra.treeherder")
	// ErrIgnored: ignore_task rules (PROJECTS_TO_INGEST, mobile PR/branch rules).
	ErrIgnored error = skipSentinel("task ignored")
	// ErrExceptionRun: an exception message for a run that was itself created
	// by an exception (deadline exceeded); Treeherder does not report it.
	ErrExceptionRun error = skipSentinel("run created by exception")
	// ErrUnscheduled: unscheduled (task-defined) jobs are never stored.
	ErrUnscheduled error = skipSentinel("unscheduled job")
)

// Failures: the plugin should dead-letter these with the reason (or retry,
// for retryable upstream errors; see IsRetryable).
var (
	// ErrNotJSON: the message body (or a fetched document) is not JSON.
	ErrNotJSON = errors.New("not JSON")
	// ErrSchema matches every *SchemaError whose failure is not a skip.
	ErrSchema = errors.New("schema violation")
	// ErrUnknownExchange: the exchange is not one this package transforms.
	ErrUnknownExchange = errors.New("unknown exchange")
	// ErrUnknownRepository: no active repository has the url (and branch).
	ErrUnknownRepository = errors.New("unknown repository")
	// ErrAmbiguousRepository: more than one repository matches.
	ErrAmbiguousRepository = errors.New("ambiguous repository")
	// ErrUpstream matches every *UpstreamError (Taskcluster, hg, GitHub).
	ErrUpstream = errors.New("upstream request failed")
)

type skipSentinel string

func (s skipSentinel) Error() string { return string(s) }

// Is makes every skip sentinel match ErrSkip.
func (s skipSentinel) Is(target error) bool { return target == ErrSkip }

// IsSkip reports whether err is a skip (ack and move on) rather than a failure.
func IsSkip(err error) bool { return errors.Is(err, ErrSkip) }

// SchemaError says which field of which document failed which rule.
type SchemaError struct {
	// Schema names the rule set: "task-treeherder-config", "pulse-job",
	// "task-message", "task-definition", "push-message", "hg-push",
	// "github-commits".
	Schema string
	// Field is a dotted path to the offending value ("display.jobName",
	// "logs.0.url"); empty for the document itself.
	Field string
	// Reason says what is wrong with it.
	Reason string
	// skip marks failures Treeherder treats as a skip (invalid extra.treeherder).
	skip bool
}

func (e *SchemaError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Schema, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", e.Schema, e.Field, e.Reason)
}

// Is lets errors.Is match ErrSchema, or ErrSkip/ErrInvalidConfig for an invalid
// extra.treeherder (Treeherder skips those).
func (e *SchemaError) Is(target error) bool {
	if e.skip {
		return target == ErrSkip || target == ErrInvalidConfig
	}
	return target == ErrSchema
}

func schemaErr(schema, field, format string, args ...any) *SchemaError {
	return &SchemaError{Schema: schema, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// UpstreamError is a failed request to Taskcluster, hg or GitHub.
type UpstreamError struct {
	URL string
	// StatusCode is the last HTTP status seen; 0 for network errors.
	StatusCode int
	// Attempts made before giving up.
	Attempts int
	// Retryable is true for 5xx, 429 and network errors: the message may
	// succeed later. 4xx other than 429, oversize and non-JSON bodies are not.
	Retryable bool
	Err       error
	// retryAfter is a 429's Retry-After, honoured by the next attempt.
	retryAfter time.Duration
}

func (e *UpstreamError) Error() string {
	msg := fmt.Sprintf("GET %s", e.URL)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(": HTTP %d", e.StatusCode)
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// Is lets errors.Is match ErrUpstream.
func (e *UpstreamError) Is(target error) bool { return target == ErrUpstream }

// IsRetryable reports whether err is an upstream failure worth retrying later
// (the "retried with backoff; after the retry budget, dead-lettered").
func IsRetryable(err error) bool {
	var ue *UpstreamError
	return errors.As(err, &ue) && ue.Retryable
}
