package demo

import (
	"reflect"
	"testing"
	"time"

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
