package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/sdk"
)

// jobCols are the columns a job upsert writes, state last: MySQL evaluates
// ON DUPLICATE KEY UPDATE assignments left to right, so the guard must read
// the stored state before it changes.
var jobCols = []string{
	"guid", "repository_id", "push_id", "signature_id", "build_platform_id", "machine_platform_id",
	"machine_id", "option_collection_hash", "job_type_id", "job_group_id", "product_id",
	"failure_classification_id", "who", "reason", "result", "submit_time", "start_time",
	"end_time", "last_modified", "tier", "state",
}

// jobUpdateCols are rewritten when an existing job accepts an update. The
// classification is not among them: it belongs to the sheriffs.
var jobUpdateCols = []string{
	"push_id", "signature_id", "build_platform_id", "machine_platform_id", "machine_id",
	"option_collection_hash", "job_type_id", "job_group_id", "product_id", "who", "reason",
	"result", "submit_time", "start_time", "end_time", "last_modified", "tier", "state",
}

// stateRank orders states for the guard; completed is final.
var stateRank = map[string]int{
	sdk.StateUnscheduled: 0, sdk.StatePending: 1, sdk.StateRunning: 2, sdk.StateCompleted: 3,
}

// accepts is Treeherder's state guard (_remove_existing_jobs): drop the
// incoming state if the stored one is completed, if pending meets running, or
// if unscheduled meets pending or running. Same-state repeats overwrite.
func accepts(stored, incoming string) bool {
	switch {
	case stored == sdk.StateCompleted:
		return false
	case incoming == sdk.StatePending && stored == sdk.StateRunning:
		return false
	case incoming == sdk.StateUnscheduled && (stored == sdk.StatePending || stored == sdk.StateRunning):
		return false
	}
	return true
}

// StoreJobs writes a batch with one guarded multi-row upsert per chunk.
//
// Within the batch the guard is applied in memory, so each guid is written
// once with the state a one-by-one application would leave (the guard is
// monotone in the state order, so "fold the batch, then guard against the
// stored row" equals "guard each message in turn"). Against stored rows the
// guard runs inside the SQL statement itself, so concurrent writers cannot
// move a state backwards either.
func (s *Store) StoreJobs(ctx context.Context, jobs []model.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	// Fold the batch per guid.
	last := make(map[string]int, len(jobs))
	order := make([]string, 0, len(jobs))
	for i := range jobs {
		g := jobs[i].GUID
		prev, seen := last[g]
		if !seen {
			order = append(order, g)
			last[g] = i
			continue
		}
		if accepts(jobs[prev].State, jobs[i].State) {
			last[g] = i
		}
	}
	// Logs of every message of a guid are kept, as each message's get_or_create would.
	logsByGUID := map[string][]model.JobLog{}
	for i := range jobs {
		if len(jobs[i].Logs) > 0 {
			logsByGUID[jobs[i].GUID] = append(logsByGUID[jobs[i].GUID], jobs[i].Logs...)
		}
	}

	// Rows keep their delivery order: job ids follow it, as in Treeherder.
	// Concurrent batches may deadlock on the guid index; inTx reruns them.
	rows := make([]*model.Job, 0, len(order))
	for _, g := range order {
		rows = append(rows, &jobs[last[g]])
	}
	refs, err := s.resolveRefs(ctx, rows)
	if err != nil {
		return fmt.Errorf("store jobs: %w", err)
	}

	defer s.ckpt.Kick()
	return s.inJobTx(ctx, func(tx jobTx) error {
		rows, refs, moved, err := s.updateByGUIDRoot(ctx, tx, rows, refs)
		if err != nil {
			return err
		}
		// ids[i] is rows[i]'s job id once known (0 until then).
		ids := make([]int64, len(rows), len(rows)+len(moved))
		var maxID int64
		if s.d.sequentialIDs {
			if maxID, err = s.maxJobID(ctx, tx); err != nil {
				return err
			}
		}
		now := s.nowMicros()
		cols := len(jobCols)
		step := chunkSize(s.d.maxParams, cols)
		prefix := "INSERT INTO job (" + strings.Join(jobCols, ", ") + ") VALUES "
		args := make([]any, 0, min(step, len(rows))*cols)
		for start := 0; start < len(rows); start += step {
			end := min(start+step, len(rows))
			args = args[:0]
			for i := start; i < end; i++ {
				j, r := rows[i], refs[i]
				fc := j.FailureClass
				if fc == 0 {
					fc = model.FCNotClassified
				}
				args = append(args, j.GUID, j.RepositoryID, j.PushID, r.signature, r.buildPlatform,
					r.machinePlatform, r.machine, j.OptionCollection, r.jobType, r.jobGroup, r.product,
					fc, j.Who, j.Reason, j.Result, j.SubmitTime, j.StartTime, j.EndTime, now, int64(j.Tier), j.State)
			}
			q := prefix + placeholders(end-start, cols) + " " + s.d.jobUpsert
			if err := tx.exec(ctx, end-start == step, q, args); err != nil {
				return fmt.Errorf("upsert %d jobs: %w", end-start, err)
			}
			if s.d.sequentialIDs {
				if maxID, err = s.newJobIDs(ctx, tx, maxID, rows[start:end], ids[start:end]); err != nil {
					return err
				}
			}
		}
		for _, m := range moved {
			rows = append(rows, m.job)
			ids = append(ids, m.id)
		}
		return s.storeJobExtras(ctx, tx, rows, ids, logsByGUID)
	})
}

func (s *Store) maxJobID(ctx context.Context, tx jobTx) (int64, error) {
	var id int64
	err := tx.query(ctx, false, "SELECT COALESCE(MAX(id), 0) FROM job", nil, func(vals []driver.Value) error {
		var err error
		id, err = valueInt64(vals[0])
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("last job id: %w", err)
	}
	return id, nil
}

// newJobIDs fills the ids of rows just upserted when all of them were new
// rows, and returns the largest job id now. SQLite gives a new row the
// largest rowid plus one, and the writer holds the database's write lock, so
// when the largest id grew by exactly the number of rows, every row was
// inserted and they took the ids after prev in VALUES order; the first and
// last are checked. Otherwise (some rows were updates, or were refused by
// the state guard) the ids stay 0 and the extras look them up by guid.
// This spares a RETURNING clause, which costs more than the two lookups.
func (s *Store) newJobIDs(ctx context.Context, tx jobTx, prev int64, rows []*model.Job, ids []int64) (int64, error) {
	last, err := s.maxJobID(ctx, tx)
	if err != nil || last-prev != int64(len(rows)) {
		return last, err
	}
	ok := 0
	err = tx.query(ctx, false, "SELECT id, guid FROM job WHERE id IN (?, ?)", []any{prev + 1, last}, func(vals []driver.Value) error {
		id, err := valueInt64(vals[0])
		if err != nil {
			return err
		}
		g := valueString(vals[1])
		if (id == prev+1 && g == rows[0].GUID) || (id == last && g == rows[len(rows)-1].GUID) {
			ok++
		}
		return nil
	})
	if err != nil {
		return last, fmt.Errorf("check new job ids: %w", err)
	}
	if ok == 2 || (len(rows) == 1 && ok == 1) {
		for i := range ids {
			ids[i] = prev + 1 + int64(i)
		}
	}
	return last, nil
}

// movedJob is a job stored over the row of its root guid, and that row's id.
type movedJob struct {
	job *model.Job
	id  int64
}

// updateByGUIDRoot handles Treeherder's legacy retry guids ("<root>_<n>"):
// when a job with the root guid exists, that row is updated, guid included.
// It returns the jobs left for the bulk upsert and the jobs it moved onto
// their root's row, which still need their logs and metadata.
func (s *Store) updateByGUIDRoot(ctx context.Context, tx jobTx, rows []*model.Job, refs []jobRefs) ([]*model.Job, []jobRefs, []movedJob, error) {
	var moved []movedJob
	var keepRows []*model.Job
	var keepRefs []jobRefs
	for i, j := range rows {
		root, _, suffixed := strings.Cut(j.GUID, "_")
		if !suffixed {
			if keepRows != nil {
				keepRows, keepRefs = append(keepRows, j), append(keepRefs, refs[i])
			}
			continue
		}
		// The slices are copied (not filtered in place) from the first
		// retry guid on: a deadlocked transaction runs this again.
		if keepRows == nil {
			keepRows = append(make([]*model.Job, 0, len(rows)), rows[:i]...)
			keepRefs = append(make([]jobRefs, 0, len(rows)), refs[:i]...)
		}
		var id int64
		var state string
		found := false
		err := tx.query(ctx, false, "SELECT id, state FROM job WHERE guid = ?", []any{root}, func(vals []driver.Value) error {
			var err error
			id, err = valueInt64(vals[0])
			state, found = valueString(vals[1]), true
			return err
		})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("look up job %s: %w", root, err)
		}
		if !found {
			keepRows, keepRefs = append(keepRows, j), append(keepRefs, refs[i])
			continue
		}
		if !accepts(state, j.State) {
			// The root row keeps its guid, so the extras find no job
			// under the retry's.
			continue
		}
		r := refs[i]
		err = tx.exec(ctx, false, `UPDATE job SET guid = ?, push_id = ?, signature_id = ?, build_platform_id = ?,
			machine_platform_id = ?, machine_id = ?, option_collection_hash = ?, job_type_id = ?, job_group_id = ?,
			product_id = ?, who = ?, reason = ?, result = ?, submit_time = ?, start_time = ?, end_time = ?,
			last_modified = ?, tier = ?, state = ? WHERE id = ?`, []any{
			j.GUID, j.PushID, r.signature, r.buildPlatform, r.machinePlatform, r.machine, j.OptionCollection,
			r.jobType, r.jobGroup, r.product, j.Who, j.Reason, j.Result, j.SubmitTime, j.StartTime, j.EndTime,
			s.nowMicros(), int64(j.Tier), j.State, id})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("update job %s by root guid: %w", j.GUID, err)
		}
		moved = append(moved, movedJob{j, id})
	}
	if keepRows == nil {
		return rows, refs, nil, nil
	}
	return keepRows, keepRefs, moved, nil
}

// storeJobExtras adds job logs and Taskcluster metadata once per job. ids
// holds the rows' job ids where known (0 where not).
func (s *Store) storeJobExtras(ctx context.Context, tx jobTx, rows []*model.Job, ids []int64, logsByGUID map[string][]model.JobLog) error {
	var unknown []string
	for i, j := range rows {
		if ids[i] == 0 && (j.TaskID != "" || len(logsByGUID[j.GUID]) > 0) {
			unknown = append(unknown, j.GUID)
		}
	}
	if len(unknown) > 0 {
		found, err := jobIDs(ctx, tx, unknown)
		if err != nil {
			return err
		}
		for i, j := range rows {
			if ids[i] == 0 {
				ids[i] = found[j.GUID]
			}
		}
	}
	tcStep, logStep := chunkSize(s.d.maxParams, 3), chunkSize(s.d.maxParams, 4)
	args := make([]any, 0, max(tcStep*3, logStep*4))
	n := 0
	flush := func(q string, cols, step int, what string) error {
		if n == 0 {
			return nil
		}
		q = s.d.insertIgnore + q + placeholders(n, cols)
		if err := tx.exec(ctx, n == step, q, args); err != nil {
			return fmt.Errorf("insert %s: %w", what, err)
		}
		args, n = args[:0], 0
		return nil
	}
	const tcInsert = " INTO taskcluster_metadata (job_id, task_id, retry_id) VALUES "
	for i, j := range rows {
		if id := ids[i]; id != 0 && j.TaskID != "" {
			args = append(args, id, j.TaskID, int64(j.RetryID))
			if n++; n == tcStep {
				if err := flush(tcInsert, 3, tcStep, "taskcluster metadata"); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(tcInsert, 3, tcStep, "taskcluster metadata"); err != nil {
		return err
	}
	const logInsert = " INTO job_log (job_id, name, url, status) VALUES "
	for i, j := range rows {
		id := ids[i]
		if id == 0 {
			continue
		}
		for _, l := range logsByGUID[j.GUID] {
			args = append(args, id, l.Name, l.URL, int64(l.Status))
			if n++; n == logStep {
				if err := flush(logInsert, 4, logStep, "job logs"); err != nil {
					return err
				}
			}
		}
	}
	return flush(logInsert, 4, logStep, "job logs")
}

func jobIDs(ctx context.Context, tx jobTx, guids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(guids))
	for start := 0; start < len(guids); start += 500 {
		end := min(start+500, len(guids))
		err := tx.query(ctx, false, "SELECT id, guid FROM job WHERE guid IN "+inList(end-start), anySlice(guids[start:end]), func(vals []driver.Value) error {
			id, err := valueInt64(vals[0])
			out[valueString(vals[1])] = id
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("look up job ids: %w", err)
		}
	}
	return out, nil
}

// MarkSuperseded marks jobs superseded by a newer run, as Treeherder does
// for the guids a job datum lists.
func (s *Store) MarkSuperseded(ctx context.Context, guids []string) error {
	for start := 0; start < len(guids); start += 500 {
		end := min(start+500, len(guids))
		args := append([]any{sdk.ResultSuperseded, sdk.StateCompleted, s.nowMicros()}, anySlice(guids[start:end])...)
		if _, err := s.db.ExecContext(ctx, "UPDATE job SET result = ?, state = ?, last_modified = ? WHERE guid IN "+inList(end-start), args...); err != nil {
			return fmt.Errorf("mark superseded: %w", err)
		}
	}
	return nil
}

// JobsByGUID reads jobs back with their reference data and logs.
func (s *Store) JobsByGUID(ctx context.Context, guids []string) ([]model.Job, error) {
	var out []model.Job
	for start := 0; start < len(guids); start += 500 {
		end := min(start+500, len(guids))
		rows, err := s.db.QueryContext(ctx, `SELECT j.id, j.guid, j.repository_id, r.name, j.push_id, p.revision,
			rds.build_system_type, rds.name, rds.signature,
			bp.os_name, bp.platform, bp.architecture, mp.os_name, mp.platform, mp.architecture,
			m.name, pr.name, jt.name, jt.symbol, jg.name, jg.symbol, j.option_collection_hash,
			j.who, j.reason, j.result, j.state, j.tier, j.submit_time, j.start_time, j.end_time,
			j.last_modified, j.failure_classification_id, COALESCE(tc.task_id, ''), COALESCE(tc.retry_id, 0)
			FROM job j
			JOIN repository r ON r.id = j.repository_id
			JOIN push p ON p.id = j.push_id
			JOIN reference_data_signatures rds ON rds.id = j.signature_id
			JOIN build_platform bp ON bp.id = j.build_platform_id
			JOIN machine_platform mp ON mp.id = j.machine_platform_id
			JOIN machine m ON m.id = j.machine_id
			JOIN product pr ON pr.id = j.product_id
			JOIN job_type jt ON jt.id = j.job_type_id
			JOIN job_group jg ON jg.id = j.job_group_id
			LEFT JOIN taskcluster_metadata tc ON tc.job_id = j.id
			WHERE j.guid IN `+inList(end-start)+` ORDER BY j.id`, anySlice(guids[start:end])...)
		if err != nil {
			return nil, fmt.Errorf("read jobs: %w", err)
		}
		for rows.Next() {
			var j model.Job
			if err := rows.Scan(&j.ID, &j.GUID, &j.RepositoryID, &j.RepositoryName, &j.PushID, &j.PushRevision,
				&j.BuildSystemType, &j.ReferenceName, &j.Signature,
				&j.BuildPlatform.OSName, &j.BuildPlatform.Platform, &j.BuildPlatform.Architecture,
				&j.MachinePlatform.OSName, &j.MachinePlatform.Platform, &j.MachinePlatform.Architecture,
				&j.Machine, &j.Product, &j.JobType.Name, &j.JobType.Symbol, &j.JobGroup.Name, &j.JobGroup.Symbol,
				&j.OptionCollection, &j.Who, &j.Reason, &j.Result, &j.State, &j.Tier, &j.SubmitTime, &j.StartTime,
				&j.EndTime, &j.LastModified, &j.FailureClass, &j.TaskID, &j.RetryID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("scan job: %w", err)
			}
			out = append(out, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	idx := make(map[int64]int, len(out))
	ids := make([]any, len(out))
	for i, j := range out {
		idx[j.ID] = i
		ids[i] = j.ID
	}
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		rows, err := s.db.QueryContext(ctx, "SELECT id, job_id, name, url, status, status_reason, algorithm_version FROM job_log WHERE job_id IN "+inList(end-start)+" ORDER BY id", ids[start:end]...)
		if err != nil {
			return nil, fmt.Errorf("read job logs: %w", err)
		}
		for rows.Next() {
			var l model.JobLog
			if err := rows.Scan(&l.ID, &l.JobID, &l.Name, &l.URL, &l.Status, &l.StatusReason, &l.AlgorithmVersion); err != nil {
				rows.Close()
				return nil, err
			}
			out[idx[l.JobID]].Logs = append(out[idx[l.JobID]].Logs, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
