// Package storetest is the conformance suite every store.Store backend
// passes: the same cases run on SQLite and on MariaDB.
package storetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
)

// Factory opens a fresh, empty store for one test.
type Factory func(t *testing.T) store.Store

// Run runs the whole suite against the backend the factory opens.
func Run(t *testing.T, open Factory) {
	cases := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"FailureClassifications", testFailureClassifications},
		{"Repositories", testRepositories},
		{"Pushes", testPushes},
		{"StateGuard", testStateGuard},
		{"AnyOrderAnyRepeats", testAnyOrderAnyRepeats},
		{"LogsAndMetadataOnce", testLogsAndMetadataOnce},
		{"Superseded", testSuperseded},
		{"LegacyRetryGUID", testLegacyRetryGUID},
		{"MissingPush", testMissingPush},
		{"RawEvents", testRawEvents},
		{"TreeherderJobFixtures", testTreeherderJobFixtures},
		{"Tokens", testTokens},
		{"APIReads", testAPIReads},
		{"LogResults", testLogResults},
		{"LogLeases", testLogLeases},
		{"ConcurrentWriters", testConcurrentWriters},
		{"BugsAndCycling", testBugsAndCycling},
		{"Writes", testWrites},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			if err := s.SeedFailureClassifications(ctx); err != nil {
				t.Fatalf("seed: %v", err)
			}
			c.fn(t, s)
		})
	}
}

var ctx = context.Background()

func testMigrateTwice(t *testing.T, s store.Store) {
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := s.SeedFailureClassifications(ctx); err != nil {
		t.Fatalf("second seed: %v", err)
	}
}

func testFailureClassifications(t *testing.T, s store.Store) {
	got, err := s.FailureClassifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, model.FailureClassifications) {
		t.Fatalf("classifications = %v, want %v", got, model.FailureClassifications)
	}
}

// seedRepos stores mozilla-central (id 1), try (id 4) and autoland (id 77).
func seedRepos(t *testing.T, s store.Store) {
	t.Helper()
	dev := model.RepositoryGroup{ID: 1, Name: "development", Description: "landing"}
	try := model.RepositoryGroup{ID: 3, Name: "try", Description: "try pushes"}
	repos := []model.Repository{
		{ID: 1, Name: "mozilla-central", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/mozilla-central", Codebase: "gecko", ActiveStatus: "active"},
		{ID: 4, Name: "try", Group: try, DVCSType: "hg", URL: "https://hg.mozilla.org/try", IsTryRepo: true, ActiveStatus: "active"},
		{ID: 77, Name: "autoland", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/integration/autoland", ActiveStatus: "active"},
		{Name: "old-repo", Group: dev, DVCSType: "git", URL: "https://example.com/old", ActiveStatus: "onhold"},
	}
	if err := s.UpsertRepositories(ctx, []model.RepositoryGroup{dev, try}, repos); err != nil {
		t.Fatalf("upsert repositories: %v", err)
	}
}

func repoByName(t *testing.T, s store.Store, name string) model.Repository {
	t.Helper()
	list, err := s.Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no repository %s", name)
	return model.Repository{}
}

func testRepositories(t *testing.T, s store.Store) {
	seedRepos(t, s)
	list, err := s.Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, r := range list {
		ids[r.Name] = r.ID
	}
	if ids["mozilla-central"] != 1 || ids["try"] != 4 || ids["autoland"] != 77 {
		t.Fatalf("seed ids not kept: %v", ids)
	}
	if ids["old-repo"] <= 77 {
		t.Fatalf("a repository without id must get a fresh one, got %d", ids["old-repo"])
	}
	// Upserting again updates in place, branches included.
	r := repoByName(t, s, "autoland")
	r.Branches = []string{"main", "releases/*"}
	r.Description = "integration"
	if err := s.UpsertRepositories(ctx, nil, []model.Repository{r}); err != nil {
		t.Fatal(err)
	}
	again := repoByName(t, s, "autoland")
	if again.ID != 77 || again.Description != "integration" || !reflect.DeepEqual(again.Branches, []string{"main", "releases/*"}) {
		t.Fatalf("autoland after update = %+v", again)
	}
	if again.Group.Name != "development" {
		t.Fatalf("group = %q", again.Group.Name)
	}
	if got := repoByName(t, s, "try"); !got.IsTryRepo {
		t.Fatal("is_try_repo lost")
	}
	// A repository that wants an id another one holds gets a fresh id.
	clash := model.Repository{ID: 4, Name: "clash", Group: model.RepositoryGroup{Name: "development"}, DVCSType: "git", URL: "u"}
	if err := s.UpsertRepositories(ctx, nil, []model.Repository{clash}); err != nil {
		t.Fatal(err)
	}
	if got := repoByName(t, s, "clash"); got.ID == 4 {
		t.Fatal("clash took try's id")
	}
}

func push(repoID int64, rev string, when int64, commits ...string) model.Push {
	p := model.Push{RepositoryID: repoID, Revision: rev, Author: "dev@example.com", Time: when}
	for _, c := range commits {
		p.Commits = append(p.Commits, model.Commit{Revision: c, Author: "Dev <dev@example.com>", Comments: "Bug 1 - " + c})
	}
	return p
}

func rev(n int) string { return fmt.Sprintf("%040x", n) }

func testPushes(t *testing.T, s store.Store) {
	seedRepos(t, s)
	p1 := push(1, rev(1), 1000, rev(11), rev(1))
	p2 := push(1, rev(2), 2000, rev(2))
	batch := []model.Push{p1, p2}
	if err := s.StorePushes(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if batch[0].ID == 0 || batch[1].ID == 0 || batch[0].ID == batch[1].ID {
		t.Fatalf("ids not filled: %d %d", batch[0].ID, batch[1].ID)
	}
	// Redelivery with a new author updates; commits are not doubled.
	p1.Author = "other@example.com"
	again := []model.Push{p1}
	if err := s.StorePushes(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again[0].ID != batch[0].ID {
		t.Fatalf("redelivered push got a new id")
	}
	list, err := s.Pushes(ctx, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Revision != rev(2) || list[1].Author != "other@example.com" || len(list[1].Commits) != 2 {
		t.Fatalf("pushes = %+v", list)
	}
	ids, err := s.PushIDs(ctx, 1, []string{rev(2), rev(1)[:12], rev(99)})
	if err != nil {
		t.Fatal(err)
	}
	if ids[rev(2)] != batch[1].ID || ids[rev(1)[:12]] != batch[0].ID || len(ids) != 2 {
		t.Fatalf("PushIDs = %v", ids)
	}
	// LIKE wildcards in a short revision are literal.
	if ids, _ := s.PushIDs(ctx, 1, []string{"%"}); len(ids) != 0 {
		t.Fatalf("a %% revision matched %v", ids)
	}
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c["push"] != 2 || c["commit"] != 3 {
		t.Fatalf("counts = %v", c)
	}
}

// datum builds a Taskcluster-style job datum.
func datum(guid, state, result string) sdk.JobDatum {
	return sdk.JobDatum{
		Project:  "mozilla-central",
		Revision: rev(1),
		Job: sdk.Job{
			JobGUID: guid, Name: "test-linux64/opt-mochitest-1", JobSymbol: "M1", GroupName: "Mochitests", GroupSymbol: "M",
			ProductName: "firefox", Reason: "scheduled", Who: "dev@example.com", State: state, Result: result, Tier: 1,
			BuildSystemType: "taskcluster", Machine: "worker-1",
			BuildPlatform:    sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			MachinePlatform:  sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			OptionCollection: map[string]bool{"opt": true},
			SubmitTimestamp:  1000, TaskclusterTaskID: "A35mWTRuQmyj88yMnIF0fA",
		},
	}
}

func newPipeline(t *testing.T, s store.Store) *ingest.Pipeline {
	t.Helper()
	seedRepos(t, s)
	if err := s.StorePushes(ctx, []model.Push{push(1, rev(1), 1000, rev(1))}); err != nil {
		t.Fatal(err)
	}
	return ingest.NewPipeline(s, nil, nil)
}

func storeData(t *testing.T, p *ingest.Pipeline, data ...sdk.JobDatum) {
	t.Helper()
	if err := p.StoreJobData(ctx, "test", data); err != nil {
		t.Fatalf("store jobs: %v", err)
	}
}

func job(t *testing.T, s store.Store, guid string) model.Job {
	t.Helper()
	jobs, err := s.JobsByGUID(ctx, []string{guid})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 {
		t.Fatalf("%d jobs with guid %s", len(jobs), guid)
	}
	return jobs[0]
}

func testStateGuard(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	states := []string{sdk.StateUnscheduled, sdk.StatePending, sdk.StateRunning, sdk.StateCompleted}
	// Every (stored, incoming) pair, each in its own batch, as Treeherder sees them.
	for i, stored := range states {
		for k, incoming := range states {
			guid := fmt.Sprintf("guard-%d-%d/0", i, k)
			storeData(t, p, datum(guid, stored, "unknown"))
			next := datum(guid, incoming, "success")
			next.Job.Who = "second"
			storeData(t, p, next)
			got := job(t, s, guid)
			wantSecond := !(stored == sdk.StateCompleted ||
				incoming == sdk.StatePending && stored == sdk.StateRunning ||
				incoming == sdk.StateUnscheduled && (stored == sdk.StatePending || stored == sdk.StateRunning))
			if wantSecond != (got.Who == "second") || (wantSecond && got.State != incoming) || (!wantSecond && got.State != stored) {
				t.Errorf("stored %s then %s: got state %s who %s (update expected: %v)", stored, incoming, got.State, got.Who, wantSecond)
			}
		}
	}
}

// testAnyOrderAnyRepeats feeds the lifecycle messages of many jobs shuffled,
// with duplicates, in batches of random sizes, and compares the rows to
// those of an in-order run.
func testAnyOrderAnyRepeats(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	var msgs []sdk.JobDatum
	var guids []string
	for i := 0; i < 40; i++ {
		guid := fmt.Sprintf("life-%d/0", i)
		guids = append(guids, guid)
		for _, st := range []string{sdk.StateUnscheduled, sdk.StatePending, sdk.StateRunning, sdk.StateCompleted} {
			d := datum(guid, st, "unknown")
			if st == sdk.StateCompleted {
				d.Job.Result = []string{"success", "testfailed", "busted"}[i%3]
				d.Job.EndTimestamp = 3000
				d.Job.LogReferences = []sdk.LogReference{{Name: "live_backing_log", URL: "https://example.com/" + guid + "/log"}}
			}
			if st == sdk.StateRunning {
				d.Job.StartTimestamp = 2000
			}
			msgs = append(msgs, d)
		}
	}
	snapshot := func() []model.Job {
		jobs, err := s.JobsByGUID(ctx, guids)
		if err != nil {
			t.Fatal(err)
		}
		for i := range jobs {
			jobs[i].ID, jobs[i].LastModified = 0, 0
			for k := range jobs[i].Logs {
				jobs[i].Logs[k].ID, jobs[i].Logs[k].JobID = 0, 0
			}
		}
		sort.Slice(jobs, func(a, b int) bool { return jobs[a].GUID < jobs[b].GUID })
		return jobs
	}
	storeData(t, p, msgs...)
	want := snapshot()
	for _, j := range want {
		if j.State != sdk.StateCompleted || j.EndTime != 3000 || len(j.Logs) != 1 {
			t.Fatalf("in-order run left %+v", j)
		}
	}
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 3; round++ {
		shuffled := append(append([]sdk.JobDatum{}, msgs...), msgs[:len(msgs)/2]...)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		for len(shuffled) > 0 {
			n := min(1+rng.Intn(25), len(shuffled))
			storeData(t, p, shuffled[:n]...)
			shuffled = shuffled[n:]
		}
		if got := snapshot(); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: rows differ from the in-order run\n got %+v\nwant %+v", round, got[0], want[0])
		}
	}
	c, _ := s.Counts(ctx)
	if c["job"] != 40 || c["job_log"] != 40 || c["taskcluster_metadata"] != 40 {
		t.Fatalf("counts after repeats = %v", c)
	}
}

func testLogsAndMetadataOnce(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	d := datum("logs/0", sdk.StateCompleted, "testfailed")
	d.Job.TaskclusterRetryID = 0
	d.Job.LogReferences = []sdk.LogReference{
		{Name: "live_backing_log", URL: "https://example.com/live_backing.log", ParseStatus: "pending"},
		{Name: "errorsummary_json", URL: "https://example.com/x_errorsummary.log"},
	}
	storeData(t, p, d)
	storeData(t, p, d, d)
	got := job(t, s, "logs/0")
	if len(got.Logs) != 2 || got.Logs[0].Status != model.LogPending {
		t.Fatalf("logs = %+v", got.Logs)
	}
	if got.TaskID != "A35mWTRuQmyj88yMnIF0fA" || got.RetryID != 0 {
		t.Fatalf("task metadata = %q/%d", got.TaskID, got.RetryID)
	}
	if got.OptionCollection != "102210fe594ee9b33d82058545b1ed14f4c8206e" {
		t.Fatalf("option collection hash = %s", got.OptionCollection)
	}
	if got.FailureClass != model.FCNotClassified || got.Tier != 1 || got.BuildSystemType != "taskcluster" {
		t.Fatalf("defaults = fc %d tier %d bst %s", got.FailureClass, got.Tier, got.BuildSystemType)
	}
	// A reference data signature is stored once and named by its hash.
	if got.ReferenceName != got.Signature || len(got.Signature) != 40 {
		t.Fatalf("signature %q named %q", got.Signature, got.ReferenceName)
	}
}

func testSuperseded(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	storeData(t, p, datum("old/0", sdk.StateRunning, "unknown"))
	next := datum("new/0", sdk.StatePending, "unknown")
	next.Superseded = []string{"old/0"}
	storeData(t, p, next)
	if got := job(t, s, "old/0"); got.State != sdk.StateCompleted || got.Result != sdk.ResultSuperseded {
		t.Fatalf("superseded job = %s/%s", got.State, got.Result)
	}
}

func testLegacyRetryGUID(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	storeData(t, p, datum("buildbot-guid", sdk.StateRunning, "unknown"))
	retry := datum("buildbot-guid_12345", sdk.StateCompleted, "retry")
	storeData(t, p, retry)
	jobs, err := s.JobsByGUID(ctx, []string{"buildbot-guid", "buildbot-guid_12345"})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].GUID != "buildbot-guid_12345" || jobs[0].Result != "retry" {
		t.Fatalf("retry guid must update the root job in place: %+v", jobs)
	}
}

func testMissingPush(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	// Jobs that arrive before their push (any state, repeated) are parked,
	// Accept succeeds, and they appear once the push is stored.
	pending := datum("orphan/0", sdk.StatePending, "unknown")
	pending.Revision = rev(42)
	completed := datum("orphan/0", sdk.StateCompleted, "testfailed")
	completed.Revision = rev(42)
	storeData(t, p, completed, datum("fine/0", sdk.StatePending, "unknown"), pending, completed)
	job(t, s, "fine/0") // the job whose push exists was stored at once
	if jobs, _ := s.JobsByGUID(ctx, []string{"orphan/0"}); len(jobs) != 0 {
		t.Fatalf("job stored before its push: %+v", jobs)
	}
	if revs, err := s.ParkedRevisions(ctx); err != nil || len(revs) != 1 || revs[0].Revision != rev(42) {
		t.Fatalf("parked revisions = %v, %v", revs, err)
	}
	pd := sdk.PushDatum{Project: "mozilla-central", Revision: rev(42), Author: "a@example.com", PushTimestamp: 5000}
	if err := p.Accept(ctx, "pulse", []sdk.Event{{ID: "push-42", Push: &pd}}); err != nil {
		t.Fatal(err)
	}
	if got := job(t, s, "orphan/0"); got.State != sdk.StateCompleted || got.Result != "testfailed" {
		t.Fatalf("unparked job = %s/%s, want the completed message to win", got.State, got.Result)
	}
	if revs, _ := s.ParkedRevisions(ctx); len(revs) != 0 {
		t.Fatalf("parked rows left behind: %v", revs)
	}
	// A push stored behind the pipeline's back is found by the sweep.
	late := datum("late/0", sdk.StateRunning, "unknown")
	late.Revision = rev(43)
	storeData(t, p, late)
	if err := s.StorePushes(ctx, []model.Push{push(1, rev(43), 6000)}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	job(t, s, "late/0")
	// Unknown and inactive repositories are refused, not parked.
	unknown := datum("nowhere/0", sdk.StatePending, "unknown")
	unknown.Project = "no-such-repo"
	inactive := datum("onhold/0", sdk.StatePending, "unknown")
	inactive.Project = "old-repo"
	storeData(t, p, unknown, inactive)
	if jobs, _ := s.JobsByGUID(ctx, []string{"nowhere/0", "onhold/0"}); len(jobs) != 0 {
		t.Fatalf("jobs of unknown repositories stored: %+v", jobs)
	}
	if revs, _ := s.ParkedRevisions(ctx); len(revs) != 0 {
		t.Fatalf("refused jobs were parked: %v", revs)
	}
}

func testRawEvents(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	d := datum("raw/0", sdk.StatePending, "unknown")
	pd := sdk.PushDatum{Project: "autoland", Revision: rev(7), Author: "a@example.com", PushTimestamp: 10,
		Revisions: []sdk.Revision{{Revision: rev(7), Author: "A <a@example.com>", Comment: "c"}}}
	events := []sdk.Event{
		{ID: "m1", Push: &pd, Raw: []byte(`{"push":1}`)},
		{ID: "m2", Job: &d, Raw: []byte(`{"job":1}`)},
		{ID: "bad"},
	}
	if err := p.Accept(ctx, "pulse", events); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Counts(ctx)
	if c["raw_event"] != 2 {
		t.Fatalf("raw events = %d", c["raw_event"])
	}
	if list, _ := s.Pushes(ctx, 77, 5); len(list) != 1 || list[0].Revision != rev(7) {
		t.Fatalf("push through Accept: %+v", list)
	}
	job(t, s, "raw/0")
}

// testTreeherderJobFixtures loads Treeherder's store-format sample jobs
// (fixtures/job_data.txt) on the pushes of fixtures/push_data.json twice, and
// checks the rows and hashes.
func testTreeherderJobFixtures(t *testing.T, s store.Store) {
	dir := testenv.SharedData(t)
	seedRepos(t, s)
	var pushes []struct {
		Revision      string `json:"revision"`
		Author        string `json:"author"`
		PushTimestamp int64  `json:"push_timestamp"`
		Revisions     []struct {
			Revision, Author, Comment string
		} `json:"revisions"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "fixtures", "push_data.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &pushes); err != nil {
		t.Fatal(err)
	}
	var ps []model.Push
	for _, p := range pushes {
		mp := model.Push{RepositoryID: 1, Revision: p.Revision, Author: p.Author, Time: p.PushTimestamp}
		for _, c := range p.Revisions {
			mp.Commits = append(mp.Commits, model.Commit{Revision: c.Revision, Author: c.Author, Comments: c.Comment})
		}
		ps = append(ps, mp)
	}
	if err := s.StorePushes(ctx, ps); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "fixtures", "job_data.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var data []sdk.JobDatum
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var d sdk.JobDatum
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("job_data.txt: %v", err)
		}
		data = append(data, d)
	}
	p := ingest.NewPipeline(s, nil, nil)
	storeData(t, p, data...)
	storeData(t, p, data...)
	guids := make([]string, len(data))
	for i, d := range data {
		guids[i] = d.Job.JobGUID
	}
	jobs, err := s.JobsByGUID(ctx, guids)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(data) || len(data) != 122 {
		t.Fatalf("stored %d of %d jobs (fixture has 122)", len(jobs), len(data))
	}
	byGUID := map[string]model.Job{}
	for _, j := range jobs {
		byGUID[j.GUID] = j
	}
	for _, d := range data {
		j := byGUID[d.Job.JobGUID]
		if j.State != d.Job.State || j.Result != d.Job.Result || j.PushRevision != d.Revision {
			t.Errorf("%s: state/result/push = %s/%s/%s", j.GUID, j.State, j.Result, j.PushRevision)
		}
		if j.ReferenceName != d.Job.ReferenceDataName {
			t.Errorf("%s: reference data name %q, want %q", j.GUID, j.ReferenceName, d.Job.ReferenceDataName)
		}
		if j.BuildSystemType != "buildbot" {
			t.Errorf("%s: build system type %q, want Treeherder's default buildbot", j.GUID, j.BuildSystemType)
		}
		if d.Job.OptionCollection["debug"] && j.OptionCollection != "32faaecac742100f7753f0c1d0aa0add01b4046b" {
			t.Errorf("%s: option hash %s", j.GUID, j.OptionCollection)
		}
		if len(j.Logs) != len(d.Job.LogReferences) {
			t.Errorf("%s: %d logs, want %d", j.GUID, len(j.Logs), len(d.Job.LogReferences))
		}
	}
}

func testTokens(t *testing.T, s store.Store) {
	u, err := s.EnsureUser(ctx, "sheriff@example.com", "sheriff@example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.EnsureUser(ctx, "sheriff@example.com", "", true)
	if err != nil || again.ID != u.ID || !again.IsStaff {
		t.Fatalf("EnsureUser again = %+v, %v", again, err)
	}
	id, err := s.CreateToken(ctx, u.ID, "ci", model.RoleAdmin, strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.TokenByHash(ctx, strings.Repeat("a", 64))
	if err != nil || tok.ID != id || tok.Role != model.RoleAdmin || tok.User.Username != "sheriff@example.com" {
		t.Fatalf("TokenByHash = %+v, %v", tok, err)
	}
	if _, err := s.TokenByHash(ctx, strings.Repeat("b", 64)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	if err := s.RevokeToken(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, strings.Repeat("a", 64)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token still found: %v", err)
	}
	if err := s.RevokeToken(ctx, id+100); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking a missing token: %v", err)
	}
	list, err := s.Tokens(ctx)
	if err != nil || len(list) != 1 || !list[0].Revoked {
		t.Fatalf("Tokens = %+v, %v", list, err)
	}
}
