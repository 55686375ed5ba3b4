// Package plugintest runs herder plugins under test against an in-memory
// host: a real plugin binary (built with Build) or a plugin served in-process
// through go-plugin's test mode. The host records every batch a source sends
// and can refuse batches, kill the plugin with SIGKILL and restart it, which
// is what the source conformance kit (SourceKit) is built on.
package plugintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/pluginrpc"
)

// RunTestsWithPlugin is a plugin package's TestMain: it builds the main
// package in the test's folder once into a temporary directory, sets *bin
// to the binary, runs the tests, removes the binary and exits.
//
//	var pluginBin string
//
//	func TestMain(m *testing.M) { plugintest.RunTestsWithPlugin(m, &pluginBin) }
func RunTestsWithPlugin(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "herder-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The folder's path rather than ".", so the binary has its name.
	wd, err := os.Getwd()
	if err == nil {
		*bin, err = BuildMain(dir, wd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// BuildMain compiles the Go main package pkg (an import path, or a directory
// relative to the current one) into dir and returns the binary's path. Extra
// arguments go to `go build` (e.g. "-ldflags", "-X main.version=2"). Use it
// from TestMain to build each plugin once per test binary.
func BuildMain(dir, pkg string, args ...string) (string, error) {
	name := filepath.Base(strings.TrimSuffix(pkg, "/"))
	out := filepath.Join(dir, name)
	for i := 2; fileExists(out); i++ {
		out = filepath.Join(dir, fmt.Sprintf("%s%d", name, i))
	}
	cmdArgs := append([]string{"build", "-o", out}, args...)
	cmdArgs = append(cmdArgs, pkg)
	cmd := exec.Command("go", cmdArgs...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %v: %s", pkg, err, stderr.String())
	}
	return out, nil
}

// Build is BuildMain into a temporary directory of t.
func Build(t testing.TB, pkg string, args ...string) string {
	t.Helper()
	path, err := BuildMain(t.TempDir(), pkg, args...)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// DedupeKey is the key under which the host stores an event idempotently:
// its ID when the source set one, else the job guid and state, else the push's
// project and revision.
func DedupeKey(e sdk.Event) string {
	switch {
	case e.ID != "":
		return e.ID
	case e.Job != nil:
		return "job/" + e.Job.Job.JobGUID + "/" + e.Job.Job.State
	case e.Push != nil:
		return "push/" + e.Push.Project + "/" + e.Push.Revision
	}
	return ""
}

// Recorder is the in-memory host's store: it keeps every accepted batch,
// and counts events by key the way an idempotent store would absorb them.
type Recorder struct {
	key     func(sdk.Event) string
	mu      sync.Mutex
	batches [][]sdk.Event
	counts  map[string]int
	nacks   int
	changed chan struct{}
}

func newRecorder(key func(sdk.Event) string) *Recorder {
	if key == nil {
		key = DedupeKey
	}
	return &Recorder{key: key, counts: map[string]int{}, changed: make(chan struct{})}
}

func (r *Recorder) record(events []sdk.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, events)
	for _, e := range events {
		r.counts[r.key(e)]++
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Recorder) nacked() {
	r.mu.Lock()
	r.nacks++
	r.mu.Unlock()
}

// Events returns every accepted event in order, duplicates included.
func (r *Recorder) Events() []sdk.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sdk.Event
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

// Batches returns the number of accepted batches.
func (r *Recorder) Batches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.batches)
}

// Nacks returns the number of refused batches.
func (r *Recorder) Nacks() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nacks
}

// Count returns how many times an event with this key was accepted.
func (r *Recorder) Count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[key]
}

// Counts returns accepted events by key.
func (r *Recorder) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

// Distinct returns the number of distinct keys accepted: what an idempotent
// store holds.
func (r *Recorder) Distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.counts)
}

// WaitDistinct waits until at least n distinct keys were accepted.
func (r *Recorder) WaitDistinct(ctx context.Context, n int) error {
	for {
		r.mu.Lock()
		got, ch := len(r.counts), r.changed
		r.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d distinct events, have %d: %w", n, got, ctx.Err())
		case <-ch:
		}
	}
}

// SourceOptions configures a source under test.
type SourceOptions struct {
	// Name is the instance name (default "source").
	Name string
	// Config is the source's settings (JSON).
	Config []byte
	// Accept, when set, decides each batch before it is recorded: an error
	// refuses (nacks) the batch. It may block, to hold a batch in flight.
	Accept pluginrpc.AcceptFunc
	// Key identifies events for deduplication (default DedupeKey).
	Key func(sdk.Event) string
	// Logger receives the plugin's logs (default: the test log, at the level
	// in HERDER_TEST_LOG, info by default).
	Logger       *slog.Logger
	StartTimeout time.Duration
	Env          []string
}

// SourceRun is a source plugin running against the in-memory host.
type SourceRun struct {
	t        testing.TB
	binary   string
	inproc   sdk.Source
	opts     SourceOptions
	recorder *Recorder

	mu      sync.Mutex
	client  *pluginrpc.Client
	cancel  context.CancelFunc
	done    chan struct{}
	runErr  error
	stopInp func()
	starts  int
}

// StartSource starts the source plugin binary and runs it against an
// in-memory host; it is stopped when the test ends.
func StartSource(t testing.TB, binary string, opts SourceOptions) *SourceRun {
	t.Helper()
	r := newSourceRun(t, opts)
	r.binary = binary
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	return r
}

// StartSourceInProcess serves src inside the test process (go-plugin's test
// mode) and runs it against an in-memory host over the real protocol.
// KillPlugin is not available in-process.
func StartSourceInProcess(t testing.TB, src sdk.Source, opts SourceOptions) *SourceRun {
	t.Helper()
	r := newSourceRun(t, opts)
	r.inproc = src
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	return r
}

func newSourceRun(t testing.TB, opts SourceOptions) *SourceRun {
	if opts.Name == "" {
		opts.Name = "source"
	}
	if opts.Logger == nil {
		opts.Logger = TestLogger(t)
	}
	r := &SourceRun{t: t, opts: opts, recorder: newRecorder(opts.Key)}
	t.Cleanup(func() { _ = r.Stop() })
	return r
}

// Recorder returns what the host accepted.
func (r *SourceRun) Recorder() *Recorder { return r.recorder }

// PID returns the running plugin's process id.
func (r *SourceRun) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == nil {
		return 0
	}
	return r.client.PID()
}

// Info returns what the plugin said about itself.
func (r *SourceRun) Info() pluginrpc.Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == nil {
		return pluginrpc.Info{}
	}
	return r.client.Info()
}

func (r *SourceRun) accept(ctx context.Context, events []sdk.Event) error {
	if r.opts.Accept != nil {
		if err := r.opts.Accept(ctx, events); err != nil {
			r.recorder.nacked()
			return err
		}
	}
	r.recorder.record(events)
	return nil
}

func (r *SourceRun) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return errors.New("plugintest: source already running")
	}
	cfg := pluginrpc.Config{
		Name:         r.opts.Name,
		Path:         r.binary,
		Env:          r.opts.Env,
		Logger:       r.opts.Logger,
		LogLevel:     testLogLevel(),
		StartTimeout: r.opts.StartTimeout,
	}
	if r.inproc != nil {
		rc, stop := serveInProcess(func(o sdk.ServeOption) { sdk.ServeSource(r.inproc, o) })
		cfg.Reattach = rc
		r.stopInp = stop
	}
	ctx := context.Background()
	c, err := pluginrpc.Start(ctx, cfg)
	if err != nil {
		r.stopInProcess()
		return err
	}
	src, err := c.Source()
	if err == nil {
		err = src.Configure(ctx, r.opts.Name, r.opts.Config)
	}
	if err != nil {
		c.Kill()
		r.stopInProcess()
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	r.client, r.cancel, r.done, r.runErr = c, cancel, done, nil
	r.starts++
	go func() {
		defer close(done)
		err := src.Run(runCtx, r.accept, pluginrpc.RunOptions{DrainTimeout: 5 * time.Second})
		r.mu.Lock()
		r.runErr = err
		r.mu.Unlock()
	}()
	return nil
}

func (r *SourceRun) stopInProcess() {
	if r.stopInp != nil {
		r.stopInp()
		r.stopInp = nil
	}
}

// Stop stops the source gracefully: its Run context is cancelled, batches in
// flight finish, then the process is ended. It returns the source's Run error.
func (r *SourceRun) Stop() error {
	r.mu.Lock()
	c, cancel, done := r.client, r.cancel, r.done
	r.mu.Unlock()
	if c == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	c.Kill()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.client = nil
	r.stopInProcess()
	return r.runErr
}

// KillPlugin sends SIGKILL to the plugin process (kill -9) and waits until
// the process is gone. The host notices on its own; batches it was accepting
// may still complete (Restart waits for them). Not available for in-process
// plugins.
func (r *SourceRun) KillPlugin() {
	r.t.Helper()
	r.mu.Lock()
	c := r.client
	r.mu.Unlock()
	if c == nil {
		r.t.Fatal("plugintest: KillPlugin: the source is not running")
	}
	if r.inproc != nil {
		r.t.Fatal("plugintest: KillPlugin: cannot kill an in-process plugin")
	}
	if err := syscall.Kill(c.PID(), syscall.SIGKILL); err != nil {
		r.t.Fatalf("plugintest: kill -9 %d: %v", c.PID(), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !c.Exited() {
		if time.Now().After(deadline) {
			r.t.Fatal("plugintest: the killed plugin did not exit within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Restart stops the source (if it runs) and starts a new plugin process.
func (r *SourceRun) Restart() {
	r.t.Helper()
	_ = r.Stop()
	if err := r.start(); err != nil {
		r.t.Fatalf("plugintest: restart source: %v", err)
	}
}

// RunErr returns the error the last run ended with (nil while running or
// after a graceful stop).
func (r *SourceRun) RunErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runErr
}

// Starts counts how many times the plugin was started.
func (r *SourceRun) Starts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts
}

// ProcessorRun is a processor plugin running against the in-memory host.
type ProcessorRun struct {
	*pluginrpc.ProcessorClient
	Client *pluginrpc.Client
	Info   sdk.ProcessorInfo
}

// ProcessorOptions configures a processor under test.
type ProcessorOptions struct {
	Name         string
	Config       []byte
	Logger       *slog.Logger
	StartTimeout time.Duration
	Env          []string
}

// StartProcessor starts a processor plugin binary, configures it and asks it
// to describe itself; it is stopped when the test ends.
func StartProcessor(t testing.TB, binary string, opts ProcessorOptions) *ProcessorRun {
	t.Helper()
	return startProcessor(t, pluginrpc.Config{Path: binary}, opts)
}

// StartProcessorInProcess serves p inside the test process and connects to
// it over the real protocol.
func StartProcessorInProcess(t testing.TB, p sdk.Processor, opts ProcessorOptions) *ProcessorRun {
	t.Helper()
	rc, stop := serveInProcess(func(o sdk.ServeOption) { sdk.ServeProcessor(p, o) })
	t.Cleanup(stop)
	return startProcessor(t, pluginrpc.Config{Reattach: rc}, opts)
}

func startProcessor(t testing.TB, cfg pluginrpc.Config, opts ProcessorOptions) *ProcessorRun {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "processor"
	}
	if opts.Logger == nil {
		opts.Logger = TestLogger(t)
	}
	cfg.Name, cfg.Logger, cfg.StartTimeout, cfg.Env = opts.Name, opts.Logger, opts.StartTimeout, opts.Env
	cfg.LogLevel = testLogLevel()
	ctx := context.Background()
	c, err := pluginrpc.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Kill)
	p, err := c.Processor()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Configure(ctx, opts.Name, opts.Config); err != nil {
		t.Fatal(err)
	}
	info, err := p.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &ProcessorRun{ProcessorClient: p, Client: c, Info: info}
}

// serveInProcess serves a plugin in go-plugin's test mode and returns how
// to reach it and how to stop it.
func serveInProcess(serve func(sdk.ServeOption)) (*plugin.ReattachConfig, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	go serve(sdk.WithTestConfig(&plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: ch, CloseCh: closed}))
	rc := <-ch
	var once sync.Once
	return rc, func() {
		once.Do(func() {
			cancel()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
			}
		})
	}
}

// TestLogger returns a logger writing to t's log at the level named by
// HERDER_TEST_LOG (default info); lines after the test ended are dropped.
func TestLogger(t testing.TB) *slog.Logger {
	h := &testHandler{t: t, done: &atomic.Bool{}}
	t.Cleanup(func() { h.done.Store(true) })
	return slog.New(slog.NewTextHandler(h, &slog.HandlerOptions{Level: testSlogLevel()}))
}

type testHandler struct {
	t    testing.TB
	done *atomic.Bool
}

func (h *testHandler) Write(p []byte) (int, error) {
	if !h.done.Load() {
		h.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testLogLevel() string {
	if l := os.Getenv("HERDER_TEST_LOG"); l != "" {
		return l
	}
	return "info"
}

func testSlogLevel() slog.Level {
	switch strings.ToLower(testLogLevel()) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
