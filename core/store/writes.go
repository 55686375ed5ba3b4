package store

import "errors"

// This file holds the input and result types of the classification writes
// (the "Writes" methods of Store): notes, bug links, internal issues and
// bulk unclassification, as Treeherder's note/, bug-job-map/,
// internal_issue/ and classification/ endpoints make them.

// ErrInvalid is wrapped by a write whose input names a row that must exist
// but does not (a failure classification, an internal issue): the caller's
// mistake, where ErrNotFound means the thing written to is missing.
var ErrInvalid = errors.New("invalid reference")

// NoteInput is a note a user puts on a job.
type NoteInput struct {
	RepositoryID            int64
	JobID                   int64
	FailureClassificationID int64
	// UserID is who wrote it; 0 stores no user (Treeherder's autoclassifier).
	UserID int64
	Text   string
}

// BugRef names a bug: by its Bugzilla id, or, when BugzillaID is 0, by its
// internal (bugscache) id, which is how internal issues are named.
type BugRef struct {
	BugzillaID int64
	InternalID int64
}

// BugJobMapInput links a job to a bug.
type BugJobMapInput struct {
	RepositoryID int64
	JobID        int64
	Bug          BugRef
	UserID       int64 // 0: no user
	BugOpen      bool
}

// InternalIssue is a bugscache row with no Bugzilla id.
type InternalIssue struct {
	InternalID int64
	Summary    string
}

// StubBugSummary is the summary of the bugscache row a link to an unknown
// Bugzilla bug creates, until the bug sync fills it in.
const StubBugSummary = "(no bug data fetched)"
