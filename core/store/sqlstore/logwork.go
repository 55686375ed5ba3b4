package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herder-ci/herder/core/model"
)

// ErrLeaseLost is returned when a parse result arrives after its owner's
// lease passed to another worker: the other worker's result counts.
var ErrLeaseLost = errors.New("log lease lost to another worker")

// logTaskCols are a model.LogTask's columns, as scanLogTasks reads them.
// A log is fresh while no result was ever stored for it: parse_count
// counts stored results and a reset keeps it, and algorithm_version covers
// logs parsed before parse_count existed.
const logTaskCols = `l.id, l.job_id, j.guid, j.repository_id, r.name, l.name, l.url, j.result,
	(l.parse_count = 0 AND l.algorithm_version = '')`

// freshRow is logTaskCols' freshness test on job_log's own columns.
const freshRow = `(parse_count = 0 AND algorithm_version = '')`

const logTaskSelect = `SELECT ` + logTaskCols + `
	FROM job_log l JOIN job j ON j.id = l.job_id JOIN repository r ON r.id = j.repository_id`

func scanLogTasks(rows *sql.Rows) ([]model.LogTask, error) {
	defer rows.Close()
	var out []model.LogTask
	for rows.Next() {
		var t model.LogTask
		if err := rows.Scan(&t.JobLogID, &t.JobID, &t.JobGUID, &t.RepositoryID, &t.Repository, &t.Name, &t.URL, &t.JobResult, &t.Fresh); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ClaimLog leases a pending log to owner. The conditional UPDATE is the
// whole protocol: the database lets one of several concurrent claimers win,
// even two in one process (a message and its duplicate handled at once).
func (s *Store) ClaimLog(ctx context.Context, id int64, owner string, until time.Time) (model.LogTask, bool, error) {
	now := s.now().UnixMilli()
	res, err := s.db.ExecContext(ctx, `UPDATE job_log SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND status = ? AND (lease_until IS NULL OR lease_until < ?)`,
		owner, until.UnixMilli(), id, model.LogPending, now)
	if err != nil {
		return model.LogTask{}, false, fmt.Errorf("claim log %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return model.LogTask{}, false, err
	}
	rows, err := s.db.QueryContext(ctx, logTaskSelect+" WHERE l.id = ?", id)
	if err != nil {
		return model.LogTask{}, false, fmt.Errorf("read claimed log %d: %w", id, err)
	}
	tasks, err := scanLogTasks(rows)
	if err != nil || len(tasks) == 0 {
		return model.LogTask{}, false, err
	}
	t := tasks[0]
	t.Owner = owner
	return t, true, nil
}

// ClaimKnownLogs leases pending logs the caller has read already (a queue
// message carries up to 25), in one statement and without ClaimLog's read.
// Each row must still be as read: same job, name and URL, and as fresh. It
// returns the ids it leased: all of them unless some were parsed, leased
// elsewhere or changed since (ClaimLog reads those anew). until must be
// unique to this claim for owner (the dispatcher's leases are), since a
// partial claim finds its rows by owner and until.
func (s *Store) ClaimKnownLogs(ctx context.Context, ts []model.LogTask, owner string, until time.Time) ([]int64, error) {
	// Per log: its id in the IN list and the five it is checked by; the
	// one kept free covers the four parameters every chunk has.
	const perLog = 6
	var claimed []int64
	step := chunkSize(s.d.maxParams, perLog) - 1
	for start := 0; start < len(ts); start += step {
		part := ts[start:min(start+step, len(ts))]
		ids := make([]any, len(part))
		args := []any{owner, until.UnixMilli(), model.LogPending, s.now().UnixMilli()}
		conds := make([]string, len(part))
		for i, t := range part {
			ids[i] = t.JobLogID
			conds[i] = "(id = ? AND job_id = ? AND name = ? AND url = ? AND " + freshRow + " = ?)"
		}
		args = append(args, ids...)
		for _, t := range part {
			args = append(args, t.JobLogID, t.JobID, t.Name, t.URL, t.Fresh)
		}
		res, err := s.db.ExecContext(ctx, `UPDATE job_log SET lease_owner = ?, lease_until = ?
			WHERE status = ? AND (lease_until IS NULL OR lease_until < ?)
			AND id IN `+inList(len(part))+` AND (`+strings.Join(conds, " OR ")+`)`, args...)
		if err != nil {
			return claimed, fmt.Errorf("claim %d logs: %w", len(part), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return claimed, fmt.Errorf("claim %d logs: %w", len(part), err)
		}
		if int(n) == len(part) {
			for _, t := range part {
				claimed = append(claimed, t.JobLogID)
			}
			continue
		}
		if n == 0 {
			continue
		}
		rows, err := s.db.QueryContext(ctx, "SELECT id FROM job_log WHERE id IN "+inList(len(part))+" AND lease_owner = ? AND lease_until = ?",
			append(ids, owner, until.UnixMilli())...)
		if err != nil {
			return claimed, fmt.Errorf("read %d claimed logs: %w", n, err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return claimed, err
			}
			claimed = append(claimed, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return claimed, err
		}
	}
	return claimed, nil
}

// RenewLog extends owner's lease while a long parse runs; ok is false when
// the lease was lost (it expired and another worker took the log).
func (s *Store) RenewLog(ctx context.Context, id int64, owner string, until time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE job_log SET lease_until = ? WHERE id = ? AND lease_owner = ? AND status = ?",
		until.UnixMilli(), id, owner, model.LogPending)
	if err != nil {
		return false, fmt.Errorf("renew lease of log %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ReleaseLog clears owner's lease so the next claimer need not wait for it
// to expire.
func (s *Store) ReleaseLog(ctx context.Context, id int64, owner string) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE job_log SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?", id, owner); err != nil {
		return fmt.Errorf("release log %d: %w", id, err)
	}
	return nil
}

// PendingLogsOfJobs lists the pending logs of jobs just stored that no
// queue holds yet, so the worker that stored them can hand them to the parse
// queues. Logs queued before (a later event of the same job, a redelivered
// batch) are left out: their message is on its way, and the sweep requeues
// any whose message was lost.
func (s *Store) PendingLogsOfJobs(ctx context.Context, guids []string) ([]model.LogTask, error) {
	var out []model.LogTask
	const step = 500
	for start := 0; start < len(guids); start += step {
		part := guids[start:min(start+step, len(guids))]
		rows, err := s.db.QueryContext(ctx, logTaskSelect+" WHERE j.guid IN "+inList(len(part))+" AND l.status = ? AND l.queued_at IS NULL ORDER BY l.id",
			append(anySlice(part), model.LogPending)...)
		if err != nil {
			return nil, fmt.Errorf("pending logs of %d jobs: %w", len(part), err)
		}
		tasks, err := scanLogTasks(rows)
		if err != nil {
			return nil, fmt.Errorf("pending logs of %d jobs: %w", len(part), err)
		}
		out = append(out, tasks...)
	}
	return out, nil
}

// UnqueuedLogs finds pending logs no queue holds (a worker died between
// storing jobs and queueing their logs, jobs stored from the parked table, a
// reset for reparsing), held so long the message may be lost, or left with
// an expired lease: a worker that claimed the log died or lost the database
// mid-parse, and the message that named it was acked by a worker that saw
// the live lease.
func (s *Store) UnqueuedLogs(ctx context.Context, queuedBefore time.Time, limit int) ([]model.LogTask, error) {
	rows, err := s.db.QueryContext(ctx, logTaskSelect+` WHERE l.status = ?
		AND (l.queued_at IS NULL OR l.queued_at < ? OR l.lease_owner IS NOT NULL)
		AND (l.lease_until IS NULL OR l.lease_until < ?)
		ORDER BY l.id LIMIT ?`, model.LogPending, queuedBefore.UnixMilli(), s.now().UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("unqueued logs: %w", err)
	}
	tasks, err := scanLogTasks(rows)
	if err != nil {
		return nil, fmt.Errorf("unqueued logs: %w", err)
	}
	return tasks, nil
}

// MarkLogsQueued records when logs were last handed to a work queue.
func (s *Store) MarkLogsQueued(ctx context.Context, ids []int64, at time.Time) error {
	const step = 1000
	for start := 0; start < len(ids); start += step {
		part := ids[start:min(start+step, len(ids))]
		if _, err := s.db.ExecContext(ctx, "UPDATE job_log SET queued_at = ? WHERE id IN "+inList(len(part)),
			append([]any{at.UnixMilli()}, anySlice(part)...)...); err != nil {
			return fmt.Errorf("mark %d logs queued: %w", len(part), err)
		}
	}
	return nil
}
