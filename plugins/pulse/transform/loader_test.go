package transform

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/herder-ci/herder/sdk"
)

// pulseJob is a valid job in pulse-job format; mods edit it.
func pulseJob(mods ...func(j map[string]any)) PulseJob {
	j := map[string]any{
		"taskId":      "21880000-0000-4000-8000-000000000000/0",
		"origin":      map[string]any{"project": "autoland", "revision": testRev},
		"buildSystem": "taskcluster",
		"display":     map[string]any{"jobSymbol": "bc", "jobName": "test-linux64/debug-bc", "groupSymbol": "M"},
		"state":       "completed",
		"result":      "fail",
		"jobKind":     "test",
		"version":     1,
		"owner":       "someone@example.com",
	}
	for _, m := range mods {
		m(j)
	}
	// Round-trip so numbers are json.Number, as from a message.
	b, _ := json.Marshal(j)
	pj, err := ParsePulseJob(b)
	if err != nil {
		panic(err)
	}
	return pj
}

func toDatum(t *testing.T, pj PulseJob) sdk.JobDatum {
	t.Helper()
	d, err := PulseJobToDatum(pj)
	if err != nil {
		t.Fatalf("PulseJobToDatum: %v", err)
	}
	return d
}

func TestResultMapping(t *testing.T) {
	cases := []struct {
		state, result, kind string
		retried             bool
		want                string
	}{
		{"completed", "success", "test", false, "success"},
		{"completed", "fail", "test", false, "testfailed"},
		{"completed", "fail", "build", false, "busted"},
		{"completed", "fail", "other", false, "busted"},
		{"completed", "canceled", "test", false, "usercancel"},
		{"completed", "exception", "build", false, "exception"},
		{"completed", "superseded", "test", false, "superseded"},
		{"completed", "retry", "test", false, "retry"},
		{"completed", "unknown", "test", false, "unknown"},
		{"completed", "fail", "test", true, "retry"},
		{"completed", "success", "build", true, "retry"},
		{"running", "fail", "test", false, "unknown"},
		{"pending", "success", "test", true, "unknown"},
	}
	for _, tc := range cases {
		pj := pulseJob(func(j map[string]any) {
			j["state"], j["result"], j["jobKind"], j["isRetried"] = tc.state, tc.result, tc.kind, tc.retried
		})
		if got := toDatum(t, pj).Job.Result; got != tc.want {
			t.Errorf("%s/%s/%s retried=%v: %s, want %s", tc.state, tc.result, tc.kind, tc.retried, got, tc.want)
		}
	}
	// No result on a completed job is unknown.
	pj := pulseJob(func(j map[string]any) { delete(j, "result") })
	if got := toDatum(t, pj).Job.Result; got != "unknown" {
		t.Errorf("missing result: %s", got)
	}
}

func TestLoaderFields(t *testing.T) {
	pj := pulseJob(func(j map[string]any) {
		j["display"].(map[string]any)["chunkId"] = 3
		j["runMachine"] = map[string]any{"name": "m-1", "platform": "linux64", "os": "linux", "architecture": "x86_64"}
		j["coalesced"] = []any{"a0000000-0000-4000-8000-000000000000/0"}
		j["labels"] = []any{"debug", "debug", "asan"}
		j["tier"] = 3
		j["timeScheduled"] = "2025-02-26T22:45:17-08:00"
		j["timeCompleted"] = "2025-02-26T23:06:42.999-08:00"
		j["jobInfo"] = map[string]any{"links": []any{
			map[string]any{"url": "https://x/p/perfherder-data-a.json", "linkText": "perfherder-data-a.json", "label": "artifact uploaded"},
			map[string]any{"url": "https://x/p/foo_errorsummary.log", "linkText": "foo_errorsummary.log", "label": "artifact uploaded"},
			map[string]any{"url": "https://x/p/perfherder-data-a.json.gz", "linkText": "x", "label": "artifact uploaded"},
		}}
		j["logs"] = []any{map[string]any{"name": "live_backing_log", "url": "https://x/live.log"}}
	})
	d := toDatum(t, pj)
	j := d.Job
	if j.JobSymbol != "bc3" || j.Tier != 3 || j.Machine != "m-1" {
		t.Errorf("symbol %q tier %d machine %q", j.JobSymbol, j.Tier, j.Machine)
	}
	plat := sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"}
	if j.BuildPlatform != plat || j.MachinePlatform != plat {
		t.Errorf("a lone runMachine serves both platforms: %+v %+v", j.BuildPlatform, j.MachinePlatform)
	}
	if len(d.Superseded) != 1 || len(j.OptionCollection) != 2 {
		t.Errorf("superseded %v options %v", d.Superseded, j.OptionCollection)
	}
	if j.SubmitTimestamp != 1740638717 || j.StartTimestamp != 0 || j.EndTimestamp != 1740640002 {
		t.Errorf("times %d %d %d", j.SubmitTimestamp, j.StartTimestamp, j.EndTimestamp)
	}
	if len(j.LogReferences) != 2 || j.LogReferences[1].Name != "errorsummary_json" || len(j.PerfherderDataReferences) != 1 {
		t.Errorf("logs %+v perf %+v", j.LogReferences, j.PerfherderDataReferences)
	}
	if j.TaskclusterTaskID != "IYgAAAAAQACAAAAAAAAAAA" || j.TaskclusterRetryID != 0 {
		t.Errorf("taskcluster ids %q %d", j.TaskclusterTaskID, j.TaskclusterRetryID)
	}

	// Distinct machines; the build machine names the machine.
	pj = pulseJob(func(j map[string]any) {
		j["buildMachine"] = map[string]any{"name": "b-1", "platform": "lin", "os": "l", "architecture": "a"}
		j["runMachine"] = map[string]any{"name": "r-1", "platform": "win", "os": "w", "architecture": "b"}
	})
	j = toDatum(t, pj).Job
	if j.Machine != "b-1" || j.BuildPlatform.Platform != "lin" || j.MachinePlatform.Platform != "win" {
		t.Errorf("two machines: %q %+v %+v", j.Machine, j.BuildPlatform, j.MachinePlatform)
	}

	// Neither machine: unknown everywhere.
	j = toDatum(t, pulseJob()).Job
	if j.Machine != "unknown" || j.BuildPlatform.Platform != "unknown" || j.MachinePlatform.OSName != "unknown" {
		t.Errorf("no machines: %q %+v", j.Machine, j.BuildPlatform)
	}

	// A guid that is not uuid/run has no Taskcluster ids.
	j = toDatum(t, pulseJob(func(j map[string]any) { j["taskId"] = "abc-def" })).Job
	if j.TaskclusterTaskID != "" || j.TaskclusterRetryID != 0 {
		t.Errorf("non-Taskcluster guid got ids %q %d", j.TaskclusterTaskID, j.TaskclusterRetryID)
	}
}

func TestLoaderValidation(t *testing.T) {
	cases := []struct {
		name  string
		mod   func(map[string]any)
		field string
	}{
		{"extra property", func(j map[string]any) { j["extra"] = map[string]any{} }, "extra"},
		{"old origin kind", func(j map[string]any) { j["origin"].(map[string]any)["kind"] = "hg.mozilla.org" }, "origin.kind"},
		{"short revision", func(j map[string]any) { j["origin"].(map[string]any)["revision"] = "abc" }, "origin.revision"},
		{"upper-case revision", func(j map[string]any) { j["origin"].(map[string]any)["revision"] = strings.ToUpper(testRev) }, "origin.revision"},
		{"missing display", func(j map[string]any) { delete(j, "display") }, "display"},
		{"missing jobName", func(j map[string]any) { delete(j["display"].(map[string]any), "jobName") }, "display.jobName"},
		{"long jobName", func(j map[string]any) { j["display"].(map[string]any)["jobName"] = strings.Repeat("n", 141) }, "display.jobName"},
		{"bad state", func(j map[string]any) { j["state"] = "done" }, "state"},
		{"bad result", func(j map[string]any) { j["result"] = "busted" }, "result"},
		{"tier 0", func(j map[string]any) { j["tier"] = 0 }, "tier"},
		{"tier string", func(j map[string]any) { j["tier"] = "1" }, "tier"},
		{"version 2", func(j map[string]any) { j["version"] = 2 }, "version"},
		{"machine with space", func(j map[string]any) {
			j["buildMachine"] = map[string]any{"platform": "linux 64", "os": "l", "architecture": "a"}
		}, "buildMachine.platform"},
		{"machine missing os", func(j map[string]any) { j["buildMachine"] = map[string]any{"platform": "l", "architecture": "a"} }, "buildMachine.os"},
		{"log url too long", func(j map[string]any) {
			j["logs"] = []any{map[string]any{"name": "l", "url": "https://x/" + strings.Repeat("u", 250)}}
		}, "logs.0.url"},
		{"link without label", func(j map[string]any) {
			j["jobInfo"] = map[string]any{"links": []any{map[string]any{"url": "u", "linkText": "t"}}}
		}, "jobInfo.links.0.label"},
		{"empty owner", func(j map[string]any) { j["owner"] = "" }, "owner"},
		{"missing owner", func(j map[string]any) { delete(j, "owner") }, "owner"},
		{"bad time", func(j map[string]any) { j["timeStarted"] = "noon" }, "timeStarted"},
		{"isRetried string", func(j map[string]any) { j["isRetried"] = "yes" }, "isRetried"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PulseJobToDatum(pulseJob(tc.mod))
			var se *SchemaError
			if !errors.As(err, &se) || !errors.Is(err, ErrSchema) || IsSkip(err) {
				t.Fatalf("got %v, want a schema error", err)
			}
			if se.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", se.Field, tc.field, err)
			}
		})
	}

	// Owners over 50 characters are cut to 49 before validation.
	d := toDatum(t, pulseJob(func(j map[string]any) { j["owner"] = strings.Repeat("x", 51) }))
	if len(d.Job.Who) != 49 {
		t.Errorf("owner cut to %d", len(d.Job.Who))
	}
	// Unscheduled jobs are skipped.
	if _, err := PulseJobToDatum(pulseJob(func(j map[string]any) { j["state"] = "unscheduled" })); !errors.Is(err, ErrUnscheduled) || !IsSkip(err) {
		t.Errorf("unscheduled: %v", err)
	}
	// Not JSON / not an object.
	if _, err := ParsePulseJob([]byte("nope")); !errors.Is(err, ErrNotJSON) {
		t.Errorf("not JSON: %v", err)
	}
	if _, err := ParsePulseJob([]byte("[1]")); !errors.Is(err, ErrSchema) {
		t.Errorf("array: %v", err)
	}
	if _, err := PulseJobToDatum(nil); !errors.Is(err, ErrSchema) {
		t.Errorf("nil: %v", err)
	}
}

// TestJobJSONShape pins the sdk JSON changes the fixtures need.
func TestJobJSONShape(t *testing.T) {
	d := toDatum(t, pulseJob(func(j map[string]any) { j["display"].(map[string]any)["jobSymbol"] = "" }))
	m := asJSON(t, d).(map[string]any)
	job := m["job"].(map[string]any)
	for _, key := range []string{"tier", "job_symbol", "taskcluster_retry_id", "log_references", "perfherder_data_references", "option_collection"} {
		if _, ok := job[key]; !ok {
			t.Errorf("job.%s missing from %v", key, job)
		}
	}
	if s, ok := m["superseded"].([]any); !ok || len(s) != 0 {
		t.Errorf("superseded %v", m["superseded"])
	}
	if _, ok := m["project"]; !ok {
		t.Errorf("project should be written when set")
	}
	// Nil slices and maps, and retry id without a task id, stay out.
	m = asJSON(t, sdk.JobDatum{Revision: "r", Job: sdk.Job{JobGUID: "g", State: "pending"}}).(map[string]any)
	job = m["job"].(map[string]any)
	for _, key := range []string{"taskcluster_retry_id", "log_references", "perfherder_data_references", "option_collection"} {
		if _, ok := job[key]; ok {
			t.Errorf("job.%s written for a nil value", key)
		}
	}
	if _, ok := m["superseded"]; ok {
		t.Errorf("nil superseded written")
	}
	// Pointers marshal the same.
	a, _ := json.Marshal(&d)
	b, _ := json.Marshal(d)
	if string(a) != string(b) {
		t.Errorf("pointer and value marshal differently")
	}
}
