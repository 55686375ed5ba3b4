package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/core/perf"
)

var _ perf.Store = (*Store)(nil)

// SeedPerfFrameworks inserts the frameworks that are missing, by id; rows
// already there (an operator may have enabled or disabled one) are kept.
func (s *Store) SeedPerfFrameworks(ctx context.Context, fws []perf.Framework) error {
	if len(fws) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(fws))
	for _, f := range fws {
		args = append(args, f.ID, f.Name, f.Enabled)
	}
	q := s.d.insertIgnore + " INTO performance_framework (id, name, enabled) VALUES " + placeholders(len(fws), 3)
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("seed performance frameworks: %w", err)
	}
	return nil
}

// PerfFrameworks lists the performance frameworks by id.
func (s *Store) PerfFrameworks(ctx context.Context) ([]perf.Framework, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, enabled FROM performance_framework ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read performance frameworks: %w", err)
	}
	defer rows.Close()
	var out []perf.Framework
	for rows.Next() {
		var f perf.Framework
		if err := rows.Scan(&f.ID, &f.Name, &f.Enabled); err != nil {
			return nil, fmt.Errorf("scan performance framework: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// PerfJob returns what storing a job's performance data needs: its
// repository, push and push time, and its machine platform and option
// collection hash (the reference data signature's, as Treeherder reads
// them).
func (s *Store) PerfJob(ctx context.Context, jobID int64) (perf.Job, error) {
	var j perf.Job
	err := s.db.QueryRowContext(ctx, `SELECT j.id, j.repository_id, j.push_id, p.time, j.machine_platform_id,
		COALESCE(rds.machine_platform, mp.platform), COALESCE(rds.option_collection_hash, j.option_collection_hash)
		FROM job j JOIN push p ON p.id = j.push_id JOIN machine_platform mp ON mp.id = j.machine_platform_id
		LEFT JOIN reference_data_signatures rds ON rds.id = j.signature_id
		WHERE j.id = ?`, jobID).Scan(&j.ID, &j.RepositoryID, &j.PushID, &j.PushTime, &j.MachinePlatformID,
		&j.MachinePlatform, &j.OptionCollectionHash)
	if err != nil {
		if notFound(err) {
			return perf.Job{}, fmt.Errorf("job %d: not found", jobID)
		}
		return perf.Job{}, fmt.Errorf("read job %d for performance data: %w", jobID, err)
	}
	return j, nil
}

// perfSignatureCols are written on insert; all but the key are updated when
// the signature exists (Treeherder's update_or_create with the same
// defaults), last_updated only forwards.
var perfSignatureCols = []string{"repository_id", "framework_id", "application", "signature_hash", "platform_id",
	"option_collection_hash", "suite", "test", "parent_signature_id", "has_subtests", "tags", "extra_options",
	"measurement_unit", "lower_is_better", "should_alert", "alert_change_type", "alert_threshold",
	"min_back_window", "max_back_window", "fore_window", "last_updated"}

func (s *Store) perfSignatureUpsert() string {
	var sets []string
	for _, c := range perfSignatureCols[4:] {
		switch {
		case c == "last_updated" && s.d.name == "mysql":
			sets = append(sets, "last_updated = GREATEST(last_updated, VALUES(last_updated))")
		case c == "last_updated":
			sets = append(sets, "last_updated = MAX(last_updated, excluded.last_updated)")
		case s.d.name == "mysql":
			sets = append(sets, fmt.Sprintf("%s = VALUES(%s)", c, c))
		default:
			sets = append(sets, fmt.Sprintf("%s = excluded.%s", c, c))
		}
	}
	if s.d.name == "mysql" {
		return "ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	}
	return "ON CONFLICT (repository_id, framework_id, application, signature_hash) DO UPDATE SET " + strings.Join(sets, ", ")
}

// StorePerfSeries creates or updates the series' signatures, summary
// signatures before their subtests, and adds one data point per series for
// the job unless it has one already (Treeherder's get_or_create). It
// returns how many data points were added.
func (s *Store) StorePerfSeries(ctx context.Context, job perf.Job, series []perf.Series) (int64, error) {
	type sigKey struct {
		framework int64
		app, hash string
	}
	// One row per signature: the first series wins, as Treeherder's
	// get_or_create keeps the first datum of a signature.
	var parents, children []perf.Series
	seen := map[sigKey]bool{}
	for _, sr := range series {
		k := sigKey{sr.FrameworkID, sr.Application, sr.Hash}
		if seen[k] {
			continue
		}
		seen[k] = true
		if sr.ParentHash == "" {
			parents = append(parents, sr)
		} else {
			children = append(children, sr)
		}
	}
	var added int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ids := map[sigKey]int64{}
		upsert := func(rows []perf.Series) error {
			const cols = 21
			step := chunkSize(s.d.maxParams, cols)
			for start := 0; start < len(rows); start += step {
				chunk := rows[start:min(start+step, len(rows))]
				args := make([]any, 0, len(chunk)*cols)
				for _, sr := range chunk {
					var parent any
					if sr.ParentHash != "" {
						id, ok := ids[sigKey{sr.FrameworkID, sr.Application, sr.ParentHash}]
						if !ok {
							return fmt.Errorf("performance signature %s: parent %s not stored", sr.Hash, sr.ParentHash)
						}
						parent = id
					}
					args = append(args, job.RepositoryID, sr.FrameworkID, sr.Application, sr.Hash, job.MachinePlatformID,
						job.OptionCollectionHash, sr.Suite, sr.Test, parent, sr.HasSubtests, perfCut(sr.Tags, 360),
						perfCut(sr.ExtraOptions, 360), perfCutPtr(sr.MeasurementUnit, 50), sr.LowerIsBetter, sr.ShouldAlert,
						sr.AlertChangeType, sr.AlertThreshold, sr.MinBackWindow, sr.MaxBackWindow, sr.ForeWindow, job.PushTime)
				}
				q := "INSERT INTO performance_signature (" + strings.Join(perfSignatureCols, ", ") + ") VALUES " +
					placeholders(len(chunk), cols) + " " + s.perfSignatureUpsert()
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					return fmt.Errorf("store performance signatures: %w", err)
				}
				if err := s.readSignatureIDs(ctx, tx, job.RepositoryID, chunk, func(fw int64, app, hash string, id int64) {
					ids[sigKey{fw, app, hash}] = id
				}); err != nil {
					return err
				}
			}
			return nil
		}
		if err := upsert(parents); err != nil {
			return err
		}
		if err := upsert(children); err != nil {
			return err
		}
		all := append(parents, children...)
		const cols = 6
		step := chunkSize(s.d.maxParams, cols)
		for start := 0; start < len(all); start += step {
			chunk := all[start:min(start+step, len(all))]
			args := make([]any, 0, len(chunk)*cols)
			for _, sr := range chunk {
				args = append(args, job.RepositoryID, ids[sigKey{sr.FrameworkID, sr.Application, sr.Hash}], job.ID,
					job.PushID, job.PushTime, sr.Value)
			}
			q := s.d.insertIgnore + " INTO performance_datum (repository_id, signature_id, job_id, push_id, push_timestamp, value) VALUES " +
				placeholders(len(chunk), cols)
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("store performance data: %w", err)
			}
			n, _ := res.RowsAffected()
			added += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

func (s *Store) readSignatureIDs(ctx context.Context, tx *sql.Tx, repo int64, rows []perf.Series, put func(fw int64, app, hash string, id int64)) error {
	hashes := make([]any, len(rows))
	for i, sr := range rows {
		hashes[i] = sr.Hash
	}
	q := "SELECT id, framework_id, application, signature_hash FROM performance_signature WHERE repository_id = ? AND signature_hash IN " +
		inList(len(hashes))
	res, err := tx.QueryContext(ctx, q, append([]any{repo}, hashes...)...)
	if err != nil {
		return fmt.Errorf("read performance signature ids: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var id, fw int64
		var app, hash string
		if err := res.Scan(&id, &fw, &app, &hash); err != nil {
			return fmt.Errorf("scan performance signature id: %w", err)
		}
		put(fw, app, hash, id)
	}
	return res.Err()
}

func perfCut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func perfCutPtr(s *string, n int) any {
	if s == nil {
		return nil
	}
	return perfCut(*s, n)
}
