package client

import "encoding/json"

// RepositoryGroup groups repositories in the UI's menu.
type RepositoryGroup struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Repository is a tracked code repository.
type Repository struct {
	ID                       int64           `json:"id"`
	RepositoryGroup          RepositoryGroup `json:"repository_group"`
	Name                     string          `json:"name"`
	DVCSType                 string          `json:"dvcs_type"`
	URL                      string          `json:"url"`
	Branch                   *string         `json:"branch"`
	Codebase                 string          `json:"codebase"`
	Description              string          `json:"description"`
	ActiveStatus             string          `json:"active_status"`
	LifeCycleOrder           *int            `json:"life_cycle_order"`
	PerformanceAlertsEnabled bool            `json:"performance_alerts_enabled"`
	ExpirePerformanceData    bool            `json:"expire_performance_data"`
	IsTryRepo                bool            `json:"is_try_repo"`
	TCRootURL                string          `json:"tc_root_url"`
	AcceptsPullRequests      bool            `json:"accepts_pull_requests"`
}

// FailureClassification is one of the fixed classifications (1 not
// classified ... 8 intermittent needs bugid).
type FailureClassification struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// OptionName is one option of a collection.
type OptionName struct {
	Name string `json:"name"`
}

// OptionCollection names the options ("opt", "debug") behind a hash.
type OptionCollection struct {
	OptionCollectionHash string       `json:"option_collection_hash"`
	Options              []OptionName `json:"options"`
}

// MachinePlatform is a platform jobs run on.
type MachinePlatform struct {
	ID       int64  `json:"id"`
	Platform string `json:"platform"`
}

// TaskclusterMetadata links a job to its Taskcluster task run.
type TaskclusterMetadata struct {
	Job     int64  `json:"job"`
	TaskID  string `json:"task_id"`
	RetryID int    `json:"retry_id"`
}

// Commit is one revision of a push.
type Commit struct {
	ResultSetID  int64  `json:"result_set_id"`
	RepositoryID int64  `json:"repository_id"`
	Revision     string `json:"revision"`
	Author       string `json:"author"`
	Comments     string `json:"comments"`
}

// Push is a set of commits pushed at once, with its newest 20 commits.
type Push struct {
	ID            int64    `json:"id"`
	Revision      string   `json:"revision"`
	Author        string   `json:"author"`
	Branch        *string  `json:"branch"`
	Revisions     []Commit `json:"revisions"`
	RevisionCount int      `json:"revision_count"`
	PushTimestamp int64    `json:"push_timestamp"`
	RepositoryID  int64    `json:"repository_id"`
}

// PushListMeta describes a push list answer.
type PushListMeta struct {
	Count          int            `json:"count"`
	Repository     string         `json:"repository"`
	FilterParams   map[string]any `json:"filter_params"`
	FromChange     string         `json:"fromchange,omitempty"`
	ToChange       string         `json:"tochange,omitempty"`
	StartDate      string         `json:"startdate,omitempty"`
	EndDate        string         `json:"enddate,omitempty"`
	Revision       string         `json:"revision,omitempty"`
	CommitRevision string         `json:"commit_revision,omitempty"`
}

// PushList is a page of pushes, newest first.
type PushList struct {
	Meta    PushListMeta `json:"meta"`
	Results []Push       `json:"results"`
}

// PushStatus counts a push's jobs: "completed", "pending" and "running",
// and completed jobs by result ("success", "testfailed", ...).
type PushStatus map[string]int

// HealthMetric is one category of a push's health.
type HealthMetric struct {
	Name   string `json:"name"`
	Result string `json:"result"` // pass, fail or indeterminate
}

// HealthSummary is one push of push/health_summary/.
type HealthSummary struct {
	Revision               string     `json:"revision"`
	Repository             string     `json:"repository"`
	TestFailureCount       int        `json:"testFailureCount"`
	TestInProgressCount    int        `json:"testInProgressCount"`
	BuildFailureCount      int        `json:"buildFailureCount"`
	BuildInProgressCount   int        `json:"buildInProgressCount"`
	LintFailureCount       int        `json:"lintFailureCount"`
	LintingInProgressCount int        `json:"lintingInProgressCount"`
	NeedInvestigation      int        `json:"needInvestigation"`
	Status                 PushStatus `json:"status"`
	History                []Push     `json:"history"`
	Metrics                struct {
		Linting HealthMetric `json:"linting"`
		Tests   HealthMetric `json:"tests"`
		Builds  HealthMetric `json:"builds"`
	} `json:"metrics"`
}

// JobSummary is a job of /api/jobs/, decoded from its compact row.
type JobSummary struct {
	FailureClassificationID int64
	ID                      int64
	JobGroupName            string
	JobGroupSymbol          string
	JobTypeName             string
	JobTypeSymbol           string
	LastModified            string // ISO 8601, UTC, no zone
	Platform                string
	PushID                  int64
	PushRevision            string
	Result                  string
	Signature               string
	State                   string
	Tier                    int
	TaskID                  *string
	RetryID                 *int
	Duration                int // minutes, at least 1
	PlatformOption          string
}

// JobsPage is a page of /api/jobs/.
type JobsPage struct {
	Count    int64   // matching jobs on every page
	Next     *string // absolute URL of the next page
	Previous *string
	Results  []JobSummary
	// JobPropertyNames and Rows are the answer as sent.
	JobPropertyNames []string
	Rows             [][]json.RawMessage
}

// Job is a job of the project jobs list (Treeherder's dict form).
type Job struct {
	BuildArchitecture           string `json:"build_architecture"`
	BuildOS                     string `json:"build_os"`
	BuildPlatform               string `json:"build_platform"`
	BuildPlatformID             int64  `json:"build_platform_id"`
	BuildSystemType             string `json:"build_system_type"`
	EndTimestamp                int64  `json:"end_timestamp"`
	FailureClassificationID     int64  `json:"failure_classification_id"`
	ID                          int64  `json:"id"`
	JobGroupDescription         string `json:"job_group_description"`
	JobGroupID                  int64  `json:"job_group_id"`
	JobGroupName                string `json:"job_group_name"`
	JobGroupSymbol              string `json:"job_group_symbol"`
	JobGUID                     string `json:"job_guid"`
	JobTypeDescription          string `json:"job_type_description"`
	JobTypeID                   int64  `json:"job_type_id"`
	JobTypeName                 string `json:"job_type_name"`
	JobTypeSymbol               string `json:"job_type_symbol"`
	LastModified                string `json:"last_modified"`
	MachineName                 string `json:"machine_name"`
	MachinePlatformArchitecture string `json:"machine_platform_architecture"`
	MachinePlatformOS           string `json:"machine_platform_os"`
	OptionCollectionHash        string `json:"option_collection_hash"`
	Platform                    string `json:"platform"`
	PushID                      int64  `json:"push_id"`
	Reason                      string `json:"reason"`
	RefDataName                 string `json:"ref_data_name"`
	Result                      string `json:"result"`
	ResultSetID                 int64  `json:"result_set_id"`
	Signature                   string `json:"signature"`
	StartTimestamp              int64  `json:"start_timestamp"`
	State                       string `json:"state"`
	SubmitTimestamp             int64  `json:"submit_timestamp"`
	Tier                        int    `json:"tier"`
	Who                         string `json:"who"`
	PlatformOption              string `json:"platform_option"`
}

// JobListMeta describes a project jobs list answer.
type JobListMeta struct {
	Repository string `json:"repository"`
	Offset     int64  `json:"offset"`
	Count      int64  `json:"count"`
}

// JobList is the project jobs list (or similar jobs) in dict form.
type JobList struct {
	Results []Job       `json:"results"`
	Meta    JobListMeta `json:"meta"`
}

// JobRows is the project jobs list in list form.
type JobRows struct {
	Results          [][]json.RawMessage `json:"results"`
	JobPropertyNames []string            `json:"job_property_names"`
	Meta             JobListMeta         `json:"meta"`
}

// LogRef names a log of a job.
type LogRef struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// TaskRef is a job's Taskcluster task and run.
type TaskRef struct {
	TaskID  string `json:"task_id"`
	RetryID int    `json:"retry_id"`
}

// JobDetail is one job with its logs and task.
type JobDetail struct {
	Job
	ResourceURI         string   `json:"resource_uri"`
	Logs                []LogRef `json:"logs"`
	TaskID              *string  `json:"task_id"`
	RetryID             *int     `json:"retry_id"`
	TaskclusterMetadata *TaskRef `json:"taskcluster_metadata"`
	AutoclassifyStatus  string   `json:"autoclassify_status"`
}

// TextLogError is an error line of a job's log.
type TextLogError struct {
	ID         int64  `json:"id"`
	Job        int64  `json:"job"`
	Line       string `json:"line"`
	LineNumber int64  `json:"line_number"`
	NewFailure bool   `json:"new_failure"`
}

// SuggestedBug is a bug matching an error line.
type SuggestedBug struct {
	ID             *int64 `json:"id"`
	InternalID     int64  `json:"internal_id"`
	Status         string `json:"status"`
	Resolution     string `json:"resolution"`
	Summary        string `json:"summary"`
	DupeOf         *int64 `json:"dupe_of"`
	CrashSignature string `json:"crash_signature"`
	Keywords       string `json:"keywords"`
	Whiteboard     string `json:"whiteboard"`
	Occurrences    *int64 `json:"occurrences"`
}

// BugSuggestion lists the bugs matching one error line.
type BugSuggestion struct {
	Search string `json:"search"`
	// SearchTerms holds a null for a line without a useful term, as in Treeherder.
	SearchTerms []*string `json:"search_terms"`
	PathEnd     *string   `json:"path_end"`
	Bugs        struct {
		OpenRecent []SuggestedBug `json:"open_recent"`
		AllOthers  []SuggestedBug `json:"all_others"`
	} `json:"bugs"`
	LineNumber      int64 `json:"line_number"`
	Counter         int64 `json:"counter"`
	FailureNewInRev bool  `json:"failure_new_in_rev"`
}

// JobLog is a log of a job and where its parsing stands.
type JobLog struct {
	ID          int64  `json:"id"`
	JobID       int64  `json:"job_id"`
	Name        string `json:"name"`
	URL         string `json:"url"`
	ParseStatus string `json:"parse_status"` // pending, parsed, failed, skipped-size
}

// Note is a classification note on a job.
type Note struct {
	ID                      int64  `json:"id"`
	JobID                   int64  `json:"job_id"`
	FailureClassificationID int64  `json:"failure_classification_id"`
	Created                 string `json:"created"`
	Who                     string `json:"who"`
	Text                    string `json:"text"`
}

// BugJobMap links a job to a bug.
type BugJobMap struct {
	JobID         int64  `json:"job_id"`
	BugID         *int64 `json:"bug_id"`
	BugInternalID int64  `json:"bug_internal_id"`
	Created       string `json:"created"`
	Who           string `json:"who"`
}

// BugCount is how many failures were linked to a bug.
type BugCount struct {
	BugID    *int64 `json:"bug_id"`
	BugCount int64  `json:"bug_count"`
}

// BugFailure is a job linked to a bug.
type BugFailure struct {
	PushTime    string   `json:"push_time"`
	Platform    string   `json:"platform"`
	Revision    string   `json:"revision"`
	TestSuite   string   `json:"test_suite"`
	Tree        string   `json:"tree"`
	BuildType   string   `json:"build_type"`
	JobID       int64    `json:"job_id"`
	BugID       *int64   `json:"bug_id"`
	MachineName string   `json:"machine_name"`
	Lines       []string `json:"lines"`
	TaskID      string   `json:"task_id"`
}

// FailureCount is one day of the failure-count view.
type FailureCount struct {
	Date         string `json:"date"`
	TestRuns     int64  `json:"test_runs"`
	FailureCount int64  `json:"failure_count"`
}

// PerformanceSignature identifies a performance series.
type PerformanceSignature struct {
	ID                   int64    `json:"id"`
	SignatureHash        string   `json:"signature_hash"`
	FrameworkID          int64    `json:"framework_id"`
	OptionCollectionHash string   `json:"option_collection_hash"`
	MachinePlatform      string   `json:"machine_platform"`
	Suite                string   `json:"suite"`
	ShouldAlert          *bool    `json:"should_alert"`
	AlertChangeType      *int64   `json:"alert_change_type"`
	AlertThreshold       *float64 `json:"alert_threshold"`
	MinBackWindow        *int64   `json:"min_back_window"`
	MaxBackWindow        *int64   `json:"max_back_window"`
	ForeWindow           *int64   `json:"fore_window"`
	// LowerIsBetter is sent only when false.
	LowerIsBetter   *bool    `json:"lower_is_better"`
	Test            string   `json:"test"`
	Application     string   `json:"application"`
	HasSubtests     bool     `json:"has_subtests"`
	Tags            []string `json:"tags"`
	ParentSignature string   `json:"parent_signature"`
	ExtraOptions    []string `json:"extra_options"`
	MeasurementUnit string   `json:"measurement_unit"`
}

// PerformanceDatum is one measurement of a series.
type PerformanceDatum struct {
	ID            int64   `json:"id"`
	SignatureID   int64   `json:"signature_id"`
	JobID         *int64  `json:"job_id"`
	PushID        int64   `json:"push_id"`
	Revision      string  `json:"revision"`
	PushTimestamp int64   `json:"push_timestamp"`
	Value         float64 `json:"value"`
}
