package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/sdk"
)

// Exchanges of Taskcluster's queue that carry task status messages.
const (
	ExchangeTaskDefined   = "exchange/taskcluster-queue/v1/task-defined"
	ExchangeTaskPending   = "exchange/taskcluster-queue/v1/task-pending"
	ExchangeTaskRunning   = "exchange/taskcluster-queue/v1/task-running"
	ExchangeTaskCompleted = "exchange/taskcluster-queue/v1/task-completed"
	ExchangeTaskFailed    = "exchange/taskcluster-queue/v1/task-failed"
	ExchangeTaskException = "exchange/taskcluster-queue/v1/task-exception"
)

var exchangeEvents = map[string]string{
	ExchangeTaskDefined:   "unscheduled",
	ExchangeTaskPending:   "pending",
	ExchangeTaskRunning:   "running",
	ExchangeTaskCompleted: "completed",
	ExchangeTaskFailed:    "failed",
	ExchangeTaskException: "exception",
}

// TaskMessage is one task status message plus where it came from, in the
// shape of Treeherder's recorded taskcluster_pulse_messages.json entries.
type TaskMessage struct {
	Exchange   string `json:"exchange"`
	RoutingKey string `json:"routingKey,omitempty"`
	// RootURL is the Taskcluster deployment the message came from.
	RootURL string `json:"root_url"`
	// Payload is the AMQP body: {"status": {...}, "runId": N, ...}.
	Payload json.RawMessage `json:"payload"`
}

// PulseJob is Treeherder's intermediate job ("pulse job", schemas/pulse-job.yml),
// kept as decoded JSON so that presence, defaults and validation behave as in
// Treeherder's Python.
type PulseJob map[string]any

type taskPayload struct {
	Status struct {
		TaskID string           `json:"taskId"`
		Runs   []map[string]any `json:"runs"`
	} `json:"status"`
	RunID json.RawMessage `json:"runId"`
}

// TaskDefinition is the part of a Taskcluster task definition Treeherder
// reads, parsed once (TaskCache keeps it) with the extra.treeherder check done.
type TaskDefinition struct {
	TaskGroupID string
	Routes      []string
	// Created, WorkerType and Metadata keep decoded JSON values: Treeherder
	// copies them into the job unchecked and lets the pulse-job schema judge.
	Created     any
	WorkerType  any
	TaskQueueID string
	Metadata    map[string]any
	// Treeherder is the decoded extra.treeherder, nil when absent.
	Treeherder map[string]any
	// ConfigErr is nil when extra.treeherder is valid; otherwise a skip
	// (ErrInvalidConfig) or, for a malformed extra, a *SchemaError.
	ConfigErr error
	// collectionKeys is extra.treeherder.collection's keys in document order.
	collectionKeys []string
	collectionErr  error
	payload        json.RawMessage
}

// ParseTaskDefinition parses GET /api/queue/v1/task/{id}.
func ParseTaskDefinition(raw []byte) (*TaskDefinition, error) {
	var tj struct {
		TaskGroupID string          `json:"taskGroupId"`
		Created     any             `json:"created"`
		WorkerType  any             `json:"workerType"`
		TaskQueueID string          `json:"taskQueueId"`
		Routes      []string        `json:"routes"`
		Metadata    map[string]any  `json:"metadata"`
		Extra       json.RawMessage `json:"extra"`
		Payload     json.RawMessage `json:"payload"`
	}
	if err := decodeJSON(raw, &tj, "task-definition"); err != nil {
		return nil, err
	}
	td := &TaskDefinition{
		TaskGroupID: tj.TaskGroupID,
		Routes:      tj.Routes,
		Created:     tj.Created,
		WorkerType:  tj.WorkerType,
		TaskQueueID: tj.TaskQueueID,
		Metadata:    tj.Metadata,
		payload:     tj.Payload,
	}
	td.ConfigErr = td.parseTreeherder(tj.Extra)
	return td, nil
}

func (td *TaskDefinition) parseTreeherder(extra json.RawMessage) error {
	extra = bytes.TrimSpace(extra)
	if len(extra) == 0 || string(extra) == "null" {
		return fmt.Errorf("extra.treeherder missing: %w", ErrInvalidConfig)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(extra, &members); err != nil {
		return schemaErr("task-definition", "extra", "want object")
	}
	raw, ok := members["treeherder"]
	if !ok {
		return fmt.Errorf("extra.treeherder missing: %w", ErrInvalidConfig)
	}
	var cfg any
	if err := decodeJSON(raw, &cfg, "task-definition"); err != nil {
		return err
	}
	if !truthy(cfg) {
		return fmt.Errorf("extra.treeherder empty: %w", ErrInvalidConfig)
	}
	if err := ValidateTaskConfig(cfg); err != nil {
		return err
	}
	td.Treeherder = cfg.(map[string]any)
	if c := td.Treeherder["collection"]; truthy(c) {
		var cfgMembers map[string]json.RawMessage
		_ = json.Unmarshal(raw, &cfgMembers)
		keys, err := orderedKeys(cfgMembers["collection"])
		if err != nil {
			// Treeherder calls .keys() on it: anything but an object fails there.
			td.collectionErr = schemaErr("task-definition", "extra.treeherder.collection", "want object, got %s", describe(c))
		}
		td.collectionKeys = keys
	}
	return nil
}

// Transformer turns task status messages into pulse jobs and job data, as
// Treeherder's taskcluster_pulse handler and job loader do.
type Transformer struct {
	tasks TaskFetcher
	opts  Options
}

// Options changes Transformer behaviour; the zero value is Treeherder's.
type Options struct {
	// ProjectsToIngest, when non-empty, ignores tasks of other projects
	// (Treeherder's PROJECTS_TO_INGEST).
	ProjectsToIngest []string
	// FollowArtifactPages concatenates every page of a task's artifact list.
	// Treeherder's pagination code fails on a second page and then records no
	// artifact links at all; false keeps that behaviour.
	FollowArtifactPages bool
}

// maxRunID bounds runId before it becomes an index; Taskcluster allows a few
// dozen runs.
const maxRunID = 1 << 20

// maxArtifactPages bounds FollowArtifactPages.
const maxArtifactPages = 100

// NewTransformer returns a Transformer that fetches task definitions and
// artifact lists through tasks (wrap it in a TaskCache to cache definitions).
func NewTransformer(tasks TaskFetcher, opts Options) *Transformer {
	return &Transformer{tasks: tasks, opts: opts}
}

// TaskDefinition fetches and parses a task definition, through the fetcher's
// cache when it has one.
func (t *Transformer) TaskDefinition(ctx context.Context, rootURL, taskID string) (*TaskDefinition, error) {
	if c, ok := t.tasks.(TaskDefinitionFetcher); ok {
		return c.TaskDefinition(ctx, rootURL, taskID)
	}
	raw, err := t.tasks.Task(ctx, rootURL, taskID)
	if err != nil {
		return nil, fmt.Errorf("fetch task %s: %w", taskID, err)
	}
	td, err := ParseTaskDefinition(raw)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", taskID, err)
	}
	return td, nil
}

// JobDatum transforms one task status message into the job datum Treeherder
// would store (PulseJob, then PulseJobToDatum), with Project set from the
// route. Skips match ErrSkip.
func (t *Transformer) JobDatum(ctx context.Context, msg TaskMessage) (sdk.JobDatum, error) {
	pj, err := t.PulseJob(ctx, msg)
	if err != nil {
		return sdk.JobDatum{}, err
	}
	d, err := PulseJobToDatum(pj)
	if err != nil {
		return sdk.JobDatum{}, fmt.Errorf("task %s: %w", pj.taskSlug(), err)
	}
	return d, nil
}

func (pj PulseJob) taskSlug() string {
	guid, _ := pj["taskId"].(string)
	slug, _, err := TaskAndRetryIDs(guid)
	if err != nil {
		return guid
	}
	return slug
}

// PulseJob builds Treeherder's intermediate job from a task status message
// (taskcluster_pulse/handler.py handle_message).
func (t *Transformer) PulseJob(ctx context.Context, msg TaskMessage) (PulseJob, error) {
	var p taskPayload
	if err := decodeJSON(msg.Payload, &p, "task-message"); err != nil {
		return nil, err
	}
	taskID := p.Status.TaskID
	if _, err := SlugToUUID(taskID); err != nil {
		return nil, schemaErr("task-message", "status.taskId", "%v", err)
	}
	if msg.RootURL == "" {
		return nil, schemaErr("task-message", "root_url", "missing")
	}
	runID := 0
	if len(p.RunID) > 0 && string(p.RunID) != "null" {
		n, ok := integral(json.Number(p.RunID))
		if !ok || n < 0 || n > maxRunID {
			return nil, schemaErr("task-message", "runId", "want a non-negative integer, got %s", truncate(string(p.RunID)))
		}
		runID = int(n)
	} else if msg.Exchange != ExchangeTaskDefined {
		return nil, schemaErr("task-message", "runId", "required property missing")
	}

	task, err := t.TaskDefinition(ctx, msg.RootURL, taskID)
	if err != nil {
		return nil, err
	}
	route, err := FindRoute(task.Routes)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", taskID, err)
	}
	ignore, err := t.IgnoreTask(ctx, task, taskID, msg.RootURL, route.Project)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", taskID, err)
	}
	if ignore {
		return nil, fmt.Errorf("task %s of %s: %w", taskID, route.Project, ErrIgnored)
	}
	if task.ConfigErr != nil {
		return nil, fmt.Errorf("task %s: %w", taskID, task.ConfigErr)
	}

	event, ok := exchangeEvents[msg.Exchange]
	if !ok {
		return nil, fmt.Errorf("task %s: %q: %w", taskID, msg.Exchange, ErrUnknownExchange)
	}
	runs := p.Status.Runs
	var run map[string]any
	switch {
	case runID < len(runs):
		run = runs[runID]
	case event == "unscheduled":
		run = map[string]any{} // task-defined messages come before any run
	default:
		return nil, schemaErr("task-message", "status.runs", "no run %d (%d runs)", runID, len(runs))
	}
	if run == nil {
		return nil, schemaErr("task-message", fmt.Sprintf("status.runs.%d", runID), "want object, got null")
	}

	// Runs created by an exception (deadline exceeded) are not reported;
	// Treeherder checks this before building anything.
	if event == "exception" && run["reasonCreated"] == "exception" {
		return nil, fmt.Errorf("task %s run %d: %w", taskID, runID, ErrExceptionRun)
	}

	job, err := t.buildMessage(route, task, taskID, runID, run, event == "unscheduled")
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", taskID, err)
	}
	runField := func(name string) (any, error) {
		v, ok := run[name]
		if !ok {
			return nil, schemaErr("task-message", fmt.Sprintf("status.runs.%d.%s", runID, name), "required property missing")
		}
		return v, nil
	}

	switch event {
	case "unscheduled", "pending":
	case "running":
		started, err := runField("started")
		if err != nil {
			return nil, err
		}
		job["timeStarted"] = started
	case "completed", "failed":
		started, err := runField("started")
		if err != nil {
			return nil, err
		}
		resolved, err := runField("resolved")
		if err != nil {
			return nil, err
		}
		logRun, err := runField("runId")
		if err != nil {
			return nil, err
		}
		job["timeStarted"] = started
		job["timeCompleted"] = resolved
		job["logs"] = []any{map[string]any{
			"name": "live_backing_log",
			"url":  queueURL(msg.RootURL, fmt.Sprintf("task/%s/runs/%s/artifacts/public/logs/live_backing.log", taskID, pyStr(logRun))),
		}}
		if err := t.addArtifactLinks(ctx, msg.RootURL, taskID, runID, job); err != nil {
			return nil, err
		}
	case "exception":
		if len(runs) > runID+1 {
			next := runs[runID+1]
			reason := next["reasonCreated"]
			job["isRetried"] = reason == "retry" || reason == "task-retry"
		}
		if started := run["started"]; truthy(started) {
			job["timeStarted"] = started
		}
		resolved, err := runField("resolved")
		if err != nil {
			return nil, err
		}
		job["timeCompleted"] = resolved
		job["logs"] = []any{}
		if err := t.addArtifactLinks(ctx, msg.RootURL, taskID, runID, job); err != nil {
			return nil, err
		}
	}
	return job, nil
}

// buildMessage is handler.py's build_message.
func (t *Transformer) buildMessage(route Route, task *TaskDefinition, taskID string, runID int, run map[string]any, unscheduled bool) (PulseJob, error) {
	cfg := task.Treeherder
	meta := task.Metadata
	metaField := func(name string) (any, error) {
		v, ok := meta[name]
		if !ok {
			return nil, schemaErr("task-definition", "metadata."+name, "required property missing")
		}
		return v, nil
	}
	owner, err := metaField("owner")
	if err != nil {
		return nil, err
	}
	nameV, err := metaField("name")
	if err != nil {
		return nil, err
	}
	name, ok := nameV.(string)
	if !ok {
		return nil, schemaErr("task-definition", "metadata.name", "want string, got %s", describe(nameV))
	}
	description, err := metaField("description")
	if err != nil {
		return nil, err
	}
	if task.Created == nil {
		return nil, schemaErr("task-definition", "created", "required property missing")
	}
	guid, err := JobGUID(taskID, runID)
	if err != nil {
		return nil, err
	}

	state, result := any("unscheduled"), "unknown"
	if !unscheduled {
		runState, ok := run["state"]
		if !ok {
			return nil, schemaErr("task-message", fmt.Sprintf("status.runs.%d.state", runID), "required property missing")
		}
		state, result = stateFromRun(runState), resultFromRun(runState, run["reasonResolved"])
	}

	groupSymbol := any("?")
	if v, ok := cfg["groupSymbol"]; ok {
		groupSymbol = v
	}
	display := map[string]any{
		// Treeherder str()s the symbol; the schema already made it a string.
		"jobSymbol":   pyStr(cfg["symbol"]),
		"groupSymbol": groupSymbol,
		"jobName":     sliceRunes(name, 139),
	}
	if v := cfg["groupName"]; truthy(v) {
		display["groupName"] = v
	}

	tier := any(1)
	if v, ok := cfg["tier"]; ok {
		tier = toInt(v)
	}
	job := PulseJob{
		"buildSystem":   "taskcluster",
		"owner":         owner,
		"taskId":        guid,
		"retryId":       runID,
		"isRetried":     false,
		"display":       display,
		"state":         state,
		"result":        result,
		"tier":          tier,
		"timeScheduled": task.Created,
		"jobKind":       getOr(cfg, "jobKind", "other"),
		"reason":        getOr(cfg, "reason", "scheduled"),
		"jobInfo":       map[string]any{"links": []any{}, "summary": description},
		"version":       1,
		// Treeherder's own intermediate origin also has kind, pushLogID or
		// pullRequestID and owner; pulse-job.yml allows only these three.
		"origin": map[string]any{"project": route.Project, "revision": route.Revision, "id": route.ID},
	}

	var labels []any
	if l, ok := cfg["labels"].([]any); ok && len(l) > 0 {
		labels = l
	} else if !truthy(cfg["collection"]) {
		labels = []any{"opt"}
	} else {
		if task.collectionErr != nil {
			return nil, task.collectionErr
		}
		labels = make([]any, len(task.collectionKeys))
		for i, k := range task.collectionKeys {
			labels[i] = k
		}
	}
	job["labels"] = labels

	machine, _ := cfg["machine"].(map[string]any)
	platform, ok := machine["platform"]
	if !ok {
		platform = task.WorkerType
		if platform == nil && task.TaskQueueID != "" {
			// Newer definitions may carry only taskQueueId ("provisioner/workerType").
			_, wt, _ := strings.Cut(task.TaskQueueID, "/")
			platform = wt
		}
		if platform == nil {
			return nil, schemaErr("task-definition", "workerType", "required property missing")
		}
	}
	workerID := any("unknown")
	if v, ok := run["workerId"]; ok {
		workerID = v
	}
	job["buildMachine"] = map[string]any{
		"name":         workerID,
		"platform":     platform,
		"os":           getOr(machine, "os", "-"),
		"architecture": getOr(machine, "architecture", "-"),
	}
	if v := cfg["productName"]; truthy(v) {
		job["productName"] = v
	}
	return job, nil
}

func getOr(m map[string]any, key string, def any) any {
	if v, ok := m[key]; ok {
		return v
	}
	return def
}

// stateFromRun: failed and exception runs are completed jobs.
func stateFromRun(runState any) any {
	if runState == "exception" || runState == "failed" {
		return "completed"
	}
	return runState
}

func resultFromRun(runState, reasonResolved any) string {
	switch runState {
	case "completed":
		return "success"
	case "failed":
		return "fail"
	case "exception":
		if reasonResolved == "canceled" || reasonResolved == "superseded" {
			return reasonResolved.(string)
		}
		return "exception"
	}
	return "unknown"
}

// queueURL is taskcluster_urls.api(rootURL, "queue", "v1", path).
func queueURL(rootURL, path string) string {
	return strings.TrimRight(rootURL, "/") + "/api/queue/v1/" + strings.TrimLeft(path, "/")
}

// addArtifactLinks is add_artifact_uploaded_links: every artifact becomes a
// link named by its basename ("name (n)" for repeats, empty basenames
// skipped). Any error listing artifacts leaves the links empty, as in
// Treeherder, except a cancelled context.
func (t *Transformer) addArtifactLinks(ctx context.Context, rootURL, taskID string, runID int, job PulseJob) error {
	artifacts, err := t.listArtifacts(ctx, rootURL, taskID, runID)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("list artifacts of %s/%d: %w", taskID, runID, ctx.Err())
		}
		return nil
	}
	seen := map[string]int{}
	links := make([]any, 0, len(artifacts))
	for _, a := range artifacts {
		name := a.Name
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		if name == "" {
			continue
		}
		n := seen[name]
		seen[name] = n + 1
		if n > 0 {
			name = fmt.Sprintf("%s (%d)", name, n)
		}
		links = append(links, map[string]any{
			"label":    "artifact uploaded",
			"linkText": name,
			"url":      queueURL(rootURL, fmt.Sprintf("task/%s/runs/%d/artifacts/%s", taskID, runID, a.Name)),
		})
	}
	job["jobInfo"].(map[string]any)["links"] = links
	return nil
}

// errConcat stands for Treeherder's failing `artifacts.concat(...)`.
var errConcat = fmt.Errorf("second artifact page")

func (t *Transformer) listArtifacts(ctx context.Context, rootURL, taskID string, runID int) ([]Artifact, error) {
	page, err := t.tasks.Artifacts(ctx, rootURL, taskID, runID, "")
	if err != nil {
		return nil, err
	}
	artifacts := page.Artifacts
	for pages := 1; page.ContinuationToken != ""; pages++ {
		next, err := t.tasks.Artifacts(ctx, rootURL, taskID, runID, page.ContinuationToken)
		if err != nil {
			break // Treeherder keeps what it has when a later page fails
		}
		if !t.opts.FollowArtifactPages {
			return nil, errConcat
		}
		if pages >= maxArtifactPages {
			return nil, fmt.Errorf("more than %d artifact pages", maxArtifactPages)
		}
		artifacts = append(artifacts, next.Artifacts...)
		page = next
	}
	return artifacts, nil
}

// mobileRepos get Treeherder's PR/branch filtering.
var mobileRepos = []string{"reference-browser", "mozilla-vpn-client", "mozilla-vpn-client-release"}

// IgnoreTask is handler.py's ignore_task: PROJECTS_TO_INGEST, then, for the
// mobile repositories, tasks of pull requests or of branches other than
// master/main. The plugin also needs it when a job's push is missing: an
// ignorable task is dropped instead of retried.
func (t *Transformer) IgnoreTask(ctx context.Context, task *TaskDefinition, taskID, rootURL, project string) (bool, error) {
	if len(t.opts.ProjectsToIngest) > 0 && !contains(t.opts.ProjectsToIngest, project) {
		return true, nil
	}
	if !contains(mobileRepos, project) {
		return false, nil
	}
	var payload struct {
		Env map[string]any `json:"env"`
	}
	if len(task.payload) == 0 {
		return false, schemaErr("task-definition", "payload", "required property missing")
	}
	if err := decodeJSON(task.payload, &payload, "task-definition"); err != nil {
		return false, err
	}
	env := payload.Env
	if base := env["MOBILE_BASE_REPOSITORY"]; truthy(base) {
		baseURL, ok := base.(string)
		i := strings.LastIndexByte(baseURL, '/')
		if !ok || i < 0 {
			return false, schemaErr("task-definition", "payload.env.MOBILE_BASE_REPOSITORY", "want a repository URL, got %v", base)
		}
		if !contains(mobileRepos, baseURL[i+1:]) {
			return false, nil
		}
		ignore := false
		// Treeherder stops checking at the first missing variable (KeyError).
		head, ok := env["MOBILE_HEAD_REPOSITORY"]
		if !ok {
			return ignore, nil
		}
		if head != base {
			ignore = true // a pull request, or a branch of a fork
		}
		ref, ok := env["MOBILE_HEAD_REF"]
		if !ok {
			return ignore, nil
		}
		switch ref {
		case "refs/heads/master", "master", "refs/heads/main", "main":
		default:
			ignore = true
		}
		return ignore, nil
	}
	// Without the variables, the decision task decides. Treeherder also loops
	// over the characters of its metadata.source, which can never match, so
	// only its routes count.
	decision, err := t.TaskDefinition(ctx, rootURL, task.TaskGroupID)
	if err != nil {
		return false, fmt.Errorf("decision task %s: %w", task.TaskGroupID, err)
	}
	for _, r := range decision.Routes {
		if strings.Contains(r, "master") || strings.Contains(r, "main") {
			return false, nil
		}
	}
	return true, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
