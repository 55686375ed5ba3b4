package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/herder-ci/herder/plugins/github/api"
	"github.com/herder-ci/herder/plugins/github/events"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

// poller reads repositories without webhooks through the REST API.
type poller struct {
	cfg    *Config
	client *api.Client
	b      *events.Builder
	sink   sdk.Sink
	log    *slog.Logger
	stats  *Stats
	now    func() time.Time
	repos  []PolledRepo
}

func (p *poller) loop(ctx context.Context) {
	failures := 0
	for {
		err := p.pollAll(ctx)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		wait, failures = nextWait(p.now(), time.Duration(p.cfg.Interval), time.Duration(p.cfg.MaxBackoff), err, failures)
		if err != nil {
			p.log.Warn("github poll failed; cursors hold what the host accepted", "error", err, "next_poll_in", wait.Round(time.Second).String())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// nextWait is the pause before the next poll: the interval after a good
// poll; until a rate limit lifts (at least the interval) after one; the
// interval doubled per consecutive failure, up to maxBackoff, after other
// failures. It returns the new count of consecutive failures.
func nextWait(now time.Time, interval, maxBackoff time.Duration, err error, failures int) (time.Duration, int) {
	if err == nil {
		return interval, 0
	}
	if rl, ok := api.AsRateLimit(err); ok {
		return max(rl.Until.Sub(now)+time.Second, interval), failures + 1
	}
	d := interval << min(failures, 16)
	if d <= 0 || d > maxBackoff {
		d = max(maxBackoff, interval)
	}
	return d, failures + 1
}

// pollAll polls every repository once. A rate limit stops the round: the
// others would meet it too.
func (p *poller) pollAll(ctx context.Context) error {
	var errs []error
	for _, r := range p.repos {
		p.stats.Polls.Add(1)
		err := p.PollRepo(ctx, r)
		if err == nil {
			continue
		}
		p.stats.PollErrors.Add(1)
		if _, ok := api.AsRateLimit(err); ok {
			p.stats.RateLimited.Add(1)
			return err
		}
		errs = append(errs, fmt.Errorf("%s: %w", r.FullName, err))
	}
	return errors.Join(errs...)
}

// PollRepo reads one repository's new pushes, pull request heads and
// workflow jobs. Each part's cursor moves only after the host accepted its
// events; a failed part leaves its cursor where it was.
func (p *poller) PollRepo(ctx context.Context, r PolledRepo) error {
	path := stateFile(p.cfg.StateDir, r.FullName)
	st, err := readState(path)
	if err != nil {
		return err
	}
	save := func() error { return writeState(path, st) }
	log := p.log.With("repository", r.FullName)
	var errs []error
	parts := []func(context.Context, string, *RepoState, func() error, *slog.Logger) error{p.pushes}
	if p.b.Routes().AcceptsPullRequests(r.FullName) {
		parts = append(parts, p.pulls)
	}
	if r.Actions {
		parts = append(parts, p.runs)
	}
	for _, part := range parts {
		if err := part(ctx, r.FullName, st, save, log); err != nil {
			if _, ok := api.AsRateLimit(err); ok || ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// batch collects events and the cursor moves they stand for: flush hands
// the events to the host and, only if it accepted them, applies the moves
// and saves the cursor file.
type batch struct {
	p       *poller
	save    func() error
	events  []sdk.Event
	commits []func()
}

func (b *batch) add(ctx context.Context, evs []sdk.Event, commit func()) error {
	b.events = append(b.events, evs...)
	if commit != nil {
		b.commits = append(b.commits, commit)
	}
	if len(b.events) >= b.p.cfg.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

func (b *batch) flush(ctx context.Context) error {
	if len(b.events) > 0 {
		if err := b.p.sink.Send(ctx, b.events...); err != nil {
			b.p.stats.SendErrors.Add(1)
			return fmt.Errorf("send %d events: %w", len(b.events), err)
		}
		b.p.stats.EventsSent.Add(int64(len(b.events)))
	}
	for _, c := range b.commits {
		c()
	}
	b.events, b.commits = nil, nil
	return b.save()
}

// activity is one entry of GET /repos/{o}/{r}/activity.
type activity struct {
	ID           int64  `json:"id"`
	Before       string `json:"before"`
	After        string `json:"after"`
	Ref          string `json:"ref"`
	Timestamp    string `json:"timestamp"`
	ActivityType string `json:"activity_type"`
	raw          json.RawMessage
}

// pushActivities are the activity types that move a ref to new commits.
var pushActivities = map[string]bool{"push": true, "force_push": true, "branch_creation": true, "pr_merge": true, "merge_queue_merge": true}

// pushes reads the repository activity list (newest first) down to the
// cursor and turns each push into a push event, oldest first.
func (p *poller) pushes(ctx context.Context, full string, st *RepoState, save func() error, log *slog.Logger) error {
	cur := &st.Pushes
	target := api.RepoPath(owner(full), repoName(full)) + "/activity?per_page=100"
	etag := ""
	if cur.Started {
		etag = cur.ETag
	}
	initial := *p.cfg.InitialPushes
	var fresh []activity
	pushable := 0
	newest := cur.LastID
	first, truncated, err := p.client.Pages(ctx, target, etag, func(r *api.Response) (bool, error) {
		var page []json.RawMessage
		if err := json.Unmarshal(r.Body, &page); err != nil {
			return false, fmt.Errorf("activity list: %w", err)
		}
		for _, raw := range page {
			var a activity
			if err := json.Unmarshal(raw, &a); err != nil {
				return false, fmt.Errorf("activity list: %w", err)
			}
			if cur.Started && a.ID <= cur.LastID {
				return false, nil
			}
			newest = max(newest, a.ID)
			if !cur.Started && pushable >= initial {
				return false, nil
			}
			a.raw = raw
			fresh = append(fresh, a)
			if pushActivities[a.ActivityType] {
				pushable++
			}
		}
		return len(page) > 0, nil
	})
	if err != nil {
		return fmt.Errorf("pushes: %w", err)
	}
	if first.NotModified {
		return nil
	}
	if truncated && cur.Started {
		log.Warn("more activity since the last poll than max_pages lists; older pushes are skipped", "max_pages", p.cfg.MaxPages)
	}
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].ID < fresh[j].ID })
	bt := &batch{p: p, save: save}
	var failed error
	for _, a := range fresh {
		id := a.ID
		move := func() { cur.LastID, cur.Started = max(cur.LastID, id), true }
		if !pushActivities[a.ActivityType] {
			bt.commits = append(bt.commits, move)
			continue
		}
		d, err := p.activityPush(ctx, full, a)
		switch {
		case errors.Is(err, events.ErrIgnored):
			log.Debug("push ignored", "activity", a.ID, "reason", err.Error())
			bt.commits = append(bt.commits, move)
			continue
		case errors.Is(err, transform.ErrSchema):
			// Retrying gives the same (e.g. a force push back to an older
			// commit compares to no commits): logged and passed.
			log.Warn("push skipped: GitHub's answer cannot be shaped as a push", "activity", a.ID, "ref", a.Ref, "error", err)
			bt.commits = append(bt.commits, move)
			continue
		case err != nil:
			failed = fmt.Errorf("push of activity %d (%s %s): %w", a.ID, a.Ref, a.After, err)
		}
		if failed != nil {
			break
		}
		ev := sdk.Event{ID: fmt.Sprintf("github/activity/%s/%d", full, a.ID), Push: &d, Raw: a.raw}
		if err := bt.add(ctx, []sdk.Event{ev}, move); err != nil {
			return fmt.Errorf("pushes: %w", err)
		}
	}
	if err := bt.flush(ctx); err != nil {
		return fmt.Errorf("pushes: %w", err)
	}
	if failed != nil {
		return failed
	}
	cur.LastID, cur.Started = max(cur.LastID, newest), true
	cur.ETag = first.ETag
	if n := len(fresh); n > 0 {
		log.Info("github pushes polled", "activities", n, "last_id", cur.LastID)
	}
	return save()
}

// activityPush shapes one activity's push: compare before...after, or for
// a new branch its head commit alone (a webhook would list the branch's new
// commits; the activity list does not).
func (p *poller) activityPush(ctx context.Context, full string, a activity) (sdk.PushDatum, error) {
	if !events.IsSHA(a.After) || a.After == events.NullSHA {
		return sdk.PushDatum{}, fmt.Errorf("%w: activity %d has no new head", events.ErrIgnored, a.ID)
	}
	before := a.Before
	var body json.RawMessage
	if !events.IsSHA(before) || before == events.NullSHA {
		before = events.NullSHA
		c, err := p.client.Commit(ctx, owner(full), repoName(full), a.After)
		if err != nil {
			return sdk.PushDatum{}, err
		}
		body, _ = json.Marshal(map[string]any{"commits": []any{events.WebhookCommit(c)}})
	}
	return p.b.Push(ctx, full, before, a.After, a.Ref, body)
}

// pull is one entry of GET /repos/{o}/{r}/pulls.
type pull struct {
	Number    int    `json:"number"`
	UpdatedAt string `json:"updated_at"`
	Head      struct {
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
	raw json.RawMessage
}

// pulls makes a push of every open pull request whose head moved since it
// was last seen. The first poll takes the ones updated within track_for.
func (p *poller) pulls(ctx context.Context, full string, st *RepoState, save func() error, log *slog.Logger) error {
	cur := &st.Pulls
	target := api.RepoPath(owner(full), repoName(full)) + "/pulls?state=open&sort=updated&direction=desc&per_page=100"
	etag := ""
	if cur.Started {
		etag = cur.ETag
	}
	var open []pull
	first, truncated, err := p.client.Pages(ctx, target, etag, func(r *api.Response) (bool, error) {
		var page []json.RawMessage
		if err := json.Unmarshal(r.Body, &page); err != nil {
			return false, fmt.Errorf("pull request list: %w", err)
		}
		for _, raw := range page {
			var pr pull
			if err := json.Unmarshal(raw, &pr); err != nil {
				return false, fmt.Errorf("pull request list: %w", err)
			}
			pr.raw = raw
			open = append(open, pr)
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("pull requests: %w", err)
	}
	if first.NotModified {
		return nil
	}
	if cur.Heads == nil {
		cur.Heads = map[string]string{}
	}
	cutoff := p.now().Add(-time.Duration(p.cfg.TrackFor))
	bt := &batch{p: p, save: save}
	var failed error
	for _, pr := range open {
		key, sha := strconv.Itoa(pr.Number), pr.Head.SHA
		if cur.Heads[key] == sha || !events.IsSHA(sha) {
			continue
		}
		mark := func() { cur.Heads[key] = sha }
		if !cur.Started {
			if ts, err := time.Parse(time.RFC3339, pr.UpdatedAt); err == nil && ts.Before(cutoff) {
				bt.commits = append(bt.commits, mark)
				continue
			}
		}
		d, err := p.b.PullRequest(ctx, full, pr.Number, "synchronize", pr.Base.Ref, sha)
		if errors.Is(err, events.ErrIgnored) || errors.Is(err, transform.ErrSchema) {
			log.Info("pull request skipped", "number", pr.Number, "reason", err.Error())
			bt.commits = append(bt.commits, mark)
			continue
		}
		if err != nil {
			failed = fmt.Errorf("pull request %d: %w", pr.Number, err)
			break
		}
		ev := sdk.Event{ID: fmt.Sprintf("github/pull/%s/%d/%s", full, pr.Number, sha), Push: &d, Raw: pr.raw}
		if err := bt.add(ctx, []sdk.Event{ev}, mark); err != nil {
			return fmt.Errorf("pull requests: %w", err)
		}
	}
	if err := bt.flush(ctx); err != nil {
		return fmt.Errorf("pull requests: %w", err)
	}
	if failed != nil {
		return failed
	}
	if !truncated {
		listed := map[string]bool{}
		for _, pr := range open {
			listed[strconv.Itoa(pr.Number)] = true
		}
		for k := range cur.Heads {
			if !listed[k] {
				delete(cur.Heads, k) // closed
			}
		}
		cur.ETag = first.ETag
	}
	cur.Started = true
	return save()
}

// runsTarget is the runs listing of workflow runs created since the
// start of since's day: the URL changes once a day, so its ETag holds.
func runsTarget(full string, since time.Time) string {
	return api.RepoPath(owner(full), repoName(full)) + "/actions/runs?per_page=100&created=" +
		url.QueryEscape(">="+since.UTC().Format("2006-01-02"))
}

// runs follows workflow runs created within track_for: each run that is
// new or changed, or not finished, has its jobs listed (conditionally),
// and the jobs whose state changed are sent.
func (p *poller) runs(ctx context.Context, full string, st *RepoState, save func() error, log *slog.Logger) error {
	cur := &st.Runs
	since := p.now().Add(-time.Duration(p.cfg.TrackFor))
	target := runsTarget(full, since)
	etag := ""
	if cur.URL == target {
		etag = cur.ETag
	}
	listed := map[int64]events.WorkflowRun{}
	first, truncated, err := p.client.Pages(ctx, target, etag, func(r *api.Response) (bool, error) {
		var page struct {
			WorkflowRuns []events.WorkflowRun `json:"workflow_runs"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			return false, fmt.Errorf("workflow run list: %w", err)
		}
		for _, run := range page.WorkflowRuns {
			listed[run.ID] = run
		}
		return len(page.WorkflowRuns) > 0, nil
	})
	if err != nil {
		return fmt.Errorf("workflow runs: %w", err)
	}
	if truncated {
		log.Warn("more workflow runs than max_pages lists; the oldest are not followed", "max_pages", p.cfg.MaxPages)
	}
	if cur.Tracked == nil {
		cur.Tracked = map[string]*TrackedRun{}
	}
	// Unfinished runs are read even when the list did not change: a run's
	// jobs move on without the run object changing.
	todo := map[int64]events.WorkflowRun{}
	for id, run := range listed {
		todo[id] = run
	}
	for key, tr := range cur.Tracked {
		id, _ := strconv.ParseInt(key, 10, 64)
		if _, ok := todo[id]; !ok && !tr.Done {
			todo[id] = tr.run(id)
		}
	}
	ids := make([]int64, 0, len(todo))
	for id := range todo {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	bt := &batch{p: p, save: save}
	var errs []error
	for _, id := range ids {
		run := todo[id]
		key := strconv.FormatInt(id, 10)
		old := cur.Tracked[key]
		if old != nil && old.Done && old.UpdatedAt == run.UpdatedAt && old.Attempt == run.RunAttempt {
			continue
		}
		next := &TrackedRun{CreatedAt: run.CreatedAt, UpdatedAt: run.UpdatedAt, Attempt: run.RunAttempt,
			HeadBranch: run.HeadBranch, Event: run.Event, Who: run.Who(), Status: run.Status, Sent: map[string]string{}}
		jobsETag := ""
		if old != nil {
			jobsETag = old.JobsETag
			for k, v := range old.Sent {
				next.Sent[k] = v
			}
		}
		raws, newETag, notModified, err := p.client.RunJobs(ctx, owner(full), repoName(full), id, jobsETag)
		if err != nil {
			if _, ok := api.AsRateLimit(err); ok || ctx.Err() != nil {
				if ferr := bt.flush(ctx); ferr != nil {
					return ferr
				}
				return err
			}
			errs = append(errs, fmt.Errorf("jobs of run %d: %w", id, err))
			continue
		}
		if notModified {
			next.JobsETag, next.Done = old.JobsETag, old.Done || (run.Status == "completed" && old.allSentCompleted())
			if next.Done {
				next.Sent = nil
			}
			bt.commits = append(bt.commits, func() { cur.Tracked[key] = next })
			continue
		}
		evs, err := p.b.JobsOf(full, run, raws)
		if errors.Is(err, events.ErrIgnored) {
			log.Debug("workflow run ignored", "run", id, "reason", err.Error())
			next.Done, next.Sent = true, nil
			bt.commits = append(bt.commits, func() { cur.Tracked[key] = next })
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		next.JobsETag = newETag
		var changed []sdk.Event
		allDone := run.Status == "completed"
		for _, ev := range evs {
			j := ev.Job.Job
			jobKey := jobKeyOf(j.JobGUID)
			stateKey := j.State + "/" + j.Result
			if j.State != sdk.StateCompleted {
				allDone = false
			}
			if next.Sent[jobKey] == stateKey {
				continue
			}
			next.Sent[jobKey] = stateKey
			changed = append(changed, ev)
		}
		if allDone {
			next.Done, next.Sent = true, nil
		}
		if err := bt.add(ctx, changed, func() { cur.Tracked[key] = next }); err != nil {
			return fmt.Errorf("workflow runs: %w", err)
		}
	}
	// Runs older than track_for are no longer followed.
	for key, tr := range cur.Tracked {
		if ts, err := time.Parse(time.RFC3339, tr.CreatedAt); err == nil && ts.Before(since) {
			k := key
			bt.commits = append(bt.commits, func() { delete(cur.Tracked, k) })
		}
	}
	if err := bt.flush(ctx); err != nil {
		return fmt.Errorf("workflow runs: %w", err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if !first.NotModified && !truncated {
		cur.URL, cur.ETag = target, first.ETag
	}
	return save()
}

// jobKeyOf is the job id part of a guid.
func jobKeyOf(guid string) string { return guid[strings.LastIndexByte(guid, '/')+1:] }

// run rebuilds what routing needs of a tracked run.
func (tr *TrackedRun) run(id int64) events.WorkflowRun {
	r := events.WorkflowRun{ID: id, RunAttempt: tr.Attempt, Event: tr.Event, Status: tr.Status,
		HeadBranch: tr.HeadBranch, CreatedAt: tr.CreatedAt, UpdatedAt: tr.UpdatedAt}
	if tr.Who != "" {
		r.TriggeringActor = &events.User{Login: tr.Who}
	}
	return r
}

func (tr *TrackedRun) allSentCompleted() bool {
	if len(tr.Sent) == 0 {
		return false
	}
	for _, v := range tr.Sent {
		if !strings.HasPrefix(v, sdk.StateCompleted+"/") {
			return false
		}
	}
	return true
}

func owner(full string) string    { o, _, _ := strings.Cut(full, "/"); return o }
func repoName(full string) string { _, n, _ := strings.Cut(full, "/"); return n }
