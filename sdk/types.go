// Package sdk is herder's public plugin SDK: the data types a plugin exchanges
// with the host and the helpers that serve a plugin binary.
//
// It imports nothing of the host, so third parties can build plugins against it
// alone. The JSON shapes follow Treeherder's so that recorded Treeherder data
// (and tools that speak it) can be fed to herder unchanged.
package sdk

import "encoding/json"

// PushDatum is one push as a source hands it to the host, in the shape
// Treeherder's push loader produces ("transformed" pushes).
type PushDatum struct {
	// Project is the repository name the push belongs to.
	Project       string     `json:"project,omitempty"`
	Revision      string     `json:"revision"`
	Author        string     `json:"author"`
	PushTimestamp int64      `json:"push_timestamp"`
	Revisions     []Revision `json:"revisions"`
	// Branch is set only when the repository was found through a wildcard
	// branch rule, as in Treeherder.
	Branch string `json:"branch,omitempty"`
}

// Revision is one commit of a push.
type Revision struct {
	Author   string `json:"author"`
	Comment  string `json:"comment"`
	Revision string `json:"revision"`
}

// JobDatum is one job as a source hands it to the host: Treeherder's job
// "store" format (`{"project", "revision", "superseded", "job"}`).
type JobDatum struct {
	Project  string `json:"project,omitempty"`
	Revision string `json:"revision"`
	// Superseded is written as [] when empty but non-nil, as Treeherder's job
	// loader always writes it; a nil slice is left out.
	Superseded []string `json:"superseded,omitempty"`
	Job        Job      `json:"job"`
}

// MarshalJSON writes Superseded when it is non-nil, even if empty, so a datum
// made by a Treeherder-compatible transform round-trips to the same JSON.
func (d JobDatum) MarshalJSON() ([]byte, error) {
	type plain JobDatum
	out := struct {
		plain
		Superseded *[]string `json:"superseded,omitempty"`
	}{plain: plain(d)}
	if d.Superseded != nil {
		out.Superseded = &d.Superseded
	}
	return json.Marshal(out)
}

// Job is the job part of a JobDatum. Field names are Treeherder's.
type Job struct {
	JobGUID           string          `json:"job_guid"`
	Name              string          `json:"name,omitempty"`
	JobSymbol         string          `json:"job_symbol"`
	GroupName         string          `json:"group_name,omitempty"`
	GroupSymbol       string          `json:"group_symbol,omitempty"`
	ProductName       string          `json:"product_name,omitempty"`
	Reason            string          `json:"reason,omitempty"`
	Who               string          `json:"who,omitempty"`
	State             string          `json:"state"`
	Result            string          `json:"result,omitempty"`
	Tier              int             `json:"tier"`
	BuildSystemType   string          `json:"build_system_type,omitempty"`
	ReferenceDataName string          `json:"reference_data_name,omitempty"`
	Machine           string          `json:"machine,omitempty"`
	BuildPlatform     Platform        `json:"build_platform"`
	MachinePlatform   Platform        `json:"machine_platform"`
	OptionCollection  map[string]bool `json:"option_collection,omitempty"`
	SubmitTimestamp   int64           `json:"submit_timestamp,omitempty"`
	StartTimestamp    int64           `json:"start_timestamp,omitempty"`
	EndTimestamp      int64           `json:"end_timestamp,omitempty"`
	LogReferences     []LogReference  `json:"log_references,omitempty"`
	// PerfherderDataReferences name performance artifacts of the job.
	PerfherderDataReferences []LogReference `json:"perfherder_data_references,omitempty"`
	// TaskclusterTaskID is the task's slug; empty for non-Taskcluster jobs.
	TaskclusterTaskID  string `json:"taskcluster_task_id,omitempty"`
	TaskclusterRetryID int    `json:"taskcluster_retry_id,omitempty"`
}

// MarshalJSON writes OptionCollection, LogReferences and
// PerfherderDataReferences whenever they are non-nil (an empty, non-nil value
// is written as {} or []), and TaskclusterRetryID whenever the job has a task
// id (run 0 is written as 0). That is the shape Treeherder's job loader
// produces; nil values are still left out, so store-format input round-trips.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	out := struct {
		plain
		OptionCollection         *map[string]bool `json:"option_collection,omitempty"`
		LogReferences            *[]LogReference  `json:"log_references,omitempty"`
		PerfherderDataReferences *[]LogReference  `json:"perfherder_data_references,omitempty"`
		TaskclusterRetryID       *int             `json:"taskcluster_retry_id,omitempty"`
	}{plain: plain(j)}
	if j.OptionCollection != nil {
		out.OptionCollection = &j.OptionCollection
	}
	if j.LogReferences != nil {
		out.LogReferences = &j.LogReferences
	}
	if j.PerfherderDataReferences != nil {
		out.PerfherderDataReferences = &j.PerfherderDataReferences
	}
	if j.TaskclusterTaskID != "" || j.TaskclusterRetryID != 0 {
		out.TaskclusterRetryID = &j.TaskclusterRetryID
	}
	return json.Marshal(out)
}

// Platform is a build or machine platform triple.
type Platform struct {
	Platform     string `json:"platform"`
	OSName       string `json:"os_name"`
	Architecture string `json:"architecture"`
}

// LogReference points at a log or artifact of a job.
type LogReference struct {
	Name        string `json:"name"`
	URL         string `json:"url"`
	ParseStatus string `json:"parse_status,omitempty"`
}

// Job states and results, as Treeherder names them.
const (
	StateUnscheduled = "unscheduled"
	StatePending     = "pending"
	StateRunning     = "running"
	StateCompleted   = "completed"

	ResultSuccess    = "success"
	ResultTestFailed = "testfailed"
	ResultBusted     = "busted"
	ResultException  = "exception"
	ResultRetry      = "retry"
	ResultUserCancel = "usercancel"
	ResultSuperseded = "superseded"
	ResultUnknown    = "unknown"
)

// Log names Treeherder gives the logs it parses.
const (
	LogLiveBacking  = "live_backing_log"
	LogErrorSummary = "errorsummary_json"
)

// ErrorLine is one error line the log parser extracted, with its 0-based line
// number, exactly as Treeherder's text_log_summary artifact holds it.
type ErrorLine struct {
	LineNumber int    `json:"linenumber"`
	Line       string `json:"line"`
}
