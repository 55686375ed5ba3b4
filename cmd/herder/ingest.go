package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/plugins/taskcluster/importer"
	"github.com/herder-ci/herder/sdk"
)

func init() { rootCmd.AddCommand(newIngestCmd()) }

// ingestSource names what `herder ingest` stores, in metrics and the raw
// event journal.
const ingestSource = "ingest"

func newIngestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Import a push or a task from public hg and Taskcluster APIs, without Pulse",
		Long: "ingest reads pushes from a repository's hg pushlog and tasks from Taskcluster's public\n" +
			"APIs, turns them into pushes and jobs exactly as the pulse source does, and stores them in\n" +
			"the configured database, as Treeherder's `manage.py ingest` does. Requests may only reach\n" +
			"the config's allowed_hosts, the repository's host and the Taskcluster root URL's host.",
	}
	cmd.AddCommand(newIngestPushCmd(), newIngestTaskCmd(), newIngestGitHubCmd())
	return cmd
}

func newIngestPushCmd() *cobra.Command {
	var repo, rev, rootURL string
	var allTasks bool
	var workers int
	c := &cobra.Command{
		Use:   "push --repo NAME --rev REVISION [--all-tasks]",
		Short: "Import the push containing a revision, and with --all-tasks every task of its decision task's group",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if repo == "" || rev == "" {
				return usageError(errors.New("ingest push: --repo and --rev are required"))
			}
			ctx := contextOrBackground(cmd.Context())
			in, err := openIngest(ctx)
			if err != nil {
				return err
			}
			defer in.close()
			r, err := in.repository(ctx, repo)
			if err != nil {
				return err
			}
			if r.DVCSType != "hg" {
				return usageError(fmt.Errorf("ingest push: %s is a %s repository; only hg pushlogs can be read (GitHub pushes come through the pulse source)", r.Name, r.DVCSType))
			}
			root, err := in.rootURL(rootURL, r.TCRootURL)
			if err != nil {
				return err
			}
			im, err := in.importer(workers, root, r.URL)
			if err != nil {
				return err
			}
			push, err := im.HgPush(ctx, r.URL, r.Name, rev)
			if err != nil {
				return err
			}
			if err := in.pipeline.Accept(ctx, ingestSource, []sdk.Event{pushEvent(push)}); err != nil {
				return fmt.Errorf("store push: %w", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "stored push %s of %s (pushlog id %d, %d commits)\n", push.Data.Revision, r.Name, push.ID, len(push.Data.Revisions))
			if !allTasks {
				fmt.Fprintln(out, "add --all-tasks to import the push's tasks too")
				return nil
			}
			decision, err := im.DecisionTask(ctx, root, r.Name, push.Data.Revision)
			if err != nil {
				return err
			}
			var entries []importer.TaskEntry
			if err := im.GroupTasks(ctx, root, decision, func(page []importer.TaskEntry) error {
				entries = append(entries, page...)
				return nil
			}); err != nil {
				return err
			}
			sum, err := in.storeTasks(ctx, im, root, entries, cmd.ErrOrStderr())
			fmt.Fprintf(out, "task group %s: %d tasks, %d jobs stored, %d tasks skipped, %d failed\n",
				decision, len(entries), sum.jobs, sum.skipped, len(sum.failed))
			if err != nil {
				return err
			}
			return sum.err()
		},
	}
	f := c.Flags()
	f.StringVar(&repo, "repo", "", "repository name (as configured; the built-in Mozilla ones included)")
	f.StringVar(&rev, "rev", "", "a revision of the push (any of its changesets)")
	f.BoolVar(&allTasks, "all-tasks", false, "also import every task of the push's decision task group")
	f.StringVar(&rootURL, "root-url", "", "Taskcluster root URL (default: the repository's tc_root_url, else "+importer.DefaultRootURL+")")
	f.IntVar(&workers, "workers", 8, "tasks transformed concurrently (each completed task lists its artifacts)")
	return c
}

func newIngestTaskCmd() *cobra.Command {
	var taskIDs []string
	var rootURL string
	c := &cobra.Command{
		Use:   "task --task-id ID [--task-id ID...]",
		Short: "Import one task (every run of it) as jobs; its push is fetched first when missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(taskIDs) == 0 {
				return usageError(errors.New("ingest task: --task-id is required"))
			}
			ctx := contextOrBackground(cmd.Context())
			in, err := openIngest(ctx)
			if err != nil {
				return err
			}
			defer in.close()
			root, err := in.rootURL(rootURL, "")
			if err != nil {
				return err
			}
			im, err := in.importer(1, root)
			if err != nil {
				return err
			}
			var entries []importer.TaskEntry
			for _, id := range taskIDs {
				e, err := im.TaskStatus(ctx, root, id)
				if err != nil {
					return err
				}
				entries = append(entries, e)
			}
			sum, err := in.storeTasks(ctx, im, root, entries, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			for _, s := range sum.skips {
				fmt.Fprintf(cmd.OutOrStdout(), "skipped: %v\n", s)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d jobs stored from %d tasks\n", sum.jobs, len(entries))
			return sum.err()
		},
	}
	c.Flags().StringSliceVar(&taskIDs, "task-id", nil, "Taskcluster task id (repeatable)")
	c.Flags().StringVar(&rootURL, "root-url", "", "Taskcluster root URL (default "+importer.DefaultRootURL+")")
	return c
}

// ingestRun is what both ingest commands work with.
type ingestRun struct {
	cfg      *config.Config
	st       *sqlstore.Store
	pipeline *ingest.Pipeline
	repos    []model.Repository
}

func openIngest(ctx context.Context) (*ingestRun, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := prepareStore(ctx, st, cfg, cfg.Storage.AutoMigrate); err != nil {
		st.Close()
		return nil, err
	}
	repos, err := st.Repositories(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &ingestRun{cfg: cfg, st: st, pipeline: ingest.NewPipeline(st, newLogger(cfg), nil), repos: repos}, nil
}

func (in *ingestRun) close() { in.st.Close() }

func (in *ingestRun) repository(_ context.Context, name string) (model.Repository, error) {
	for _, r := range in.repos {
		if r.Name == name {
			return r, nil
		}
	}
	return model.Repository{}, usageError(fmt.Errorf("unknown repository %q: it is neither built in nor in the config", name))
}

func (in *ingestRun) rootURL(flag, repoDefault string) (string, error) {
	root := flag
	if root == "" {
		root = repoDefault
	}
	if root == "" {
		root = importer.DefaultRootURL
	}
	u, err := url.Parse(root)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", usageError(fmt.Errorf("--root-url %q: want an absolute http(s) URL", root))
	}
	return strings.TrimRight(root, "/"), nil
}

// importer builds an importer whose requests may reach the config's
// allowed_hosts and the hosts of the given URLs.
func (in *ingestRun) importer(workers int, urls ...string) (*importer.Importer, error) {
	hosts := append([]string(nil), in.cfg.AllowedHost...)
	for _, s := range urls {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	client, err := transform.NewHTTPClient(transform.HTTPOptions{AllowedHosts: hosts, UserAgent: "herder-ingest/" + sdk.SDKVersion})
	if err != nil {
		return nil, err
	}
	return importer.New(client, transform.NewTaskCache(client, 10000, 0), importer.Options{Workers: workers}), nil
}

func pushEvent(p importer.Push) sdk.Event {
	d := p.Data
	return sdk.Event{ID: fmt.Sprintf("hg/%s/%d", d.Project, p.ID), Push: &d}
}

// taskSummary counts what became of imported tasks.
type taskSummary struct {
	jobs, skipped int
	skips         []error
	failed        []error
}

func (s taskSummary) err() error {
	if len(s.failed) == 0 {
		return nil
	}
	shown := s.failed[:min(len(s.failed), 5)]
	return fmt.Errorf("%d tasks failed: %w", len(s.failed), errors.Join(shown...))
}

// storeTasks turns tasks into jobs (a progress bar on a terminal) and
// stores them in chunks. Pushes the jobs name that are not stored yet are
// fetched from their hg repository first, as Treeherder's ingest does.
func (in *ingestRun) storeTasks(ctx context.Context, im *importer.Importer, root string, entries []importer.TaskEntry, stderr io.Writer) (taskSummary, error) {
	var sum taskSummary
	bar := newProgress(stderr, "tasks", len(entries))
	defer bar.finish()
	const chunk = 200
	for start := 0; start < len(entries); start += chunk {
		part := entries[start:min(start+chunk, len(entries))]
		var events []sdk.Event
		for _, r := range im.TasksJobs(ctx, root, part, bar.add) {
			switch {
			case r.Err != nil:
				sum.failed = append(sum.failed, fmt.Errorf("task %s: %w", r.TaskID, r.Err))
			case len(r.Events) == 0:
				sum.skipped++
				if r.Skipped != nil {
					sum.skips = append(sum.skips, fmt.Errorf("task %s: %w", r.TaskID, r.Skipped))
				}
			}
			events = append(events, r.Events...)
		}
		if ctx.Err() != nil {
			return sum, ctx.Err()
		}
		events = in.knownRepositories(events, &sum)
		if err := in.fetchMissingPushes(ctx, events); err != nil {
			return sum, err
		}
		if err := in.pipeline.Accept(ctx, ingestSource, events); err != nil {
			return sum, fmt.Errorf("store jobs: %w", err)
		}
		sum.jobs += len(events)
	}
	return sum, nil
}

// knownRepositories keeps the events of active repositories; the others
// count as failed (the pipeline would refuse them quietly).
func (in *ingestRun) knownRepositories(events []sdk.Event, sum *taskSummary) []sdk.Event {
	active := map[string]bool{}
	for _, r := range in.repos {
		active[r.Name] = r.ActiveStatus == "active"
	}
	kept := events[:0]
	for _, e := range events {
		if e.Job != nil && !active[e.Job.Project] {
			sum.failed = append(sum.failed, fmt.Errorf("job %s: repository %q is not configured or not active", e.Job.Job.JobGUID, e.Job.Project))
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

// fetchMissingPushes stores the pushes of hg repositories that jobs name and
// the store does not have yet. Jobs of other repositories wait parked.
func (in *ingestRun) fetchMissingPushes(ctx context.Context, events []sdk.Event) error {
	need := map[string]map[string]bool{}
	for _, e := range events {
		if e.Job == nil {
			continue
		}
		if need[e.Job.Project] == nil {
			need[e.Job.Project] = map[string]bool{}
		}
		need[e.Job.Project][e.Job.Revision] = true
	}
	for project, revs := range need {
		r, err := in.repository(ctx, project)
		if err != nil || r.DVCSType != "hg" {
			continue // the pipeline refuses or parks these jobs and says so
		}
		list := make([]string, 0, len(revs))
		for rev := range revs {
			list = append(list, rev)
		}
		have, err := in.st.PushIDs(ctx, r.ID, list)
		if err != nil {
			return err
		}
		im, err := in.importer(1, r.URL)
		if err != nil {
			return err
		}
		for _, rev := range list {
			if _, ok := have[rev]; ok {
				continue
			}
			push, err := im.HgPush(ctx, r.URL, r.Name, rev)
			if err != nil {
				return fmt.Errorf("fetch the push of %s %s: %w", r.Name, rev, err)
			}
			if err := in.pipeline.Accept(ctx, ingestSource, []sdk.Event{pushEvent(push)}); err != nil {
				return fmt.Errorf("store push: %w", err)
			}
		}
	}
	return nil
}

// progress is a one-line progress bar redrawn with \r, shown only when
// stderr is a terminal (logs and pipes get the final summary alone).
type progress struct {
	w     io.Writer
	label string
	total int
	done  atomic.Int64
	mu    sync.Mutex
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, label string, total int) *progress {
	p := &progress{label: label, total: total}
	if f, ok := w.(*os.File); ok && total > 0 {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.w = w
		}
	}
	return p
}

func (p *progress) add() {
	n := int(p.done.Add(1))
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < p.total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.shown = true
	const width = 30
	filled := width * n / p.total
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	if filled < width {
		bar = bar[:filled] + ">" + bar[filled+1:]
	}
	fmt.Fprintf(p.w, "\r%s [%s] %d/%d %3d%%", p.label, bar, n, p.total, 100*n/p.total)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
