//go:build faults

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/internal/testenv"
)

// Settings, from the environment so scripts/test-faults.sh and make can pass
// them: HERDER_FAULTS_MESSAGES (task messages, default 100000),
// HERDER_FAULTS_SEED (default: the clock), HERDER_FAULTS_BUDGET (the
// whole test's time limit, default 9m).
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

const (
	// stallAfter is how long no progress at all fails the run early.
	stallAfter = 2 * time.Minute
	nMalformed = 25
	nPushes    = 100
)

// TestFaults runs web+scheduler, ingest and two workers as OS processes,
// publishes the scenario's Pulse messages, and meanwhile, at random points
// of progress, kill -9s a worker (restarted), a plugin process (restarted
// by its supervisor), the ingest process (restarted), restarts RabbitMQ and
// kills and restarts MariaDB. Once everything is quiet it checks that every
// job is stored once with its final state, every log parsed exactly once,
// no queue holds work, and the dead letters are exactly the malformed
// messages published.
func TestFaults(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the fault suite kills and restarts MariaDB and RabbitMQ: run it as root (as scripts/services.sh runs)")
	}
	begin := time.Now()
	budget := envDuration("HERDER_FAULTS_BUDGET", 9*time.Minute)
	seed := uint64(envInt("HERDER_FAULTS_SEED", int(time.Now().UnixNano()&0x7fffffff)))
	scen := newScenario(seed, envInt("HERDER_FAULTS_MESSAGES", 100000), nMalformed, nPushes)
	t.Logf("scenario %v (HERDER_FAULTS_SEED=%d repeats it)", scen, seed)
	root := testenv.ModuleRoot(t)
	rng := rand.New(rand.NewPCG(seed, 42))

	// Whatever happens, leave the shared services running.
	t.Cleanup(func() {
		if err := pulsetest.StartRabbit(time.Minute); err != nil {
			t.Errorf("bring RabbitMQ back: %v", err)
		}
		if err := startMariaDB(root); err != nil {
			t.Errorf("bring MariaDB back: %v", err)
		}
	})

	r := newRig(t, scen, rigOptions{})
	ctx, cancel := context.WithDeadline(context.Background(), begin.Add(budget))
	defer cancel()

	web := r.startProc("web", "web,scheduler", true)
	if err := web.waitReady(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	ingest := r.startProc("ingest", "ingest", false)
	workers := []*proc{r.startProc("worker-1", "worker", false), r.startProc("worker-2", "worker", false)}
	for _, p := range append([]*proc{ingest}, workers...) {
		if err := p.waitReady(ctx, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	r.publishPushes(ctx)
	t.Logf("%s: processes ready, %d pushes stored", since(begin), nPushes)

	pub := r.startPublisher(ctx, scen.messages, 1000)

	var orphans []string
	// restartProc kill -9s p, checks what became of its plugins, and starts
	// it again after a random pause.
	restartProc := func(p *proc) error {
		kids := children(p.pid())
		p.kill9()
		time.Sleep(3 * time.Second)
		for _, c := range kids {
			if alive(c.pid) {
				// go-plugin servers do not watch their parent. A supervisor
				// (systemd's control group) would kill them; so does the suite.
				orphans = append(orphans, fmt.Sprintf("%s's %s (pid %d)", p.name, c.comm, c.pid))
				killAll([]child{c})
			}
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
		p.start()
		return p.waitReady(ctx, 3*time.Minute)
	}
	type fault struct {
		key, name string
		run       func() (string, error)
	}
	faults := []fault{
		{"worker", "kill -9 a worker", func() (string, error) {
			w := workers[rng.IntN(len(workers))]
			return w.name + " restarted", restartProc(w)
		}},
		{"plugin", "kill -9 a plugin", func() (string, error) {
			owner, comm := ingest, "pulse"
			if rng.IntN(2) == 0 {
				owner, comm = workers[rng.IntN(len(workers))], "logparser"
			}
			// It may be between two lives (a restart after an earlier fault).
			pid, ok := owner.pluginOf(comm)
			for wait := time.Now(); !ok && time.Since(wait) < 30*time.Second; pid, ok = owner.pluginOf(comm) {
				time.Sleep(100 * time.Millisecond)
			}
			if !ok {
				return "", fmt.Errorf("%s has no %s plugin process", owner.name, comm)
			}
			_ = killPid(pid)
			t0 := time.Now()
			for {
				if np, ok := owner.pluginOf(comm); ok && np != pid {
					return fmt.Sprintf("%s's %s (pid %d) restarted by the supervisor in %s", owner.name, comm, pid, since(t0)), nil
				}
				if time.Since(t0) > 2*time.Minute {
					return "", fmt.Errorf("%s's %s not restarted within 2m", owner.name, comm)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}},
		{"ingest", "kill -9 the ingest process", func() (string, error) {
			return "ingest restarted", restartProc(ingest)
		}},
		{"rabbitmq", "restart RabbitMQ", func() (string, error) {
			// Between two publisher chunks, so the suite's own publishing
			// never has messages in doubt (it is not under test).
			pub.mu.Lock()
			defer pub.mu.Unlock()
			if err := pulsetest.StopRabbit(); err != nil {
				return "", err
			}
			time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
			t0 := time.Now()
			if err := pulsetest.StartRabbit(time.Minute); err != nil {
				return "", err
			}
			pub.reopen = true
			return "RabbitMQ back in " + since(t0), nil
		}},
		{"mariadb", "kill -9 MariaDB", func() (string, error) {
			pid, err := killMariaDB()
			if err != nil {
				return "", err
			}
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
			t0 := time.Now()
			if err := startMariaDB(root); err != nil {
				return "", err
			}
			return fmt.Sprintf("mariadbd %d killed, started again and ready in %s", pid, since(t0)), nil
		}},
	}
	if only := os.Getenv("HERDER_FAULTS_ONLY"); only != "" {
		// A key may repeat: that fault then happens several times.
		var keep []fault
		for _, key := range strings.Split(only, ",") {
			i := slices.IndexFunc(faults, func(f fault) bool { return f.key == key })
			if i < 0 {
				t.Fatalf("HERDER_FAULTS_ONLY: unknown fault %q (worker, plugin, ingest, rabbitmq, mariadb)", key)
			}
			keep = append(keep, faults[i])
		}
		faults = keep
		t.Logf("only the faults %s, in that order (HERDER_FAULTS_ONLY)", only)
	} else {
		rng.Shuffle(len(faults), func(a, b int) { faults[a], faults[b] = faults[b], faults[a] })
	}
	at := make([]float64, len(faults))
	for i := range at {
		at[i] = 0.05 + 0.8*rng.Float64()
	}
	sort.Float64s(at)
	for i, f := range faults {
		p := r.waitProgress(ctx, pub, at[i])
		t0 := time.Now()
		what, err := f.run()
		if err != nil {
			t.Fatalf("%s: fault %q at progress %.2f: %v", since(begin), f.name, p, err)
		}
		t.Logf("%s: fault %d %q at progress %.2f (target %.2f): %s; took %s", since(begin), i+1, f.name, p, at[i], what, since(t0))
	}
	if err := pub.wait(ctx); err != nil {
		t.Fatalf("publish: %v", err)
	}
	t.Logf("%s: all %d messages published (in %s)", since(begin), len(scen.messages), pub.took)

	st, err := r.waitQuiet(ctx, begin.Add(budget-30*time.Second))
	if err != nil {
		r.dumpStacks()
		t.Fatalf("%s: %v\n%v", since(begin), err, st)
	}
	t.Logf("%s: quiet", since(begin))
	r.assertFinal(t, st, pub)
	if len(orphans) > 0 {
		t.Logf("plugin processes outlived their killed host (the suite killed them): %s", strings.Join(orphans, ", "))
	}
	if panics := r.grepLogs("panic"); len(panics) > 0 {
		t.Errorf("processes logged panics: %v", panics)
	}

	// Every process drains and stops cleanly on SIGTERM.
	for _, p := range r.procs {
		t0 := time.Now()
		if err := p.terminate(45 * time.Second); err != nil {
			t.Errorf("stop %s: %v", p.name, err)
		} else {
			t.Logf("%s stopped on SIGTERM in %s", p.name, since(t0))
		}
	}
	t.Logf("TestFaults took %s", since(begin))
}

// assertFinal checks the quiet rig against the scenario.
func (r *rig) assertFinal(t *testing.T, st state, pub *publisher) {
	t.Helper()
	scen := r.scen
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !st.jobs.ok() || st.jobs.rows != len(scen.outcomes) {
		t.Errorf("jobs: %v (want %d, one per task)", st.jobs, len(scen.outcomes))
	}
	dups, err := countRows(ctx, r.db, "SELECT COUNT(*) FROM (SELECT guid FROM job GROUP BY guid HAVING COUNT(*) > 1) d")
	if err != nil || dups != 0 {
		t.Errorf("guids stored more than once: %d (%v)", dups, err)
	}
	nFailed, nCompleted := scen.count(outFailed), scen.count(outCompleted)
	l := st.logs
	if l.rows != scen.logs() || l.pending != 0 || l.otherStatus != 0 || l.parsed != scen.logs() || l.unexpected != 0 {
		t.Errorf("logs: %v; want %d logs, all parsed", l, scen.logs())
	}
	if len(l.failedParses) != 1 || l.failedParses[1] != nFailed {
		t.Errorf("failed jobs' logs by parse_count: %v, want {1: %d}", l.failedParses, nFailed)
	}
	if len(l.otherParses) != 1 || l.otherParses[1] != nCompleted {
		t.Errorf("other jobs' logs by parse_count: %v, want {1: %d}", l.otherParses, nCompleted)
	}
	if l.noVersion != 0 {
		t.Errorf("%d logs parsed without algorithm_version", l.noVersion)
	}
	lines, err := r.errorLines(ctx)
	if err != nil {
		t.Errorf("read error lines: %v", err)
	} else if lines["testfailed"] != nFailed || len(lines) != 1 {
		t.Errorf("jobs with a TEST-UNEXPECTED-FAIL error line by result: %v, want {testfailed: %d}", lines, nFailed)
	}
	var refetched, fetches int
	for i := range r.logFetches {
		n := int(r.logFetches[i].Load())
		fetches += n
		if n > 1 {
			refetched++
		}
	}
	t.Logf("logs downloaded %d times for %d logs (%d downloaded more than once: a parse cut short by a kill); %d task definition fetches",
		fetches, scen.logs(), refetched, r.defFetches.Load())

	// Queues: no work left; herder's dead-letter queues empty; the plugin's
	// holds the malformed messages.
	if busy := r.busy(st.queues); len(busy) > 0 {
		t.Errorf("queues with work left: %v", busy)
	}
	work := 0
	for name, c := range st.queues.counts {
		if strings.HasPrefix(name, r.prefix+".") {
			work++
			if strings.HasSuffix(name, ".dead") && (c.Ready != 0 || c.Unacked != 0) {
				t.Errorf("herder's dead-letter queue %s holds %d messages (%d unacked)", name, c.Ready, c.Unacked)
			}
		}
	}
	if work != 12 {
		t.Errorf("found %d queues named %s.*, want 12 (6 workloads and their dead-letter queues): %v", work, r.prefix, st.queues)
	}
	dead := r.deadLetters(r.pulseDLQ)
	seen := map[string]int{}
	for _, d := range dead {
		seen[d.body]++
		want, ok := scen.malformed[d.body]
		switch {
		case !ok:
			t.Errorf("dead letter not injected by the suite: %q (%s: %s)", trunc(d.body), d.code, d.reason)
		case d.code != want || d.reason == "":
			t.Errorf("dead letter %q: reason code %q (%s), want %q with a reason", trunc(d.body), d.code, d.reason, want)
		}
	}
	// Dead-lettering is at least once, like everything else: a kill -9 of
	// the ingest process or its pulse plugin after the dead letter was
	// confirmed but before the original was acked redelivers the original,
	// which is dead-lettered again (an identical copy, same reason). The
	// queue must hold exactly the injected messages as a set, every one with
	// its reason; copies are counted and shown.
	codes := map[string]int{}
	copies := 0
	for body, code := range scen.malformed {
		codes[code]++
		switch n := seen[body]; {
		case n == 0:
			t.Errorf("malformed message not dead-lettered: %q", trunc(body))
		case n > 1:
			copies += n - 1
		}
	}
	if len(seen) != nMalformed {
		t.Errorf("the plugin's dead-letter queue held %d distinct messages, want %d", len(seen), nMalformed)
	}
	t.Logf("dead letters: %d distinct in %s (reason codes %v), %d copies from redelivery after a kill; none in herder's queues",
		len(seen), r.pulseDLQ, codes, copies)
}

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

func since(t time.Time) string { return time.Since(t).Round(10 * time.Millisecond).String() }

func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// publisher publishes messages in chunks, each confirmed before the next;
// mu is held during a chunk, so a broker restart taken under mu happens
// between chunks.
type publisher struct {
	mu     sync.Mutex
	reopen bool // the broker restarted: reconnect before the next chunk
	sent   atomic.Int64
	done   chan struct{}
	err    error
	took   time.Duration
}

func (r *rig) startPublisher(ctx context.Context, msgs []pulsetest.Message, chunk int) *publisher {
	p := &publisher{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t0 := time.Now()
		for start := 0; start < len(msgs); start += chunk {
			part := msgs[start:min(start+chunk, len(msgs))]
			for attempt := 1; ; attempt++ {
				p.mu.Lock()
				var err error
				if p.reopen {
					err = r.pub.Reopen()
					p.reopen = err != nil
				}
				if err == nil {
					err = r.pub.PublishMany(ctx, part)
				}
				if err != nil {
					p.reopen = true
				}
				p.mu.Unlock()
				if err == nil {
					break
				}
				if ctx.Err() != nil || attempt == 50 {
					p.err = fmt.Errorf("chunk at %d: %w", start, err)
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			p.sent.Add(int64(len(part)))
		}
		p.took = time.Since(t0).Round(10 * time.Millisecond)
	}()
	return p
}

func (p *publisher) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// progress is how far the run is, 0 to 1: the mean of the share of all
// messages the plugin has taken from its queue and the share of logs
// parsed, so faults land while messages are ingested and while logs are
// parsed.
func (r *rig) progress(ctx context.Context, pub *publisher) (float64, error) {
	ready, err := r.pulseReady()
	if err != nil {
		return 0, err
	}
	parsed, err := countRows(ctx, r.db, "SELECT COUNT(*) FROM job_log WHERE status = 1")
	if err != nil {
		return 0, err
	}
	taken := float64(pub.sent.Load()-int64(ready)) / float64(len(r.scen.messages))
	return (taken + float64(parsed)/float64(r.scen.logs())) / 2, nil
}

// waitProgress waits until progress reaches p; a stall fails the test at
// ctx's deadline.
func (r *rig) waitProgress(ctx context.Context, pub *publisher, p float64) float64 {
	r.t.Helper()
	var last float64
	moved := time.Now()
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		got, err := r.progress(qctx, pub)
		cancel()
		if err == nil {
			if got != last {
				moved = time.Now()
			}
			last = got
			if got >= p {
				return got
			}
		}
		stalled := time.Since(moved) > stallAfter
		if stalled || ctx.Err() != nil {
			s, _ := r.look(context.Background())
			r.dumpStacks()
			r.t.Fatalf("progress stalled at %.2f (for %s) waiting for %.2f: %v", last, since(moved), p, s)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
