package storetest

import (
	"testing"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

func testLogResults(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	failed := datum("failed/0", sdk.StateCompleted, "testfailed")
	failed.Job.LogReferences = []sdk.LogReference{
		{Name: sdk.LogLiveBacking, URL: "https://example.com/failed/live_backing.log"},
		{Name: sdk.LogErrorSummary, URL: "https://example.com/failed/x_errorsummary.log"},
	}
	ok := datum("ok/0", sdk.StateCompleted, "success")
	ok.Job.LogReferences = []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: "https://example.com/ok/live_backing.log"}}
	ok.Job.PerfherderDataReferences = []sdk.LogReference{{Name: "perfherder-data-build.json", URL: "https://example.com/ok/perfherder-data-build.json"}}
	storeData(t, p, failed, ok)

	pending := func(kind, jobs string, skip ...int64) []model.LogTask {
		t.Helper()
		tasks, err := s.PendingLogs(ctx, kind, jobs, skip, 10)
		if err != nil {
			t.Fatal(err)
		}
		return tasks
	}
	raw := pending(model.LogKindRaw, model.JobsFailed)
	if len(raw) != 1 || raw[0].JobGUID != "failed/0" || raw[0].Repository != "mozilla-central" || raw[0].JobResult != "testfailed" {
		t.Fatalf("failed raw logs = %+v", raw)
	}
	if got := pending(model.LogKindRaw, model.JobsSucceeded); len(got) != 1 || got[0].JobGUID != "ok/0" {
		t.Fatalf("succeeded raw logs = %+v", got)
	}
	if got := pending(model.LogKindRaw, model.JobsAny, raw[0].JobLogID); len(got) != 1 || got[0].JobGUID != "ok/0" {
		t.Fatalf("skip list ignored: %+v", got)
	}
	if got := pending(model.LogKindPerf, model.JobsAny); len(got) != 1 {
		t.Fatalf("perf logs = %+v", got)
	}
	summary := pending(model.LogKindJSON, model.JobsFailed)
	if len(summary) != 1 {
		t.Fatalf("errorsummary logs = %+v", summary)
	}

	if !raw[0].Fresh || !summary[0].Fresh {
		t.Fatalf("logs never parsed are not fresh: %+v %+v", raw[0], summary[0])
	}
	result := sdk.LogParseResult{Status: sdk.LogStatusParsed, AlgorithmVersion: "1", Errors: []sdk.ErrorLine{
		{LineNumber: 3, Line: "TEST-UNEXPECTED-FAIL | a.html | boom 🚀"},
		{LineNumber: 8, Line: "PROCESS-CRASH | a.html | application crashed"},
	}}
	if err := s.StoreLogResult(ctx, raw[0], result); err != nil {
		t.Fatal(err)
	}
	test := "a.html"
	expected := "PASS"
	if err := s.StoreLogResult(ctx, summary[0], sdk.LogParseResult{Status: sdk.LogStatusParsed, AlgorithmVersion: "1",
		FailureLines: []sdk.FailureLine{{Action: "test_result", Line: 0, Test: &test, Status: "FAIL", Expected: &expected, KnownIntermittent: []string{"TIMEOUT"}}},
		Groups:       []sdk.GroupResult{{Group: "dom/a.toml", Status: 2, Duration: 30}}}); err != nil {
		t.Fatal(err)
	}
	if got := pending(model.LogKindRaw, model.JobsFailed); len(got) != 0 {
		t.Fatalf("a parsed log is still pending: %+v", got)
	}
	okRaw := pending(model.LogKindRaw, model.JobsSucceeded)
	if err := s.StoreLogResult(ctx, okRaw[0], sdk.LogParseResult{Status: sdk.LogStatusSkippedSize, Reason: "log is 9 MiB compressed; the limit is 5 MiB", AlgorithmVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.JobsByGUID(ctx, []string{"failed/0", "ok/0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		for _, l := range j.Logs {
			switch l.URL {
			case "https://example.com/failed/live_backing.log":
				if l.Status != model.LogParsed || l.AlgorithmVersion != "1" {
					t.Errorf("raw log = %+v", l)
				}
			case "https://example.com/ok/live_backing.log":
				if l.Status != model.LogSkippedSize || l.StatusReason == "" {
					t.Errorf("skipped log = %+v", l)
				}
			}
		}
	}
	c, _ := s.Counts(ctx)
	if c["text_log_error"] != 2 {
		t.Fatalf("text log errors = %d", c["text_log_error"])
	}
	// Reparsing with a newer algorithm replaces the earlier result.
	if n, err := s.ResetLogs(ctx, 0, "1"); err != nil || n != 0 {
		t.Fatalf("reset of version-1 logs when asking for version 1 = %d, %v", n, err)
	}
	// Parsed logs are reset; a log skipped for its size stays skipped, since
	// a new parser does not make it smaller.
	if n, err := s.ResetLogs(ctx, 0, "2"); err != nil || n != 2 {
		t.Fatalf("reset for version 2 = %d, %v (want the 2 parsed logs)", n, err)
	}
	again := pending(model.LogKindRaw, model.JobsFailed)
	if len(again) != 1 || again[0].Fresh {
		t.Fatalf("a reset log is fresh, so its reparse would not replace its errors: %+v", again)
	}
	if db, ok := s.(rawDB); ok {
		var parses int
		if err := db.DB().QueryRowContext(ctx, "SELECT parse_count FROM job_log WHERE id = ?", again[0].JobLogID).Scan(&parses); err != nil || parses != 1 {
			t.Fatalf("parse_count after a reset = %d, %v; want the 1 stored parse kept", parses, err)
		}
	}
	result.AlgorithmVersion = "2"
	result.Errors = result.Errors[:1]
	if err := s.StoreLogResult(ctx, again[0], result); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Counts(ctx)
	if c["text_log_error"] != 1 {
		t.Fatalf("after reparse text log errors = %d, want 1", c["text_log_error"])
	}
	if err := s.StoreLogResult(ctx, again[0], sdk.LogParseResult{Status: "exploded"}); err == nil {
		t.Fatal("an unknown status must be refused")
	}
}
