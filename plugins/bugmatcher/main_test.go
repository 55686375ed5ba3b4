package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/herder-ci/herder/plugins/bugmatcher/match"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/pluginrpc"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// pluginBin is the bugmatcher binary, built once for the package's tests.
var pluginBin string

func TestMain(m *testing.M) { plugintest.RunTestsWithPlugin(m, &pluginBin) }

func call[T any](t *testing.T, p *plugintest.ProcessorRun, kind string, payload any) T {
	t.Helper()
	b, _ := json.Marshal(payload)
	res, err := p.Process(context.Background(), sdk.Task{ID: "job-1", Kind: kind, Payload: b})
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	var out T
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("%s result: %v", kind, err)
	}
	return out
}

// TestPluginTwoPhases runs the built plugin over the real protocol: terms
// for a job's lines, then the match of the candidates a host would find.
func TestPluginTwoPhases(t *testing.T) {
	p := plugintest.StartProcessor(t, pluginBin, plugintest.ProcessorOptions{
		Name:   "bugmatcher",
		Config: []byte(`{"bugzilla_url":"https://bugzilla.mozilla.org","api_key":"","concurrency":2}`),
	})
	info := p.Info
	if info.Name != "bugmatcher" || info.AlgorithmVersion != match.AlgorithmVersion || info.Concurrency != 2 ||
		!reflect.DeepEqual(info.Consumes, []string{sdk.TaskBugTerms, sdk.TaskBugMatch}) {
		t.Fatalf("describe = %+v", info)
	}
	lines := []sdk.BugLine{
		{LineNumber: 10, Line: "00:54:20     INFO -  TEST-UNEXPECTED-FAIL | dom/tests/test_foo.html?x=1 | assertion 0.5 failed"},
		{LineNumber: 12, Line: "PROCESS-CRASH | application crashed [@ nsFoo::Crash()] | dom/tests/test_bar.html"},
		{LineNumber: 13, Line: strings.Repeat("x", 10<<10)},
		{LineNumber: 14, Line: "Return code: 1"},
	}
	terms := call[sdk.BugTermsResult](t, p, sdk.TaskBugTerms, sdk.BugTermsTask{JobID: 1, Lines: lines})
	if terms.AlgorithmVersion != match.AlgorithmVersion || len(terms.Lines) != 4 {
		t.Fatalf("terms = %+v", terms)
	}
	first := terms.Lines[0]
	if first.Search != "TEST-UNEXPECTED-FAIL | dom/tests/test_foo.html?x=1 | assertion 0.5 failed" ||
		first.CounterKey != "TEST-UNEXPECTED-FAIL | dom/tests/test_foo.html?x=1 | assertion X failed" ||
		len(first.SearchTerms) != 2 || *first.SearchTerms[0] != "test_foo.html?x=1" || *first.SearchTerms[1] != "test_foo.html" ||
		*first.PathEnd != "dom/tests/test_foo.html?x=1" {
		t.Errorf("line 10 = %+v", first)
	}
	if c := terms.Lines[1].CrashSignature; c == nil || *c != "nsFoo::Crash()" {
		t.Errorf("crash signature = %v", c)
	}
	if r := terms.Lines[2].NoTermReason; !strings.Contains(r, "no search term") || terms.Lines[2].SearchTerms[0] != nil {
		t.Errorf("10 KB line = %+v", terms.Lines[2].NoTermReason)
	}
	if terms.Lines[3].SearchTerms[0] != nil {
		t.Errorf("blacklisted line got a term")
	}

	bz := func(n int64) *int64 { return &n }
	cands := map[string][]sdk.BugCandidate{
		"test_foo.html?x=1": {},
		"test_foo.html": {
			{ID: 5, BugzillaID: bz(1005), Summary: "Intermittent dom/tests/test_foo.html | assertion failed"},
			{ID: 6, BugzillaID: bz(1006), Summary: "Intermittent old_test_foo.html | other", Resolution: ""},
			{ID: 7, BugzillaID: bz(1007), Summary: "test_foo.html is permafailing", Resolution: "FIXED"},
		},
		"application crashed [@ nsFoo::Crash()]": {},
		"nsFoo::Crash()":                         {{ID: 8, Summary: "crash [@ nsFoo::Crash()]"}},
	}
	m := call[sdk.BugMatchResult](t, p, sdk.TaskBugMatch, sdk.BugMatchTask{JobID: 1, Lines: terms.Lines, Candidates: cands})
	if len(m.Lines) != 4 {
		t.Fatalf("match = %+v", m)
	}
	if !reflect.DeepEqual(m.Lines[0].OpenRecent, []int64{5}) || !reflect.DeepEqual(m.Lines[0].AllOthers, []int64{7}) {
		t.Errorf("line 10 bugs = %+v", m.Lines[0])
	}
	if !reflect.DeepEqual(m.Lines[1].OpenRecent, []int64{8}) || len(m.Lines[1].SearchTerms) != 2 {
		t.Errorf("crash line = %+v", m.Lines[1])
	}
	if len(m.Lines[2].OpenRecent)+len(m.Lines[2].AllOthers) != 0 {
		t.Errorf("refused line matched bugs: %+v", m.Lines[2])
	}
}

func TestPluginBadTasks(t *testing.T) {
	p := plugintest.StartProcessor(t, pluginBin, plugintest.ProcessorOptions{Name: "bugmatcher"})
	for _, task := range []sdk.Task{
		{ID: "a", Kind: sdk.TaskBugTerms, Payload: []byte("{not json")},
		{ID: "b", Kind: sdk.TaskBugMatch, Payload: []byte(`{"lines": 3}`)},
		{ID: "c", Kind: "log.parse", Payload: []byte(`{}`)},
	} {
		_, err := p.Process(context.Background(), task)
		if !errors.Is(err, pluginrpc.ErrPermanent) {
			t.Errorf("task %s: err = %v, want a permanent failure", task.ID, err)
		}
	}
	// The plugin keeps serving after bad tasks.
	out := call[sdk.BugTermsResult](t, p, sdk.TaskBugTerms, sdk.BugTermsTask{Lines: []sdk.BugLine{{Line: "\xff\xfe\x00junk"}}})
	if len(out.Lines) != 1 || !strings.Contains(out.Lines[0].NoTermReason, "binary") {
		t.Fatalf("junk line = %+v", out)
	}
}

func TestPluginBadConfig(t *testing.T) {
	c, err := pluginrpc.Start(context.Background(), pluginrpc.Config{Path: pluginBin, Name: "bugmatcher", Logger: plugintest.TestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Kill()
	p, err := c.Processor()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Configure(context.Background(), "bugmatcher", []byte(`{"concurrency": -1}`)); err == nil {
		t.Fatal("a negative concurrency was accepted")
	}
}
