// Package transform turns Pulse and Taskcluster data into herder's push and
// job data exactly as Treeherder does. It is pure: no AMQP and no storage;
// upstream reads go through the small interfaces TaskFetcher, PushFetcher and
// GitHubFetcher (HTTPClient implements all three, TaskCache caches task
// definitions, StaticTasks serves them from a file).
//
// Jobs take two steps, as in Treeherder:
//
//	task status message ──Transformer.PulseJob──▶ PulseJob ──PulseJobToDatum──▶ sdk.JobDatum
//	(handler.py)                                  (pulse-job.yml)  (job_loader.py)
//
// Transformer.JobDatum does both. Pushes: PushTransformer.Push routes an hg,
// GitHub push or pull-request message to a configured repository and returns
// its sdk.PushDatum (push_loader.py).
//
// Errors are classified so a plugin can ack, retry or dead-letter with a
// reason: IsSkip (ErrNoRoute, ErrInvalidConfig, ErrIgnored, ErrExceptionRun,
// ErrUnscheduled) means "ack and move on"; ErrNotJSON, ErrSchema
// (*SchemaError names the field), ErrUnknownExchange, ErrUnknownRepository
// and ErrAmbiguousRepository mean "dead-letter"; ErrUpstream
// (*UpstreamError) with IsRetryable means "retry later, then dead-letter".
package transform
