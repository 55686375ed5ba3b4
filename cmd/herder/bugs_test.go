package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

func runBugsCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	defer func() {
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
	}()
	code := run(args)
	return code, out.String(), errOut.String()
}

// TestBugsCommands runs the bug commands against the embedded database, the
// built bug matcher plugin and a fake Bugzilla serving Treeherder's
// bug_list.json: sync, search-terms, suggest, comment, and cycle-data with
// a dry run first.
func TestBugsCommands(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "bugs", "bug_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Bugs []map[string]any `json:"bugs"`
	}
	json.Unmarshal(raw, &doc)
	changed := time.Now().UTC().Add(-20 * 24 * time.Hour).Format("2006-01-02T15:04:05Z")
	for _, b := range doc.Bugs {
		b["last_change_time"] = changed
	}
	bugzilla := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("keywords") == "intermittent-failure" && r.URL.Query().Get("offset") == "0" {
			json.NewEncoder(w).Encode(doc)
			return
		}
		w.Write([]byte(`{"bugs":[]}`))
	}))
	defer bugzilla.Close()

	root := t.TempDir()
	pluginDir := filepath.Join(root, "plugins")
	os.MkdirAll(pluginDir, 0o755)
	if _, err := plugintest.BuildMain(pluginDir, "github.com/herder-ci/herder/plugins/bugmatcher"); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "herder.hcl")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`plugin_dir = "plugins"
data_dir   = "data"
allowed_hosts = ["127.0.0.1"]
plugin "bugmatcher" {}
processor "bugmatcher" {
  plugin = "bugmatcher"
  config {
    bugzilla_url = %q
  }
}
schedule "cycle_data" {
  cron = "@daily"
  args = { days = "30", "days.try" = "5" }
}
`, bugzilla.URL)), 0o600)
	for _, args := range [][]string{{"plugins", "lock"}, {"load-fixtures"}} {
		if code, out, errOut := runBugsCLI(t, append([]string{"--config", cfg}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s %s", args, code, out, errOut)
		}
	}

	code, out, errOut := runBugsCLI(t, "--config", cfg, "bugs", "sync")
	if code != 0 || !strings.Contains(out, "28 fetched, 28 stored, 0 skipped") || !strings.Contains(out, "28 bugs cached") {
		t.Fatalf("bugs sync: exit %d: %s %s", code, out, errOut)
	}

	code, out, errOut = runBugsCLI(t, "--config", cfg, "bugs", "search-terms",
		"08:00:00     INFO -  TEST-UNEXPECTED-FAIL | /html/cross-origin-opener-policy/coep-navigate-popup.https.html?4-last | TestRunner hit external timeout")
	want := `{
  "search": "TEST-UNEXPECTED-FAIL | /html/cross-origin-opener-policy/coep-navigate-popup.https.html?4-last | TestRunner hit external timeout",
  "search_term": [
    "coep-navigate-popup.https.html?4-last",
    "coep-navigate-popup.https.html"
  ],
  "path_end": "/html/cross-origin-opener-policy/coep-navigate-popup.https.html?4-last"
}
`
	if code != 0 || out != want {
		t.Fatalf("search-terms: exit %d:\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runBugsCLI(t, "--config", cfg, "bugs", "search-terms", "\x01\x02\x03 binary \x00")
	if code != 0 || !strings.Contains(errOut, "no search term") || !strings.Contains(out, `"search_term": [
    null
  ]`) {
		t.Fatalf("search-terms of junk: exit %d: %s %s", code, out, errOut)
	}

	// Jobs: one old enough to cycle on try, one recent with error lines.
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(root, "data", "herder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().Unix()
	events := []sdk.Event{
		{Push: &sdk.PushDatum{Project: "autoland", Revision: fmt.Sprintf("%040x", 1), Author: "a@example.com", PushTimestamp: now}},
		{Push: &sdk.PushDatum{Project: "try", Revision: fmt.Sprintf("%040x", 2), Author: "a@example.com", PushTimestamp: now - 10*86400}},
	}
	job := func(guid, project string, rev int, submit int64) sdk.Event {
		return sdk.Event{Job: &sdk.JobDatum{Project: project, Revision: fmt.Sprintf("%040x", rev), Job: sdk.Job{
			JobGUID: guid, Name: "test-linux64/opt-mochitest-1", State: sdk.StateCompleted, Result: sdk.ResultTestFailed,
			BuildPlatform: sdk.Platform{Platform: "linux64"}, MachinePlatform: sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			OptionCollection: map[string]bool{"opt": true}, SubmitTimestamp: submit,
			LogReferences: []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: "https://example.com/" + guid + ".log"}},
		}}}
	}
	events = append(events, job("recent/0", "autoland", 1, now), job("old-try/0", "try", 2, now-10*86400))
	if err := ingest.NewPipeline(st, nil, nil).Accept(ctx, "test", events); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.JobsByGUID(ctx, []string{"recent/0"})
	if err != nil || len(jobs) != 1 {
		t.Fatal(jobs, err)
	}
	l := jobs[0].Logs[0]
	if err := st.StoreLogResult(ctx, modelTask(jobs[0].ID, l.ID, l.Name), sdk.LogParseResult{Status: sdk.LogStatusParsed, Errors: []sdk.ErrorLine{
		{LineNumber: 5, Line: "TEST-UNEXPECTED-FAIL | dom/tests/test_popup_preventdefault_chrome.xul | Test timed out"},
	}}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runBugsCLI(t, "--config", cfg, "bugs", "suggest", "--job", fmt.Sprint(jobs[0].ID))
	var sugg []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &sugg) != nil || len(sugg) != 1 {
		t.Fatalf("suggest: exit %d: %s %s", code, out, errOut)
	}
	open := sugg[0]["bugs"].(map[string]any)["open_recent"].([]any)
	if len(open) != 1 || open[0].(map[string]any)["id"].(float64) != 455091 || sugg[0]["counter"].(float64) != 0 || sugg[0]["failure_new_in_rev"] != true {
		t.Errorf("suggestion = %s", out)
	}
	// Stored now: a second call serves the same without matching again.
	if code, out2, _ := runBugsCLI(t, "--config", cfg, "bugs", "suggest", "--job", fmt.Sprint(jobs[0].ID)); code != 0 || out2 != out {
		t.Errorf("second suggest differs:\n%s\n%s", out, out2)
	}
	if code, _, _ := runBugsCLI(t, "--config", cfg, "bugs", "suggest"); code != 2 {
		t.Errorf("suggest without --job: exit %d, want a usage error", code)
	}

	code, out, errOut = runBugsCLI(t, "--config", cfg, "bugs", "comment", "--mode", "weekly")
	if code != 0 || !strings.Contains(out, "weekly summaries") {
		t.Errorf("comment: exit %d: %s %s", code, out, errOut)
	}

	// cycle-data: the schedule's args keep 30 days, 5 on try.
	code, out, errOut = runBugsCLI(t, "--config", cfg, "cycle-data", "--dry-run")
	if code != 0 || !strings.Contains(out, "try: would delete 1 jobs") || !strings.Contains(out, "would delete 1 jobs and 0 failure lines (older than 30 days)") {
		t.Fatalf("cycle-data --dry-run: exit %d: %s %s", code, out, errOut)
	}
	if c, _ := st.Counts(ctx); c["job"] != 2 {
		t.Fatalf("a dry run deleted jobs: %v", c)
	}
	code, out, errOut = runBugsCLI(t, "--config", cfg, "cycle-data")
	if code != 0 || !strings.Contains(out, "deleted 1 jobs") {
		t.Fatalf("cycle-data: exit %d: %s %s", code, out, errOut)
	}
	if c, _ := st.Counts(ctx); c["job"] != 1 {
		t.Fatalf("after cycling: %v", c)
	}
	if code, _, errOut := runBugsCLI(t, "--config", cfg, "cycle-data", "--days", "0"); code != 2 {
		t.Errorf("--days 0: exit %d: %s", code, errOut)
	}
}

func modelTask(jobID, logID int64, name string) model.LogTask {
	return model.LogTask{JobLogID: logID, JobID: jobID, Name: name}
}

// TestServeMatchesBugs runs `herder serve` with the log parser and the bug
// matcher: a failed job's raw log is parsed, its error line matched to the
// cached bug, the suggestion stored and the job classified as a new
// failure; its errorsummary log's groups go through the intermittent check.
func TestServeMatchesBugs(t *testing.T) {
	logs := captureLogs(t)
	dir := filepath.Join(testenv.SharedData(t), "logs")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".gz") {
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Write(b)
	}))
	defer srv.Close()
	root := t.TempDir()
	pluginDir := filepath.Join(root, "plugins")
	os.MkdirAll(pluginDir, 0o755)
	for _, p := range []string{"logparser", "bugmatcher"} {
		if _, err := plugintest.BuildMain(pluginDir, "github.com/herder-ci/herder/plugins/"+p); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(root, "herder.hcl")
	os.WriteFile(cfg, []byte(`plugin_dir = "plugins"
data_dir   = "data"
plugin "logparser" {}
plugin "bugmatcher" {}
processor "logparser" {
  plugin = "logparser"
  config {
    allowed_hosts = ["127.0.0.1"]
  }
}
processor "bugmatcher" {
  plugin = "bugmatcher"
}
schedule "update_bugscache" {
  cron    = "@hourly"
  enabled = false
}
`), 0o600)
	for _, args := range [][]string{{"plugins", "lock"}, {"load-fixtures"}} {
		if code, out, errOut := runBugsCLI(t, append([]string{"--config", cfg}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s %s", args, code, out, errOut)
		}
	}
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(root, "data", "herder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.UpsertBugs(ctx, []store.Bug{{BugzillaID: 1700123, Status: "NEW", Modified: time.Now().Unix(),
		Summary: "Intermittent devtools/client/webconsole/test/browser/browser_console_enable_network_monitoring.js | A promise chain failed"}}); err != nil {
		t.Fatal(err)
	}
	rev := fmt.Sprintf("%040x", 7)
	events := []sdk.Event{{Push: &sdk.PushDatum{Project: "autoland", Revision: rev, Author: "a@example.com", PushTimestamp: time.Now().Unix()}},
		{Job: &sdk.JobDatum{Project: "autoland", Revision: rev, Job: sdk.Job{
			JobGUID: "failed/0", Name: "test-linux1804-64/debug-mochitest-browser-chrome-2", State: sdk.StateCompleted, Result: sdk.ResultTestFailed,
			BuildPlatform: sdk.Platform{Platform: "linux64"}, MachinePlatform: sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			OptionCollection: map[string]bool{"opt": true}, SubmitTimestamp: time.Now().Unix(),
			LogReferences: []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: srv.URL + "/mochitest-fail.log.gz"},
				{Name: sdk.LogErrorSummary, URL: srv.URL + "/mochitest-browser-chrome_errorsummary.log"}},
		}}}}
	if err := ingest.NewPipeline(st, nil, nil).Accept(ctx, "test", events); err != nil {
		t.Fatal(err)
	}
	jobs, _ := st.JobsByGUID(ctx, []string{"failed/0"})

	_, stop := startServe(t, "--config", cfg)
	deadline := time.Now().Add(60 * time.Second)
	var got []store.BugSuggestion
	for {
		got, _ = st.BugSuggestions(ctx, jobs[0].ID)
		pending, _ := st.PendingBugWork(ctx)
		if len(got) > 0 && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no suggestions after 60 s (work pending: %d); log:\n%s", pending, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	if len(got) != 1 || got[0].LineNumber != 9093 || len(got[0].Bugs.OpenRecent) != 1 || *got[0].Bugs.OpenRecent[0].ID != 1700123 ||
		*got[0].SearchTerms[0] != "browser_console_enable_network_monitoring.js" || !got[0].FailureNewInRev {
		t.Errorf("suggestions = %+v", got)
	}
	jobs, _ = st.JobsByGUID(ctx, []string{"failed/0"})
	if jobs[0].FailureClass != 6 {
		t.Errorf("classification %d, want 6 (new failure)", jobs[0].FailureClass)
	}
}
