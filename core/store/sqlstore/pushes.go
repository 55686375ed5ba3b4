package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/core/model"
)

// StorePushes upserts pushes by (repository, revision), as Treeherder's
// update_or_create does, then adds commits that are not stored yet.
func (s *Store) StorePushes(ctx context.Context, pushes []model.Push) error {
	if len(pushes) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		const cols = 5
		step := chunkSize(s.d.maxParams, cols)
		for start := 0; start < len(pushes); start += step {
			end := min(start+step, len(pushes))
			args := make([]any, 0, (end-start)*cols)
			for _, p := range pushes[start:end] {
				var branch any
				if p.Branch != "" {
					branch = p.Branch
				}
				args = append(args, p.RepositoryID, p.Revision, p.Author, p.Time, branch)
			}
			q := "INSERT INTO push (repository_id, revision, author, time, branch) VALUES " +
				placeholders(end-start, cols) + " " + s.d.pushUpsert
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("upsert pushes: %w", err)
			}
		}
		// Resolve ids per repository, then insert the commits.
		byRepo := map[int64][]int{}
		for i, p := range pushes {
			byRepo[p.RepositoryID] = append(byRepo[p.RepositoryID], i)
		}
		for repoID, idx := range byRepo {
			revs := make([]string, len(idx))
			for i, j := range idx {
				revs[i] = pushes[j].Revision
			}
			ids, err := pushIDs(ctx, tx, repoID, revs, false)
			if err != nil {
				return err
			}
			for _, j := range idx {
				pushes[j].ID = ids[pushes[j].Revision]
			}
		}
		var args []any
		n := 0
		flush := func() error {
			if n == 0 {
				return nil
			}
			q := s.d.insertIgnore + " INTO `commit` (push_id, revision, author, comments) VALUES " + placeholders(n, 4)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("insert commits: %w", err)
			}
			args, n = args[:0], 0
			return nil
		}
		commitStep := chunkSize(s.d.maxParams, 4)
		for _, p := range pushes {
			for _, c := range p.Commits {
				args = append(args, p.ID, c.Revision, c.Author, c.Comments)
				if n++; n == commitStep {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		return flush()
	})
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// pushIDs maps revisions to push ids; with prefix, short revisions match as
// prefixes of stored ones.
func pushIDs(ctx context.Context, q querier, repoID int64, revisions []string, prefix bool) (map[string]int64, error) {
	out := make(map[string]int64, len(revisions))
	var exact []string
	for _, r := range revisions {
		if prefix && len(r) < 40 {
			rows, err := q.QueryContext(ctx, "SELECT id FROM push WHERE repository_id = ? AND revision LIKE ? ESCAPE '=' ORDER BY id LIMIT 1",
				repoID, likePrefix(r))
			if err != nil {
				return nil, fmt.Errorf("look up push %s: %w", r, err)
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return nil, err
				}
				out[r] = id
			}
			rows.Close()
			continue
		}
		exact = append(exact, r)
	}
	for start := 0; start < len(exact); start += 500 {
		end := min(start+500, len(exact))
		rows, err := q.QueryContext(ctx, "SELECT id, revision FROM push WHERE repository_id = ? AND revision IN "+inList(end-start),
			append([]any{repoID}, anySlice(exact[start:end])...)...)
		if err != nil {
			return nil, fmt.Errorf("look up pushes: %w", err)
		}
		for rows.Next() {
			var id int64
			var rev string
			if err := rows.Scan(&id, &rev); err != nil {
				rows.Close()
				return nil, err
			}
			out[rev] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// likePrefix escapes LIKE's wildcards with '=' (the one escape character
// MySQL and SQLite read alike) so a revision matches literally.
func likePrefix(s string) string {
	r := strings.NewReplacer(`=`, `==`, `%`, `=%`, `_`, `=_`)
	return r.Replace(s) + "%"
}

func (s *Store) PushIDs(ctx context.Context, repositoryID int64, revisions []string) (map[string]int64, error) {
	return pushIDs(ctx, s.db, repositoryID, revisions, true)
}

func (s *Store) Pushes(ctx context.Context, repositoryID int64, limit int) ([]model.Push, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, repository_id, revision, author, time, COALESCE(branch, '')
		FROM push WHERE repository_id = ? ORDER BY time DESC, id DESC LIMIT ?`, repositoryID, limit)
	if err != nil {
		return nil, fmt.Errorf("list pushes: %w", err)
	}
	defer rows.Close()
	var out []model.Push
	idx := map[int64]int{}
	for rows.Next() {
		var p model.Push
		if err := rows.Scan(&p.ID, &p.RepositoryID, &p.Revision, &p.Author, &p.Time, &p.Branch); err != nil {
			return nil, err
		}
		idx[p.ID] = len(out)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, 0, len(out))
	for _, p := range out {
		ids = append(ids, p.ID)
	}
	crows, err := s.db.QueryContext(ctx, "SELECT push_id, revision, author, comments FROM `commit` WHERE push_id IN "+inList(len(ids))+" ORDER BY id", ids...)
	if err != nil {
		return nil, fmt.Errorf("list commits: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var pid int64
		var c model.Commit
		if err := crows.Scan(&pid, &c.Revision, &c.Author, &c.Comments); err != nil {
			return nil, err
		}
		out[idx[pid]].Commits = append(out[idx[pid]].Commits, c)
	}
	return out, crows.Err()
}
