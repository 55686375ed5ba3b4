package bugs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
)

// parsed stores a raw log parse result through FollowLogs (as herder serve
// does), queuing the job for matching.
func parsed(t *testing.T, st *sqlstore.Store, job model.Job, lines ...string) {
	t.Helper()
	r := sdk.LogParseResult{Status: sdk.LogStatusParsed, AlgorithmVersion: "test"}
	for i, l := range lines {
		r.Errors = append(r.Errors, sdk.ErrorLine{LineNumber: 100 + i, Line: l})
	}
	var f dispatch.LogStore = FollowLogs{LogStore: st, Queue: st}
	if err := f.StoreLogResult(ctx, logTask(t, job, sdk.LogLiveBacking), r); err != nil {
		t.Fatal(err)
	}
}

func runQueue(t *testing.T, d *Dispatcher) {
	t.Helper()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func suggestions(t *testing.T, st *sqlstore.Store, jobID int64) []store.BugSuggestion {
	t.Helper()
	s, err := st.BugSuggestions(ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fcOf(t *testing.T, st *sqlstore.Store, jobID int64) int64 {
	t.Helper()
	var fc int64
	if err := st.DB().QueryRowContext(ctx, "SELECT failure_classification_id FROM job WHERE id = ?", jobID).Scan(&fc); err != nil {
		t.Fatal(err)
	}
	return fc
}

func newFailureLines(t *testing.T, st *sqlstore.Store, jobID int64) []int64 {
	t.Helper()
	rows, err := st.DB().QueryContext(ctx, "SELECT line_number FROM text_log_error WHERE job_id = ? AND new_failure = ? ORDER BY line_number", jobID, true)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// End to end: jobs whose raw logs were parsed are matched by the plugin
// through the dispatcher; the suggestions are stored and served in
// Treeherder's shape; new failures are classified 6; the 21-day counter
// learns from autoland and mozilla-central only.
func TestMatchEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		if err := st.UpsertBugs(ctx, []store.Bug{
			{BugzillaID: 1001, Summary: "Intermittent dom/tests/test_foo.html | assertion failed", Status: "NEW", Modified: now.Unix(), Keywords: "intermittent-failure"},
			{BugzillaID: 1002, Summary: "Intermittent test_foo.html | old failure", Status: "RESOLVED", Resolution: "FIXED", Modified: now.Unix()},
			{BugzillaID: 1003, Summary: "Intermittent my_test_foo.html | not a match", Status: "NEW", Modified: now.Unix()},
			{BugzillaID: 1004, Summary: "Crash in [@ nsFoo::Crash()]", Status: "NEW", Modified: now.Unix(), CrashSignature: "[@ nsFoo::Crash()]"},
		}); err != nil {
			t.Fatal(err)
		}
		// An internal issue (no Bugzilla id), as the API files them.
		if _, err := st.DB().ExecContext(ctx, "INSERT INTO bugscache (bugzilla_id, summary, status, resolution, crash_signature, keywords, modified) VALUES (NULL, 'test_foo.html is broken on try', 'NEW', '', '', '', ?)", now.Unix()); err != nil {
			t.Fatal(err)
		}
		day := now.Add(-2 * time.Hour).Unix()
		addPush(t, st, 77, rev(1), day)
		addPush(t, st, 77, rev(2), day+600)
		addPush(t, st, 4, rev(3), day+1200)
		addPush(t, st, 35, rev(4), day+1200)
		lines := []string{
			"00:54:20     INFO -  TEST-UNEXPECTED-FAIL | dom/tests/test_foo.html | assertion 0.25 failed",
			"00:54:21     INFO -  PROCESS-CRASH | application crashed [@ nsFoo::Crash()] | dom/tests/test_bar.html",
			"Return code: 1",
			strings.Repeat("x", 10<<10),
		}
		j1 := addJob(t, st, jobSpec{guid: "a1/0", repo: "autoland", revision: rev(1), result: "testfailed", submit: day, logs: []string{sdk.LogLiveBacking}})
		j2 := addJob(t, st, jobSpec{guid: "a2/0", repo: "autoland", revision: rev(2), result: "testfailed", submit: day + 600, logs: []string{sdk.LogLiveBacking}})
		j3 := addJob(t, st, jobSpec{guid: "t1/0", repo: "try", revision: rev(3), result: "testfailed", submit: day + 1200, logs: []string{sdk.LogLiveBacking}})
		j4 := addJob(t, st, jobSpec{guid: "c1/0", repo: "comm-central", revision: rev(4), result: "busted", submit: day + 1200, logs: []string{sdk.LogLiveBacking}})
		j5 := addJob(t, st, jobSpec{guid: "ok/0", repo: "autoland", revision: rev(2), result: "success", submit: day + 600, logs: []string{sdk.LogLiveBacking}})

		m := &Matcher{Store: st, Proc: startPlugin(t), Processor: "bugmatcher", Now: clock}
		d := NewDispatcher(st, m, &Intermittents{Store: st}, DispatchOptions{Now: clock})
		parsed(t, st, j1, lines[0], lines[1], lines[2], lines[3])
		runQueue(t, d)

		got := suggestions(t, st, j1.ID)
		if len(got) != 4 {
			t.Fatalf("%d suggestions, want 4", len(got))
		}
		first := got[0]
		if first.Search != "TEST-UNEXPECTED-FAIL | dom/tests/test_foo.html | assertion 0.25 failed" || first.LineNumber != 100 ||
			*first.PathEnd != "dom/tests/test_foo.html" || len(first.SearchTerms) != 1 || *first.SearchTerms[0] != "test_foo.html" ||
			first.Counter != 0 || !first.FailureNewInRev {
			t.Errorf("line 100 = %s", js(first))
		}
		var open, others []string
		for _, b := range first.Bugs.OpenRecent {
			open = append(open, b.Summary)
		}
		for _, b := range first.Bugs.AllOthers {
			others = append(others, b.Summary)
		}
		if !reflect.DeepEqual(open, []string{"test_foo.html is broken on try", "Intermittent dom/tests/test_foo.html | assertion failed"}) ||
			!reflect.DeepEqual(others, []string{"Intermittent test_foo.html | old failure"}) {
			t.Errorf("line 100 bugs: open %q, others %q", open, others)
		}
		internal := first.Bugs.OpenRecent[0]
		if internal.ID != nil || internal.InternalID == 0 || internal.Occurrences == nil || *internal.Occurrences != 0 {
			t.Errorf("internal issue = %s", js(internal))
		}
		bz := first.Bugs.OpenRecent[1]
		if bz.ID == nil || *bz.ID != 1001 || bz.Occurrences != nil || bz.Keywords != "intermittent-failure" || bz.Status != "NEW" {
			t.Errorf("bug 1001 = %s", js(bz))
		}
		crash := got[1]
		if len(crash.SearchTerms) != 2 || *crash.SearchTerms[1] != "nsFoo::Crash()" || len(crash.Bugs.OpenRecent) != 1 || *crash.Bugs.OpenRecent[0].ID != 1004 {
			t.Errorf("crash line = %s", js(crash))
		}
		if got[2].SearchTerms[0] != nil || len(got[2].SearchTerms) != 1 || got[2].PathEnd != nil {
			t.Errorf("blacklisted line = %s", js(got[2]))
		}
		if got[3].SearchTerms[0] != nil || len(got[3].Bugs.OpenRecent)+len(got[3].Bugs.AllOthers) != 0 {
			t.Errorf("10 KB line = %s", js(got[3]))
		}
		// The API shape: exactly Treeherder's keys.
		raw, _ := json.Marshal(first)
		var keys map[string]any
		json.Unmarshal(raw, &keys)
		for _, k := range []string{"search", "search_terms", "path_end", "bugs", "line_number", "counter", "failure_new_in_rev"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("suggestion lacks %q: %s", k, raw)
			}
		}
		if len(keys) != 7 {
			t.Errorf("suggestion keys = %v", keys)
		}
		// Every line was new on autoland: classification 6, all lines marked.
		if fc := fcOf(t, st, j1.ID); fc != model.FCNewFailure {
			t.Errorf("job 1 classification %d, want 6", fc)
		}
		if nl := newFailureLines(t, st, j1.ID); !reflect.DeepEqual(nl, []int64{100, 101, 102, 103}) {
			t.Errorf("new failure lines = %v", nl)
		}

		// The same lines on the next push: seen once, not new.
		parsed(t, st, j2, lines[0], "00:59:00     INFO -  TEST-UNEXPECTED-FAIL | dom/tests/test_foo.html | assertion 0.75 failed")
		runQueue(t, d)
		g2 := suggestions(t, st, j2.ID)
		if g2[0].Counter != 1 || g2[0].FailureNewInRev || g2[1].Counter != 2 || g2[1].FailureNewInRev {
			t.Errorf("second push counters: %d/%v, %d/%v", g2[0].Counter, g2[0].FailureNewInRev, g2[1].Counter, g2[1].FailureNewInRev)
		}
		if fc := fcOf(t, st, j2.ID); fc != model.FCNotClassified {
			t.Errorf("job 2 classification %d, want 1", fc)
		}
		// try reads the counter but adds nothing; a line autoland never saw
		// is a new failure there too.
		parsed(t, st, j3, lines[0], "TEST-UNEXPECTED-FAIL | try/only_on_try.html | boom")
		runQueue(t, d)
		g3 := suggestions(t, st, j3.ID)
		if g3[0].Counter != 3 || g3[0].FailureNewInRev || g3[1].Counter != 0 || g3[1].FailureNewInRev {
			t.Errorf("try counters: %s", js(g3))
		}
		if fc := fcOf(t, st, j3.ID); fc != model.FCNewFailure {
			t.Errorf("try job classification %d, want 6", fc)
		}
		// comm-central counts on its own.
		parsed(t, st, j4, lines[0])
		runQueue(t, d)
		if g4 := suggestions(t, st, j4.ID); g4[0].Counter != 0 || !g4[0].FailureNewInRev {
			t.Errorf("comm-central counter: %s", js(g4[0]))
		}
		// A successful job is never a new failure.
		parsed(t, st, j5, "TEST-UNEXPECTED-FAIL | brand/new_test.html | x")
		runQueue(t, d)
		if fc := fcOf(t, st, j5.ID); fc != model.FCNotClassified {
			t.Errorf("successful job classification %d", fc)
		}

		// Rematching a job does not count it again, and a bug resolved
		// since moves to all_others when served.
		if _, err := m.MatchJob(ctx, j2.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.UpsertBugs(ctx, []store.Bug{{BugzillaID: 1001, Summary: "Intermittent dom/tests/test_foo.html | assertion failed", Status: "RESOLVED", Resolution: "FIXED", Modified: now.Unix()}}); err != nil {
			t.Fatal(err)
		}
		g2b := suggestions(t, st, j2.ID)
		if g2b[0].Counter != 1 {
			t.Errorf("rematch counted again: %d", g2b[0].Counter)
		}
		if len(g2b[0].Bugs.AllOthers) != 2 || *g2b[0].Bugs.AllOthers[0].ID != 1001 {
			t.Errorf("resolved bug not in all_others: %s", js(g2b[0].Bugs))
		}
		// A job never matched has no suggestions.
		if s := suggestions(t, st, 987654); len(s) != 0 || s == nil {
			t.Errorf("unknown job = %#v", s)
		}
	})
}

// Work whose log is still pending waits; work of a log that failed is dropped.
func TestDispatcherPendingAndFailedLogs(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		now := time.Now()
		addPush(t, st, 1, rev(9), now.Unix())
		j := addJob(t, st, jobSpec{guid: "p/0", repo: "mozilla-central", revision: rev(9), result: "testfailed", submit: now.Unix(), logs: []string{sdk.LogLiveBacking}})
		lt := logTask(t, j, sdk.LogLiveBacking)
		if err := st.EnqueueBugWork(ctx, j.ID, store.BugWorkSuggest, lt.JobLogID); err != nil {
			t.Fatal(err)
		}
		m := &Matcher{Store: st, Proc: startPlugin(t), Processor: "bugmatcher"}
		d := NewDispatcher(st, m, &Intermittents{Store: st}, DispatchOptions{})
		if n, _ := d.RunOnce(ctx); n != 1 {
			t.Fatalf("claimed %d", n)
		}
		if n, _ := st.PendingBugWork(ctx); n != 1 {
			t.Fatalf("pending-log work was dropped")
		}
		// Past the grace period it is abandoned.
		late := NewDispatcher(st, m, &Intermittents{Store: st}, DispatchOptions{Now: func() time.Time { return now.Add(time.Hour) }})
		st2 := st
		st2.DB().ExecContext(ctx, "UPDATE bug_work SET claimed_until = 0")
		late.RunOnce(ctx)
		if n, _ := st.PendingBugWork(ctx); n != 0 {
			t.Fatalf("stale work kept")
		}
		// A failed parse queues nothing.
		var f dispatch.LogStore = FollowLogs{LogStore: st, Queue: st}
		if err := f.StoreLogResult(ctx, lt, sdk.LogParseResult{Status: sdk.LogStatusFailed, Reason: "404"}); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.PendingBugWork(ctx); n != 0 {
			t.Fatalf("a failed parse queued work")
		}
	})
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }
