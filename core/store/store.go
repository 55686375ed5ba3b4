// Package store defines herder's storage: one interface, implemented for
// MySQL (production) and SQLite (the embedded default) in sqlstore, and one
// conformance suite (storetest) that both pass.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Store is everything herder keeps.
type Store interface {
	// Backend names the database kind: "sqlite" or "mysql".
	Backend() string
	// Migrate brings the schema up to date.
	Migrate(ctx context.Context) error
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	Close() error

	// SeedFailureClassifications makes sure the fixed classifications 1-8 exist.
	SeedFailureClassifications(ctx context.Context) error
	// UpsertRepositories inserts or updates groups and repositories by name,
	// with their branches. Rows that carry an ID keep it.
	UpsertRepositories(ctx context.Context, groups []model.RepositoryGroup, repos []model.Repository) error
	// Repositories lists every repository with its group and branches, by id.
	Repositories(ctx context.Context) ([]model.Repository, error)
	FailureClassifications(ctx context.Context) ([]model.FailureClassification, error)

	// StorePushes inserts or updates pushes by (repository, revision) with
	// their commits, and fills in their IDs.
	StorePushes(ctx context.Context, pushes []model.Push) error
	// PushIDs resolves revisions of one repository to push ids. A revision
	// shorter than 40 characters matches as a prefix, as in Treeherder.
	PushIDs(ctx context.Context, repositoryID int64, revisions []string) (map[string]int64, error)
	// StoreJobs upserts jobs by guid under Treeherder's state guard: a
	// completed job is final and states never move backwards, so the same jobs
	// in any order and any number of times leave the same rows. PushID and
	// RepositoryID must be set.
	StoreJobs(ctx context.Context, jobs []model.Job) error
	// MarkSuperseded sets the given jobs to completed/superseded.
	MarkSuperseded(ctx context.Context, guids []string) error
	// ParkJobs keeps jobs whose push is not stored yet; ParkedRevisions,
	// ParkedJobs and DeleteParked let the pipeline store them once it is.
	ParkJobs(ctx context.Context, jobs []model.ParkedJob) error
	ParkedRevisions(ctx context.Context) ([]model.RepoRevision, error)
	ParkedJobs(ctx context.Context, repositoryID int64, revision string) ([]model.ParkedJob, error)
	DeleteParked(ctx context.Context, ids []int64) error
	// StoreRawEvents appends events to the raw event journal.
	StoreRawEvents(ctx context.Context, events []model.RawEvent) error

	// JobsByGUID returns the stored jobs with the given guids, reference data
	// resolved to names, logs included.
	JobsByGUID(ctx context.Context, guids []string) ([]model.Job, error)
	// Pushes lists a repository's pushes, newest first.
	Pushes(ctx context.Context, repositoryID int64, limit int) ([]model.Push, error)
	// Counts reports row counts of the main tables, for status and tests.
	Counts(ctx context.Context) (map[string]int64, error)

	// PendingLogs lists logs waiting to be parsed, of one kind (model.LogKind*)
	// and job class (model.Jobs*), leaving out the ids in skip.
	PendingLogs(ctx context.Context, kind, jobs string, skip []int64, limit int) ([]model.LogTask, error)
	// StoreLogResult records a parse result, replacing an earlier one.
	StoreLogResult(ctx context.Context, t model.LogTask, r sdk.LogParseResult) error
	// ResetLogs makes parsed and failed logs of jobs submitted since `since`
	// pending again (only those of another algorithm version, if given).
	ResetLogs(ctx context.Context, since int64, version string) (int64, error)
	// ClaimLog leases a pending log to owner until `until`, so that of
	// several workers handed the same log exactly one parses it; ok is false
	// when the log is not pending or another owner's lease is still live.
	ClaimLog(ctx context.Context, jobLogID int64, owner string, until time.Time) (t model.LogTask, ok bool, err error)
	// ClaimKnownLogs is ClaimLog for logs the caller read already; it
	// returns the ids it leased, leaving out those not pending, leased
	// elsewhere or changed since (ClaimLog reads those anew). until must be
	// unique to the claim for owner.
	ClaimKnownLogs(ctx context.Context, ts []model.LogTask, owner string, until time.Time) ([]int64, error)
	// RenewLog extends owner's live lease; ok is false when it was lost.
	RenewLog(ctx context.Context, jobLogID int64, owner string, until time.Time) (ok bool, err error)
	// ReleaseLog gives up owner's lease, e.g. after a failed attempt.
	ReleaseLog(ctx context.Context, jobLogID int64, owner string) error
	// PendingLogsOfJobs lists the pending logs of the jobs with these guids
	// that were never handed to a queue (MarkLogsQueued).
	PendingLogsOfJobs(ctx context.Context, guids []string) ([]model.LogTask, error)
	// UnqueuedLogs lists pending logs without a live lease that were never
	// handed to a work queue, last handed to it before queuedBefore, or left
	// with an expired lease, oldest first.
	UnqueuedLogs(ctx context.Context, queuedBefore time.Time, limit int) ([]model.LogTask, error)
	// MarkLogsQueued records that these logs were handed to a work queue.
	MarkLogsQueued(ctx context.Context, ids []int64, at time.Time) error

	// EnsureUser returns the user with this username, creating it if needed;
	// staff makes an existing user staff too.
	EnsureUser(ctx context.Context, username, email string, staff bool) (model.User, error)
	// CreateToken stores the hash of a new API token.
	CreateToken(ctx context.Context, userID int64, name, role, hash string) (int64, error)
	// TokenByHash finds a token that is not revoked; ErrNotFound otherwise.
	TokenByHash(ctx context.Context, hash string) (model.APIToken, error)
	Tokens(ctx context.Context) ([]model.APIToken, error)
	RevokeToken(ctx context.Context, id int64) error

	// API reads: what the REST API serves (see queries.go for the types).
	// Reference rows are resolved through an in-process cache, since they
	// never change once written. Lookups of a missing row return ErrNotFound.

	// QueryJobs lists jobs matching q, reference data resolved, no logs.
	QueryJobs(ctx context.Context, q JobQuery) ([]JobRecord, error)
	// CountJobs counts the jobs matching q's repository and conditions.
	CountJobs(ctx context.Context, q JobQuery) (int64, error)
	// JobByID returns a job with its logs; repositoryID 0 matches any.
	JobByID(ctx context.Context, repositoryID, id int64) (JobRecord, error)
	// JobLogs lists the logs of the given jobs of a repository, by id.
	JobLogs(ctx context.Context, repositoryID int64, jobIDs []int64) ([]model.JobLog, error)
	// JobLogByID returns one log of a repository's job.
	JobLogByID(ctx context.Context, repositoryID, id int64) (model.JobLog, error)
	TextLogErrors(ctx context.Context, jobID int64) ([]TextLogError, error)
	TaskclusterMetadata(ctx context.Context, jobIDs []int64) ([]TaskclusterMetadata, error)
	OptionCollections(ctx context.Context) ([]OptionCollection, error)
	MachinePlatforms(ctx context.Context) ([]MachinePlatform, error)
	// QueryPushes lists pushes newest first with their newest 20 commits.
	QueryPushes(ctx context.Context, q PushQuery) ([]PushRecord, error)
	// PushByID returns a push of a repository; repositoryID 0 matches any.
	PushByID(ctx context.Context, repositoryID, id int64) (PushRecord, error)
	// PushExists reports whether a push of the repository has this id.
	PushExists(ctx context.Context, repositoryID, id int64) (bool, error)
	// PushTime returns the time of the push with this revision (a prefix when
	// shorter than 40 characters).
	PushTime(ctx context.Context, repositoryID int64, revision string) (int64, error)
	// PushStatus counts the tier 1-2 jobs that are not classified of each
	// push of the repository, by state and result; other repositories'
	// pushes and pushes without such jobs have no entry. repositoryID 0
	// skips the repository check, for ids just listed from one repository
	// (the check made MariaDB group through a temporary table).
	PushStatus(ctx context.Context, repositoryID int64, pushIDs []int64) (map[int64][]StateCount, error)
	JobNotes(ctx context.Context, jobIDs []int64) ([]JobNote, error)
	BugJobMaps(ctx context.Context, jobIDs []int64) ([]BugJobMap, error)
	// FailureCountsByBug counts jobs linked to each bug, most first.
	FailureCountsByBug(ctx context.Context, q FailureQuery) ([]BugCount, error)
	// FailuresByBug lists the jobs linked to q.BugID, newest push first.
	FailuresByBug(ctx context.Context, q FailureQuery) ([]BugFailure, error)
	// FailureCounts counts pushes and failures per UTC day: jobs linked to
	// q.BugID, or every job classified intermittent when BugID is nil.
	FailureCounts(ctx context.Context, q FailureQuery) ([]DayCount, error)
	PerformanceSignatures(ctx context.Context, q PerfSignatureQuery) ([]PerfSignature, error)
	PerformanceData(ctx context.Context, q PerfDataQuery) ([]PerfDatum, error)

	// Bugs and suggestions
	// BugSuggestions returns a job's stored bug suggestions, one per error
	// line in line order, in the shape of Treeherder's bug_suggestions API
	// (see bugs.go); an empty list when the job was never matched.
	BugSuggestions(ctx context.Context, jobID int64) ([]BugSuggestion, error)

	// Writes
	// Classification writes, each in one transaction that also bumps the
	// job's last_modified so polling clients see the change (see writes.go
	// for the types). A job outside the repository is ErrNotFound.

	// AddJobNote stores a note and sets the job's failure classification to
	// that of its newest note, as Treeherder's JobNote.save does. An unknown
	// classification wraps ErrInvalid. It returns the note's id.
	AddJobNote(ctx context.Context, n NoteInput) (int64, error)
	// DeleteJobNote deletes a note of one of the repository's jobs and sets
	// the job's classification to its newest remaining note's, or to 1 (not
	// classified) when none is left. ErrNotFound when there is no such note.
	DeleteJobNote(ctx context.Context, repositoryID, noteID int64) error
	// AddBugJobMap links a job to a bug. A Bugzilla id missing from the
	// bugscache gets a stub row (StubBugSummary) the bug sync fills in; an
	// unknown internal id wraps ErrInvalid. created is false when the link
	// already existed.
	AddBugJobMap(ctx context.Context, m BugJobMapInput) (created bool, err error)
	// DeleteBugJobMap removes a job's link to a bug; deleted is false when
	// there was none.
	DeleteBugJobMap(ctx context.Context, repositoryID, jobID int64, bug BugRef) (deleted bool, err error)
	// CreateInternalIssue returns the internal issue with this summary,
	// creating it (created true) when there is none.
	CreateInternalIssue(ctx context.Context, summary string) (issue InternalIssue, created bool, err error)
	// UnclassifyJobs sets the repository's jobs among jobIDs to not
	// classified and deletes their notes and bug links; it returns how many
	// jobs it changed. Ids of other repositories' jobs are ignored.
	UnclassifyJobs(ctx context.Context, repositoryID int64, jobIDs []int64) (int64, error)
	// SyncUser creates or updates a signed-in user: email and staff are set
	// to what the identity provider said this time.
	SyncUser(ctx context.Context, username, email string, staff bool) (model.User, error)
}
