package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

func TestSourceEventsFlowToSink(t *testing.T) {
	e := newEnv(t)
	q := plugintest.NewQueue(t)
	publish(q, 0, 100)
	e.install("queue", bins.source)
	e.source("jobs", "queue", queueConfig(q))
	e.start()
	e.sink.waitDistinct(t, 100, 20*time.Second)

	st := e.waitStatus("jobs", 5*time.Second, "100 events counted", func(st PluginStatus) bool { return st.Events >= 100 })
	if st.State != StateRunning || st.PID == 0 || st.Version != "1.0.0" || st.Protocol != sdk.ProtocolVersion || st.Kind != "source" || st.Plugin != "queue" {
		t.Errorf("status = %+v", st)
	}
	if st.EventsPerSecond <= 0 || st.Batches == 0 || st.SHA256 == "" {
		t.Errorf("status counters = %+v", st)
	}
	if got := e.metricValue("herder_plugin_events_total", map[string]string{"name": "jobs"}); got < 100 {
		t.Errorf("herder_plugin_events_total = %v, want >= 100", got)
	}
	if got := e.metricValue("herder_plugin_state", map[string]string{"name": "jobs", "state": "running"}); got != 1 {
		t.Errorf("herder_plugin_state{state=running} = %v", got)
	}
	if got := e.metricValue("herder_plugin_call_duration_seconds", map[string]string{"name": "jobs", "method": "accept"}); got == 0 {
		t.Error("no accept latency observed")
	}
	e.sink.mu.Lock()
	if src := e.sink.sourceOf["m-0"]; src != "jobs" {
		t.Errorf("Accept got source %q, want the instance name", src)
	}
	e.sink.mu.Unlock()
}

// TestSourceKill9LosesNothingDoublesNothing kills the source plugin with
// SIGKILL while batches are being accepted; the supervisor restarts it and
// the redelivered messages collapse in the idempotent store.
func TestSourceKill9LosesNothingDoublesNothing(t *testing.T) {
	e := newEnv(t)
	q := plugintest.NewQueue(t)
	e.sink.delay = 3 * time.Millisecond
	e.install("queue", bins.source)
	e.source("jobs", "queue", queueConfig(q))
	e.start()
	e.waitRunning("jobs")
	publish(q, 0, 300)
	e.sink.waitDistinct(t, 60, 20*time.Second)
	pid := e.status("jobs").PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	publish(q, 300, 400)
	e.waitStatus("jobs", 10*time.Second, "a restart", func(st PluginStatus) bool {
		return st.State == StateRunning && st.PID != pid && st.Restarts == 1
	})
	e.sink.waitDistinct(t, 400, 30*time.Second)
	waitAcked(t, q)
	e.sink.mu.Lock()
	defer e.sink.mu.Unlock()
	for i := 0; i < 400; i++ {
		if e.sink.counts["m-"+strconv.Itoa(i)] == 0 {
			t.Errorf("message m-%d lost", i)
		}
	}
	if len(e.sink.counts) != 400 {
		t.Errorf("store holds %d events, want 400", len(e.sink.counts))
	}
	st := e.status("jobs")
	if st.LastErrorKind != "crash" {
		t.Errorf("last error kind = %q (%s), want crash", st.LastErrorKind, st.LastError)
	}
	t.Logf("queue: %+v", q.Stats())
}

func waitAcked(t *testing.T, q *plugintest.Queue) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(q.Unacked()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages never acked", len(q.Unacked()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTamperedBinaryIsRefused(t *testing.T) {
	e := newEnv(t)
	path := e.install("queue", bins.source)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()
	e.source("jobs", "queue", `{"generate": 1}`)
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = e.sup.WaitRunning(ctx, "jobs")
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("WaitRunning = %v, want ErrChecksumMismatch", err)
	}
	st := e.status("jobs")
	if st.State != StateFailed || st.LastErrorKind != "checksum_mismatch" || st.PID != 0 {
		t.Errorf("status = %+v", st)
	}
	if e.metricValue("herder_plugin_errors_total", map[string]string{"name": "jobs", "kind": "checksum_mismatch"}) != 1 {
		t.Error("checksum_mismatch not counted")
	}
	// A reload does not help until the pin matches...
	if err := e.sup.Reload(ctx, "jobs"); !errors.Is(err, ErrChecksumMismatch) {
		t.Errorf("Reload = %v, want ErrChecksumMismatch", err)
	}
	// ...and does once it does.
	e.install("queue", bins.source)
	if err := e.sup.Reload(ctx, "jobs"); err != nil {
		t.Fatalf("Reload after reinstall: %v", err)
	}
	e.sink.waitDistinct(t, 1, 10*time.Second)
}

func TestUnpinnedBinaryIsRefused(t *testing.T) {
	e := newEnv(t)
	copyFile(t, bins.source, filepath.Join(e.dir, "queue"))
	e.cfg.Plugins = []config.Plugin{{Name: "queue", Path: filepath.Join(e.dir, "queue")}}
	e.source("jobs", "queue", `{"generate": 1}`)
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sup.WaitRunning(ctx, "jobs"); !errors.Is(err, ErrNoPin) {
		t.Fatalf("WaitRunning = %v, want ErrNoPin", err)
	}
}

func TestPluginBlockPinWinsOverLockFile(t *testing.T) {
	e := newEnv(t)
	path := e.install("queue", bins.source)
	e.cfg.Plugins = []config.Plugin{{Name: "queue", Path: path, SHA256: "0000000000000000000000000000000000000000000000000000000000000000"}}
	e.source("jobs", "queue", `{"generate": 1}`)
	e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sup.WaitRunning(ctx, "jobs"); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("WaitRunning = %v, want ErrChecksumMismatch", err)
	}
}

func TestCrashLoopingPluginIsQuarantined(t *testing.T) {
	e := newEnv(t)
	e.install("queue-crash", bins.source)
	e.source("jobs", "queue-crash", `{"generate": 1}`)
	e.start()
	st := e.waitStatus("jobs", 30*time.Second, "quarantine", func(st PluginStatus) bool { return st.State == StateQuarantined })
	if st.Restarts != 4 || st.RecentCrashes != 5 || st.LastErrorKind != "crash" {
		t.Errorf("status = %+v, want 4 restarts and 5 recent crashes", st)
	}
	if e.metricValue("herder_plugin_state", map[string]string{"name": "jobs", "state": "quarantined"}) != 1 {
		t.Error("state metric does not show the quarantine")
	}
	if e.metricValue("herder_plugin_restarts_total", map[string]string{"name": "jobs"}) != 4 {
		t.Error("restarts metric != 4")
	}
	// It stays quarantined...
	time.Sleep(200 * time.Millisecond)
	if st := e.status("jobs"); st.State != StateQuarantined {
		t.Fatalf("left quarantine on its own: %+v", st)
	}
	// ...until a fixed binary is installed and reloaded (the lock entry
	// may point anywhere in the plugin directory).
	copyFile(t, bins.source, filepath.Join(e.dir, "queue-fixed"))
	lf, _ := ReadLockFile(e.dir)
	sum, _ := FileSHA256(filepath.Join(e.dir, "queue-fixed"))
	lf.Set(LockEntry{Name: "queue-crash", Path: "queue-fixed", SHA256: sum})
	if err := lf.Write(); err != nil {
		t.Fatal(err)
	}
	if err := e.sup.Reload(context.Background(), "queue-crash"); err != nil {
		t.Fatal(err)
	}
	e.sink.waitDistinct(t, 1, 10*time.Second)
	if st := e.status("jobs"); st.State != StateRunning || st.RecentCrashes != 0 {
		t.Errorf("after reload: %+v", st)
	}
}

func TestReloadSwapsSourceWithoutLosingEvents(t *testing.T) {
	e := newEnv(t)
	q := plugintest.NewQueue(t)
	e.sink.delay = 2 * time.Millisecond
	e.install("queue", bins.source)
	e.source("jobs", "queue", queueConfig(q))
	e.start()
	e.waitRunning("jobs")
	oldPID := e.status("jobs").PID

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 300; i += 10 {
			publish(q, i, i+10)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	e.sink.waitDistinct(t, 50, 20*time.Second)
	e.install("queue", bins.sourceV2) // new binary and pin
	if err := e.sup.Reload(context.Background(), "jobs"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	e.sink.waitDistinct(t, 300, 30*time.Second)
	waitAcked(t, q)
	st := e.status("jobs")
	if st.Version != "2.0.0" || st.PID == oldPID || st.State != StateRunning || st.Restarts != 0 {
		t.Errorf("after reload: %+v", st)
	}
	if n := e.sink.distinct(); n != 300 {
		t.Errorf("store holds %d events, want 300", n)
	}
	if alive(oldPID) {
		t.Errorf("old plugin process %d still running", oldPID)
	}
}

func alive(pid int) bool {
	// A zombie is reaped by go-plugin's Wait; signal 0 fails once it is.
	return syscall.Kill(pid, 0) == nil
}

func TestReloadRefusesUnverifiedBinaryAndKeepsOldOne(t *testing.T) {
	e := newEnv(t)
	q := plugintest.NewQueue(t)
	e.install("queue", bins.source)
	e.source("jobs", "queue", queueConfig(q))
	e.start()
	e.waitRunning("jobs")
	pid := e.status("jobs").PID
	copyFile(t, bins.sourceV2, filepath.Join(e.dir, "queue")) // not pinned
	err := e.sup.Reload(context.Background(), "jobs")
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("Reload = %v, want ErrChecksumMismatch", err)
	}
	st := e.status("jobs")
	if st.PID != pid || st.State != StateRunning || st.LastErrorKind != "checksum_mismatch" {
		t.Errorf("after refused reload: %+v", st)
	}
	publish(q, 0, 10)
	e.sink.waitDistinct(t, 10, 10*time.Second)
	if err := e.sup.Reload(context.Background(), "nope"); !errors.Is(err, ErrUnknownPlugin) {
		t.Errorf("Reload(nope) = %v, want ErrUnknownPlugin", err)
	}
}

// TestMisbehavingBinaries checks each kind of broken plugin gets its named
// error, in status and from WaitRunning, and none takes the host down.
func TestMisbehavingBinaries(t *testing.T) {
	script := filepath.Join(t.TempDir(), "script")
	os.WriteFile(script, []byte("#!/bin/sh\necho 'hello, world'\n"), 0o755)
	text := filepath.Join(t.TempDir(), "text")
	os.WriteFile(text, []byte("just text\n"), 0o755)
	cases := []struct {
		name, bin string
		want      error
		kind      string
		state     string
	}{
		{"queue-hang", bins.source, ErrStartTimeout, "start_timeout", ""},
		{"queue-garbage", bins.source, ErrStdoutGarbage, "stdout_garbage", ""},
		{"queue-exit", bins.source, ErrNotPlugin, "not_plugin", ""},
		{"shell", script, ErrNotPlugin, "stdout_garbage", ""},
		{"text", text, ErrNotPlugin, "not_plugin", ""},
		{"queue-badproto", bins.source, ErrProtocolVersion, "protocol_version", StateFailed},
		{"processor", bins.processor, ErrWrongKind, "wrong_kind", StateFailed},
	}
	e := newEnv(t)
	e.opts.StartTimeout = 2 * time.Second
	e.opts.Backoff = Backoff{Initial: time.Hour, Max: time.Hour}
	for _, c := range cases {
		e.install(c.name, c.bin)
		e.source(c.name, c.name, `{"generate": 1}`)
	}
	e.install("good", bins.source)
	e.source("good", "good", `{"generate": 5}`)
	e.install("badlog", bins.source)
	e.source("queue-badlog", "badlog", `{"generate": 5}`)
	e.source("badconfig", "good", `{}`)
	e.start()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := e.waitStatus(c.name, 10*time.Second, "an error", func(st PluginStatus) bool { return st.LastError != "" })
			if st.LastErrorKind != c.kind {
				t.Errorf("last error kind = %q, want %q (%s)", st.LastErrorKind, c.kind, st.LastError)
			}
			if c.state != "" && st.State != c.state {
				t.Errorf("state = %s, want %s", st.State, c.state)
			}
			if c.state == "" && st.State != StateBackoff {
				t.Errorf("state = %s, want backoff", st.State)
			}
			// The named error is in the chain WaitRunning returns for
			// failed instances; for the others check the recorded error.
			e.sup.byName[c.name].mu.Lock()
			err := e.sup.byName[c.name].lastErr
			e.sup.byName[c.name].mu.Unlock()
			if !errors.Is(err, c.want) {
				t.Errorf("error %v does not wrap %v", err, c.want)
			}
			t.Logf("%s: %s", c.name, st.LastError)
		})
	}
	st := e.waitStatus("badconfig", 10*time.Second, "failed", func(st PluginStatus) bool { return st.State == StateFailed })
	if st.LastErrorKind != "config" {
		t.Errorf("bad config: %+v", st)
	}
	// The host and the well-behaved plugins carried on.
	e.sink.waitDistinct(t, 5, 10*time.Second)
	e.waitRunning("queue-badlog")
}

func TestStdoutGarbageAfterHandshakeIsCountedNotFatal(t *testing.T) {
	e := newEnv(t)
	q := plugintest.NewQueue(t)
	e.install("queue-stdout", bins.source)
	e.source("jobs", "queue-stdout", queueConfig(q))
	e.start()
	st := e.waitStatus("jobs", 10*time.Second, "stdout lines", func(st PluginStatus) bool { return st.StdoutLines >= 2 })
	if st.State != StateRunning || st.LastErrorKind != "stdout_garbage" {
		t.Errorf("status = %+v", st)
	}
	publish(q, 0, 10)
	e.sink.waitDistinct(t, 10, 10*time.Second)
}

func TestHungPluginIsRestartedByHealthChecks(t *testing.T) {
	e := newEnv(t)
	e.opts.HealthInterval = 50 * time.Millisecond
	e.opts.HealthTimeout = 50 * time.Millisecond
	e.opts.StopGrace = 200 * time.Millisecond
	q := plugintest.NewQueue(t)
	e.install("queue", bins.source)
	e.source("jobs", "queue", queueConfig(q))
	e.start()
	e.waitRunning("jobs")
	pid := e.status("jobs").PID
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	st := e.waitStatus("jobs", 20*time.Second, "a restart", func(st PluginStatus) bool {
		return st.State == StateRunning && st.PID != pid
	})
	if st.LastErrorKind != "health" {
		t.Errorf("last error = %q (%s), want health", st.LastErrorKind, st.LastError)
	}
	publish(q, 0, 5)
	e.sink.waitDistinct(t, 5, 10*time.Second)
}

func TestProcessorCalls(t *testing.T) {
	e := newEnv(t)
	e.opts.CallTimeout = 300 * time.Millisecond
	e.install("proc", bins.processor)
	e.processor("parse", "proc", 0, `{"concurrency": 3}`)
	e.start()
	ctx := context.Background()
	res, err := e.sup.Process(ctx, "parse", sdk.Task{ID: "1", Kind: "echo", Payload: []byte("hi")})
	if err != nil || string(res.Payload) != "hi" {
		t.Fatalf("echo: %q, %v", res.Payload, err)
	}
	if _, err := e.sup.Process(ctx, "parse", sdk.Task{ID: "2", Kind: "permanent"}); !errors.Is(err, ErrPermanent) {
		t.Errorf("permanent: %v", err)
	}
	start := time.Now()
	_, err = e.sup.Process(ctx, "parse", sdk.Task{ID: "3", Kind: "hang", Payload: []byte("3000")})
	if !errors.Is(err, ErrCallTimeout) {
		t.Errorf("hang: %v, want ErrCallTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the timed-out call returned after %s", d)
	}
	st := e.status("parse")
	if st.LastErrorKind != "call_timeout" || st.State != StateRunning || st.Concurrency != 3 || st.Processor == nil || st.Processor.Name != "testprocessor" {
		t.Errorf("status = %+v", st)
	}
	if _, err := e.sup.Process(ctx, "nope", sdk.Task{}); !errors.Is(err, ErrUnknownPlugin) {
		t.Errorf("unknown processor: %v", err)
	}
	descs := e.sup.Processors()
	if len(descs) != 1 || !descs[0].Known || descs[0].Info.AlgorithmVersion != "1.0.0" {
		t.Errorf("Processors() = %+v", descs)
	}
	if e.metricValue("herder_plugin_call_duration_seconds", map[string]string{"name": "parse", "method": "process"}) != 3 {
		t.Error("process latency not observed three times")
	}
}

func TestProcessorInFlightIsBounded(t *testing.T) {
	e := newEnv(t)
	e.install("proc", bins.processor)
	// The block's concurrency (2) overrides the plugin's (3).
	e.processor("parse", "proc", 2, `{"concurrency": 3}`)
	e.start()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	maxSeen := int64(0)
	var mu sync.Mutex
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := e.status("parse").InFlight; n > 0 {
				mu.Lock()
				maxSeen = max(maxSeen, n)
				mu.Unlock()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.sup.Process(context.Background(), "parse", sdk.Task{ID: fmt.Sprint(i), Kind: "sleep", Payload: []byte("50")})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	res, err := e.sup.Process(context.Background(), "parse", sdk.Task{Kind: "max"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Payload) != "2" {
		t.Errorf("the plugin saw %s calls at once, want 2", res.Payload)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxSeen > 2 {
		t.Errorf("status showed %d calls in flight, limit 2", maxSeen)
	}
}

func TestProcessorCrashIsRestartedAndCallsWait(t *testing.T) {
	e := newEnv(t)
	e.install("proc", bins.processor)
	e.processor("parse", "proc", 0, "")
	e.start()
	e.waitRunning("parse")
	pid := e.status("parse").PID
	if _, err := e.sup.Process(context.Background(), "parse", sdk.Task{ID: "c", Kind: "crash"}); !errors.Is(err, ErrPluginExited) {
		t.Errorf("crash call: %v, want ErrPluginExited", err)
	}
	// The next call waits for the restart instead of failing.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := e.sup.Process(ctx, "parse", sdk.Task{ID: "e", Kind: "echo", Payload: []byte("back")})
	if err != nil || string(res.Payload) != "back" {
		t.Fatalf("echo after crash: %q, %v", res.Payload, err)
	}
	st := e.status("parse")
	if st.PID == pid || st.Restarts != 1 || st.LastErrorKind != "crash" {
		t.Errorf("status after crash: %+v", st)
	}
}

func TestProcessorStuckInCallsIsRestarted(t *testing.T) {
	e := newEnv(t)
	e.opts.CallTimeout = 50 * time.Millisecond
	e.opts.RestartAfterTimeouts = 2
	e.opts.StopGrace = 100 * time.Millisecond
	e.install("proc", bins.processor)
	e.processor("parse", "proc", 4, "")
	e.start()
	e.waitRunning("parse")
	pid := e.status("parse").PID
	for i := 0; i < 2; i++ {
		if _, err := e.sup.Process(context.Background(), "parse", sdk.Task{Kind: "hang", Payload: []byte("5000")}); !errors.Is(err, ErrCallTimeout) {
			t.Fatalf("hang: %v", err)
		}
	}
	e.waitStatus("parse", 10*time.Second, "a restart", func(st PluginStatus) bool { return st.State == StateRunning && st.PID != pid })
}

func TestProcessorReloadFinishesInFlightCalls(t *testing.T) {
	e := newEnv(t)
	e.install("proc", bins.processor)
	e.processor("parse", "proc", 4, "")
	e.start()
	e.waitRunning("parse")
	oldPID := e.status("parse").PID
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.sup.Process(context.Background(), "parse", sdk.Task{Kind: "sleep", Payload: []byte("400")})
			errs <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // the calls are in flight
	e.install("proc", bins.processorV2)
	if err := e.sup.Reload(context.Background(), "parse"); err != nil {
		t.Fatal(err)
	}
	// New calls go to the new process while the old one finishes.
	res, err := e.sup.Process(context.Background(), "parse", sdk.Task{Kind: "echo", Payload: []byte("v2")})
	if err != nil || string(res.Payload) != "v2" {
		t.Errorf("call during drain: %q, %v", res.Payload, err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("in-flight call across reload: %v", err)
		}
	}
	st := e.status("parse")
	if st.Version != "2.0.0" || st.PID == oldPID || st.Processor.AlgorithmVersion != "2.0.0" {
		t.Errorf("after reload: %+v", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(oldPID) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(oldPID) {
		t.Errorf("old process %d still alive", oldPID)
	}
}

func TestStopEndsEveryPlugin(t *testing.T) {
	e := newEnv(t)
	q := plugintest.NewQueue(t)
	e.install("queue", bins.source)
	e.install("proc", bins.processor)
	e.source("jobs", "queue", queueConfig(q))
	e.processor("parse", "proc", 0, "")
	sup := e.start()
	e.waitRunning("jobs")
	e.waitRunning("parse")
	pids := []int{e.status("jobs").PID, e.status("parse").PID}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sup.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range sup.Status() {
		if st.State != StateStopped {
			t.Errorf("%s is %s after Stop", st.Name, st.State)
		}
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d survived Stop", pid)
		}
	}
	if _, err := sup.Process(ctx, "parse", sdk.Task{Kind: "echo"}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Process after Stop: %v, want ErrNotRunning", err)
	}
	if err := sup.Reload(ctx, "jobs"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Reload after Stop: %v, want ErrNotRunning", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	sink := newMemSink()
	for name, cfg := range map[string]*config.Config{
		"duplicate": {Sources: []config.Source{{Name: "a", Plugin: "p"}}, Processors: []config.Processor{{Name: "a", Plugin: "p"}}},
		"no plugin": {Sources: []config.Source{{Name: "a"}}},
		"bad name":  {Plugins: []config.Plugin{{Name: "../x"}}},
	} {
		if _, err := New(cfg, Options{Sink: sink}); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if _, err := New(&config.Config{Sources: []config.Source{{Name: "a", Plugin: "p"}}}, Options{}); err == nil {
		t.Error("New accepted sources without a sink")
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.2}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		if got := b.Delay(attempt, 0.5); got != want {
			t.Errorf("Delay(%d) = %s, want %s", attempt, got, want)
		}
	}
	if got := b.Delay(1, 0); got != 160*time.Millisecond {
		t.Errorf("lowest jitter = %s", got)
	}
	if got := b.Delay(1, 0.999999); got < 239*time.Millisecond || got > 240*time.Millisecond {
		t.Errorf("highest jitter = %s", got)
	}
	if got := b.Delay(50, 0.999); got != time.Second {
		t.Errorf("capped delay with jitter = %s, want the cap", got)
	}
}
