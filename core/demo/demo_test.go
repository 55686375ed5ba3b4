package demo

import (
	"reflect"
	"strings"
	"testing"
	"time"

	demologs "github.com/herder-ci/herder/core/demo/logs"
	"github.com/herder-ci/herder/sdk"
)

func TestEventsAreDeterministicAndVaried(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)
	a := Events(Options{Now: now})
	b := Events(Options{Now: now.Add(20 * time.Minute)}) // same hour
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs within the hour made different events")
	}
	results := map[string]int{}
	guids := map[string]bool{}
	pushes := 0
	for _, e := range a {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		if e.Push != nil {
			pushes++
			continue
		}
		j := e.Job.Job
		if guids[j.JobGUID] {
			t.Fatalf("duplicate guid %s", j.JobGUID)
		}
		guids[j.JobGUID] = true
		results[j.State+"/"+j.Result]++
		if j.State == sdk.StateCompleted && len(j.LogReferences) == 0 {
			t.Fatalf("completed job %s has no log", j.JobGUID)
		}
	}
	if pushes != 18 {
		t.Fatalf("pushes = %d, want 3 repositories x 6", pushes)
	}
	for _, want := range []string{"completed/success", "completed/testfailed", "completed/busted", "pending/unknown", "running/unknown"} {
		if results[want] == 0 {
			t.Errorf("no %s job in the demo data: %v", want, results)
		}
	}
}

func TestDemoLogsPointAtEmbeddedLogs(t *testing.T) {
	events := Events(Options{Now: time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC), LogBaseURL: "http://127.0.0.1:8080/demo/logs/"})
	used := map[string]bool{}
	for _, e := range events {
		if e.Job == nil {
			continue
		}
		j := e.Job.Job
		names := map[string]bool{}
		for _, l := range j.LogReferences {
			name, ok := strings.CutPrefix(l.URL, "http://127.0.0.1:8080/demo/logs/")
			if !ok {
				t.Fatalf("log URL %s is not under the base", l.URL)
			}
			if _, ok := demologs.Read(name); !ok {
				t.Fatalf("job %s: demo log %s does not exist", j.JobGUID, name)
			}
			used[name] = true
			names[l.Name] = true
		}
		if j.State == sdk.StateCompleted && !names[sdk.LogLiveBacking] {
			t.Errorf("completed job %s without a raw log", j.JobGUID)
		}
		if j.Result == sdk.ResultTestFailed && !names[sdk.LogErrorSummary] {
			t.Errorf("failed test job %s without an errorsummary", j.JobGUID)
		}
	}
	for _, n := range demologs.Names() {
		if !used[n] {
			t.Errorf("demo log %s is used by no job", n)
		}
	}
}
