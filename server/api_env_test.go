package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/demo"
	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/client"
	"github.com/herder-ci/herder/server"
)

// apiNow is the demo dataset's clock: pushes are an hour or so before it.
var apiNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

var (
	fixtureRev = strings.Repeat("f", 40)
	// fixtureTime is the fixture push's time: newer than every demo push.
	fixtureTime = apiNow.Unix() + 600
)

// apiEnv is a real server over a real store, loaded through the ingest
// pipeline with the demo dataset plus a fixture push whose every value the
// tests know.
type apiEnv struct {
	backend string
	srv     *httptest.Server
	c       *client.Client
	st      *sqlstore.Store
	pipe    *ingest.Pipeline
	push    int64            // the fixture push's id
	jobs    map[string]int64 // fixture job guid -> id
}

func openStore(t *testing.T, backend string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	var st *sqlstore.Store
	var err error
	if backend == "mysql" {
		st, err = sqlstore.OpenMySQL(ctx, testenv.MySQLDSN(t))
	} else {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "api.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SeedFailureClassifications(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func seedRepositories(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	dev := model.RepositoryGroup{ID: 1, Name: "development", Description: "where code lands"}
	try := model.RepositoryGroup{ID: 3, Name: "try", Description: "try pushes"}
	order := 10
	if err := st.UpsertRepositories(context.Background(), []model.RepositoryGroup{dev, try}, []model.Repository{
		{ID: 1, Name: "mozilla-central", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/mozilla-central",
			Codebase: "gecko", ActiveStatus: "active", LifeCycleOrder: &order, TCRootURL: "https://firefox-ci-tc.services.mozilla.com"},
		{ID: 4, Name: "try", Group: try, DVCSType: "hg", URL: "https://hg.mozilla.org/try", IsTryRepo: true, ActiveStatus: "active"},
		{ID: 5, Name: "old-repo", Group: dev, DVCSType: "git", URL: "https://example.com/old", ActiveStatus: "onhold"},
		{ID: 77, Name: "autoland", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/integration/autoland", ActiveStatus: "active"},
	}); err != nil {
		t.Fatal(err)
	}
}

func fixtureJob(guid, name, symbol, group, groupSymbol, state, result string, tier int) sdk.JobDatum {
	return sdk.JobDatum{
		Project: "mozilla-central", Revision: fixtureRev,
		Job: sdk.Job{
			JobGUID: guid, Name: name, JobSymbol: symbol, GroupName: group, GroupSymbol: groupSymbol,
			ProductName: "firefox", Reason: "scheduled", Who: "sheriff@example.com", State: state, Result: result,
			Tier: tier, BuildSystemType: "taskcluster", Machine: "linux-worker-900",
			BuildPlatform:    sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			MachinePlatform:  sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
			OptionCollection: map[string]bool{"opt": true},
			SubmitTimestamp:  fixtureTime + 60,
		},
	}
}

func newAPIEnv(t *testing.T, backend string) *apiEnv {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, backend)
	seedRepositories(t, st)
	pipe := ingest.NewPipeline(st, nil, nil)
	if err := pipe.Accept(ctx, "demo", demo.Events(demo.Options{Now: apiNow})); err != nil {
		t.Fatalf("load demo: %v", err)
	}

	push := sdk.PushDatum{Project: "mozilla-central", Revision: fixtureRev, Author: "Sheriff@Example.com", PushTimestamp: fixtureTime}
	for i := 0; i < 25; i++ {
		rev := fmt.Sprintf("%040x", 0xc0ffee00+i)
		if i == 24 {
			rev = fixtureRev
		}
		push.Revisions = append(push.Revisions, sdk.Revision{Revision: rev, Author: "Sheriff <sheriff@example.com>",
			Comment: fmt.Sprintf("Bug %d - fixture change %d r=reviewer", 1800000+i, i)})
	}
	build := fixtureJob("fixture-build/0", "build-linux64/debug", "B", "", "", sdk.StateCompleted, sdk.ResultBusted, 1)
	build.Job.OptionCollection = map[string]bool{"debug": true}
	build.Job.StartTimestamp, build.Job.EndTimestamp = fixtureTime+120, fixtureTime+270
	build.Job.TaskclusterTaskID = "FixtureTaskBuild000000"
	build.Job.LogReferences = []sdk.LogReference{
		{Name: sdk.LogLiveBacking, URL: "https://example.com/build/live_backing.log", ParseStatus: "parsed"},
		{Name: sdk.LogErrorSummary, URL: "https://example.com/build/errorsummary.log"},
	}
	test := fixtureJob("fixture-test/0", "test-linux64/opt-mochitest-plain-1", "1", "Mochitests", "M", sdk.StateCompleted, sdk.ResultTestFailed, 2)
	test.Job.StartTimestamp, test.Job.EndTimestamp = fixtureTime+100, fixtureTime+130
	test.Job.LogReferences = []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: "https://example.com/test/live_backing.log"}}
	pending := fixtureJob("fixture-pending/0", "test-linux64/opt-jsreftest-1", "J1", "", "", sdk.StatePending, sdk.ResultUnknown, 3)
	running := fixtureJob("fixture-running/0", "test-linux64/opt-xpcshell-1", "X1", "XPCShell", "X", sdk.StateRunning, sdk.ResultUnknown, 1)
	running.Job.StartTimestamp = fixtureTime + 100
	classified := fixtureJob("fixture-classified/0", "test-linux64/opt-reftest-1", "R1", "Reftests", "R", sdk.StateCompleted, sdk.ResultSuccess, 1)
	superseded := fixtureJob("fixture-superseded/0", "test-linux64/opt-reftest-2", "R2", "Reftests", "R", sdk.StateCompleted, sdk.ResultSuperseded, 1)
	events := []sdk.Event{{ID: "fixture-push", Push: &push}}
	for _, d := range []sdk.JobDatum{build, test, pending, running, classified, superseded} {
		d := d
		events = append(events, sdk.Event{ID: "fixture-" + d.Job.JobGUID, Job: &d})
	}
	if err := pipe.Accept(ctx, "fixture", events); err != nil {
		t.Fatalf("load fixture: %v", err)
	}

	env := &apiEnv{backend: backend, st: st, pipe: pipe, jobs: map[string]int64{}}
	ids, err := st.PushIDs(ctx, 1, []string{fixtureRev})
	if err != nil || ids[fixtureRev] == 0 {
		t.Fatalf("fixture push: %v %v", ids, err)
	}
	env.push = ids[fixtureRev]
	stored, err := st.JobsByGUID(ctx, []string{"fixture-build/0", "fixture-test/0", "fixture-pending/0",
		"fixture-running/0", "fixture-classified/0", "fixture-superseded/0"})
	if err != nil || len(stored) != 6 {
		t.Fatalf("fixture jobs: %d, %v", len(stored), err)
	}
	for _, j := range stored {
		env.jobs[j.GUID] = j.ID
	}
	env.annotate(t)

	srv := httptest.NewServer(server.New(server.Options{Store: st, Registry: prometheus.NewRegistry()}))
	t.Cleanup(srv.Close)
	env.srv = srv
	env.c = client.New(srv.URL, client.WithHTTPClient(srv.Client()))
	return env
}

func sqlExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// annotate writes what no store method writes yet: a classification, error
// lines, notes, bug links and performance data.
func (e *apiEnv) annotate(t *testing.T) {
	t.Helper()
	db := e.st.DB()
	build, test, classified := e.jobs["fixture-build/0"], e.jobs["fixture-test/0"], e.jobs["fixture-classified/0"]
	sqlExec(t, db, "UPDATE job SET failure_classification_id = 4 WHERE id = ?", classified)
	u, err := e.st.EnsureUser(context.Background(), "sheriff", "sheriff@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	sqlExec(t, db, "INSERT INTO text_log_error (job_id, line, line_number, new_failure) VALUES (?, ?, 10, 1), (?, ?, 42, 0)",
		test, "TEST-UNEXPECTED-FAIL | dom/tests/test_a.html | assertion failed", test, "Return code: 1")
	sqlExec(t, db, "INSERT INTO job_note (job_id, failure_classification_id, user_id, text, created) VALUES (?, 4, ?, 'flaky again', ?), (?, 7, NULL, '', ?)",
		classified, u.ID, fixtureTime+1000, test, fixtureTime+1001)
	sqlExec(t, db, "INSERT INTO bugscache (id, bugzilla_id, summary, crash_signature, keywords, modified) VALUES (1, 1700001, 'Intermittent test_a.html', '', '', 0), (2, NULL, 'internal issue', '', '', 0)")
	sqlExec(t, db, "INSERT INTO bug_job_map (job_id, bug_id, user_id, created) VALUES (?, 1, ?, ?), (?, 1, NULL, ?), (?, 2, ?, ?)",
		classified, u.ID, fixtureTime+1000, test, fixtureTime+1001, build, u.ID, fixtureTime+1002)

	var platformID int64
	if err := db.QueryRow("SELECT machine_platform_id FROM job WHERE id = ?", build).Scan(&platformID); err != nil {
		t.Fatal(err)
	}
	sqlExec(t, db, "INSERT INTO performance_framework (id, name, enabled) VALUES (1, 'talos', 1)")
	sqlExec(t, db, `INSERT INTO performance_signature (id, signature_hash, repository_id, framework_id, platform_id,
		option_collection_hash, suite, test, application, parent_signature_id, has_subtests, tags, extra_options,
		measurement_unit, lower_is_better, should_alert, alert_threshold, last_updated) VALUES
		(1, ?, 1, 1, ?, '102210fe594ee9b33d82058545b1ed14f4c8206e', 'tp5o', '', '', NULL, 1, 'a b', '', NULL, 1, NULL, NULL, ?),
		(2, ?, 1, 1, ?, '102210fe594ee9b33d82058545b1ed14f4c8206e', 'tp5o', 'facebook.com', 'firefox', 1, 0, '', 'e10s fission', 'ms', 0, 1, 2.5, ?)`,
		strings.Repeat("1", 40), platformID, fixtureTime, strings.Repeat("2", 40), platformID, fixtureTime)
	sqlExec(t, db, `INSERT INTO performance_datum (id, repository_id, signature_id, job_id, push_id, push_timestamp, value) VALUES
		(1, 1, 1, ?, ?, ?, 1.23456), (2, 1, 2, NULL, ?, ?, 7), (3, 1, 2, ?, ?, ?, 8)`,
		build, e.push, fixtureTime, e.push, fixtureTime, test, e.push, fixtureTime)
}

// keysOf returns the keys of each object in a JSON array, in order.
func keysOf(t *testing.T, raw []byte) [][]string {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("not an array: %v: %.200s", err, raw)
	}
	out := make([][]string, len(items))
	for i, it := range items {
		out[i] = keysInOrder(t, it)
	}
	return out
}

func field(t *testing.T, raw []byte, name string) json.RawMessage {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("not an object: %v: %.200s", err, raw)
	}
	return obj[name]
}

func sameKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s keys:\n got  %v\n want %v", what, got, want)
	}
}

// wantAPIError checks err is a client.Error with this status whose detail
// contains the text.
func wantAPIError(t *testing.T, err error, status int, contains string) {
	t.Helper()
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want a %d error, got %v", status, err)
	}
	if apiErr.StatusCode != status || !strings.Contains(apiErr.Detail, contains) || apiErr.Detail == "" {
		t.Errorf("got %d %q, want %d containing %q", apiErr.StatusCode, apiErr.Detail, status, contains)
	}
}
