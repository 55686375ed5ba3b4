package store

import (
	"time"

	"github.com/herder-ci/herder/sdk"
)

// Bug matching: the types the bug cache, the stored suggestions and the
// scheduled jobs exchange with the store. Store.BugSuggestions is the only
// one the API needs; the rest are methods of sqlstore.Store that core/bugs
// and core/schedule reach through interfaces of their own.

// BugSuggestion is one error line's bug suggestions in Treeherder's
// /api/project/{repo}/jobs/{id}/bug_suggestions/ shape, ready to encode.
type BugSuggestion struct {
	// Search is the cleaned error line.
	Search string `json:"search"`
	// SearchTerms are the terms searched; a line without a useful term has
	// [null], as in Treeherder.
	SearchTerms []*string     `json:"search_terms"`
	PathEnd     *string       `json:"path_end"`
	Bugs        SuggestedBugs `json:"bugs"`
	LineNumber  int64         `json:"line_number"`
	// Counter is how often the normalised line was seen in the 21 days
	// before this job on autoland, mozilla-central and comm-central.
	Counter int64 `json:"counter"`
	// FailureNewInRev is true when this job's push was the first to show
	// the line.
	FailureNewInRev bool `json:"failure_new_in_rev"`
}

// SuggestedBugs splits a line's bugs into open ones and the rest.
type SuggestedBugs struct {
	OpenRecent []SuggestedBug `json:"open_recent"`
	AllOthers  []SuggestedBug `json:"all_others"`
}

// SuggestedBug is a bug cache row as the API shows it.
type SuggestedBug struct {
	// ID is the Bugzilla id; null for an internal issue.
	ID         *int64 `json:"id"`
	InternalID int64  `json:"internal_id"`
	Status     string `json:"status"`
	Resolution string `json:"resolution"`
	Summary    string `json:"summary"`
	// DupeOf is the Bugzilla id this bug duplicates.
	DupeOf         *int64 `json:"dupe_of"`
	CrashSignature string `json:"crash_signature"`
	Keywords       string `json:"keywords"`
	Whiteboard     string `json:"whiteboard"`
	// Occurrences counts the jobs classified with an internal issue over
	// the last 7 days; null for Bugzilla bugs.
	Occurrences *int64 `json:"occurrences"`
}

// Bug is a Bugzilla bug as the bug cache keeps it.
type Bug struct {
	BugzillaID     int64
	Status         string
	Resolution     string
	Summary        string
	DupeOf         *int64
	CrashSignature string
	Keywords       string // comma-joined
	Modified       int64  // unix seconds
	Whiteboard     string
}

// IncompleteBug is a bug resolved INCOMPLETE that jobs keep being
// classified with.
type IncompleteBug struct {
	BugzillaID int64
	Maps       int64
	// JobID is the newest such job, in Repository.
	JobID      int64
	Repository string
}

// BugMatchJob is what matching one job needs from the store.
type BugMatchJob struct {
	JobID                   int64
	RepositoryID            int64
	Repository              string
	Revision                string
	SubmitTime              int64
	Result                  string
	FailureClassificationID int64
	// Matched is true when the job was matched before; Counted when its
	// lines were counted then.
	Matched, Counted bool
	// Lines are the job's text_log_error rows in stored order.
	Lines []sdk.BugLine
	// Previous holds an earlier match's counters by line number (Search,
	// Counter and FailureNewInRev set): a rematch keeps them, since the
	// counter tells what was known when the job first failed.
	Previous map[int64]StoredSuggestion
}

// LineCountRequest counts a job's normalised lines, in line order (repeats
// included), against the 21-day cache.
type LineCountRequest struct {
	Namespace string
	// Day is the job's UTC day (days since the epoch); Since the first day
	// still in the window.
	Day, Since int64
	Revision   string
	// Keys are the lines' cache keys (hashes of the normalised lines).
	Keys []string
	// Increment records the sightings (only some repositories count).
	Increment bool
}

// LineCount is one line's counter and whether its push showed it first.
type LineCount struct {
	Counter         int64
	FailureNewInRev bool
}

// StoredSuggestion is one line's match as it is stored.
type StoredSuggestion struct {
	LineNumber      int64
	Search          string
	SearchTerms     []*string
	PathEnd         *string
	OpenRecent      []int64 // bug cache ids
	AllOthers       []int64
	Counter         int64
	FailureNewInRev bool
}

// BugMatchOutcome is a job's match, stored in one transaction.
type BugMatchOutcome struct {
	JobID            int64
	AlgorithmVersion string
	Counted          bool
	Lines            []StoredSuggestion
	// NewFailureLines are the line numbers whose text_log_error rows get
	// new_failure; ClassifyNewFailure moves a not-yet-classified job to
	// classification 6.
	NewFailureLines    []int64
	ClassifyNewFailure bool
}

// BugWork is a queued piece of work after a log was parsed.
type BugWork struct {
	ID        int64
	JobID     int64
	Kind      string // BugWorkSuggest or BugWorkIntermittent
	JobLogID  int64
	Created   int64
	Attempts  int
	LogStatus int // the log's parse status now; -1 when the log is gone
}

// Kinds of BugWork.
const (
	BugWorkSuggest      = "suggest"
	BugWorkIntermittent = "intermittent"
)

// IntermittentJob is the job whose test groups were just stored.
type IntermittentJob struct {
	ID                      int64
	RepositoryID            int64
	Repository              string
	PushID                  int64
	PushTime                int64
	JobTypeName             string
	Result                  string
	FailureClassificationID int64
}

// GroupRow is one job's result for one test group (Treeherder's all_groups
// query row).
type GroupRow struct {
	Group                   string
	JobID                   int64
	Status                  int
	JobTypeName             string
	PushID                  int64
	FailureClassificationID int64
}

// InfraJob is a candidate of Treeherder's infra check.
type InfraJob struct {
	ID                      int64
	Result                  string
	FailureClassificationID int64
}

// BugClassification is one job classified with a bug, for the commenter.
type BugClassification struct {
	BugInternalID        int64
	BugzillaID           int64
	Whiteboard           string
	Repository           string
	Platform             string
	OptionCollectionHash string
}

// CycleOptions configures data cycling.
type CycleOptions struct {
	// Days keeps jobs submitted in the last Days days; RepositoryDays
	// overrides it per repository name.
	Days           int
	RepositoryDays map[string]int
	// ChunkSize bounds each delete (Treeherder's default is 100).
	ChunkSize int
	// Sleep pauses between chunks so other queries get through.
	Sleep time.Duration
	// DryRun counts what would go without deleting it.
	DryRun bool
	// Progress is called after every chunk.
	Progress func(CycleProgress)
	// Now is the clock (unix seconds); zero means the store's clock.
	Now int64
}

// CycleProgress reports how far data cycling got.
type CycleProgress struct {
	Repository string
	Cutoff     int64
	Jobs       int64 // jobs deleted (or, dry run, found) so far in this repository
	// Done marks the repository's last report.
	Done bool
}

// CycleReport sums up a data cycling run.
type CycleReport struct {
	Jobs         int64
	FailureLines int64
	// ErrorLineCounts counts forgotten days of the 21-day line counter.
	ErrorLineCounts int64
	// Orphans counts pruned reference rows per table.
	Orphans map[string]int64
}
