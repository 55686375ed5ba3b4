package pluginhost

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// Test plugin binaries, built once in TestMain.
var bins struct {
	source, sourceV2, processor, processorV2 string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	const pkg = "github.com/herder-ci/herder/sdk/plugintest/internal/testplugins/"
	build := func(dst *string, name string, args ...string) {
		if err != nil {
			return
		}
		*dst, err = plugintest.BuildMain(dir, pkg+name, args...)
	}
	build(&bins.source, "source")
	build(&bins.sourceV2, "source", "-ldflags", "-X main.version=2.0.0")
	build(&bins.processor, "processor")
	build(&bins.processorV2, "processor", "-ldflags", "-X main.version=2.0.0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// memSink is an idempotent in-memory store: events are kept once per
// dedupe key, and every accept is counted.
type memSink struct {
	mu       sync.Mutex
	counts   map[string]int
	order    []string
	accepts  int
	delay    time.Duration
	fail     func(events []sdk.Event) error
	changed  chan struct{}
	sourceOf map[string]string
}

func newMemSink() *memSink {
	return &memSink{counts: map[string]int{}, changed: make(chan struct{}), sourceOf: map[string]string{}}
}

func (s *memSink) Accept(ctx context.Context, source string, events []sdk.Event) error {
	s.mu.Lock()
	delay, fail := s.delay, s.fail
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if fail != nil {
		if err := fail(events); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepts++
	for _, e := range events {
		k := plugintest.DedupeKey(e)
		if s.counts[k] == 0 {
			s.order = append(s.order, k)
		}
		s.counts[k]++
		s.sourceOf[k] = source
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (s *memSink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counts)
}

func (s *memSink) waitDistinct(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got, ch := len(s.counts), s.changed
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("sink holds %d distinct events after %s, want %d", got, timeout, n)
		case <-ch:
		}
	}
}

// pluginEnv is a plugin directory with a lock file, and a supervisor over it.
type pluginEnv struct {
	t    *testing.T
	dir  string
	sink *memSink
	reg  *prometheus.Registry
	cfg  *config.Config
	sup  *Supervisor
	opts Options
}

func newEnv(t *testing.T) *pluginEnv {
	return &pluginEnv{
		t:    t,
		dir:  t.TempDir(),
		sink: newMemSink(),
		reg:  prometheus.NewRegistry(),
		cfg:  &config.Config{},
		opts: Options{
			Logger:           testLogger(t),
			StartTimeout:     10 * time.Second,
			HealthInterval:   200 * time.Millisecond,
			HealthTimeout:    time.Second,
			ExitPollInterval: 20 * time.Millisecond,
			StopGrace:        3 * time.Second,
			Backoff:          Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2, Jitter: 0.2},
		},
	}
}

// install copies a binary into the plugin directory as name and pins it.
func (e *pluginEnv) install(name, bin string) string {
	e.t.Helper()
	dst := filepath.Join(e.dir, name)
	copyFile(e.t, bin, dst)
	e.pin(name)
	return dst
}

// pin records the current sum of the plugin's binary in the lock file.
func (e *pluginEnv) pin(name string) {
	e.t.Helper()
	lf, err := ReadLockFile(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	sum, err := FileSHA256(filepath.Join(e.dir, name))
	if err != nil {
		e.t.Fatal(err)
	}
	lf.Set(LockEntry{Name: name, Path: name, SHA256: sum, Protocol: sdk.ProtocolVersion})
	if err := lf.Write(); err != nil {
		e.t.Fatal(err)
	}
}

// testLogger writes the host log to the test log until the test ends.
func testLogger(t *testing.T) hclog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	level := hclog.Info
	if l := os.Getenv("HERDER_TEST_LOG"); l != "" {
		level = hclog.LevelFromString(l)
	}
	return hclog.New(&hclog.LoggerOptions{Name: "host", Output: w, Level: level})
}

type testWriter struct {
	t    *testing.T
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// Write to a new inode: a running plugin keeps its old binary.
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

func (e *pluginEnv) source(name, plugin string, cfg string) {
	e.cfg.Sources = append(e.cfg.Sources, config.Source{Name: name, Plugin: plugin, Config: []byte(cfg)})
}

func (e *pluginEnv) processor(name, plugin string, concurrency int, cfg string) {
	e.cfg.Processors = append(e.cfg.Processors, config.Processor{Name: name, Plugin: plugin, Concurrency: concurrency, Config: []byte(cfg)})
}

// start builds and starts the supervisor; it is stopped when the test ends.
func (e *pluginEnv) start() *Supervisor {
	e.t.Helper()
	e.cfg.PluginDir = e.dir
	e.opts.Sink = e.sink
	e.opts.Registerer = e.reg
	sup, err := New(e.cfg, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := sup.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.sup = sup
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := sup.Stop(ctx); err != nil {
			e.t.Errorf("stop supervisor: %v", err)
		}
	})
	return sup
}

func (e *pluginEnv) waitRunning(name string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.sup.WaitRunning(ctx, name); err != nil {
		e.t.Fatal(err)
	}
}

// status returns an instance's status.
func (e *pluginEnv) status(name string) PluginStatus {
	e.t.Helper()
	for _, st := range e.sup.Status() {
		if st.Name == name {
			return st
		}
	}
	e.t.Fatalf("no status for %s", name)
	return PluginStatus{}
}

// waitStatus polls until cond holds for the instance's status.
func (e *pluginEnv) waitStatus(name string, timeout time.Duration, what string, cond func(PluginStatus) bool) PluginStatus {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := e.status(name)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: waited %s for %s; status: %+v", name, timeout, what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metricValue reads one sample from the registry (0 if absent).
func (e *pluginEnv) metricValue(name string, labels map[string]string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func queueConfig(q *plugintest.Queue) string {
	return fmt.Sprintf(`{"url": %q, "batch": 20, "lease_ms": 300, "poll_ms": 5}`, q.URL)
}

func publish(q *plugintest.Queue, from, to int) {
	for i := from; i < to; i++ {
		_, _ = q.Publish(context.Background(), i)
	}
}
