package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/herder-ci/herder/plugins/github/api"
	"github.com/herder-ci/herder/plugins/github/events"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

// BackfillOptions configure a backfill of one repository.
type BackfillOptions struct {
	// Repo is "owner/name" on GitHub; HerderRepo the herder repository.
	Repo       string
	HerderRepo string
	// Branches and AcceptsPullRequests are the herder repository's rules.
	Branches            []string
	AcceptsPullRequests bool
	// Since is the oldest time read.
	Since time.Time
	// APIURL, WebURL and Token as the plugin's settings.
	APIURL, WebURL, Token string
	// MaxPages bounds each listing (default 100 pages of 100).
	MaxPages int
	// NoPulls and NoActions leave pull requests / workflow runs out.
	NoPulls, NoActions bool
	Transport          http.RoundTripper
	Logger             *slog.Logger
	Now                func() time.Time
}

// Backfill reads a repository's pushes, pull requests and workflow jobs
// since a date through the plugin's transforms, for `herder ingest github`.
type Backfill struct {
	opts   BackfillOptions
	full   string
	client *api.Client
	b      *events.Builder
	log    *slog.Logger
	sleep  func(context.Context, time.Duration) error
}

// NewBackfill checks opts.
func NewBackfill(opts BackfillOptions) (*Backfill, error) {
	if opts.MaxPages <= 0 {
		opts.MaxPages = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Branches) == 0 {
		opts.Branches = []string{"*"}
	}
	routes, err := events.NewRoutes(opts.WebURL, []events.Repo{{Name: opts.HerderRepo, FullName: opts.Repo,
		Branches: opts.Branches, AcceptsPullRequests: opts.AcceptsPullRequests}})
	if err != nil {
		return nil, err
	}
	client, err := api.New(api.Options{BaseURL: opts.APIURL, Token: opts.Token, UserAgent: "herder-ingest/" + sdk.SDKVersion,
		MaxPages: opts.MaxPages, Transport: opts.Transport, Logger: opts.Logger, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	return &Backfill{opts: opts, full: strings.ToLower(opts.Repo), client: client,
		b: events.NewBuilder(routes, client, client.BaseURL()), log: opts.Logger, sleep: sleepCtx}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// BackfillPlan is what a backfill will read, listed first so progress has
// a total.
type BackfillPlan struct {
	// Activities are the pushes from the activity list, oldest first.
	Activities []activity
	// Commits are single-commit pushes for history older than the activity
	// list reaches, oldest first, with the branch they were listed on.
	Commits []branchCommit
	Pulls   []pull
	Runs    []events.WorkflowRun
	runIDs  map[int64]bool
}

type branchCommit struct {
	Branch string
	Commit transform.GitHubCommit
	raw    json.RawMessage
}

// Total is the number of items Run works through.
func (p *BackfillPlan) Total() int {
	return len(p.Activities) + len(p.Commits) + len(p.Pulls) + len(p.Runs)
}

// withLimits retries f while GitHub rate-limits it, sleeping until the
// limit lifts: a backfill has nothing better to do.
func (bf *Backfill) withLimits(ctx context.Context, f func() error) error {
	for {
		err := f()
		rl, ok := api.AsRateLimit(err)
		if !ok {
			return err
		}
		wait := max(rl.Until.Sub(bf.opts.Now()), time.Second)
		bf.log.Warn("GitHub rate limit; waiting", "until", rl.Until.UTC().Format(time.RFC3339), "wait", wait.Round(time.Second).String())
		if err := bf.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Plan lists what the backfill reads: pushes from the repository activity
// list back to Since (and, where that list does not reach back far enough,
// the commits of the configured branches, one push each), pull requests
// updated since Since, and workflow runs created since Since.
func (bf *Backfill) Plan(ctx context.Context) (*BackfillPlan, error) {
	plan := &BackfillPlan{runIDs: map[int64]bool{}}
	since := bf.opts.Since
	o, n := owner(bf.full), repoName(bf.full)
	reached := false
	oldest := bf.opts.Now()
	err := bf.withLimits(ctx, func() error {
		plan.Activities, reached = nil, false
		_, _, err := bf.client.Pages(ctx, api.RepoPath(o, n)+"/activity?per_page=100&direction=desc", "", func(r *api.Response) (bool, error) {
			var page []json.RawMessage
			if err := json.Unmarshal(r.Body, &page); err != nil {
				return false, fmt.Errorf("activity list: %w", err)
			}
			for _, raw := range page {
				var a activity
				if err := json.Unmarshal(raw, &a); err != nil {
					return false, fmt.Errorf("activity list: %w", err)
				}
				ts, err := time.Parse(time.RFC3339, a.Timestamp)
				if err != nil {
					continue
				}
				if ts.Before(since) {
					reached = true
					return false, nil
				}
				oldest = ts
				if pushActivities[a.ActivityType] {
					a.raw = raw
					plan.Activities = append(plan.Activities, a)
				}
			}
			return len(page) > 0, nil
		})
		return err
	})
	if err != nil && !api.IsNotFound(err) {
		return nil, err
	}
	sort.Slice(plan.Activities, func(i, j int) bool { return plan.Activities[i].ID < plan.Activities[j].ID })
	if !reached {
		// The activity list ends after Since: older history comes from
		// the branches' commits.
		if err := bf.planCommits(ctx, plan, oldest); err != nil {
			return nil, err
		}
	}
	if bf.opts.AcceptsPullRequests && !bf.opts.NoPulls {
		if err := bf.planPulls(ctx, plan); err != nil {
			return nil, err
		}
	}
	if !bf.opts.NoActions {
		if err := bf.planRuns(ctx, plan); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// planCommits lists the commits of each exact branch rule (the default
// branch when the rules are all wildcards) from Since until before.
func (bf *Backfill) planCommits(ctx context.Context, plan *BackfillPlan, before time.Time) error {
	o, n := owner(bf.full), repoName(bf.full)
	var branches []string
	for _, b := range bf.opts.Branches {
		if !strings.HasSuffix(b, "*") {
			branches = append(branches, b)
		}
	}
	if len(branches) == 0 {
		var def string
		if err := bf.withLimits(ctx, func() (err error) { def, err = bf.client.DefaultBranch(ctx, o, n); return err }); err != nil {
			return err
		}
		branches = []string{def}
	}
	seen := map[string]bool{}
	for _, br := range branches {
		var list []branchCommit
		target := fmt.Sprintf("%s/commits?sha=%s&since=%s&until=%s&per_page=100", api.RepoPath(o, n), url.QueryEscape(br),
			url.QueryEscape(bf.opts.Since.UTC().Format(time.RFC3339)), url.QueryEscape(before.UTC().Format(time.RFC3339)))
		err := bf.withLimits(ctx, func() error {
			list = nil
			_, _, err := bf.client.Pages(ctx, target, "", func(r *api.Response) (bool, error) {
				var page []json.RawMessage
				if err := json.Unmarshal(r.Body, &page); err != nil {
					return false, fmt.Errorf("commit list: %w", err)
				}
				for _, raw := range page {
					var c transform.GitHubCommit
					if err := json.Unmarshal(raw, &c); err != nil {
						return false, fmt.Errorf("commit list: %w", err)
					}
					list = append(list, branchCommit{Branch: br, Commit: c, raw: raw})
				}
				return len(page) > 0, nil
			})
			return err
		})
		if api.IsNotFound(err) {
			bf.log.Warn("branch not found; its history is skipped", "branch", br)
			continue
		}
		if err != nil {
			return err
		}
		slices.Reverse(list) // the API lists newest first
		for _, c := range list {
			if !seen[c.Commit.SHA] {
				seen[c.Commit.SHA] = true
				plan.Commits = append(plan.Commits, c)
			}
		}
	}
	return nil
}

func (bf *Backfill) planPulls(ctx context.Context, plan *BackfillPlan) error {
	o, n := owner(bf.full), repoName(bf.full)
	return bf.withLimits(ctx, func() error {
		plan.Pulls = nil
		_, _, err := bf.client.Pages(ctx, api.RepoPath(o, n)+"/pulls?state=all&sort=updated&direction=desc&per_page=100", "", func(r *api.Response) (bool, error) {
			var page []json.RawMessage
			if err := json.Unmarshal(r.Body, &page); err != nil {
				return false, fmt.Errorf("pull request list: %w", err)
			}
			for _, raw := range page {
				var pr pull
				if err := json.Unmarshal(raw, &pr); err != nil {
					return false, fmt.Errorf("pull request list: %w", err)
				}
				if ts, err := time.Parse(time.RFC3339, pr.UpdatedAt); err == nil && ts.Before(bf.opts.Since) {
					return false, nil
				}
				pr.raw = raw
				plan.Pulls = append(plan.Pulls, pr)
			}
			return len(page) > 0, nil
		})
		return err
	})
}

// planRuns lists workflow runs one day at a time: a filtered listing
// returns at most 1,000 runs, so a day is the unit that stays under it.
func (bf *Backfill) planRuns(ctx context.Context, plan *BackfillPlan) error {
	o, n := owner(bf.full), repoName(bf.full)
	day := bf.opts.Since.UTC().Truncate(24 * time.Hour)
	end := bf.opts.Now().UTC()
	for ; !day.After(end); day = day.Add(24 * time.Hour) {
		target := api.RepoPath(o, n) + "/actions/runs?per_page=100&created=" + day.Format("2006-01-02")
		var runs []events.WorkflowRun
		err := bf.withLimits(ctx, func() error {
			runs = nil
			_, truncated, err := bf.client.Pages(ctx, target, "", func(r *api.Response) (bool, error) {
				var page struct {
					WorkflowRuns []events.WorkflowRun `json:"workflow_runs"`
				}
				if err := json.Unmarshal(r.Body, &page); err != nil {
					return false, fmt.Errorf("workflow run list: %w", err)
				}
				for _, run := range page.WorkflowRuns {
					if ts, err := time.Parse(time.RFC3339, run.CreatedAt); err == nil && ts.Before(bf.opts.Since) {
						continue
					}
					runs = append(runs, run)
				}
				return len(page.WorkflowRuns) > 0, nil
			})
			if truncated {
				bf.log.Warn("more workflow runs in a day than max_pages lists; the rest of the day is skipped", "day", day.Format("2006-01-02"))
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, run := range runs {
			if !plan.runIDs[run.ID] {
				plan.Runs = append(plan.Runs, run)
				plan.runIDs[run.ID] = true
			}
		}
	}
	sort.Slice(plan.Runs, func(i, j int) bool { return plan.Runs[i].ID < plan.Runs[j].ID })
	return nil
}

// BackfillSummary counts what a backfill stored.
type BackfillSummary struct {
	Pushes, PullRequests, Jobs, Ignored int
	Failed                              []error
}

// Run works through the plan: pushes (oldest first: the commits older
// than the activity list, then its pushes), pull requests, then
// each run's jobs, handed to send in chunks. tick is called once per item.
// Items GitHub cannot answer for are counted as failed and the run goes on;
// a send error stops it.
func (bf *Backfill) Run(ctx context.Context, plan *BackfillPlan, send func(context.Context, []sdk.Event) error, tick func()) (BackfillSummary, error) {
	var sum BackfillSummary
	var pending []sdk.Event
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := send(ctx, pending); err != nil {
			return err
		}
		pending = nil
		return nil
	}
	add := func(evs ...sdk.Event) error {
		pending = append(pending, evs...)
		if len(pending) >= 200 {
			return flush()
		}
		return nil
	}
	// item records one item's outcome; the error it returns stops the run.
	item := func(what string, build func() ([]sdk.Event, error), count *int) error {
		defer func() {
			if tick != nil {
				tick()
			}
		}()
		var evs []sdk.Event
		err := bf.withLimits(ctx, func() (err error) { evs, err = build(); return err })
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, events.ErrIgnored):
			sum.Ignored++
			bf.log.Debug("ignored", "item", what, "reason", err.Error())
			return nil
		case err != nil:
			sum.Failed = append(sum.Failed, fmt.Errorf("%s: %w", what, err))
			return nil
		}
		*count += len(evs)
		return add(evs...)
	}
	full := bf.full
	for _, c := range plan.Commits {
		c := c
		if err := item("commit "+c.Commit.SHA, func() ([]sdk.Event, error) {
			body, _ := json.Marshal(map[string]any{"commits": []any{events.WebhookCommit(c.Commit)}})
			d, err := bf.b.Push(ctx, full, events.NullSHA, c.Commit.SHA, "refs/heads/"+c.Branch, body)
			if err != nil {
				return nil, err
			}
			return []sdk.Event{{ID: fmt.Sprintf("github/commit/%s/%s", full, c.Commit.SHA), Push: &d, Raw: c.raw}}, nil
		}, &sum.Pushes); err != nil {
			return sum, err
		}
	}
	for _, a := range plan.Activities {
		a := a
		if err := item(fmt.Sprintf("activity %d (%s %s)", a.ID, a.Ref, a.After), func() ([]sdk.Event, error) {
			d, err := (&poller{client: bf.client, b: bf.b}).activityPush(ctx, full, a)
			if err != nil {
				return nil, err
			}
			return []sdk.Event{{ID: fmt.Sprintf("github/activity/%s/%d", full, a.ID), Push: &d, Raw: a.raw}}, nil
		}, &sum.Pushes); err != nil {
			return sum, err
		}
	}
	for _, pr := range plan.Pulls {
		pr := pr
		if err := item(fmt.Sprintf("pull request %d", pr.Number), func() ([]sdk.Event, error) {
			d, err := bf.b.PullRequest(ctx, full, pr.Number, "synchronize", pr.Base.Ref, pr.Head.SHA)
			if err != nil {
				return nil, err
			}
			return []sdk.Event{{ID: fmt.Sprintf("github/pull/%s/%d/%s", full, pr.Number, pr.Head.SHA), Push: &d, Raw: pr.raw}}, nil
		}, &sum.PullRequests); err != nil {
			return sum, err
		}
	}
	for _, run := range plan.Runs {
		run := run
		if err := item(fmt.Sprintf("workflow run %d", run.ID), func() ([]sdk.Event, error) {
			raws, _, _, err := bf.client.RunJobs(ctx, owner(full), repoName(full), run.ID, "")
			if err != nil {
				return nil, err
			}
			return bf.b.JobsOf(full, run, raws)
		}, &sum.Jobs); err != nil {
			return sum, err
		}
	}
	return sum, flush()
}
