package importer

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/herder-ci/herder/plugins/pulse/transform"
)

// FuzzPushlog: any pushlog document gives pushes or an error, never a panic.
func FuzzPushlog(f *testing.F) {
	f.Add([]byte(`{"lastpushid": 2, "pushes": {"2": {"changesets": [{"node": "abc", "author": "a", "desc": "d"}], "date": 1, "user": "u"}, "1": {"changesets": []}}}`))
	f.Add([]byte(`{"pushes": {"x": {}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		get := func(context.Context, string) (json.RawMessage, error) { return doc, nil }
		pushes, _, err := NewWith(get, nil, Options{}).HgPushesSince(context.Background(), "https://hg.example/repo", "p", 0, 10)
		if err != nil {
			return
		}
		for _, p := range pushes {
			if p.Data.Revision == "" && len(p.Data.Revisions) == 0 {
				t.Fatalf("empty push %+v", p)
			}
		}
	})
}

// FuzzTaskJobs: any status and definition give events, a skip or an error.
func FuzzTaskJobs(f *testing.F) {
	def := `{"created": "2024-01-01T00:00:00Z", "workerType": "w", "routes": ["tc-treeherder.v2.autoland.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
		"metadata": {"name": "n", "owner": "o@example.com", "description": "d", "source": "s"}, "extra": {"treeherder": {"symbol": "B"}}}`
	f.Add([]byte(`{"taskId": "A35mWTRuQmyj88yMnIF0fA", "runs": [{"runId": 0, "state": "completed", "started": "2024-01-01T00:00:00Z", "resolved": "2024-01-01T00:01:00Z"}]}`), []byte(def))
	f.Add([]byte(`{"taskId": "A35mWTRuQmyj88yMnIF0fA", "runs": [{"runId": 3, "state": "exception"}]}`), []byte(def))
	f.Fuzz(func(t *testing.T, status, task []byte) {
		im := NewWith(nil, fixtureFetcher{transform.StaticTasks{}}, Options{})
		r := im.TaskJobs(context.Background(), "https://tc.example", TaskEntry{Status: status, Task: task})
		for _, e := range r.Events {
			if err := e.Validate(); err != nil || e.Job.Job.JobGUID == "" {
				t.Fatalf("bad event %+v: %v", e, err)
			}
		}
	})
}
