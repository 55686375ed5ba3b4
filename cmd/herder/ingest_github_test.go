package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/plugins/github/ghtest"
)

func ghSHA(n int) string { return fmt.Sprintf("%040x", n) }

func ghCommit(sha, msg, email string, when time.Time) string {
	ts := when.UTC().Format(time.RFC3339)
	return fmt.Sprintf(`{"sha": %q, "commit": {"message": %q, "author": {"name": "Dev", "email": %q, "date": %q},
		"committer": {"name": "Dev", "email": %q, "date": %q}}}`, sha, msg, email, ts, email, ts)
}

// fakeGitHubRepo serves one repository's recent history: two pushes to
// main, one pull request and one workflow run on the second push.
func fakeGitHubRepo(t *testing.T) (*ghtest.Fake, time.Time) {
	f := ghtest.New(t)
	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	const repo = "/repos/example-org/example-app"
	f.JSON(repo+"/activity", fmt.Appendf(nil, `[
		{"id": 12, "before": %q, "after": %q, "ref": "refs/heads/main", "timestamp": %q, "activity_type": "push"},
		{"id": 11, "before": %q, "after": %q, "ref": "refs/heads/main", "timestamp": %q, "activity_type": "pr_merge"},
		{"id": 10, "before": %q, "after": %q, "ref": "refs/heads/main", "timestamp": %q, "activity_type": "push"}]`,
		ghSHA(3), ghSHA(4), at(2*time.Hour), ghSHA(2), ghSHA(3), at(5*time.Hour), ghSHA(1), ghSHA(2), at(30*24*time.Hour)))
	f.JSON(repo+"/compare/"+ghSHA(2)+"..."+ghSHA(3), []byte(`{"commits": [`+ghCommit(ghSHA(3), "Merge #7", "a@example.org", now.Add(-5*time.Hour))+`]}`))
	f.JSON(repo+"/compare/"+ghSHA(3)+"..."+ghSHA(4), []byte(`{"commits": [`+ghCommit(ghSHA(31), "one", "b@example.org", now.Add(-3*time.Hour))+
		`,`+ghCommit(ghSHA(4), "two", "b@example.org", now.Add(-2*time.Hour))+`]}`))
	f.JSON(repo+"/pulls", fmt.Appendf(nil, `[{"number": 8, "updated_at": %q, "head": {"sha": %q}, "base": {"ref": "main"}}]`, at(time.Hour), ghSHA(80)))
	f.JSON(repo+"/pulls/8/commits", []byte(`[`+ghCommit(ghSHA(80), "wip", "c@example.org", now.Add(-time.Hour))+`]`))
	f.JSON(repo+"/actions/runs", fmt.Appendf(nil, `{"total_count": 1, "workflow_runs": [{"id": 700, "name": "CI", "run_attempt": 1,
		"event": "push", "status": "completed", "conclusion": "failure", "head_branch": "main", "head_sha": %q,
		"created_at": %q, "updated_at": %q, "triggering_actor": {"login": "octo-dev"}}]}`, ghSHA(4), at(2*time.Hour), at(time.Hour)))
	f.JSON(repo+"/actions/runs/700/jobs", fmt.Appendf(nil, `{"total_count": 1, "jobs": [{"id": 7001, "run_id": 700, "run_attempt": 1,
		"workflow_name": "CI", "head_branch": "main", "head_sha": %q, "name": "test", "status": "completed", "conclusion": "failure",
		"created_at": %q, "started_at": %q, "completed_at": %q, "labels": ["ubuntu-latest"], "runner_name": "GitHub Actions 9"}]}`,
		ghSHA(4), at(2*time.Hour), at(2*time.Hour), at(time.Hour)))
	return f, now
}

func githubIngestConfig(t *testing.T, f *ghtest.Fake) (cfgPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath = writeConfig(t, fmt.Sprintf(`
data_dir = %q
storage {
  driver = "sqlite"
}
log {
  level = "warn"
}
allowed_hosts = [%q]
repository "example-app" {
  group                 = "development"
  dvcs_type             = "git"
  url                   = "https://github.com/example-org/example-app"
  branches              = ["main"]
  accepts_pull_requests = true
}
`, dir, f.Host()))
	return cfgPath, filepath.Join(dir, "herder.db")
}

// TestIngestGitHub: `herder ingest github` stores the pushes of the
// activity list since the date, the pull request and the run's job, which
// lands on its push; a second run changes nothing.
func TestIngestGitHub(t *testing.T) {
	f, now := fakeGitHubRepo(t)
	cfg, db := githubIngestConfig(t, f)
	since := now.Add(-3 * 24 * time.Hour).Format("2006-01-02")
	args := []string{"--config", cfg, "ingest", "github", "--repo", "example-org/example-app", "--since", since, "--api-url", f.URL()}
	code, out, errOut := runCaptured(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, "into example-app: 2 pushes, 1 pull requests, 1 jobs stored; 0 ignored, 0 failed") {
		t.Errorf("output: %s", out)
	}
	st := openTestStore(t, db)
	ctx := context.Background()
	counts, err := st.Counts(ctx)
	if err != nil || counts["push"] != 3 || counts["job"] != 1 {
		t.Fatalf("counts %v %v", counts, err)
	}
	jobs, err := st.JobsByGUID(ctx, []string{"github-actions/700/1/7001"})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v %v", jobs, err)
	}
	j := jobs[0]
	if j.State != "completed" || j.Result != "testfailed" || j.PushRevision != ghSHA(4) || j.RepositoryName != "example-app" ||
		j.MachinePlatform.OSName != "linux" || len(j.Logs) != 1 || j.Logs[0].URL != f.URL()+"/repos/example-org/example-app/actions/jobs/7001/logs" {
		t.Errorf("job %+v", j)
	}
	if code, _, errOut := runCaptured(t, args...); code != 0 {
		t.Fatalf("second run: %s", errOut)
	}
	if counts, _ := st.Counts(ctx); counts["push"] != 3 || counts["job"] != 1 {
		t.Errorf("after a second run: %v", counts)
	}
}

func TestIngestGitHubErrors(t *testing.T) {
	f, _ := fakeGitHubRepo(t)
	cfg, _ := githubIngestConfig(t, f)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ingest", "github", "--repo", "example-org/example-app"}, 2, "--since"},
		{[]string{"ingest", "github", "--repo", "example-app", "--since", "2024-01-01"}, 2, "owner/name"},
		{[]string{"ingest", "github", "--repo", "o/r", "--since", "yesterday"}, 2, "--since"},
		{[]string{"ingest", "github", "--repo", "someone/else", "--since", "2024-01-01", "--api-url", f.URL()}, 2, "no repository"},
		{[]string{"ingest", "github", "--repo", "example-org/example-app", "--since", "2024-01-01", "--herder-repo", "autoland"}, 2, "hg repository"},
		{[]string{"ingest", "github", "--repo", "example-org/example-app", "--since", "2024-01-01", "--api-url", "https://api.evil.example"}, 2, "allowed_hosts"},
	}
	for _, tc := range cases {
		code, _, errOut := runCapturedStderr(t, append([]string{"--config", cfg}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errOut, tc.code, tc.msg)
		}
	}
}
