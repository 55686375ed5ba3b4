package store

import "github.com/herder-ci/herder/core/model"

// This file holds the query and result types of the API's reads (the
// "API reads" methods of Store). Filters are typed, so a backend maps each
// field to its own columns and nothing from a request reaches SQL as text.

// Op is a comparison in a filter.
type Op int

// Comparisons, named after Django's lookups.
const (
	OpEq Op = iota
	OpNe
	OpLt
	OpLte
	OpGt
	OpGte
	OpIn
)

// JobField names a job attribute the API filters on.
type JobField int

// Job fields. Values are int64 for ids, tiers and times (LastModified in unix
// microseconds, the other times in unix seconds) and strings for the rest.
const (
	JobID JobField = iota
	JobPushID
	JobTier
	JobGUID
	JobTaskID
	JobRetryID
	JobBuildArchitecture
	JobBuildOS
	JobBuildPlatform
	JobBuildPlatformID
	JobBuildSystemType
	JobMachinePlatformArchitecture
	JobMachinePlatformOS
	JobPlatform
	JobMachineName
	JobGroupID
	JobGroupName
	JobGroupSymbol
	JobTypeID
	JobTypeName
	JobTypeSymbol
	JobRefDataName
	JobSignature
	JobOptionCollectionHash
	JobFailureClassificationID
	JobReason
	JobState
	JobResult
	JobWho
	JobLastModified
	JobSubmitTime
	JobStartTime
	JobEndTime
)

// JobCond is one filter condition: Field Op Values[0], or Field IN Values.
type JobCond struct {
	Field  JobField
	Op     Op
	Values []any
}

// JobOrder is the order a job query returns rows in.
type JobOrder int

const (
	// OrderJobID is ascending job id, the order of Treeherder's /api/jobs/.
	OrderJobID JobOrder = iota
	// OrderNewestPush is push id then start time, both descending: Treeherder's
	// similar-jobs order.
	OrderNewestPush
)

// JobQuery selects jobs.
type JobQuery struct {
	RepositoryID int64 // 0: every repository
	Conds        []JobCond
	Order        JobOrder
	Offset       int
	Limit        int // 0: no limit
}

// JobRecord is a job as the API serves it: reference data resolved, with the
// ids and descriptions Treeherder's job serializers print.
type JobRecord struct {
	model.Job
	BuildPlatformID     int64
	MachinePlatformID   int64
	JobTypeID           int64
	JobGroupID          int64
	JobTypeDescription  string
	JobGroupDescription string
	// PlatformOption is the job's option names joined by spaces ("opt", "debug").
	PlatformOption string
	// HasTaskMetadata says TaskID and RetryID come from a taskcluster_metadata row.
	HasTaskMetadata bool
}

// IntCond is a comparison against an integer.
type IntCond struct {
	Op    Op
	Value int64
}

// PushQuery selects pushes, newest first.
type PushQuery struct {
	RepositoryID int64 // 0: every repository
	// Revision matches the push's tip revision; shorter than 40 characters
	// it matches as a prefix.
	Revision string
	// CommitRevision matches any commit of the push (40 characters).
	CommitRevision string
	Time           []IntCond // unix seconds
	ID             []IntCond
	IDIn           []int64
	// Author matches case-insensitively; ExcludeAuthor inverts it.
	Author         string
	ExcludeAuthor  bool
	AuthorContains string
	HideReviewbot  bool
	// Search matches a substring of the revision, the author or any commit
	// message, case-insensitively.
	Search string
	Limit  int
}

// PushRecord is a push with its newest commits (at most 20, newest first)
// and how many commits it has.
type PushRecord struct {
	model.Push
	RevisionCount int
}

// StateCount counts a push's jobs in one state and result.
type StateCount struct {
	State  string
	Result string
	Count  int64
}

// TaskclusterMetadata links a job to its Taskcluster task run.
type TaskclusterMetadata struct {
	JobID   int64
	TaskID  string
	RetryID int
}

// OptionCollection is a hash and its option names, in stored order.
type OptionCollection struct {
	Hash    string
	Options []string
}

// MachinePlatform is a stored machine platform row.
type MachinePlatform struct {
	ID int64
	model.Platform
}

// TextLogError is an error line the log parser kept for a job.
type TextLogError struct {
	ID         int64
	JobID      int64
	Line       string
	LineNumber int64
	NewFailure bool
}

// JobNote is a sheriff's (or the autoclassifier's) note on a job.
type JobNote struct {
	ID                      int64
	JobID                   int64
	FailureClassificationID int64
	Created                 int64 // unix seconds
	Who                     string
	Text                    string
}

// BugJobMap links a job to a bug.
type BugJobMap struct {
	JobID         int64
	BugID         *int64 // the Bugzilla id; nil for an internal issue
	BugInternalID int64  // bugscache id
	Created       int64  // unix seconds
	Who           string
}

// FailureQuery selects intermittent failures (jobs linked to bugs) by the
// time of their push.
type FailureQuery struct {
	From, To      int64   // unix seconds, From inclusive, To exclusive
	RepositoryIDs []int64 // nil: every repository
	BugID         *int64  // a Bugzilla id
}

// BugCount is how many jobs were linked to a bug.
type BugCount struct {
	BugID         *int64
	BugInternalID int64
	Count         int64
}

// BugFailure is one job linked to a bug, with what the failure views show.
type BugFailure struct {
	PushTime    int64
	Platform    string
	Revision    string
	TestSuite   string
	Tree        string
	BuildType   string
	JobID       int64
	BugID       *int64
	MachineName string
	Lines       []string
	TaskID      string
}

// DayCount is one UTC day of the failure-count view.
type DayCount struct {
	Day          string // YYYY-MM-DD
	TestRuns     int64  // pushes that day
	FailureCount int64
}

// PerfSignatureQuery selects performance signatures of one repository.
type PerfSignatureQuery struct {
	RepositoryID  int64
	IDs           []int64
	Hashes        []string
	ParentHashes  []string
	Frameworks    []int64
	Platform      string
	NoSubtests    bool
	UpdatedAfter  *int64 // unix seconds, inclusive
	UpdatedBefore *int64 // unix seconds, inclusive
}

// PerfSignature is a performance series' identity and alerting settings.
type PerfSignature struct {
	ID                   int64
	Hash                 string
	FrameworkID          int64
	OptionCollectionHash string
	MachinePlatform      string
	Suite                string
	Test                 string
	Application          string
	LowerIsBetter        bool
	HasSubtests          bool
	Tags                 string
	ExtraOptions         string
	MeasurementUnit      string
	ParentHash           string
	ShouldAlert          *bool
	AlertChangeType      *int64
	AlertThreshold       *float64
	MinBackWindow        *int64
	MaxBackWindow        *int64
	ForeWindow           *int64
}

// PerfDataQuery selects performance data of one repository; at least one of
// SignatureIDs, SignatureHashes, PushIDs and JobIDs is set.
type PerfDataQuery struct {
	RepositoryID    int64
	SignatureIDs    []int64
	SignatureHashes []string
	PushIDs         []int64
	JobIDs          []int64
	Frameworks      []int64
	After           *int64 // unix seconds, exclusive
	Before          *int64 // unix seconds, exclusive
}

// PerfDatum is one performance measurement.
type PerfDatum struct {
	ID            int64
	SignatureID   int64
	SignatureHash string
	JobID         *int64
	PushID        int64
	Revision      string
	PushTimestamp int64
	Value         float64
}
