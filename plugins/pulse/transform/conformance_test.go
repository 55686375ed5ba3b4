package transform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herder-ci/herder/sdk"
)

// serveTaskcluster serves every task definition of the fixture under
// https://taskcluster.net/api/queue/v1/task/{id}, and an artifact list for
// every run holding only the live backing log (what Treeherder's own test
// mocks), so completed tasks get links but no errorsummary or perf refs.
func serveTaskcluster(t testing.TB, f *fakeUpstream, tasks map[string]json.RawMessage) {
	t.Helper()
	for id, raw := range tasks {
		f.serveJSON("taskcluster.net/api/queue/v1/task/"+id, raw)
		for run := 0; run < 3; run++ {
			f.serveJSON(fmt.Sprintf("taskcluster.net/api/queue/v1/task/%s/runs/%d/artifacts", id, run),
				[]byte(`{"artifacts":[{"name":"public/logs/live_backing.log","storageType":"s3","contentType":"text/plain"}]}`))
		}
	}
}

func loadTaskFixtures(t testing.TB) (msgs []TaskMessage, tasks StaticTasks, want map[string]any) {
	t.Helper()
	dir := filepath.Join(sharedData(t), "pulse")
	mf, err := os.Open(filepath.Join(dir, "taskcluster_pulse_messages.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	if msgs, err = DecodeMessages(mf); err != nil {
		t.Fatal(err)
	}
	tf, err := os.Open(filepath.Join(dir, "taskcluster_tasks.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	if tasks, err = DecodeTasks(tf); err != nil {
		t.Fatal(err)
	}
	readJSON(t, filepath.Join(dir, "taskcluster_transformed_jobs.json"), &want)
	return msgs, tasks, want
}

// TestConformanceTaskclusterJobs: task messages + task definitions, fetched
// through the HTTP client from a fake Taskcluster, give exactly
// taskcluster_transformed_jobs.json, entry by entry.
func TestConformanceTaskclusterJobs(t *testing.T) {
	msgs, tasks, want := loadTaskFixtures(t)
	f := newFakeUpstream(t)
	serveTaskcluster(t, f, tasks)
	fetcher := NewTaskCache(f.client(t, HTTPOptions{}), 1000, 0)

	got, err := TransformMessages(context.Background(), msgs, fetcher, Options{})
	if err != nil {
		t.Fatalf("TransformMessages: %v", err)
	}
	if len(got) != len(want) || len(got) != 61 {
		t.Fatalf("got %d jobs, fixture has %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("%s: no job", id)
			continue
		}
		assertSameJSON(t, id, g, w)
	}
	// Completed tasks listed their artifacts through the fake.
	if n := f.hitCount("taskcluster.net/api/queue/v1/task/GWxTc8p_RUa5_Xo4RtMiCA/runs/0/artifacts"); n != 1 {
		t.Errorf("artifact list fetched %d times, want 1", n)
	}
}

// TestConformanceTaskclusterJobsOffline is the `herder pulse transform
// --messages --tasks` path: static definitions, no artifact lists.
func TestConformanceTaskclusterJobsOffline(t *testing.T) {
	msgs, tasks, want := loadTaskFixtures(t)
	got, err := TransformMessages(context.Background(), msgs, tasks, Options{})
	if err != nil {
		t.Fatalf("TransformMessages: %v", err)
	}
	assertSameJSON(t, "jobs", got, want)
}

// TestConformancePulseJobs: job_data.json → transformed_job_data.json, with
// the project set to a valid repository name first, as Treeherder's
// test_job_transformation does ("set by test" fails the schema).
func TestConformancePulseJobs(t *testing.T) {
	dir := filepath.Join(sharedData(t), "pulse")
	var jobs []map[string]any
	readJSON(t, filepath.Join(dir, "job_data.json"), &jobs)
	var want []any
	readJSON(t, filepath.Join(dir, "transformed_job_data.json"), &want)

	raws := make([]json.RawMessage, len(jobs))
	for i, j := range jobs {
		j["origin"].(map[string]any)["project"] = "test_treeherder_jobs"
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		raws[i] = b
	}
	got, err := TransformPulseJobs(raws)
	if err != nil {
		t.Fatalf("TransformPulseJobs: %v", err)
	}
	if len(got) != len(want) || len(got) != 30 {
		t.Fatalf("got %d jobs, fixture has %d", len(got), len(want))
	}
	for i := range want {
		assertSameJSON(t, fmt.Sprintf("job[%d]", i), got[i], want[i])
	}
	if keyed := KeyByTask(got); len(keyed) != 30 {
		t.Errorf("KeyByTask: %d keys, want 30", len(keyed))
	}

	// Unmodified, the fixture's placeholder project fails the schema.
	if _, err := TransformPulseJobs([]json.RawMessage{mustJSON(t, jobsAt(t, dir, 0))}); !isSchemaErr(err, "origin.project") {
		t.Errorf("placeholder project: got %v, want a schema error on origin.project", err)
	}
}

func jobsAt(t testing.TB, dir string, i int) any {
	var jobs []any
	readJSON(t, filepath.Join(dir, "job_data.json"), &jobs)
	return jobs[i]
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isSchemaErr(err error, field string) bool {
	var se *SchemaError
	return errors.As(err, &se) && se.Field == field
}

// servePushes registers the hg and GitHub fixture responses.
func servePushes(t testing.TB, f *fakeUpstream) {
	dir := filepath.Join(sharedData(t), "pulse")
	f.serveJSON("hg.mozilla.org/try/json-pushes", readFile(t, filepath.Join(dir, "hg_push_commits.json")))

	var compare []json.RawMessage
	readJSON(t, filepath.Join(dir, "github_push_compare.json"), &compare)
	f.serveJSON("api.github.com/repos/mozilla-mobile/android-components/compare/"+
		"7285afe57ae6207fdb5d6db45133dac2053b7820...5fdb785b28b356f50fc1d9cb180d401bb03fc1f1", compare[0])
	f.serveJSON("api.github.com/repos/servo/servo/compare/"+
		"4c25e02f26f7536edbf23a360d56604fb9507378...ad9bfc2a62b70b9f3dbb1c3a5969f30bacce3d74", compare[1])
	// What PyGithub fetches besides (repository and pull request objects):
	// served for completeness, not needed by the transform.
	for _, name := range []string{"android-components", "servo", "test_treeherder"} {
		var repo struct {
			FullName string `json:"full_name"`
		}
		body := readFile(t, filepath.Join(dir, "github_repository_"+name+".json"))
		if err := json.Unmarshal(body, &repo); err != nil {
			t.Fatal(err)
		}
		f.serveJSON("api.github.com/repos/"+repo.FullName, body)
	}
	f.serveJSON("api.github.com/repos/mozilla/test_treeherder/pulls/1692", readFile(t, filepath.Join(dir, "github_pr_test_treeherder_1692.json")))
	f.serveJSON("api.github.com/repos/mozilla/test_treeherder/pulls/1692/commits", readFile(t, filepath.Join(dir, "github_pr_commits.json")))
}

func pushFixture(t testing.TB, name string) (body []byte, want any) {
	dir := filepath.Join(sharedData(t), "pulse")
	readJSON(t, filepath.Join(dir, "transformed_"+name+".json"), &want)
	switch name {
	case "hg_push":
		body = readFile(t, filepath.Join(dir, "hg_push.json"))
	case "gh_push":
		var msgs []struct {
			Payload json.RawMessage `json:"payload"`
		}
		readJSON(t, filepath.Join(dir, "github_push.json"), &msgs)
		body = msgs[0].Payload
	case "gh_pr":
		body = readFile(t, filepath.Join(dir, "github_pr.json"))
	}
	return body, want
}

// TestConformancePushes: hg, GitHub push and GitHub pull request messages,
// with json-pushes / compare / PR-commits served by the fake, give exactly
// the transformed_*.json fixtures.
func TestConformancePushes(t *testing.T) {
	f := newFakeUpstream(t)
	servePushes(t, f)
	c := f.client(t, HTTPOptions{})
	ctx := context.Background()
	cases := []struct {
		name string
		run  func([]byte) (sdk.PushDatum, error)
	}{
		{"hg_push", func(b []byte) (sdk.PushDatum, error) { return TransformHgPush(ctx, b, c) }},
		{"gh_push", func(b []byte) (sdk.PushDatum, error) { return TransformGitHubPush(ctx, b, c) }},
		{"gh_pr", func(b []byte) (sdk.PushDatum, error) { return TransformGitHubPullRequest(ctx, b, c) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, want := pushFixture(t, tc.name)
			got, err := tc.run(body)
			if err != nil {
				t.Fatal(err)
			}
			assertSameJSON(t, tc.name, got, want)
		})
	}
}

// fixtureRepositories builds the routing table from Treeherder's repository
// and repository_branch fixtures.
func fixtureRepositories(t testing.TB) []Repository {
	dir := filepath.Join(sharedData(t), "fixtures")
	var repos []struct {
		PK     int `json:"pk"`
		Fields struct {
			Name                string `json:"name"`
			URL                 string `json:"url"`
			ActiveStatus        string `json:"active_status"`
			AcceptsPullRequests bool   `json:"accepts_pull_requests"`
		} `json:"fields"`
	}
	readJSON(t, filepath.Join(dir, "repository.json"), &repos)
	var branches []struct {
		Fields struct {
			Repository int    `json:"repository"`
			Branch     string `json:"branch"`
		} `json:"fields"`
	}
	readJSON(t, filepath.Join(dir, "repository_branch.json"), &branches)
	byRepo := map[int][]string{}
	for _, b := range branches {
		byRepo[b.Fields.Repository] = append(byRepo[b.Fields.Repository], b.Fields.Branch)
	}
	out := make([]Repository, len(repos))
	for i, r := range repos {
		out[i] = Repository{
			Name: r.Fields.Name, URL: r.Fields.URL, Branches: byRepo[r.PK],
			Inactive: r.Fields.ActiveStatus != "active", AcceptsPullRequests: r.Fields.AcceptsPullRequests,
		}
	}
	return out
}

// TestPushTransformerRouting runs whole messages through repository
// resolution with Treeherder's fixture repositories.
func TestPushTransformerRouting(t *testing.T) {
	f := newFakeUpstream(t)
	servePushes(t, f)
	c := f.client(t, HTTPOptions{})
	repos := fixtureRepositories(t)
	ctx := context.Background()

	hgBody, hgWant := pushFixture(t, "hg_push")
	got, err := NewPushTransformer(c, c, repos).Push(ctx, ExchangeHgPushesV1, hgBody)
	if err != nil {
		t.Fatal(err)
	}
	if got.Project != "try" || got.Branch != "" {
		t.Errorf("hg push routed to %q branch %q, want try", got.Project, got.Branch)
	}
	got.Project = ""
	assertSameJSON(t, "hg_push", got, hgWant)

	// The servo push is on branch "try": servo-try lists it exactly.
	dir := filepath.Join(sharedData(t), "pulse")
	var msgs []struct {
		Exchange string          `json:"exchange"`
		Payload  json.RawMessage `json:"payload"`
	}
	readJSON(t, filepath.Join(dir, "github_push.json"), &msgs)
	got, err = NewPushTransformer(c, c, repos).Push(ctx, msgs[1].Exchange, msgs[1].Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got.Project != "servo-try" || got.Revision != "ad9bfc2a62b70b9f3dbb1c3a5969f30bacce3d74" || len(got.Revisions) != 2 {
		t.Errorf("servo push: got %s %s with %d revisions", got.Project, got.Revision, len(got.Revisions))
	}

	// android-components is on hold in the fixtures: unknown repository.
	if _, err := NewPushTransformer(c, c, repos).Push(ctx, msgs[0].Exchange, msgs[0].Payload); !errors.Is(err, ErrUnknownRepository) {
		t.Errorf("on-hold repository: got %v, want ErrUnknownRepository", err)
	}

	// The pull request needs a repository accepting pull requests.
	prBody, prWant := pushFixture(t, "gh_pr")
	prRepos := append(fixtureRepositories(t), Repository{Name: "test_treeherder", URL: "https://github.com/mozilla/test_treeherder", AcceptsPullRequests: true})
	got, err = NewPushTransformer(c, c, prRepos).Push(ctx, ExchangeGitHubPullRequest, prBody)
	if err != nil {
		t.Fatal(err)
	}
	if got.Project != "test_treeherder" {
		t.Errorf("pull request routed to %q", got.Project)
	}
	got.Project = ""
	assertSameJSON(t, "gh_pr", got, prWant)
	if _, err := NewPushTransformer(c, c, repos).Push(ctx, ExchangeGitHubPullRequest, prBody); !errors.Is(err, ErrUnknownRepository) {
		t.Errorf("pull request without a repository: got %v", err)
	}

	if _, err := NewPushTransformer(c, c, repos).Push(ctx, "meh", prBody); !errors.Is(err, ErrUnknownExchange) {
		t.Errorf("unknown exchange: got %v", err)
	}
}

// TestStoreFormatDecodes: the store-format fixture job_data.txt decodes into
// sdk.JobDatum and re-encodes to the same JSON, except for the fields sdk
// does not model ("artifact") and tier, which is always written.
func TestStoreFormatDecodes(t *testing.T) {
	data := readFile(t, filepath.Join(sharedData(t), "fixtures", "job_data.txt"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		n++
		var d sdk.JobDatum
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatal(err)
		}
		delete(want["job"].(map[string]any), "artifact")
		got := asJSON(t, d).(map[string]any)
		if tier := got["job"].(map[string]any)["tier"]; tier != float64(0) {
			t.Errorf("line %d: tier %v, want 0 (absent)", n, tier)
		}
		delete(got["job"].(map[string]any), "tier")
		if diff := jsonDiff(fmt.Sprintf("line %d", n), got, want); len(diff) > 0 {
			t.Errorf("round trip:\n  %s", strings.Join(diff, "\n  "))
		}
	}
	if n != 122 {
		t.Errorf("decoded %d jobs, want 122", n)
	}
}

// TestHTTPClientServesFixtureThroughCache checks cached definitions are
// fetched once across messages of one task.
func TestHTTPClientServesFixtureThroughCache(t *testing.T) {
	msgs, tasks, _ := loadTaskFixtures(t)
	f := newFakeUpstream(t)
	serveTaskcluster(t, f, tasks)
	cache := NewTaskCache(f.client(t, HTTPOptions{}), 10, 0)
	tr := NewTransformer(cache, Options{})
	for i := 0; i < 3; i++ {
		if _, err := tr.JobDatum(context.Background(), msgs[0]); err != nil {
			t.Fatal(err)
		}
	}
	var id struct {
		Status struct {
			TaskID string `json:"taskId"`
		} `json:"status"`
	}
	_ = json.Unmarshal(msgs[0].Payload, &id)
	if n := f.hitCount("taskcluster.net/api/queue/v1/task/" + id.Status.TaskID); n != 1 {
		t.Errorf("task fetched %d times, want 1", n)
	}
	if hits, misses, size := cache.Stats(); hits != 2 || misses != 1 || size != 1 {
		t.Errorf("cache stats: %d hits, %d misses, size %d", hits, misses, size)
	}
}
