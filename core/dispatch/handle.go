package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
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
	until := time.Now().Add(d.opts.Lease)
	if t.JobGUID != "" {
		ok, err := d.store.ClaimKnownLog(ctx, t, d.opts.Owner, until)
		if err != nil {
			return model.LogTask{}, false, err
		}
		if ok {
			t.Owner = d.opts.Owner
			return t, true, nil
		}
	}
	return d.store.ClaimLog(ctx, t.JobLogID, d.opts.Owner, until)
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

// HandleLog parses one log named by a work-queue message (the RabbitMQ
// mode, where the queue rather than a poll hands out logs). It returns nil
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
	jobLogID := want.JobLogID
	for attempt := 1; ; attempt++ {
		t, ok, err := d.lease(ctx, want)
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
