package sqlstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herder-ci/herder/core/ingest"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
	"github.com/herder-ci/herder/internal/testenv"
	"github.com/herder-ci/herder/sdk"
)

// BenchmarkStoreJobs measures batched job upserts through the ingest
// pipeline (normalisation, hashing, reference data, the guarded upsert, logs
// and task metadata), as jobs/s, on both backends and for growing totals so
// the resident memory can be seen to stay flat.
//
//	go test -run '^$' -bench StoreJobs -benchtime 1x ./core/store/sqlstore/
func BenchmarkStoreJobs(b *testing.B) {
	for _, backend := range []string{"sqlite", "mysql"} {
		for _, total := range []int{20_000, 100_000, 400_000} {
			b.Run(fmt.Sprintf("%s/jobs=%d", backend, total), func(b *testing.B) {
				benchStoreJobs(b, backend, total, 1)
			})
		}
		// Two batches in flight, as two sources (or a source's pipelined
		// sends) deliver them: one batch's normalisation overlaps the other's
		// database write.
		b.Run(fmt.Sprintf("%s/jobs=400000/writers=2", backend), func(b *testing.B) {
			benchStoreJobs(b, backend, 400_000, 2)
		})
	}
}

func benchStoreJobs(b *testing.B, backend string, total, writers int) {
	ctx := context.Background()
	var s *sqlstore.Store
	var err error
	if backend == "sqlite" {
		s, err = sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
	} else {
		s, err = sqlstore.OpenMySQL(ctx, testenv.MySQLDSN(b))
	}
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.SeedFailureClassifications(ctx); err != nil {
		b.Fatal(err)
	}
	dev := model.RepositoryGroup{ID: 1, Name: "development"}
	if err := s.UpsertRepositories(ctx, []model.RepositoryGroup{dev}, []model.Repository{
		{ID: 1, Name: "mozilla-central", Group: dev, DVCSType: "hg", URL: "u", ActiveStatus: "active"},
	}); err != nil {
		b.Fatal(err)
	}
	const pushes = 100
	var ps []model.Push
	for i := 0; i < pushes; i++ {
		ps = append(ps, model.Push{RepositoryID: 1, Revision: fmt.Sprintf("%040x", i), Author: "a", Time: int64(i)})
	}
	if err := s.StorePushes(ctx, ps); err != nil {
		b.Fatal(err)
	}
	p := ingest.NewPipeline(s, nil, nil)
	const batch = 1000
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			// A source delivers its next batch while the pipeline stores the
			// previous one (a plugin is another process): the data is made
			// ahead by a goroutine, in three buffers taking turns, so making
			// it is not what is measured and memory stays flat.
			ready, free := make(chan []sdk.JobDatum, 1), make(chan []sdk.JobDatum, 3)
			for range 3 {
				free <- make([]sdk.JobDatum, batch)
			}
			go func(w int) {
				defer close(ready)
				// Writer w takes every writers-th batch.
				for done := w * batch; done < total; done += writers * batch {
					data := <-free
					for i := range data {
						data[i] = benchDatum(n*total + done + i)
					}
					ready <- data
				}
			}(w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for data := range ready {
					if err := p.StoreJobData(ctx, "bench", data); err != nil {
						errs <- err
						for range ready {
						}
						return
					}
					free <- data
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "jobs/s")
	// CPU time per 1,000 jobs (user and system, all threads): steadier than
	// jobs/s on a machine shared with other work.
	b.ReportMetric(cpu.Seconds()*1000/float64(total*b.N)*1000, "CPU-ms/1k-jobs")
	runtime.GC()
	b.ReportMetric(float64(rssKB())/1024, "RSS-MB")
}

var benchPlatforms = []string{"linux64", "linux1804-64-qr", "windows11-64", "macosx1015-64", "android-em-7-0", "windows10-aarch64"}

// benchDatum is a completed Taskcluster job with one log, drawn from a few
// thousand job types on a few platforms, as a real push's jobs are.
func benchDatum(k int) sdk.JobDatum {
	pl := benchPlatforms[k%len(benchPlatforms)]
	opt := []string{"opt", "debug"}[k/7%2]
	suite := k % 400
	return sdk.JobDatum{
		Project:  "mozilla-central",
		Revision: fmt.Sprintf("%040x", k/3000%100),
		Job: sdk.Job{
			JobGUID: fmt.Sprintf("%08x-0000-4000-8000-%012x/0", k, k), Name: fmt.Sprintf("test-%s/%s-suite-%d", pl, opt, suite),
			JobSymbol: "s" + strconv.Itoa(suite%40), GroupName: fmt.Sprintf("Group %d", suite/40), GroupSymbol: fmt.Sprintf("G%d", suite/40),
			ProductName: "firefox", Reason: "scheduled", Who: "dev@example.com", State: sdk.StateCompleted,
			Result: []string{"success", "success", "success", "testfailed"}[k%4], Tier: 1, BuildSystemType: "taskcluster",
			Machine:          fmt.Sprintf("worker-%d", k%500),
			BuildPlatform:    sdk.Platform{Platform: pl, OSName: "os", Architecture: "x86_64"},
			MachinePlatform:  sdk.Platform{Platform: pl, OSName: "os", Architecture: "x86_64"},
			OptionCollection: map[string]bool{opt: true},
			SubmitTimestamp:  1700000000, StartTimestamp: 1700000100, EndTimestamp: 1700000900,
			TaskclusterTaskID: fmt.Sprintf("task%018d", k),
			LogReferences: []sdk.LogReference{{Name: "live_backing_log",
				URL: fmt.Sprintf("https://firefox-ci-tc.services.mozilla.com/api/queue/v1/task/task%018d/runs/0/artifacts/public/logs/live_backing.log", k)}},
		},
	}
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssKB reads the process's resident set size.
func rssKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return 0
}
