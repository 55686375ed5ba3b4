package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// logKindWhere selects the job_log rows of one kind.
var logKindWhere = map[string]string{
	model.LogKindRaw:  "l.name = 'live_backing_log'",
	model.LogKindJSON: "l.name = 'errorsummary_json'",
	model.LogKindPerf: "l.name LIKE 'perfherder-data%'",
}

// PendingLogs returns up to limit pending logs of one kind, oldest first, of
// jobs whose result is in the given class (model.JobsFailed: every result but
// success; model.JobsSucceeded; model.JobsAny), leaving out the ids in skip
// (those already being parsed).
func (s *Store) PendingLogs(ctx context.Context, kind, jobs string, skip []int64, limit int) ([]model.LogTask, error) {
	where, ok := logKindWhere[kind]
	if !ok {
		return nil, fmt.Errorf("unknown log kind %q", kind)
	}
	q := logTaskSelect + `
		WHERE l.status = ? AND (l.lease_until IS NULL OR l.lease_until < ?) AND ` + where
	args := []any{model.LogPending, s.now().UnixMilli()}
	switch jobs {
	case model.JobsFailed:
		q += " AND j.result <> ?"
		args = append(args, sdk.ResultSuccess)
	case model.JobsSucceeded:
		q += " AND j.result = ?"
		args = append(args, sdk.ResultSuccess)
	case model.JobsAny:
	default:
		return nil, fmt.Errorf("unknown job class %q", jobs)
	}
	if len(skip) > 0 {
		q += " AND l.id NOT IN " + inList(len(skip))
		args = append(args, anySlice(skip)...)
	}
	q += " ORDER BY l.id LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pending %s logs: %w", kind, err)
	}
	tasks, err := scanLogTasks(rows)
	if err != nil {
		return nil, fmt.Errorf("pending %s logs: %w", kind, err)
	}
	return tasks, nil
}

var logStatusCodes = map[string]int{
	sdk.LogStatusParsed:      model.LogParsed,
	sdk.LogStatusFailed:      model.LogFailed,
	sdk.LogStatusSkippedSize: model.LogSkippedSize,
}

// StoreLogResult records a parse: the log's status, reason and algorithm
// version, and what the parser found. A reparse replaces the earlier result
// of the same log. A fresh log's first result has nothing to replace, so
// its rows are inserted without the deletes: on MySQL a DELETE of an empty
// range still takes gap locks, which deadlocked concurrent parses'
// inserts, and the deletes were a fifth of the statements of a parse.
func (s *Store) StoreLogResult(ctx context.Context, t model.LogTask, r sdk.LogParseResult) error {
	status, ok := logStatusCodes[r.Status]
	if !ok {
		return fmt.Errorf("log %d: unknown parse status %q", t.JobLogID, r.Status)
	}
	var groupIDs []int64
	if len(r.Groups) > 0 {
		rows := make([][]any, len(r.Groups))
		for i, g := range r.Groups {
			rows[i] = []any{g.Group}
		}
		ids, err := s.refIDs(ctx, "test_group", []string{"name"}, nil, rows)
		if err != nil {
			return err
		}
		groupIDs = ids
	}
	reason := r.Reason
	if len(reason) > 255 {
		reason = reason[:255]
	}
	q := `UPDATE job_log SET status = ?, status_reason = ?, algorithm_version = ?, parse_count = parse_count + 1,
		lease_owner = NULL, lease_until = NULL WHERE id = ?`
	args := []any{status, reason, r.AlgorithmVersion, t.JobLogID}
	if t.Owner != "" {
		// A claimed log's result counts only while its lease holds:
		// after the lease passed on, the new owner's parse is the one.
		q += " AND lease_owner = ?"
		args = append(args, t.Owner)
	}
	update := func(ex interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}) error {
		res, err := ex.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("update log %d: %w", t.JobLogID, err)
		}
		if t.Owner != "" {
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("update log %d: %w", t.JobLogID, err)
			} else if n == 0 {
				return fmt.Errorf("log %d: %w", t.JobLogID, ErrLeaseLost)
			}
		}
		return nil
	}
	raw := t.Name == sdk.LogLiveBacking && status == model.LogParsed
	summary := t.Name == sdk.LogErrorSummary && status == model.LogParsed
	if !(raw && (!t.Fresh || len(r.Errors) > 0)) && !(summary && (!t.Fresh || len(r.FailureLines)+len(r.Groups) > 0)) {
		// Only the log's row changes (most logs: green jobs' first parse),
		// so one autocommitted statement does, without BEGIN and COMMIT.
		return retryDeadlock(ctx, func() error { return update(s.db) })
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := update(tx); err != nil {
			return err
		}
		if raw {
			if err := s.replaceTextLogErrors(ctx, tx, t.JobID, !t.Fresh, r.Errors); err != nil {
				return err
			}
		}
		if summary {
			if err := s.replaceFailureLines(ctx, tx, t, !t.Fresh, r.FailureLines); err != nil {
				return err
			}
			if err := s.replaceGroups(ctx, tx, t.JobLogID, !t.Fresh, r.Groups, groupIDs); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) replaceTextLogErrors(ctx context.Context, tx *sql.Tx, jobID int64, clear bool, errs []sdk.ErrorLine) error {
	if clear {
		if _, err := tx.ExecContext(ctx, "DELETE FROM text_log_error WHERE job_id = ?", jobID); err != nil {
			return fmt.Errorf("clear text log errors of job %d: %w", jobID, err)
		}
	}
	const cols = 3
	step := chunkSize(s.d.maxParams, cols)
	for start := 0; start < len(errs); start += step {
		end := min(start+step, len(errs))
		args := make([]any, 0, (end-start)*cols)
		for _, e := range errs[start:end] {
			args = append(args, jobID, e.Line, e.LineNumber)
		}
		q := s.d.insertIgnore + " INTO text_log_error (job_id, line, line_number) VALUES " + placeholders(end-start, cols)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store text log errors of job %d: %w", jobID, err)
		}
	}
	return nil
}

func (s *Store) replaceFailureLines(ctx context.Context, tx *sql.Tx, t model.LogTask, clear bool, lines []sdk.FailureLine) error {
	if clear {
		if _, err := tx.ExecContext(ctx, "DELETE FROM failure_line WHERE job_log_id = ?", t.JobLogID); err != nil {
			return fmt.Errorf("clear failure lines of log %d: %w", t.JobLogID, err)
		}
	}
	const cols = 18
	now := s.now().Unix()
	step := chunkSize(s.d.maxParams, cols)
	for start := 0; start < len(lines); start += step {
		end := min(start+step, len(lines))
		args := make([]any, 0, (end-start)*cols)
		for _, l := range lines[start:end] {
			var known any
			if len(l.KnownIntermittent) > 0 {
				known = joinJSON(l.KnownIntermittent)
			}
			args = append(args, t.JobGUID, t.RepositoryID, t.JobLogID, cut(l.Action, 15), l.Line, l.Test, l.Subtest,
				cutPtr(&l.Status, 7), cutPtr(l.Expected, 7), l.Message, l.Signature, cutPtr(l.Level, 8), l.Stack,
				l.StackwalkStdout, l.StackwalkStderr, known, now, now)
		}
		q := s.d.insertIgnore + ` INTO failure_line (job_guid, repository_id, job_log_id, action, line, test, subtest,
			status, expected, message, signature, level, stack, stackwalk_stdout, stackwalk_stderr, known_intermittent,
			created, modified) VALUES ` + placeholders(end-start, cols)
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store failure lines of log %d: %w", t.JobLogID, err)
		}
	}
	return nil
}

func (s *Store) replaceGroups(ctx context.Context, tx *sql.Tx, jobLogID int64, clear bool, groups []sdk.GroupResult, ids []int64) error {
	if clear {
		if _, err := tx.ExecContext(ctx, "DELETE FROM group_status WHERE job_log_id = ?", jobLogID); err != nil {
			return fmt.Errorf("clear group results of log %d: %w", jobLogID, err)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	args := make([]any, 0, len(groups)*4)
	for i, g := range groups {
		args = append(args, jobLogID, ids[i], g.Status, g.Duration)
	}
	q := s.d.insertIgnore + " INTO group_status (job_log_id, group_id, status, duration) VALUES " + placeholders(len(groups), 4)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("store group results of log %d: %w", jobLogID, err)
	}
	return nil
}

// ResetLogs marks parsed or failed logs of jobs submitted since `since` (unix
// seconds) as pending again, so they are parsed anew; with version set, only
// logs parsed by another algorithm version. It returns how many it reset.
// parse_count is kept: it counts every stored result, and a reset log is not
// fresh (its next result replaces the earlier one).
func (s *Store) ResetLogs(ctx context.Context, since int64, version string) (int64, error) {
	q := `UPDATE job_log SET status = ?, status_reason = '', lease_owner = NULL, lease_until = NULL, queued_at = NULL
		WHERE status IN (?, ?)
		AND job_id IN (SELECT id FROM job WHERE submit_time >= ?)`
	args := []any{model.LogPending, model.LogParsed, model.LogFailed, since}
	if version != "" {
		q += " AND algorithm_version <> ?"
		args = append(args, version)
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("reset logs: %w", err)
	}
	return res.RowsAffected()
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func cutPtr(s *string, n int) any {
	if s == nil {
		return nil
	}
	return cut(*s, n)
}

func joinJSON(xs []string) string {
	b, _ := json.Marshal(xs) // strings always marshal
	return string(b)
}
