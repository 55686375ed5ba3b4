package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/server"
)

// The benchmark dataset: 320 autoland pushes of 3,000 jobs (a full CI run
// each) and 80 try pushes of 500, a million jobs with a log and a task each.
const (
	benchPushes      = 320
	benchJobsPerPush = 3000
	benchTryPushes   = 80
	benchTryJobs     = 500
	benchTotalJobs   = benchPushes*benchJobsPerPush + benchTryPushes*benchTryJobs
	benchMinSamples  = 400
	// benchDataVersion names the stored dataset; bump it when the
	// generator changes so old copies are rebuilt.
	benchDataVersion = "v1"
)

var benchPlatformNames = []string{"linux64", "linux1804-64-qr", "linux2204-64-wayland", "windows11-64", "windows10-32",
	"windows11-aarch64", "macosx1015-64", "macosx1400-aarch64", "android-em-7-0-x86_64", "android-hw-a51-11-0",
	"linux64-shippable", "windows11-64-shippable"}

// benchEnv is a server over a store holding the benchmark dataset.
type benchEnv struct {
	srv      *httptest.Server
	uncached *httptest.Server // the same without the response cache
	pushes   []int64          // autoland push ids, oldest first
	tryPush  []int64
	maxJobID int64
	minJobID int64
}

var (
	benchEnvs   = map[string]*benchEnv{}
	benchEnvsMu sync.Mutex
)

// BenchmarkAPI measures the read API with a loopback load generator against
// a million jobs. The dataset is built once (about two minutes per backend)
// and kept: MariaDB database herder_bench_api, and herder-bench-api.db in
// the temp directory; HERDER_BENCH_FRESH=1 rebuilds it.
//
//	go test -run '^$' -bench API -benchtime 2000x -timeout 60m ./server/
func BenchmarkAPI(b *testing.B) {
	for _, backend := range []string{"mysql", "sqlite"} {
		b.Run(backend, func(b *testing.B) {
			env := getBenchEnv(b, backend)
			b.Run("PushList10WithStatus", func(b *testing.B) { env.benchPushList(b) })
			b.Run("JobsOfPush3000", func(b *testing.B) { env.benchJobsOfPush(b) })
			b.Run("JobDetail", func(b *testing.B) { env.benchJobDetail(b) })
			b.Run("PushStatus", func(b *testing.B) { env.benchPushStatus(b) })
			b.Run("JobsPolling", func(b *testing.B) { env.benchPolling(b) })
			b.Run("Mixed", func(b *testing.B) { env.benchMixed(b) })
			// The same against a server without the response cache: what
			// the database and the handlers cost on a miss.
			plain := *env
			plain.srv = env.uncached
			b.Run("Uncached/PushList10WithStatus", func(b *testing.B) { plain.benchPushList(b) })
			b.Run("Uncached/JobsOfPush3000", func(b *testing.B) { plain.benchJobsOfPush(b) })
			b.Run("Uncached/PushStatus", func(b *testing.B) { plain.benchPushStatus(b) })
			b.Run("Uncached/Mixed", func(b *testing.B) { plain.benchMixed(b) })
		})
	}
}

func getBenchEnv(b *testing.B, backend string) *benchEnv {
	benchEnvsMu.Lock()
	defer benchEnvsMu.Unlock()
	if env, ok := benchEnvs[backend]; ok {
		return env
	}
	st := openBenchStore(b, backend)
	env := &benchEnv{}
	db := st.DB()
	rows, err := db.Query("SELECT id, repository_id FROM push ORDER BY time, id")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, repo int64
		if err := rows.Scan(&id, &repo); err != nil {
			b.Fatal(err)
		}
		if repo == 77 {
			env.pushes = append(env.pushes, id)
		} else {
			env.tryPush = append(env.tryPush, id)
		}
	}
	rows.Close()
	if err := db.QueryRow("SELECT MIN(id), MAX(id) FROM job").Scan(&env.minJobID, &env.maxJobID); err != nil {
		b.Fatal(err)
	}
	env.srv = httptest.NewServer(server.New(server.Options{Store: st, Registry: prometheus.NewRegistry()}))
	env.uncached = httptest.NewServer(server.New(server.Options{Store: st, Registry: prometheus.NewRegistry(), ReadCacheTTL: -1}))
	benchEnvs[backend] = env
	// The server and store live for the whole benchmark process.
	return env
}

func openBenchStore(b *testing.B, backend string) *sqlstore.Store {
	ctx := context.Background()
	fresh := os.Getenv("HERDER_BENCH_FRESH") == "1"
	var st *sqlstore.Store
	var err error
	switch backend {
	case "mysql":
		base := os.Getenv("HERDER_TEST_MYSQL_DSN")
		if base == "" {
			b.Skip("HERDER_TEST_MYSQL_DSN is not set: run `bash scripts/services.sh` and export the line it prints")
		}
		cfg, err := mysql.ParseDSN(base)
		if err != nil {
			b.Fatal("HERDER_TEST_MYSQL_DSN is malformed")
		}
		admin, err := sql.Open("mysql", base)
		if err != nil {
			b.Fatal(err)
		}
		name := "herder_bench_api"
		if fresh {
			if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := admin.Exec("CREATE DATABASE IF NOT EXISTS " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			b.Skipf("cannot create the benchmark database: %v", err)
		}
		admin.Close()
		cfg.DBName = name
		st, err = sqlstore.OpenMySQL(ctx, cfg.FormatDSN())
		if err != nil {
			b.Fatal(err)
		}
	default:
		dir := os.Getenv("HERDER_BENCH_DIR")
		if dir == "" {
			dir = os.TempDir()
		}
		path := filepath.Join(dir, "herder-bench-api-"+benchDataVersion+".db")
		if fresh {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}
		if st, err = sqlstore.OpenSQLite(ctx, path); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var jobs int64
	if err := st.DB().QueryRow("SELECT COUNT(*) FROM job").Scan(&jobs); err != nil {
		b.Fatal(err)
	}
	if jobs == benchTotalJobs {
		return st
	}
	if jobs != 0 {
		b.Fatalf("the %s benchmark database holds %d jobs, not %d: rerun with HERDER_BENCH_FRESH=1", backend, jobs, benchTotalJobs)
	}
	start := time.Now()
	generateBenchData(b, st)
	b.Logf("%s: generated %d jobs in %s", backend, benchTotalJobs, time.Since(start).Round(time.Second))
	return st
}

// generateBenchData writes the dataset through StoreJobs in batches of 1,000.
func generateBenchData(b *testing.B, st *sqlstore.Store) {
	ctx := context.Background()
	if err := st.SeedFailureClassifications(ctx); err != nil {
		b.Fatal(err)
	}
	dev := model.RepositoryGroup{ID: 1, Name: "development"}
	try := model.RepositoryGroup{ID: 3, Name: "try"}
	if err := st.UpsertRepositories(ctx, []model.RepositoryGroup{dev, try}, []model.Repository{
		{ID: 4, Name: "try", Group: try, DVCSType: "hg", URL: "https://hg.mozilla.org/try", IsTryRepo: true, ActiveStatus: "active"},
		{ID: 77, Name: "autoland", Group: dev, DVCSType: "hg", URL: "https://hg.mozilla.org/integration/autoland", ActiveStatus: "active"},
	}); err != nil {
		b.Fatal(err)
	}
	base := time.Now().Add(-30 * 24 * time.Hour).Unix()
	// One push in five is a try push, as time goes.
	var plans []benchPlan
	for i := 0; i < benchPushes+benchTryPushes; i++ {
		if i%5 == 4 {
			plans = append(plans, benchPlan{"try", 4, benchTryJobs})
		} else {
			plans = append(plans, benchPlan{"autoland", 77, benchJobsPerPush})
		}
	}
	var pushes []model.Push
	for i, pl := range plans {
		p := model.Push{RepositoryID: pl.repoID, Revision: fmt.Sprintf("%040x", 0xbe000000+i),
			Author: fmt.Sprintf("dev%d@example.com", i%37), Time: base + int64(i)*6000}
		for c := 0; c < 20; c++ {
			p.Commits = append(p.Commits, model.Commit{Revision: fmt.Sprintf("%032x%08x", i, c),
				Author: "Dev <dev@example.com>", Comments: fmt.Sprintf("Bug %d - change %d of push %d r=reviewer", 1800000+i*20+c, c, i)})
		}
		pushes = append(pushes, p)
	}
	if err := st.StorePushes(ctx, pushes); err != nil {
		b.Fatal(err)
	}
	batch := make([]model.Job, 0, 1000)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := st.StoreJobs(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i, pl := range plans {
		newest := i >= len(plans)-4
		for k := 0; k < pl.jobs; k++ {
			j := ingest.NormalizeJob(pl.repo, benchJob(i, k, pushes[i], newest))
			j.RepositoryID, j.PushID = pl.repoID, pushes[i].ID
			batch = append(batch, j)
			if len(batch) == cap(batch) {
				flush()
			}
		}
	}
	flush()
}

type benchPlan struct {
	repo   string
	repoID int64
	jobs   int
}

// benchJob is job k of push i: 3,000 job types over 12 platforms, two
// options and 125 suites in 25 groups.
func benchJob(i, k int, p model.Push, newest bool) sdk.JobDatum {
	pl := benchPlatformNames[k%len(benchPlatformNames)]
	opt := []string{"opt", "debug"}[k/len(benchPlatformNames)%2]
	suite := k / (2 * len(benchPlatformNames))
	h := uint32(i*7919 + k*104729)
	state, result := sdk.StateCompleted, sdk.ResultSuccess
	switch r := h % 1000; {
	case newest && r < 200:
		state, result = sdk.StatePending, sdk.ResultUnknown
	case newest && r < 400:
		state, result = sdk.StateRunning, sdk.ResultUnknown
	case r < 30:
		result = sdk.ResultTestFailed
	case r < 35:
		result = sdk.ResultBusted
	case r < 45:
		result = sdk.ResultRetry
	case r < 47:
		result = sdk.ResultException
	}
	tier := 1
	if k%10 == 0 {
		tier = 2
	}
	if k%50 == 0 {
		tier = 3
	}
	submit := p.Time + 60 + int64(k%120)
	d := sdk.JobDatum{
		Project: "autoland", Revision: p.Revision,
		Job: sdk.Job{
			JobGUID: fmt.Sprintf("%08x-%04x-4000-8000-%012x/0", i, k%0xffff, k), Name: fmt.Sprintf("test-%s/%s-suite-%d", pl, opt, suite),
			JobSymbol: "s" + strconv.Itoa(suite%40), GroupName: fmt.Sprintf("Group %d", suite/5), GroupSymbol: fmt.Sprintf("G%d", suite/5),
			ProductName: "firefox", Reason: "scheduled", Who: p.Author, State: state, Result: result, Tier: tier,
			BuildSystemType: "taskcluster", Machine: fmt.Sprintf("worker-%d", h%800),
			BuildPlatform:     sdk.Platform{Platform: pl, OSName: "os", Architecture: "x86_64"},
			MachinePlatform:   sdk.Platform{Platform: pl, OSName: "os", Architecture: "x86_64"},
			OptionCollection:  map[string]bool{opt: true},
			SubmitTimestamp:   submit,
			TaskclusterTaskID: fmt.Sprintf("T%05dK%05dxxxxxxxxxx", i, k),
		},
	}
	if state != sdk.StatePending {
		d.Job.StartTimestamp = submit + 30 + int64(h%300)
	}
	if state == sdk.StateCompleted {
		d.Job.EndTimestamp = d.Job.StartTimestamp + 600 + int64(h%1200)
		d.Job.LogReferences = []sdk.LogReference{{Name: "live_backing_log", ParseStatus: "parsed",
			URL: "https://firefox-ci-tc.services.mozilla.com/api/queue/v1/task/" + d.Job.TaskclusterTaskID + "/runs/0/artifacts/public/logs/live_backing.log"}}
	}
	return d
}

// op is one measured operation: one or more sequential requests.
type op func(hc *http.Client, rng *rand.Rand) (requests int, err error)

type loadResult struct {
	lat      []time.Duration
	requests int64
	elapsed  time.Duration
}

// runLoad runs n operations from conc goroutines and returns each
// operation's latency.
func runLoad(b *testing.B, conc, n int, f op) loadResult {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	var next, requests atomic.Int64
	lats := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w) + 1))
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				r, err := f(hc, rng)
				lats[w] = append(lats[w], time.Since(t0))
				requests.Add(int64(r))
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, k int) bool { return all[i] < all[k] })
	return loadResult{lat: all, requests: requests.Load(), elapsed: elapsed}
}

func (r loadResult) report(b *testing.B) {
	pct := func(p float64) float64 {
		i := int(float64(len(r.lat))*p+0.5) - 1
		i = max(0, min(i, len(r.lat)-1))
		return float64(r.lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(r.requests)/r.elapsed.Seconds(), "req/s")
	b.ReportMetric(0, "ns/op") // the per-operation latencies above are the measure
}

// measure warms up, then measures max(b.N, benchMinSamples) operations.
func measure(b *testing.B, conc int, f op) {
	runLoad(b, conc, 50, f)
	b.ResetTimer()
	res := runLoad(b, conc, max(b.N, benchMinSamples), f)
	b.StopTimer()
	res.report(b)
}

// bodies recycles response buffers, so the load generator (which shares
// the machine and the Go heap with the server) adds little garbage.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fetch fetches a URL and returns the head of its body, failing on any
// status but 200.
func fetch(hc *http.Client, u string) ([]byte, error) {
	resp, err := hc.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf := bodies.Get().(*bytes.Buffer)
	defer bodies.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %.200s", u, resp.StatusCode, body)
	}
	// Of a large body (a jobs page) callers read only the links at its
	// start; copy only that much.
	if len(body) > 64<<10 {
		body = body[:4096]
	}
	return append([]byte(nil), body...), nil
}

// nextURL extracts "next" of a page without decoding the whole body.
func nextURL(body []byte) string {
	i := bytes.Index(body, []byte(`"next":"`))
	if i < 0 {
		return ""
	}
	rest := body[i+len(`"next":"`):]
	return strings.ReplaceAll(string(rest[:bytes.IndexByte(rest, '"')]), `\u0026`, "&")
}

// The UI's push list: the newest ten pushes, or the ten before a time
// ("get next 10"), then each push's status counts.
func (e *benchEnv) pushListOp(hc *http.Client, rng *rand.Rand) (int, error) {
	u := e.srv.URL + "/api/project/autoland/push/?count=10&full=true"
	if rng.Intn(2) == 1 {
		// An older page, by the time of a random push.
		u += "&id__lte=" + strconv.FormatInt(e.pushes[10+rng.Intn(len(e.pushes)-10)], 10)
	}
	body, err := fetch(hc, u)
	if err != nil {
		return 1, err
	}
	ids := pushIDsIn(body)
	if len(ids) != 10 {
		return 1, fmt.Errorf("push list has %d pushes", len(ids))
	}
	for _, id := range ids {
		if _, err := fetch(hc, e.srv.URL+"/api/project/autoland/push/"+id+"/status/"); err != nil {
			return 1, err
		}
	}
	return 1 + len(ids), nil
}

// pushIDsIn finds the pushes' ids in a push list body: each push object
// starts with {"id":N.
func pushIDsIn(body []byte) []string {
	var ids []string
	for _, part := range bytes.Split(body, []byte(`{"id":`))[1:] {
		end := bytes.IndexByte(part, ',')
		ids = append(ids, string(part[:end]))
	}
	return ids
}

func (e *benchEnv) benchPushList(b *testing.B) { measure(b, 1, e.pushListOp) }

// jobsOfPushOp loads all 3,000 jobs of a push the way the UI does: the
// first page of /api/jobs/?push_id=, then each next page.
func (e *benchEnv) jobsOfPushOp(hc *http.Client, rng *rand.Rand) (int, error) {
	u := e.srv.URL + "/api/jobs/?push_id=" + strconv.FormatInt(e.pushes[rng.Intn(len(e.pushes))], 10)
	n := 0
	for u != "" {
		body, err := fetch(hc, u)
		n++
		if err != nil {
			return n, err
		}
		u = nextURL(body)
	}
	if n != 2 {
		return n, fmt.Errorf("a 3,000-job push took %d pages", n)
	}
	return n, nil
}

func (e *benchEnv) benchJobsOfPush(b *testing.B) { measure(b, 1, e.jobsOfPushOp) }

func (e *benchEnv) randomJob(rng *rand.Rand) string {
	return strconv.FormatInt(e.minJobID+rng.Int63n(e.maxJobID-e.minJobID+1), 10)
}

func (e *benchEnv) jobDetailOp(hc *http.Client, rng *rand.Rand) (int, error) {
	id := e.randomJob(rng)
	repo := "autoland"
	body, err := fetch(hc, e.srv.URL+"/api/project/"+repo+"/jobs/"+id+"/")
	if err != nil && strings.Contains(err.Error(), ": 404 ") {
		// A try job: look it up where it lives.
		body, err = fetch(hc, e.srv.URL+"/api/project/try/jobs/"+id+"/")
		if err == nil && len(body) > 0 {
			return 2, nil
		}
	}
	return 1, err
}

func (e *benchEnv) benchJobDetail(b *testing.B) { measure(b, 1, e.jobDetailOp) }

func (e *benchEnv) pushStatusOp(hc *http.Client, rng *rand.Rand) (int, error) {
	_, err := fetch(hc, e.srv.URL+"/api/project/autoland/push/"+strconv.FormatInt(e.pushes[rng.Intn(len(e.pushes))], 10)+"/status/")
	return 1, err
}

func (e *benchEnv) benchPushStatus(b *testing.B) { measure(b, 1, e.pushStatusOp) }

// pollingOp is the UI's minute poll: jobs of the ten newest pushes changed
// in the last minute.
func (e *benchEnv) pollingOp(hc *http.Client, rng *rand.Rand) (int, error) {
	newest := e.pushes[len(e.pushes)-10:]
	ids := make([]string, len(newest))
	for i, id := range newest {
		ids[i] = strconv.FormatInt(id, 10)
	}
	since := time.Now().Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000")
	_, err := fetch(hc, e.srv.URL+"/api/jobs/?push_id__in="+strings.Join(ids, ",")+"&last_modified__gt="+since)
	return 1, err
}

func (e *benchEnv) benchPolling(b *testing.B) { measure(b, 1, e.pollingOp) }

// benchMixed is the UI's read mix from several clients at once: job
// details, push lists with their status, polls, logs and annotations, and
// now and then a whole push's jobs.
func (e *benchEnv) benchMixed(b *testing.B) {
	simple := func(path func(rng *rand.Rand) string) op {
		return func(hc *http.Client, rng *rand.Rand) (int, error) {
			_, err := fetch(hc, e.srv.URL+path(rng))
			return 1, err
		}
	}
	mix := []struct {
		weight int
		f      op
	}{
		{30, e.jobDetailOp},
		{20, e.pushStatusOp},
		{15, e.pollingOp},
		{10, simple(func(rng *rand.Rand) string {
			return "/api/project/autoland/push/?count=10"
		})},
		{10, simple(func(rng *rand.Rand) string { return "/api/project/autoland/job-log-url/?job_id=" + e.randomJob(rng) })},
		{5, simple(func(rng *rand.Rand) string { return "/api/project/autoland/bug-job-map/?job_id=" + e.randomJob(rng) })},
		{5, simple(func(rng *rand.Rand) string {
			return "/api/taskclustermetadata/?job_ids=" + e.randomJob(rng) + "," + e.randomJob(rng)
		})},
		{4, simple(func(rng *rand.Rand) string { return "/api/optioncollectionhash/" })},
		{1, e.jobsOfPushOp},
	}
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	mixed := func(hc *http.Client, rng *rand.Rand) (int, error) {
		r := rng.Intn(total)
		for _, m := range mix {
			if r < m.weight {
				return m.f(hc, rng)
			}
			r -= m.weight
		}
		return 0, nil
	}
	measure(b, 8, mixed)
}
