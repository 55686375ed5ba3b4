// Package pluginhost runs herder's source and processor plugins: it verifies
// each binary against its pinned SHA-256 before every launch, starts it over
// go-plugin (gRPC, AutoMTLS, versioned handshake), feeds source batches to the
// host's durable Sink, bounds and times out processor calls, restarts crashed
// plugins with capped exponential backoff and jitter, quarantines those that
// crash too often, health-checks them, reloads them without losing events, and
// exports per-plugin status and Prometheus metrics.
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/pluginrpc"
)

// Sink is where source plugins' events go. Accept returns nil only when the
// events are durably stored or enqueued; the plugin is then told its batch is
// accepted and acknowledges it upstream. Any error is a nack (the source
// redelivers); an error wrapping sdk.ErrRejected tells the source the events
// will never be accepted (it dead-letters them).
type Sink interface {
	Accept(ctx context.Context, source string, events []sdk.Event) error
}

// Backoff is the restart delay policy: Initial * Multiplier^n, capped at Max,
// spread by ±Jitter (a fraction) so plugins that failed together do not
// restart together.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
}

// Delay returns the delay before restart number attempt (0-based); r is a
// random number in [0, 1).
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	d := float64(b.Initial)
	for i := 0; i < attempt && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	d *= 1 - b.Jitter + 2*b.Jitter*r
	return min(time.Duration(d), b.Max)
}

// Options tune the supervisor. Zero values take the defaults in brackets.
type Options struct {
	// Sink receives source events; required when sources are configured.
	Sink Sink
	// Logger is the host log; plugin log lines are forwarded into it with
	// plugin=<instance name>. [discard]
	Logger hclog.Logger
	// LogLevel is passed to plugins. [info]
	LogLevel string
	// Registerer receives the per-plugin metrics. [none]
	Registerer prometheus.Registerer

	// StartTimeout bounds a plugin's handshake and setup calls. [30s]
	StartTimeout time.Duration
	// CallTimeout bounds one processor call. [5m]
	CallTimeout time.Duration
	// RestartAfterTimeouts restarts a processor after that many consecutive
	// call timeouts (a plugin stuck in calls). [5]
	RestartAfterTimeouts int
	// HealthInterval is how often plugins are pinged; HealthTimeout bounds
	// a ping. Two failed pings in a row restart the plugin. [10s, 5s]
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// ExitPollInterval is how often an idle processor's process is checked
	// for having exited. [250ms]
	ExitPollInterval time.Duration
	// StopGrace is how long a stopping plugin may take to finish in-flight
	// work before it is killed. [10s]
	StopGrace time.Duration
	// Backoff is the restart policy. [500ms initial, 1m max, x2, ±20%]
	Backoff Backoff
	// StableAfter resets the backoff once a plugin ran that long. [1m]
	StableAfter time.Duration
	// QuarantineAfter crashes within QuarantineWindow quarantine a plugin
	// until it is reloaded. [5 in 10m]
	QuarantineAfter  int
	QuarantineWindow time.Duration

	// Now and Rand replace the clock and the jitter source in tests.
	Now  func() time.Time
	Rand func() float64
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setDur(&o.StartTimeout, 30*time.Second)
	setDur(&o.CallTimeout, 5*time.Minute)
	setDur(&o.HealthInterval, 10*time.Second)
	setDur(&o.HealthTimeout, 5*time.Second)
	setDur(&o.ExitPollInterval, 250*time.Millisecond)
	setDur(&o.StopGrace, 10*time.Second)
	setDur(&o.Backoff.Initial, 500*time.Millisecond)
	setDur(&o.Backoff.Max, time.Minute)
	setDur(&o.StableAfter, time.Minute)
	setDur(&o.QuarantineWindow, 10*time.Minute)
	if o.Backoff.Multiplier < 1 {
		o.Backoff.Multiplier = 2
	}
	if o.Backoff.Jitter < 0 || o.Backoff.Jitter >= 1 {
		o.Backoff.Jitter = 0.2
	}
	if o.RestartAfterTimeouts <= 0 {
		o.RestartAfterTimeouts = 5
	}
	if o.QuarantineAfter <= 0 {
		o.QuarantineAfter = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
}

// Supervisor runs the configured source and processor plugin instances.
type Supervisor struct {
	opts      Options
	pluginDir string
	plugins   map[string]config.Plugin
	instances []*instance
	byName    map[string]*instance
	metrics   *metrics
	log       *slog.Logger

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New prepares a supervisor for cfg's sources and processors. It checks the
// configuration's shape but launches nothing; call Start.
func New(cfg *config.Config, opts Options) (*Supervisor, error) {
	opts.defaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register plugin metrics: %w", err)
	}
	s := &Supervisor{
		opts:      opts,
		pluginDir: cfg.PluginDir,
		plugins:   map[string]config.Plugin{},
		byName:    map[string]*instance{},
		metrics:   m,
		log:       slogFor(opts.Logger),
	}
	for _, p := range cfg.Plugins {
		if err := ValidateName(p.Name); err != nil {
			return nil, fmt.Errorf("plugin block: %w", err)
		}
		s.plugins[p.Name] = p
	}
	add := func(in *instance) error {
		if _, dup := s.byName[in.name]; dup {
			return fmt.Errorf("plugin instance %q is configured twice (source and processor names share one namespace)", in.name)
		}
		if in.plugin == "" {
			return fmt.Errorf("%s %q: no plugin named", in.kind, in.name)
		}
		s.byName[in.name] = in
		s.instances = append(s.instances, in)
		return nil
	}
	for _, src := range cfg.Sources {
		if opts.Sink == nil {
			return nil, fmt.Errorf("source %q: pluginhost.Options.Sink is required to run sources", src.Name)
		}
		if err := add(s.newInstance(src.Name, src.Plugin, pluginrpc.KindSource, src.Config, 0)); err != nil {
			return nil, err
		}
	}
	for _, p := range cfg.Processors {
		if err := add(s.newInstance(p.Name, p.Plugin, pluginrpc.KindProcessor, p.Config, p.Concurrency)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// resolve finds a plugin's binary and pinned sum: the plugin block's path and
// sha256, else the lock file's entry. It reads the lock file on every call,
// so a `herder plugins install` takes effect at the next launch.
func (s *Supervisor) resolve(plugin string) (path, sum string, err error) {
	lf, lerr := ReadLockFile(s.pluginDir)
	var entry LockEntry
	var locked bool
	if lerr == nil {
		entry, locked = lf.Get(plugin)
	}
	if p, ok := s.plugins[plugin]; ok {
		path, sum = p.Path, p.SHA256
		if path == "" && locked {
			path = lf.BinaryPath(entry)
		}
		if path == "" {
			path = filepath.Join(s.pluginDir, plugin)
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.pluginDir, path)
		}
		if sum == "" {
			if lerr != nil {
				return path, "", fmt.Errorf("plugin %s: no sha256 in its block and %w", plugin, lerr)
			}
			if locked {
				sum = entry.SHA256
			}
		}
		return path, sum, nil
	}
	if lerr != nil {
		return "", "", fmt.Errorf("plugin %s: %w", plugin, lerr)
	}
	if !locked {
		return "", "", fmt.Errorf("plugin %s: %w: no plugin block and no entry in %s", plugin, ErrUnknownPlugin, filepath.Join(s.pluginDir, LockFileName))
	}
	return lf.BinaryPath(entry), entry.SHA256, nil
}

// Start launches every plugin instance in the background. Launch failures
// do not fail Start: they show in Status, the log and the metrics, and the
// instance is retried (or quarantined, or marked failed) as it would be
// after a crash.
func (s *Supervisor) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("pluginhost: supervisor already started")
	}
	s.started = true
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, in := range s.instances {
		in.setState(StateStarting)
		s.wg.Add(1)
		go func(in *instance) {
			defer s.wg.Done()
			defer close(in.loopDone)
			in.loop(ctx)
		}(in)
	}
	return nil
}

// Stop stops every plugin gracefully: sources' runs are cancelled and their
// in-flight batches finish, processors finish their calls in flight, then
// the processes are ended (killed after StopGrace). It returns when all are
// gone or ctx ends.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop plugins: %w", ctx.Err())
	}
}

// targets returns the instances a name refers to: the instance of that name,
// else every instance of the plugin of that name.
func (s *Supervisor) targets(name string) []*instance {
	if in, ok := s.byName[name]; ok {
		return []*instance{in}
	}
	var out []*instance
	for _, in := range s.instances {
		if in.plugin == name {
			out = append(out, in)
		}
	}
	return out
}

// Reload restarts an instance (or every instance of a plugin) with the
// binary now at its path, after checking it against the pin, which is read
// again (so: `herder plugins install` the new binary, then reload). If the
// new binary does not verify, the running one keeps running and the error
// says why. A source is stopped gracefully first (what it had not
// acknowledged upstream is redelivered to the new one, so nothing is lost);
// a processor's new process is started and takes new calls while the old one
// finishes those in flight. Reload also lifts a quarantine or a failure.
func (s *Supervisor) Reload(ctx context.Context, name string) error {
	targets := s.targets(name)
	if len(targets) == 0 {
		return fmt.Errorf("reload %s: %w", name, ErrUnknownPlugin)
	}
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return fmt.Errorf("reload %s: %w: the supervisor was not started", name, ErrNotRunning)
	}
	for _, in := range targets {
		path, sum, err := s.resolve(in.plugin)
		if err == nil {
			err = VerifyBinary(in.plugin, path, sum)
		}
		if err != nil {
			in.noteError(err)
			return fmt.Errorf("reload %s: %w", in.name, err)
		}
	}
	var errs []error
	for _, in := range targets {
		req := &reloadReq{done: make(chan error, 1)}
		select {
		case in.reloadCh <- req:
		case <-in.loopDone:
			return fmt.Errorf("reload %s: %w: the supervisor is not running it", in.name, ErrNotRunning)
		case <-ctx.Done():
			return fmt.Errorf("reload %s: %w", in.name, ctx.Err())
		}
		select {
		case err := <-req.done:
			if err != nil {
				errs = append(errs, fmt.Errorf("reload %s: %w", in.name, err))
			} else {
				in.log.Info("plugin reloaded", "version", in.status().Version)
			}
		case <-ctx.Done():
			return fmt.Errorf("reload %s: %w", in.name, ctx.Err())
		}
	}
	return errors.Join(errs...)
}

// Process runs a task on a processor instance: it waits for a free slot
// (the processor's concurrency), waits for the processor to be running if it
// is starting or restarting, and bounds the call by CallTimeout. Errors wrap
// ErrCallTimeout, ErrPermanent (do not retry the task), ErrPluginExited,
// ErrQuarantined, ErrNotRunning or ErrUnknownPlugin where they apply.
func (s *Supervisor) Process(ctx context.Context, processor string, task sdk.Task) (sdk.Result, error) {
	in, ok := s.byName[processor]
	if !ok || in.kind != pluginrpc.KindProcessor {
		return sdk.Result{}, fmt.Errorf("process task %s: processor %q: %w", task.ID, processor, ErrUnknownPlugin)
	}
	return in.process(ctx, task)
}

// ProcessorDescription is what a processor instance declared.
type ProcessorDescription struct {
	Name   string            `json:"name"`
	Plugin string            `json:"plugin"`
	Info   sdk.ProcessorInfo `json:"info"`
	// Known is false until the processor was started once.
	Known bool `json:"known"`
}

// Processors lists the processor instances and what they consume and
// produce, for routing tasks.
func (s *Supervisor) Processors() []ProcessorDescription {
	var out []ProcessorDescription
	for _, in := range s.instances {
		if in.kind != pluginrpc.KindProcessor {
			continue
		}
		in.mu.Lock()
		out = append(out, ProcessorDescription{Name: in.name, Plugin: in.plugin, Info: in.info, Known: in.hasInfo})
		in.mu.Unlock()
	}
	return out
}

// WaitRunning waits until the named instance is running, or fails with its
// last error once it is quarantined or failed.
func (s *Supervisor) WaitRunning(ctx context.Context, name string) error {
	in, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("wait for %s: %w", name, ErrUnknownPlugin)
	}
	for {
		in.mu.Lock()
		state, ch, last := in.state, in.changed, in.lastErr
		in.mu.Unlock()
		switch state {
		case StateRunning:
			return nil
		case StateQuarantined:
			return fmt.Errorf("wait for %s: %w: %v", name, ErrQuarantined, last)
		case StateFailed:
			return fmt.Errorf("wait for %s: %w", name, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s (state %s, last error: %v): %w", name, state, last, ctx.Err())
		case <-ch:
		}
	}
}

// PluginStatus is one plugin instance's state, as the admin API returns it.
type PluginStatus struct {
	// Name is the source or processor block's name; Plugin the binary's.
	Name     string `json:"name"`
	Plugin   string `json:"plugin"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	PID      int    `json:"pid,omitempty"`
	Path     string `json:"path,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Version  string `json:"version,omitempty"`
	Protocol int    `json:"protocol,omitempty"`

	StartedAt     *time.Time `json:"started_at,omitempty"`
	UptimeSeconds float64    `json:"uptime_seconds"`
	// Restarts counts restarts after failures; RecentCrashes the failures
	// within the quarantine window.
	Restarts      int        `json:"restarts"`
	RecentCrashes int        `json:"recent_crashes"`
	NextRestartAt *time.Time `json:"next_restart_at,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	// LastErrorKind names the error: checksum_mismatch, no_pin,
	// protocol_version, not_plugin, stdout_garbage, start_timeout,
	// call_timeout, wrong_kind, config, health, crash, ...
	LastErrorKind string     `json:"last_error_kind,omitempty"`
	LastErrorAt   *time.Time `json:"last_error_at,omitempty"`
	StdoutLines   uint64     `json:"stdout_garbage_lines,omitempty"`

	// Sources: accepted events and batches, refused batches, and accepted
	// events per second over the last minute.
	Events          uint64  `json:"events"`
	Batches         uint64  `json:"batches"`
	Nacks           uint64  `json:"nacks"`
	EventsPerSecond float64 `json:"events_per_second"`

	// Processors: calls, failed calls, calls in flight, the in-flight
	// limit and what the processor declared.
	Calls       uint64             `json:"calls"`
	CallErrors  uint64             `json:"call_errors"`
	InFlight    int64              `json:"in_flight"`
	Concurrency int                `json:"concurrency,omitempty"`
	Processor   *sdk.ProcessorInfo `json:"processor,omitempty"`
}

// Status reports every plugin instance, in configuration order (sources
// first).
func (s *Supervisor) Status() []PluginStatus {
	out := make([]PluginStatus, 0, len(s.instances))
	for _, in := range s.instances {
		out = append(out, in.status())
	}
	return out
}
