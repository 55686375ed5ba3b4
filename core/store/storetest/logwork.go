package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

// testLogLeases covers what lets several workers share log parsing: one
// claimer wins, a late result from a lost lease is refused, and the sweep
// finds logs no queue holds.
func testLogLeases(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	a := datum("lease/a", sdk.StateCompleted, "testfailed")
	a.Job.LogReferences = []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: "https://example.com/a/live_backing.log"}}
	b := datum("lease/b", sdk.StateCompleted, "success")
	b.Job.LogReferences = []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: "https://example.com/b/live_backing.log"}}
	storeData(t, p, a, b)

	tasks, err := s.PendingLogsOfJobs(ctx, []string{"lease/a", "lease/b", "lease/none"})
	if err != nil || len(tasks) != 2 || tasks[0].JobGUID != "lease/a" || tasks[1].JobResult != "success" {
		t.Fatalf("PendingLogsOfJobs = %+v, %v", tasks, err)
	}
	id := tasks[0].JobLogID
	now := time.Now()

	// Never queued: both are unqueued; once marked, only an old mark counts.
	if got, err := s.UnqueuedLogs(ctx, now, 10); err != nil || len(got) != 2 {
		t.Fatalf("UnqueuedLogs before marking = %+v, %v", got, err)
	}
	if err := s.MarkLogsQueued(ctx, []int64{tasks[0].JobLogID, tasks[1].JobLogID}, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UnqueuedLogs(ctx, now.Add(-time.Minute), 10); len(got) != 0 {
		t.Fatalf("logs queued just now are unqueued: %+v", got)
	}
	if got, err := s.PendingLogsOfJobs(ctx, []string{"lease/a", "lease/b"}); err != nil || len(got) != 0 {
		t.Fatalf("logs already queued are offered to be queued again: %+v, %v", got, err)
	}
	if got, _ := s.UnqueuedLogs(ctx, now.Add(time.Minute), 10); len(got) != 2 {
		t.Fatalf("logs queued long before the cut are not found again: %+v", got)
	}

	// A claim of the log as it was read checks the row still matches it.
	read := tasks[0]
	for _, stale := range []model.LogTask{
		func() model.LogTask { t := read; t.Fresh = !t.Fresh; return t }(),
		func() model.LogTask { t := read; t.URL += "x"; return t }(),
		func() model.LogTask { t := read; t.JobID++; return t }(),
	} {
		if ids, err := s.ClaimKnownLogs(ctx, []model.LogTask{stale}, "w1", now.Add(time.Minute)); err != nil || len(ids) != 0 {
			t.Fatalf("claim of a log as it no longer is (%+v) = %v, %v", stale, ids, err)
		}
	}
	if ids, err := s.ClaimKnownLogs(ctx, []model.LogTask{read}, "w1", now.Add(time.Minute)); err != nil || len(ids) != 1 {
		t.Fatalf("claim of the log as read = %v, %v", ids, err)
	}
	if ids, err := s.ClaimKnownLogs(ctx, []model.LogTask{read}, "w2", now.Add(time.Minute)); err != nil || len(ids) != 0 {
		t.Fatalf("second claimer of the log as read won a live lease: %v, %v", ids, err)
	}
	if err := s.ReleaseLog(ctx, id, "w1"); err != nil {
		t.Fatal(err)
	}

	// Several at once: those still as read are claimed; one leased
	// elsewhere or changed since is not, and the claim says which it got.
	second := tasks[1]
	if ids, err := s.ClaimKnownLogs(ctx, []model.LogTask{second}, "w9", now.Add(time.Minute)); err != nil || len(ids) != 1 {
		t.Fatalf("claim of the second log = %v, %v", ids, err)
	}
	stale := read
	stale.URL += "x"
	if got, err := s.ClaimKnownLogs(ctx, []model.LogTask{stale, second}, "w1", now.Add(time.Minute+time.Millisecond)); err != nil || len(got) != 0 {
		t.Fatalf("claim of a changed and a leased log = %v, %v; want none", got, err)
	}
	if got, err := s.ClaimKnownLogs(ctx, []model.LogTask{read, second}, "w1", now.Add(time.Minute+2*time.Millisecond)); err != nil || !slices.Equal(got, []int64{id}) {
		t.Fatalf("claim of a free and a leased log = %v, %v; want [%d]", got, err, id)
	}
	for _, o := range []string{"w1", "w9"} {
		if err := s.ReleaseLog(ctx, id, o); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseLog(ctx, second.JobLogID, o); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ClaimKnownLogs(ctx, []model.LogTask{read, second}, "w1", now.Add(time.Minute+3*time.Millisecond))
	if slices.Sort(got); err != nil || !slices.Equal(got, []int64{min(id, second.JobLogID), max(id, second.JobLogID)}) {
		t.Fatalf("claim of two free logs = %v, %v", got, err)
	}
	for _, l := range []int64{id, second.JobLogID} {
		if err := s.ReleaseLog(ctx, l, "w1"); err != nil {
			t.Fatal(err)
		}
	}

	// One of two claimers wins; the loser sees ok == false.
	task, ok, err := s.ClaimLog(ctx, id, "w1", now.Add(time.Minute))
	if err != nil || !ok || task.JobGUID != "lease/a" || task.Owner != "w1" {
		t.Fatalf("first claim = %+v, %v, %v", task, ok, err)
	}
	if _, ok, err := s.ClaimLog(ctx, id, "w2", now.Add(time.Minute)); err != nil || ok {
		t.Fatalf("second claimer won a live lease: %v, %v", ok, err)
	}
	// A leased log is neither pending for pollers nor unqueued for the sweep.
	if got, _ := s.PendingLogs(ctx, model.LogKindRaw, model.JobsFailed, nil, 10); len(got) != 0 {
		t.Fatalf("a leased log is offered to pollers: %+v", got)
	}
	if got, _ := s.UnqueuedLogs(ctx, now.Add(time.Minute), 10); len(got) != 1 || got[0].JobLogID == id {
		t.Fatalf("UnqueuedLogs with a lease = %+v", got)
	}
	// Released, it can be claimed at once by another worker, and w1's late
	// result no longer counts.
	if err := s.ReleaseLog(ctx, id, "w1"); err != nil {
		t.Fatal(err)
	}
	task2, ok, err := s.ClaimLog(ctx, id, "w2", now.Add(time.Minute))
	if err != nil || !ok {
		t.Fatalf("claim after release = %v, %v", ok, err)
	}
	res := sdk.LogParseResult{Status: sdk.LogStatusParsed, AlgorithmVersion: "1"}
	if err := s.StoreLogResult(ctx, task, res); err == nil {
		t.Fatal("a result from a lost lease was stored")
	}
	if err := s.StoreLogResult(ctx, task2, res); err != nil {
		t.Fatal(err)
	}
	// Parsed: nobody can claim it any more, and it was parsed exactly once.
	if _, ok, _ := s.ClaimLog(ctx, id, "w3", now.Add(time.Minute)); ok {
		t.Fatal("a parsed log was claimed")
	}
	jobs, err := s.JobsByGUID(ctx, []string{"lease/a"})
	if err != nil || len(jobs) != 1 {
		t.Fatal(jobs, err)
	}
	if i := slices.IndexFunc(jobs[0].Logs, func(l model.JobLog) bool { return l.ID == id }); i < 0 || jobs[0].Logs[i].Status != model.LogParsed {
		t.Fatalf("logs = %+v", jobs[0].Logs)
	}
	// An expired lease is taken over, and until then the sweep offers the
	// log again even though it was queued recently: the worker holding it
	// died, and the message naming it is gone.
	other := tasks[1].JobLogID
	if _, ok, _ := s.ClaimLog(ctx, other, "w1", now.Add(-time.Second)); !ok {
		t.Fatal("claim with a past expiry failed")
	}
	if got, _ := s.UnqueuedLogs(ctx, now.Add(-time.Minute), 10); len(got) != 1 || got[0].JobLogID != other {
		t.Fatalf("UnqueuedLogs with an expired lease = %+v", got)
	}
	if ok, err := s.RenewLog(ctx, other, "w2", now.Add(time.Minute)); err != nil || ok {
		t.Fatalf("a non-owner renewed the lease: %v, %v", ok, err)
	}
	if ok, err := s.RenewLog(ctx, other, "w1", now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("the owner could not renew: %v, %v", ok, err)
	}
	if _, ok, _ := s.ClaimLog(ctx, other, "w2", now.Add(time.Minute)); ok {
		t.Fatal("a renewed lease was taken over")
	}
	if ok, _ := s.RenewLog(ctx, other, "w1", now.Add(-time.Second)); !ok {
		t.Fatal("renew to expire failed")
	}
	if _, ok, _ := s.ClaimLog(ctx, other, "w2", now.Add(time.Minute)); !ok {
		t.Fatal("an expired lease was not taken over")
	}
}
