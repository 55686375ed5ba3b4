package transform

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// The fuzz targets assert that nothing panics and that every error is
// classified (skip, schema, not-JSON, unknown exchange or upstream), so the
// plugin can always dead-letter with a reason.

func classified(err error) bool {
	return IsSkip(err) || errors.Is(err, ErrSchema) || errors.Is(err, ErrNotJSON) ||
		errors.Is(err, ErrUnknownExchange) || errors.Is(err, ErrUpstream)
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{
		"tc-treeherder.v2.autoland.b437ae030825a8ea9fa7a632b1fcb9becbe11f69.88560",
		"tc-treeherder.v2.mozilla-mobile/fenix.abc.17", "tc-treeherder.v2.try.abc.", "a.b.c.d.e.f", "....", "",
		"tc-treeherder.v2.x.y.99999999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, route string) {
		r, err := ParseRoute(route)
		if err == nil && r.Origin != OriginHg && r.Origin != OriginGitHub {
			t.Fatalf("origin %q", r.Origin)
		}
		if _, err := FindRoute([]string{route, "index." + route}); err != nil && !IsSkip(err) && !errors.Is(err, ErrSchema) {
			t.Fatalf("unclassified: %v", err)
		}
	})
}

func FuzzSlugs(f *testing.F) {
	f.Add("A35mWTRuQmyj88yMnIF0fA", "037e6659-346e-426c-a3f3-cc8c9c81747c/0")
	f.Add("", "x/y/z")
	f.Fuzz(func(t *testing.T, slug, guid string) {
		if u, err := SlugToUUID(slug); err == nil {
			back, err := UUIDToSlug(u)
			if err != nil {
				t.Fatalf("%q → %q does not encode back: %v", slug, u, err)
			}
			// The 4 spare bits may differ; the UUID must not.
			if u2, _ := SlugToUUID(back); u2 != u {
				t.Fatalf("round trip %q → %q → %q", slug, u, back)
			}
		}
		_, _, _ = TaskAndRetryIDs(guid)
	})
}

// FuzzTaskMessage feeds arbitrary message payloads and task definitions
// through the whole task → datum transform.
func FuzzTaskMessage(f *testing.F) {
	f.Add(string(message(ExchangeTaskCompleted, 0, run(0, "completed", completed...)).Payload), string(taskDef()), 0)
	f.Add(string(message(ExchangeTaskException, 0, run(0, "exception", "reasonResolved", "canceled", "resolved", "x")).Payload), string(taskDef()), 4)
	f.Add(`{"status":{"taskId":"`+testTaskID+`","runs":[null]},"runId":0}`, `{"routes":["tc-treeherder.a.b.c"],"extra":{"treeherder":{"symbol":"x","collection":5}}}`, 1)
	f.Add(`{"status":{"taskId":"`+testTaskID+`","runs":[{}]},"runId":1e400}`, `{"extra":[]}`, 2)
	f.Add(`[]`, `null`, 3)
	f.Add(`{"status":{"taskId":"`+testTaskID+`","runs":[{}]},"runId":1e300}`, string(taskDef()), 0)
	exchanges := []string{ExchangeTaskPending, ExchangeTaskRunning, ExchangeTaskCompleted, ExchangeTaskFailed, ExchangeTaskException, ExchangeTaskDefined, "other"}
	f.Fuzz(func(t *testing.T, payload, def string, ex int) {
		if ex < 0 {
			ex = -ex
		}
		m := &memTasks{tasks: map[string]json.RawMessage{testTaskID: json.RawMessage(def), "XrWNyFwpT2in-wLY9frb-w": json.RawMessage(def)},
			pages: map[string][]ArtifactPage{testTaskID + "/0": {artifactsOf("public/x_errorsummary.log", "a/", "")}}}
		msg := TaskMessage{Exchange: exchanges[ex%len(exchanges)], RootURL: testRoot, Payload: json.RawMessage(payload)}
		d, err := NewTransformer(m, Options{}).JobDatum(context.Background(), msg)
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("datum does not marshal: %v", err)
		}
		if d.Job.JobGUID == "" || d.Revision == "" || d.Job.State == "" {
			t.Fatalf("incomplete datum %+v", d)
		}
	})
}

func FuzzPulseJob(f *testing.F) {
	base, _ := json.Marshal(pulseJob())
	f.Add(string(base))
	f.Add(`{"taskId":"a/b/c","origin":{"project":"p","revision":"` + testRev + `"},"buildSystem":"b","display":{"jobName":"n","jobSymbol":"","groupSymbol":"g","chunkId":1e300},"state":"completed","jobKind":"test","version":1.0,"owner":"o","timeStarted":"2019-01-01T00:00:00Z"}`)
	f.Add(`{"owner":[1,2,3]}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, data string) {
		pj, err := ParsePulseJob([]byte(data))
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		d, err := PulseJobToDatum(pj)
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		if !utf8.ValidString(d.Job.Who) || len([]rune(d.Job.Who)) > 50 {
			t.Fatalf("who %q", d.Job.Who)
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzPushMessages(f *testing.F) {
	f.Add(string(hgMessageBody("https://hg.mozilla.org/try", "u")), `{"pushes":{"1":{"changesets":[{"node":"a","author":"b","desc":"c"}],"date":1,"user":"u"}}}`, 0)
	f.Add(string(githubPushBody(nil)), `{}`, 1)
	f.Add(string(githubPushBody(map[string]any{"event.base.sha": nullSHA}, map[string]any{"id": "w", "timestamp": "2020-01-01T00:00:00Z"})), `{}`, 1)
	f.Add(string(githubPushBody(map[string]any{"event.pullNumber": 5})), `[]`, 2)
	exchanges := []string{ExchangeHgPushesV1, ExchangeGitHubPush, ExchangeGitHubPullRequest}
	repos := []Repository{
		{Name: "try", URL: "https://hg.mozilla.org/try"},
		{Name: "repo", URL: "https://github.com/org/repo", Branches: []string{"*"}, AcceptsPullRequests: true},
	}
	f.Fuzz(func(t *testing.T, body, fetched string, ex int) {
		if ex < 0 {
			ex = -ex
		}
		hg := hgFunc(func(context.Context, string) (json.RawMessage, error) { return json.RawMessage(fetched), nil })
		gh := &ghFake{compare: []GitHubCommit{commit("s", "n", "e", "2020-01-01T00:00:00Z", "m")}}
		gh.pr = gh.compare
		_, err := NewPushTransformer(hg, gh, repos).Push(context.Background(), exchanges[ex%len(exchanges)], []byte(body))
		if err != nil && !classified(err) && !errors.Is(err, ErrUnknownRepository) && !errors.Is(err, ErrAmbiguousRepository) {
			t.Fatalf("unclassified: %v", err)
		}
		if _, err := ParseHgPushes("u", []byte(fetched)); err != nil && !classified(err) {
			t.Fatalf("unclassified hg: %v", err)
		}
	})
}
