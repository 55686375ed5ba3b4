package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/client"
)

var bg = context.Background()

// TestAPI drives every read endpoint through the Go client against a real
// server, on SQLite and on MariaDB.
func TestAPI(t *testing.T) {
	for _, backend := range []string{"sqlite", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			e := newAPIEnv(t, backend)
			t.Run("ReferenceData", e.testReferenceData)
			t.Run("TaskclusterMetadata", e.testTaskclusterMetadata)
			t.Run("PushList", e.testPushList)
			t.Run("PushFilters", e.testPushFilters)
			t.Run("PushDetailAndStatus", e.testPushDetailAndStatus)
			t.Run("PushHealthSummary", e.testPushHealthSummary)
			t.Run("JobsCompact", e.testJobsCompact)
			t.Run("JobsCompactFilters", e.testJobsCompactFilters)
			t.Run("JobsPaging", e.testJobsPaging)
			t.Run("ProjectJobs", e.testProjectJobs)
			t.Run("JobDetail", e.testJobDetail)
			t.Run("JobErrorsAndSuggestions", e.testJobErrorsAndSuggestions)
			t.Run("SimilarJobs", e.testSimilarJobs)
			t.Run("JobLogURL", e.testJobLogURL)
			t.Run("NotesAndBugJobMap", e.testNotesAndBugJobMap)
			t.Run("IntermittentFailures", e.testIntermittentFailures)
			t.Run("Performance", e.testPerformance)
			t.Run("BadInput", e.testBadInput)
			t.Run("HeadersAndVersions", e.testHeadersAndVersions)
			t.Run("Schema", e.testSchema)
			// Last: it changes a job.
			t.Run("PollingLastModified", e.testPollingLastModified)
		})
	}
}

func (e *apiEnv) raw(t *testing.T, path string, query url.Values) []byte {
	t.Helper()
	resp, err := e.c.Raw(bg, path, query, nil)
	if err != nil {
		t.Fatalf("GET %s?%s: %v", path, query.Encode(), err)
	}
	return resp.Body
}

func (e *apiEnv) testReferenceData(t *testing.T) {
	repos, err := e.c.Repositories(bg)
	if err != nil || len(repos) != 3 {
		t.Fatalf("repositories = %d, %v", len(repos), err)
	}
	fcs, err := e.c.FailureClassifications(bg)
	if err != nil || len(fcs) != 8 {
		t.Fatalf("failure classifications = %v, %v", fcs, err)
	}

	ocs, err := e.c.OptionCollections(bg)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, oc := range ocs {
		if len(oc.Options) != 1 {
			t.Fatalf("option collection %+v", oc)
		}
		names[oc.OptionCollectionHash] = oc.Options[0].Name
	}
	if names["102210fe594ee9b33d82058545b1ed14f4c8206e"] != "opt" || names["32faaecac742100f7753f0c1d0aa0add01b4046b"] != "debug" {
		t.Fatalf("option collections = %v", names)
	}
	body := e.raw(t, "/api/optioncollectionhash/", nil)
	sameKeys(t, "optioncollectionhash", keysOf(t, body)[0], []string{"option_collection_hash", "options"})

	mps, err := e.c.MachinePlatforms(bg)
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, mp := range mps {
		platforms = append(platforms, mp.Platform)
	}
	sort.Strings(platforms)
	if !reflect.DeepEqual(platforms, []string{"android-em-7-0-x86_64", "linux64", "macosx1015-64", "windows11-64"}) {
		t.Fatalf("machine platforms = %v", platforms)
	}
	sameKeys(t, "machineplatforms", keysOf(t, e.raw(t, "/api/machineplatforms/", nil))[0], []string{"id", "platform"})

	// Reference data carries an ETag; a revalidation gets 304.
	for _, path := range []string{"/api/optioncollectionhash/", "/api/machineplatforms/", "/api/schema/"} {
		resp, err := e.c.Raw(bg, path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		etag := resp.Header.Get("ETag")
		if etag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
			t.Fatalf("%s: ETag %q, Cache-Control %q", path, etag, resp.Header.Get("Cache-Control"))
		}
		again, err := e.c.Raw(bg, path, nil, http.Header{"If-None-Match": {etag}})
		if err != nil || again.StatusCode != http.StatusNotModified || len(again.Body) != 0 {
			t.Fatalf("%s revalidation: %+v, %v", path, again, err)
		}
		stale, err := e.c.Raw(bg, path, nil, http.Header{"If-None-Match": {`"stale"`}})
		if err != nil || stale.StatusCode != http.StatusOK {
			t.Fatalf("%s with a stale ETag: %+v, %v", path, stale, err)
		}
	}
}

func (e *apiEnv) testTaskclusterMetadata(t *testing.T) {
	build, test := e.jobs["fixture-build/0"], e.jobs["fixture-test/0"]
	got, err := e.c.TaskclusterMetadata(bg, build, test)
	if err != nil {
		t.Fatal(err)
	}
	want := []client.TaskclusterMetadata{{Job: build, TaskID: "FixtureTaskBuild000000", RetryID: 0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("taskclustermetadata = %+v", got)
	}
	body := e.raw(t, "/api/taskclustermetadata/", url.Values{"job_ids": {strconv.FormatInt(build, 10)}})
	sameKeys(t, "taskclustermetadata", keysOf(t, body)[0], []string{"job", "task_id", "retry_id"})
}

var (
	pushKeys   = []string{"id", "revision", "author", "branch", "revisions", "revision_count", "push_timestamp", "repository_id"}
	commitKeys = []string{"result_set_id", "repository_id", "revision", "author", "comments"}
)

func (e *apiEnv) testPushList(t *testing.T) {
	list, err := e.c.Pushes(bg, "mozilla-central", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Six demo pushes and the fixture push, newest first.
	if len(list.Results) != 7 || list.Meta.Count != 7 || list.Meta.Repository != "mozilla-central" {
		t.Fatalf("push list: %d results, meta %+v", len(list.Results), list.Meta)
	}
	for i := 1; i < len(list.Results); i++ {
		if list.Results[i].PushTimestamp > list.Results[i-1].PushTimestamp {
			t.Fatalf("pushes not newest first")
		}
	}
	top := list.Results[0]
	if top.ID != e.push || top.Revision != fixtureRev || top.Author != "Sheriff@Example.com" || top.RevisionCount != 25 ||
		len(top.Revisions) != 20 || top.Revisions[0].Revision != fixtureRev || top.PushTimestamp != fixtureTime ||
		top.RepositoryID != 1 || top.Branch != nil {
		t.Fatalf("fixture push = %+v", top)
	}
	if c := top.Revisions[0]; c.ResultSetID != e.push || c.RepositoryID != 1 || !strings.Contains(c.Comments, "fixture change 24") {
		t.Fatalf("newest commit = %+v", c)
	}
	if top.Revisions[19].Comments != "Bug 1800005 - fixture change 5 r=reviewer" {
		t.Fatalf("20th commit = %+v", top.Revisions[19])
	}

	body := e.raw(t, "/api/project/mozilla-central/push/", url.Values{"count": {"2"}, "full": {"true"}})
	sameKeys(t, "push list", keysInOrder(t, body), []string{"meta", "results"})
	sameKeys(t, "meta", keysInOrder(t, field(t, body, "meta")), []string{"count", "repository", "filter_params"})
	sameKeys(t, "push", keysOf(t, field(t, body, "results"))[0], pushKeys)
	var results []struct {
		Revisions json.RawMessage `json:"revisions"`
	}
	if err := json.Unmarshal(field(t, body, "results"), &results); err != nil || len(results) != 2 {
		t.Fatalf("results: %v", err)
	}
	sameKeys(t, "commit", keysOf(t, results[0].Revisions)[0], commitKeys)
	var fp map[string]any
	if err := json.Unmarshal(field(t, field(t, body, "meta"), "filter_params"), &fp); err != nil ||
		!reflect.DeepEqual(fp, map[string]any{"count": "2", "full": "true"}) {
		t.Fatalf("filter_params = %v, %v", fp, err)
	}

	// fromchange moves into meta and becomes push_timestamp__gte.
	older := list.Results[3]
	body = e.raw(t, "/api/project/mozilla-central/push/", url.Values{"fromchange": {older.Revision[:12]}})
	sameKeys(t, "meta with fromchange", keysInOrder(t, field(t, body, "meta")), []string{"fromchange", "count", "repository", "filter_params"})
	var meta client.PushListMeta
	if err := json.Unmarshal(field(t, body, "meta"), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Count != 4 || meta.FromChange != older.Revision[:12] || meta.FilterParams["push_timestamp__gte"] != float64(older.PushTimestamp) {
		t.Fatalf("fromchange meta = %+v", meta)
	}
}

func pushIDsOf(list *client.PushList) []int64 {
	var out []int64
	for _, p := range list.Results {
		out = append(out, p.ID)
	}
	return out
}

func (e *apiEnv) testPushFilters(t *testing.T) {
	all, err := e.c.Pushes(bg, "mozilla-central", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := pushIDsOf(all)
	p := all.Results
	day := time.Unix(p[1].PushTimestamp, 0).UTC().Format("2006-01-02")
	demoAuthor := p[1].Author
	var byAuthor []int64
	for _, push := range p {
		if push.Author == demoAuthor {
			byAuthor = append(byAuthor, push.ID)
		}
	}
	cases := []struct {
		name string
		f    client.PushFilter
		want []int64
	}{
		{"count", client.PushFilter{Count: 3}, ids[:3]},
		{"fromchange", client.PushFilter{FromChange: p[2].Revision}, ids[:3]},
		{"tochange short", client.PushFilter{ToChange: p[5].Revision[:12]}, ids[5:]},
		{"range", client.PushFilter{FromChange: p[4].Revision, ToChange: p[2].Revision}, ids[2:5]},
		{"startdate", client.PushFilter{StartDate: day}, ids},
		{"enddate before", client.PushFilter{EndDate: "2024-04-29"}, nil},
		{"revision", client.PushFilter{Revision: p[3].Revision}, ids[3:4]},
		{"revision prefix", client.PushFilter{Revision: p[3].Revision[:12]}, ids[3:4]},
		{"commit revision", client.PushFilter{CommitRevision: "00000000000000000000000000000000c0ffee05"}, ids[:1]},
		{"author case-insensitive", client.PushFilter{Author: "sheriff@EXAMPLE.com"}, ids[:1]},
		{"author excluded", client.PushFilter{Author: "-sheriff@example.com"}, ids[1:]},
		{"author contains", client.PushFilter{AuthorContains: "SHERIFF@"}, ids[:1]},
		{"author", client.PushFilter{Author: demoAuthor}, byAuthor},
		{"id__in", client.PushFilter{IDs: []int64{ids[2], ids[4]}}, []int64{ids[2], ids[4]}},
		{"search message", client.PushFilter{Search: "FIXTURE CHANGE 7"}, ids[:1]},
		{"search revision", client.PushFilter{Search: p[6].Revision[5:20]}, ids[6:]},
		{"id__lt", client.PushFilter{Extra: url.Values{"id__lt": {strconv.FormatInt(ids[5], 10)}}}, nil},
		{"push_timestamp__lte", client.PushFilter{Extra: url.Values{"push_timestamp__lte": {strconv.FormatInt(p[2].PushTimestamp, 10) + ".5"}}}, ids[2:]},
		{"push_timestamp__gt", client.PushFilter{Extra: url.Values{"push_timestamp__gt": {strconv.FormatInt(p[2].PushTimestamp, 10)}}}, ids[:2]},
		{"hide_reviewbot_pushes", client.PushFilter{Extra: url.Values{"hide_reviewbot_pushes": {"true"}}}, ids},
		{"all_repos", client.PushFilter{Count: 1000, Extra: url.Values{"all_repos": {"1"}}}, nil},
	}
	for _, c := range cases {
		got, err := e.c.Pushes(bg, "mozilla-central", &c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.name == "all_repos" {
			if len(got.Results) != 19 || got.Meta.Repository != "all" {
				t.Errorf("all_repos: %d pushes, repository %q", len(got.Results), got.Meta.Repository)
			}
			continue
		}
		if c.name == "id__lt" {
			// Push ids are per store, not per repository: only check the bound.
			for _, push := range got.Results {
				if push.ID >= ids[5] {
					t.Errorf("id__lt returned %d", push.ID)
				}
			}
			continue
		}
		if g := pushIDsOf(got); !reflect.DeepEqual(g, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, g, c.want)
		}
	}
	revisionMeta, err := e.c.Pushes(bg, "mozilla-central", &client.PushFilter{Revision: p[3].Revision[:12]})
	if err != nil || revisionMeta.Meta.FilterParams["revisions_short_revision"] != p[3].Revision[:12] || revisionMeta.Meta.Revision == "" {
		t.Fatalf("revision meta = %+v, %v", revisionMeta.Meta, err)
	}
	autoland, err := e.c.Pushes(bg, "autoland", &client.PushFilter{Count: 2})
	if err != nil || len(autoland.Results) != 2 || autoland.Results[0].RepositoryID != 77 {
		t.Fatalf("autoland pushes = %+v, %v", autoland, err)
	}
}

func (e *apiEnv) testPushDetailAndStatus(t *testing.T) {
	push, err := e.c.Push(bg, "mozilla-central", e.push)
	if err != nil || push.Revision != fixtureRev || push.RevisionCount != 25 || len(push.Revisions) != 20 {
		t.Fatalf("push detail = %+v, %v", push, err)
	}
	sameKeys(t, "push detail", keysInOrder(t, e.raw(t, "/api/project/mozilla-central/push/"+strconv.FormatInt(e.push, 10)+"/", nil)), pushKeys)
	_, err = e.c.Push(bg, "autoland", e.push)
	wantAPIError(t, err, 404, "No push with id")

	status, err := e.c.PushStatus(bg, "mozilla-central", e.push)
	if err != nil {
		t.Fatal(err)
	}
	want := client.PushStatus{"completed": 3, "pending": 0, "running": 1, "busted": 1, "superseded": 1, "testfailed": 1, "coalesced": 1}
	if !reflect.DeepEqual(status, want) {
		t.Fatalf("status = %v, want %v", status, want)
	}
	body := e.raw(t, "/api/project/mozilla-central/push/"+strconv.FormatInt(e.push, 10)+"/status/", nil)
	sameKeys(t, "status", keysInOrder(t, body), []string{"completed", "pending", "running", "busted", "superseded", "testfailed", "coalesced"})
}

func (e *apiEnv) testPushHealthSummary(t *testing.T) {
	got, err := e.c.PushHealthSummary(bg, "mozilla-central", client.HealthSummaryFilter{Revisions: []string{fixtureRev}, WithHistory: true})
	if err != nil || len(got) != 1 {
		t.Fatalf("health summary = %+v, %v", got, err)
	}
	h := got[0]
	if h.Revision != fixtureRev || h.Repository != "mozilla-central" || h.BuildFailureCount != 1 || h.TestFailureCount != 1 ||
		h.TestInProgressCount != 2 || h.NeedInvestigation != 2 || h.Metrics.Builds.Result != "fail" ||
		h.Metrics.Linting.Result != "pass" || h.Status["completed"] != 3 || len(h.History) != 1 || h.History[0].ID != e.push {
		t.Fatalf("health summary = %+v", h)
	}
	body := e.raw(t, "/api/project/mozilla-central/push/health_summary/", url.Values{"revision": {fixtureRev}})
	sameKeys(t, "health summary", keysOf(t, body)[0], []string{"revision", "repository", "testFailureCount", "testInProgressCount",
		"buildFailureCount", "buildInProgressCount", "lintFailureCount", "lintingInProgressCount", "needInvestigation",
		"status", "history", "metrics"})
	byAuthor, err := e.c.PushHealthSummary(bg, "mozilla-central", client.HealthSummaryFilter{Author: "Sheriff@Example.com", Count: 5})
	if err != nil || len(byAuthor) != 1 || byAuthor[0].History != nil {
		t.Fatalf("health summary by author = %+v, %v", byAuthor, err)
	}
	_, err = e.c.PushHealthSummary(bg, "mozilla-central", client.HealthSummaryFilter{Revisions: []string{strings.Repeat("9", 40)}})
	wantAPIError(t, err, 404, "No push with revision")
}

// compactProperties is Treeherder's /api/jobs/ column order.
var compactProperties = []string{
	"failure_classification_id", "id", "job_group_name", "job_group_symbol", "job_type_name",
	"job_type_symbol", "last_modified", "platform", "push_id", "push_revision", "result", "signature",
	"state", "tier", "task_id", "retry_id", "duration", "platform_option",
}

var isoNoZone = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$`)

func (e *apiEnv) testJobsCompact(t *testing.T) {
	page, err := e.c.Jobs(bg, &client.JobFilter{PushID: e.push}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(page.JobPropertyNames, compactProperties) {
		t.Fatalf("job_property_names = %v", page.JobPropertyNames)
	}
	if page.Count != 6 || page.Next != nil || page.Previous != nil || len(page.Results) != 6 {
		t.Fatalf("page: count %d, %d results, next %v", page.Count, len(page.Results), page.Next)
	}
	byID := map[int64]client.JobSummary{}
	for i, j := range page.Results {
		byID[j.ID] = j
		if i > 0 && j.ID <= page.Results[i-1].ID {
			t.Fatal("jobs not in id order")
		}
		if !isoNoZone.MatchString(j.LastModified) {
			t.Errorf("last_modified %q is not Treeherder's naive ISO format", j.LastModified)
		}
	}
	b := byID[e.jobs["fixture-build/0"]]
	if b.FailureClassificationID != 1 || b.JobGroupName != "unknown" || b.JobGroupSymbol != "unknown" ||
		b.JobTypeName != "build-linux64/debug" || b.JobTypeSymbol != "B" || b.Platform != "linux64" || b.PushID != e.push ||
		b.PushRevision != fixtureRev || b.Result != "busted" || b.State != "completed" || b.Tier != 1 ||
		b.TaskID == nil || *b.TaskID != "FixtureTaskBuild000000" || b.RetryID == nil || *b.RetryID != 0 ||
		b.Duration != 2 || b.PlatformOption != "debug" || len(b.Signature) != 40 {
		t.Fatalf("build job row = %+v", b)
	}
	test := byID[e.jobs["fixture-test/0"]]
	if test.TaskID != nil || test.RetryID != nil || test.Duration != 1 || test.PlatformOption != "opt" || test.Tier != 2 {
		t.Fatalf("test job row = %+v", test)
	}
	if c := byID[e.jobs["fixture-classified/0"]]; c.FailureClassificationID != 4 {
		t.Fatalf("classified job row = %+v", c)
	}
	body := e.raw(t, "/api/jobs/", url.Values{"push_id": {strconv.FormatInt(e.push, 10)}})
	sameKeys(t, "/api/jobs/", keysInOrder(t, body), []string{"count", "next", "previous", "results", "job_property_names"})
	// The raw build row, value by value.
	var rows [][]any
	if err := json.Unmarshal(field(t, body, "results"), &rows); err != nil {
		t.Fatal(err)
	}
	row := rows[0]
	if len(row) != 18 || row[1] != float64(e.jobs["fixture-build/0"]) || row[9] != fixtureRev || row[14] != "FixtureTaskBuild000000" || row[16] != float64(2) {
		t.Fatalf("first row = %v", row)
	}
}

func (e *apiEnv) testJobsCompactFilters(t *testing.T) {
	push := strconv.FormatInt(e.push, 10)
	count := func(q url.Values) int64 {
		t.Helper()
		page, err := e.c.Jobs(bg, &client.JobFilter{Extra: q}, 1, 0)
		if err != nil {
			t.Fatalf("%v: %v", q, err)
		}
		if page.Count != int64(len(page.Results)) {
			t.Fatalf("%v: count %d for %d results", q, page.Count, len(page.Results))
		}
		return page.Count
	}
	build := strconv.FormatInt(e.jobs["fixture-build/0"], 10)
	cases := []struct {
		q    url.Values
		want int64
	}{
		{url.Values{"push_id": {push}, "result": {"busted"}}, 1},
		{url.Values{"push_id": {push}, "state": {"completed"}}, 4},
		{url.Values{"push_id": {push}, "tier__in": {"2,3"}}, 2},
		{url.Values{"push_id": {push}, "tier__gte": {"2"}}, 2},
		{url.Values{"push_id": {push}, "job_type_name": {"build-linux64/debug"}}, 1},
		{url.Values{"push_id": {push}, "job_type_symbol": {"X1"}}, 1},
		{url.Values{"push_id": {push}, "job_group_symbol": {"R"}}, 2},
		{url.Values{"push_id": {push}, "job_group_name": {"Mochitests"}}, 1},
		{url.Values{"push_id": {push}, "platform": {"linux64"}}, 6},
		{url.Values{"push_id": {push}, "build_platform": {"linux64"}, "build_os": {"linux"}, "build_architecture": {"x86_64"}}, 6},
		{url.Values{"push_id": {push}, "machine_platform_os": {"linux"}, "machine_platform_architecture": {"x86_64"}}, 6},
		{url.Values{"push_id": {push}, "machine_name": {"linux-worker-900"}}, 6},
		{url.Values{"push_id": {push}, "option_collection_hash": {"32faaecac742100f7753f0c1d0aa0add01b4046b"}}, 1},
		{url.Values{"push_id": {push}, "failure_classification_id": {"4"}}, 1},
		{url.Values{"push_id": {push}, "who": {"sheriff@example.com"}, "reason": {"scheduled"}}, 6},
		{url.Values{"push_id": {push}, "build_system_type": {"taskcluster"}}, 6},
		{url.Values{"task_id": {"FixtureTaskBuild000000"}}, 1},
		{url.Values{"task_id": {"FixtureTaskBuild000000"}, "retry_id": {"1"}}, 0},
		{url.Values{"job_guid": {"fixture-test/0"}}, 1},
		{url.Values{"job_guid__in": {"fixture-test/0,fixture-build/0,nope"}}, 2},
		{url.Values{"id": {build}}, 1},
		{url.Values{"id__in": {build}}, 1},
		{url.Values{"push_id": {push}, "id__gt": {build}}, 5},
		{url.Values{"push_id__in": {push + ",999999"}}, 6},
		{url.Values{"push_id": {push}, "submit_time__gte": {time.Unix(fixtureTime+60, 0).UTC().Format("2006-01-02T15:04:05")}}, 6},
		{url.Values{"push_id": {push}, "start_time__gt": {time.Unix(fixtureTime+110, 0).UTC().Format(time.RFC3339)}}, 1},
		{url.Values{"push_id": {push}, "end_time__lt": {"2024-05-01"}}, 4}, // jobs without an end time
		{url.Values{"push_id": {push}, "last_modified__gt": {"2000-01-01T00:00:00Z"}}, 6},
		{url.Values{"push_id": {push}, "last_modified__lt": {"2000-01-01 00:00"}}, 0},
	}
	for _, c := range cases {
		if got := count(c.q); got != c.want {
			t.Errorf("%v: %d jobs, want %d", c.q, got, c.want)
		}
	}
	if got := count(url.Values{"platform": {"windows11-64"}, "job_type_symbol": {"B"}}); got != 3*6*2 {
		t.Errorf("windows builds across the demo: %d", got)
	}
	sig := e.raw(t, "/api/jobs/", url.Values{"id": {build}})
	var rows struct{ Results [][]any }
	if err := json.Unmarshal(sig, &rows); err != nil || len(rows.Results) != 1 {
		t.Fatal(err)
	}
	if got := count(url.Values{"signature": {rows.Results[0][11].(string)}}); got != 1 {
		t.Errorf("signature filter: %d", got)
	}
}

func (e *apiEnv) testJobsPaging(t *testing.T) {
	// The demo's mozilla-central pushes hold 48 jobs each.
	central, err := e.c.Pushes(bg, "mozilla-central", nil)
	if err != nil {
		t.Fatal(err)
	}
	demoPush := central.Results[1].ID
	f := &client.JobFilter{PushID: demoPush}
	first, err := e.c.Jobs(bg, f, 1, 20)
	if err != nil {
		t.Fatal(err)
	}
	if first.Count != 48 || len(first.Results) != 20 || first.Next == nil || first.Previous != nil {
		t.Fatalf("first page: count %d, %d results, next %v", first.Count, len(first.Results), first.Next)
	}
	next, err := url.Parse(*first.Next)
	if err != nil || next.Host != strings.TrimPrefix(e.srv.URL, "http://") || next.Path != "/api/jobs/" ||
		next.RawQuery != "count=20&page=2&push_id="+strconv.FormatInt(demoPush, 10) {
		t.Fatalf("next = %s", *first.Next)
	}
	third, err := e.c.Jobs(bg, f, 3, 20)
	if err != nil || len(third.Results) != 8 || third.Next != nil || third.Previous == nil || !strings.Contains(*third.Previous, "page=2") {
		t.Fatalf("third page = %+v, %v", third, err)
	}
	second, err := e.c.Jobs(bg, f, 2, 20)
	if err != nil || second.Previous == nil || strings.Contains(*second.Previous, "page=") {
		t.Fatalf("second page's previous must drop page: %v, %v", second.Previous, err)
	}
	all, err := e.c.AllJobs(bg, &client.JobFilter{PushID: demoPush, Extra: url.Values{"count": {"7"}}})
	if err != nil || len(all) != 48 {
		t.Fatalf("following next: %d jobs, %v", len(all), err)
	}
	seen := map[int64]bool{}
	for _, j := range all {
		if seen[j.ID] {
			t.Fatalf("job %d twice", j.ID)
		}
		seen[j.ID] = true
	}
	_, err = e.c.Jobs(bg, f, 4, 20)
	wantAPIError(t, err, 404, "Invalid page")
}

// projectKeys is Treeherder's JobsProjectViewSet property order.
var projectKeys = []string{
	"build_architecture", "build_os", "build_platform", "build_platform_id", "build_system_type",
	"end_timestamp", "failure_classification_id", "id", "job_group_description", "job_group_id",
	"job_group_name", "job_group_symbol", "job_guid", "job_type_description", "job_type_id",
	"job_type_name", "job_type_symbol", "last_modified", "machine_name", "machine_platform_architecture",
	"machine_platform_os", "option_collection_hash", "platform", "push_id", "reason", "ref_data_name",
	"result", "result_set_id", "signature", "start_timestamp", "state", "submit_timestamp", "tier", "who",
	"platform_option",
}

func (e *apiEnv) testProjectJobs(t *testing.T) {
	f := &client.JobFilter{PushID: e.push}
	list, err := e.c.ProjectJobs(bg, "mozilla-central", f, &client.ListOptions{Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Results) != 6 || list.Meta != (client.JobListMeta{Repository: "mozilla-central", Offset: 0, Count: 100}) {
		t.Fatalf("project jobs: %d, meta %+v", len(list.Results), list.Meta)
	}
	b := list.Results[0]
	if b.ID != e.jobs["fixture-build/0"] || b.JobGUID != "fixture-build/0" || b.BuildPlatform != "linux64" || b.BuildOS != "linux" ||
		b.MachineName != "linux-worker-900" || b.ResultSetID != e.push || b.SubmitTimestamp != fixtureTime+60 ||
		b.StartTimestamp != fixtureTime+120 || b.EndTimestamp != fixtureTime+270 || b.PlatformOption != "debug" ||
		b.RefDataName != b.Signature || b.Who != "sheriff@example.com" || b.Reason != "scheduled" || b.JobTypeID == 0 {
		t.Fatalf("dict job = %+v", b)
	}
	body := e.raw(t, "/api/project/mozilla-central/jobs/", url.Values{"push_id": {strconv.FormatInt(e.push, 10)}})
	sameKeys(t, "project jobs", keysInOrder(t, body), []string{"results", "meta"})
	sameKeys(t, "project job", keysOf(t, field(t, body, "results"))[0], projectKeys)
	sameKeys(t, "project jobs meta", keysInOrder(t, field(t, body, "meta")), []string{"repository", "offset", "count"})

	rows, err := e.c.ProjectJobRows(bg, "mozilla-central", f, nil)
	if err != nil || !reflect.DeepEqual(rows.JobPropertyNames, projectKeys) || len(rows.Results) != 6 || len(rows.Results[0]) != len(projectKeys) {
		t.Fatalf("list form = %+v, %v", rows, err)
	}
	body = e.raw(t, "/api/project/mozilla-central/jobs/", url.Values{"push_id": {strconv.FormatInt(e.push, 10)}, "return_type": {"list"}})
	sameKeys(t, "project jobs list", keysInOrder(t, body), []string{"results", "job_property_names", "meta"})

	// Default count 10, offset, legacy names.
	def, err := e.c.ProjectJobs(bg, "mozilla-central", nil, nil)
	if err != nil || len(def.Results) != 10 || def.Meta.Count != 10 {
		t.Fatalf("default page: %d, %v", len(def.Results), err)
	}
	off, err := e.c.ProjectJobs(bg, "mozilla-central", f, &client.ListOptions{Offset: 4})
	if err != nil || len(off.Results) != 2 || off.Meta.Offset != 4 {
		t.Fatalf("offset page: %d, %v", len(off.Results), err)
	}
	legacy, err := e.c.ProjectJobs(bg, "mozilla-central", &client.JobFilter{Extra: url.Values{
		"result_set_id":    {strconv.FormatInt(e.push, 10)},
		"submit_timestamp": {strconv.FormatInt(fixtureTime+60, 10)},
	}}, nil)
	if err != nil || len(legacy.Results) != 6 {
		t.Fatalf("legacy filters: %d, %v", len(legacy.Results), err)
	}
	other, err := e.c.ProjectJobs(bg, "autoland", f, nil)
	if err != nil || len(other.Results) != 0 {
		t.Fatalf("another repository's push: %d, %v", len(other.Results), err)
	}
	_, err = e.c.ProjectJobs(bg, "mozilla-central", nil, &client.ListOptions{Count: 2001})
	wantAPIError(t, err, 400, "MAX_JOBS_COUNT")
}

var jobDetailKeys = append(append([]string{}, projectKeys[:len(projectKeys)-1]...),
	"resource_uri", "logs", "platform_option", "task_id", "retry_id", "taskcluster_metadata", "autoclassify_status")

func (e *apiEnv) testJobDetail(t *testing.T) {
	id := e.jobs["fixture-build/0"]
	j, err := e.c.Job(bg, "mozilla-central", id)
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != id || j.ResourceURI != "/api/project/mozilla-central/jobs/"+strconv.FormatInt(id, 10)+"/" || len(j.Logs) != 2 ||
		j.Logs[0] != (client.LogRef{Name: "live_backing_log", URL: "https://example.com/build/live_backing.log"}) ||
		j.TaskID == nil || *j.TaskID != "FixtureTaskBuild000000" || j.TaskclusterMetadata == nil ||
		j.TaskclusterMetadata.TaskID != "FixtureTaskBuild000000" || j.PlatformOption != "debug" || j.AutoclassifyStatus != "pending" {
		t.Fatalf("job detail = %+v", j)
	}
	path := "/api/project/mozilla-central/jobs/" + strconv.FormatInt(id, 10) + "/"
	sameKeys(t, "job detail", keysInOrder(t, e.raw(t, path, nil)), jobDetailKeys)
	sameKeys(t, "log", keysOf(t, field(t, e.raw(t, path, nil), "logs"))[0], []string{"name", "url"})

	// Without task metadata the task keys are left out.
	noTask := keysInOrder(t, e.raw(t, "/api/project/mozilla-central/jobs/"+strconv.FormatInt(e.jobs["fixture-test/0"], 10)+"/", nil))
	sameKeys(t, "job detail without task", noTask, append(append([]string{}, projectKeys[:len(projectKeys)-1]...),
		"resource_uri", "logs", "platform_option", "autoclassify_status"))

	_, err = e.c.Job(bg, "autoland", id)
	wantAPIError(t, err, 404, "No job with id")
	_, err = e.c.Job(bg, "mozilla-central", 987654321)
	wantAPIError(t, err, 404, "No job with id: 987654321")
}

func (e *apiEnv) testJobErrorsAndSuggestions(t *testing.T) {
	test := e.jobs["fixture-test/0"]
	errs, err := e.c.TextLogErrors(bg, "mozilla-central", test)
	if err != nil || len(errs) != 2 || errs[0].Job != test || errs[0].LineNumber != 10 || !errs[0].NewFailure ||
		!strings.HasPrefix(errs[0].Line, "TEST-UNEXPECTED-FAIL") || errs[1].NewFailure {
		t.Fatalf("text_log_errors = %+v, %v", errs, err)
	}
	body := e.raw(t, "/api/project/mozilla-central/jobs/"+strconv.FormatInt(test, 10)+"/text_log_errors/", nil)
	sameKeys(t, "text log error", keysOf(t, body)[0], []string{"id", "job", "line", "line_number", "new_failure"})
	none, err := e.c.TextLogErrors(bg, "mozilla-central", e.jobs["fixture-build/0"])
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("no errors must be [], got %v, %v", none, err)
	}

	sugg, err := e.c.BugSuggestions(bg, "mozilla-central", test)
	if err != nil || sugg == nil || len(sugg) != 0 {
		t.Fatalf("bug_suggestions = %v, %v", sugg, err)
	}
	_, err = e.c.BugSuggestions(bg, "mozilla-central", 987654321)
	wantAPIError(t, err, 404, "No job with id")
	_, err = e.c.TextLogErrors(bg, "try", test)
	wantAPIError(t, err, 404, "No job with id")
}

func (e *apiEnv) testSimilarJobs(t *testing.T) {
	// A demo job: the same job type runs on every push of every repository.
	page, err := e.c.Jobs(bg, &client.JobFilter{Extra: url.Values{"job_type_name": {"test-linux64/opt-xpcshell-1"}}}, 1, 0)
	// 18 demo jobs and the fixture push's running one.
	if err != nil || page.Count != 3*6+1 {
		t.Fatalf("xpcshell jobs: %d, %v", page.Count, err)
	}
	var oldest client.JobSummary
	for _, j := range page.Results {
		if oldest.ID == 0 || j.PushID < oldest.PushID {
			oldest = j
		}
	}
	var repo string
	for _, name := range []string{"mozilla-central", "autoland", "try"} {
		if _, err := e.c.Job(bg, name, oldest.ID); err == nil {
			repo = name
		}
	}
	similar, err := e.c.SimilarJobs(bg, repo, oldest.ID, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// The other five demo pushes of the repository (the fixture push's
	// xpcshell job has a job type of its own name, so it matches too when
	// the repository is mozilla-central).
	if len(similar.Results) < 5 || similar.Meta.Count != 50 || similar.Meta.Repository != repo {
		t.Fatalf("similar jobs: %d, meta %+v", len(similar.Results), similar.Meta)
	}
	for i, j := range similar.Results {
		if j.ID == oldest.ID || j.JobTypeName != "test-linux64/opt-xpcshell-1" {
			t.Fatalf("similar job %+v", j)
		}
		if i > 0 && j.PushID > similar.Results[i-1].PushID {
			t.Fatal("similar jobs not newest push first")
		}
	}
	body := e.raw(t, "/api/project/"+repo+"/jobs/"+strconv.FormatInt(oldest.ID, 10)+"/similar_jobs/", nil)
	sameKeys(t, "similar jobs meta", keysInOrder(t, field(t, body, "meta")), []string{"offset", "count", "repository"})
	noSuccess, err := e.c.SimilarJobs(bg, repo, oldest.ID, &client.ListOptions{Count: 2}, true)
	if err != nil || len(noSuccess.Results) > 2 {
		t.Fatalf("nosuccess: %+v, %v", noSuccess, err)
	}
	for _, j := range noSuccess.Results {
		if j.Result == "success" {
			t.Fatalf("nosuccess returned a success: %+v", j)
		}
	}
}

func (e *apiEnv) testJobLogURL(t *testing.T) {
	build, test := e.jobs["fixture-build/0"], e.jobs["fixture-test/0"]
	logs, err := e.c.JobLogs(bg, "mozilla-central", build, test)
	if err != nil || len(logs) != 3 {
		t.Fatalf("job-log-url = %+v, %v", logs, err)
	}
	if logs[0].JobID != build || logs[0].ParseStatus != "parsed" || logs[1].Name != "errorsummary_json" || logs[1].ParseStatus != "pending" || logs[2].JobID != test {
		t.Fatalf("logs = %+v", logs)
	}
	body := e.raw(t, "/api/project/mozilla-central/job-log-url/", url.Values{"job_id": {strconv.FormatInt(build, 10)}})
	sameKeys(t, "job log", keysOf(t, body)[0], []string{"id", "job_id", "name", "url", "parse_status"})
	var one client.JobLog
	if err := e.c.Get(bg, "/api/project/mozilla-central/job-log-url/"+strconv.FormatInt(logs[0].ID, 10)+"/", nil, &one); err != nil || one != logs[0] {
		t.Fatalf("job-log-url detail = %+v, %v", one, err)
	}
	other, err := e.c.JobLogs(bg, "autoland", build)
	if err != nil || len(other) != 0 {
		t.Fatalf("another repository's logs: %+v, %v", other, err)
	}
	_, err = e.c.JobLogs(bg, "mozilla-central")
	wantAPIError(t, err, 400, "job_id")
}

func (e *apiEnv) testNotesAndBugJobMap(t *testing.T) {
	classified, test, build := e.jobs["fixture-classified/0"], e.jobs["fixture-test/0"], e.jobs["fixture-build/0"]
	notes, err := e.c.Notes(bg, "mozilla-central", classified)
	want := []client.Note{{ID: notes[0].ID, JobID: classified, FailureClassificationID: 4,
		Created: time.Unix(fixtureTime+1000, 0).UTC().Format("2006-01-02T15:04:05"), Who: "sheriff@example.com", Text: "flaky again"}}
	if err != nil || !reflect.DeepEqual(notes, want) {
		t.Fatalf("notes = %+v, %v", notes, err)
	}
	auto, err := e.c.Notes(bg, "mozilla-central", test)
	if err != nil || len(auto) != 1 || auto[0].Who != "autoclassifier" || auto[0].FailureClassificationID != 7 {
		t.Fatalf("autoclassifier note = %+v, %v", auto, err)
	}
	body := e.raw(t, "/api/project/mozilla-central/note/", url.Values{"job_id": {strconv.FormatInt(classified, 10)}})
	sameKeys(t, "note", keysOf(t, body)[0], []string{"id", "job_id", "failure_classification_id", "created", "who", "text"})
	if none, err := e.c.Notes(bg, "mozilla-central", build); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("a job without notes: %v, %v", none, err)
	}
	_, err = e.c.Notes(bg, "mozilla-central", 987654321)
	wantAPIError(t, err, 404, "No job with id")

	maps, err := e.c.BugJobMaps(bg, "mozilla-central", classified, test, build)
	if err != nil || len(maps) != 3 {
		t.Fatalf("bug-job-map = %+v, %v", maps, err)
	}
	if m := maps[0]; m.JobID != classified || m.BugID == nil || *m.BugID != 1700001 || m.BugInternalID != 1 || m.Who != "sheriff@example.com" {
		t.Errorf("first link = %+v", m)
	}
	if m := maps[1]; m.Who != "autoclassifier" {
		t.Errorf("second link = %+v", m)
	}
	if m := maps[2]; m.JobID != build || m.BugID != nil || m.BugInternalID != 2 {
		t.Errorf("internal issue link = %+v", m)
	}
	body = e.raw(t, "/api/project/mozilla-central/bug-job-map/", url.Values{"job_id": {strconv.FormatInt(classified, 10)}})
	sameKeys(t, "bug job map", keysOf(t, body)[0], []string{"job_id", "bug_id", "bug_internal_id", "created", "who"})
	if other, err := e.c.BugJobMaps(bg, "autoland", classified); err != nil || len(other) != 0 {
		t.Fatalf("another repository's links: %v, %v", other, err)
	}
}

func (e *apiEnv) testIntermittentFailures(t *testing.T) {
	day := time.Unix(fixtureTime, 0).UTC().Format("2006-01-02")
	f := client.FailureFilter{StartDay: day, EndDay: day, Tree: "mozilla-central"}
	counts, err := e.c.Failures(bg, f)
	if err != nil || len(counts) != 2 || counts[0].BugID == nil || *counts[0].BugID != 1700001 || counts[0].BugCount != 2 ||
		counts[1].BugID != nil || counts[1].BugCount != 1 {
		t.Fatalf("failures = %+v, %v", counts, err)
	}
	sameKeys(t, "failures", keysOf(t, e.raw(t, "/api/failures/", url.Values{"startday": {day}, "endday": {day}, "tree": {"trunk"}}))[0],
		[]string{"bug_id", "bug_count"})
	for _, tree := range []string{"all", "trunk"} {
		if got, err := e.c.Failures(bg, client.FailureFilter{StartDay: day, EndDay: day, Tree: tree}); err != nil || len(got) != 2 {
			t.Errorf("tree %s: %+v, %v", tree, got, err)
		}
	}
	if got, err := e.c.Failures(bg, client.FailureFilter{StartDay: "2024-04-01", EndDay: "2024-04-02", Tree: "all"}); err != nil || got == nil || len(got) != 0 {
		t.Errorf("no failures must be []: %v, %v", got, err)
	}
	if got, err := e.c.Failures(bg, client.FailureFilter{StartDay: day, EndDay: day, Tree: "autoland"}); err != nil || len(got) != 0 {
		t.Errorf("autoland: %v, %v", got, err)
	}

	f.Bug = 1700001
	byBug, err := e.c.FailuresByBug(bg, f)
	if err != nil || len(byBug) != 2 {
		t.Fatalf("failuresbybug = %+v, %v", byBug, err)
	}
	withLines := byBug[0]
	if withLines.JobID != e.jobs["fixture-test/0"] {
		withLines = byBug[1]
	}
	if withLines.PushTime != time.Unix(fixtureTime, 0).UTC().Format("2006-01-02 15:04:05") || withLines.Platform != "linux64" ||
		withLines.Revision != fixtureRev || withLines.TestSuite != "test-linux64/opt-mochitest-plain-1" || withLines.Tree != "mozilla-central" ||
		withLines.BuildType != "opt" || withLines.MachineName != "linux-worker-900" || withLines.TaskID != "" ||
		!reflect.DeepEqual(withLines.Lines, []string{"TEST-UNEXPECTED-FAIL | dom/tests/test_a.html | assertion failed"}) {
		t.Fatalf("failure by bug = %+v", withLines)
	}
	sameKeys(t, "failuresbybug", keysOf(t, e.raw(t, "/api/failuresbybug/", url.Values{"startday": {day}, "endday": {day}, "tree": {"all"}, "bug": {"1700001"}}))[0],
		[]string{"push_time", "platform", "revision", "test_suite", "tree", "build_type", "job_id", "bug_id", "machine_name", "lines", "task_id"})

	perDay, err := e.c.FailureCount(bg, f)
	if err != nil {
		t.Fatal(err)
	}
	var total, failures int64
	for _, d := range perDay {
		total += d.TestRuns
		failures += d.FailureCount
	}
	if total != 7 || failures != 2 || perDay[len(perDay)-1].Date != day {
		t.Fatalf("failurecount = %+v", perDay)
	}
	f.Bug = 0
	perDay, err = e.c.FailureCount(bg, f)
	failures = 0
	for _, d := range perDay {
		failures += d.FailureCount
	}
	if err != nil || failures != 1 {
		t.Fatalf("failurecount of jobs classified intermittent = %+v, %v", perDay, err)
	}
	sameKeys(t, "failurecount", keysOf(t, e.raw(t, "/api/failurecount/", url.Values{"startday": {day}, "endday": {day}, "tree": {"all"}}))[0],
		[]string{"date", "test_runs", "failure_count"})
}

func (e *apiEnv) testPerformance(t *testing.T) {
	sigs, err := e.c.PerformanceSignatures(bg, "mozilla-central", nil)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("signatures = %+v, %v", sigs, err)
	}
	parent, child := sigs[0], sigs[1]
	if parent.SignatureHash != strings.Repeat("1", 40) || parent.FrameworkID != 1 || parent.MachinePlatform != "linux64" ||
		parent.Suite != "tp5o" || !parent.HasSubtests || !reflect.DeepEqual(parent.Tags, []string{"a", "b"}) || parent.LowerIsBetter != nil {
		t.Fatalf("parent signature = %+v", parent)
	}
	if child.ParentSignature != parent.SignatureHash || child.LowerIsBetter == nil || *child.LowerIsBetter || child.Test != "facebook.com" ||
		child.MeasurementUnit != "ms" || !reflect.DeepEqual(child.ExtraOptions, []string{"e10s", "fission"}) ||
		child.ShouldAlert == nil || !*child.ShouldAlert || child.AlertThreshold == nil || *child.AlertThreshold != 2.5 {
		t.Fatalf("child signature = %+v", child)
	}
	body := e.raw(t, "/api/project/mozilla-central/performance/signatures/", nil)
	sameKeys(t, "signatures map", keysInOrder(t, body), []string{"1", "2"})
	sameKeys(t, "parent signature", keysInOrder(t, field(t, body, "1")), []string{"id", "signature_hash", "framework_id",
		"option_collection_hash", "machine_platform", "suite", "should_alert", "alert_change_type", "alert_threshold",
		"min_back_window", "max_back_window", "fore_window", "has_subtests", "tags"})
	for q, want := range map[string]int{"subtests=0": 1, "parent_signature=" + parent.SignatureHash: 1, "framework=2": 0,
		"platform=linux64&framework=1": 2, "id=2": 1, "signature=" + child.SignatureHash: 1, "interval=86400": 0} {
		v, _ := url.ParseQuery(q)
		got, err := e.c.PerformanceSignatures(bg, "mozilla-central", v)
		if err != nil || len(got) != want {
			t.Errorf("signatures?%s: %d, %v; want %d", q, len(got), err, want)
		}
	}

	data, err := e.c.PerformanceData(bg, "mozilla-central", url.Values{"push_id": {strconv.FormatInt(e.push, 10)}})
	if err != nil || len(data) != 2 || len(data[parent.SignatureHash]) != 1 || len(data[child.SignatureHash]) != 2 {
		t.Fatalf("performance data = %+v, %v", data, err)
	}
	d := data[parent.SignatureHash][0]
	if d.Value != 1.23 || d.JobID == nil || *d.JobID != e.jobs["fixture-build/0"] || d.Revision != fixtureRev || d.PushTimestamp != fixtureTime || d.SignatureID != 1 {
		t.Fatalf("datum = %+v", d)
	}
	body = e.raw(t, "/api/project/mozilla-central/performance/data/", url.Values{"signature_id": {"1"}})
	sameKeys(t, "datum", keysOf(t, field(t, body, parent.SignatureHash))[0], []string{"id", "signature_id", "job_id", "push_id", "revision", "push_timestamp", "value"})
	once, err := e.c.PerformanceData(bg, "mozilla-central", url.Values{"signatures": {child.SignatureHash}, "no_retriggers": {"true"}})
	if err != nil || len(once[child.SignatureHash]) != 1 {
		t.Fatalf("no_retriggers = %+v, %v", once, err)
	}
	byJob, err := e.c.PerformanceData(bg, "mozilla-central", url.Values{"job_id": {strconv.FormatInt(e.jobs["fixture-test/0"], 10)}})
	if err != nil || len(byJob) != 1 || len(byJob[child.SignatureHash]) != 1 {
		t.Fatalf("by job = %+v, %v", byJob, err)
	}
	_, err = e.c.PerformanceData(bg, "mozilla-central", nil)
	wantAPIError(t, err, 400, "Need to specify")
}

// testBadInput: every malformed request gets a 4xx with a JSON reason.
func (e *apiEnv) testBadInput(t *testing.T) {
	job := strconv.FormatInt(e.jobs["fixture-test/0"], 10)
	push := strconv.FormatInt(e.push, 10)
	day := url.Values{"startday": {"2024-05-01"}, "endday": {"2024-05-01"}, "tree": {"all"}}
	with := func(v url.Values, k, val string) url.Values {
		out := url.Values{}
		for key, vs := range v {
			out[key] = vs
		}
		if val == "" {
			out.Del(k)
		} else {
			out.Set(k, val)
		}
		return out
	}
	cases := []struct {
		path     string
		query    url.Values
		status   int
		contains string
	}{
		// Unknown repository, revision, push, job, page.
		{"/api/project/nope/push/", nil, 404, "No project with name nope"},
		{"/api/project/nope/jobs/", nil, 404, "No project with name nope"},
		{"/api/project/nope/jobs/1/", nil, 404, "No project"},
		{"/api/project/nope/job-log-url/", url.Values{"job_id": {"1"}}, 404, "No project"},
		{"/api/project/nope/note/", url.Values{"job_id": {"1"}}, 404, "No project"},
		{"/api/project/nope/bug-job-map/", url.Values{"job_id": {"1"}}, 404, "No project"},
		{"/api/project/nope/performance/signatures/", nil, 404, "No project"},
		{"/api/project/nope/performance/data/", url.Values{"signature_id": {"1"}}, 404, "No project"},
		{"/api/project/nope/push/health_summary/", url.Values{"author": {"a"}}, 404, "No project"},
		{"/api/project/mozilla-central/push/", url.Values{"fromchange": {"deadbeef"}}, 404, "No push with revision: deadbeef"},
		{"/api/project/mozilla-central/push/", url.Values{"tochange": {strings.Repeat("d", 40)}}, 404, "No push with revision"},
		{"/api/project/mozilla-central/push/987654/", nil, 404, "No push with id: 987654"},
		{"/api/project/mozilla-central/push/987654/status/", nil, 404, "No push with id"},
		{"/api/project/mozilla-central/jobs/987654/similar_jobs/", nil, 404, "No job with id"},
		{"/api/project/mozilla-central/jobs/987654/text_log_errors/", nil, 404, "No job with id"},
		{"/api/project/mozilla-central/job-log-url/987654/", nil, 404, "No job log with id"},
		{"/api/jobs/", url.Values{"push_id": {push}, "page": {"2"}}, 404, "Invalid page"},
		// Out-of-range counts.
		{"/api/project/mozilla-central/push/", url.Values{"count": {"1001"}}, 400, "exceeds api limit: 1000"},
		{"/api/project/mozilla-central/push/", url.Values{"count": {"0"}}, 400, "count"},
		{"/api/project/mozilla-central/push/", url.Values{"count": {"ten"}}, 400, "Valid count value required"},
		{"/api/jobs/", url.Values{"count": {"2001"}}, 400, "count"},
		{"/api/jobs/", url.Values{"count": {"-1"}}, 400, "count"},
		{"/api/jobs/", url.Values{"page": {"0"}}, 400, "page"},
		{"/api/project/mozilla-central/jobs/", url.Values{"count": {"2001"}}, 400, "MAX_JOBS_COUNT value: 2000"},
		{"/api/project/mozilla-central/jobs/", url.Values{"offset": {"-5"}}, 400, "offset"},
		{"/api/project/mozilla-central/jobs/" + job + "/similar_jobs/", url.Values{"count": {"x"}}, 400, "count"},
		// Malformed dates.
		{"/api/project/mozilla-central/push/", url.Values{"startdate": {"2024-13-01"}}, 400, "startdate"},
		{"/api/project/mozilla-central/push/", url.Values{"enddate": {"yesterday"}}, 400, "enddate"},
		{"/api/project/mozilla-central/push/", url.Values{"push_timestamp__gte": {"soon"}}, 400, "push_timestamp__gte"},
		{"/api/jobs/", url.Values{"last_modified__gt": {"2024-05-01T25:00:00"}}, 400, "last_modified__gt"},
		{"/api/jobs/", url.Values{"submit_time__lt": {"1714560000"}}, 400, "submit_time__lt"},
		{"/api/project/mozilla-central/jobs/", url.Values{"submit_timestamp": {"noon"}}, 400, "submit_timestamp"},
		{"/api/failures/", with(day, "startday", "2024/05/01"), 400, "startday"},
		{"/api/failurecount/", with(day, "endday", ""), 400, "endday"},
		{"/api/project/mozilla-central/performance/signatures/", url.Values{"start_date": {"last week"}}, 400, "start_date"},
		{"/api/project/mozilla-central/performance/signatures/", url.Values{"interval": {"60"}, "start_date": {"2024-01-01T00:00:00"}}, 400, "either interval"},
		// Non-numeric ids.
		{"/api/project/mozilla-central/push/abc/", nil, 400, "positive integer"},
		{"/api/project/mozilla-central/push/abc/status/", nil, 400, "positive integer"},
		{"/api/project/mozilla-central/jobs/abc/", nil, 400, "positive integer"},
		{"/api/project/mozilla-central/jobs/-1/text_log_errors/", nil, 400, "positive integer"},
		{"/api/project/mozilla-central/job-log-url/", url.Values{"job_id": {"x"}}, 400, "integers"},
		{"/api/project/mozilla-central/note/", url.Values{"job_id": {"x"}}, 400, "integer"},
		{"/api/project/mozilla-central/bug-job-map/", url.Values{"job_id": {"1,x"}}, 400, "Valid job_id required"},
		{"/api/project/mozilla-central/push/", url.Values{"id__in": {"1,two"}}, 400, "id__in"},
		{"/api/project/mozilla-central/push/", url.Values{"id": {"one"}}, 400, "id"},
		{"/api/jobs/", url.Values{"push_id": {"x"}}, 400, "push_id"},
		{"/api/jobs/", url.Values{"id__in": {"1,b"}}, 400, "id__in"},
		{"/api/taskclustermetadata/", url.Values{"job_ids": {"1,a"}}, 400, "job_ids"},
		{"/api/failuresbybug/", with(day, "bug", "abc"), 400, "bug"},
		{"/api/project/mozilla-central/performance/signatures/", url.Values{"id": {"x"}}, 400, "id"},
		{"/api/project/mozilla-central/performance/data/", url.Values{"job_id": {"x"}}, 400, "integers"},
		// Missing required parameters.
		{"/api/taskclustermetadata/", nil, 400, "job_ids parameter is mandatory"},
		{"/api/project/mozilla-central/note/", nil, 400, "job_id"},
		{"/api/project/mozilla-central/bug-job-map/", nil, 400, "job_id"},
		{"/api/failuresbybug/", day, 400, "bug parameter is mandatory"},
		{"/api/failures/", with(day, "tree", "no-such-tree"), 400, "no-such-tree does not exist"},
		{"/api/project/mozilla-central/push/health_summary/", nil, 400, "revision or author"},
		{"/api/project/mozilla-central/push/", url.Values{"commit_revision": {"abc"}}, 400, "40 character"},
		{"/api/project/mozilla-central/performance/data/", url.Values{"signature_id": {"1"}, "signatures": {"x"}}, 400, "both"},
		// Unknown parameters and values.
		{"/api/jobs/", url.Values{"push": {push}}, 400, "Unknown query parameter: push"},
		{"/api/jobs/", url.Values{"result_set_id": {push}}, 400, "result_set_id"},
		{"/api/jobs/", url.Values{"job_type_name__in": {"a,b"}}, 400, "job_type_name__in"},
		{"/api/jobs/", url.Values{"id__ne": {"1"}}, 400, "id__ne"},
		{"/api/project/mozilla-central/push/", url.Values{"revsion": {"abc"}}, 400, "revsion"},
		{"/api/project/mozilla-central/jobs/", url.Values{"return_type": {"xml"}}, 400, "return_type"},
		{"/api/project/mozilla-central/jobs/", url.Values{"bogus": {"1"}, "zzz": {"2"}}, 400, "bogus, zzz"},
		{"/api/project/mozilla-central/jobs/" + job + "/", url.Values{"x": {"1"}}, 400, "Unknown query parameter"},
		{"/api/project/mozilla-central/job-log-url/", url.Values{"job_id": {job}, "jobid": {"1"}}, 400, "jobid"},
		{"/api/project/mozilla-central/note/", url.Values{"job_id": {job}, "extra": {"1"}}, 400, "extra"},
		{"/api/project/mozilla-central/bug-job-map/", url.Values{"job_id": {job}, "bug": {"1"}}, 400, "bug"},
		{"/api/failures/", with(day, "repo", "x"), 400, "repo"},
		{"/api/optioncollectionhash/", url.Values{"x": {"1"}}, 400, "x"},
		{"/api/machineplatforms/", url.Values{"format": {"yaml"}}, 400, "format"},
		{"/api/project/mozilla-central/performance/data/", url.Values{"push_id": {push}, "signature": {"a"}}, 400, "signature"},
		{"/api/project/mozilla-central/push/" + push + "/status/", url.Values{"verbose": {"1"}}, 400, "verbose"},
	}
	for _, c := range cases {
		_, err := e.c.Raw(bg, c.path, c.query, nil)
		var apiErr *client.Error
		if !errors.As(err, &apiErr) {
			t.Errorf("GET %s?%s: want %d, got %v", c.path, c.query.Encode(), c.status, err)
			continue
		}
		if apiErr.StatusCode != c.status || !strings.Contains(apiErr.Detail, c.contains) {
			t.Errorf("GET %s?%s = %d %q, want %d containing %q", c.path, c.query.Encode(), apiErr.StatusCode, apiErr.Detail, c.status, c.contains)
		}
	}
	// A 404 is ErrNotFound to callers, a 400 ErrBadRequest.
	_, err := e.c.Push(bg, "mozilla-central", 987654)
	if !errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("errors.Is on %v", err)
	}
	_, err = e.c.Pushes(bg, "mozilla-central", &client.PushFilter{Count: 5000})
	if !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("errors.Is(ErrBadRequest) on %v", err)
	}
	// A malformed query string is refused, not guessed at.
	resp, err := e.srv.Client().Get(e.srv.URL + "/api/jobs/?push_id=%zz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("malformed query: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func (e *apiEnv) testHeadersAndVersions(t *testing.T) {
	// Reads are open to any origin, errors included.
	for _, path := range []string{"/api/jobs/?push_id=1", "/api/project/nope/push/"} {
		resp, err := e.srv.Client().Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS header", path)
		}
	}
	req, _ := http.NewRequest(http.MethodOptions, e.srv.URL+"/api/project/mozilla-central/push/", nil)
	req.Header.Set("Origin", "https://example.org")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// Accept-header versioning: 1.0 and 1.1 are served, others refused.
	for version, status := range map[string]int{"1.0": 200, "1.1": 200, "2.0": 406} {
		_, err := e.c.Raw(bg, "/api/machineplatforms/", nil, http.Header{"Accept": {"application/json; version=" + version}})
		switch {
		case status == 200 && err != nil:
			t.Errorf("version %s: %v", version, err)
		case status != 200:
			wantAPIError(t, err, status, "version")
		}
	}
}

func (e *apiEnv) testSchema(t *testing.T) {
	doc, err := e.c.Schema(bg)
	if err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	want := []string{"/api/repository/", "/api/repository/{id}/", "/api/failureclassification/", "/api/optioncollectionhash/",
		"/api/machineplatforms/", "/api/taskclustermetadata/", "/api/project/{project}/push/", "/api/project/{project}/push/{id}/",
		"/api/project/{project}/push/{id}/status/", "/api/project/{project}/push/health_summary/", "/api/jobs/",
		"/api/project/{project}/jobs/", "/api/project/{project}/jobs/{id}/", "/api/project/{project}/jobs/{id}/text_log_errors/",
		"/api/project/{project}/jobs/{id}/bug_suggestions/", "/api/project/{project}/jobs/{id}/similar_jobs/",
		"/api/project/{project}/job-log-url/", "/api/project/{project}/job-log-url/{id}/", "/api/project/{project}/note/",
		"/api/project/{project}/bug-job-map/", "/api/failures/", "/api/failuresbybug/", "/api/failurecount/",
		"/api/project/{project}/performance/signatures/", "/api/project/{project}/performance/data/", "/api/schema/"}
	for _, p := range want {
		if item, ok := paths[p].(map[string]any); !ok || item["get"] == nil {
			t.Errorf("GET %s is not documented", p)
		}
	}
	// Every documented path is routed: a request reaches a handler (any
	// answer but the router's own "Not found: <path>").
	for p := range paths {
		concrete := strings.NewReplacer("{project}", "mozilla-central", "{id}", "1").Replace(p)
		_, err := e.c.Raw(bg, concrete, nil, nil)
		var apiErr *client.Error
		if errors.As(err, &apiErr) && strings.HasPrefix(apiErr.Detail, "Not found: ") {
			t.Errorf("%s is documented but not routed", p)
		}
	}
	// The documented job filters are the ones the endpoint accepts.
	jobs := paths["/api/jobs/"].(map[string]any)["get"].(map[string]any)
	for p, item := range paths {
		for method, op := range item.(map[string]any) {
			if op.(map[string]any)["operationId"] == "" {
				t.Errorf("%s %s has no operationId", method, p)
			}
		}
	}
	for _, raw := range jobs["parameters"].([]any) {
		name := raw.(map[string]any)["name"].(string)
		if name == "count" || name == "page" {
			continue
		}
		if _, err := e.c.Raw(bg, "/api/jobs/", url.Values{name: {"1"}, "count": {"1"}}, nil); errors.Is(err, client.ErrBadRequest) &&
			strings.Contains(err.Error(), "Unknown query parameter") {
			t.Errorf("documented filter %s is refused", name)
		}
	}
	// The compact format's columns are documented in order.
	compact := doc["components"].(map[string]any)["schemas"].(map[string]any)["CompactJobs"].(map[string]any)
	order, _ := json.Marshal(compact["x-property-order"])
	if string(order) != `["count","next","previous","results","job_property_names"]` {
		t.Errorf("compact jobs schema order = %s", order)
	}

	resp, err := e.srv.Client().Get(e.srv.URL + "/docs/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		page.Write(buf[:n])
		if err != nil {
			break
		}
	}
	html := page.String()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(html, "/api/schema/") {
		t.Fatalf("docs page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if regexp.MustCompile(`(src|href)=["']?(https?:)?//`).MatchString(html) || strings.Contains(html, "@import") {
		t.Fatal("the docs page loads something from elsewhere")
	}
}

// testPollingLastModified follows the UI's polling: jobs of some pushes
// changed after the newest last_modified it has seen.
func (e *apiEnv) testPollingLastModified(t *testing.T) {
	page, err := e.c.Jobs(bg, &client.JobFilter{PushIDs: []int64{e.push}}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var newest time.Time
	for _, j := range page.Results {
		ts, err := time.Parse("2006-01-02T15:04:05.999999", j.LastModified)
		if err != nil {
			t.Fatalf("last_modified %q: %v", j.LastModified, err)
		}
		if ts.After(newest) {
			newest = ts
		}
	}
	poll := &client.JobFilter{PushIDs: []int64{e.push}, LastModifiedGT: newest}
	if none, err := e.c.Jobs(bg, poll, 1, 0); err != nil || len(none.Results) != 0 {
		t.Fatalf("nothing changed yet: %+v, %v", none, err)
	}
	time.Sleep(2 * time.Millisecond)
	done := fixtureJob("fixture-running/0", "test-linux64/opt-xpcshell-1", "X1", "XPCShell", "X", sdk.StateCompleted, sdk.ResultSuccess, 1)
	done.Job.StartTimestamp, done.Job.EndTimestamp = fixtureTime+100, fixtureTime+400
	if err := e.pipe.StoreJobData(bg, "test", []sdk.JobDatum{done}); err != nil {
		t.Fatal(err)
	}
	changed, err := e.c.Jobs(bg, poll, 1, 0)
	if err != nil || len(changed.Results) != 1 || changed.Results[0].ID != e.jobs["fixture-running/0"] ||
		changed.Results[0].State != "completed" || changed.Results[0].Duration != 5 {
		t.Fatalf("changed jobs = %+v, %v", changed, err)
	}
}
