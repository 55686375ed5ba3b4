// Package importer reads pushes and tasks from public HTTP APIs, without
// Pulse credentials, as Treeherder's `ingest` management command does: hg's
// json-pushes for pushes, the Taskcluster index for a push's decision task,
// and the queue's task group listing and task status for jobs. Tasks become
// jobs through plugins/pulse/transform, exactly as Pulse messages do.
//
// It is used by the taskcluster source plugin (polling) and by the CLI's
// `herder ingest push` and `herder ingest task`.
package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

// DefaultRootURL is the Taskcluster deployment used when none is given.
const DefaultRootURL = "https://firefox-ci-tc.services.mozilla.com"

// DefaultDecisionIndex is the index path of a push's decision task
// (Treeherder's get_decision_task_id); {project} and {revision} are filled in.
const DefaultDecisionIndex = "gecko.v2.{project}.revision.{revision}.taskgraph.decision"

// Getter fetches a JSON document. (*transform.HTTPClient).HgPushes is one: a
// GET bounded in size and time, limited to allowed hosts, with retries.
type Getter func(ctx context.Context, url string) (json.RawMessage, error)

// Importer reads pushes and tasks.
type Importer struct {
	get     Getter
	tasks   transform.TaskFetcher
	opts    Options
	workers int
}

// Options adjust an Importer.
type Options struct {
	// DecisionIndex is the index path template (default DefaultDecisionIndex).
	DecisionIndex string
	// Workers transform tasks of a group concurrently (default 8): completed
	// tasks cost an artifact listing each.
	Workers int
	// Transform options (PROJECTS_TO_INGEST, artifact pagination).
	Transform transform.Options
}

// New makes an importer over an HTTP client that may reach the repository
// and Taskcluster hosts. Task definitions are cached (tasks is usually a
// transform.TaskCache over client).
func New(client *transform.HTTPClient, tasks transform.TaskFetcher, opts Options) *Importer {
	return NewWith(client.HgPushes, tasks, opts)
}

// NewWith makes an importer from a Getter and a TaskFetcher (tests).
func NewWith(get Getter, tasks transform.TaskFetcher, opts Options) *Importer {
	if opts.DecisionIndex == "" {
		opts.DecisionIndex = DefaultDecisionIndex
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	return &Importer{get: get, tasks: tasks, opts: opts, workers: opts.Workers}
}

// Push is one hg push with its pushlog id.
type Push struct {
	ID   int
	Data sdk.PushDatum
}

// HgPush reads the push that contains revision from repoURL's pushlog
// (json-pushes?changeset=), shaped as Treeherder's push loader shapes it.
func (im *Importer) HgPush(ctx context.Context, repoURL, project, revision string) (Push, error) {
	u := strings.TrimRight(repoURL, "/") + "/json-pushes?full=1&version=2&changeset=" + url.QueryEscape(revision)
	pushes, _, err := im.hgPushes(ctx, u, project)
	if err != nil {
		return Push{}, err
	}
	if len(pushes) == 0 {
		return Push{}, fmt.Errorf("%s: no push contains %s", repoURL, revision)
	}
	return pushes[0], nil
}

// HgPushesSince reads pushes after pushlog id startID (at most max of them,
// oldest first) and the repository's last push id. Pushes without
// changesets are left out, as Treeherder does.
func (im *Importer) HgPushesSince(ctx context.Context, repoURL, project string, startID, max int) ([]Push, int, error) {
	u := strings.TrimRight(repoURL, "/") + "/json-pushes?full=1&version=2&startID=" + strconv.Itoa(startID)
	if max > 0 {
		u += "&endID=" + strconv.Itoa(startID+max)
	}
	return im.hgPushes(ctx, u, project)
}

// HgRecentPushes reads the pushlog's default page (its most recent pushes)
// and the last push id: where a poller without a cursor starts.
func (im *Importer) HgRecentPushes(ctx context.Context, repoURL, project string) ([]Push, int, error) {
	return im.hgPushes(ctx, strings.TrimRight(repoURL, "/")+"/json-pushes?full=1&version=2", project)
}

func (im *Importer) hgPushes(ctx context.Context, u, project string) ([]Push, int, error) {
	raw, err := im.get(ctx, u)
	if err != nil {
		return nil, 0, fmt.Errorf("read pushlog: %w", err)
	}
	var doc struct {
		LastPushID int                        `json:"lastpushid"`
		Pushes     map[string]json.RawMessage `json:"pushes"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, 0, fmt.Errorf("pushlog %s: %w: %v", redact(u), transform.ErrSchema, err)
	}
	ids := make([]int, 0, len(doc.Pushes))
	for k := range doc.Pushes {
		id, err := strconv.Atoi(k)
		if err != nil {
			return nil, 0, fmt.Errorf("pushlog %s: push id %q: %w", redact(u), k, transform.ErrSchema)
		}
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]Push, 0, len(ids))
	for _, id := range ids {
		key := strconv.Itoa(id)
		var probe struct {
			Changesets []json.RawMessage `json:"changesets"`
		}
		if err := json.Unmarshal(doc.Pushes[key], &probe); err == nil && len(probe.Changesets) == 0 {
			continue
		}
		one, _ := json.Marshal(map[string]any{"lastpushid": doc.LastPushID, "pushes": map[string]json.RawMessage{key: doc.Pushes[key]}})
		d, err := transform.ParseHgPushes(u, one)
		if err != nil {
			return nil, 0, fmt.Errorf("pushlog %s: push %d: %w", redact(u), id, err)
		}
		d.Project = project
		out = append(out, Push{ID: id, Data: d})
	}
	return out, doc.LastPushID, nil
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		p.User = nil
		return p.String()
	}
	return u
}

// ErrNotFound: the index has no decision task for the push (yet).
var ErrNotFound = errors.New("not found")

// DecisionTask finds a push's decision task through the Taskcluster index.
func (im *Importer) DecisionTask(ctx context.Context, rootURL, project, revision string) (string, error) {
	ns := strings.NewReplacer("{project}", project, "{revision}", revision).Replace(im.opts.DecisionIndex)
	u := strings.TrimRight(rootURL, "/") + "/api/index/v1/task/" + url.PathEscape(ns)
	raw, err := im.get(ctx, u)
	if err != nil {
		var ue *transform.UpstreamError
		if errors.As(err, &ue) && ue.StatusCode == 404 {
			return "", fmt.Errorf("decision task %s: %w", ns, ErrNotFound)
		}
		return "", fmt.Errorf("decision task %s: %w", ns, err)
	}
	var doc struct {
		TaskID string `json:"taskId"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.TaskID == "" {
		return "", fmt.Errorf("decision task %s: %w: no taskId in the index entry", ns, transform.ErrSchema)
	}
	return doc.TaskID, nil
}

// TaskEntry is a task's definition and status, as the queue's task group
// listing returns them.
type TaskEntry struct {
	Status json.RawMessage `json:"status"`
	Task   json.RawMessage `json:"task"`
}

// GroupTasks lists a task group, page by page (the queue's listTaskGroup),
// calling page for each; total is what the listing reports so far.
func (im *Importer) GroupTasks(ctx context.Context, rootURL, groupID string, page func([]TaskEntry) error) error {
	token := ""
	for pages := 0; ; pages++ {
		if pages >= 1000 {
			return fmt.Errorf("task group %s: more than 1000 pages", groupID)
		}
		u := strings.TrimRight(rootURL, "/") + "/api/queue/v1/task-group/" + url.PathEscape(groupID) + "/list?limit=1000"
		if token != "" {
			u += "&continuationToken=" + url.QueryEscape(token)
		}
		raw, err := im.get(ctx, u)
		if err != nil {
			return fmt.Errorf("list task group %s: %w", groupID, err)
		}
		var doc struct {
			Tasks             []TaskEntry `json:"tasks"`
			ContinuationToken string      `json:"continuationToken"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("list task group %s: %w: %v", groupID, transform.ErrSchema, err)
		}
		if err := page(doc.Tasks); err != nil {
			return err
		}
		if doc.ContinuationToken == "" {
			return nil
		}
		token = doc.ContinuationToken
	}
}

// TaskStatus reads a task's status and definition.
func (im *Importer) TaskStatus(ctx context.Context, rootURL, taskID string) (TaskEntry, error) {
	u := strings.TrimRight(rootURL, "/") + "/api/queue/v1/task/" + url.PathEscape(taskID) + "/status"
	raw, err := im.get(ctx, u)
	if err != nil {
		return TaskEntry{}, fmt.Errorf("status of task %s: %w", taskID, err)
	}
	var doc struct {
		Status json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Status) == 0 {
		return TaskEntry{}, fmt.Errorf("status of task %s: %w", taskID, transform.ErrSchema)
	}
	def, err := im.tasks.Task(ctx, rootURL, taskID)
	if err != nil {
		return TaskEntry{}, fmt.Errorf("task %s: %w", taskID, err)
	}
	return TaskEntry{Status: doc.Status, Task: def}, nil
}

// stateToExchange is Treeherder's ingest command's map from a run's state to
// the exchange whose message it would have been.
var stateToExchange = map[string]string{
	"pending":   transform.ExchangeTaskPending,
	"running":   transform.ExchangeTaskRunning,
	"completed": transform.ExchangeTaskCompleted,
	"failed":    transform.ExchangeTaskFailed,
	"exception": transform.ExchangeTaskException,
}

// Result is what became of one task.
type Result struct {
	TaskID string
	Events []sdk.Event
	// Skipped is set when the task is not for Treeherder (no route, invalid
	// extra.treeherder, ignored project, no runs).
	Skipped error
	// Err is a failure (schema, upstream); the other runs may still be in
	// Events.
	Err error
}

// TaskJobs turns a task into job events, one per run, newest run first as
// Treeherder's ingest does (so older runs are seen after their retries).
func (im *Importer) TaskJobs(ctx context.Context, rootURL string, e TaskEntry) Result {
	var st struct {
		TaskID string `json:"taskId"`
		Runs   []struct {
			RunID json.Number `json:"runId"`
			State string      `json:"state"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(e.Status, &st); err != nil || st.TaskID == "" {
		return Result{Err: fmt.Errorf("task status: %w", transform.ErrSchema)}
	}
	res := Result{TaskID: st.TaskID}
	if len(st.Runs) == 0 {
		res.Skipped = fmt.Errorf("task %s has no runs yet: %w", st.TaskID, transform.ErrUnscheduled)
		return res
	}
	fetcher := transform.TaskFetcher(im.tasks)
	if len(e.Task) > 0 {
		fetcher = preloaded{id: st.TaskID, def: e.Task, next: im.tasks}
	}
	tr := transform.NewTransformer(fetcher, im.opts.Transform)
	var errs []error
	for i := len(st.Runs) - 1; i >= 0; i-- {
		run := st.Runs[i]
		exchange, ok := stateToExchange[run.State]
		if !ok {
			continue
		}
		payload, _ := json.Marshal(map[string]any{
			"status": json.RawMessage(e.Status), "runId": run.RunID, "version": 1,
		})
		d, err := tr.JobDatum(ctx, transform.TaskMessage{Exchange: exchange, RootURL: rootURL, Payload: payload})
		if err != nil {
			if transform.IsSkip(err) {
				if res.Skipped == nil {
					res.Skipped = err
				}
				continue
			}
			errs = append(errs, err)
			continue
		}
		raw, _ := json.Marshal(map[string]any{"exchange": exchange, "root_url": rootURL, "payload": json.RawMessage(payload)})
		res.Events = append(res.Events, sdk.Event{
			ID:  fmt.Sprintf("tc/%s/%d/%s", d.Job.TaskclusterTaskID, d.Job.TaskclusterRetryID, run.State),
			Job: &d, Raw: raw,
		})
	}
	if len(res.Events) > 0 {
		res.Skipped = nil
	}
	res.Err = errors.Join(errs...)
	return res
}

// TasksJobs runs TaskJobs over entries with the configured concurrency;
// results come back in entry order. done, if set, is called after each task,
// from several goroutines at once.
func (im *Importer) TasksJobs(ctx context.Context, rootURL string, entries []TaskEntry, done func()) []Result {
	out := make([]Result, len(entries))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(im.workers, len(entries)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(entries) || ctx.Err() != nil {
					return
				}
				out[i] = im.TaskJobs(ctx, rootURL, entries[i])
				if done != nil {
					done()
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// preloaded serves one task's definition from memory (the task group
// listing carries it) and everything else from next.
type preloaded struct {
	id   string
	def  json.RawMessage
	next transform.TaskFetcher
}

func (p preloaded) Task(ctx context.Context, root, id string) (json.RawMessage, error) {
	if id == p.id {
		return p.def, nil
	}
	return p.next.Task(ctx, root, id)
}

func (p preloaded) Artifacts(ctx context.Context, root, id string, run int, token string) (transform.ArtifactPage, error) {
	return p.next.Artifacts(ctx, root, id, run, token)
}
