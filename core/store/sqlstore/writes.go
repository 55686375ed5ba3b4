package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// The classification writes: notes, bug links, internal issues and bulk
// unclassification (see store.Store's "Writes").

// internalIssueSummaryMax is bugscache.summary's width in characters.
const internalIssueSummaryMax = 255

// lockJob checks the job is the repository's and, on MySQL, locks its row
// for the transaction, so concurrent notes on one job cannot leave it with
// the classification of a note that is not the newest. SQLite transactions
// take the write lock when they begin (_txlock=immediate) and need no more.
func (s *Store) lockJob(ctx context.Context, tx *sql.Tx, repositoryID, jobID int64) error {
	q := "SELECT id FROM job WHERE id = ? AND repository_id = ?"
	if s.d.name == "mysql" {
		q += " FOR UPDATE"
	}
	var id int64
	err := tx.QueryRowContext(ctx, q, jobID, repositoryID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("job %d: %w", jobID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("look up job %d: %w", jobID, err)
	}
	return nil
}

// touchJobs bumps last_modified of jobs, strictly past its stored value even
// when the clock is behind it, so `last_modified__gt` polling sees the change.
func (s *Store) touchJobs(ctx context.Context, tx *sql.Tx, set string, setArgs []any, jobIDs []int64) error {
	now := s.nowMicros()
	q := "UPDATE job SET " + set + "last_modified = CASE WHEN last_modified >= ? THEN last_modified + 1 ELSE ? END WHERE id IN " + inList(len(jobIDs))
	args := append(append(append([]any{}, setArgs...), now, now), anySlice(jobIDs)...)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("update jobs: %w", err)
	}
	return nil
}

// reclassify is Treeherder's JobNote._update_failure_type: the job takes the
// classification of its newest note (by time, then id), or "not classified"
// when it has none.
func (s *Store) reclassify(ctx context.Context, tx *sql.Tx, jobID int64) error {
	fc := int64(model.FCNotClassified)
	err := tx.QueryRowContext(ctx, `SELECT failure_classification_id FROM job_note WHERE job_id = ?
		ORDER BY created DESC, id DESC LIMIT 1`, jobID).Scan(&fc)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("newest note of job %d: %w", jobID, err)
	}
	if err := s.touchJobs(ctx, tx, "failure_classification_id = ?, ", []any{fc}, []int64{jobID}); err != nil {
		return fmt.Errorf("classify job %d: %w", jobID, err)
	}
	return nil
}

func nullID(id int64) any {
	if id <= 0 {
		return nil
	}
	return id
}

// AddJobNote stores a note and reclassifies its job.
func (s *Store) AddJobNote(ctx context.Context, n store.NoteInput) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockJob(ctx, tx, n.RepositoryID, n.JobID); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM failure_classification WHERE id = ?", n.FailureClassificationID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("failure classification %d: %w", n.FailureClassificationID, store.ErrInvalid)
		}
		if err != nil {
			return fmt.Errorf("look up failure classification %d: %w", n.FailureClassificationID, err)
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO job_note (job_id, failure_classification_id, user_id, text, created) VALUES (?, ?, ?, ?, ?)",
			n.JobID, n.FailureClassificationID, nullID(n.UserID), n.Text, s.now().Unix())
		if err != nil {
			return fmt.Errorf("store note on job %d: %w", n.JobID, err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("note id: %w", err)
		}
		return s.reclassify(ctx, tx, n.JobID)
	})
	return id, err
}

// DeleteJobNote deletes a note and reclassifies its job.
func (s *Store) DeleteJobNote(ctx context.Context, repositoryID, noteID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var jobID int64
		err := tx.QueryRowContext(ctx, "SELECT n.job_id FROM job_note n JOIN job j ON j.id = n.job_id WHERE n.id = ? AND j.repository_id = ?",
			noteID, repositoryID).Scan(&jobID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("note %d: %w", noteID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("look up note %d: %w", noteID, err)
		}
		if err := s.lockJob(ctx, tx, repositoryID, jobID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM job_note WHERE id = ? AND job_id = ?", noteID, jobID)
		if err != nil {
			return fmt.Errorf("delete note %d: %w", noteID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("note %d: %w", noteID, store.ErrNotFound) // deleted meanwhile
		}
		return s.reclassify(ctx, tx, jobID)
	})
}

// bugRow resolves a bug reference to its bugscache id, creating a stub row
// for a Bugzilla bug the cache does not hold yet.
func (s *Store) bugRow(ctx context.Context, tx *sql.Tx, ref store.BugRef) (int64, error) {
	var id int64
	switch {
	case ref.BugzillaID > 0:
		// modified 0 and processed_update false: the next bug sync fetches
		// it, and data cycling may drop it once no job links to it.
		if _, err := tx.ExecContext(ctx, s.d.insertIgnore+` INTO bugscache (bugzilla_id, status, resolution, summary, dupe_of,
			crash_signature, keywords, modified, whiteboard, processed_update) VALUES (?, '', '', ?, NULL, '', '', 0, '', ?)`,
			ref.BugzillaID, store.StubBugSummary, false); err != nil {
			return 0, fmt.Errorf("cache bug %d: %w", ref.BugzillaID, err)
		}
		if err := tx.QueryRowContext(ctx, "SELECT id FROM bugscache WHERE bugzilla_id = ?", ref.BugzillaID).Scan(&id); err != nil {
			return 0, fmt.Errorf("look up bug %d: %w", ref.BugzillaID, err)
		}
	case ref.InternalID > 0:
		err := tx.QueryRowContext(ctx, "SELECT id FROM bugscache WHERE id = ?", ref.InternalID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("internal issue %d: %w", ref.InternalID, store.ErrInvalid)
		}
		if err != nil {
			return 0, fmt.Errorf("look up internal issue %d: %w", ref.InternalID, err)
		}
	default:
		return 0, fmt.Errorf("no bug id: %w", store.ErrInvalid)
	}
	return id, nil
}

// AddBugJobMap links a job to a bug.
func (s *Store) AddBugJobMap(ctx context.Context, m store.BugJobMapInput) (bool, error) {
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockJob(ctx, tx, m.RepositoryID, m.JobID); err != nil {
			return err
		}
		bug, err := s.bugRow(ctx, tx, m.Bug)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.d.insertIgnore+" INTO bug_job_map (job_id, bug_id, user_id, created, bug_open) VALUES (?, ?, ?, ?, ?)",
			m.JobID, bug, nullID(m.UserID), s.now().Unix(), m.BugOpen)
		if err != nil {
			return fmt.Errorf("link job %d to bug: %w", m.JobID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		created = true
		return s.touchJobs(ctx, tx, "", nil, []int64{m.JobID})
	})
	return created, err
}

// DeleteBugJobMap unlinks a job from a bug.
func (s *Store) DeleteBugJobMap(ctx context.Context, repositoryID, jobID int64, ref store.BugRef) (bool, error) {
	var deleted bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockJob(ctx, tx, repositoryID, jobID); err != nil {
			return err
		}
		var res sql.Result
		var err error
		switch {
		case ref.BugzillaID > 0:
			res, err = tx.ExecContext(ctx, "DELETE FROM bug_job_map WHERE job_id = ? AND bug_id IN (SELECT id FROM bugscache WHERE bugzilla_id = ?)",
				jobID, ref.BugzillaID)
		case ref.InternalID > 0:
			res, err = tx.ExecContext(ctx, "DELETE FROM bug_job_map WHERE job_id = ? AND bug_id = ?", jobID, ref.InternalID)
		default:
			return fmt.Errorf("no bug id: %w", store.ErrInvalid)
		}
		if err != nil {
			return fmt.Errorf("unlink job %d: %w", jobID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		deleted = true
		return s.touchJobs(ctx, tx, "", nil, []int64{jobID})
	})
	return deleted, err
}

// CreateInternalIssue finds or creates the internal issue with this summary.
func (s *Store) CreateInternalIssue(ctx context.Context, summary string) (store.InternalIssue, bool, error) {
	issue := store.InternalIssue{Summary: summary}
	if strings.TrimSpace(summary) == "" || !utf8.ValidString(summary) || utf8.RuneCountInString(summary) > internalIssueSummaryMax {
		return issue, false, fmt.Errorf("internal issue summary must be 1-%d characters of UTF-8: %w", internalIssueSummaryMax, store.ErrInvalid)
	}
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT id FROM bugscache WHERE bugzilla_id IS NULL AND summary = ? ORDER BY id LIMIT 1",
			summary).Scan(&issue.InternalID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up internal issue: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO bugscache (bugzilla_id, status, resolution, summary, dupe_of, crash_signature,
			keywords, modified, whiteboard, processed_update) VALUES (NULL, '', '', ?, NULL, '', '', ?, '', ?)`,
			summary, s.now().Unix(), true)
		if err != nil {
			return fmt.Errorf("create internal issue: %w", err)
		}
		if issue.InternalID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("internal issue id: %w", err)
		}
		created = true
		return nil
	})
	return issue, created, err
}

// UnclassifyJobs resets jobs to not classified, without notes or bug links.
func (s *Store) UnclassifyJobs(ctx context.Context, repositoryID int64, jobIDs []int64) (int64, error) {
	var total int64
	for start := 0; start < len(jobIDs); start += 500 {
		chunk := jobIDs[start:min(start+500, len(jobIDs))]
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			q := "SELECT id FROM job WHERE repository_id = ? AND id IN " + inList(len(chunk))
			if s.d.name == "mysql" {
				q += " FOR UPDATE"
			}
			rows, err := tx.QueryContext(ctx, q, append([]any{repositoryID}, anySlice(chunk)...)...)
			if err != nil {
				return fmt.Errorf("look up jobs: %w", err)
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("scan job id: %w", err)
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("look up jobs: %w", err)
			}
			if len(ids) == 0 {
				return nil
			}
			for _, table := range []string{"job_note", "bug_job_map"} {
				if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE job_id IN "+inList(len(ids)), anySlice(ids)...); err != nil {
					return fmt.Errorf("delete from %s: %w", table, err)
				}
			}
			if err := s.touchJobs(ctx, tx, "failure_classification_id = ?, ", []any{model.FCNotClassified}, ids); err != nil {
				return fmt.Errorf("unclassify jobs: %w", err)
			}
			total += int64(len(ids))
			return nil
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// SyncUser creates or updates a user as the identity provider describes it.
func (s *Store) SyncUser(ctx context.Context, username, email string, staff bool) (model.User, error) {
	u := model.User{Username: username, Email: email, IsStaff: staff}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.insertIgnore+" INTO `user` (username, email, is_staff, is_superuser, created) VALUES (?, ?, ?, ?, ?)",
			username, email, staff, false, s.now().Unix()); err != nil {
			return fmt.Errorf("create user %s: %w", username, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE `user` SET email = ?, is_staff = ? WHERE username = ?", email, staff, username); err != nil {
			return fmt.Errorf("update user %s: %w", username, err)
		}
		return tx.QueryRowContext(ctx, "SELECT id, email, is_staff, is_superuser FROM `user` WHERE username = ?", username).
			Scan(&u.ID, &u.Email, &u.IsStaff, &u.IsSuperuser)
	})
	if err != nil {
		return u, fmt.Errorf("sync user %s: %w", username, err)
	}
	return u, nil
}
