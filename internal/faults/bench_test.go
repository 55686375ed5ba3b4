//go:build faults

package faults

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkE2E measures the rig without faults: Pulse task messages per
// second from the exchange to stored jobs with every completed job's log
// parsed, for 1, 2 and 4 worker processes, and the time two workers take
// to drain a backlog queued while no worker ran. Each runs once (b.N is
// ignored: -benchtime 1x); HERDER_BENCH_MESSAGES sets the messages per run
// (default 100000). It prints where the CPU went.
//
//	flock /tmp/herder-bench.lock go test -tags faults -run '^$' -bench E2E -benchtime 1x -timeout 60m ./internal/faults
func BenchmarkE2E(b *testing.B) {
	n := envInt("HERDER_BENCH_MESSAGES", 100000)
	for _, w := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) { benchStream(b, n, w) })
	}
	b.Run("backlog/workers=2", func(b *testing.B) { benchBacklog(b, n, 2) })
}

// report prints s under the benchmark's name: b.Log output of benchmarks
// is cut to a few lines.
func report(b *testing.B, s string) {
	fmt.Printf("%s: %s\n", b.Name(), strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    "))
}

// benchRig starts web+scheduler and ingest, and stores the pushes.
func benchRig(b *testing.B, n int) (*rig, context.Context) {
	scen := newScenario(uint64(n), n, 0, nPushes)
	report(b, fmt.Sprintf("scenario %v", scen))
	r := newRig(b, scen, rigOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	b.Cleanup(cancel)
	web := r.startProc("web", "web,scheduler", true)
	if err := web.waitReady(ctx, 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	ingest := r.startProc("ingest", "ingest", false)
	if err := ingest.waitReady(ctx, 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	return r, ctx
}

func startWorkers(b *testing.B, r *rig, ctx context.Context, n int) {
	b.Helper()
	var ws []*proc
	for i := 1; i <= n; i++ {
		ws = append(ws, r.startProc(fmt.Sprintf("worker-%d", i), "worker", false))
	}
	for _, w := range ws {
		if err := w.waitReady(ctx, 2*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// benchStream publishes every message as fast as the broker confirms them
// into a running rig and times until everything is stored and parsed.
func benchStream(b *testing.B, n, workers int) {
	r, ctx := benchRig(b, n)
	startWorkers(b, r, ctx, workers)
	r.publishPushes(ctx)
	cpu := startCPUMeter(r)
	db0 := r.dbCounters(ctx)
	t0 := time.Now()
	pub := r.startPublisher(ctx, r.scen.messages, 1000)
	if err := pub.wait(ctx); err != nil {
		b.Fatal(err)
	}
	published := time.Since(t0)
	took := r.benchWait(b, ctx, t0)
	report(b, fmt.Sprintf("%d messages published in %s; stored and parsed in %s", len(r.scen.messages), published.Round(time.Millisecond), took.Round(time.Millisecond)))
	report(b, cpu.report())
	report(b, dbCost(db0, r.dbCounters(ctx), len(r.scen.messages)))
	b.ReportMetric(float64(len(r.scen.messages))/took.Seconds(), "msgs/s")
	b.ReportMetric(took.Seconds(), "s/run")
}

// benchBacklog publishes every message while no worker runs (ingest moves
// them to herder's store queue), then starts the workers and times the
// drain.
func benchBacklog(b *testing.B, n, workers int) {
	r, ctx := benchRig(b, n)
	// The pushes need a worker to be stored; that one stops before the
	// backlog is published.
	pw := r.startProc("worker-push", "worker", false)
	if err := pw.waitReady(ctx, 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	r.publishPushes(ctx)
	if err := pw.terminate(time.Minute); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	pub := r.startPublisher(ctx, r.scen.messages, 1000)
	if err := pub.wait(ctx); err != nil {
		b.Fatal(err)
	}
	r.waitFor(ctx, 20*time.Minute, "ingest drained the Pulse queue", func(ctx context.Context) (bool, string, error) {
		// A passive declare first: rabbitmqctl (for the unacked count)
		// boots an Erlang VM on the cores being measured.
		if ready, err := r.pulseReady(); err != nil || ready > 0 {
			return false, fmt.Sprintf("pulse queue: %d ready", ready), err
		}
		q, err := r.checkQueues()
		if err != nil {
			return false, "", err
		}
		c := q.counts[r.pulseQueue]
		return c.Ready == 0 && c.Unacked == 0, fmt.Sprintf("pulse queue: %d ready, %d unacked", c.Ready, c.Unacked), nil
	})
	ingestTook := time.Since(t0)
	q, _ := r.checkQueues()
	report(b, fmt.Sprintf("backlog: %d messages published and ingested into %s.store in %s (%.0f msgs/s); store queue %+v",
		len(r.scen.messages), r.prefix, ingestTook.Round(time.Millisecond), float64(len(r.scen.messages))/ingestTook.Seconds(), q.counts[r.prefix+".store"]))
	cpu := startCPUMeter(r)
	db0 := r.dbCounters(ctx)
	t1 := time.Now()
	startWorkers(b, r, ctx, workers)
	took := r.benchWait(b, ctx, t1)
	report(b, fmt.Sprintf("%d workers drained the backlog in %s (worker start-up included)", workers, took.Round(time.Millisecond)))
	report(b, cpu.report())
	report(b, dbCost(db0, r.dbCounters(ctx), len(r.scen.messages)))
	b.ReportMetric(float64(len(r.scen.messages))/took.Seconds(), "msgs/s")
	b.ReportMetric(took.Seconds(), "s/drain")
}

// benchWait polls cheap counts until every job and log is in and the work
// queues are empty, then checks the full state once; it returns the time
// since t0 at which the counts first said done.
func (r *rig) benchWait(b *testing.B, ctx context.Context, t0 time.Time) time.Duration {
	b.Helper()
	deadline := time.Now().Add(25 * time.Minute)
	for {
		done, err := r.countsDone(ctx)
		if err == nil && done {
			took := time.Since(t0)
			st, err := r.waitQuiet(ctx, time.Now().Add(2*time.Minute))
			if err != nil {
				b.Fatalf("counts said done, but: %v\n%v", err, st)
			}
			return took
		}
		if time.Now().After(deadline) {
			s, _ := r.look(ctx)
			b.Fatalf("not done after 25m: %v", s)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// countsDone: every job row, every log parsed, no ready or unacked message
// in the Pulse and store queues (AMQP passive declare counts ready only;
// unacknowledged work shows as jobs or logs not yet there).
//
// Cheapest first: the full counts scan tens of thousands of index entries,
// four times a second, on the database being measured; while logs wait to
// be parsed, the short range of pending ones says "not yet".
func (r *rig) countsDone(ctx context.Context) (bool, error) {
	pending, err := countRows(ctx, r.db, "SELECT COUNT(*) FROM job_log WHERE status = 0")
	if err != nil || pending > 0 {
		return false, err
	}
	logs, err := countRows(ctx, r.db, "SELECT COUNT(*) FROM job_log WHERE status = 1")
	if err != nil || logs < r.scen.logs() {
		return false, err
	}
	jobs, err := countRows(ctx, r.db, "SELECT COUNT(*) FROM job")
	if err != nil || jobs < len(r.scen.outcomes) {
		return false, err
	}
	ready, err := r.pulseReady()
	if err != nil || ready > 0 {
		return false, err
	}
	q, err := r.checkQueues()
	if err != nil {
		return false, err
	}
	return len(r.busy(q)) == 0, nil
}
