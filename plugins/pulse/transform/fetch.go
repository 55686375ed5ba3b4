package transform

import (
	"context"
	"encoding/json"
)

// TaskFetcher reads Taskcluster's queue. NewHTTPClient returns one; tests and
// the offline `herder pulse transform` use StaticTasks.
type TaskFetcher interface {
	// Task returns the definition: GET {rootURL}/api/queue/v1/task/{taskID}.
	Task(ctx context.Context, rootURL, taskID string) (json.RawMessage, error)
	// Artifacts returns one page of GET
	// {rootURL}/api/queue/v1/task/{taskID}/runs/{runID}/artifacts, the next
	// page when continuationToken is set.
	Artifacts(ctx context.Context, rootURL, taskID string, runID int, continuationToken string) (ArtifactPage, error)
}

// TaskDefinitionFetcher is implemented by fetchers that keep parsed
// definitions (TaskCache), so a cached task costs no JSON decoding.
type TaskDefinitionFetcher interface {
	TaskDefinition(ctx context.Context, rootURL, taskID string) (*TaskDefinition, error)
}

// ArtifactPage is one page of the queue's listArtifacts.
type ArtifactPage struct {
	Artifacts         []Artifact `json:"artifacts"`
	ContinuationToken string     `json:"continuationToken,omitempty"`
}

// Artifact is one entry of listArtifacts; only the name matters here.
type Artifact struct {
	Name        string `json:"name"`
	StorageType string `json:"storageType,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Expires     string `json:"expires,omitempty"`
}

// PushFetcher reads hg.mozilla.org's json-pushes.
type PushFetcher interface {
	// HgPushes returns the document at a push_full_json_url.
	HgPushes(ctx context.Context, url string) (json.RawMessage, error)
}

// GitHubFetcher reads commit lists from GitHub's REST API, all pages.
type GitHubFetcher interface {
	// Compare returns the commits of GET /repos/{owner}/{repo}/compare/{base}...{head}.
	Compare(ctx context.Context, owner, repo, base, head string) ([]GitHubCommit, error)
	// PullRequestCommits returns GET /repos/{owner}/{repo}/pulls/{number}/commits.
	PullRequestCommits(ctx context.Context, owner, repo string, number int) ([]GitHubCommit, error)
}

// GitHubCommit is the part of a GitHub commit object a push needs.
type GitHubCommit struct {
	SHA    string `json:"sha"`
	Commit struct {
		Message   string       `json:"message"`
		Author    GitHubPerson `json:"author"`
		Committer GitHubPerson `json:"committer"`
	} `json:"commit"`
}

// GitHubPerson is a git author or committer.
type GitHubPerson struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}
