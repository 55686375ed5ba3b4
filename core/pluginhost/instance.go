package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/pluginrpc"
)

// instance is one configured source or processor and the goroutine (loop)
// that owns its lifecycle: every launch, stop and swap happens in loop, so
// the state machine has a single writer.
type instance struct {
	s        *Supervisor
	name     string
	plugin   string
	kind     pluginrpc.Kind
	config   []byte
	confConc int
	log      *slog.Logger
	reloadCh chan *reloadReq
	loopDone chan struct{}
	limit    *limiter

	mu          sync.Mutex
	state       string
	changed     chan struct{} // closed and replaced on every state change
	cur         *generation   // the running process, nil while there is none
	path, sum   string
	version     string
	protocol    int
	pid         int
	startedAt   time.Time
	restarts    int
	crashes     []time.Time
	nextRestart time.Time
	lastErr     error
	lastErrAt   time.Time
	info        sdk.ProcessorInfo
	hasInfo     bool
	rate        rateWindow

	events, batches, nacks atomic.Uint64
	calls, callErrors      atomic.Uint64
	inFlight               atomic.Int64
	stdoutLines            atomic.Uint64
	timeoutsInRow          atomic.Int64
}

// generation is one launched plugin process.
type generation struct {
	client  *pluginrpc.Client
	path    string
	sum     string
	src     *pluginrpc.SourceClient
	proc    *pluginrpc.ProcessorClient
	started time.Time
	calls   sync.WaitGroup // processor calls in flight
	broken  chan struct{}  // closed when a call saw the process gone or stuck
	once    sync.Once
	reason  error
}

func (g *generation) markBroken(reason error) {
	g.once.Do(func() {
		g.reason = reason
		close(g.broken)
	})
}

func (g *generation) isBroken() bool {
	select {
	case <-g.broken:
		return true
	default:
		return false
	}
}

type reloadReq struct{ done chan error }

func (r *reloadReq) reply(err error) {
	if r != nil {
		r.done <- err
	}
}

func (s *Supervisor) newInstance(name, plugin string, kind pluginrpc.Kind, cfg []byte, conc int) *instance {
	return &instance{
		s:        s,
		name:     name,
		plugin:   plugin,
		kind:     kind,
		config:   cfg,
		confConc: conc,
		log:      s.log.With("plugin", name, "kind", string(kind)),
		reloadCh: make(chan *reloadReq),
		loopDone: make(chan struct{}),
		limit:    newLimiter(max(conc, 1)),
		state:    StateStopped,
		changed:  make(chan struct{}),
	}
}

func (in *instance) setState(state string) {
	in.mu.Lock()
	in.setStateLocked(state)
	in.mu.Unlock()
}

func (in *instance) setStateLocked(state string) {
	if in.state == state {
		return
	}
	in.state = state
	close(in.changed)
	in.changed = make(chan struct{})
	in.s.metrics.setState(in.name, in.plugin, state)
}

// noteError records an error for status and metrics.
func (in *instance) noteError(err error) {
	kind := ErrorKind(err)
	in.s.metrics.errors.WithLabelValues(in.name, in.plugin, kind).Inc()
	in.mu.Lock()
	in.lastErr, in.lastErrAt = err, in.s.opts.Now()
	in.mu.Unlock()
}

// loop launches the plugin and keeps it running until ctx ends.
func (in *instance) loop(ctx context.Context) {
	defer in.setState(StateStopped)
	attempt := 0
	var pending *reloadReq
	for {
		if ctx.Err() != nil {
			pending.reply(fmt.Errorf("%w: shutting down", ErrNotRunning))
			return
		}
		in.setState(StateStarting)
		gen, err := in.launch(ctx)
		if err == nil {
			pending.reply(nil)
			pending = nil
			in.running(gen)
			pending, err = in.watch(ctx, gen)
			in.mu.Lock()
			in.cur, in.pid = nil, 0
			in.mu.Unlock()
			if ctx.Err() != nil {
				pending.reply(fmt.Errorf("%w: shutting down", ErrNotRunning))
				return
			}
			if pending != nil {
				// Reload: launch the new binary right away with a clean
				// slate.
				in.forgiveCrashes()
				attempt = 0
				continue
			}
			if in.s.opts.Now().Sub(gen.started) >= in.s.opts.StableAfter {
				attempt = 0
			}
		} else if pending != nil {
			pending.reply(err)
			pending = nil
		}
		if ctx.Err() != nil {
			return
		}

		in.noteError(err)
		var ok bool
		switch {
		case permanent(err):
			in.log.Error("plugin cannot start until it is fixed and reloaded", "error", err, "error_kind", ErrorKind(err))
			in.setState(StateFailed)
			pending, ok = in.waitReload(ctx, -1)
		case in.crashed() >= in.s.opts.QuarantineAfter:
			in.log.Error("plugin quarantined: it failed too often; fix it and reload it",
				"error", err, "error_kind", ErrorKind(err), "failures", in.s.opts.QuarantineAfter, "window", in.s.opts.QuarantineWindow)
			in.setState(StateQuarantined)
			pending, ok = in.waitReload(ctx, -1)
		default:
			delay := in.s.opts.Backoff.Delay(attempt, in.s.opts.Rand())
			attempt++
			in.log.Warn("plugin failed; restarting after backoff", "error", err, "error_kind", ErrorKind(err), "delay", delay)
			in.mu.Lock()
			in.nextRestart = in.s.opts.Now().Add(delay)
			in.setStateLocked(StateBackoff)
			in.mu.Unlock()
			pending, ok = in.waitReload(ctx, delay)
		}
		if !ok {
			return
		}
		if pending != nil {
			in.forgiveCrashes()
			attempt = 0
		} else {
			in.mu.Lock()
			in.restarts++
			in.mu.Unlock()
			in.s.metrics.restarts.WithLabelValues(in.name, in.plugin).Inc()
		}
	}
}

// waitReload waits for delay (forever when negative) or a reload request.
// ok is false when ctx ended.
func (in *instance) waitReload(ctx context.Context, delay time.Duration) (req *reloadReq, ok bool) {
	var timer <-chan time.Time
	if delay >= 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return nil, false
	case req := <-in.reloadCh:
		return req, true
	case <-timer:
		return nil, true
	}
}

// crashed records a failure now and returns the failures within the
// quarantine window.
func (in *instance) crashed() int {
	now := in.s.opts.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	keep := in.crashes[:0]
	for _, t := range in.crashes {
		if now.Sub(t) < in.s.opts.QuarantineWindow {
			keep = append(keep, t)
		}
	}
	in.crashes = append(keep, now)
	return len(in.crashes)
}

func (in *instance) forgiveCrashes() {
	in.mu.Lock()
	in.crashes = nil
	in.mu.Unlock()
}

// launch verifies the binary against its pin, starts it and sets it up.
func (in *instance) launch(ctx context.Context) (*generation, error) {
	opts := &in.s.opts
	path, sum, err := in.s.resolve(in.plugin)
	if err != nil {
		return nil, err
	}
	in.mu.Lock()
	if in.cur == nil { // status shows what is being started
		in.path, in.sum = path, sum
	}
	in.mu.Unlock()
	if err := VerifyBinary(in.plugin, path, sum); err != nil {
		return nil, err
	}
	// VerifyBinary just hashed the file; go-plugin's own check (SecureConfig)
	// would hash it again at the same moment for no extra safety, and a 20 MB
	// binary takes ~15 ms to hash.
	c, err := pluginrpc.Start(ctx, pluginrpc.Config{
		Name:         in.name,
		Path:         path,
		Logger:       in.s.log,
		LogLevel:     opts.LogLevel,
		StartTimeout: opts.StartTimeout,
		OnStdout: func(string) {
			if in.stdoutLines.Add(1) == 1 {
				in.noteError(fmt.Errorf("plugin %s: %w (logged; the plugin keeps running)", in.name, ErrStdoutGarbage))
			} else {
				in.s.metrics.errors.WithLabelValues(in.name, in.plugin, "stdout_garbage").Inc()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	gen := &generation{client: c, path: path, sum: sum, started: opts.Now(), broken: make(chan struct{})}
	sctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	var info sdk.ProcessorInfo
	switch in.kind {
	case pluginrpc.KindSource:
		gen.src, err = c.Source()
		if err == nil {
			err = gen.src.Configure(sctx, in.name, in.config)
		}
	case pluginrpc.KindProcessor:
		gen.proc, err = c.Processor()
		if err == nil {
			err = gen.proc.Configure(sctx, in.name, in.config)
		}
		if err == nil {
			info, err = gen.proc.Describe(sctx)
		}
	}
	if err != nil {
		c.Kill()
		return nil, fmt.Errorf("set up plugin %s (%s): %w", in.name, path, err)
	}
	if in.kind == pluginrpc.KindProcessor {
		in.mu.Lock()
		in.info, in.hasInfo = info, true
		in.mu.Unlock()
		conc := in.confConc
		if conc <= 0 {
			conc = info.Concurrency
		}
		in.limit.setLimit(max(conc, 1))
	}
	return gen, nil
}

// running makes gen the current process.
func (in *instance) running(gen *generation) {
	pi := gen.client.Info()
	in.mu.Lock()
	in.cur = gen
	in.path, in.sum = gen.path, gen.sum
	in.pid = gen.client.PID()
	in.version, in.protocol = pi.Version, pi.Protocol
	in.startedAt = gen.started
	in.nextRestart = time.Time{}
	in.setStateLocked(StateRunning)
	in.mu.Unlock()
	in.timeoutsInRow.Store(0)
	in.log.Info("plugin running", "pid", gen.client.PID(), "version", pi.Version, "protocol", pi.Protocol, "sdk", pi.SDKVersion)
}

// watch keeps gen running until it fails (err), ctx ends, or a reload asks
// for a new process of a source (req). It returns with gen's process gone.
func (in *instance) watch(ctx context.Context, gen *generation) (*reloadReq, error) {
	if in.kind == pluginrpc.KindSource {
		return in.watchSource(ctx, gen)
	}
	return nil, in.watchProcessor(ctx, gen)
}

func (in *instance) ping(gen *generation) error {
	ctx, cancel := context.WithTimeout(context.Background(), in.s.opts.HealthTimeout)
	defer cancel()
	return gen.client.Ping(ctx)
}

func (in *instance) watchSource(ctx context.Context, gen *generation) (*reloadReq, error) {
	opts := &in.s.opts
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	done := make(chan error, 1)
	go func() {
		done <- gen.src.Run(runCtx, in.accept, pluginrpc.RunOptions{DrainTimeout: opts.StopGrace})
	}()
	// stop ends the run gracefully: the source sees its context cancelled,
	// batches being accepted finish, then the process ends.
	stop := func(hard bool) {
		in.setState(StateStopping)
		if hard {
			gen.client.KillNow()
		}
		cancelRun()
		select {
		case <-done:
		case <-time.After(opts.StopGrace):
			in.log.Warn("source did not stop within the grace period; killing it", "grace", opts.StopGrace)
		}
		gen.client.Kill()
	}
	health := time.NewTicker(opts.HealthInterval)
	defer health.Stop()
	fails := 0
	for {
		select {
		case err := <-done:
			gen.client.Kill()
			if err == nil {
				err = errors.New("source run ended")
			}
			return nil, fmt.Errorf("%w: %w", ErrCrashed, err)
		case <-ctx.Done():
			stop(false)
			return nil, nil
		case req := <-in.reloadCh:
			in.log.Info("reloading source: stopping the running process")
			stop(false)
			return req, nil
		case <-health.C:
			if err := in.ping(gen); err != nil {
				if fails++; fails >= 2 {
					stop(true)
					return nil, fmt.Errorf("%w: %v", ErrHealth, err)
				}
			} else {
				fails = 0
			}
		}
	}
}

func (in *instance) watchProcessor(ctx context.Context, gen *generation) error {
	opts := &in.s.opts
	health := time.NewTicker(opts.HealthInterval)
	defer health.Stop()
	exitPoll := time.NewTicker(opts.ExitPollInterval)
	defer exitPoll.Stop()
	fails := 0
	lost := func(err error) error {
		in.mu.Lock()
		if in.cur == gen {
			in.cur = nil
		}
		in.mu.Unlock()
		if errors.Is(err, ErrHealth) || errors.Is(err, ErrCallTimeout) {
			// Unresponsive: do not wait for calls or a polite shutdown.
			gen.client.KillNow()
		}
		in.retire(gen)
		return err
	}
	for {
		select {
		case <-ctx.Done():
			in.setState(StateStopping)
			in.retire(gen)
			return nil
		case req := <-in.reloadCh:
			in.log.Info("reloading processor: starting the new process")
			next, err := in.launch(ctx)
			if err != nil {
				in.log.Error("reload failed; the running process keeps serving", "error", err, "error_kind", ErrorKind(err))
				in.noteError(err)
				req.reply(err)
				continue
			}
			old := gen
			gen = next
			in.running(gen)
			go in.retire(old)
			req.reply(nil)
		case <-gen.broken:
			if gen.client.Exited() {
				return lost(fmt.Errorf("%w: the process exited", ErrCrashed))
			}
			return lost(gen.reason)
		case <-exitPoll.C:
			if gen.client.Exited() {
				return lost(fmt.Errorf("%w: the process exited", ErrCrashed))
			}
		case <-health.C:
			if err := in.ping(gen); err != nil {
				if fails++; fails >= 2 {
					return lost(fmt.Errorf("%w: %v", ErrHealth, err))
				}
			} else {
				fails = 0
			}
		}
	}
}

// retire lets a processor process finish its calls in flight (up to the
// grace period) and ends it.
func (in *instance) retire(gen *generation) {
	done := make(chan struct{})
	go func() { gen.calls.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(in.s.opts.StopGrace):
		in.log.Warn("processor calls still in flight after the grace period; killing it", "grace", in.s.opts.StopGrace)
	}
	gen.client.Kill()
}

// accept hands a source's batch to the host's sink.
func (in *instance) accept(ctx context.Context, events []sdk.Event) error {
	start := time.Now()
	err := in.s.opts.Sink.Accept(ctx, in.name, events)
	in.s.metrics.observe(in.name, in.plugin, "accept", time.Since(start))
	if err != nil {
		in.nacks.Add(1)
		result := "nacked"
		if errors.Is(err, sdk.ErrRejected) {
			result = "rejected"
		}
		in.s.metrics.batches.WithLabelValues(in.name, in.plugin, result).Inc()
		in.log.Warn("batch not accepted; the source will redeliver it", "events", len(events), "error", err, "result", result)
		return err
	}
	n := uint64(len(events))
	in.events.Add(n)
	in.batches.Add(1)
	in.s.metrics.events.WithLabelValues(in.name, in.plugin).Add(float64(n))
	in.s.metrics.batches.WithLabelValues(in.name, in.plugin, "accepted").Inc()
	in.mu.Lock()
	in.rate.add(in.s.opts.Now(), n)
	in.mu.Unlock()
	return nil
}

// current returns the running processor process, waiting while it starts
// or restarts; the caller must call gen.calls.Done.
func (in *instance) current(ctx context.Context) (*generation, error) {
	for {
		in.mu.Lock()
		if g := in.cur; g != nil && !g.isBroken() {
			g.calls.Add(1)
			in.mu.Unlock()
			return g, nil
		}
		state, ch, last := in.state, in.changed, in.lastErr
		in.mu.Unlock()
		switch state {
		case StateQuarantined:
			return nil, fmt.Errorf("processor %s: %w (last error: %v)", in.name, ErrQuarantined, last)
		case StateFailed:
			return nil, fmt.Errorf("processor %s: %w: %w", in.name, ErrNotRunning, last)
		case StateStopped, StateStopping:
			return nil, fmt.Errorf("processor %s: %w", in.name, ErrNotRunning)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("processor %s is %s: %w", in.name, state, ctx.Err())
		case <-ch:
		}
	}
}

func (in *instance) process(ctx context.Context, task sdk.Task) (sdk.Result, error) {
	if err := in.limit.acquire(ctx); err != nil {
		return sdk.Result{}, fmt.Errorf("process task %s on %s: wait for a free slot: %w", task.ID, in.name, err)
	}
	defer in.limit.release()
	gen, err := in.current(ctx)
	if err != nil {
		return sdk.Result{}, fmt.Errorf("process task %s: %w", task.ID, err)
	}
	defer gen.calls.Done()
	in.inFlight.Add(1)
	in.s.metrics.inFlight.WithLabelValues(in.name, in.plugin).Inc()
	cctx, cancel := context.WithTimeout(ctx, in.s.opts.CallTimeout)
	start := time.Now()
	res, err := gen.proc.Process(cctx, task)
	cancel()
	in.s.metrics.observe(in.name, in.plugin, "process", time.Since(start))
	in.s.metrics.inFlight.WithLabelValues(in.name, in.plugin).Dec()
	in.inFlight.Add(-1)
	in.calls.Add(1)
	if err == nil {
		in.timeoutsInRow.Store(0)
		return res, nil
	}
	in.callErrors.Add(1)
	switch {
	case errors.Is(err, ErrCallTimeout):
		in.noteError(err)
		in.log.Warn("processor call timed out", "task", task.ID, "kind", task.Kind, "timeout", in.s.opts.CallTimeout)
		if in.timeoutsInRow.Add(1) >= int64(in.s.opts.RestartAfterTimeouts) {
			gen.markBroken(fmt.Errorf("%w: %d calls in a row timed out", ErrCallTimeout, in.s.opts.RestartAfterTimeouts))
		}
	case errors.Is(err, ErrPluginExited):
		in.noteError(err)
		gen.markBroken(err)
	default:
		in.timeoutsInRow.Store(0)
		in.s.metrics.errors.WithLabelValues(in.name, in.plugin, "task_"+ErrorKind(err)).Inc()
	}
	return sdk.Result{}, err
}

func (in *instance) status() PluginStatus {
	now := in.s.opts.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	st := PluginStatus{
		Name:        in.name,
		Plugin:      in.plugin,
		Kind:        string(in.kind),
		State:       in.state,
		PID:         in.pid,
		Path:        in.path,
		SHA256:      in.sum,
		Version:     in.version,
		Protocol:    in.protocol,
		Restarts:    in.restarts,
		StdoutLines: in.stdoutLines.Load(),
	}
	for _, t := range in.crashes {
		if now.Sub(t) < in.s.opts.QuarantineWindow {
			st.RecentCrashes++
		}
	}
	if in.state == StateRunning && !in.startedAt.IsZero() {
		t := in.startedAt
		st.StartedAt = &t
		st.UptimeSeconds = now.Sub(t).Seconds()
	}
	if in.state == StateBackoff && !in.nextRestart.IsZero() {
		t := in.nextRestart
		st.NextRestartAt = &t
	}
	if in.lastErr != nil {
		t := in.lastErrAt
		st.LastError, st.LastErrorKind, st.LastErrorAt = in.lastErr.Error(), ErrorKind(in.lastErr), &t
	}
	switch in.kind {
	case pluginrpc.KindSource:
		st.Events, st.Batches, st.Nacks = in.events.Load(), in.batches.Load(), in.nacks.Load()
		st.EventsPerSecond = in.rate.perSecond(now)
	case pluginrpc.KindProcessor:
		st.Calls, st.CallErrors, st.InFlight = in.calls.Load(), in.callErrors.Load(), in.inFlight.Load()
		st.Concurrency = in.limit.size()
		if in.hasInfo {
			info := in.info
			st.Processor = &info
		}
	}
	return st
}

// rateWindow counts events per second over the last minute.
type rateWindow struct {
	secs   [60]int64
	counts [60]uint64
}

func (r *rateWindow) add(now time.Time, n uint64) {
	sec := now.Unix()
	i := sec % 60
	if r.secs[i] != sec {
		r.secs[i], r.counts[i] = sec, 0
	}
	r.counts[i] += n
}

func (r *rateWindow) perSecond(now time.Time) float64 {
	sec := now.Unix()
	var sum uint64
	for i := range r.secs {
		if sec-r.secs[i] < 60 {
			sum += r.counts[i]
		}
	}
	return float64(sum) / 60
}
