package sdk

import "encoding/json"

// Task and result kinds of the log parser. A processor that declares it
// consumes TaskLogParse gets one task per log to parse.
const (
	TaskLogParse   = "log.parse"
	ResultLogParse = "log.parsed"
)

// LogParseTask asks a processor to parse one log of a job. It is the JSON
// payload of a Task of kind TaskLogParse.
type LogParseTask struct {
	JobLogID   int64  `json:"job_log_id"`
	JobID      int64  `json:"job_id"`
	JobGUID    string `json:"job_guid"`
	Repository string `json:"repository"`
	// Name is the log's name: live_backing_log (raw text), errorsummary_json
	// (structured), or a perfherder-data*.json artifact.
	Name string `json:"name"`
	URL  string `json:"url"`
	// JobResult lets the parser treat a failed job's log as urgent.
	JobResult string `json:"job_result"`
}

// Parse outcomes, with Treeherder's names for job_log statuses.
const (
	LogStatusParsed      = "parsed"
	LogStatusFailed      = "failed"
	LogStatusSkippedSize = "skipped-size"
)

// LogParseResult is what a log parser returns for a LogParseTask.
type LogParseResult struct {
	// Status is parsed, failed or skipped-size; Reason says why for the last two.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// AlgorithmVersion identifies the parser's rules, so results of older
	// versions can be recomputed.
	AlgorithmVersion string `json:"algorithm_version"`
	// Errors are the error lines of a raw log, in stored form (characters
	// outside the Basic Multilingual Plane written as <U+XXXXXX>).
	Errors []ErrorLine `json:"errors,omitempty"`
	// FailureLines and Groups come from a structured errorsummary log.
	FailureLines []FailureLine `json:"failure_lines,omitempty"`
	Groups       []GroupResult `json:"groups,omitempty"`
	// PerfData holds PERFHERDER_DATA blobs or perfherder-data artifacts.
	PerfData []json.RawMessage `json:"perf_data,omitempty"`
}

// FailureLine is one line of a structured errorsummary log, with the mozlog
// fields Treeherder keeps.
type FailureLine struct {
	Action            string   `json:"action"`
	Line              int64    `json:"line"`
	Test              *string  `json:"test"`
	Subtest           *string  `json:"subtest"`
	Status            string   `json:"status"`
	Expected          *string  `json:"expected"`
	Message           *string  `json:"message"`
	Signature         *string  `json:"signature"`
	Level             *string  `json:"level"`
	Stack             *string  `json:"stack"`
	StackwalkStdout   *string  `json:"stackwalk_stdout"`
	StackwalkStderr   *string  `json:"stackwalk_stderr"`
	Group             *string  `json:"group,omitempty"`
	KnownIntermittent []string `json:"known_intermittent,omitempty"`
}

// GroupResult is a test group's (manifest's) outcome in one job: status
// OK=1, ERROR=2, SKIP=3, anything else 10; duration in seconds.
type GroupResult struct {
	Group    string `json:"group"`
	Status   int    `json:"status"`
	Duration int64  `json:"duration"`
}
