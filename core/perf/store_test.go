package perf_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/perf"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
)

var perfLine = regexp.MustCompile(`^.*?PERFHERDER_DATA:\s+(\{.*\})`)

// perfBlobs reads a shared sample log's PERFHERDER_DATA blobs with
// Treeherder's regular expression (the log parser plugin does the same in
// production; core does not import it).
func perfBlobs(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.SharedData(t), "logs", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []json.RawMessage
	for sc.Scan() {
		if m := perfLine.FindSubmatch(sc.Bytes()); m != nil && json.Valid(m[1]) {
			out = append(out, append(json.RawMessage(nil), m[1]...))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type backend struct {
	name string
	open func(t *testing.T) *sqlstore.Store
}

var backends = []backend{
	{"sqlite", func(t *testing.T) *sqlstore.Store {
		st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "h.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"mysql", func(t *testing.T) *sqlstore.Store {
		st, err := sqlstore.OpenMySQL(context.Background(), testenv.MySQLDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// setup makes a store with one push and a job per platform, and returns
// the jobs' ids by guid.
func setup(t *testing.T, b backend) (*sqlstore.Store, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	st := b.open(t)
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.SeedFailureClassifications(ctx); err != nil {
		t.Fatal(err)
	}
	if err := perf.Seed(ctx, st); err != nil {
		t.Fatal(err)
	}
	g := model.RepositoryGroup{Name: "development"}
	if err := st.UpsertRepositories(ctx, []model.RepositoryGroup{g}, []model.Repository{
		{Name: "autoland", Group: g, DVCSType: "hg", URL: "u", ActiveStatus: "active"}}); err != nil {
		t.Fatal(err)
	}
	p := ingest.NewPipeline(st, nil, nil)
	rev := fmt.Sprintf("%040x", 7)
	push := sdk.PushDatum{Project: "autoland", Revision: rev, Author: "a", PushTimestamp: 1700000000}
	var events []sdk.Event
	events = append(events, sdk.Event{Push: &push})
	for _, pl := range []string{"android-5-0-aarch64", "windows2012-aarch64", "linux1804-64-shippable-qr"} {
		events = append(events, sdk.Event{Job: &sdk.JobDatum{Project: "autoland", Revision: rev, Job: sdk.Job{
			JobGUID: pl + "/0", State: sdk.StateCompleted, Result: sdk.ResultSuccess,
			BuildPlatform: sdk.Platform{Platform: pl}, MachinePlatform: sdk.Platform{Platform: pl, OSName: "os", Architecture: "arch"},
			OptionCollection: map[string]bool{"opt": true},
		}}})
	}
	if err := p.Accept(ctx, "test", events); err != nil {
		t.Fatal(err)
	}
	rows, err := st.DB().Query("SELECT id, guid FROM job")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[string]int64{}
	for rows.Next() {
		var id int64
		var guid string
		rows.Scan(&id, &guid)
		ids[guid] = id
	}
	return st, ids
}

func count(t *testing.T, st *sqlstore.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestIngestSharedLogs stores the performance data of the three shared
// logs with PERFHERDER_DATA (android-opt-build 5 blobs, win-aarch64-build 4,
// linux-awsy 2) on both backends.
func TestIngestSharedLogs(t *testing.T) {
	cases := []struct {
		log, job                     string
		blobs, stored, skipped, data int
	}{
		// vcs is a disabled framework: its blob is not stored.
		// android: build_metrics fetch_content 1, mach_artifact_toolchain 1,
		// compiler_metrics 1 subtest (no summary), compiler warnings 1,
		// build times 1+15, sccache 7.
		{"android-opt-build.txt.gz", "android-5-0-aarch64/0", 5, 4, 1, 27},
		// win: fetch_content 1, compiler_metrics 1, warnings 1, build times
		// 1+12, sccache 7.
		{"win-aarch64-build.txt.gz", "windows2012-aarch64/0", 4, 3, 1, 23},
		// awsy: fetch_content 1 (build_metrics), 4 suites of 1+1.
		{"linux-awsy.txt.gz", "linux1804-64-shippable-qr/0", 2, 2, 0, 9},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st, ids := setup(t, b)
			in := perf.NewIngester(st, nil, nil)
			ctx := context.Background()
			total := 0
			for _, c := range cases {
				blobs := perfBlobs(t, c.log)
				if len(blobs) != c.blobs {
					t.Fatalf("%s: %d blobs, want %d", c.log, len(blobs), c.blobs)
				}
				stats, err := in.Ingest(ctx, ids[c.job], blobs)
				if err != nil {
					t.Fatalf("%s: %v", c.log, err)
				}
				if stats.Invalid != 0 || stats.Skipped != c.skipped || stats.Blobs-stats.Skipped != c.stored ||
					stats.NewData != int64(c.data) || stats.Series != c.data {
					t.Errorf("%s: %+v, want %d stored blobs, %d skipped, %d data", c.log, stats, c.stored, c.skipped, c.data)
				}
				if n := count(t, st, "SELECT COUNT(*) FROM performance_datum WHERE job_id = ?", ids[c.job]); n != c.data {
					t.Errorf("%s: %d data rows, want %d", c.log, n, c.data)
				}
				total += c.data
			}
			if n := count(t, st, "SELECT COUNT(*) FROM performance_signature"); n != total {
				t.Errorf("%d signatures, want %d (one per series: every job has its own platform)", n, total)
			}
			// Reparsing stores nothing new and keeps the signatures.
			stats, err := in.Ingest(ctx, ids["linux1804-64-shippable-qr/0"], perfBlobs(t, "linux-awsy.txt.gz"))
			if err != nil || stats.NewData != 0 {
				t.Errorf("second ingest: %+v %v", stats, err)
			}
			if n := count(t, st, "SELECT COUNT(*) FROM performance_datum"); n != total {
				t.Errorf("after reingest: %d data rows, want %d", n, total)
			}

			// The awsy subtest's signature: Treeherder's hash over the job's
			// reference data and its parent's hash, framework awsy (4).
			job, err := st.PerfJob(ctx, ids["linux1804-64-shippable-qr/0"])
			if err != nil {
				t.Fatal(err)
			}
			if job.MachinePlatform != "linux1804-64-shippable-qr" || job.PushTime != 1700000000 || job.OptionCollectionHash == "" {
				t.Fatalf("job %+v", job)
			}
			parent := perf.SignatureProps{Suite: "Base Content JS", OptionCollectionHash: job.OptionCollectionHash,
				MachinePlatform: job.MachinePlatform, TestOptions: []string{"fission"}}.Hash()
			test := "After tabs open [+30s, forced GC]"
			child := perf.SignatureProps{Suite: "Base Content JS", Test: &test, OptionCollectionHash: job.OptionCollectionHash,
				MachinePlatform: job.MachinePlatform, TestOptions: []string{"fission"}, ParentSignature: parent}.Hash()
			var fw int64
			var extra, suite, parentHash string
			var hasSubtests bool
			if err := st.DB().QueryRow(`SELECT s.framework_id, s.extra_options, s.suite, p.signature_hash, p.has_subtests
				FROM performance_signature s JOIN performance_signature p ON p.id = s.parent_signature_id
				WHERE s.signature_hash = ?`, child).Scan(&fw, &extra, &suite, &parentHash, &hasSubtests); err != nil {
				t.Fatalf("subtest signature %s: %v", child, err)
			}
			if fw != 4 || extra != "fission" || suite != "Base Content JS" || parentHash != parent || !hasSubtests {
				t.Errorf("signature: framework %d extra %q suite %q parent %s has_subtests %v", fw, extra, suite, parentHash, hasSubtests)
			}
			// Through the API's read path too.
			repo := int64(count(t, st, "SELECT id FROM repository WHERE name = 'autoland'"))
			sigs, err := st.PerformanceSignatures(ctx, store.PerfSignatureQuery{RepositoryID: repo})
			if err != nil || len(sigs) != total {
				t.Errorf("PerformanceSignatures: %d, %v", len(sigs), err)
			}
		})
	}
}

// TestArtifactThatBreaksTheSchemaFailsItsLog: a perfherder-data artifact
// failing the schema marks its log failed and stores nothing; invalid
// PERFHERDER_DATA blobs of a raw log are dropped one by one.
func TestArtifactThatBreaksTheSchemaFailsItsLog(t *testing.T) {
	st, ids := setup(t, backends[0])
	ctx := context.Background()
	if err := ingest.NewPipeline(st, nil, nil).StoreJobData(ctx, "test", []sdk.JobDatum{{Project: "autoland",
		Revision: fmt.Sprintf("%040x", 7), Job: sdk.Job{JobGUID: "art/0", State: sdk.StateCompleted, Result: sdk.ResultSuccess,
			BuildPlatform: sdk.Platform{Platform: "linux64"}, MachinePlatform: sdk.Platform{Platform: "linux64"},
			LogReferences: []sdk.LogReference{{Name: "perfherder-data-building.json", URL: "https://x/p.json"}}}}}); err != nil {
		t.Fatal(err)
	}
	tasks, err := st.PendingLogs(ctx, model.LogKindPerf, model.JobsAny, nil, 10)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("pending perf logs: %v %v", tasks, err)
	}
	in := perf.NewIngester(st, nil, nil)
	bad := sdk.LogParseResult{Status: sdk.LogStatusParsed, AlgorithmVersion: "logparser-1",
		PerfData: []json.RawMessage{json.RawMessage(`{"framework": {"name": "talos"}, "suites": [{"name": "s"}]}`)}}
	if err := st.StoreLogResult(ctx, tasks[0], bad); err != nil {
		t.Fatal(err)
	}
	if err := in.StorePerfData(ctx, tasks[0], bad); err != nil {
		t.Fatal(err)
	}
	var status int
	var reason, version string
	st.DB().QueryRow("SELECT status, status_reason, algorithm_version FROM job_log WHERE id = ?", tasks[0].JobLogID).Scan(&status, &reason, &version)
	if status != model.LogFailed || reason != `performance data: suites[0]: "subtests" is required` || version != "logparser-1" {
		t.Errorf("log status %d %q %q", status, reason, version)
	}

	good := `{"framework": {"name": "talos"}, "suites": [{"name": "tp5", "value": 3, "subtests": []}]}`
	raw := sdk.LogParseResult{Status: sdk.LogStatusParsed, PerfData: []json.RawMessage{
		json.RawMessage(`{"framework": {"name": "talos"}, "suites": [{"name": "tp5", "value": "3", "subtests": []}]}`),
		json.RawMessage(good),
		json.RawMessage(`{"framework": {"name": "nosuch"}, "suites": [{"name": "x", "value": 1, "subtests": []}]}`),
	}}
	job := ids["linux1804-64-shippable-qr/0"]
	if err := in.StorePerfData(ctx, model.LogTask{JobLogID: 99, JobID: job, Name: sdk.LogLiveBacking}, raw); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM performance_datum WHERE job_id = ?", job); n != 1 {
		t.Errorf("%d data rows from a raw log with one valid blob of a known framework", n)
	}
	if n := count(t, st, "SELECT COUNT(*) FROM performance_datum"); n != 1 {
		t.Errorf("%d data rows in all", n)
	}
}

func TestSeedKeepsSettings(t *testing.T) {
	st, _ := setup(t, backends[0])
	ctx := context.Background()
	if _, err := st.DB().Exec("UPDATE performance_framework SET enabled = 1 WHERE name = 'vcs'"); err != nil {
		t.Fatal(err)
	}
	if err := perf.Seed(ctx, st); err != nil {
		t.Fatal(err)
	}
	fws, err := st.PerfFrameworks(ctx)
	if err != nil || len(fws) != len(perf.Frameworks) {
		t.Fatalf("%d frameworks, %v", len(fws), err)
	}
	for _, f := range fws {
		if f.Name == "vcs" && !f.Enabled {
			t.Error("seeding again reset an operator's setting")
		}
		if f.Name == "browsertime" && f.ID != 13 {
			t.Errorf("browsertime id %d", f.ID)
		}
	}
}
