package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/herder-ci/herder/internal/testenv"
)

func pulseFixture(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(testenv.SharedData(t), "pulse", name)
}

func decodeJSONString(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return v
}

// TestPulseTransformMatchesFixture: `herder pulse transform` prints exactly
// taskcluster_transformed_jobs.json for Treeherder's recorded messages.
func TestPulseTransformMatchesFixture(t *testing.T) {
	code, out, errOut := runCaptured(t, "pulse", "transform",
		"--messages", pulseFixture(t, "taskcluster_pulse_messages.json"), "--tasks", pulseFixture(t, "taskcluster_tasks.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var want any
	pulseReadJSON(t, pulseFixture(t, "taskcluster_transformed_jobs.json"), &want)
	if got := decodeJSONString(t, out); !reflect.DeepEqual(got, want) {
		t.Errorf("output differs from taskcluster_transformed_jobs.json:\n%s", out[:min(len(out), 2000)])
	}
}

// TestPulseTransformPulseJobs: the older format, with the fixture's
// placeholder project replaced, gives transformed_job_data.json keyed by task.
func TestPulseTransformPulseJobs(t *testing.T) {
	code, out, errOut := runCaptured(t, "pulse", "transform", "--format", "pulse-job",
		"--messages", pulseFixture(t, "job_data.json"), "--project", "test_treeherder_jobs")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list []map[string]any
	pulseReadJSON(t, pulseFixture(t, "transformed_job_data.json"), &list)
	want := map[string]any{}
	for _, d := range list {
		job := d["job"].(map[string]any)
		key, _ := job["taskcluster_task_id"].(string)
		if key == "" {
			key = job["job_guid"].(string)
		}
		want[key] = d
	}
	got := decodeJSONString(t, out).(map[string]any)
	if len(got) != 30 || !reflect.DeepEqual(got, want) {
		t.Errorf("%d jobs; output differs from transformed_job_data.json", len(got))
	}

	// Without --project the placeholder fails validation, job by job.
	code, out, errOut = runCaptured(t, "pulse", "transform", "--format", "pulse-job", "--messages", pulseFixture(t, "job_data.json"))
	if code != 1 || !strings.Contains(errOut, "origin.project") || strings.TrimSpace(out) != "{}" {
		t.Errorf("placeholder project: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestPulseTransformErrors(t *testing.T) {
	if code, _, _ := runCaptured(t, "pulse", "transform", "--messages", "x.json"); code != 2 {
		t.Errorf("without --tasks: exit %d, want 2", code)
	}
	if code, _, _ := runCaptured(t, "pulse", "transform", "--format", "yaml", "--messages", "x"); code != 2 {
		t.Errorf("bad format: exit %d, want 2", code)
	}
	if code, _, _ := runCaptured(t, "pulse", "transform", "--messages", "/nonexistent.json", "--tasks", "/nonexistent.json"); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	pulseWriteFile(t, bad, "{not json")
	if code, _, _ := runCaptured(t, "pulse", "transform", "--messages", bad, "--tasks", bad); code != 1 {
		t.Errorf("not JSON: exit %d, want 1", code)
	}
	// A message whose task is not in the tasks file is reported; the others
	// are still printed.
	msgs := filepath.Join(dir, "msgs.json")
	pulseWriteFile(t, msgs, `[{"exchange": "exchange/taskcluster-queue/v1/task-pending", "root_url": "https://tc.example",
		"payload": {"status": {"taskId": "A35mWTRuQmyj88yMnIF0fA", "runs": [{"runId": 0, "state": "pending"}]}, "runId": 0}}]`)
	tasks := filepath.Join(dir, "tasks.json")
	pulseWriteFile(t, tasks, `{}`)
	code, out, errOut := runCaptured(t, "pulse", "transform", "--messages", msgs, "--tasks", tasks)
	if code != 1 || !strings.Contains(errOut, "A35mWTRuQmyj88yMnIF0fA") || strings.TrimSpace(out) != "{}" {
		t.Errorf("missing task: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func pulseReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func pulseWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
