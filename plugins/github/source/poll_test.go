package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/plugins/github/api"
	"github.com/herder-ci/herder/plugins/github/ghtest"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

const repoPath = "/repos/example-org/example-app"

func sha(n int) string { return fmt.Sprintf("%040x", n) }

// repos returns the polled example repository with Actions and pull
// requests on or off.
func repos(actions, pulls bool) []map[string]any {
	return []map[string]any{{"name": "example-app", "repo": "example-org/example-app", "branches": []string{"main", "release-*"},
		"accepts_pull_requests": pulls, "poll": true, "actions": actions}}
}

type act struct {
	id            int64
	typ, ref      string
	before, after string
}

// serveActivity serves the activity list, newest first, in pages of 2 so
// pagination is exercised.
func serveActivity(f *ghtest.Fake, acts ...act) {
	var entries []string
	for i := len(acts) - 1; i >= 0; i-- {
		a := acts[i]
		entries = append(entries, fmt.Sprintf(`{"id": %d, "node_id": "RA_%d", "before": %q, "after": %q, "ref": %q,
			"timestamp": "2024-09-10T10:%02d:00Z", "activity_type": %q, "actor": {"login": "octo-dev"}}`, a.id, a.id, a.before, a.after, a.ref, a.id%60, a.typ))
	}
	var pages [][]byte
	for i := 0; i < len(entries); i += 2 {
		pages = append(pages, []byte("["+strings.Join(entries[i:min(i+2, len(entries))], ",")+"]"))
	}
	if len(pages) == 0 {
		pages = [][]byte{[]byte(`[]`)}
	}
	f.Pages(repoPath+"/activity", pages...)
}

func commitJSON(s, msg, email string, minute int) string {
	return fmt.Sprintf(`{"sha": %q, "commit": {"message": %q, "author": {"name": "Dev", "email": %q, "date": "2024-09-10T09:%02d:00Z"},
		"committer": {"name": "Dev", "email": %q, "date": "2024-09-10T09:%02d:30Z"}}}`, s, msg, email, minute, email, minute)
}

func serveCompare(f *ghtest.Fake, before, after string, commits ...string) {
	f.JSON(repoPath+"/compare/"+before+"..."+after, []byte(`{"status": "ahead", "commits": [`+strings.Join(commits, ",")+`]}`))
}

func revisions(evs []sdk.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Push != nil {
			out = append(out, e.Push.Revision)
		}
	}
	return out
}

func TestPollPushesWithETags(t *testing.T) {
	fake, s, clk := ghtest.New(t), &sink{}, newClock()
	p, cfg := newPoller(t, fake, s, clk, map[string]any{"repositories": repos(false, false)})
	serveActivity(fake,
		act{100, "push", "refs/heads/experiment", sha(90), sha(91)}, // no branch rule: ignored
		act{101, "branch_creation", "refs/heads/release-1", sha(0), sha(10)},
		act{102, "push", "refs/heads/main", sha(2), sha(3)},
		act{103, "branch_deletion", "refs/heads/old", sha(5), sha(0)},
	)
	fake.JSON(repoPath+"/compare/"+sha(90)+"..."+sha(91), []byte(`{"commits": []}`))
	fake.JSON(repoPath+"/commits/"+sha(10), []byte(commitJSON(sha(10), "Branch for 1.0", "rel@example.org", 1)))
	serveCompare(fake, sha(2), sha(3), commitJSON(sha(21), "one", "a@example.org", 2), commitJSON(sha(3), "two", "b@example.org", 3))
	ctx := context.Background()
	r := p.repos[0]

	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	evs := s.events()
	if got := revisions(evs); len(got) != 2 || got[0] != sha(10) || got[1] != sha(3) {
		t.Fatalf("pushes %v, want the new branch then the main push", got)
	}
	if p0 := evs[0].Push; p0.Branch != "release-1" || p0.Author != "rel@example.org" || len(p0.Revisions) != 1 {
		t.Errorf("new branch push %+v", p0)
	}
	if p1 := evs[1].Push; p1.Branch != "" || p1.Author != "b@example.org" || p1.PushTimestamp != time.Date(2024, 9, 10, 9, 3, 30, 0, time.UTC).Unix() ||
		len(p1.Revisions) != 2 || p1.Revisions[0].Author != "Dev <a@example.org>" || evs[1].ID != "github/activity/example-org/example-app/102" {
		t.Errorf("main push %+v (%s)", p1, evs[1].ID)
	}
	st, _ := readState(stateFile(cfg.StateDir, r.FullName))
	if st.Pushes.LastID != 103 || !st.Pushes.Started || st.Pushes.ETag == "" {
		t.Errorf("cursor %+v", st.Pushes)
	}

	// Unchanged: one conditional request answered 304, nothing else.
	hits := fake.TotalHits()
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if fake.NotModified(repoPath+"/activity") != 1 || fake.TotalHits() != hits+1 || len(s.events()) != 2 {
		t.Errorf("second poll: %d 304s, %d requests, %d events", fake.NotModified(repoPath+"/activity"), fake.TotalHits()-hits, len(s.events()))
	}

	// A new push: only it is read and sent; paging stops at the cursor.
	serveActivity(fake,
		act{101, "branch_creation", "refs/heads/release-1", sha(0), sha(10)},
		act{102, "push", "refs/heads/main", sha(2), sha(3)},
		act{103, "branch_deletion", "refs/heads/old", sha(5), sha(0)},
		act{104, "push", "refs/heads/main", sha(3), sha(4)},
		act{105, "force_push", "refs/heads/main", sha(4), sha(6)},
	)
	serveCompare(fake, sha(3), sha(4), commitJSON(sha(4), "three", "c@example.org", 4))
	serveCompare(fake, sha(4), sha(6), commitJSON(sha(6), "rewritten", "c@example.org", 6))
	s.reset()
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := revisions(s.events()); len(got) != 2 || got[0] != sha(4) || got[1] != sha(6) {
		t.Errorf("third poll pushes %v", got)
	}
	if q := fake.Queries(repoPath + "/activity"); strings.Contains(q[len(q)-1], "page=3") {
		t.Errorf("paged past the cursor: %v", q)
	}
}

func TestPollInitialPushes(t *testing.T) {
	fake, s, clk := ghtest.New(t), &sink{}, newClock()
	p, _ := newPoller(t, fake, s, clk, map[string]any{"repositories": repos(false, false), "initial_pushes": 1})
	serveActivity(fake,
		act{1, "push", "refs/heads/main", sha(1), sha(2)},
		act{2, "push", "refs/heads/main", sha(2), sha(3)},
		act{3, "push", "refs/heads/main", sha(3), sha(4)},
	)
	serveCompare(fake, sha(3), sha(4), commitJSON(sha(4), "newest", "a@example.org", 4))
	if err := p.PollRepo(context.Background(), p.repos[0]); err != nil {
		t.Fatal(err)
	}
	if got := revisions(s.events()); len(got) != 1 || got[0] != sha(4) {
		t.Errorf("first poll with initial_pushes 1: %v", got)
	}
}

func TestPollRateLimitKeepsCursor(t *testing.T) {
	fake, s, clk := ghtest.New(t), &sink{}, newClock()
	p, cfg := newPoller(t, fake, s, clk, map[string]any{"repositories": repos(false, false)})
	r := p.repos[0]
	path := stateFile(cfg.StateDir, r.FullName)
	ctx := context.Background()
	serveActivity(fake, act{1, "push", "refs/heads/main", sha(1), sha(2)})
	serveCompare(fake, sha(1), sha(2), commitJSON(sha(2), "one", "a@example.org", 1))
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	before := readFileT(t, path)

	// New pushes, but the compare call meets the primary rate limit.
	serveActivity(fake, act{1, "push", "refs/heads/main", sha(1), sha(2)}, act{2, "push", "refs/heads/main", sha(2), sha(3)},
		act{3, "push", "refs/heads/main", sha(3), sha(4)})
	serveCompare(fake, sha(2), sha(3), commitJSON(sha(3), "two", "a@example.org", 2))
	serveCompare(fake, sha(3), sha(4), commitJSON(sha(4), "three", "a@example.org", 3))
	reset := clk.now().Add(10 * time.Minute)
	fake.Script(repoPath+"/compare/"+sha(2)+"..."+sha(3), ghtest.Answer{Status: 403, Body: `{"message": "API rate limit exceeded"}`,
		Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(reset.Unix())}})
	s.reset()
	err := p.PollRepo(ctx, r)
	rl, ok := api.AsRateLimit(err)
	if !ok || !rl.Until.Equal(reset) {
		t.Fatalf("want the rate limit until %s, got %v", reset, err)
	}
	if len(s.events()) != 0 || !bytes.Equal(readFileT(t, path), before) {
		t.Fatalf("a rate-limited poll sent %d events or moved the cursor", len(s.events()))
	}
	// The loop waits until the reset (backoff), never less than the interval.
	wait, failures := nextWait(clk.now(), time.Minute, 15*time.Minute, fmt.Errorf("poll: %w", err), 0)
	if wait < 10*time.Minute || failures != 1 {
		t.Errorf("next poll in %s (failures %d), want at least until the reset", wait, failures)
	}
	// Until then no request is made at all.
	hits := fake.TotalHits()
	if err := p.PollRepo(ctx, r); err == nil || fake.TotalHits() != hits {
		t.Errorf("poll while limited: %v, %d requests", err, fake.TotalHits()-hits)
	}
	// After the reset: both pushes, once each, and the cursor moves.
	clk.add(11 * time.Minute)
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := revisions(s.events()); len(got) != 2 || got[0] != sha(3) || got[1] != sha(4) {
		t.Errorf("after the reset: %v", got)
	}
	if st, _ := readState(path); st.Pushes.LastID != 3 {
		t.Errorf("cursor %d", st.Pushes.LastID)
	}
}

func TestNextWait(t *testing.T) {
	now := time.Unix(1000, 0)
	if d, n := nextWait(now, time.Minute, 10*time.Minute, nil, 3); d != time.Minute || n != 0 {
		t.Errorf("success: %s %d", d, n)
	}
	other := errors.New("boom")
	for failures, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute} {
		if d, n := nextWait(now, time.Minute, 10*time.Minute, other, failures); d != want || n != failures+1 {
			t.Errorf("failure %d: %s, want %s", failures, d, want)
		}
	}
	// A rate limit ending sooner than the interval still waits the interval.
	rl := &api.RateLimitError{Until: now.Add(5 * time.Second)}
	if d, _ := nextWait(now, time.Minute, 10*time.Minute, rl, 0); d != time.Minute {
		t.Errorf("short limit: %s", d)
	}
}

func TestPollSendFailureAndRestart(t *testing.T) {
	fake, s, clk := ghtest.New(t), &sink{}, newClock()
	p, cfg := newPoller(t, fake, s, clk, map[string]any{"repositories": repos(false, false), "batch_size": 1})
	r := p.repos[0]
	path := stateFile(cfg.StateDir, r.FullName)
	ctx := context.Background()
	var acts []act
	for i := 1; i <= 4; i++ {
		acts = append(acts, act{int64(i), "push", "refs/heads/main", sha(i), sha(i + 1)})
		serveCompare(fake, sha(i), sha(i+1), commitJSON(sha(i+1), fmt.Sprint("c", i), "a@example.org", i))
	}
	serveActivity(fake, acts...)
	// The host accepts the first two batches, then refuses.
	accepted := 0
	s.setFail(func([]sdk.Event) error {
		if accepted == 2 {
			return errRefused
		}
		accepted++
		return nil
	})
	if err := p.PollRepo(ctx, r); !errors.Is(err, errRefused) {
		t.Fatalf("want the host's refusal, got %v", err)
	}
	if st, _ := readState(path); st.Pushes.LastID != 2 {
		t.Fatalf("cursor %d after two accepted pushes, want 2", st.Pushes.LastID)
	}
	// A restart (a new poller over the same state_dir) resumes after the
	// last accepted push: no gap, no duplicate.
	s.setFail(nil)
	p2 := pollerFor(t, cfg, fake, s, clk)
	if err := p2.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := revisions(s.events()); strings.Join(got, ",") != strings.Join([]string{sha(2), sha(3), sha(4), sha(5)}, ",") {
		t.Errorf("pushes across the restart %v", got)
	}
}

func TestPollUpstreamErrorMidway(t *testing.T) {
	fake, s, clk := ghtest.New(t), &sink{}, newClock()
	p, cfg := newPoller(t, fake, s, clk, map[string]any{"repositories": repos(false, false)})
	r := p.repos[0]
	serveActivity(fake, act{1, "push", "refs/heads/main", sha(1), sha(2)}, act{2, "push", "refs/heads/main", sha(2), sha(3)})
	serveCompare(fake, sha(1), sha(2), commitJSON(sha(2), "one", "a@example.org", 1))
	// The second compare is not served (404): the first push is sent, the
	// cursor stops after it, and the ETag is not kept.
	err := p.PollRepo(context.Background(), r)
	if err == nil || !api.IsNotFound(err) {
		t.Fatalf("want the 404, got %v", err)
	}
	st, _ := readState(stateFile(cfg.StateDir, r.FullName))
	if st.Pushes.LastID != 1 || st.Pushes.ETag != "" {
		t.Errorf("cursor %+v", st.Pushes)
	}
	serveCompare(fake, sha(2), sha(3), commitJSON(sha(3), "two", "a@example.org", 2))
	if err := p.PollRepo(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got := revisions(s.events()); len(got) != 2 || got[0] != sha(2) || got[1] != sha(3) {
		t.Errorf("pushes %v", got)
	}
}

// run and job objects as the REST API lists them.
func runJSON(id int64, status, conclusion, updated string) string {
	return fmt.Sprintf(`{"id": %d, "name": "CI", "run_attempt": 1, "event": "push", "status": %q, "conclusion": %s,
		"head_branch": "main", "head_sha": %q, "created_at": "2024-09-10T11:00:00Z", "updated_at": %q,
		"triggering_actor": {"login": "octo-dev"}}`, id, status, nullable(conclusion), sha(7), updated)
}

func jobJSON(id, run int64, name, status, conclusion string) string {
	return fmt.Sprintf(`{"id": %d, "run_id": %d, "run_attempt": 1, "workflow_name": "CI", "head_branch": "main", "head_sha": %q,
		"name": %q, "status": %q, "conclusion": %s, "created_at": "2024-09-10T11:00:01Z", "started_at": "2024-09-10T11:00:05Z",
		"completed_at": null, "labels": ["ubuntu-latest"], "runner_name": "GitHub Actions 2"}`, id, run, sha(7), name, status, nullable(conclusion))
}

func nullable(s string) string {
	if s == "" {
		return "null"
	}
	return fmt.Sprintf("%q", s)
}

func serveRuns(f *ghtest.Fake, runs ...string) {
	f.JSON(repoPath+"/actions/runs", []byte(fmt.Sprintf(`{"total_count": %d, "workflow_runs": [%s]}`, len(runs), strings.Join(runs, ","))))
}

func serveJobs(f *ghtest.Fake, run int64, jobs ...string) {
	f.JSON(fmt.Sprintf("%s/actions/runs/%d/jobs", repoPath, run), []byte(fmt.Sprintf(`{"total_count": %d, "jobs": [%s]}`, len(jobs), strings.Join(jobs, ","))))
}

func jobStates(evs []sdk.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Job != nil {
			out = append(out, jobKeyOf(e.Job.Job.JobGUID)+":"+e.Job.Job.State+"/"+e.Job.Job.Result)
		}
	}
	return out
}

func TestPollWorkflowRuns(t *testing.T) {
	fake, s, clk := ghtest.New(t), &sink{}, newClock()
	p, cfg := newPoller(t, fake, s, clk, map[string]any{"repositories": repos(true, false)})
	r := p.repos[0]
	ctx := context.Background()
	serveActivity(fake)
	jobsPath := repoPath + "/actions/runs/500/jobs"
	serveRuns(fake, runJSON(500, "in_progress", "", "2024-09-10T11:00:10Z"))
	serveJobs(fake, 500, jobJSON(1, 500, "lint", "in_progress", ""), jobJSON(2, 500, "test", "queued", ""))

	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(jobStates(s.events()), " "); got != "1:running/unknown 2:pending/unknown" {
		t.Fatalf("first poll: %s", got)
	}
	if q := fake.Queries(repoPath + "/actions/runs"); !strings.Contains(q[0], "created=%3E%3D2024-09-09") {
		t.Errorf("runs query %v", q)
	}
	if q := fake.Queries(jobsPath); !strings.Contains(q[0], "filter=all") {
		t.Errorf("jobs query %v", q)
	}

	// Nothing changed: two 304s, nothing sent.
	s.reset()
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if len(s.events()) != 0 || fake.NotModified(repoPath+"/actions/runs") != 1 || fake.NotModified(jobsPath) != 1 {
		t.Errorf("unchanged poll: %d events, %d/%d 304s", len(s.events()), fake.NotModified(repoPath+"/actions/runs"), fake.NotModified(jobsPath))
	}

	// A job moves on while the run object stays the same: only it is sent.
	serveJobs(fake, 500, jobJSON(1, 500, "lint", "completed", "success"), jobJSON(2, 500, "test", "queued", ""))
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(jobStates(s.events()), " "); got != "1:completed/success" {
		t.Errorf("changed job: %s", got)
	}

	// The run completes: the last job is sent and the run is done.
	s.reset()
	serveRuns(fake, runJSON(500, "completed", "failure", "2024-09-10T11:09:00Z"))
	serveJobs(fake, 500, jobJSON(1, 500, "lint", "completed", "success"), jobJSON(2, 500, "test", "completed", "failure"))
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(jobStates(s.events()), " "); got != "2:completed/testfailed" {
		t.Errorf("completed run: %s", got)
	}
	st, _ := readState(stateFile(cfg.StateDir, r.FullName))
	if tr := st.Runs.Tracked["500"]; tr == nil || !tr.Done || tr.Sent != nil {
		t.Errorf("tracked run %+v", tr)
	}
	// Done: its jobs are not read again.
	hits := fake.Hits(jobsPath)
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if fake.Hits(jobsPath) != hits {
		t.Error("a finished run's jobs were read again")
	}
	// Past track_for the run is forgotten.
	clk.add(48 * time.Hour)
	serveRuns(fake)
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if st, _ := readState(stateFile(cfg.StateDir, r.FullName)); len(st.Runs.Tracked) != 0 {
		t.Errorf("runs still tracked: %v", st.Runs.Tracked)
	}
}

func TestPollPullRequests(t *testing.T) {
	fake, s, clk := ghtest.New(t), &sink{}, newClock()
	p, cfg := newPoller(t, fake, s, clk, map[string]any{"repositories": repos(false, true)})
	r := p.repos[0]
	ctx := context.Background()
	serveActivity(fake)
	pulls := func(head string, extra ...string) {
		list := append([]string{fmt.Sprintf(`{"number": 5, "updated_at": "2024-09-10T11:30:00Z", "head": {"sha": %q, "ref": "fix"}, "base": {"ref": "main"}}`, head)}, extra...)
		fake.JSON(repoPath+"/pulls", []byte("["+strings.Join(list, ",")+"]"))
	}
	old := `{"number": 2, "updated_at": "2024-08-01T00:00:00Z", "head": {"sha": "` + sha(20) + `"}, "base": {"ref": "main"}}`
	pulls(sha(50), old)
	fake.JSON(repoPath+"/pulls/5/commits", []byte("["+commitJSON(sha(49), "a", "a@example.org", 1)+","+commitJSON(sha(50), "b", "b@example.org", 2)+"]"))
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	// The pull request untouched for longer than track_for is not taken on the first poll.
	if got := revisions(s.events()); len(got) != 1 || got[0] != sha(50) || s.events()[0].Push.Project != "example-app" {
		t.Fatalf("first poll %v", got)
	}
	if err := p.PollRepo(ctx, r); err != nil || len(s.events()) != 1 || fake.NotModified(repoPath+"/pulls") != 1 {
		t.Errorf("unchanged: %v, %d events", err, len(s.events()))
	}
	// New commits on #5; #2 was closed.
	pulls(sha(51))
	fake.JSON(repoPath+"/pulls/5/commits", []byte("["+commitJSON(sha(49), "a", "a@example.org", 1)+","+commitJSON(sha(51), "c", "c@example.org", 3)+"]"))
	if err := p.PollRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := revisions(s.events()); len(got) != 2 || got[1] != sha(51) {
		t.Errorf("after new commits %v", got)
	}
	st, _ := readState(stateFile(cfg.StateDir, r.FullName))
	if len(st.Pulls.Heads) != 1 || st.Pulls.Heads["5"] != sha(51) {
		t.Errorf("heads %v", st.Pulls.Heads)
	}
}

// TestRunPolls drives Run itself with polling only: the loop polls, and
// stops when the context ends.
func TestRunPolls(t *testing.T) {
	fake, s := ghtest.New(t), &sink{}
	serveActivity(fake, act{1, "push", "refs/heads/main", sha(1), sha(2)})
	serveCompare(fake, sha(1), sha(2), commitJSON(sha(2), "one", "a@example.org", 1))
	cfg, _ := json.Marshal(map[string]any{"state_dir": t.TempDir(), "api_url": fake.URL(), "repositories": repos(false, false),
		"interval": "50ms", "stats_interval": -1})
	src := New(plugintest.TestLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, cfg, s) }()
	deadline := time.Now().Add(10 * time.Second)
	for src.Stats().Polls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := revisions(s.events()); len(got) != 1 || got[0] != sha(2) {
		t.Errorf("pushes %v over %d polls", got, src.Stats().Polls.Load())
	}
	if fake.NotModified(repoPath+"/activity") < 1 {
		t.Error("later polls were not conditional")
	}
}
