package bugs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/dispatch"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

// WorkStore is the work queue (sqlstore.Store).
type WorkStore interface {
	EnqueueBugWork(ctx context.Context, jobID int64, kind string, jobLogID int64) error
	ClaimBugWork(ctx context.Context, limit int, lease time.Duration) ([]store.BugWork, error)
	FinishBugWork(ctx context.Context, ids ...int64) error
	RetryBugWork(ctx context.Context, id, at int64) error
	PruneErrorLineCounts(ctx context.Context, beforeDay int64) (int64, error)
}

// FollowLogs wraps the log dispatcher's store so that every parsed log
// queues what Treeherder does right after storing it: matching the error
// lines of a raw log to bugs, checking an errorsummary log's group results
// for intermittents. The work is queued before the result is stored, so a
// crash between the two loses nothing: work whose log is still pending
// waits, and is dropped if the log stays pending (its next parse queues it
// again).
type FollowLogs struct {
	dispatch.LogStore
	Queue WorkStore
	// Notify wakes the bug dispatcher (optional).
	Notify func()
}

// StoreLogResult queues the follow-up work, then stores the result.
func (f FollowLogs) StoreLogResult(ctx context.Context, t model.LogTask, r sdk.LogParseResult) error {
	kind := ""
	switch t.Name {
	case sdk.LogLiveBacking:
		// A fresh log without error lines leaves nothing to match and no
		// earlier suggestions to clear: most jobs are green, and their
		// queued work was half the statements of parsing them.
		if !t.Fresh || len(r.Errors) > 0 {
			kind = store.BugWorkSuggest
		}
	case sdk.LogErrorSummary:
		kind = store.BugWorkIntermittent
	}
	if kind != "" && r.Status == sdk.LogStatusParsed {
		if err := f.Queue.EnqueueBugWork(ctx, t.JobID, kind, t.JobLogID); err != nil {
			return err
		}
	}
	if err := f.LogStore.StoreLogResult(ctx, t, r); err != nil {
		return err
	}
	if kind != "" && f.Notify != nil {
		f.Notify()
	}
	return nil
}

// DispatchOptions configures a Dispatcher.
type DispatchOptions struct {
	// Workers is how many jobs are worked on at once (default 4).
	Workers int
	// Poll is how often the queue is read when idle (default 1 s).
	Poll time.Duration
	// Lease is how long a claimed item stays claimed (default 10 min).
	Lease time.Duration
	// MaxAttempts before work is dropped (default 10); Backoff the first
	// retry delay, doubled each attempt (default 10 s).
	MaxAttempts int
	Backoff     time.Duration
	// PendingGrace is how long work waits for its log to be stored
	// (default 10 min).
	PendingGrace time.Duration
	Log          hclog.Logger
	Registry     prometheus.Registerer
	Now          func() time.Time
}

// Dispatcher works the queue: it matches jobs to bugs and checks
// intermittents, one goroutine per job so a job's work stays in order.
// Without a matcher, matching work is dropped.
type Dispatcher struct {
	queue        WorkStore
	matcher      *Matcher
	intermittent *Intermittents
	opts         DispatchOptions
	log          hclog.Logger
	wake         chan struct{}
	done         *prometheus.CounterVec
	lastPrune    time.Time
}

// NewDispatcher makes a dispatcher; Run starts it.
func NewDispatcher(q WorkStore, m *Matcher, in *Intermittents, opts DispatchOptions) *Dispatcher {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Minute
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 10 * time.Second
	}
	if opts.PendingGrace <= 0 {
		opts.PendingGrace = 10 * time.Minute
	}
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Dispatcher{queue: q, matcher: m, intermittent: in, opts: opts, log: opts.Log.Named("bugs"),
		wake: make(chan struct{}, 1),
		done: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_bug_work_total", Help: "Bug matching and intermittent checks, by kind and outcome.",
		}, []string{"kind", "outcome"}),
	}
	if opts.Registry != nil {
		opts.Registry.MustRegister(d.done)
	}
	return d
}

// Notify wakes the dispatcher early.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends, then waits for the jobs under way.
func (d *Dispatcher) Run(ctx context.Context) {
	for ctx.Err() == nil {
		d.pruneCounts(ctx)
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("read the bug work queue", "error", err)
		}
		if n > 0 && err == nil {
			continue
		}
		t := time.NewTimer(d.opts.Poll)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-d.wake:
		}
		t.Stop()
	}
}

// RunOnce claims one batch and works it; it returns how many items it took.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	items, err := d.queue.ClaimBugWork(ctx, d.opts.Workers*4, d.opts.Lease)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	byJob := map[int64][]store.BugWork{}
	var order []int64
	for _, w := range items {
		if _, ok := byJob[w.JobID]; !ok {
			order = append(order, w.JobID)
		}
		byJob[w.JobID] = append(byJob[w.JobID], w)
	}
	slots := make(chan struct{}, d.opts.Workers)
	var wg sync.WaitGroup
	for _, job := range order {
		slots <- struct{}{}
		wg.Add(1)
		go func(list []store.BugWork) {
			defer wg.Done()
			defer func() { <-slots }()
			for _, w := range list {
				d.work(ctx, w)
			}
		}(byJob[job])
	}
	wg.Wait()
	return len(items), nil
}

func (d *Dispatcher) work(ctx context.Context, w store.BugWork) {
	now := d.opts.Now()
	switch {
	case w.LogStatus == model.LogPending:
		if now.Sub(time.Unix(w.Created, 0)) > d.opts.PendingGrace {
			d.finish(ctx, w, "abandoned")
			return
		}
		// The log's result is being stored right now, or the store
		// failed; look again shortly.
		if err := d.queue.RetryBugWork(ctx, w.ID, now.Add(5*time.Second).Unix()); err != nil {
			d.log.Warn("requeue bug work", "job", w.JobID, "error", err)
		}
		return
	case w.LogStatus != model.LogParsed:
		d.finish(ctx, w, "log-not-parsed")
		return
	}
	var err error
	switch w.Kind {
	case store.BugWorkSuggest:
		if d.matcher == nil {
			d.finish(ctx, w, "no-matcher")
			return
		}
		var rep MatchReport
		rep, err = d.matcher.MatchJob(ctx, w.JobID)
		if err == nil {
			d.log.Debug("matched job", "job", w.JobID, "lines", rep.Lines, "bugs", rep.Bugs, "new_failures", len(rep.NewFailures))
			for _, r := range rep.NoTermLines {
				d.log.Debug("error line without a search term", "job", w.JobID, "reason", r)
			}
		}
	case store.BugWorkIntermittent:
		var rep IntermittentReport
		rep, err = d.intermittent.CheckJob(ctx, w.JobID)
		if err == nil && len(rep.Classify)+len(rep.Unclassify) > 0 {
			d.log.Info("intermittent check", "job", w.JobID, "classify", rep.Classify, "unclassify", rep.Unclassify)
		}
	default:
		d.log.Warn("unknown bug work", "kind", w.Kind, "job", w.JobID)
		d.finish(ctx, w, "unknown")
		return
	}
	switch {
	case err == nil:
		d.finish(ctx, w, "done")
	case ctx.Err() != nil:
		// Shutting down: the lease runs out and the work is taken again.
	case errors.Is(err, store.ErrNotFound):
		d.finish(ctx, w, "job-gone")
	case sdk.IsPermanent(err):
		d.log.Error("bug work failed for good", "kind", w.Kind, "job", w.JobID, "error", err)
		d.finish(ctx, w, "failed")
	case w.Attempts >= d.opts.MaxAttempts:
		d.log.Error("bug work gave up", "kind", w.Kind, "job", w.JobID, "attempts", w.Attempts, "error", err)
		d.finish(ctx, w, "gave-up")
	default:
		at := now.Add(d.opts.Backoff << min(w.Attempts-1, 10))
		d.log.Warn("bug work failed, will retry", "kind", w.Kind, "job", w.JobID, "attempt", w.Attempts, "retry_at", at, "error", err)
		if err := d.queue.RetryBugWork(ctx, w.ID, at.Unix()); err != nil {
			d.log.Warn("requeue bug work", "job", w.JobID, "error", err)
		}
	}
}

func (d *Dispatcher) finish(ctx context.Context, w store.BugWork, outcome string) {
	d.done.WithLabelValues(w.Kind, outcome).Inc()
	if err := d.queue.FinishBugWork(ctx, w.ID); err != nil && ctx.Err() == nil {
		d.log.Warn("finish bug work", "job", w.JobID, "error", err)
	}
}

// pruneCounts forgets line sightings older than the window, hourly.
func (d *Dispatcher) pruneCounts(ctx context.Context) {
	now := d.opts.Now()
	if now.Sub(d.lastPrune) < time.Hour {
		return
	}
	d.lastPrune = now
	if _, err := d.queue.PruneErrorLineCounts(ctx, Day(now.Unix())-lineWindowDays); err != nil && ctx.Err() == nil {
		d.log.Warn("prune error line counts", "error", err)
	}
}
