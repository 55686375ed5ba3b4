// Command seed loads the web UI's end-to-end dataset into a herder SQLite
// database that `herder load-fixtures` prepared: the demo dataset (the same
// generator `herder demo` uses) with its log links pointing at a local log
// server, the failed jobs' logs taken from Treeherder's sample logs and
// parsed with herder's log parser, and optionally one push with thousands of
// jobs for the performance measurement.
//
// It stands in for what a running deployment gets from its source and
// log-parser plugins, which need Taskcluster and Pulse. The e2e runner
// (frontend/e2e/run.mjs) runs it; it is not part of herder.
//
//	seed --data-dir D --log-base http://127.0.0.1:PORT --testdata ../shared/testdata/treeherder --now UNIX [--big 3000]
//	seed --data-dir D --log-base ... --now UNIX --advance   # finish one running job, for the live-update test
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/herder-ci/herder/core/bugs"
	"github.com/herder-ci/herder/core/demo"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/plugins/bugmatcher/match"
	"github.com/herder-ci/herder/plugins/logparser/parse"
	"github.com/herder-ci/herder/sdk"
)

// Sample logs with error lines, handed out to failed jobs in turn.
var failLogs = []string{
	"mochitest-fail.log.gz",
	"reftest-fail.log.gz",
	"crashtest-timeout.log.gz",
	"leak.log.gz",
	"mochitest-crash.log.gz",
	"timeout-crash.log.gz",
}

// Repositories of the main dataset; the big push goes to try.
var repos = []string{"autoland", "mozilla-central"}

type options struct {
	dataDir, logBase, testdata string
	now                        int64
	big                        int
	advance                    bool
}

func main() {
	var o options
	flag.StringVar(&o.dataDir, "data-dir", "", "herder data directory (holds herder.db)")
	flag.StringVar(&o.logBase, "log-base", "", "root URL the log links point at (the e2e log server)")
	flag.StringVar(&o.testdata, "testdata", "", "Treeherder's sample data (../shared/testdata/treeherder)")
	flag.Int64Var(&o.now, "now", 0, "unix time the dataset is built around (the same for every call)")
	flag.IntVar(&o.big, "big", 0, "jobs in one extra push on try (0: none)")
	flag.BoolVar(&o.advance, "advance", false, "finish one running autoland job and exit")
	flag.Parse()
	if o.dataDir == "" || o.logBase == "" || o.now == 0 {
		fmt.Fprintln(os.Stderr, "seed: --data-dir, --log-base and --now are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(o.dataDir, "herder.db"))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	p := ingest.NewPipeline(st, nil, nil)
	events := demo.Events(demo.Options{Repositories: repos, PushesPerRepo: 12, Now: time.Unix(o.now, 0), TaskclusterURL: o.logBase})
	if o.advance {
		return advance(ctx, p, events)
	}
	if err := p.Accept(ctx, "e2e", events); err != nil {
		return fmt.Errorf("load demo events: %w", err)
	}
	if o.big > 0 {
		if err := p.Accept(ctx, "e2e", bigPush(o)); err != nil {
			return fmt.Errorf("load the big push: %w", err)
		}
	}
	if o.testdata == "" {
		return nil
	}
	return parseLogs(ctx, st, o)
}

// advance finishes the first running job of autoland's newest push as a
// failure, as a task-completed message would.
func advance(ctx context.Context, p *ingest.Pipeline, events []sdk.Event) error {
	for _, e := range events {
		if e.Job == nil || e.Job.Project != "autoland" || e.Job.Job.State != sdk.StateRunning {
			continue
		}
		d := *e.Job
		d.Job.State, d.Job.Result = sdk.StateCompleted, sdk.ResultTestFailed
		d.Job.EndTimestamp = d.Job.StartTimestamp + 300
		fmt.Printf(`{"advanced":%q,"symbol":%q}`+"\n", d.Job.TaskclusterTaskID, d.Job.JobSymbol)
		return p.Accept(ctx, "e2e", []sdk.Event{{ID: "e2e-advance-" + d.Job.JobGUID, Job: &d}})
	}
	return fmt.Errorf("no running autoland job to advance")
}

// bigPush is one push on try with `n` jobs over many platforms and groups,
// most green, a few failed, some running: the shape of a busy try push.
func bigPush(o options) []sdk.Event {
	rev := fmt.Sprintf("%040x", o.now*7919)
	when := o.now - 600
	push := sdk.PushDatum{Project: "try", Revision: rev, Author: "perf@example.com", PushTimestamp: when,
		Revisions: []sdk.Revision{{Revision: rev, Author: "Perf <perf@example.com>", Comment: "Bug 1 - try: -b do -p all -u all -t all"}}}
	out := []sdk.Event{{ID: "e2e-big-push", Push: &push}}
	platforms := []string{"linux64", "linux1804-64", "linux2404-64", "linux64-asan", "macosx1015-64", "macosx1400-64",
		"windows10-64", "windows11-64", "windows11-aarch64", "android-em-7-0-x86_64", "android-hw-a55-14-0-aarch64", "linux64-tsan"}
	options := []string{"opt", "debug"}
	groups := []struct{ name, sym string }{{"Mochitests", "M"}, {"Mochitests with e10s", "M-e10s"}, {"Reftests", "R"},
		{"XPCShell", "X"}, {"Web platform tests", "W"}, {"Talos", "T"}, {"Browsertime", "Btime"}, {"Jittests", "Jit"}}
	for i := 0; i < o.big; i++ {
		pl := platforms[i%len(platforms)]
		opt := options[(i/len(platforms))%len(options)]
		g := groups[(i/(len(platforms)*len(options)))%len(groups)]
		chunk := i/(len(platforms)*len(options)*len(groups)) + 1
		state, result := sdk.StateCompleted, sdk.ResultSuccess
		switch {
		case i%97 == 0:
			result = sdk.ResultTestFailed
		case i%211 == 0:
			result = sdk.ResultBusted
		case i%13 == 0:
			state, result = sdk.StateRunning, sdk.ResultUnknown
		case i%17 == 0:
			state, result = sdk.StatePending, sdk.ResultUnknown
		}
		guid := fmt.Sprintf("e2e-big-%06d/0", i)
		d := sdk.JobDatum{Project: "try", Revision: rev, Job: sdk.Job{
			JobGUID: guid, Name: fmt.Sprintf("test-%s/%s-%s-%d", pl, opt, strings.ToLower(strings.ReplaceAll(g.name, " ", "-")), chunk),
			JobSymbol: fmt.Sprintf("%s%d", strings.ToLower(g.sym[:1]), chunk), GroupName: g.name, GroupSymbol: g.sym,
			ProductName: "firefox", Reason: "scheduled", Who: "perf@example.com", State: state, Result: result,
			Tier: 1 + i%2, BuildSystemType: "taskcluster", Machine: "worker",
			BuildPlatform:    sdk.Platform{Platform: pl, OSName: "linux", Architecture: "x86_64"},
			MachinePlatform:  sdk.Platform{Platform: pl, OSName: "linux", Architecture: "x86_64"},
			OptionCollection: map[string]bool{opt: true}, SubmitTimestamp: when + 60,
			TaskclusterTaskID: fmt.Sprintf("big%019d", i),
		}}
		if state != sdk.StatePending {
			d.Job.StartTimestamp = when + 120
		}
		if state == sdk.StateCompleted {
			d.Job.EndTimestamp = when + 900
		}
		if i == 0 {
			// The log viewer's big log: the log server makes it up (see syntheticErrors).
			d.Job.LogReferences = []sdk.LogReference{{Name: sdk.LogLiveBacking, ParseStatus: "pending",
				URL: fmt.Sprintf("%s/api/queue/v1/task/%s/runs/0/artifacts/public/logs/live_backing.log", o.logBase, d.Job.TaskclusterTaskID)}}
		}
		out = append(out, sdk.Event{ID: "e2e-big-" + guid, Job: &d})
	}
	return out
}

// parseLogs gives every pending raw log a file the log server serves: a
// sample log with errors for failed jobs (parsed, so the API has their
// error lines), a short green log otherwise. It writes logs/manifest.json:
// task id -> file.
func parseLogs(ctx context.Context, st *sqlstore.Store, o options) error {
	dir := filepath.Join(o.dataDir, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	manifest := map[string]string{}
	var tasks []model.LogTask
	for _, kind := range []string{model.LogKindRaw, model.LogKindJSON} {
		t, err := st.PendingLogs(ctx, kind, model.JobsAny, nil, 100000)
		if err != nil {
			return err
		}
		tasks = append(tasks, t...)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].JobLogID < tasks[j].JobLogID })
	next := 0
	failed := map[int64][]sdk.ErrorLine{} // job id -> its error lines
	for _, t := range tasks {
		taskID := taskIDOf(t.URL)
		res := sdk.LogParseResult{Status: "parsed", AlgorithmVersion: "e2e"}
		if t.Name == sdk.LogErrorSummary {
			// Structured summaries are not served; the raw log carries the errors.
			if err := st.StoreLogResult(ctx, t, res); err != nil {
				return fmt.Errorf("store result of log %d: %w", t.JobLogID, err)
			}
			continue
		}
		if strings.HasPrefix(taskID, "big") {
			manifest[taskID] = syntheticLog
			res.Errors = syntheticErrors()
		} else if t.JobResult == sdk.ResultSuccess || t.JobResult == sdk.ResultUnknown {
			manifest[taskID] = "green.log"
		} else {
			name := failLogs[next%len(failLogs)]
			next++
			manifest[taskID] = name
			sum, err := parseFile(ctx, filepath.Join(o.testdata, "logs", name))
			if err != nil {
				return err
			}
			for _, e := range sum.Errors {
				res.Errors = append(res.Errors, sdk.ErrorLine{LineNumber: e.LineNumber, Line: parse.StoredLine(e.Line)})
			}
			failed[t.JobID] = res.Errors
		}
		if err := st.StoreLogResult(ctx, t, res); err != nil {
			return fmt.Errorf("store result of log %d: %w", t.JobLogID, err)
		}
	}
	if err := matchBugs(ctx, st, failed); err != nil {
		return err
	}
	green := "[taskcluster 2026-01-01T00:00:00.000Z] Task starting\n"
	for i := 0; i < 200; i++ {
		green += fmt.Sprintf("[task 2026-01-01T00:00:%02d.000Z] INFO - step %d ok\n", i%60, i)
	}
	green += "[taskcluster 2026-01-01T00:05:00.000Z] Task finished successfully\n"
	if err := os.WriteFile(filepath.Join(dir, "green.log"), []byte(green), 0o644); err != nil {
		return err
	}
	b, err := json.MarshalIndent(manifest, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
}

// The synthetic log (about 100 MB) the e2e log server generates for the
// big push's first job: syntheticLines lines, every 50,000th an error.
// frontend/e2e/run.mjs writes the same lines.
const (
	syntheticLog   = "synthetic"
	syntheticLines = 1_000_000
	syntheticEvery = 50_000
)

func syntheticErrors() []sdk.ErrorLine {
	var out []sdk.ErrorLine
	for i := syntheticEvery - 1; i < syntheticLines; i += syntheticEvery {
		out = append(out, sdk.ErrorLine{LineNumber: i, Line: fmt.Sprintf("TEST-UNEXPECTED-FAIL | synthetic/test_%d.js | synthetic failure %d", i, i)})
	}
	return out
}

func parseFile(ctx context.Context, path string) (*parse.Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open sample log: %w", err)
	}
	defer f.Close()
	r, err := parse.DetectAndDecompress(f)
	if err != nil {
		return nil, fmt.Errorf("decompress %s: %w", path, err)
	}
	sum, err := parse.ParseErrors(ctx, r, parse.Options{})
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return sum, nil
}

// taskIDOf reads the task id out of a Taskcluster artifact URL.
func taskIDOf(u string) string {
	_, rest, ok := strings.Cut(u, "/task/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// inProcess runs the bug matcher's text rules in this process, as the
// bugmatcher plugin would.
type inProcess struct{ p *match.Processor }

func (i inProcess) Process(ctx context.Context, _ string, task sdk.Task) (sdk.Result, error) {
	return i.p.Process(ctx, task)
}

// matchBugs gives the failed jobs real bug suggestions: it files a bug for
// each search term the matcher finds in their error lines (every other one
// resolved, so both the open and the other bugs show), then runs herder's
// matcher over the jobs exactly as serve does after a parse.
func matchBugs(ctx context.Context, st *sqlstore.Store, failed map[int64][]sdk.ErrorLine) error {
	m := &bugs.Matcher{Store: st, Proc: inProcess{match.New()}, Processor: "bugmatcher"}
	ids := make([]int64, 0, len(failed))
	for id := range failed {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	seen := map[string]bool{}
	var filed []store.Bug
	for _, id := range ids {
		var lines []sdk.BugLine
		for _, e := range failed[id] {
			lines = append(lines, sdk.BugLine{LineNumber: int64(e.LineNumber), Line: e.Line})
		}
		terms, err := m.Terms(ctx, lines)
		if err != nil {
			return fmt.Errorf("search terms of job %d: %w", id, err)
		}
		for _, l := range terms.Lines {
			for _, t := range l.SearchTerms {
				if t == nil || seen[*t] || len(filed) >= 40 {
					continue
				}
				seen[*t] = true
				n := int64(len(filed))
				b := store.Bug{BugzillaID: 1950000 + n, Status: "NEW", Keywords: "intermittent-failure",
					Summary: "Intermittent " + *t + " | single tracking bug", Modified: time.Now().Unix()}
				if n%2 == 1 {
					b.Status, b.Resolution = "RESOLVED", "FIXED"
				}
				if len(b.Summary) > 255 {
					b.Summary = b.Summary[:255]
				}
				filed = append(filed, b)
			}
		}
	}
	if err := st.UpsertBugs(ctx, filed); err != nil {
		return fmt.Errorf("file bugs: %w", err)
	}
	if err := st.WarmBugSearch(ctx); err != nil {
		return fmt.Errorf("warm bug search: %w", err)
	}
	for _, id := range ids {
		if _, err := m.MatchJob(ctx, id); err != nil {
			return fmt.Errorf("match job %d: %w", id, err)
		}
	}
	return nil
}
