// Package schedule runs herder's scheduled jobs (update_bugscache,
// cycle_data, the intermittents commenter) on cron specs, in one process of
// a deployment at a time: the processes elect a leader through a database
// lock (MySQL's GET_LOCK) or a file lock (SQLite, one host), and only the
// leader's cron fires. Leadership passes on when the leader stops or loses
// its database connection.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/robfig/cron/v3"
)

// Locker hands out named locks shared by every herder process of a
// deployment.
type Locker interface {
	// TryLock takes the named lock without waiting; ok is false when
	// another holder has it.
	TryLock(ctx context.Context, name string) (lock Lock, ok bool, err error)
}

// Lock is a held lock.
type Lock interface {
	// Lost is closed when the lock is gone without Release (the database
	// connection holding it dropped).
	Lost() <-chan struct{}
	Release() error
}

// ErrBusy says a job is already running in some process.
var ErrBusy = errors.New("already running in another process")

// Job is a scheduled job.
type Job struct {
	Name string
	// Spec is a cron spec: five fields, or a descriptor such as "@hourly"
	// or "@every 6h".
	Spec string
	Run  func(ctx context.Context) error
}

// Options tune a Scheduler.
type Options struct {
	// LeaderLock names the election lock (default "schedule").
	LeaderLock string
	// Retry is how often a follower tries to become leader (default 15 s).
	Retry time.Duration
	Log   hclog.Logger
}

// Scheduler runs jobs on their specs while this process leads.
type Scheduler struct {
	locker Locker
	opts   Options
	log    hclog.Logger
	jobs   []Job

	mu      sync.Mutex
	leading bool
	runs    map[string]int
}

// New returns a scheduler without jobs.
func New(locker Locker, opts Options) *Scheduler {
	if opts.LeaderLock == "" {
		opts.LeaderLock = "schedule"
	}
	if opts.Retry <= 0 {
		opts.Retry = 15 * time.Second
	}
	if opts.Log == nil {
		opts.Log = hclog.NewNullLogger()
	}
	return &Scheduler{locker: locker, opts: opts, log: opts.Log.Named("schedule"), runs: map[string]int{}}
}

// Add registers a job; a bad spec is an error.
func (s *Scheduler) Add(j Job) error {
	if _, err := cron.ParseStandard(j.Spec); err != nil {
		return fmt.Errorf("schedule %s: cron spec %q: %w", j.Name, j.Spec, err)
	}
	if j.Run == nil {
		return fmt.Errorf("schedule %s: no function to run", j.Name)
	}
	s.jobs = append(s.jobs, j)
	return nil
}

// Leading reports whether this scheduler is the leader now.
func (s *Scheduler) Leading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}

// Runs reports how often a job ran here.
func (s *Scheduler) Runs(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[name]
}

// Run elects and, while leading, runs the jobs; it returns when ctx ends,
// after the jobs under way stopped.
func (s *Scheduler) Run(ctx context.Context) {
	if len(s.jobs) == 0 {
		return
	}
	for ctx.Err() == nil {
		lock, ok, err := s.locker.TryLock(ctx, s.opts.LeaderLock)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("leader election failed", "error", err)
			}
		case ok:
			s.lead(ctx, lock)
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.opts.Retry):
		}
	}
}

// lead runs the cron until ctx ends or the lock is lost.
func (s *Scheduler) lead(ctx context.Context, lock Lock) {
	s.setLeading(true)
	s.log.Info("leading the scheduled jobs", "jobs", len(s.jobs))
	jobCtx, cancel := context.WithCancel(ctx)
	c := cron.New(cron.WithChain(cron.Recover(cronLogger{s.log}), cron.SkipIfStillRunning(cronLogger{s.log})))
	for _, j := range s.jobs {
		j := j
		if _, err := c.AddFunc(j.Spec, func() { s.runJob(jobCtx, j) }); err != nil {
			s.log.Error("schedule job", "job", j.Name, "error", err)
		}
	}
	c.Start()
	select {
	case <-ctx.Done():
	case <-lock.Lost():
		s.log.Warn("lost the scheduler lock; another process may lead now")
	}
	cancel()
	<-c.Stop().Done()
	s.setLeading(false)
	if err := lock.Release(); err != nil {
		s.log.Warn("release the scheduler lock", "error", err)
	}
}

func (s *Scheduler) setLeading(v bool) {
	s.mu.Lock()
	s.leading = v
	s.mu.Unlock()
}

func (s *Scheduler) runJob(ctx context.Context, j Job) {
	start := time.Now()
	err := RunExclusive(ctx, s.locker, j.Name, j.Run)
	s.mu.Lock()
	s.runs[j.Name]++
	s.mu.Unlock()
	switch {
	case errors.Is(err, ErrBusy):
		s.log.Info("scheduled job skipped: it is running elsewhere", "job", j.Name)
	case err != nil:
		s.log.Error("scheduled job failed", "job", j.Name, "took", time.Since(start), "error", err)
	default:
		s.log.Info("scheduled job done", "job", j.Name, "took", time.Since(start))
	}
}

// RunExclusive runs fn while holding the job's own lock, so a manual run
// (herder bugs sync, herder cycle-data) and a scheduled one never overlap.
// It returns ErrBusy when the job is running elsewhere.
func RunExclusive(ctx context.Context, locker Locker, name string, fn func(context.Context) error) error {
	lock, ok, err := locker.TryLock(ctx, "job."+name)
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", name, ErrBusy)
	}
	defer lock.Release()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lock.Lost():
			cancel()
		case <-runCtx.Done():
		}
	}()
	return fn(runCtx)
}

type cronLogger struct{ l hclog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error(msg, append(kv, "error", err)...)
}
