// Package events turns what GitHub says (webhook payloads, REST API
// objects) into herder's source events: pushes and pull requests exactly as
// Treeherder shapes them (by handing plugins/pulse/transform the message
// taskcluster-github would have published for the same webhook), and
// GitHub Actions workflow jobs (and other apps' check runs) as jobs.
package events

import (
	"errors"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/plugins/pulse/transform"
)

// DefaultWebURL is github.com, where repository URLs point.
const DefaultWebURL = "https://github.com"

// Repo maps one GitHub repository to a herder repository. Several entries
// may name the same GitHub repository with different branches, as
// Treeherder's repository_branch rows do (servo and servo-try).
type Repo struct {
	// Name is the herder repository.
	Name string
	// FullName is "owner/name" on GitHub.
	FullName string
	// Branches are exact branch names or prefix wildcards ("releases/*",
	// "*"). A push to a branch no rule names is ignored.
	Branches []string
	// AcceptsPullRequests lets pull requests become pushes of this
	// repository.
	AcceptsPullRequests bool
}

// Routes finds the herder repository of GitHub events.
type Routes struct {
	webURL string
	byFull map[string][]Repo
	tr     []transform.Repository
}

// NewRoutes checks the mapping. webURL is where repository URLs point
// (default DefaultWebURL).
func NewRoutes(webURL string, repos []Repo) (*Routes, error) {
	if webURL == "" {
		webURL = DefaultWebURL
	}
	r := &Routes{webURL: strings.TrimRight(webURL, "/"), byFull: map[string][]Repo{}}
	for i, repo := range repos {
		full := strings.ToLower(strings.TrimSpace(repo.FullName))
		owner, name, ok := strings.Cut(full, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("repository %d (%s): want owner/name, got %q", i, repo.Name, repo.FullName)
		}
		if repo.Name == "" {
			return nil, fmt.Errorf("repository %d (%s): the herder repository name is required", i, repo.FullName)
		}
		for _, b := range repo.Branches {
			if b == "" || strings.Contains(strings.TrimSuffix(b, "*"), "*") {
				return nil, fmt.Errorf("repository %s: branch rule %q: a '*' is allowed only at the end", repo.Name, b)
			}
		}
		repo.FullName = full
		r.byFull[full] = append(r.byFull[full], repo)
		r.tr = append(r.tr, transform.Repository{
			Name: repo.Name,
			// The transform drops ".git" everywhere in a URL (Treeherder's
			// quirk); the configured URL goes through the same so a
			// repository whose name contains ".git" still matches.
			URL:                 strings.ReplaceAll(r.URL(full), ".git", ""),
			Branches:            repo.Branches,
			AcceptsPullRequests: repo.AcceptsPullRequests,
		})
	}
	return r, nil
}

// URL is the repository's web URL, which push routing keys on.
func (r *Routes) URL(fullName string) string {
	return r.webURL + "/" + strings.ToLower(fullName)
}

// Known reports whether any entry names the GitHub repository.
func (r *Routes) Known(fullName string) bool { return len(r.byFull[strings.ToLower(fullName)]) > 0 }

// Entries returns the entries of a GitHub repository.
func (r *Routes) Entries(fullName string) []Repo { return r.byFull[strings.ToLower(fullName)] }

// AcceptsPullRequests reports whether some entry of the repository does.
func (r *Routes) AcceptsPullRequests(fullName string) bool {
	for _, e := range r.Entries(fullName) {
		if e.AcceptsPullRequests {
			return true
		}
	}
	return false
}

// Transform is the routing table in plugins/pulse/transform's terms.
func (r *Routes) Transform() []transform.Repository { return r.tr }

// ForJob finds the herder repository of a job (or check run) of fullName
// that ran on branch. pullRequest says whether the run was triggered by a
// pull request, when known: pull-request runs belong to the repository
// accepting pull requests; others follow the branch rules. When it is not
// known (a workflow_job webhook does not say), the branch rules are tried
// first, then the repository accepting pull requests.
func (r *Routes) ForJob(fullName, branch string, pullRequest *bool) (string, error) {
	url := strings.ReplaceAll(r.URL(fullName), ".git", "")
	if !r.Known(fullName) {
		return "", fmt.Errorf("%s: %w", fullName, transform.ErrUnknownRepository)
	}
	if pullRequest != nil && *pullRequest {
		res, err := transform.ResolvePullRequest(r.tr, url)
		return res.Repository, err
	}
	res, err := transform.ResolveBranch(r.tr, url, branch)
	if err == nil || pullRequest != nil || !errors.Is(err, transform.ErrUnknownRepository) {
		return res.Repository, err
	}
	if pr, perr := transform.ResolvePullRequest(r.tr, url); perr == nil {
		return pr.Repository, nil
	}
	return "", err
}
