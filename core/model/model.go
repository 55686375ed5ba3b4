// Package model holds herder's domain types: Treeherder's data model as the
// host stores and serves it.
package model

// RepositoryGroup groups repositories in the UI's repository menu.
type RepositoryGroup struct {
	ID          int64
	Name        string
	Description string
}

// Repository is a code repository whose pushes herder tracks.
type Repository struct {
	ID                       int64
	Group                    RepositoryGroup
	Name                     string
	DVCSType                 string
	URL                      string
	Codebase                 string
	Description              string
	ActiveStatus             string
	LifeCycleOrder           *int
	PerformanceAlertsEnabled bool
	ExpirePerformanceData    bool
	IsTryRepo                bool
	TCRootURL                string
	AcceptsPullRequests      bool
	Branches                 []string
}

// FailureClassification is one of Treeherder's fixed classifications.
type FailureClassification struct {
	ID   int64
	Name string
}

// The fixed failure classifications, with Treeherder's ids.
const (
	FCNotClassified            = 1
	FCFixedByCommit            = 2
	FCExpectedFail             = 3
	FCIntermittent             = 4
	FCInfra                    = 5
	FCNewFailure               = 6
	FCAutoclassifiedIntermitt  = 7
	FCIntermittentNeedsBugID   = 8
	FailureClassificationCount = 8
)

// FailureClassifications lists the fixed rows in id order.
var FailureClassifications = []FailureClassification{
	{FCNotClassified, "not classified"},
	{FCFixedByCommit, "fixed by commit"},
	{FCExpectedFail, "expected fail"},
	{FCIntermittent, "intermittent"},
	{FCInfra, "infra"},
	{FCNewFailure, "new failure not classified"},
	{FCAutoclassifiedIntermitt, "autoclassified intermittent"},
	{FCIntermittentNeedsBugID, "intermittent needs bugid"},
}

// Push is a set of commits pushed to a repository at once.
type Push struct {
	ID           int64
	RepositoryID int64
	Revision     string
	Author       string
	Time         int64 // unix seconds
	Branch       string
	Commits      []Commit
}

// Commit is one revision of a push.
type Commit struct {
	Revision string
	Author   string
	Comments string
}

// Platform is a build or machine platform triple.
type Platform struct {
	OSName       string
	Platform     string
	Architecture string
}

// NamedSymbol is a job type or a job group.
type NamedSymbol struct {
	Name   string
	Symbol string
}

// Job is one run of a CI task, normalised for storage: reference data is
// carried by value and resolved to ids by the store.
type Job struct {
	ID               int64
	GUID             string
	RepositoryID     int64
	RepositoryName   string
	PushID           int64
	PushRevision     string
	BuildSystemType  string
	ReferenceName    string // reference_data_signatures.name
	Signature        string // Treeherder's reference data signature hash
	BuildPlatform    Platform
	MachinePlatform  Platform
	Machine          string
	Product          string
	JobType          NamedSymbol
	JobGroup         NamedSymbol
	Options          []string // sorted option names
	OptionCollection string   // Treeherder's option collection hash
	Who              string
	Reason           string
	Result           string
	State            string
	Tier             int
	SubmitTime       int64 // unix seconds; 0 when absent (Treeherder's 1970 epoch)
	StartTime        int64
	EndTime          int64
	LastModified     int64 // unix microseconds
	FailureClass     int64

	// Taskcluster metadata, stored once per job when TaskID is set.
	TaskID  string
	RetryID int

	Logs []JobLog
}

// Log parse states, with Treeherder's numbers.
const (
	LogPending     = 0
	LogParsed      = 1
	LogFailed      = 2
	LogSkippedSize = 3
)

// LogStatusNames maps a parse state to the name the API uses.
var LogStatusNames = map[int]string{
	LogPending:     "pending",
	LogParsed:      "parsed",
	LogFailed:      "failed",
	LogSkippedSize: "skipped-size",
}

// JobLog is a log of a job and where its parsing stands.
type JobLog struct {
	ID               int64
	JobID            int64
	Name             string
	URL              string
	Status           int
	StatusReason     string
	AlgorithmVersion string
}

// RawEvent is an event as a source delivered it, kept for replay.
type RawEvent struct {
	Source   string
	EventID  string
	Kind     string // "push" or "job"
	Received int64  // unix microseconds
	Payload  []byte
}

// User is a person (or a script's identity) known to herder.
type User struct {
	ID          int64
	Username    string
	Email       string
	IsStaff     bool
	IsSuperuser bool
}

// Roles a credential carries: any signed-in user may classify failures
// (sheriff); admins also manage plugins and bulk operations.
const (
	RoleSheriff = "sheriff"
	RoleAdmin   = "admin"
)

// APIToken is a stored credential; only its hash is kept.
type APIToken struct {
	ID       int64
	User     User
	Name     string
	Role     string
	Created  int64
	LastUsed int64
	Revoked  bool
}

// ParkedJob is a job datum waiting for its push to be stored.
type ParkedJob struct {
	ID           int64
	RepositoryID int64
	Revision     string
	GUID         string
	Source       string
	Parked       int64 // unix microseconds
	Payload      []byte
}

// RepoRevision names a push by repository and revision.
type RepoRevision struct {
	RepositoryID int64
	Revision     string
}

// Log kinds, each parsed in its own lane so one backlog never starves another.
const (
	LogKindRaw  = "raw"  // live_backing_log
	LogKindJSON = "json" // errorsummary_json
	LogKindPerf = "perf" // perfherder-data*.json artifacts
)

// Job classes a log lane takes: failed jobs' logs go first.
const (
	JobsFailed    = "failed"
	JobsSucceeded = "succeeded"
	JobsAny       = "any"
)

// LogTask is a log waiting to be parsed, with what its parser needs to know.
type LogTask struct {
	JobLogID     int64
	JobID        int64
	JobGUID      string
	RepositoryID int64
	Repository   string
	Name         string
	URL          string
	JobResult    string
	// Owner is set when the task was claimed with a lease (ClaimLog): the
	// result is then stored only while that owner still holds the lease.
	Owner string
	// Fresh: no parse result was ever stored for this log, so storing one
	// has no earlier one to replace (and nothing to clear).
	Fresh bool
}
