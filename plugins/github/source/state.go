package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/herder-ci/herder/sdk"
)

// RepoState is a polled repository's cursor file. Every part moves only
// after the host accepted the events it stands for; an ETag is part of the
// cursor (a 304 on it skips what it covers), so it is stored with the
// position it belongs to and never alone.
type RepoState struct {
	Pushes PushCursor `json:"pushes"`
	Pulls  PullCursor `json:"pulls"`
	Runs   RunCursor  `json:"runs"`
}

// PushCursor follows the repository activity list (pushes, force pushes,
// branch creations, merges).
type PushCursor struct {
	// LastID is the newest activity whose push the host accepted; 0 with
	// Started false: the first poll takes the newest InitialPushes.
	LastID  int64  `json:"last_id"`
	Started bool   `json:"started"`
	ETag    string `json:"etag,omitempty"`
}

// PullCursor remembers each open pull request's head sha.
type PullCursor struct {
	Started bool              `json:"started"`
	ETag    string            `json:"etag,omitempty"`
	Heads   map[string]string `json:"heads,omitempty"`
}

// RunCursor follows workflow runs created in the last TrackFor.
type RunCursor struct {
	// URL is the runs listing ETag belongs to (its created filter is a date,
	// so it changes once a day).
	URL     string                 `json:"url,omitempty"`
	ETag    string                 `json:"etag,omitempty"`
	Tracked map[string]*TrackedRun `json:"tracked,omitempty"`
}

// TrackedRun is a workflow run being followed.
type TrackedRun struct {
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Attempt   int    `json:"attempt"`
	// HeadBranch, Event, Who and Status are what routing needs when the
	// run is read again without being listed.
	HeadBranch string `json:"head_branch,omitempty"`
	Event      string `json:"event,omitempty"`
	Who        string `json:"who,omitempty"`
	Status     string `json:"status,omitempty"`
	// JobsETag validates the jobs listing whose jobs the host accepted.
	JobsETag string `json:"jobs_etag,omitempty"`
	// Done: the run and every job of it completed and were accepted; the
	// run is read again only when it changes (a re-run).
	Done bool `json:"done,omitempty"`
	// Sent maps a job id to the status/conclusion the host has, so a
	// changed listing sends only the jobs that changed.
	Sent map[string]string `json:"sent,omitempty"`
}

func stateFile(dir, fullName string) string {
	return filepath.Join(dir, "repo-"+safeName(strings.ReplaceAll(fullName, "/", "__"))+".json")
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// readState reads a cursor file; a missing one is a fresh state.
func readState(path string) (*RepoState, error) {
	st := &RepoState{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cursor: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("cursor file %s is corrupt (delete it to start again from the newest pushes): %w", path, err)
	}
	return st, nil
}

func writeState(path string, st *RepoState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return sdk.WriteFileAtomic(path, append(b, '\n'))
}
