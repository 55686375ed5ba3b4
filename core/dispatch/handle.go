package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// DefaultOwner names this process in log leases: unique across hosts and
// across restarts of one process id.
func DefaultOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// lease claims t's log for this process. A task read moments ago (a queue
// message carries one, and so does a poll) is claimed with one statement;
// one that changed since, or names only its id, is read anew.
func (d *LogDispatcher) lease(ctx context.Context, t model.LogTask) (model.LogTask, bool, error) {
	until := d.leaseUntil()
	if t.JobGUID != "" {
		ids, err := d.store.ClaimKnownLogs(ctx, []model.LogTask{t}, d.opts.Owner, until)
		if err != nil {
			return model.LogTask{}, false, err
		}
		if len(ids) == 1 {
			t.Owner = d.opts.Owner
			return t, true, nil
		}
	}
	return d.store.ClaimLog(ctx, t.JobLogID, d.opts.Owner, until)
}

// leaseUntil is the end of a new or renewed lease: a lease length from now,
// and always later than the last one this dispatcher handed out, so that
// (owner, lease_until) names one claim (ClaimKnownLogs relies on it).
func (d *LogDispatcher) leaseUntil() time.Time {
	next := time.Now().Add(d.opts.Lease).UnixMilli()
	for {
		last := d.lastUntil.Load()
		if next <= last {
			next = last + 1
		}
		if d.lastUntil.CompareAndSwap(last, next) {
			return time.UnixMilli(next)
		}
	}
}

// LaneFor is the default lane a log belongs to, by its kind and whether its
// job failed.
func LaneFor(t model.LogTask) Lane {
	kind := model.LogKindRaw
	switch {
	case t.Name == sdk.LogErrorSummary:
		kind = model.LogKindJSON
	case strings.HasPrefix(t.Name, "perfherder-data"):
		kind = model.LogKindPerf
	}
	failed := t.JobResult != sdk.ResultSuccess
	for _, l := range DefaultLanes {
		if l.Kind != kind {
			continue
		}
		if l.Jobs == model.JobsAny || (l.Jobs == model.JobsFailed) == failed {
			return l
		}
	}
	return DefaultLanes[len(DefaultLanes)-1]
}

// logsAtOnce is how many logs of one message HandleLogs parses at once (the
// log parser's default concurrency), so the logs of a failed push are not
// parsed one after another.
const logsAtOnce = 4

// HandleLogs parses the logs of one work-queue message (the RabbitMQ mode,
// where the queue rather than a poll hands out logs): it claims those
// carried whole in one statement, then parses logsAtOnce at a time, each as
// HandleLog does. It returns nil when none needs anything more; an error
// (the first) means "deliver again later", and the logs finished meanwhile
// are skipped then, as their claims find them parsed.
func (d *LogDispatcher) HandleLogs(ctx context.Context, tasks []model.LogTask) error {
	var known []model.LogTask
	for _, t := range tasks {
		if t.JobGUID != "" {
			known = append(known, t)
		}
	}
	claimed := map[int64]bool{}
	var claimedAt time.Time
	if len(known) > 1 {
		claimedAt = time.Now()
		ids, err := d.store.ClaimKnownLogs(ctx, known, d.opts.Owner, d.leaseUntil())
		for _, id := range ids {
			claimed[id] = true
		}
		if err != nil {
			// What was claimed is parsed; the rest is claimed one by one
			// below, and if the store is still failing the message comes
			// back. Rows leased by an UPDATE whose result was lost wait for
			// their lease to end and the sweep.
			d.log.Warn("claim logs", "logs", len(known), "claimed", len(ids), "error", err)
		} else {
			// The claim checked every row as read: those it left out are
			// parsed, leased elsewhere or changed, and only ClaimLog's
			// read can tell which.
			tasks = slices.Clone(tasks)
			for i, t := range tasks {
				if t.JobGUID != "" && !claimed[t.JobLogID] {
					tasks[i] = model.LogTask{JobLogID: t.JobLogID}
				}
			}
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, logsAtOnce)
	)
	for _, t := range tasks {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			var err error
			if claimed[t.JobLogID] {
				t.Owner = d.opts.Owner
				err = d.handle(ctx, t, claimedAt)
			} else {
				err = d.HandleLog(ctx, t)
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// HandleLog parses one log named by a work-queue message. It returns nil
// when the log needs nothing more: parsed now, parsed before, held by a live
// lease elsewhere, or given up on after MaxAttempts. An error means "deliver
// again later" (shutting down, or the store is unreachable).
//
// Transient processor failures are retried here with a short backoff rather
// than by redelivery, so a plugin restart does not burn the queue's
// delivery limit and send good work to the dead-letter queue.
//
// The message may carry the whole task as its publisher read it (want has a
// JobGUID) or only its id.
func (d *LogDispatcher) HandleLog(ctx context.Context, want model.LogTask) error {
	return d.handle(ctx, want, time.Time{})
}

// handle is HandleLog; a non-zero claimedAt says want is already leased to
// this process since then (HandleLogs claimed it with others).
func (d *LogDispatcher) handle(ctx context.Context, want model.LogTask, claimedAt time.Time) error {
	jobLogID := want.JobLogID
	for attempt := 1; ; attempt++ {
		var (
			t   model.LogTask
			ok  bool
			err error
		)
		if attempt == 1 && !claimedAt.IsZero() {
			// Claimed with the message's other logs; if it waited long for
			// its turn, make sure the lease still has most of its time.
			t, ok = want, true
			if time.Since(claimedAt) > d.opts.Lease/3 {
				ok, err = d.store.RenewLog(ctx, jobLogID, t.Owner, d.leaseUntil())
			}
		} else {
			t, ok, err = d.lease(ctx, want)
		}
		if err != nil {
			return fmt.Errorf("claim log %d: %w", jobLogID, err)
		}
		if !ok {
			return nil
		}
		l := LaneFor(t)
		err = d.attempt(ctx, l, t)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if attempt >= d.opts.MaxAttempts {
			d.giveUp(ctx, l, t, err)
			return nil
		}
		d.log.Warn("log parse failed, will retry", "job_log", jobLogID, "attempt", attempt, "error", err)
		wait := min(time.Second<<(attempt-1), 30*time.Second)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
