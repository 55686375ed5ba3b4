package storetest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

type bugsAndCycling interface {
	store.Store
	DB() *sql.DB
	StoreBugMatch(ctx context.Context, m store.BugMatchOutcome) error
	UpsertBugs(ctx context.Context, bugs []store.Bug) error
	CycleJobs(ctx context.Context, opts store.CycleOptions) (store.CycleReport, error)
	PruneOrphans(ctx context.Context, dryRun bool) (map[string]int64, error)
	PruneGeneration(ctx context.Context) (int64, error)
	OptimizeBugSearch(ctx context.Context) error
	SearchBugs(ctx context.Context, term string, limit int) ([]sdk.BugCandidate, error)
}

// testBugsAndCycling stores bug suggestions and then cycles old jobs away:
// a dry run counts without deleting; a real run, in chunks, deletes old
// jobs with everything hanging off them, keeps young ones, honours a
// per-repository retention, prunes reference rows nothing uses and lets
// ingestion recreate them.
func testBugsAndCycling(t *testing.T, s store.Store) {
	st, ok := s.(bugsAndCycling)
	if !ok {
		t.Skip("the store has no bug matching or data cycling")
	}
	if got, err := st.BugSuggestions(ctx, 12345); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("suggestions of an unknown job = %#v, %v", got, err)
	}
	seedRepos(t, s)
	now := time.Now().Unix()
	old, young := now-200*86400, now-10*86400
	if err := s.StorePushes(ctx, []model.Push{push(1, rev(1), old), push(1, rev(2), young), push(4, rev(3), young)}); err != nil {
		t.Fatal(err)
	}
	p := ingest.NewPipeline(s, nil, nil)
	mk := func(guid, repo string, r int, submit int64, name string) sdk.JobDatum {
		d := datum(guid, sdk.StateCompleted, "testfailed")
		d.Project, d.Revision = repo, rev(r)
		d.Job.Name, d.Job.SubmitTimestamp = name, submit
		d.Job.LogReferences = []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: "https://example.com/" + guid + "/live_backing.log"},
			{Name: sdk.LogErrorSummary, URL: "https://example.com/" + guid + "/x_errorsummary.log"}}
		return d
	}
	var data []sdk.JobDatum
	for i := 0; i < 5; i++ {
		data = append(data, mk("old-"+string(rune('a'+i))+"/0", "mozilla-central", 1, old, "test-linux64/opt-only-in-old-jobs"))
	}
	data = append(data, mk("young/0", "mozilla-central", 2, young, "test-linux64/opt-mochitest-1"),
		mk("try-young/0", "try", 3, young, "test-linux64/opt-mochitest-1"))
	storeData(t, p, data...)
	if err := st.UpsertBugs(ctx, []store.Bug{{BugzillaID: 500, Summary: "Intermittent a.html | boom", Modified: now}}); err != nil {
		t.Fatal(err)
	}
	var bugID int64
	if err := st.DB().QueryRowContext(ctx, "SELECT id FROM bugscache WHERE bugzilla_id = 500").Scan(&bugID); err != nil {
		t.Fatal(err)
	}
	for _, d := range data {
		j := job(t, s, d.Job.JobGUID)
		for _, l := range j.Logs {
			task := model.LogTask{JobLogID: l.ID, JobID: j.ID, JobGUID: j.GUID, RepositoryID: j.RepositoryID, Name: l.Name, URL: l.URL}
			r := sdk.LogParseResult{Status: sdk.LogStatusParsed, Errors: []sdk.ErrorLine{{LineNumber: 1, Line: "TEST-UNEXPECTED-FAIL | a.html | boom"}}}
			if l.Name == sdk.LogErrorSummary {
				test := "a.html"
				r = sdk.LogParseResult{Status: sdk.LogStatusParsed, FailureLines: []sdk.FailureLine{{Action: "test_result", Test: &test, Status: "FAIL"}},
					Groups: []sdk.GroupResult{{Group: "group-of-" + j.GUID, Status: 2}}}
			}
			if err := s.StoreLogResult(ctx, task, r); err != nil {
				t.Fatal(err)
			}
		}
		term := "a.html"
		if err := st.StoreBugMatch(ctx, store.BugMatchOutcome{JobID: j.ID, AlgorithmVersion: "1", Lines: []store.StoredSuggestion{{
			LineNumber: 1, Search: "TEST-UNEXPECTED-FAIL | a.html | boom", SearchTerms: []*string{&term}, OpenRecent: []int64{bugID}}},
			NewFailureLines: []int64{1}, ClassifyNewFailure: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().ExecContext(ctx, "INSERT INTO bug_job_map (job_id, bug_id, created) VALUES (?, ?, ?)", j.ID, bugID, now); err != nil {
			t.Fatal(err)
		}
	}
	young1 := job(t, s, "young/0")
	sg, err := st.BugSuggestions(ctx, young1.ID)
	if err != nil || len(sg) != 1 || len(sg[0].Bugs.OpenRecent) != 1 || *sg[0].Bugs.OpenRecent[0].ID != 500 || *sg[0].SearchTerms[0] != "a.html" {
		t.Fatalf("stored suggestions = %+v, %v", sg, err)
	}
	if young1.FailureClass != model.FCNewFailure {
		t.Errorf("new failure classification %d", young1.FailureClass)
	}
	count := func(table string) int64 {
		t.Helper()
		var n int64
		if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tables := []string{"job", "job_log", "text_log_error", "failure_line", "group_status", "bug_suggestion", "bug_job_map", "bug_match_job"}
	before := map[string]int64{}
	for _, tb := range tables {
		before[tb] = count(tb)
	}

	var seen []store.CycleProgress
	opts := store.CycleOptions{Days: 120, ChunkSize: 2, DryRun: true, RepositoryDays: map[string]int{"try": 5},
		Progress: func(p store.CycleProgress) { seen = append(seen, p) }}
	rep, err := st.CycleJobs(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Jobs != 6 || rep.FailureLines != 6 {
		t.Errorf("dry run = %+v, want 6 jobs and 6 failure lines", rep)
	}
	orphans, err := st.PruneOrphans(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if n := count(tb); n != before[tb] {
			t.Errorf("dry run changed %s: %d -> %d", tb, before[tb], n)
		}
	}
	if orphans["job_type"] != 0 || len(seen) == 0 {
		t.Errorf("dry run orphans %v (nothing is orphaned before jobs go), progress %v", orphans, seen)
	}

	seen = nil
	opts.DryRun = false
	rep, err = st.CycleJobs(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Jobs != 6 || rep.FailureLines != 6 {
		t.Errorf("cycle = %+v", rep)
	}
	if len(seen) < 3 || !seen[len(seen)-1].Done {
		t.Errorf("progress = %+v, want chunks of 2 and a last report", seen)
	}
	if n := count("job"); n != 1 {
		t.Errorf("%d jobs left, want 1", n)
	}
	for _, tb := range tables[1:] {
		if n := count(tb); n != before[tb]/7 {
			t.Errorf("%s: %d rows left of %d, want only the young job's", tb, n, before[tb])
		}
	}
	if _, err := s.JobsByGUID(ctx, []string{"young/0"}); err != nil {
		t.Fatal(err)
	}
	gen0, _ := st.PruneGeneration(ctx)
	orphans, err = st.PruneOrphans(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if orphans["job_type"] != 1 || orphans["test_group"] != 6 {
		t.Errorf("pruned %v, want the old jobs' job type and the cycled jobs' groups", orphans)
	}
	if gen, _ := st.PruneGeneration(ctx); gen != gen0+1 {
		t.Errorf("prune generation %d -> %d", gen0, gen)
	}
	// The search index survives compaction.
	if err := st.OptimizeBugSearch(ctx); err != nil {
		t.Fatal(err)
	}
	if found, err := st.SearchBugs(ctx, "A.HTML", 10); err != nil || len(found) != 1 || *found[0].BugzillaID != 500 {
		t.Errorf("search after optimizing = %+v, %v", found, err)
	}
	// Ingestion recreates a pruned job type (the caches were reset).
	storeData(t, p, mk("old-again/0", "mozilla-central", 2, young, "test-linux64/opt-only-in-old-jobs"))
	if j := job(t, s, "old-again/0"); j.JobType.Name != "test-linux64/opt-only-in-old-jobs" {
		t.Errorf("recreated job type = %+v", j.JobType)
	}
}
