// Package dispatch hands stored work to processor plugins: it finds what is
// pending in the database (logs to parse), calls the processor with bounded
// concurrency, and stores the results. Work lives in the database until its
// result is stored, so a crash or a restart loses none of it.
package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// LogStore is what log dispatch needs of storage.
type LogStore interface {
	PendingLogs(ctx context.Context, kind, jobs string, skip []int64, limit int) ([]model.LogTask, error)
	ClaimLog(ctx context.Context, jobLogID int64, owner string, until time.Time) (model.LogTask, bool, error)
	ClaimKnownLogs(ctx context.Context, ts []model.LogTask, owner string, until time.Time) ([]int64, error)
	RenewLog(ctx context.Context, jobLogID int64, owner string, until time.Time) (bool, error)
	ReleaseLog(ctx context.Context, jobLogID int64, owner string) error
	StoreLogResult(ctx context.Context, t model.LogTask, r sdk.LogParseResult) error
}

// PerfStore stores the performance data of a stored parse result
// (core/perf.Ingester).
type PerfStore interface {
	StorePerfData(ctx context.Context, t model.LogTask, r sdk.LogParseResult) error
}

// PerfChecker is implemented by a PerfStore that can refuse a result
// before it is stored (a performance artifact that breaks the schema fails
// its log), so that a log gets one stored result, not a result and a fix-up.
type PerfChecker interface {
	CheckPerfData(t model.LogTask, r sdk.LogParseResult) sdk.LogParseResult
}

// Processor runs one task on a named processor (the plugin supervisor, or an
// in-process implementation in tests). Errors that retrying cannot cure are
// marked with sdk.Permanent.
type Processor interface {
	Process(ctx context.Context, processor string, task sdk.Task) (sdk.Result, error)
}

// Lane is one queue of logs with its own workers, so a backlog of one kind
// never starves another (Treeherder learned to split its log queues so).
type Lane struct {
	Name    string
	Kind    string // model.LogKind*
	Jobs    string // model.Jobs*
	Workers int
}

// DefaultLanes put failed jobs' logs first and keep structured logs from
// waiting behind raw ones.
var DefaultLanes = []Lane{
	{Name: "fail_json", Kind: model.LogKindJSON, Jobs: model.JobsFailed, Workers: 2},
	{Name: "fail_raw", Kind: model.LogKindRaw, Jobs: model.JobsFailed, Workers: 2},
	{Name: "json", Kind: model.LogKindJSON, Jobs: model.JobsSucceeded, Workers: 1},
	{Name: "raw", Kind: model.LogKindRaw, Jobs: model.JobsSucceeded, Workers: 1},
	{Name: "perf", Kind: model.LogKindPerf, Jobs: model.JobsAny, Workers: 1},
}

// LogOptions configures a LogDispatcher.
type LogOptions struct {
	Processor   string // the processor instance's name
	Lanes       []Lane // default DefaultLanes
	Poll        time.Duration
	MaxAttempts int           // transient failures before a log is marked failed; default 10
	Backoff     time.Duration // first retry delay, doubled each attempt; default 10 s
	Log         hclog.Logger
	Registry    prometheus.Registerer
	// Perf, when set, stores the performance data of parsed logs.
	Perf PerfStore
	// Owner names this process in log leases (default host-pid-random);
	// Lease is how long a claim holds before another worker may take the
	// log over (default 1 minute, renewed every third of it while a parse
	// runs). It is short so that a log claimed by a worker that died is
	// found by the sweep soon.
	Owner string
	Lease time.Duration
}

// LogDispatcher parses pending logs through a processor.
type LogDispatcher struct {
	store LogStore
	proc  Processor
	opts  LogOptions
	log   hclog.Logger
	wake  chan struct{}

	// lastUntil is the latest lease end handed out, in unix milliseconds.
	lastUntil atomic.Int64

	mu       sync.Mutex
	inFlight map[int64]bool
	retry    map[int64]retryState

	parsed   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

type retryState struct {
	attempts int
	next     time.Time
}

// NewLogDispatcher makes a dispatcher; Run starts it.
func NewLogDispatcher(s LogStore, p Processor, opts LogOptions) *LogDispatcher {
	if len(opts.Lanes) == 0 {
		opts.Lanes = DefaultLanes
	}
	if opts.Poll == 0 {
		opts.Poll = time.Second
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff == 0 {
		opts.Backoff = 10 * time.Second
	}
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	if opts.Owner == "" {
		opts.Owner = DefaultOwner()
	}
	if opts.Lease == 0 {
		opts.Lease = time.Minute
	}
	d := &LogDispatcher{
		store: s, proc: p, opts: opts, log: opts.Log.Named("logs"),
		wake:     make(chan struct{}, 1),
		inFlight: map[int64]bool{},
		retry:    map[int64]retryState{},
		parsed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_logs_parsed_total", Help: "Logs parsed, by lane and outcome.",
		}, []string{"lane", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "herder_log_parse_duration_seconds", Help: "Time to parse and store one log, by lane.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10),
		}, []string{"lane"}),
	}
	if opts.Registry != nil {
		opts.Registry.MustRegister(d.parsed, d.duration)
	}
	return d
}

// Notify wakes the lanes early, e.g. after jobs with new logs were stored.
func (d *LogDispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends, then waits for the parses under way.
func (d *LogDispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range d.opts.Lanes {
		wg.Add(1)
		go func(l Lane) {
			defer wg.Done()
			d.runLane(ctx, l)
		}(l)
	}
	wg.Wait()
}

func (d *LogDispatcher) runLane(ctx context.Context, l Lane) {
	workers := max(l.Workers, 1)
	slots := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		tasks, err := d.store.PendingLogs(ctx, l.Kind, l.Jobs, d.busy(), workers*4)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("list pending logs", "lane", l.Name, "error", err)
			}
			d.sleep(ctx)
			continue
		}
		started := 0
		for _, t := range tasks {
			if !d.claim(t.JobLogID) {
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				d.release(t.JobLogID)
				return
			}
			started++
			wg.Add(1)
			go func(t model.LogTask) {
				defer wg.Done()
				defer func() { <-slots }()
				d.parse(ctx, l, t)
			}(t)
		}
		if started == 0 {
			d.sleep(ctx)
		}
	}
}

func (d *LogDispatcher) sleep(ctx context.Context) {
	t := time.NewTimer(d.opts.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-d.wake:
	}
}

// busy lists logs being parsed or waiting for a retry.
func (d *LogDispatcher) busy() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	out := make([]int64, 0, len(d.inFlight)+len(d.retry))
	for id := range d.inFlight {
		out = append(out, id)
	}
	for id, r := range d.retry {
		if !d.inFlight[id] && now.Before(r.next) {
			out = append(out, id)
		}
	}
	return out
}

func (d *LogDispatcher) claim(id int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inFlight[id] || time.Now().Before(d.retry[id].next) {
		return false
	}
	d.inFlight[id] = true
	return true
}

func (d *LogDispatcher) release(id int64) {
	d.mu.Lock()
	delete(d.inFlight, id)
	d.mu.Unlock()
}

func (d *LogDispatcher) parse(ctx context.Context, l Lane, t model.LogTask) {
	defer d.release(t.JobLogID)
	claimed, ok, err := d.lease(ctx, t)
	if err != nil || !ok {
		// Parsed meanwhile, or another worker holds it: nothing to do.
		if err != nil && ctx.Err() == nil {
			d.log.Warn("claim log", "job_log", t.JobLogID, "error", err)
		}
		return
	}
	err = d.attempt(ctx, l, claimed)
	if err == nil || ctx.Err() != nil {
		return
	}
	if d.retryLater(claimed, err) {
		return
	}
	d.giveUp(ctx, l, claimed, err)
}

// attempt parses one claimed log and stores the result. A nil error means
// the log needs nothing more; an error means this attempt failed in a way a
// retry may cure, and the lease was given up.
func (d *LogDispatcher) attempt(ctx context.Context, l Lane, t model.LogTask) error {
	start := time.Now()
	payload, _ := json.Marshal(sdk.LogParseTask{
		JobLogID: t.JobLogID, JobID: t.JobID, JobGUID: t.JobGUID, Repository: t.Repository,
		Name: t.Name, URL: t.URL, JobResult: t.JobResult,
	})
	stopRenew := d.renew(ctx, t)
	res, err := d.proc.Process(ctx, d.opts.Processor, sdk.Task{
		ID: strconv.FormatInt(t.JobLogID, 10), Kind: sdk.TaskLogParse, Payload: payload,
	})
	stopRenew()
	var result sdk.LogParseResult
	switch {
	case ctx.Err() != nil:
		d.unlease(t)
		return ctx.Err() // shutting down: the log stays pending for the next start
	case err != nil && sdk.IsPermanent(err):
		result = sdk.LogParseResult{Status: sdk.LogStatusFailed, Reason: err.Error()}
	case err != nil:
		d.unlease(t)
		return err
	default:
		if err := json.Unmarshal(res.Payload, &result); err != nil {
			result = sdk.LogParseResult{Status: sdk.LogStatusFailed, Reason: "processor returned an unreadable result: " + err.Error()}
		}
	}
	if c, ok := d.opts.Perf.(PerfChecker); ok {
		result = c.CheckPerfData(t, result)
	}
	if err := d.store.StoreLogResult(ctx, t, result); err != nil {
		d.unlease(t)
		if ctx.Err() == nil {
			d.log.Error("store parse result", "job_log", t.JobLogID, "error", err)
		}
		return fmt.Errorf("store parse result: %w", err)
	}
	d.stored(ctx, l, t, result, start)
	return nil
}

// giveUp records a log whose attempts are used up as failed.
func (d *LogDispatcher) giveUp(ctx context.Context, l Lane, t model.LogTask, err error) {
	result := sdk.LogParseResult{Status: sdk.LogStatusFailed,
		Reason: fmt.Sprintf("gave up after %d attempts: %v", d.opts.MaxAttempts, err)}
	t.Owner = "" // the lease was given up with the last attempt
	if err := d.store.StoreLogResult(ctx, t, result); err != nil {
		if ctx.Err() == nil {
			d.log.Error("store parse result", "job_log", t.JobLogID, "error", err)
		}
		return
	}
	d.stored(ctx, l, t, result, time.Now())
}

func (d *LogDispatcher) stored(ctx context.Context, l Lane, t model.LogTask, result sdk.LogParseResult, start time.Time) {
	if d.opts.Perf != nil && len(result.PerfData) > 0 {
		if err := d.opts.Perf.StorePerfData(ctx, t, result); err != nil && ctx.Err() == nil {
			d.log.Error("store performance data", "job_log", t.JobLogID, "error", err)
		}
	}
	d.mu.Lock()
	delete(d.retry, t.JobLogID)
	d.mu.Unlock()
	d.parsed.WithLabelValues(l.Name, result.Status).Inc()
	d.duration.WithLabelValues(l.Name).Observe(time.Since(start).Seconds())
	if result.Status != sdk.LogStatusParsed {
		d.log.Info("log not parsed", "job_log", t.JobLogID, "status", result.Status, "reason", result.Reason)
	}
}

// renew keeps t's lease alive while its parse runs, until the returned
// function is called. A lost lease is only logged: the result will then be
// refused by StoreLogResult, and the new owner's parse counts.
func (d *LogDispatcher) renew(ctx context.Context, t model.LogTask) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(d.opts.Lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				ok, err := d.store.RenewLog(ctx, t.JobLogID, t.Owner, d.leaseUntil())
				if err != nil {
					d.log.Warn("renew log lease", "job_log", t.JobLogID, "error", err)
				} else if !ok {
					d.log.Warn("log lease lost during the parse", "job_log", t.JobLogID)
					return
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// unlease gives the lease back so the next attempt, here or in another
// worker, need not wait for it to expire. It must work while ctx is ending.
func (d *LogDispatcher) unlease(t model.LogTask) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.store.ReleaseLog(ctx, t.JobLogID, d.opts.Owner); err != nil {
		d.log.Warn("release log lease", "job_log", t.JobLogID, "error", err)
	}
}

// retryLater schedules another attempt with exponential backoff; false means
// the attempts are used up.
func (d *LogDispatcher) retryLater(t model.LogTask, err error) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.retry[t.JobLogID]
	r.attempts++
	if r.attempts >= d.opts.MaxAttempts {
		delete(d.retry, t.JobLogID)
		return false
	}
	r.next = time.Now().Add(d.opts.Backoff << (r.attempts - 1))
	d.retry[t.JobLogID] = r
	d.log.Warn("log parse failed, will retry", "job_log", t.JobLogID, "attempt", r.attempts, "retry_at", r.next, "error", err)
	return true
}
