package bugs

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
)

// groupResults reads the group_result lines of a shared errorsummary log
// the way the log parser stores them.
func groupResults(t *testing.T, name string) []sdk.GroupResult {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.SharedData(t), "logs", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sdk.GroupResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l struct {
			Action, Group, Status string
			Duration              int64
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Action != "group_result" {
			continue
		}
		status := map[string]int{"OK": 1, "ERROR": 2, "SKIP": 3}[l.Status]
		if status == 0 {
			status = 10
		}
		out = append(out, sdk.GroupResult{Group: l.Group, Status: status, Duration: l.Duration / 1000})
	}
	return out
}

// summaryParsed stores an errorsummary parse through FollowLogs.
func summaryParsed(t *testing.T, st *sqlstore.Store, job model.Job, groups []sdk.GroupResult) {
	t.Helper()
	var f dispatch.LogStore = FollowLogs{LogStore: st, Queue: st}
	if err := f.StoreLogResult(ctx, logTask(t, job, sdk.LogErrorSummary), sdk.LogParseResult{Status: sdk.LogStatusParsed, Groups: groups}); err != nil {
		t.Fatal(err)
	}
}

// Treeherder's tests/log_parser/test_store_failure_lines.py intermittent
// cases: jobs of one push, each log parsed (and checked) in turn.
func TestIntermittentTreeherderCases(t *testing.T) {
	cases := []struct {
		name   string
		logs   []string
		j1, j2 int64
	}{
		{"infra_no_intermittent", []string{"mochitest-browser-chrome_errorsummary.log", "mochitest-browser-chrome_infra_errorsummary.log"}, 1, 8},
		{"infra_intermittent", []string{"mochitest-browser-chrome_infra_errorsummary.log", "mochitest-browser-chrome_pass_errorsummary.log"}, 8, 1},
		{"multiple_jobs_intermittent", []string{"mochitest-browser-chrome_errorsummary.log", "mochitest-browser-chrome_2_errorsummary.log", "mochitest-browser-chrome_pass_errorsummary.log"}, 8, 8},
		{"confirm_failure_no_intermittent", []string{"mochitest-browser-chrome_errorsummary.log", "mochitest-browser-chrome_cf1_errorsummary.log", "mochitest-browser-chrome_cf2_errorsummary.log"}, 1, 1},
		{"confirm_failure_partial_intermittent", []string{"mochitest-browser-chrome_errorsummary.log", "mochitest-browser-chrome_cf1_errorsummary.log"}, 1, 1},
		{"confirm_failure_pass_intermittent", []string{"mochitest-browser-chrome_errorsummary.log", "mochitest-browser-chrome_cf1_pass_errorsummary.log", "mochitest-browser-chrome_cf2_pass_errorsummary.log", "mochitest-browser-chrome_cf3_pass_errorsummary.log"}, 8, 1},
		{"retrigger_no_intermittent", []string{"mochitest-browser-chrome_errorsummary.log", "mochitest-browser-chrome_errorsummary.log"}, 1, 1},
		{"retrigger_intermittent", []string{"mochitest-browser-chrome_errorsummary.log", "mochitest-browser-chrome_2_errorsummary.log"}, 8, 8},
	}
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		now := time.Now().Unix()
		addPush(t, st, 1, rev(1), now)
		d := NewDispatcher(st, nil, &Intermittents{Store: st}, DispatchOptions{})
		for ci, c := range cases {
			// Each case has a job type of its own (a letter no other case's
			// name starts with), so the cases share a push unseen.
			base := fmt.Sprintf("test-linux1804-64/debug-mochitest-%c-browser-chrome-e10s-2", 'a'+ci)
			var jobs []model.Job
			for i, l := range c.logs {
				name, result := base, "testfailed"
				if strings.Contains(l, "_cf") {
					name += "-cf"
				}
				if strings.Contains(l, "_pass") {
					result = "success"
				}
				jobs = append(jobs, addJob(t, st, jobSpec{guid: fmt.Sprintf("%s/%d", c.name, i), repo: "mozilla-central", revision: rev(1),
					name: name, result: result, submit: now, logs: []string{sdk.LogErrorSummary}}))
			}
			for i, j := range jobs {
				summaryParsed(t, st, j, groupResults(t, c.logs[i]))
				runQueue(t, d)
			}
			if got := []int64{fcOf(t, st, jobs[0].ID), fcOf(t, st, jobs[1].ID)}; !reflect.DeepEqual(got, []int64{c.j1, c.j2}) {
				t.Errorf("%s: classifications %v, want [%d %d]", c.name, got, c.j1, c.j2)
			}
		}
	})
}

// Across pushes: a job that failed a group on one push becomes intermittent
// when the group passes on the next; on try only the push itself counts.
func TestIntermittentAcrossPushes(t *testing.T) {
	backends(t, func(t *testing.T, st *sqlstore.Store) {
		now := time.Now().Unix()
		d := NewDispatcher(st, nil, &Intermittents{Store: st}, DispatchOptions{})
		fail := []sdk.GroupResult{{Group: "dom/a.toml", Status: groupError}, {Group: "dom/b.toml", Status: groupOK}}
		pass := []sdk.GroupResult{{Group: "dom/a.toml", Status: groupOK}, {Group: "dom/b.toml", Status: groupOK}}
		for _, repo := range []struct {
			name string
			id   int64
			want int64
		}{{"autoland", 77, model.FCIntermittentNeedsBugID}, {"try", 4, model.FCNotClassified}} {
			r1, r2 := rev(int(repo.id)*10+1), rev(int(repo.id)*10+2)
			addPush(t, st, repo.id, r1, now-3600)
			addPush(t, st, repo.id, r2, now)
			j1 := addJob(t, st, jobSpec{guid: repo.name + "-p1/0", repo: repo.name, revision: r1, result: "testfailed", submit: now - 3600, logs: []string{sdk.LogErrorSummary}})
			j2 := addJob(t, st, jobSpec{guid: repo.name + "-p2/0", repo: repo.name, revision: r2, result: "success", submit: now, logs: []string{sdk.LogErrorSummary}})
			summaryParsed(t, st, j1, fail)
			runQueue(t, d)
			if fc := fcOf(t, st, j1.ID); fc != model.FCNotClassified {
				t.Fatalf("%s: a lone failure became %d", repo.name, fc)
			}
			summaryParsed(t, st, j2, pass)
			runQueue(t, d)
			if fc := fcOf(t, st, j1.ID); fc != repo.want {
				t.Errorf("%s: the earlier failure is %d, want %d", repo.name, fc, repo.want)
			}
		}
	})
}

func TestBaseJobType(t *testing.T) {
	for in, want := range map[string]string{
		"test-linux1804-64/debug-mochitest-browser-chrome-e10s-2":    "test-linux1804-64/debug-mochitest-browser-chrome-e10s",
		"test-linux1804-64/debug-mochitest-browser-chrome-e10s-2-cf": "test-linux1804-64/debug-mochitest-browser-chrome-e10s",
		"test-linux/opt-reftest-cf":                                  "test-linux/opt-reftest",
		"test-linux/opt-xpcshell-ref":                                "test-linux/opt-xpcshell-re", // strip("-cf") eats the f
		"test-linux/opt-crashtest":                                   "test-linux/opt-crashtest",
		"test-linux/opt-mochitest-1_0":                               "test-linux/opt-mochitest", // Python's int() takes "1_0"
		"test-linux/opt-mochitest-+3":                                "test-linux/opt-mochitest",
		"test-linux/opt-mochitest-3a":                                "test-linux/opt-mochitest-3a",
		"12":                                                         "",
	} {
		if got := baseJobType(in); got != want {
			t.Errorf("baseJobType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInfraCheck(t *testing.T) {
	withGroups := map[int64]bool{1: true}
	// All candidates already 8: nothing to do.
	if c, u := infraCheck(withGroups, []store.InfraJob{{ID: 2, Result: "testfailed", FailureClassificationID: 8}}); c != nil || u != nil {
		t.Errorf("only 8s: %v %v", c, u)
	}
	// More than half failed without groups: earlier 8s go back, new ones
	// are still marked (as Treeherder does).
	c, u := infraCheck(withGroups, []store.InfraJob{
		{ID: 1, Result: "testfailed", FailureClassificationID: 1},
		{ID: 2, Result: "busted", FailureClassificationID: 8},
		{ID: 3, Result: "testfailed", FailureClassificationID: 1},
		{ID: 4, Result: "testfailed", FailureClassificationID: 4},
	})
	if !reflect.DeepEqual(c, []int64{3}) || !reflect.DeepEqual(u, []int64{2}) {
		t.Errorf("infra check = %v %v", c, u)
	}
}
