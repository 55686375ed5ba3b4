package source

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/plugins/github/ghtest"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

func newBackfill(t *testing.T, fake *ghtest.Fake, clk *clock, since time.Time) *Backfill {
	t.Helper()
	bf, err := NewBackfill(BackfillOptions{Repo: "example-org/example-app", HerderRepo: "example-app",
		Branches: []string{"main", "release-*"}, AcceptsPullRequests: true, Since: since, APIURL: fake.URL(),
		Logger: plugintest.TestLogger(t), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	bf.sleep = func(_ context.Context, d time.Duration) error { clk.add(d); return nil }
	return bf
}

func TestBackfill(t *testing.T) {
	fake, clk := ghtest.New(t), newClock()
	fake.Pages(repoPath+"/activity",
		[]byte(`[{"id": 9, "before": "`+sha(3)+`", "after": "`+sha(4)+`", "ref": "refs/heads/main", "timestamp": "2024-09-10T08:00:00Z", "activity_type": "push"},
		         {"id": 8, "before": "`+sha(5)+`", "after": "`+sha(0)+`", "ref": "refs/heads/gone", "timestamp": "2024-09-09T08:00:00Z", "activity_type": "branch_deletion"}]`),
		[]byte(`[{"id": 7, "before": "`+sha(2)+`", "after": "`+sha(3)+`", "ref": "refs/heads/main", "timestamp": "2024-09-08T08:00:00Z", "activity_type": "pr_merge"},
		         {"id": 6, "before": "`+sha(1)+`", "after": "`+sha(2)+`", "ref": "refs/heads/main", "timestamp": "2024-09-01T08:00:00Z", "activity_type": "push"}]`))
	serveCompare(fake, sha(2), sha(3), commitJSON(sha(3), "merge #5", "a@example.org", 3))
	serveCompare(fake, sha(3), sha(4), commitJSON(sha(4), "four", "b@example.org", 4))
	// The first compare meets a secondary rate limit, which the backfill waits out.
	fake.Script(repoPath+"/compare/"+sha(2)+"..."+sha(3), ghtest.Answer{Status: 403, Header: map[string]string{"Retry-After": "60"},
		Body: `{"message": "You have exceeded a secondary rate limit."}`})
	fake.JSON(repoPath+"/pulls", []byte(`[
		{"number": 5, "updated_at": "2024-09-08T09:00:00Z", "head": {"sha": "`+sha(50)+`"}, "base": {"ref": "main"}},
		{"number": 1, "updated_at": "2024-08-01T09:00:00Z", "head": {"sha": "`+sha(10)+`"}, "base": {"ref": "main"}}]`))
	fake.JSON(repoPath+"/pulls/5/commits", []byte("["+commitJSON(sha(50), "fix", "c@example.org", 5)+"]"))
	serveRuns(fake, runJSON(500, "completed", "success", "2024-09-10T11:09:00Z"))
	serveJobs(fake, 500, jobJSON(1, 500, "lint", "completed", "success"))

	bf := newBackfill(t, fake, clk, time.Date(2024, 9, 8, 0, 0, 0, 0, time.UTC))
	plan, err := bf.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Two pushes (the deletion is no push, id 6 is before the date), one
	// pull request, one run (listed once per day, kept once); the activity
	// list reached the date, so no commit listing.
	if len(plan.Activities) != 2 || len(plan.Pulls) != 1 || len(plan.Runs) != 1 || len(plan.Commits) != 0 || plan.Total() != 4 {
		t.Fatalf("plan: %d activities, %d pulls, %d runs, %d commits", len(plan.Activities), len(plan.Pulls), len(plan.Runs), len(plan.Commits))
	}
	if q := fake.Queries(repoPath + "/actions/runs"); len(q) != 3 || !strings.Contains(q[0], "created=2024-09-08") || !strings.Contains(q[2], "created=2024-09-10") {
		t.Errorf("runs listed per day: %v", q)
	}
	var got []sdk.Event
	ticks := 0
	sum, err := bf.Run(context.Background(), plan, func(_ context.Context, evs []sdk.Event) error {
		got = append(got, evs...)
		return nil
	}, func() { ticks++ })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pushes != 2 || sum.PullRequests != 1 || sum.Jobs != 1 || len(sum.Failed) != 0 || ticks != 4 {
		t.Errorf("summary %+v, %d ticks", sum, ticks)
	}
	var kinds []string
	for _, e := range got {
		switch {
		case e.Push != nil:
			kinds = append(kinds, "push:"+e.Push.Revision[36:])
		case e.Job != nil:
			kinds = append(kinds, "job:"+e.Job.Job.JobGUID)
		}
	}
	if want := "push:0003 push:0004 push:0032 job:github-actions/500/1/1"; strings.Join(kinds, " ") != want {
		t.Errorf("events %v, want %s", kinds, want)
	}
}

func TestBackfillOlderThanActivity(t *testing.T) {
	fake, clk := ghtest.New(t), newClock()
	// The activity list ends after the date: history before its oldest
	// entry comes from the branch's commits, one push each, oldest first.
	fake.JSON(repoPath+"/activity", []byte(`[{"id": 9, "before": "`+sha(3)+`", "after": "`+sha(4)+`", "ref": "refs/heads/main",
		"timestamp": "2024-09-10T08:00:00Z", "activity_type": "push"}]`))
	serveCompare(fake, sha(3), sha(4), commitJSON(sha(4), "four", "b@example.org", 4))
	fake.JSON(repoPath+"/commits", []byte("["+commitJSON(sha(3), "three", "a@example.org", 3)+","+commitJSON(sha(2), "two", "a@example.org", 2)+"]"))
	bf := newBackfill(t, fake, clk, time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC))
	bf.opts.NoActions, bf.opts.NoPulls = true, true
	plan, err := bf.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Commits) != 2 || plan.Commits[0].Commit.SHA != sha(2) {
		t.Fatalf("commits %+v", plan.Commits)
	}
	if q := fake.Queries(repoPath + "/commits"); len(q) != 1 || !strings.Contains(q[0], "sha=main") ||
		!strings.Contains(q[0], "until=2024-09-10T08%3A00%3A00Z") || !strings.Contains(q[0], "since=2024-09-01T00%3A00%3A00Z") {
		t.Errorf("commit listing %v", q)
	}
	var revs []string
	if _, err := bf.Run(context.Background(), plan, func(_ context.Context, evs []sdk.Event) error {
		for _, e := range evs {
			revs = append(revs, e.Push.Revision[38:]+fmt.Sprint(len(e.Push.Revisions)))
		}
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Join(revs, " ") != "021 031 041" {
		t.Errorf("pushes %v (last two hex digits and commit count)", revs)
	}
}
