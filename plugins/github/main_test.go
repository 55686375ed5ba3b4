package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/plugins/github/ghtest"
	"github.com/herder-ci/herder/plugins/github/source"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// pluginBin is the plugin binary built once for the package's tests.
var pluginBin string

func TestMain(m *testing.M) { plugintest.RunTestsWithPlugin(m, &pluginBin) }

// kitSecretEnv names the variable the plugin processes read the webhook
// secret from (they inherit the test's environment).
const (
	kitSecretEnv = "HERDER_GITHUB_KIT_SECRET"
	kitSecret    = "kit secret"
)

func sha(n int) string { return fmt.Sprintf("%040x", n) }

// eventKey counts jobs by guid and pushes by revision, as the store dedupes
// them.
func eventKey(e sdk.Event) string {
	switch {
	case e.Job != nil:
		return "job/" + e.Job.Job.JobGUID
	case e.Push != nil:
		return "push/" + e.Push.Revision
	}
	return ""
}

// TestSourceKit runs the SDK's source conformance kit against the plugin
// binary receiving webhooks, as GitHub would send them (signed, one
// delivery id per input) from a sender that retries until it gets a 2xx:
// deliveries, nacks, kill -9 while the host holds a batch, and restarts.
// Every input must be stored at least once, and no delivery may be
// answered 2xx before the host accepted its events. Input i is a push
// (compare served by a fake GitHub) when i%4 == 3, else a workflow_job.
func TestSourceKit(t *testing.T) {
	t.Setenv(kitSecretEnv, kitSecret)
	plugintest.SourceKit{
		Plugin:  pluginBin,
		Inputs:  40,
		Key:     eventKey,
		Timeout: 30 * time.Second,
		Setup: func(t *testing.T) (plugintest.Upstream, []byte) {
			fake := ghtest.New(t)
			for i := 3; i < 40; i += 4 {
				fake.JSON(fmt.Sprintf("/repos/example-org/example-app/compare/%s...%s", sha(i), sha(i+1)), fmt.Appendf(nil,
					`{"commits": [{"sha": %q, "commit": {"message": "change %d", "author": {"name": "Dev", "email": "dev@example.org",
					"date": "2024-09-10T09:00:00Z"}, "committer": {"name": "Dev", "email": "dev@example.org", "date": "2024-09-10T09:00:00Z"}}}]}`, sha(i+1), i))
			}
			addr := plugintest.FreeAddr(t)
			cfg := fmt.Appendf(nil, `{"listen": %q, "state_dir": %q, "api_url": %q, "secret_env": %q, "stats_interval": -1,
				"repositories": [{"name": "example-app", "repo": "example-org/example-app", "branches": ["main"]}]}`,
				addr, t.TempDir(), fake.URL(), kitSecretEnv)
			up := plugintest.NewHTTPUpstream(t, "http://"+addr+"/webhook", kitInput)
			return up, cfg
		},
	}.Run(t)
}

func kitInput(i int) (key string, body []byte, header http.Header) {
	repo := `"repository": {"full_name": "example-org/example-app", "name": "example-app", "owner": {"login": "example-org"},
		"html_url": "https://github.com/example-org/example-app"}, "sender": {"login": "octo-dev"}`
	var event string
	if i%4 == 3 {
		event = "push"
		key = "push/" + sha(i+1)
		body = fmt.Appendf(nil, `{"ref": "refs/heads/main", "before": %q, "after": %q, "created": false, "deleted": false,
			"commits": [], %s}`, sha(i), sha(i+1), repo)
	} else {
		event = "workflow_job"
		runID, jobID := int64(9000+i/4), int64(100000+i)
		key = "job/" + fmt.Sprintf("github-actions/%d/1/%d", runID, jobID)
		body = fmt.Appendf(nil, `{"action": "completed", "workflow_job": {"id": %d, "run_id": %d, "run_attempt": 1,
			"workflow_name": "CI", "head_branch": "main", "head_sha": %q, "name": "test %d", "status": "completed",
			"conclusion": "success", "created_at": "2024-09-10T09:00:00Z", "started_at": "2024-09-10T09:00:05Z",
			"completed_at": "2024-09-10T09:03:00Z", "labels": ["ubuntu-latest"], "runner_name": "GitHub Actions 3"}, %s}`,
			jobID, runID, sha(i), i, repo)
	}
	header = http.Header{}
	header.Set("X-GitHub-Event", event)
	header.Set("X-GitHub-Delivery", fmt.Sprintf("d0c0ffee-0000-4000-8000-%012d", i))
	header.Set("X-Hub-Signature-256", source.Sign([]byte(kitSecret), body))
	return key, body, header
}

// TestKitInputsAreValid guards the kit's inputs themselves: each is signed
// for its exact body and names a distinct key.
func TestKitInputsAreValid(t *testing.T) {
	seen := map[string]bool{}
	for i := range 40 {
		key, body, h := kitInput(i)
		if seen[key] || !source.ValidSignature([]byte(kitSecret), body, h.Get("X-Hub-Signature-256")) || !strings.Contains(key, "/") {
			t.Errorf("input %d: key %s", i, key)
		}
		seen[key] = true
	}
}

// TestPollingSourceKit runs the conformance kit against the plugin polling
// a repository without webhooks: input i is activity i+1, a push to main
// whose compare the fake serves; it counts as acknowledged once the
// plugin's cursor file is past it. Kill -9 mid-batch, nacks and restarts
// must lose no push, and the cursor must never pass a push the host did
// not accept.
func TestPollingSourceKit(t *testing.T) {
	plugintest.SourceKit{
		Plugin:  pluginBin,
		Inputs:  30,
		Key:     eventKey,
		Timeout: 30 * time.Second,
		Setup: func(t *testing.T) (plugintest.Upstream, []byte) {
			f := &feed{fake: ghtest.New(t), stateDir: t.TempDir()}
			f.serve()
			cfg := fmt.Appendf(nil, `{"state_dir": %q, "api_url": %q, "interval": "30ms", "batch_size": 4, "initial_pushes": 1000,
				"stats_interval": -1, "repositories": [{"name": "example-app", "repo": "example-org/example-app", "branches": ["main"],
				"poll": true, "actions": false}]}`, f.stateDir, f.fake.URL())
			return f, cfg
		},
	}.Run(t)
}

// feed is the kit's view of a repository's activity list.
type feed struct {
	fake     *ghtest.Fake
	stateDir string
	mu       sync.Mutex
	n        int
}

func (f *feed) serve() {
	f.mu.Lock()
	defer f.mu.Unlock()
	var entries []string
	for i := f.n - 1; i >= 0; i-- {
		entries = append(entries, fmt.Sprintf(`{"id": %d, "before": %q, "after": %q, "ref": "refs/heads/main",
			"timestamp": "2024-09-10T10:00:00Z", "activity_type": "push"}`, i+1, sha(1000+i), sha(1000+i+1)))
	}
	var pages [][]byte
	for i := 0; i < len(entries); i += 7 {
		pages = append(pages, []byte("["+strings.Join(entries[i:min(i+7, len(entries))], ",")+"]"))
	}
	if len(pages) == 0 {
		pages = [][]byte{[]byte("[]")}
	}
	f.fake.Pages("/repos/example-org/example-app/activity", pages...)
}

func (f *feed) Publish(_ context.Context, i int) (string, error) {
	before, after := sha(1000+i), sha(1000+i+1)
	f.fake.JSON(fmt.Sprintf("/repos/example-org/example-app/compare/%s...%s", before, after), fmt.Appendf(nil,
		`{"commits": [{"sha": %q, "commit": {"message": "change %d", "author": {"name": "Dev", "email": "dev@example.org",
		"date": "2024-09-10T09:00:00Z"}, "committer": {"name": "Dev", "email": "dev@example.org", "date": "2024-09-10T09:00:00Z"}}}]}`, after, i))
	f.mu.Lock()
	f.n = max(f.n, i+1)
	f.mu.Unlock()
	f.serve()
	return "push/" + after, nil
}

// Unacked: the inputs past the cursor file's last_id.
func (f *feed) Unacked() []string {
	var st struct {
		Pushes struct {
			LastID int `json:"last_id"`
		} `json:"pushes"`
	}
	b, _ := os.ReadFile(filepath.Join(f.stateDir, "repo-example-org__example-app.json"))
	_ = json.Unmarshal(b, &st)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for i := st.Pushes.LastID; i < f.n; i++ {
		out = append(out, "push/"+sha(1000+i+1))
	}
	return out
}
