package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/herder-ci/herder/plugins/pulse/transform"
)

// Pages fetches a listing and follows rel="next" links, at most MaxPages
// pages. etag makes the first request conditional: a 304 there ends the call
// (first.NotModified) without calling fn. fn returns false to stop early.
// truncated says a next page was left unread because of MaxPages.
func (c *Client) Pages(ctx context.Context, target, etag string, fn func(*Response) (more bool, err error)) (first *Response, truncated bool, err error) {
	next := target
	for page := 0; next != ""; page++ {
		if page >= c.opts.MaxPages {
			return first, true, nil
		}
		tag := ""
		if page == 0 {
			tag = etag
		}
		resp, err := c.Get(ctx, next, tag)
		if err != nil {
			return first, false, err
		}
		if page == 0 {
			first = resp
			if resp.NotModified {
				return first, false, nil
			}
		}
		more, err := fn(resp)
		if err != nil || !more {
			return first, false, err
		}
		next = resp.Next
	}
	return first, false, nil
}

// RepoPath is "repos/{owner}/{repo}" with both parts escaped.
func RepoPath(owner, repo string) string {
	return "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
}

// Compare returns every commit of GET /repos/{owner}/{repo}/compare/{base}...{head},
// oldest first (transform.GitHubFetcher).
func (c *Client) Compare(ctx context.Context, owner, repo, base, head string) ([]transform.GitHubCommit, error) {
	target := fmt.Sprintf("%s/compare/%s...%s?per_page=100", RepoPath(owner, repo), url.PathEscape(base), url.PathEscape(head))
	return c.commits(ctx, target, true)
}

// PullRequestCommits returns GET /repos/{owner}/{repo}/pulls/{number}/commits,
// every page (transform.GitHubFetcher).
func (c *Client) PullRequestCommits(ctx context.Context, owner, repo string, number int) ([]transform.GitHubCommit, error) {
	target := fmt.Sprintf("%s/pulls/%d/commits?per_page=100", RepoPath(owner, repo), number)
	return c.commits(ctx, target, false)
}

func (c *Client) commits(ctx context.Context, target string, compare bool) ([]transform.GitHubCommit, error) {
	var all []transform.GitHubCommit
	_, truncated, err := c.Pages(ctx, target, "", func(r *Response) (bool, error) {
		var commits []transform.GitHubCommit
		var err error
		if compare {
			var doc struct {
				Commits []transform.GitHubCommit `json:"commits"`
			}
			err = json.Unmarshal(r.Body, &doc)
			commits = doc.Commits
		} else {
			err = json.Unmarshal(r.Body, &commits)
		}
		if err != nil {
			return false, fmt.Errorf("GitHub API %s: commit list: %w", target, err)
		}
		all = append(all, commits...)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if truncated {
		return nil, fmt.Errorf("GitHub API %s: more than %d pages of commits", target, c.opts.MaxPages)
	}
	return all, nil
}

// Commit returns GET /repos/{owner}/{repo}/commits/{sha}.
func (c *Client) Commit(ctx context.Context, owner, repo, sha string) (transform.GitHubCommit, error) {
	var commit transform.GitHubCommit
	resp, err := c.Get(ctx, RepoPath(owner, repo)+"/commits/"+url.PathEscape(sha), "")
	if err != nil {
		return commit, err
	}
	if err := json.Unmarshal(resp.Body, &commit); err != nil {
		return commit, fmt.Errorf("GitHub API commit %s: %w", sha, err)
	}
	return commit, nil
}

// DefaultBranch returns the repository's default branch.
func (c *Client) DefaultBranch(ctx context.Context, owner, repo string) (string, error) {
	resp, err := c.Get(ctx, RepoPath(owner, repo), "")
	if err != nil {
		return "", err
	}
	var r struct {
		DefaultBranch string `json:"default_branch"`
	}
	if err := json.Unmarshal(resp.Body, &r); err != nil || r.DefaultBranch == "" {
		return "", fmt.Errorf("GitHub API repository %s/%s: no default_branch", owner, repo)
	}
	return r.DefaultBranch, nil
}

// RunJobs returns the jobs of every attempt of a workflow run
// (GET /repos/{owner}/{repo}/actions/runs/{id}/jobs?filter=all), each as the
// API's JSON object. etag makes the first page conditional: on a 304,
// notModified is set and jobs is nil. The returned etag is the first
// page's.
func (c *Client) RunJobs(ctx context.Context, owner, repo string, runID int64, etag string) (jobs []json.RawMessage, newETag string, notModified bool, err error) {
	target := fmt.Sprintf("%s/actions/runs/%d/jobs?filter=all&per_page=100", RepoPath(owner, repo), runID)
	first, truncated, err := c.Pages(ctx, target, etag, func(r *Response) (bool, error) {
		var page struct {
			Jobs []json.RawMessage `json:"jobs"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			return false, fmt.Errorf("GitHub API jobs of run %d: %w", runID, err)
		}
		jobs = append(jobs, page.Jobs...)
		return true, nil
	})
	if err != nil {
		return nil, "", false, err
	}
	if first.NotModified {
		return nil, first.ETag, true, nil
	}
	if truncated {
		return nil, "", false, fmt.Errorf("GitHub API jobs of run %d: more than %d pages", runID, c.opts.MaxPages)
	}
	return jobs, first.ETag, false, nil
}
