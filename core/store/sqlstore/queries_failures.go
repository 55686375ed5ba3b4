package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// who is how Treeherder names the author of a note or bug link: the user's
// email, or "autoclassifier" when no user made it.
func who(userID sql.NullInt64, email, username string) string {
	switch {
	case !userID.Valid:
		return "autoclassifier"
	case email != "":
		return email
	}
	return username
}

func (s *Store) JobNotes(ctx context.Context, jobIDs []int64) ([]store.JobNote, error) {
	var out []store.JobNote
	for start := 0; start < len(jobIDs); start += 500 {
		end := min(start+500, len(jobIDs))
		rows, err := s.db.QueryContext(ctx, `SELECT n.id, n.job_id, n.failure_classification_id, n.created, n.text,
			n.user_id, COALESCE(u.email, ''), COALESCE(u.username, '')
			FROM job_note n LEFT JOIN `+"`user`"+` u ON u.id = n.user_id
			WHERE n.job_id IN `+inList(end-start)+` ORDER BY n.id`, anySlice(jobIDs[start:end])...)
		if err != nil {
			return nil, fmt.Errorf("read notes: %w", err)
		}
		for rows.Next() {
			var n store.JobNote
			var uid sql.NullInt64
			var email, username string
			if err := rows.Scan(&n.ID, &n.JobID, &n.FailureClassificationID, &n.Created, &n.Text, &uid, &email, &username); err != nil {
				rows.Close()
				return nil, fmt.Errorf("scan note: %w", err)
			}
			n.Who = who(uid, email, username)
			out = append(out, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) BugJobMaps(ctx context.Context, jobIDs []int64) ([]store.BugJobMap, error) {
	return s.bugJobMaps(ctx, 0, jobIDs)
}

// RepositoryBugJobMaps lists the bug links of those of the jobs that belong
// to the repository, in one query (the API's bug-job-map/ filters by the
// project in its path).
func (s *Store) RepositoryBugJobMaps(ctx context.Context, repositoryID int64, jobIDs []int64) ([]store.BugJobMap, error) {
	return s.bugJobMaps(ctx, repositoryID, jobIDs)
}

func (s *Store) bugJobMaps(ctx context.Context, repositoryID int64, jobIDs []int64) ([]store.BugJobMap, error) {
	var out []store.BugJobMap
	for start := 0; start < len(jobIDs); start += 500 {
		end := min(start+500, len(jobIDs))
		query := `SELECT m.job_id, b.bugzilla_id, m.bug_id, m.created,
			m.user_id, COALESCE(u.email, ''), COALESCE(u.username, '')
			FROM bug_job_map m JOIN bugscache b ON b.id = m.bug_id LEFT JOIN ` + "`user`" + ` u ON u.id = m.user_id`
		args := anySlice(jobIDs[start:end])
		run := s.db.QueryContext
		if repositoryID != 0 {
			query += " JOIN job j ON j.id = m.job_id AND j.repository_id = ?"
			args = append([]any{repositoryID}, args...)
		}
		if end-start == 1 {
			run = s.queryPrepared
		}
		rows, err := run(ctx, query+" WHERE m.job_id IN "+inList(end-start)+" ORDER BY m.id", args...)
		if err != nil {
			return nil, fmt.Errorf("read bug links: %w", err)
		}
		for rows.Next() {
			var m store.BugJobMap
			var bug, uid sql.NullInt64
			var email, username string
			if err := rows.Scan(&m.JobID, &bug, &m.BugInternalID, &m.Created, &uid, &email, &username); err != nil {
				rows.Close()
				return nil, fmt.Errorf("scan bug link: %w", err)
			}
			if bug.Valid {
				m.BugID = &bug.Int64
			}
			m.Who = who(uid, email, username)
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// failureWhere selects bug links by push time, repositories and bug.
func failureWhere(q store.FailureQuery) (string, []any) {
	parts := []string{"p.time >= ?", "p.time < ?"}
	args := []any{q.From, q.To}
	if q.RepositoryIDs != nil {
		part, vals, _ := comparison("j.repository_id", store.OpIn, anySlice(q.RepositoryIDs))
		parts, args = append(parts, part), append(args, vals...)
	}
	if q.BugID != nil {
		parts, args = append(parts, "b.bugzilla_id = ?"), append(args, *q.BugID)
	}
	return " WHERE " + strings.Join(parts, " AND "), args
}

const failureFrom = ` FROM bug_job_map m JOIN bugscache b ON b.id = m.bug_id
	JOIN job j ON j.id = m.job_id JOIN push p ON p.id = j.push_id`

func (s *Store) FailureCountsByBug(ctx context.Context, q store.FailureQuery) ([]store.BugCount, error) {
	where, args := failureWhere(q)
	rows, err := s.db.QueryContext(ctx, "SELECT m.bug_id, b.bugzilla_id, COUNT(m.job_id) AS n"+failureFrom+where+
		" GROUP BY m.bug_id, b.bugzilla_id ORDER BY n DESC, m.bug_id", args...)
	if err != nil {
		return nil, fmt.Errorf("count failures by bug: %w", err)
	}
	defer rows.Close()
	var out []store.BugCount
	for rows.Next() {
		var c store.BugCount
		var bug sql.NullInt64
		if err := rows.Scan(&c.BugInternalID, &bug, &c.Count); err != nil {
			return nil, fmt.Errorf("scan failure count: %w", err)
		}
		if bug.Valid {
			c.BugID = &bug.Int64
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) FailuresByBug(ctx context.Context, q store.FailureQuery) ([]store.BugFailure, error) {
	where, args := failureWhere(q)
	rows, err := s.db.QueryContext(ctx, `SELECT p.time, mp.platform, p.revision, rds.job_type_name, r.name,
		j.option_collection_hash, j.id, b.bugzilla_id, mc.name, COALESCE(tc.task_id, '')`+failureFrom+`
		JOIN repository r ON r.id = j.repository_id
		JOIN machine_platform mp ON mp.id = j.machine_platform_id
		JOIN reference_data_signatures rds ON rds.id = j.signature_id
		JOIN machine mc ON mc.id = j.machine_id
		LEFT JOIN taskcluster_metadata tc ON tc.job_id = j.id`+where+` ORDER BY p.time DESC, j.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("failures by bug: %w", err)
	}
	var out []store.BugFailure
	var hashes []string
	idx := map[int64][]int{}
	for rows.Next() {
		var f store.BugFailure
		var bug sql.NullInt64
		var hash string
		if err := rows.Scan(&f.PushTime, &f.Platform, &f.Revision, &f.TestSuite, &f.Tree, &hash, &f.JobID, &bug, &f.MachineName, &f.TaskID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan failure: %w", err)
		}
		if bug.Valid {
			f.BugID = &bug.Int64
		}
		f.BuildType = hash // resolved below
		f.Lines = []string{}
		hashes = append(hashes, hash)
		idx[f.JobID] = append(idx[f.JobID], len(out))
		out = append(out, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	if err := s.warm(ctx, refIDs{hashes: hashes}); err != nil {
		return nil, err
	}
	c := s.reads()
	c.mu.RLock()
	for i := range out {
		// Treeherder names the build type after the first option of the
		// collection, or "unknown".
		if names := c.options[out[i].BuildType]; len(names) > 0 {
			out[i].BuildType = names[0]
		} else {
			out[i].BuildType = "unknown"
		}
	}
	c.mu.RUnlock()
	jobIDs := make([]int64, 0, len(idx))
	for id := range idx {
		jobIDs = append(jobIDs, id)
	}
	for start := 0; start < len(jobIDs); start += 500 {
		end := min(start+500, len(jobIDs))
		lrows, err := s.db.QueryContext(ctx, "SELECT job_id, line FROM text_log_error WHERE job_id IN "+inList(end-start)+
			" AND line LIKE '%TEST-UNEXPECTED-FAIL%' ORDER BY id", anySlice(jobIDs[start:end])...)
		if err != nil {
			return nil, fmt.Errorf("read failure lines: %w", err)
		}
		for lrows.Next() {
			var id int64
			var line string
			if err := lrows.Scan(&id, &line); err != nil {
				lrows.Close()
				return nil, fmt.Errorf("scan failure line: %w", err)
			}
			for _, i := range idx[id] {
				out[i].Lines = append(out[i].Lines, line)
			}
		}
		lrows.Close()
		if err := lrows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// day renders the UTC day of unix seconds; "d DIV 86400" on MySQL and "d /
// 86400" on SQLite are the same integer day number.
func (s *Store) dayNumber(col string) string {
	if s.d.name == "mysql" {
		return "(" + col + " DIV 86400)"
	}
	return "(" + col + " / 86400)"
}

func (s *Store) FailureCounts(ctx context.Context, q store.FailureQuery) ([]store.DayCount, error) {
	pushWhere := "p.time >= ? AND p.time < ?"
	args := []any{q.From, q.To}
	if q.RepositoryIDs != nil {
		part, vals, _ := comparison("p.repository_id", store.OpIn, anySlice(q.RepositoryIDs))
		pushWhere += " AND " + part
		args = append(args, vals...)
	}
	day := s.dayNumber("p.time")
	rows, err := s.db.QueryContext(ctx, "SELECT "+day+" AS d, COUNT(*) FROM push p WHERE "+pushWhere+" GROUP BY d ORDER BY d", args...)
	if err != nil {
		return nil, fmt.Errorf("count pushes by day: %w", err)
	}
	var out []store.DayCount
	byDay := map[int64]int{}
	for rows.Next() {
		var d, n int64
		if err := rows.Scan(&d, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan push count: %w", err)
		}
		byDay[d] = len(out)
		out = append(out, store.DayCount{Day: time.Unix(d*86400, 0).UTC().Format("2006-01-02"), TestRuns: n})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var query string
	if q.BugID != nil {
		where, fargs := failureWhere(q)
		query, args = "SELECT "+day+" AS d, COUNT(*)"+failureFrom+where+" GROUP BY d", fargs
	} else {
		jobWhere := "p.time >= ? AND p.time < ? AND j.failure_classification_id = ?"
		args = []any{q.From, q.To, model.FCIntermittent}
		if q.RepositoryIDs != nil {
			part, vals, _ := comparison("j.repository_id", store.OpIn, anySlice(q.RepositoryIDs))
			jobWhere += " AND " + part
			args = append(args, vals...)
		}
		query = "SELECT " + day + " AS d, COUNT(*) FROM job j JOIN push p ON p.id = j.push_id WHERE " + jobWhere + " GROUP BY d"
	}
	frows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("count failures by day: %w", err)
	}
	defer frows.Close()
	for frows.Next() {
		var d, n int64
		if err := frows.Scan(&d, &n); err != nil {
			return nil, fmt.Errorf("scan failure count: %w", err)
		}
		// A day without pushes has no failures: they are counted by push time.
		if i, ok := byDay[d]; ok {
			out[i].FailureCount = n
		}
	}
	return out, frows.Err()
}

func (s *Store) PerformanceSignatures(ctx context.Context, q store.PerfSignatureQuery) ([]store.PerfSignature, error) {
	parts := []string{"s.repository_id = ?"}
	args := []any{q.RepositoryID}
	add := func(part string, vals []any) { parts, args = append(parts, part), append(args, vals...) }
	if q.IDs != nil {
		part, vals, _ := comparison("s.id", store.OpIn, anySlice(q.IDs))
		add(part, vals)
	}
	if q.Hashes != nil {
		part, vals, _ := comparison("s.signature_hash", store.OpIn, anySlice(q.Hashes))
		add(part, vals)
	}
	if q.ParentHashes != nil {
		part, vals, _ := comparison("ps.signature_hash", store.OpIn, anySlice(q.ParentHashes))
		add(part, vals)
	}
	if q.Frameworks != nil {
		part, vals, _ := comparison("s.framework_id", store.OpIn, anySlice(q.Frameworks))
		add(part, vals)
	}
	if q.Platform != "" {
		add("mp.platform = ?", []any{q.Platform})
	}
	if q.NoSubtests {
		add("s.parent_signature_id IS NULL", nil)
	}
	if q.UpdatedAfter != nil {
		add("s.last_updated >= ?", []any{*q.UpdatedAfter})
	}
	if q.UpdatedBefore != nil {
		add("s.last_updated <= ?", []any{*q.UpdatedBefore})
	}
	rows, err := s.db.QueryContext(ctx, `SELECT s.id, s.signature_hash, s.framework_id, s.option_collection_hash,
		mp.platform, s.suite, s.test, s.application, s.lower_is_better, s.has_subtests, s.tags, s.extra_options,
		COALESCE(s.measurement_unit, ''), COALESCE(ps.signature_hash, ''), s.should_alert, s.alert_change_type,
		s.alert_threshold, s.min_back_window, s.max_back_window, s.fore_window
		FROM performance_signature s JOIN machine_platform mp ON mp.id = s.platform_id
		LEFT JOIN performance_signature ps ON ps.id = s.parent_signature_id
		WHERE `+strings.Join(parts, " AND ")+` ORDER BY s.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read performance signatures: %w", err)
	}
	defer rows.Close()
	var out []store.PerfSignature
	for rows.Next() {
		var p store.PerfSignature
		var shouldAlert sql.NullBool
		var changeType, minBack, maxBack, fore sql.NullInt64
		var threshold sql.NullFloat64
		if err := rows.Scan(&p.ID, &p.Hash, &p.FrameworkID, &p.OptionCollectionHash, &p.MachinePlatform, &p.Suite,
			&p.Test, &p.Application, &p.LowerIsBetter, &p.HasSubtests, &p.Tags, &p.ExtraOptions, &p.MeasurementUnit,
			&p.ParentHash, &shouldAlert, &changeType, &threshold, &minBack, &maxBack, &fore); err != nil {
			return nil, fmt.Errorf("scan performance signature: %w", err)
		}
		if shouldAlert.Valid {
			p.ShouldAlert = &shouldAlert.Bool
		}
		p.AlertChangeType = nullInt(changeType)
		p.MinBackWindow, p.MaxBackWindow, p.ForeWindow = nullInt(minBack), nullInt(maxBack), nullInt(fore)
		if threshold.Valid {
			p.AlertThreshold = &threshold.Float64
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func nullInt(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

func (s *Store) PerformanceData(ctx context.Context, q store.PerfDataQuery) ([]store.PerfDatum, error) {
	parts := []string{"d.repository_id = ?"}
	args := []any{q.RepositoryID}
	add := func(part string, vals []any) { parts, args = append(parts, part), append(args, vals...) }
	in := func(col string, vals []any) {
		part, v, _ := comparison(col, store.OpIn, vals)
		add(part, v)
	}
	if q.SignatureIDs != nil {
		in("d.signature_id", anySlice(q.SignatureIDs))
	}
	if q.SignatureHashes != nil {
		in("s.signature_hash", anySlice(q.SignatureHashes))
	}
	if q.PushIDs != nil {
		in("d.push_id", anySlice(q.PushIDs))
	}
	if q.JobIDs != nil {
		in("d.job_id", anySlice(q.JobIDs))
	}
	if q.Frameworks != nil {
		in("s.framework_id", anySlice(q.Frameworks))
	}
	if q.After != nil {
		add("d.push_timestamp > ?", []any{*q.After})
	}
	if q.Before != nil {
		add("d.push_timestamp < ?", []any{*q.Before})
	}
	rows, err := s.db.QueryContext(ctx, `SELECT d.id, d.signature_id, s.signature_hash, d.job_id, d.push_id,
		p.revision, d.push_timestamp, d.value
		FROM performance_datum d JOIN performance_signature s ON s.id = d.signature_id
		JOIN push p ON p.id = d.push_id
		WHERE `+strings.Join(parts, " AND ")+` ORDER BY d.push_timestamp, d.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read performance data: %w", err)
	}
	defer rows.Close()
	var out []store.PerfDatum
	for rows.Next() {
		var d store.PerfDatum
		var job sql.NullInt64
		if err := rows.Scan(&d.ID, &d.SignatureID, &d.SignatureHash, &job, &d.PushID, &d.Revision, &d.PushTimestamp, &d.Value); err != nil {
			return nil, fmt.Errorf("scan performance datum: %w", err)
		}
		d.JobID = nullInt(job)
		out = append(out, d)
	}
	return out, rows.Err()
}
