package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/herder-ci/herder/sdk"
)

// StaticTasks serves task definitions from memory, keyed by task id, for
// offline transforms (`herder pulse transform --tasks FILE`) and tests. It
// has no artifact lists, so completed tasks get no artifact links, just as
// Treeherder behaves when it cannot list them.
type StaticTasks map[string]json.RawMessage

// ErrNoArtifacts is what StaticTasks answers for artifact lists.
var ErrNoArtifacts = errors.New("no artifact lists offline")

// Task implements TaskFetcher.
func (s StaticTasks) Task(_ context.Context, _, taskID string) (json.RawMessage, error) {
	raw, ok := s[taskID]
	if !ok {
		return nil, &UpstreamError{URL: "task/" + taskID, StatusCode: 404, Attempts: 1, Err: errors.New("task not in the tasks file")}
	}
	return raw, nil
}

// Artifacts implements TaskFetcher.
func (s StaticTasks) Artifacts(context.Context, string, string, int, string) (ArtifactPage, error) {
	return ArtifactPage{}, ErrNoArtifacts
}

// DecodeTasks reads a JSON object of task definitions keyed by task id
// (taskcluster_tasks.json).
func DecodeTasks(r io.Reader) (StaticTasks, error) {
	var tasks map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&tasks); err != nil {
		return nil, fmt.Errorf("decode tasks: %w: %v", ErrNotJSON, err)
	}
	return StaticTasks(tasks), nil
}

// DecodeMessages reads task status messages: either a JSON object keyed by
// task id (taskcluster_pulse_messages.json) or an array, in file order.
func DecodeMessages(r io.Reader) ([]TaskMessage, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var list []TaskMessage
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("decode messages: %w: %v", ErrNotJSON, err)
		}
		return list, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("decode messages: %w: want an object or array", ErrNotJSON)
	}
	var list []TaskMessage
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("decode messages: %w: %v", ErrNotJSON, err)
		}
		var m TaskMessage
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("decode messages: %w: %v", ErrNotJSON, err)
		}
		list = append(list, m)
	}
	return list, nil
}

// DecodePulseJobs reads jobs in pulse-job format: a JSON array
// (job_data.json) or an object whose values are jobs, in file order.
func DecodePulseJobs(r io.Reader) ([]json.RawMessage, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read pulse jobs: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("decode pulse jobs: %w: %v", ErrNotJSON, err)
		}
		return list, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("decode pulse jobs: %w: want an array or object", ErrNotJSON)
	}
	var list []json.RawMessage
	for dec.More() {
		var job json.RawMessage
		_, err := dec.Token()
		if err == nil {
			err = dec.Decode(&job)
		}
		if err != nil {
			return nil, fmt.Errorf("decode pulse jobs: %w: %v", ErrNotJSON, err)
		}
		list = append(list, job)
	}
	return list, nil
}

// TransformMessages transforms task status messages into the object
// `herder pulse transform` prints: job data keyed by task id, in exactly the
// shape of Treeherder's taskcluster_transformed_jobs.json (no "project"
// member; a later message for the same task replaces an earlier one).
// Skipped tasks are left out. Failures do not stop the run: they are
// returned together (errors.Join), each naming its task.
func TransformMessages(ctx context.Context, msgs []TaskMessage, tasks TaskFetcher, opts Options) (map[string]sdk.JobDatum, error) {
	t := NewTransformer(tasks, opts)
	out := make(map[string]sdk.JobDatum, len(msgs))
	var errs []error
	for i, msg := range msgs {
		d, err := t.JobDatum(ctx, msg)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			if !IsSkip(err) {
				errs = append(errs, fmt.Errorf("message %d: %w", i, err))
			}
			continue
		}
		d.Project = ""
		out[d.Job.TaskclusterTaskID] = d
	}
	return out, errors.Join(errs...)
}

// TransformPulseJobs transforms jobs in the older pulse-job format
// (job_data.json) as Treeherder's job loader does, in input order and in the
// shape of transformed_job_data.json (no "project" member). Skipped jobs
// (unscheduled) are left out; failures are returned together.
func TransformPulseJobs(jobs []json.RawMessage) ([]sdk.JobDatum, error) {
	out := make([]sdk.JobDatum, 0, len(jobs))
	var errs []error
	for i, raw := range jobs {
		pj, err := ParsePulseJob(raw)
		if err == nil {
			var d sdk.JobDatum
			d, err = PulseJobToDatum(pj)
			if err == nil {
				d.Project = ""
				out = append(out, d)
				continue
			}
		}
		if !IsSkip(err) {
			errs = append(errs, fmt.Errorf("job %d: %w", i, err))
		}
	}
	return out, errors.Join(errs...)
}

// KeyByTask keys job data by task id (by guid for non-Taskcluster jobs), the
// object form `herder pulse transform --format pulse-job` prints.
func KeyByTask(data []sdk.JobDatum) map[string]sdk.JobDatum {
	out := make(map[string]sdk.JobDatum, len(data))
	for _, d := range data {
		key := d.Job.TaskclusterTaskID
		if key == "" {
			key = d.Job.JobGUID
		}
		out[key] = d
	}
	return out
}
