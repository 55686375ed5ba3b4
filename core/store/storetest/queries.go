package storetest

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

// rawDB is implemented by stores that expose their connection pool; the
// API read cases use it to write the rows no store method writes yet
// (notes, bug links, error lines, performance data).
type rawDB interface{ DB() *sql.DB }

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// Revisions of the API read cases' pushes, distinct from their first letter.
var apiRevs = map[int]string{1: strings.Repeat("a", 40), 2: strings.Repeat("b", 40), 3: strings.Repeat("c", 40)}

// apiDatum is a job datum on push apiRevs[n] of mozilla-central.
func apiDatum(guid string, push int, name, symbol, state, result string, tier int) sdk.JobDatum {
	d := datum(guid, state, result)
	d.Revision = apiRevs[push]
	d.Job.Name, d.Job.JobSymbol, d.Job.Tier = name, symbol, tier
	d.Job.TaskclusterTaskID = ""
	return d
}

func ids(jobs []store.JobRecord) []int64 {
	out := make([]int64, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func queryJobs(t *testing.T, s store.Store, q store.JobQuery) []store.JobRecord {
	t.Helper()
	jobs, err := s.QueryJobs(ctx, q)
	if err != nil {
		t.Fatalf("QueryJobs(%+v): %v", q, err)
	}
	return jobs
}

func cond(f store.JobField, op store.Op, vals ...any) store.JobCond {
	return store.JobCond{Field: f, Op: op, Values: vals}
}

// testAPIReads covers the API read methods: filters, resolution of
// reference data, push lists and status counts, and the annotation tables.
func testAPIReads(t *testing.T, s store.Store) {
	seedRepos(t, s)
	var commits []string
	for i := 0; i < 25; i++ {
		commits = append(commits, fmt.Sprintf("%040x", 1000+i))
	}
	pushes := []model.Push{
		push(1, apiRevs[1], 1000, apiRevs[1]),
		push(1, apiRevs[2], 2000, commits...),
		push(77, apiRevs[3], 3000, apiRevs[3]),
	}
	pushes[1].Author = "Other@Example.com"
	if err := s.StorePushes(ctx, pushes); err != nil {
		t.Fatal(err)
	}
	p := ingest.NewPipeline(s, nil, nil)
	build := apiDatum("b/0", 1, "build-linux64/debug", "B", sdk.StateCompleted, sdk.ResultBusted, 1)
	build.Job.OptionCollection = map[string]bool{"debug": true}
	build.Job.TaskclusterTaskID, build.Job.TaskclusterRetryID = "AAAAAAAAAAAAAAAAAAAAAA", 2
	build.Job.SubmitTimestamp, build.Job.StartTimestamp, build.Job.EndTimestamp = 100, 200, 350
	build.Job.LogReferences = []sdk.LogReference{{Name: "live_backing_log", URL: "https://example.com/b.log", ParseStatus: "parsed"}}
	test1 := apiDatum("t1/0", 1, "test-linux64/opt-mochitest-1", "M1", sdk.StateCompleted, sdk.ResultTestFailed, 2)
	test2 := apiDatum("t2/0", 2, "test-linux64/opt-mochitest-1", "M1", sdk.StateCompleted, sdk.ResultSuccess, 1)
	pending := apiDatum("p/0", 2, "test-linux64/opt-mochitest-2", "M2", sdk.StatePending, sdk.ResultUnknown, 3)
	running := apiDatum("r/0", 2, "test-linux64/opt-mochitest-2", "M2", sdk.StateRunning, sdk.ResultUnknown, 1)
	other := apiDatum("o/0", 3, "test-linux64/opt-mochitest-1", "M1", sdk.StateCompleted, sdk.ResultSuccess, 1)
	other.Project = "autoland"
	storeData(t, p, build, test1, test2, pending, running, other)

	all := queryJobs(t, s, store.JobQuery{})
	if len(all) != 6 {
		t.Fatalf("%d jobs", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("jobs not in id order: %v", ids(all))
		}
	}
	byGUID := map[string]store.JobRecord{}
	for _, j := range all {
		byGUID[j.GUID] = j
	}
	b := byGUID["b/0"]
	if b.JobType.Name != "build-linux64/debug" || b.JobType.Symbol != "B" || b.JobGroup.Name != "Mochitests" ||
		b.MachinePlatform.Platform != "linux64" || b.BuildPlatform.OSName != "linux" || b.Machine != "worker-1" ||
		b.Product != "firefox" || b.RepositoryName != "mozilla-central" || b.PushRevision != apiRevs[1] ||
		b.PlatformOption != "debug" || len(b.Signature) != 40 || b.BuildSystemType != "taskcluster" ||
		!b.HasTaskMetadata || b.TaskID != "AAAAAAAAAAAAAAAAAAAAAA" || b.RetryID != 2 || b.JobTypeID == 0 ||
		b.JobGroupID == 0 || b.BuildPlatformID == 0 || b.SubmitTime != 100 || b.EndTime != 350 || b.LastModified == 0 {
		t.Fatalf("build job = %+v", b)
	}
	if j := byGUID["t1/0"]; j.HasTaskMetadata || j.PlatformOption != "opt" || j.Tier != 2 {
		t.Fatalf("test job = %+v", j)
	}

	// Filters.
	cases := []struct {
		name string
		q    store.JobQuery
		want []string
	}{
		{"repository", store.JobQuery{RepositoryID: 77}, []string{"o/0"}},
		{"push", store.JobQuery{Conds: []store.JobCond{cond(store.JobPushID, store.OpEq, pushes[1].ID)}}, []string{"t2/0", "p/0", "r/0"}},
		{"push in", store.JobQuery{Conds: []store.JobCond{cond(store.JobPushID, store.OpIn, pushes[0].ID, pushes[2].ID)}}, []string{"b/0", "t1/0", "o/0"}},
		{"tier in", store.JobQuery{Conds: []store.JobCond{cond(store.JobTier, store.OpIn, int64(2), int64(3))}}, []string{"t1/0", "p/0"}},
		{"tier lt", store.JobQuery{Conds: []store.JobCond{cond(store.JobTier, store.OpLt, int64(2))}}, []string{"b/0", "t2/0", "r/0", "o/0"}},
		{"result", store.JobQuery{Conds: []store.JobCond{cond(store.JobResult, store.OpEq, "success")}}, []string{"t2/0", "o/0"}},
		{"result ne", store.JobQuery{RepositoryID: 1, Conds: []store.JobCond{cond(store.JobResult, store.OpNe, "unknown")}}, []string{"b/0", "t1/0", "t2/0"}},
		{"state", store.JobQuery{Conds: []store.JobCond{cond(store.JobState, store.OpEq, "running")}}, []string{"r/0"}},
		{"job type name", store.JobQuery{Conds: []store.JobCond{cond(store.JobTypeName, store.OpEq, "test-linux64/opt-mochitest-2")}}, []string{"p/0", "r/0"}},
		{"job type symbol", store.JobQuery{Conds: []store.JobCond{cond(store.JobTypeSymbol, store.OpEq, "B")}}, []string{"b/0"}},
		{"group symbol", store.JobQuery{RepositoryID: 77, Conds: []store.JobCond{cond(store.JobGroupSymbol, store.OpEq, "M")}}, []string{"o/0"}},
		{"platform", store.JobQuery{Conds: []store.JobCond{cond(store.JobPlatform, store.OpEq, "nope")}}, nil},
		{"machine", store.JobQuery{RepositoryID: 77, Conds: []store.JobCond{cond(store.JobMachineName, store.OpEq, "worker-1")}}, []string{"o/0"}},
		{"build os", store.JobQuery{RepositoryID: 77, Conds: []store.JobCond{cond(store.JobBuildOS, store.OpEq, "linux")}}, []string{"o/0"}},
		{"task id", store.JobQuery{Conds: []store.JobCond{cond(store.JobTaskID, store.OpEq, "AAAAAAAAAAAAAAAAAAAAAA")}}, []string{"b/0"}},
		{"retry id", store.JobQuery{Conds: []store.JobCond{cond(store.JobRetryID, store.OpEq, int64(2))}}, []string{"b/0"}},
		{"guid in", store.JobQuery{Conds: []store.JobCond{cond(store.JobGUID, store.OpIn, "p/0", "nope")}}, []string{"p/0"}},
		{"options", store.JobQuery{Conds: []store.JobCond{cond(store.JobOptionCollectionHash, store.OpEq, b.OptionCollection)}}, []string{"b/0"}},
		{"signature", store.JobQuery{Conds: []store.JobCond{cond(store.JobSignature, store.OpEq, b.Signature)}}, []string{"b/0"}},
		{"build system", store.JobQuery{RepositoryID: 77, Conds: []store.JobCond{cond(store.JobBuildSystemType, store.OpEq, "taskcluster")}}, []string{"o/0"}},
		{"submit time", store.JobQuery{Conds: []store.JobCond{cond(store.JobSubmitTime, store.OpLt, int64(1000))}}, []string{"b/0"}},
		{"end time", store.JobQuery{Conds: []store.JobCond{cond(store.JobEndTime, store.OpGte, int64(350))}}, []string{"b/0"}},
		{"empty in", store.JobQuery{Conds: []store.JobCond{cond(store.JobID, store.OpIn)}}, nil},
		{"classification", store.JobQuery{RepositoryID: 77, Conds: []store.JobCond{cond(store.JobFailureClassificationID, store.OpEq, int64(1))}}, []string{"o/0"}},
		{"paged", store.JobQuery{RepositoryID: 1, Offset: 1, Limit: 2}, []string{"t1/0", "t2/0"}},
		{"similar order", store.JobQuery{RepositoryID: 1, Order: store.OrderNewestPush,
			Conds: []store.JobCond{cond(store.JobTypeID, store.OpEq, byGUID["t1/0"].JobTypeID)}}, []string{"t2/0", "t1/0"}},
	}
	for _, c := range cases {
		got := queryJobs(t, s, c.q)
		var guids []string
		for _, j := range got {
			guids = append(guids, j.GUID)
		}
		if !reflect.DeepEqual(guids, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, guids, c.want)
		}
		c.q.Offset, c.q.Limit = 0, 0
		if c.name != "paged" {
			n, err := s.CountJobs(ctx, c.q)
			if err != nil || n != int64(len(c.want)) {
				t.Errorf("%s: CountJobs = %d, %v; want %d", c.name, n, err, len(c.want))
			}
		}
	}
	if _, err := s.QueryJobs(ctx, store.JobQuery{Conds: []store.JobCond{cond(store.JobTypeName, store.OpLt, "x")}}); err == nil {
		t.Error("an ordering comparison on a name must be refused")
	}

	// last_modified moves forward when a job changes, for polling.
	before := b.LastModified
	running2 := running
	running2.Job.State, running2.Job.Result = sdk.StateCompleted, sdk.ResultSuccess
	storeData(t, p, running2)
	changed := queryJobs(t, s, store.JobQuery{Conds: []store.JobCond{cond(store.JobLastModified, store.OpGt, before)}})
	if len(changed) != 1 || changed[0].GUID != "r/0" || changed[0].State != sdk.StateCompleted {
		t.Fatalf("jobs changed since %d: %+v", before, changed)
	}

	// Detail with logs; repository scoping; missing rows.
	got, err := s.JobByID(ctx, 1, b.ID)
	if err != nil || len(got.Logs) != 1 || got.Logs[0].Status != model.LogParsed || got.Logs[0].URL != "https://example.com/b.log" {
		t.Fatalf("JobByID = %+v, %v", got, err)
	}
	if _, err := s.JobByID(ctx, 77, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("job of another repository: %v", err)
	}
	logs, err := s.JobLogs(ctx, 1, []int64{b.ID, byGUID["o/0"].ID})
	if err != nil || len(logs) != 1 || logs[0].JobID != b.ID {
		t.Fatalf("JobLogs = %+v, %v", logs, err)
	}
	if l, err := s.JobLogByID(ctx, 1, logs[0].ID); err != nil || l.Name != "live_backing_log" {
		t.Fatalf("JobLogByID = %+v, %v", l, err)
	}
	if _, err := s.JobLogByID(ctx, 77, logs[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("log of another repository: %v", err)
	}
	tcm, err := s.TaskclusterMetadata(ctx, []int64{b.ID, byGUID["t1/0"].ID})
	if err != nil || len(tcm) != 1 || tcm[0] != (store.TaskclusterMetadata{JobID: b.ID, TaskID: "AAAAAAAAAAAAAAAAAAAAAA", RetryID: 2}) {
		t.Fatalf("TaskclusterMetadata = %+v, %v", tcm, err)
	}
	ocs, err := s.OptionCollections(ctx)
	if err != nil || len(ocs) != 2 {
		t.Fatalf("OptionCollections = %+v, %v", ocs, err)
	}
	for _, oc := range ocs {
		if len(oc.Options) != 1 || model.OptionCollectionHash(oc.Options) != oc.Hash {
			t.Errorf("option collection %+v", oc)
		}
	}
	mps, err := s.MachinePlatforms(ctx)
	if err != nil || len(mps) != 1 || mps[0].Platform.Platform != "linux64" {
		t.Fatalf("MachinePlatforms = %+v, %v", mps, err)
	}

	// Pushes.
	list, err := s.QueryPushes(ctx, store.PushQuery{RepositoryID: 1, Limit: 10})
	if err != nil || len(list) != 2 || list[0].ID != pushes[1].ID {
		t.Fatalf("QueryPushes = %+v, %v", list, err)
	}
	if list[0].RevisionCount != 25 || len(list[0].Commits) != 20 || list[0].Commits[0].Revision != commits[24] || list[0].Commits[19].Revision != commits[5] {
		t.Fatalf("newest push: %d commits counted, %d listed, first %s", list[0].RevisionCount, len(list[0].Commits), list[0].Commits[0].Revision)
	}
	pushCases := []struct {
		name string
		q    store.PushQuery
		want []int64
	}{
		{"all repos", store.PushQuery{}, []int64{pushes[2].ID, pushes[1].ID, pushes[0].ID}},
		{"short revision", store.PushQuery{RepositoryID: 1, Revision: apiRevs[1][:12]}, []int64{pushes[0].ID}},
		{"revision", store.PushQuery{RepositoryID: 1, Revision: apiRevs[2]}, []int64{pushes[1].ID}},
		{"commit revision", store.PushQuery{RepositoryID: 1, CommitRevision: commits[3]}, []int64{pushes[1].ID}},
		{"author case", store.PushQuery{RepositoryID: 1, Author: "other@example.com"}, []int64{pushes[1].ID}},
		{"author excluded", store.PushQuery{RepositoryID: 1, Author: "OTHER@example.com", ExcludeAuthor: true}, []int64{pushes[0].ID}},
		{"author contains", store.PushQuery{AuthorContains: "THER@"}, []int64{pushes[1].ID}},
		{"time", store.PushQuery{Time: []store.IntCond{{Op: store.OpGte, Value: 1500}, {Op: store.OpLt, Value: 3000}}}, []int64{pushes[1].ID}},
		{"id", store.PushQuery{ID: []store.IntCond{{Op: store.OpGt, Value: pushes[0].ID}}, RepositoryID: 1}, []int64{pushes[1].ID}},
		{"id in", store.PushQuery{IDIn: []int64{pushes[0].ID, pushes[2].ID}}, []int64{pushes[2].ID, pushes[0].ID}},
		{"search message", store.PushQuery{Search: "bug 1 - " + commits[7]}, []int64{pushes[1].ID}},
		{"search revision", store.PushQuery{Search: "CCCCC"}, []int64{pushes[2].ID}},
		{"search wildcard is literal", store.PushQuery{Search: "%"}, nil},
		{"limit", store.PushQuery{Limit: 1}, []int64{pushes[2].ID}},
	}
	for _, c := range pushCases {
		got, err := s.QueryPushes(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var gotIDs []int64
		for _, p := range got {
			gotIDs = append(gotIDs, p.ID)
		}
		if !reflect.DeepEqual(gotIDs, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, gotIDs, c.want)
		}
	}
	if pr, err := s.PushByID(ctx, 1, pushes[0].ID); err != nil || pr.Revision != apiRevs[1] || pr.RevisionCount != 1 {
		t.Fatalf("PushByID = %+v, %v", pr, err)
	}
	if _, err := s.PushByID(ctx, 77, pushes[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("push of another repository: %v", err)
	}
	if ok, err := s.PushExists(ctx, 1, pushes[0].ID); err != nil || !ok {
		t.Fatalf("PushExists = %v, %v", ok, err)
	}
	if ok, err := s.PushExists(ctx, 77, pushes[0].ID); err != nil || ok {
		t.Fatalf("PushExists(another repository) = %v, %v", ok, err)
	}
	if tm, err := s.PushTime(ctx, 1, apiRevs[2][:12]); err != nil || tm != 2000 {
		t.Fatalf("PushTime = %d, %v", tm, err)
	}
	if _, err := s.PushTime(ctx, 1, apiRevs[3]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PushTime of another repository's push: %v", err)
	}

	// Status: tier 3 and classified jobs are left out.
	db, ok := s.(rawDB)
	if ok {
		exec(t, db.DB(), "UPDATE job SET failure_classification_id = 4 WHERE guid = ?", "t2/0")
	}
	status, err := s.PushStatus(ctx, 1, []int64{pushes[0].ID, pushes[1].ID, pushes[2].ID})
	if err != nil {
		t.Fatal(err)
	}
	wantFirst := []store.StateCount{{State: "completed", Result: "busted", Count: 1}, {State: "completed", Result: "testfailed", Count: 1}}
	if _, ok := status[pushes[2].ID]; ok {
		t.Errorf("status counted another repository's push")
	}
	if !reflect.DeepEqual(status[pushes[0].ID], wantFirst) {
		t.Errorf("status of first push = %+v", status[pushes[0].ID])
	}
	if ok {
		wantSecond := []store.StateCount{{State: "completed", Result: "success", Count: 1}}
		if !reflect.DeepEqual(status[pushes[1].ID], wantSecond) {
			t.Errorf("status of second push = %+v", status[pushes[1].ID])
		}
	}
	if !ok {
		return
	}
	testAnnotations(t, s, db.DB(), byGUID, pushes)
}

// testAnnotations covers notes, bug links, error lines, the intermittent
// failure views and performance data, written with plain SQL.
func testAnnotations(t *testing.T, s store.Store, db *sql.DB, byGUID map[string]store.JobRecord, pushes []model.Push) {
	u, err := s.EnsureUser(ctx, "sheriff", "sheriff@example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	b, t1, o := byGUID["b/0"], byGUID["t1/0"], byGUID["o/0"]
	exec(t, db, "INSERT INTO job_note (job_id, failure_classification_id, user_id, text, created) VALUES (?, 4, ?, 'flaky', 100), (?, 7, NULL, '', 200)", t1.ID, u.ID, t1.ID)
	exec(t, db, "INSERT INTO bugscache (id, bugzilla_id, summary, crash_signature, keywords, modified) VALUES (10, 1700001, 'Intermittent foo', '', '', 0), (11, NULL, 'internal issue', '', '', 0)")
	exec(t, db, "INSERT INTO bug_job_map (job_id, bug_id, user_id, created) VALUES (?, 10, ?, 300), (?, 10, NULL, 301), (?, 11, NULL, 302)", t1.ID, u.ID, o.ID, b.ID)
	exec(t, db, "INSERT INTO text_log_error (job_id, line, line_number, new_failure) VALUES (?, 'TEST-UNEXPECTED-FAIL | a.js | boom', 10, 1), (?, 'some other error', 20, 0)", t1.ID, t1.ID)

	notes, err := s.JobNotes(ctx, []int64{t1.ID})
	if err != nil || len(notes) != 2 || notes[0].Who != "sheriff@example.com" || notes[0].FailureClassificationID != 4 ||
		notes[0].Created != 100 || notes[0].Text != "flaky" || notes[1].Who != "autoclassifier" {
		t.Fatalf("JobNotes = %+v, %v", notes, err)
	}
	links, err := s.BugJobMaps(ctx, []int64{t1.ID, b.ID})
	if err != nil || len(links) != 2 || links[0].BugID == nil || *links[0].BugID != 1700001 || links[0].BugInternalID != 10 ||
		links[0].Who != "sheriff@example.com" || links[1].BugID != nil || links[1].BugInternalID != 11 || links[1].Who != "autoclassifier" {
		t.Fatalf("BugJobMaps = %+v, %v", links, err)
	}
	tle, err := s.TextLogErrors(ctx, t1.ID)
	if err != nil || len(tle) != 2 || tle[0].LineNumber != 10 || !tle[0].NewFailure || tle[1].NewFailure {
		t.Fatalf("TextLogErrors = %+v, %v", tle, err)
	}

	day := store.FailureQuery{From: 0, To: 86400}
	counts, err := s.FailureCountsByBug(ctx, day)
	if err != nil || len(counts) != 2 || counts[0].BugInternalID != 10 || counts[0].Count != 2 || counts[1].BugID != nil {
		t.Fatalf("FailureCountsByBug = %+v, %v", counts, err)
	}
	central := day
	central.RepositoryIDs = []int64{1}
	if counts, _ := s.FailureCountsByBug(ctx, central); len(counts) != 2 || counts[0].Count != 1 {
		t.Fatalf("FailureCountsByBug(mozilla-central) = %+v", counts)
	}
	bug := int64(1700001)
	byBug := day
	byBug.BugID = &bug
	failures, err := s.FailuresByBug(ctx, byBug)
	if err != nil || len(failures) != 2 {
		t.Fatalf("FailuresByBug = %+v, %v", failures, err)
	}
	f := failures[0] // autoland's push is the newest
	if f.Tree != "autoland" || f.JobID != o.ID || f.PushTime != 3000 || f.Revision != apiRevs[3] || f.BuildType != "opt" ||
		f.TestSuite != "test-linux64/opt-mochitest-1" || f.Platform != "linux64" || f.MachineName != "worker-1" || len(f.Lines) != 0 {
		t.Errorf("first failure = %+v", f)
	}
	if f := failures[1]; f.JobID != t1.ID || !reflect.DeepEqual(f.Lines, []string{"TEST-UNEXPECTED-FAIL | a.js | boom"}) {
		t.Errorf("second failure = %+v", f)
	}
	perDay, err := s.FailureCounts(ctx, byBug)
	if err != nil || !reflect.DeepEqual(perDay, []store.DayCount{{Day: "1970-01-01", TestRuns: 3, FailureCount: 2}}) {
		t.Fatalf("FailureCounts(bug) = %+v, %v", perDay, err)
	}
	perDay, err = s.FailureCounts(ctx, central)
	if err != nil || !reflect.DeepEqual(perDay, []store.DayCount{{Day: "1970-01-01", TestRuns: 2, FailureCount: 1}}) {
		t.Fatalf("FailureCounts(intermittent) = %+v, %v", perDay, err)
	}

	// Performance.
	exec(t, db, "INSERT INTO performance_framework (id, name, enabled) VALUES (1, 'talos', 1)")
	exec(t, db, `INSERT INTO performance_signature (id, signature_hash, repository_id, framework_id, platform_id,
		option_collection_hash, suite, test, application, parent_signature_id, has_subtests, tags, extra_options,
		measurement_unit, lower_is_better, should_alert, alert_threshold, last_updated)
		VALUES (1, ?, 1, 1, ?, ?, 'tp5o', '', '', NULL, 1, 'a b', '', NULL, 1, NULL, NULL, 1000),
		(2, ?, 1, 1, ?, ?, 'tp5o', 'x', 'firefox', 1, 0, '', 'e10s', 'ms', 0, 1, 2.5, 2000)`,
		fmt.Sprintf("%040d", 1), b.MachinePlatformID, b.OptionCollection, fmt.Sprintf("%040d", 2), b.MachinePlatformID, b.OptionCollection)
	exec(t, db, `INSERT INTO performance_datum (id, repository_id, signature_id, job_id, push_id, push_timestamp, value)
		VALUES (1, 1, 1, ?, ?, 1000, 1.23456), (2, 1, 2, NULL, ?, 2000, 7), (3, 1, 2, ?, ?, 2000, 8)`,
		b.ID, pushes[0].ID, pushes[1].ID, t1.ID, pushes[1].ID)
	sigs, err := s.PerformanceSignatures(ctx, store.PerfSignatureQuery{RepositoryID: 1})
	if err != nil || len(sigs) != 2 {
		t.Fatalf("PerformanceSignatures = %+v, %v", sigs, err)
	}
	if s1 := sigs[0]; !s1.HasSubtests || s1.Tags != "a b" || !s1.LowerIsBetter || s1.MachinePlatform != "linux64" || s1.ParentHash != "" || s1.ShouldAlert != nil {
		t.Errorf("first signature = %+v", s1)
	}
	if s2 := sigs[1]; s2.ParentHash != sigs[0].Hash || s2.LowerIsBetter || s2.MeasurementUnit != "ms" || s2.ShouldAlert == nil || !*s2.ShouldAlert ||
		s2.AlertThreshold == nil || *s2.AlertThreshold != 2.5 || s2.Application != "firefox" {
		t.Errorf("second signature = %+v", s2)
	}
	for name, q := range map[string]store.PerfSignatureQuery{
		"no subtests":  {RepositoryID: 1, NoSubtests: true},
		"parent":       {RepositoryID: 1, ParentHashes: []string{sigs[0].Hash}},
		"updated":      {RepositoryID: 1, UpdatedAfter: ptr(int64(1500))},
		"hash":         {RepositoryID: 1, Hashes: []string{sigs[1].Hash}},
		"id":           {RepositoryID: 1, IDs: []int64{1}},
		"platform":     {RepositoryID: 1, Platform: "linux64", Frameworks: []int64{1}, UpdatedBefore: ptr(int64(1500))},
		"other repo":   {RepositoryID: 77},
		"no framework": {RepositoryID: 1, Frameworks: []int64{2}},
	} {
		got, err := s.PerformanceSignatures(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := map[string]int{"no subtests": 1, "parent": 1, "updated": 1, "hash": 1, "id": 1, "platform": 1, "other repo": 0, "no framework": 0}[name]
		if len(got) != want {
			t.Errorf("signatures %s: %d, want %d", name, len(got), want)
		}
	}
	data, err := s.PerformanceData(ctx, store.PerfDataQuery{RepositoryID: 1, PushIDs: []int64{pushes[0].ID, pushes[1].ID}})
	if err != nil || len(data) != 3 || data[0].Value != 1.23456 || data[0].JobID == nil || *data[0].JobID != b.ID ||
		data[0].Revision != apiRevs[1] || data[1].JobID != nil || data[1].SignatureHash != sigs[1].Hash {
		t.Fatalf("PerformanceData = %+v, %v", data, err)
	}
	data, err = s.PerformanceData(ctx, store.PerfDataQuery{RepositoryID: 1, SignatureHashes: []string{sigs[1].Hash}, After: ptr(int64(1999))})
	if err != nil || len(data) != 2 {
		t.Fatalf("PerformanceData(hash, after) = %+v, %v", data, err)
	}
	data, err = s.PerformanceData(ctx, store.PerfDataQuery{RepositoryID: 1, JobIDs: []int64{t1.ID}, Frameworks: []int64{1}, Before: ptr(int64(2001))})
	if err != nil || len(data) != 1 || data[0].ID != 3 {
		t.Fatalf("PerformanceData(job) = %+v, %v", data, err)
	}
}

func ptr[T any](v T) *T { return &v }
