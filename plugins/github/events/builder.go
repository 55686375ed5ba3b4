package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

// Fetcher is what the builder reads from GitHub's REST API.
type Fetcher interface {
	transform.GitHubFetcher
	// RunJobs returns the jobs of every attempt of a workflow run (etag
	// makes it conditional; see api.Client.RunJobs).
	RunJobs(ctx context.Context, owner, repo string, runID int64, etag string) ([]json.RawMessage, string, bool, error)
}

// ErrIgnored marks deliveries and API objects that make no event, for a
// reason that is no error (an unconfigured repository, a branch deletion,
// a pull request being labelled). The wrapping error says why.
var ErrIgnored = errors.New("ignored")

func ignored(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrIgnored, fmt.Sprintf(format, args...))
}

// Builder makes events of webhooks and API objects.
type Builder struct {
	routes  *Routes
	fetch   Fetcher
	pushes  *transform.PushTransformer
	apiBase string
}

// NewBuilder returns a builder reading GitHub through fetch; apiBase is the
// REST root job log URLs point at.
func NewBuilder(routes *Routes, fetch Fetcher, apiBase string) *Builder {
	return &Builder{
		routes: routes, fetch: fetch, apiBase: strings.TrimRight(apiBase, "/"),
		pushes: transform.NewPushTransformer(nil, fetch, routes.Transform()),
	}
}

// Routes returns the routing table.
func (b *Builder) Routes() *Routes { return b.routes }

// Branch of a ref: refs/heads/x → x; tags → "tag" (Treeherder's rule).
func refBranch(ref string) (branch, tag string) {
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return "tag", t
	}
	return strings.TrimPrefix(ref, "refs/heads/"), ""
}

// Push shapes the push of ref moving from before to after in fullName, as
// Treeherder's GitHub push transform does with the message taskcluster-github
// publishes for it: compare before...after, or, for a new branch (before is
// the null sha), the commits of body, the push webhook's JSON. The datum has
// Project (and Branch for a wildcard branch rule) set.
func (b *Builder) Push(ctx context.Context, fullName, before, after, ref string, body json.RawMessage) (sdk.PushDatum, error) {
	if !b.routes.Known(fullName) {
		return sdk.PushDatum{}, ignored("repository %s is not configured", fullName)
	}
	if after == NullSHA {
		return sdk.PushDatum{}, ignored("%s of %s was deleted", ref, fullName)
	}
	owner, name, _ := strings.Cut(fullName, "/")
	branch, tag := refBranch(ref)
	details := map[string]any{
		"event.type":             "push",
		"event.base.sha":         before,
		"event.head.sha":         after,
		"event.base.ref":         ref,
		"event.head.ref":         ref,
		"event.base.repo.url":    b.routes.URL(fullName) + ".git",
		"event.head.repo.url":    b.routes.URL(fullName) + ".git",
		"event.base.repo.branch": branch,
		"event.head.repo.branch": branch,
	}
	if tag != "" {
		details["event.head.tag"] = tag
	}
	if len(body) == 0 {
		body = json.RawMessage(`{}`)
	}
	msg, err := json.Marshal(map[string]any{"organization": owner, "repository": name, "details": details, "body": body})
	if err != nil {
		return sdk.PushDatum{}, err
	}
	d, err := b.pushes.Push(ctx, transform.ExchangeGitHubPush, msg)
	if errors.Is(err, transform.ErrUnknownRepository) {
		return d, ignored("no configured branch rule of %s matches %s", fullName, branch)
	}
	return d, err
}

// PullRequest shapes pull request number of fullName as Treeherder's GitHub
// pull request transform does: its commits, the last one the revision.
func (b *Builder) PullRequest(ctx context.Context, fullName string, number int, action, baseRef, headSHA string) (sdk.PushDatum, error) {
	if !b.routes.Known(fullName) {
		return sdk.PushDatum{}, ignored("repository %s is not configured", fullName)
	}
	if !b.routes.AcceptsPullRequests(fullName) {
		return sdk.PushDatum{}, ignored("no herder repository of %s accepts pull requests", fullName)
	}
	owner, name, _ := strings.Cut(fullName, "/")
	details := map[string]any{
		"event.type":             "pull_request." + action,
		"event.pullNumber":       strconv.Itoa(number),
		"event.base.repo.url":    b.routes.URL(fullName) + ".git",
		"event.base.repo.branch": baseRef,
		"event.base.ref":         baseRef,
		"event.head.sha":         headSHA,
	}
	msg, err := json.Marshal(map[string]any{"organization": owner, "repository": name, "action": action, "details": details})
	if err != nil {
		return sdk.PushDatum{}, err
	}
	return b.pushes.Push(ctx, transform.ExchangeGitHubPullRequest, msg)
}

// pullRequestActions are the actions that change a pull request's commits
// (the ones taskcluster-github publishes).
var pullRequestActions = map[string]bool{"opened": true, "reopened": true, "synchronize": true}

// Webhook makes the events of a decoded delivery. IDs are
// "github/{delivery}" ("github/{delivery}/{n}" when it makes several); Raw
// is the delivery's body (a job's API object for a completed run's jobs).
// Errors: ErrIgnored (nothing to do, said why), *PayloadError (a body that
// cannot be used), or the API's errors (worth a redelivery).
func (b *Builder) Webhook(ctx context.Context, w *Webhook, delivery string) ([]sdk.Event, error) {
	full := w.Repository.FullName
	if w.Event == EventPing {
		return nil, ignored("ping")
	}
	if !b.routes.Known(full) {
		return nil, ignored("repository %s is not configured", full)
	}
	id := "github/" + delivery
	switch {
	case w.Push != nil:
		p := w.Push
		if p.Deleted || p.After == NullSHA {
			return nil, ignored("%s of %s was deleted", p.Ref, full)
		}
		body := json.RawMessage(w.Body)
		if p.Before == NullSHA && len(p.Commits) == 0 && len(p.HeadCommit) > 0 && string(p.HeadCommit) != "null" {
			// A branch or tag created at an existing commit lists no
			// commits; Treeherder's transform would fail it. Its head
			// commit is the push.
			var err error
			if body, err = withCommits(w.Body, p.HeadCommit); err != nil {
				return nil, &PayloadError{Event: w.Event, Field: "head_commit", Reason: err.Error()}
			}
		}
		d, err := b.Push(ctx, full, p.Before, p.After, p.Ref, body)
		if err != nil {
			return nil, payloadOr(w.Event, err)
		}
		return []sdk.Event{{ID: id, Push: &d, Raw: w.Body}}, nil
	case w.PullRequest != nil:
		if !pullRequestActions[w.Action] {
			return nil, ignored("pull request action %q does not change its commits", w.Action)
		}
		pr := w.PullRequest
		d, err := b.PullRequest(ctx, full, pr.Number, w.Action, pr.PullRequest.Base.Ref, pr.PullRequest.Head.SHA)
		if err != nil {
			return nil, payloadOr(w.Event, err)
		}
		return []sdk.Event{{ID: id, Push: &d, Raw: w.Body}}, nil
	case w.WorkflowJob != nil:
		j := *w.WorkflowJob
		project, err := b.routes.ForJob(full, j.HeadBranch, nil)
		if err != nil {
			return nil, ignored("job %d: %v", j.ID, err)
		}
		d := Job(project, full, j, w.Sender, b.apiBase)
		return []sdk.Event{{ID: id, Job: &d, Raw: w.Body}}, nil
	case w.WorkflowRun != nil:
		if w.Action != "completed" {
			return nil, ignored("workflow run %s: its jobs come as workflow_job events, or all at once when it completes", w.Action)
		}
		jobs, err := b.RunJobs(ctx, full, *w.WorkflowRun)
		if err != nil {
			return nil, err
		}
		for i := range jobs {
			jobs[i].ID = fmt.Sprintf("%s/%d", id, i)
		}
		return jobs, nil
	case w.CheckRun != nil:
		c := *w.CheckRun
		if c.App.Slug == "github-actions" {
			return nil, ignored("check run of GitHub Actions: its workflow_job event carries the job")
		}
		pr := len(c.CheckSuite.PullRequests) > 0
		var prp *bool
		if pr {
			prp = &pr
		}
		project, err := b.routes.ForJob(full, c.CheckSuite.HeadBranch, prp)
		if err != nil {
			return nil, ignored("check run %d: %v", c.ID, err)
		}
		d := CheckRunJob(project, c, w.Sender)
		return []sdk.Event{{ID: id, Job: &d, Raw: w.Body}}, nil
	}
	return nil, ignored("%s event without a payload the plugin reads", w.Event)
}

// RunJobs fetches every job of a workflow run and makes job events (IDs
// "github/job/{id}/{status}/{conclusion}", Raw the job's API object). A run
// whose branch no repository takes is ErrIgnored.
func (b *Builder) RunJobs(ctx context.Context, fullName string, run WorkflowRun) ([]sdk.Event, error) {
	raws, _, _, err := b.fetch.RunJobs(ctx, owner(fullName), repoName(fullName), run.ID, "")
	if err != nil {
		return nil, err
	}
	return b.JobsOf(fullName, run, raws)
}

// JobsOf makes job events of a run's jobs as the API lists them.
func (b *Builder) JobsOf(fullName string, run WorkflowRun, raws []json.RawMessage) ([]sdk.Event, error) {
	pr := run.PullRequestTriggered()
	project, err := b.routes.ForJob(fullName, run.HeadBranch, &pr)
	if err != nil {
		return nil, ignored("workflow run %d on %s: %v", run.ID, run.HeadBranch, err)
	}
	out := make([]sdk.Event, 0, len(raws))
	for _, raw := range raws {
		var j WorkflowJob
		if err := decodeObject(raw, &j); err != nil {
			return nil, fmt.Errorf("job of run %d: %w", run.ID, err)
		}
		if err := j.validate(); err != nil {
			return nil, fmt.Errorf("job of run %d: %w", run.ID, err)
		}
		d := Job(project, fullName, j, run.Who(), b.apiBase)
		out = append(out, sdk.Event{ID: JobEventID(j), Job: &d, Raw: raw})
	}
	return out, nil
}

// JobEventID names a job in one state: "github/job/{id}/{status}/{conclusion}".
func JobEventID(j WorkflowJob) string {
	return fmt.Sprintf("github/job/%d/%s/%s", j.ID, j.Status, j.Conclusion)
}

// payloadOr turns the transform's schema errors (a payload Treeherder's
// transform refuses) into a *PayloadError; other errors pass.
func payloadOr(event string, err error) error {
	if errors.Is(err, transform.ErrSchema) || errors.Is(err, transform.ErrNotJSON) {
		return &PayloadError{Event: event, Reason: err.Error()}
	}
	return err
}

// withCommits returns body with "commits" set to [commit].
func withCommits(body []byte, commit json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	m["commits"] = json.RawMessage("[" + string(commit) + "]")
	return json.Marshal(m)
}

// WebhookCommit shapes a REST commit as a push webhook's commit, for a new
// branch found by polling (the transform reads id, message, timestamp and
// author of webhook commits).
func WebhookCommit(c transform.GitHubCommit) map[string]any {
	return map[string]any{
		"id":        c.SHA,
		"message":   c.Commit.Message,
		"timestamp": c.Commit.Committer.Date,
		"author":    map[string]string{"name": c.Commit.Author.Name, "email": c.Commit.Author.Email},
	}
}

func owner(full string) string    { o, _, _ := strings.Cut(full, "/"); return o }
func repoName(full string) string { _, n, _ := strings.Cut(full, "/"); return n }
