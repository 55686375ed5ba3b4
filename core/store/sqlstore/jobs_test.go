package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
)

// TestJobIDsOfMixedBatches checks that logs and task metadata land on the
// right jobs whichever way StoreJobs learns the job ids: inferred when every
// row of a batch is new, looked up when some rows update stored jobs or are
// refused by the state guard.
func TestJobIDsOfMixedBatches(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedFailureClassifications(ctx); err != nil {
		t.Fatal(err)
	}
	dev := model.RepositoryGroup{ID: 1, Name: "development"}
	if err := s.UpsertRepositories(ctx, []model.RepositoryGroup{dev}, []model.Repository{
		{ID: 1, Name: "mozilla-central", Group: dev, DVCSType: "hg", URL: "u", ActiveStatus: "active"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.StorePushes(ctx, []model.Push{{RepositoryID: 1, Revision: fmt.Sprintf("%040x", 0), Author: "a"}}); err != nil {
		t.Fatal(err)
	}
	p := ingest.NewPipeline(s, nil, nil)
	datum := func(guid, state string) sdk.JobDatum {
		d := benchDatum(0)
		d.Job.JobGUID, d.Job.State = guid, state
		d.Job.TaskclusterTaskID = "task-" + guid
		d.Job.LogReferences = []sdk.LogReference{{Name: "live_backing_log", URL: "https://example.com/" + guid + "/" + state}}
		return d
	}
	batches := [][]sdk.JobDatum{
		{datum("a", "running"), datum("b", "completed"), datum("c", "pending")},
		// New rows around an update: ids are looked up.
		{datum("d", "pending"), datum("a", "completed"), datum("e", "running")},
		// A row refused by the guard (b is completed) before a new one.
		{datum("b", "pending"), datum("f", "completed")},
		// All new again.
		{datum("g", "pending"), datum("h", "pending")},
	}
	for i, b := range batches {
		if err := p.StoreJobData(ctx, "test", b); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	wantLogs := map[string][]string{
		"a": {"running", "completed"}, "b": {"completed", "pending"}, "c": {"pending"}, "d": {"pending"},
		"e": {"running"}, "f": {"completed"}, "g": {"pending"}, "h": {"pending"},
	}
	var guids []string
	for g := range wantLogs {
		guids = append(guids, g)
	}
	jobs, err := s.JobsByGUID(ctx, guids)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(wantLogs) {
		t.Fatalf("%d jobs, want %d", len(jobs), len(wantLogs))
	}
	for _, j := range jobs {
		if j.TaskID != "task-"+j.GUID {
			t.Errorf("job %s has task %q", j.GUID, j.TaskID)
		}
		want := wantLogs[j.GUID]
		if len(j.Logs) != len(want) {
			t.Errorf("job %s has %d logs, want %d", j.GUID, len(j.Logs), len(want))
			continue
		}
		for k, l := range j.Logs {
			if l.URL != "https://example.com/"+j.GUID+"/"+want[k] {
				t.Errorf("job %s log %d is %s", j.GUID, k, l.URL)
			}
		}
	}
	if got := jobs[0].State; jobs[0].GUID == "a" && got != "completed" {
		t.Errorf("a is %s", got)
	}
}
