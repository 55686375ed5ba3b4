package sqlstore

import (
	"context"
	"fmt"

	"github.com/herder-ci/herder/core/model"
)

// ParkJobs stores jobs that wait for their push.
func (s *Store) ParkJobs(ctx context.Context, jobs []model.ParkedJob) error {
	const cols = 6
	step := chunkSize(s.d.maxParams, cols)
	for start := 0; start < len(jobs); start += step {
		end := min(start+step, len(jobs))
		args := make([]any, 0, (end-start)*cols)
		for _, j := range jobs[start:end] {
			args = append(args, j.RepositoryID, j.Revision, j.GUID, j.Source, s.now().UnixMicro(), j.Payload)
		}
		q := "INSERT INTO parked_job (repository_id, revision, guid, source, parked, payload) VALUES " + placeholders(end-start, cols)
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("park jobs: %w", err)
		}
	}
	return nil
}

// ParkedRevisions lists the (repository, revision) pairs jobs wait for.
func (s *Store) ParkedRevisions(ctx context.Context) ([]model.RepoRevision, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT repository_id, revision FROM parked_job")
	if err != nil {
		return nil, fmt.Errorf("list parked revisions: %w", err)
	}
	defer rows.Close()
	var out []model.RepoRevision
	for rows.Next() {
		var rr model.RepoRevision
		if err := rows.Scan(&rr.RepositoryID, &rr.Revision); err != nil {
			return nil, err
		}
		out = append(out, rr)
	}
	return out, rows.Err()
}

// ParkedJobs returns the jobs waiting for one push, oldest first.
func (s *Store) ParkedJobs(ctx context.Context, repositoryID int64, revision string) ([]model.ParkedJob, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, repository_id, revision, guid, source, parked, payload
		FROM parked_job WHERE repository_id = ? AND revision = ? ORDER BY id`, repositoryID, revision)
	if err != nil {
		return nil, fmt.Errorf("list parked jobs: %w", err)
	}
	defer rows.Close()
	var out []model.ParkedJob
	for rows.Next() {
		var j model.ParkedJob
		if err := rows.Scan(&j.ID, &j.RepositoryID, &j.Revision, &j.GUID, &j.Source, &j.Parked, &j.Payload); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// DeleteParked removes parked jobs once they are stored.
func (s *Store) DeleteParked(ctx context.Context, ids []int64) error {
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		if _, err := s.db.ExecContext(ctx, "DELETE FROM parked_job WHERE id IN "+inList(end-start), anySlice(ids[start:end])...); err != nil {
			return fmt.Errorf("delete parked jobs: %w", err)
		}
	}
	return nil
}
