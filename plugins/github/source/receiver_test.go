package source

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/plugins/github/ghtest"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

const delivery1 = "72d3162e-cc78-11e3-81ab-4c9367dc0958"

func TestWebhookAccepted(t *testing.T) {
	r := newRig(t, nil)
	body := testdata(t, "workflow_job_completed.json")
	code, reply, _ := r.post("workflow_job", delivery1, body, testSecret)
	if code != http.StatusOK || reply["status"] != "accepted" || reply["events"] != float64(1) || reply["delivery"] != delivery1 {
		t.Fatalf("%d %v", code, reply)
	}
	evs := r.sink.events()
	if len(evs) != 1 || evs[0].Job == nil || evs[0].Job.Job.JobGUID != "github-actions/10795212121/2/29679449256" ||
		!bytes.Equal(evs[0].Raw, body) || evs[0].ID != "github/"+delivery1 {
		t.Fatalf("events %+v", evs)
	}
	if want := r.fake.URL() + "/repos/example-org/example-app/actions/jobs/29679449256/logs"; evs[0].Job.Job.LogReferences[0].URL != want {
		t.Errorf("log URL %s, want %s", evs[0].Job.Job.LogReferences[0].URL, want)
	}
	if n := r.src.Stats().Accepted.Load(); n != 1 {
		t.Errorf("accepted %d", n)
	}
	// Ping: 200 pong.
	if code, reply, _ := r.post("ping", "ping-1", []byte(`{"zen": "Design for failure.", "hook_id": 1}`), testSecret); code != 200 || reply["status"] != "pong" {
		t.Errorf("ping: %d %v", code, reply)
	}
}

func TestWebhookForged(t *testing.T) {
	r := newRig(t, nil)
	body := testdata(t, "workflow_job_completed.json")
	tampered := bytes.Replace(body, []byte(`"failure"`), []byte(`"success"`), 1)
	for _, tc := range []struct {
		name string
		sig  string
		body []byte
	}{
		{"no signature", "", body},
		{"wrong secret", Sign([]byte("guess"), body), body},
		{"tampered body", Sign([]byte(testSecret), body), tampered},
		{"sha1 form", "sha1=" + strings.Repeat("0", 40), body},
		{"not hex", "sha256=" + strings.Repeat("z", 64), body},
	} {
		req, _ := http.NewRequest(http.MethodPost, r.url+"/webhook", bytes.NewReader(tc.body))
		req.Header.Set("X-GitHub-Event", "workflow_job")
		req.Header.Set("X-GitHub-Delivery", delivery1)
		if tc.sig != "" {
			req.Header.Set("X-Hub-Signature-256", tc.sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var reply map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&reply)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(reply["error"]), "signature") {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, reply)
		}
	}
	if n := r.src.Stats().Forged.Load(); n != 5 {
		t.Errorf("forged counted %d, want 5", n)
	}
	if len(r.sink.events()) != 0 {
		t.Fatal("a forged delivery reached the host")
	}
	// A forged request does not burn the delivery id: the real one is accepted.
	if code, reply, _ := r.post("workflow_job", delivery1, body, testSecret); code != 200 {
		t.Errorf("genuine delivery after forgeries: %d %v", code, reply)
	}
}

func TestWebhookReplayed(t *testing.T) {
	r := newRig(t, map[string]any{"replay_window": "24h"})
	body := testdata(t, "workflow_job_completed.json")
	if code, _, _ := r.post("workflow_job", delivery1, body, testSecret); code != 200 {
		t.Fatalf("first delivery: %d", code)
	}
	code, reply, _ := r.post("workflow_job", delivery1, body, testSecret)
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(reply["error"]), "replay") {
		t.Fatalf("replay: %d %v", code, reply)
	}
	if n := r.src.Stats().Replayed.Load(); n != 1 {
		t.Errorf("replayed counted %d", n)
	}
	// A restart still refuses it: the ids are on disk.
	r.restart()
	if code, _, _ := r.post("workflow_job", delivery1, body, testSecret); code != http.StatusConflict {
		t.Fatalf("replay after a restart: %d", code)
	}
	if n := r.src.Stats().Replayed.Load(); n != 1 {
		t.Errorf("replayed after restart counted %d (a fresh process counts from 0)", n)
	}
	if len(r.sink.events()) != 1 {
		t.Errorf("%d events reached the host, want 1", len(r.sink.events()))
	}
	// Past the replay window the id is forgotten.
	r.clk.add(25 * time.Hour)
	if code, _, _ := r.post("workflow_job", delivery1, body, testSecret); code != 200 {
		t.Errorf("after the window: %d", code)
	}
}

func TestWebhookNotAcceptedIsNotRemembered(t *testing.T) {
	r := newRig(t, nil)
	body := testdata(t, "workflow_job_completed.json")
	r.sink.setFail(func([]sdk.Event) error { return errRefused })
	code, reply, _ := r.post("workflow_job", delivery1, body, testSecret)
	if code != http.StatusServiceUnavailable || reply["error"] == nil {
		t.Fatalf("host refusing: %d %v", code, reply)
	}
	// GitHub's "Redeliver" sends the same id: it goes through once the host accepts.
	r.sink.setFail(nil)
	if code, reply, _ := r.post("workflow_job", delivery1, body, testSecret); code != 200 {
		t.Fatalf("redelivery: %d %v", code, reply)
	}
	if n := r.src.Stats().SendErrors.Load(); n != 1 {
		t.Errorf("send errors %d", n)
	}
}

func TestWebhookBadRequests(t *testing.T) {
	r := newRig(t, map[string]any{"max_body_bytes": 4096})
	cases := []struct {
		name, event, delivery string
		body                  []byte
		code                  int
		reason                string
	}{
		{"not JSON", "workflow_job", "d-1", []byte(`nope`), 400, "JSON object"},
		{"missing job", "workflow_job", "d-2", []byte(`{"repository": {"full_name": "example-org/example-app"}}`), 400, "workflow_job"},
		{"bad sha", "push", "d-3", []byte(`{"ref": "refs/heads/main", "before": "1", "repository": {"full_name": "example-org/example-app"}}`), 400, "before"},
		{"no event header", "", "d-4", []byte(`{}`), 400, "X-GitHub-Event"},
		{"no delivery header", "push", "", []byte(`{}`), 400, "X-GitHub-Delivery"},
		{"odd delivery id", "push", "../../etc/passwd", []byte(`{}`), 400, "X-GitHub-Delivery"},
		{"too large", "push", "d-5", bytes.Repeat([]byte(" "), 5000), 413, "max_body_bytes"},
		{"unsupported event", "issues", "d-6", []byte(`{"action": "opened"}`), 202, "not handled"},
	}
	for _, tc := range cases {
		code, reply, _ := r.post(tc.event, tc.delivery, tc.body, testSecret)
		msg := fmt.Sprint(reply["error"], reply["reason"])
		if code != tc.code || !strings.Contains(msg, tc.reason) {
			t.Errorf("%s: %d %v; want %d mentioning %q", tc.name, code, reply, tc.code, tc.reason)
		}
	}
	resp, err := http.Get(r.url + "/webhook")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if len(r.sink.events()) != 0 {
		t.Error("a bad request reached the host")
	}
}

func TestWebhookIgnored(t *testing.T) {
	r := newRig(t, nil)
	var m map[string]any
	_ = json.Unmarshal(testdata(t, "workflow_job_completed.json"), &m)
	m["repository"].(map[string]any)["full_name"] = "someone/elses-repo"
	body, _ := json.Marshal(m)
	code, reply, _ := r.post("workflow_job", "d-ign", body, testSecret)
	if code != http.StatusAccepted || reply["status"] != "ignored" || !strings.Contains(fmt.Sprint(reply["reason"]), "someone/elses-repo is not configured") {
		t.Errorf("%d %v", code, reply)
	}
	// A pull request being labelled changes no commits.
	pr := fmt.Appendf(nil, `{"action": "labeled", "number": 3, "pull_request": {"number": 3, "head": {"sha": "%s"}}, "repository": {"full_name": "example-org/example-app"}}`, strings.Repeat("a", 40))
	if code, reply, _ := r.post("pull_request", "d-lab", pr, testSecret); code != 202 || !strings.Contains(fmt.Sprint(reply["reason"]), "labeled") {
		t.Errorf("labeled: %d %v", code, reply)
	}
	if len(r.sink.events()) != 0 || r.src.Stats().Ignored.Load() != 2 {
		t.Errorf("ignored deliveries: %d events, %d counted", len(r.sink.events()), r.src.Stats().Ignored.Load())
	}
}

func TestWebhookRateLimited(t *testing.T) {
	r := newRig(t, nil)
	var push map[string]any
	_ = json.Unmarshal(testdata(t, "push_new_branch.json"), &push)
	push["before"], push["created"] = "1111111111111111111111111111111111111111", false
	body, _ := json.Marshal(push)
	comparePath := "/repos/example-org/example-app/compare/1111111111111111111111111111111111111111...9c1b2a7d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
	r.fake.Script(comparePath, ghtest.Answer{Status: 403, Header: map[string]string{"Retry-After": "120"},
		Body: `{"message": "You have exceeded a secondary rate limit."}`})
	code, reply, hdr := r.post("push", "d-rl", body, testSecret)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(fmt.Sprint(reply["error"]), "rate limit") {
		t.Fatalf("%d %v Retry-After %q", code, reply, hdr.Get("Retry-After"))
	}
	if secs, _ := strconv.Atoi(hdr.Get("Retry-After")); secs < 1 {
		t.Errorf("Retry-After %q", hdr.Get("Retry-After"))
	}
	// Not remembered: a redelivery once the limit lifted goes through.
	r.clk.add(3 * time.Minute)
	r.fake.JSON(comparePath, fmt.Appendf(nil, `{"commits": [{"sha": "9c1b2a7d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", "commit": {"message": "m",
		"author": {"name": "A", "email": "a@example.org", "date": "2024-09-11T12:03:40Z"}, "committer": {"name": "A", "email": "a@example.org", "date": "2024-09-11T12:03:40Z"}}}]}`))
	if code, reply, _ := r.post("push", "d-rl", body, testSecret); code != 200 {
		t.Fatalf("redelivery: %d %v", code, reply)
	}
	if p := r.sink.events()[0].Push; p.Revision != "9c1b2a7d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b" || p.Author != "a@example.org" || p.Branch != "release-2.1" {
		t.Errorf("push %+v", p)
	}
}

func TestWorkflowRunCompletedFetchesJobs(t *testing.T) {
	r := newRig(t, nil)
	r.fake.JSON("/repos/example-org/example-app/actions/runs/10795212121/jobs", testdata(t, "run_jobs.json"))
	code, reply, _ := r.post("workflow_run", "d-run", testdata(t, "workflow_run_completed.json"), testSecret)
	if code != 200 || reply["events"] != float64(3) {
		t.Fatalf("%d %v", code, reply)
	}
	byGUID := map[string]sdk.Job{}
	for _, e := range r.sink.events() {
		byGUID[e.Job.Job.JobGUID] = e.Job.Job
		if e.Job.Project != "example-app" || e.Job.Revision != "3f786850e387550fdab836ed7e6dc881de23001b" {
			t.Errorf("job %s in %s at %s", e.Job.Job.JobGUID, e.Job.Project, e.Job.Revision)
		}
	}
	for guid, want := range map[string]string{
		"github-actions/10795212121/2/29679449256": "completed/testfailed/linux/ubuntu-latest",
		"github-actions/10795212121/2/29679449301": "completed/success/mac/macos-14",
		"github-actions/10795212121/1/29679001122": "completed/usercancel/windows/windows-2022",
	} {
		j := byGUID[guid]
		if got := j.State + "/" + j.Result + "/" + j.MachinePlatform.OSName + "/" + j.MachinePlatform.Platform; got != want || j.Who != "octo-dev" {
			t.Errorf("%s: %s (who %q), want %s", guid, got, j.Who, want)
		}
	}
	// Earlier actions of a run make nothing: its jobs come on their own.
	body := bytes.Replace(testdata(t, "workflow_run_completed.json"), []byte(`"action": "completed"`), []byte(`"action": "requested"`), 1)
	if code, _, _ := r.post("workflow_run", "d-run-2", body, testSecret); code != 202 {
		t.Errorf("requested run: %d", code)
	}
}

func TestStatsEndpoint(t *testing.T) {
	r := newRig(t, nil)
	r.post("workflow_job", delivery1, testdata(t, "workflow_job_completed.json"), testSecret)
	r.post("workflow_job", delivery1, testdata(t, "workflow_job_completed.json"), testSecret)
	r.post("workflow_job", "d-2", testdata(t, "workflow_job_completed.json"), "wrong")
	resp, err := http.Get(r.url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Counts     map[string]int64 `json:"counts"`
		Remembered int              `json:"remembered_deliveries"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Counts["webhooks_received"] != 3 || st.Counts["webhooks_accepted"] != 1 || st.Counts["webhooks_replayed"] != 1 ||
		st.Counts["webhooks_forged"] != 1 || st.Remembered != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg, msg string
	}{
		{`{}`, "state_dir"},
		{`{"state_dir": "x", "listen": "127.0.0.1:1"}`, "repositories"},
		{`{"state_dir": "x", "repositories": [{"name": "a", "repo": "o/r"}]}`, "nothing to do"},
		{`{"state_dir": "x", "listen": "nope", "repositories": [{"name": "a", "repo": "o/r"}]}`, "listen"},
		{`{"state_dir": "x", "listen": ":1", "repositories": [{"name": "a", "repo": "o"}]}`, "owner/name"},
		{`{"state_dir": "x", "listen": ":1", "repositories": [{"repo": "o/r"}]}`, "name"},
		{`{"state_dir": "x", "listen": ":1", "repositories": [{"name": "a", "repo": "o/r"}], "api_url": "ftp://x"}`, "api_url"},
		{`{"state_dir": "x", "listen": ":1", "repositories": [{"name": "a", "repo": "o/r"}], "secret": "inline"}`, "unknown field"},
		{`{"state_dir": "x", "listen": ":1", "repositories": [{"name": "a", "repo": "o/r"}], "path": "/stats"}`, "path"},
	} {
		if _, err := ParseConfig([]byte(tc.cfg)); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.cfg, err, tc.msg)
		}
	}
	c, err := ParseConfig([]byte(`{"state_dir": "x", "listen": ":1", "repositories": [{"name": "a", "url": "https://github.com/O/R.git"}]}`))
	if err != nil || c.Repositories[0].Repo != "O/R" || c.Repositories[0].Branches[0] != "*" || c.Path != "/webhook" ||
		time.Duration(c.ReplayWindow) != 72*time.Hour || c.SecretEnv != DefaultSecretEnv {
		t.Errorf("defaults: %+v %v", c, err)
	}
	// Without the secret the receiver refuses to start.
	s := New(plugintest.TestLogger(t), WithEnv(func(string) string { return "" }))
	cfg := fmt.Sprintf(`{"state_dir": %q, "listen": "127.0.0.1:0", "repositories": [{"name": "a", "repo": "o/r"}]}`, t.TempDir())
	if err := s.Configure(context.Background(), []byte(cfg)); err == nil || !strings.Contains(err.Error(), DefaultSecretEnv) {
		t.Errorf("no secret: %v", err)
	}
}

func TestDeliveriesFile(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	d, err := openDeliveries(dir, time.Hour, 3, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		id := fmt.Sprintf("id-%d", i)
		if d.begin(id) != deliveryNew {
			t.Fatalf("%s not new", id)
		}
		if i == 1 {
			if d.begin(id) != deliveryInFlight {
				t.Errorf("second claim of %s while in flight", id)
			}
		}
		if err := d.end(id, true); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Second)
	}
	// max 3: the soonest-expiring ids were dropped.
	if d.size() != 3 || d.begin("id-4") != deliveryReplayed || d.begin("id-0") != deliveryNew {
		t.Errorf("size %d", d.size())
	}
	d.end("id-0", false)
	_ = d.close()
	// A torn last line (a crash mid-write) is skipped on reading.
	f, _ := os.OpenFile(filepath.Join(dir, deliveriesFile), os.O_APPEND|os.O_WRONLY, 0o600)
	_, _ = f.WriteString("99999999999 half")
	f.Close()
	d, err = openDeliveries(dir, time.Hour, 10, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if d.begin("id-3") != deliveryReplayed || d.begin("half") != deliveryNew {
		t.Error("reopened file")
	}
	clk.add(2 * time.Hour)
	if d.begin("id-3") != deliveryNew {
		t.Error("expired id still refused")
	}
}

// Past max the file is trimmed to nine tenths of it, so the deliveries that
// follow append rather than each rewriting the whole file.
func TestDeliveriesTrimBelowTheLimit(t *testing.T) {
	clk := newClock()
	d, err := openDeliveries(t.TempDir(), time.Hour, 20, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	for i := range 21 {
		id := fmt.Sprintf("id-%d", i)
		d.begin(id)
		if err := d.end(id, true); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Second)
	}
	if d.size() != 18 || d.begin("id-20") != deliveryReplayed || d.begin("id-2") != deliveryNew {
		t.Fatalf("after passing the limit: %d ids remembered, want the latest 18", d.size())
	}
	d.end("id-2", false)
	for i := 21; i < 23; i++ {
		id := fmt.Sprintf("id-%d", i)
		d.begin(id)
		if err := d.end(id, true); err != nil {
			t.Fatal(err)
		}
	}
	if d.size() != 20 || d.lines != 20 {
		t.Errorf("two more deliveries: %d ids, %d lines; want 20 and 20 (appended, no rewrite)", d.size(), d.lines)
	}
}

// TestConformancePush: the push webhook Treeherder's fixture carries
// (github_push.json's body), with the compare API served from
// github_push_compare.json, becomes exactly transformed_gh_push.json.
func TestConformancePush(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "pulse")
	r := newRig(t, map[string]any{"repositories": []map[string]any{
		{"name": "android-components", "repo": "mozilla-mobile/android-components", "branches": []string{"master"}},
		{"name": "servo-try", "repo": "servo/servo", "branches": []string{"try"}},
	}})
	var msgs []struct {
		Payload struct {
			Body json.RawMessage `json:"body"`
		} `json:"payload"`
	}
	readJSON(t, filepath.Join(dir, "github_push.json"), &msgs)
	var compare []json.RawMessage
	readJSON(t, filepath.Join(dir, "github_push_compare.json"), &compare)
	r.fake.JSON("/repos/mozilla-mobile/android-components/compare/7285afe57ae6207fdb5d6db45133dac2053b7820...5fdb785b28b356f50fc1d9cb180d401bb03fc1f1", compare[0])
	r.fake.JSON("/repos/servo/servo/compare/4c25e02f26f7536edbf23a360d56604fb9507378...ad9bfc2a62b70b9f3dbb1c3a5969f30bacce3d74", compare[1])

	code, reply, _ := r.post("push", "push-1", msgs[0].Payload.Body, testSecret)
	if code != 200 {
		t.Fatalf("%d %v", code, reply)
	}
	got := r.sink.events()[0].Push
	if got.Project != "android-components" || got.Branch != "" {
		t.Errorf("routed to %q branch %q", got.Project, got.Branch)
	}
	got.Project = ""
	var want any
	readJSON(t, filepath.Join(dir, "transformed_gh_push.json"), &want)
	assertSameJSON(t, "gh_push", got, want)

	// The servo push (branch try) lands in servo-try, as in Treeherder's routing test.
	if code, _, _ := r.post("push", "push-2", msgs[1].Payload.Body, testSecret); code != 200 {
		t.Fatalf("servo push: %d", code)
	}
	if p := r.sink.events()[1].Push; p.Project != "servo-try" || p.Revision != "ad9bfc2a62b70b9f3dbb1c3a5969f30bacce3d74" || len(p.Revisions) != 2 {
		t.Errorf("servo push %s %s with %d revisions", p.Project, p.Revision, len(p.Revisions))
	}
}

// TestConformancePullRequest: a pull_request webhook for Treeherder's
// fixture pull request (github_pr_test_treeherder_1692.json as its
// pull_request, github_repository_test_treeherder.json as its repository),
// with the PR commits API served from github_pr_commits.json, becomes
// exactly transformed_gh_pr.json.
func TestConformancePullRequest(t *testing.T) {
	dir := filepath.Join(testenv.SharedData(t), "pulse")
	r := newRig(t, map[string]any{"repositories": []map[string]any{
		{"name": "test_treeherder", "repo": "mozilla/test_treeherder", "accepts_pull_requests": true, "branches": []string{"master"}},
	}})
	var pr, repo json.RawMessage
	readJSON(t, filepath.Join(dir, "github_pr_test_treeherder_1692.json"), &pr)
	readJSON(t, filepath.Join(dir, "github_repository_test_treeherder.json"), &repo)
	body, err := json.Marshal(map[string]any{"action": "synchronize", "number": 1692, "pull_request": pr, "repository": repo,
		"sender": map[string]any{"login": "mozilla"}})
	if err != nil {
		t.Fatal(err)
	}
	r.fake.JSON("/repos/mozilla/test_treeherder/pulls/1692/commits", readFileT(t, filepath.Join(dir, "github_pr_commits.json")))
	code, reply, _ := r.post("pull_request", "pr-1", body, testSecret)
	if code != 200 {
		t.Fatalf("%d %v", code, reply)
	}
	got := r.sink.events()[0].Push
	if got.Project != "test_treeherder" {
		t.Errorf("routed to %q", got.Project)
	}
	got.Project = ""
	var want any
	readJSON(t, filepath.Join(dir, "transformed_gh_pr.json"), &want)
	assertSameJSON(t, "gh_pr", got, want)
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(readFileT(t, path), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func assertSameJSON(t testing.TB, name string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	var gv, wv any
	_ = json.Unmarshal(g, &gv)
	_ = json.Unmarshal(w, &wv)
	gs, _ := json.MarshalIndent(gv, "", " ")
	ws, _ := json.MarshalIndent(wv, "", " ")
	if string(gs) != string(ws) {
		t.Errorf("%s differs\n got %s\nwant %s", name, gs, ws)
	}
}
