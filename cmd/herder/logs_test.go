package main

import (
	"bytes"
	"compress/gzip"
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
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/plugins/logparser/parse"
	"github.com/herder-ci/herder/plugins/logparser/processor"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// runCLI runs one command line and returns its exit code and stdout.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	defer rootCmd.SetOut(nil)
	code := run(args)
	return code, out.String()
}

func sharedLogDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(testenv.SharedData(t), "logs")
}

func logviewFixtures(t *testing.T) map[string]parse.LogView {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(sharedLogDir(t), "*.logview.json"))
	if len(paths) == 0 {
		t.Fatal("no *.logview.json fixtures in the shared data")
	}
	out := map[string]parse.LogView{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var v parse.LogView
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".logview.json")] = v
	}
	return out
}

// TestLogsParseJSONMatchesFixtures: `herder logs parse FILE --json` prints
// each *.logview.json fixture byte for byte.
func TestLogsParseJSONMatchesFixtures(t *testing.T) {
	dir := sharedLogDir(t)
	for name, view := range logviewFixtures(t) {
		want, err := os.ReadFile(filepath.Join(dir, name+".logview.json"))
		if err != nil {
			t.Fatal(err)
		}
		code, out := runCLI(t, "logs", "parse", filepath.Join(dir, name+".log.gz"), "--json", "--logurl", view.LogURL)
		if code != 0 {
			t.Fatalf("%s: exit %d", name, code)
		}
		if out != string(want) {
			t.Errorf("%s: output differs from the fixture\n got %.300q\nwant %.300q", name, out, want)
		}
	}
	// Without --logurl the file path is the logurl.
	path := filepath.Join(dir, "leak.log.gz")
	_, out := runCLI(t, "logs", "parse", path, "--json")
	var v parse.LogView
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.LogURL != path {
		t.Errorf("logurl %q, %v", v.LogURL, err)
	}
}

func TestLogsParseURL(t *testing.T) {
	dir := sharedLogDir(t)
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
	want := logviewFixtures(t)["mochitest-fail"]
	url := srv.URL + "/mochitest-fail.log.gz"
	code, out := runCLI(t, "logs", "parse", url, "--json")
	var got parse.LogView
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if got.LogURL != url || fmt.Sprint(got.Errors) != fmt.Sprint(want.Errors) {
		t.Errorf("from a URL: %+v, want the fixture's errors", got)
	}
	// The readable listing.
	code, out = runCLI(t, "logs", "parse", url)
	if code != 0 || !strings.Contains(out, "1 error lines") || !strings.Contains(out, "    9093  11:00:27     INFO - TEST-UNEXPECTED-FAIL") {
		t.Errorf("listing: exit %d\n%s", code, out)
	}
	// The plugin's download rules: a 404 fails, a log over the cap is skipped.
	if code, _ := runCLI(t, "logs", "parse", srv.URL+"/missing.log.gz"); code != 1 {
		t.Errorf("404: exit %d", code)
	}
	if code, _ := runCLI(t, "logs", "parse", url, "--max-download-bytes", "1000"); code != 1 {
		t.Errorf("over the cap: exit %d", code)
	}
	// An errorsummary log, by name.
	code, out = runCLI(t, "logs", "parse", srv.URL+"/mochitest-browser-chrome_errorsummary.log", "--json")
	var es struct {
		FailureLines []sdk.FailureLine `json:"failure_lines"`
		Groups       []sdk.GroupResult `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &es); code != 0 || err != nil || len(es.FailureLines) != 5 || len(es.Groups) != 29 {
		t.Errorf("errorsummary: exit %d, %v, %d lines, %d groups", code, err, len(es.FailureLines), len(es.Groups))
	}
}

func TestLogsParseBadInput(t *testing.T) {
	dir := t.TempDir()
	if code, _ := runCLI(t, "logs", "parse", filepath.Join(dir, "nope.log")); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
	if code, _ := runCLI(t, "logs", "parse", "x.log", "--kind", "binary"); code != 2 {
		t.Errorf("bad kind: exit %d", code)
	}
	// A truncated gzip log prints what it read and fails.
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(zw, "line %d TEST-UNEXPECTED-FAIL | test_%d.js | boom %d\n", i, i%7, i*i)
	}
	zw.Close()
	path := filepath.Join(dir, "cut.log.gz")
	os.WriteFile(path, b.Bytes()[:b.Len()/2], 0o600)
	code, out := runCLI(t, "logs", "parse", path)
	if code != 1 || !strings.Contains(out, "40 error lines") {
		t.Errorf("truncated gzip: exit %d\n%.300s", code, out)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-03-01":                now.AddDate(0, 0, -9).Add(-12 * time.Hour),
		"2026-03-01T06:00:00+01:00": time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC),
		"2026-03-01T06:00:00":       time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC),
		"7d":                        now.AddDate(0, 0, -7),
		"36h":                       now.Add(-36 * time.Hour),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-3d", "2026-13-01"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if code := run([]string{"logs", "reparse"}); code != 2 {
		t.Errorf("reparse without --since: exit %d", code)
	}
}

// TestServeParsesLogsThroughThePlugin runs `herder serve` with the real
// logparser plugin binary (built into a plugin dir and pinned with the lock
// file) over jobs whose logs an httptest server serves: every shared log
// with a *.logview.json, an errorsummary, two logs with PERFHERDER_DATA and
// a log that is gone.
func TestServeParsesLogsThroughThePlugin(t *testing.T) {
	logs := captureLogs(t)
	dir := sharedLogDir(t)
	fixtures := logviewFixtures(t)
	artifacts := map[string]string{
		"/artifacts/perfherder-data-building.json": `{"framework": {"name": "build_metrics"}, "suites": [{"name": "installer size",
			"value": 81234567, "unit": "bytes", "subtests": [{"name": "omni.ja", "value": 41000000}, {"name": "libxul.so", "value": 39000000}]}]}`,
		"/artifacts/perfherder-data-bad.json": `{"framework": {"name": "build_metrics"}, "suites": [{"name": "installer size", "value": "big", "subtests": []}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := artifacts[r.URL.Path]; ok {
			w.Write([]byte(a))
			return
		}
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
	if _, err := plugintest.BuildMain(pluginDir, "github.com/herder-ci/herder/plugins/logparser"); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "herder.hcl")
	os.WriteFile(cfg, []byte(`plugin_dir = "plugins"
data_dir   = "data"
plugin "logparser" {}
processor "logparser" {
  plugin = "logparser"
  config {
    allowed_hosts = ["127.0.0.1"]
  }
}
`), 0o600)
	for _, args := range [][]string{{"plugins", "lock"}, {"load-fixtures"}} {
		if code, out := runCLI(t, append([]string{"--config", cfg}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, out)
		}
	}

	// The jobs, stored through the ingestion pipeline before serve starts.
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(root, "data", "herder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rev := fmt.Sprintf("%040x", 42)
	push := sdk.PushDatum{Project: "autoland", Revision: rev, Author: "a@example.com", PushTimestamp: 1700000000}
	events := []sdk.Event{{Push: &push}}
	var perfRefs []sdk.LogReference
	addJob := func(guid, result string, refs ...sdk.LogReference) {
		events = append(events, sdk.Event{Job: &sdk.JobDatum{Project: "autoland", Revision: rev, Job: sdk.Job{
			JobGUID: guid, State: sdk.StateCompleted, Result: result, LogReferences: refs, PerfherderDataReferences: perfRefs,
			BuildPlatform: sdk.Platform{Platform: "linux64"}, MachinePlatform: sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			OptionCollection: map[string]bool{"opt": true}, SubmitTimestamp: time.Now().Unix() - 60,
		}}})
	}
	raw := func(file string) sdk.LogReference {
		return sdk.LogReference{Name: sdk.LogLiveBacking, URL: srv.URL + "/" + file}
	}
	for name := range fixtures {
		addJob(name+"/0", sdk.ResultTestFailed, raw(name+".log.gz"))
	}
	addJob("summary/0", sdk.ResultTestFailed, raw("mochitest-fail.log.gz"),
		sdk.LogReference{Name: sdk.LogErrorSummary, URL: srv.URL + "/mochitest-browser-chrome_errorsummary.log"})
	addJob("gone/0", sdk.ResultTestFailed, raw("gone.log.gz"))
	addJob("android-build/0", sdk.ResultSuccess, raw("android-opt-build.txt.gz"))
	addJob("awsy/0", sdk.ResultSuccess, raw("linux-awsy.txt.gz"))
	perfRefs = []sdk.LogReference{
		{Name: "perfherder-data-building.json", URL: srv.URL + "/artifacts/perfherder-data-building.json"},
		{Name: "perfherder-data-bad.json", URL: srv.URL + "/artifacts/perfherder-data-bad.json"},
	}
	addJob("artifact/0", sdk.ResultSuccess)
	if err := ingest.NewPipeline(st, nil, nil).Accept(ctx, "test", events); err != nil {
		t.Fatal(err)
	}
	jobID := func(guid string) int64 {
		var id int64
		if err := st.DB().QueryRow("SELECT id FROM job WHERE guid = ?", guid).Scan(&id); err != nil {
			t.Fatalf("job %s: %v", guid, err)
		}
		return id
	}

	base, stop := startServe(t, "--config", cfg)
	waitReady(t, base)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var pending int
		st.DB().QueryRow("SELECT COUNT(*) FROM job_log WHERE status = ?", model.LogPending).Scan(&pending)
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d logs still pending after 60 s; log:\n%s", pending, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}

	// Every fixture log's text_log_error rows are the fixture's errors.
	for name, view := range fixtures {
		rows, err := st.DB().Query("SELECT line_number, line FROM text_log_error WHERE job_id = ? ORDER BY line_number", jobID(name+"/0"))
		if err != nil {
			t.Fatal(err)
		}
		var got []sdk.ErrorLine
		for rows.Next() {
			var e sdk.ErrorLine
			rows.Scan(&e.LineNumber, &e.Line)
			got = append(got, e)
		}
		rows.Close()
		if len(got) != len(view.Errors) {
			t.Errorf("%s: %d text log errors, want %d", name, len(got), len(view.Errors))
			continue
		}
		for i, e := range view.Errors {
			if got[i].LineNumber != e.LineNumber || got[i].Line != parse.StoredLine(e.Line) {
				t.Errorf("%s: error %d = %+v, want %+v", name, i, got[i], e)
			}
		}
	}
	// Statuses, reasons and the algorithm version.
	rows, err := st.DB().Query(`SELECT j.guid, l.name, l.status, l.status_reason, l.algorithm_version
		FROM job_log l JOIN job j ON j.id = l.job_id`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var guid, name, reason, version string
		var status int
		rows.Scan(&guid, &name, &status, &reason, &version)
		n++
		switch {
		case guid == "gone/0":
			if status != model.LogFailed || !strings.Contains(reason, "404") {
				t.Errorf("gone log: status %d reason %q", status, reason)
			}
		case name == "perfherder-data-bad.json":
			if status != model.LogFailed || reason != "performance data: suites[0].value: must be a number, not a string" {
				t.Errorf("artifact breaking the schema: status %d reason %q", status, reason)
			}
		case status != model.LogParsed || reason != "":
			t.Errorf("%s %s: status %d reason %q", guid, name, status, reason)
		}
		if version != processor.AlgorithmVersion {
			t.Errorf("%s %s: algorithm version %q", guid, name, version)
		}
	}
	rows.Close()
	if n != len(fixtures)+7 {
		t.Errorf("%d logs", n)
	}
	count := func(q string, args ...any) int {
		var c int
		if err := st.DB().QueryRow(q, args...).Scan(&c); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return c
	}
	if c := count("SELECT COUNT(*) FROM failure_line WHERE job_guid = 'summary/0'"); c != 5 {
		t.Errorf("%d failure lines, want 5", c)
	}
	if c := count(`SELECT COUNT(*) FROM group_status g JOIN job_log l ON l.id = g.job_log_id WHERE l.job_id = ?`, jobID("summary/0")); c != 29 {
		t.Errorf("%d group results, want 29", c)
	}
	// Performance data (the vcs framework is disabled, as in Treeherder).
	if c := count("SELECT COUNT(*) FROM performance_datum WHERE job_id = ?", jobID("android-build/0")); c != 27 {
		t.Errorf("android build: %d performance data, want 27", c)
	}
	if c := count("SELECT COUNT(*) FROM performance_datum WHERE job_id = ?", jobID("awsy/0")); c != 9 {
		t.Errorf("awsy: %d performance data, want 9", c)
	}
	if c := count("SELECT COUNT(*) FROM performance_datum WHERE job_id = ? AND value = 41000000", jobID("artifact/0")); c != 1 {
		t.Errorf("artifact: omni.ja datum missing")
	}
	if c := count("SELECT COUNT(*) FROM performance_datum WHERE job_id = ?", jobID("artifact/0")); c != 3 {
		t.Errorf("artifact: %d performance data, want 3", c)
	}

	// logs status, then reparse: nothing of another version; --all resets
	// every parsed or failed log; status shows them pending.
	code, out := runCLI(t, "--config", cfg, "logs", "status", "--json")
	var status []logStatusRow
	if err := json.Unmarshal([]byte(out), &status); code != 0 || err != nil {
		t.Fatalf("status: exit %d %v: %s", code, err, out)
	}
	byKey := map[string]int64{}
	for _, r := range status {
		byKey[r.Lane+" "+r.Status] += r.Count
	}
	want := map[string]int64{"fail_raw parsed": int64(len(fixtures) + 1), "fail_raw failed": 1, "fail_json parsed": 1, "raw parsed": 2,
		"perf parsed": 1, "perf failed": 1}
	if fmt.Sprint(byKey) != fmt.Sprint(want) {
		t.Errorf("status = %v, want %v", byKey, want)
	}
	if code, out := runCLI(t, "--config", cfg, "logs", "status"); code != 0 || !strings.Contains(out, "fail_raw") || !strings.Contains(out, "PENDING") {
		t.Errorf("status table: exit %d\n%s", code, out)
	}
	if code, out := runCLI(t, "--config", cfg, "logs", "reparse", "--since", "2000-01-01"); code != 0 || !strings.HasPrefix(out, "reset 0 logs") {
		t.Errorf("reparse: exit %d: %s", code, out)
	}
	st.DB().Exec("UPDATE job_log SET algorithm_version = 'logparser-0' WHERE job_id = ?", jobID("awsy/0"))
	if code, out := runCLI(t, "--config", cfg, "logs", "reparse", "--since", "7d"); code != 0 || !strings.HasPrefix(out, "reset 1 logs") {
		t.Errorf("reparse of an older version: exit %d: %s", code, out)
	}
	total := len(fixtures) + 7
	if code, out := runCLI(t, "--config", cfg, "logs", "reparse", "--since", "2000-01-01", "--all"); code != 0 || !strings.HasPrefix(out, fmt.Sprintf("reset %d logs", total-1)) {
		t.Errorf("reparse --all: exit %d: %s", code, out)
	}
	if c := count("SELECT COUNT(*) FROM job_log WHERE status = ?", model.LogPending); c != total {
		t.Errorf("%d pending after reparse --all, want %d", c, total)
	}
}
