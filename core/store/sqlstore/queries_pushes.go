package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// likeContains escapes a substring for "LOWER(col) LIKE ? ESCAPE '='"; the
// columns use a binary collation on MySQL, so both sides are lowered.
func likeContains(s string) string {
	r := strings.NewReplacer(`=`, `==`, `%`, `=%`, `_`, `=_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// QueryPushes lists pushes newest first, with their newest 20 commits and
// commit counts, in three queries whatever the page size.
func (s *Store) QueryPushes(ctx context.Context, q store.PushQuery) ([]store.PushRecord, error) {
	var parts []string
	var args []any
	if q.RepositoryID != 0 {
		parts = append(parts, "p.repository_id = ?")
		args = append(args, q.RepositoryID)
	}
	if q.Revision != "" {
		if len(q.Revision) < 40 {
			parts = append(parts, "p.revision LIKE ? ESCAPE '='")
			args = append(args, likePrefix(q.Revision))
		} else {
			parts = append(parts, "p.revision = ?")
			args = append(args, q.Revision)
		}
	}
	if q.CommitRevision != "" {
		// The first commit stored with this revision names the push, as
		// Treeherder's Commit.objects.filter(revision=...).first() does.
		parts = append(parts, "p.id = (SELECT MIN(c.push_id) FROM `commit` c WHERE c.revision = ?)")
		args = append(args, q.CommitRevision)
	}
	for _, c := range q.Time {
		part, vals, err := comparison("p.time", c.Op, []any{c.Value})
		if err != nil {
			return nil, fmt.Errorf("query pushes: %w", err)
		}
		parts, args = append(parts, part), append(args, vals...)
	}
	for _, c := range q.ID {
		part, vals, err := comparison("p.id", c.Op, []any{c.Value})
		if err != nil {
			return nil, fmt.Errorf("query pushes: %w", err)
		}
		parts, args = append(parts, part), append(args, vals...)
	}
	if q.IDIn != nil {
		part, vals, _ := comparison("p.id", store.OpIn, anySlice(q.IDIn))
		parts, args = append(parts, part), append(args, vals...)
	}
	if q.Author != "" {
		op := "="
		if q.ExcludeAuthor {
			op = "<>"
		}
		parts = append(parts, "LOWER(p.author) "+op+" ?")
		args = append(args, strings.ToLower(q.Author))
	}
	if q.AuthorContains != "" {
		parts = append(parts, "LOWER(p.author) LIKE ? ESCAPE '='")
		args = append(args, likeContains(q.AuthorContains))
	}
	if q.HideReviewbot {
		parts = append(parts, "p.author <> 'reviewbot'")
	}
	if q.Search != "" {
		pat := likeContains(q.Search)
		parts = append(parts, "(LOWER(p.revision) LIKE ? ESCAPE '=' OR LOWER(p.author) LIKE ? ESCAPE '='"+
			" OR EXISTS (SELECT 1 FROM `commit` c WHERE c.push_id = p.id AND LOWER(c.comments) LIKE ? ESCAPE '='))")
		args = append(args, pat, pat, pat)
	}
	query := "SELECT p.id, p.repository_id, p.revision, p.author, p.time, COALESCE(p.branch, '') FROM push p"
	if len(parts) > 0 {
		query += " WHERE " + strings.Join(parts, " AND ")
	}
	query += " ORDER BY p.time DESC, p.id DESC"
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return s.readPushes(ctx, query, args)
}

func (s *Store) readPushes(ctx context.Context, query string, args []any) ([]store.PushRecord, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query pushes: %w", err)
	}
	var out []store.PushRecord
	idx := map[int64]int{}
	for rows.Next() {
		var p store.PushRecord
		if err := rows.Scan(&p.ID, &p.RepositoryID, &p.Revision, &p.Author, &p.Time, &p.Branch); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan push: %w", err)
		}
		idx[p.ID] = len(out)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query pushes: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]any, len(out))
	for i, p := range out {
		ids[i] = p.ID
	}
	// Every commit of the page's pushes, newest first per push: counted for
	// revision_count, the newest 20 kept. One indexed range read is cheaper
	// for the database than a COUNT plus a ROW_NUMBER() window, and pushes
	// hold at most a few hundred commits (Treeherder keeps 200).
	crows, err := s.db.QueryContext(ctx, "SELECT push_id, revision, author, comments FROM `commit` WHERE push_id IN "+inList(len(ids))+
		" ORDER BY push_id, id DESC", ids...)
	if err != nil {
		return nil, fmt.Errorf("read commits: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var id int64
		var c model.Commit
		if err := crows.Scan(&id, &c.Revision, &c.Author, &c.Comments); err != nil {
			return nil, fmt.Errorf("scan commit: %w", err)
		}
		p := &out[idx[id]]
		p.RevisionCount++
		if len(p.Commits) < 20 {
			p.Commits = append(p.Commits, c)
		}
	}
	return out, crows.Err()
}

func (s *Store) PushByID(ctx context.Context, repositoryID, id int64) (store.PushRecord, error) {
	query := "SELECT p.id, p.repository_id, p.revision, p.author, p.time, COALESCE(p.branch, '') FROM push p WHERE p.id = ?"
	args := []any{id}
	if repositoryID != 0 {
		query += " AND p.repository_id = ?"
		args = append(args, repositoryID)
	}
	out, err := s.readPushes(ctx, query, args)
	if err != nil {
		return store.PushRecord{}, err
	}
	if len(out) == 0 {
		return store.PushRecord{}, fmt.Errorf("push %d: %w", id, store.ErrNotFound)
	}
	return out[0], nil
}

func (s *Store) PushExists(ctx context.Context, repositoryID, id int64) (bool, error) {
	rows, err := s.queryPrepared(ctx, "SELECT 1 FROM push WHERE id = ? AND repository_id = ?", id, repositoryID)
	if err != nil {
		return false, fmt.Errorf("look up push %d: %w", id, err)
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}

// PushTime finds a push's time by revision; a short revision matches the
// oldest push it prefixes.
func (s *Store) PushTime(ctx context.Context, repositoryID int64, revision string) (int64, error) {
	query := "SELECT time FROM push WHERE repository_id = ? AND revision = ?"
	arg := revision
	if len(revision) < 40 {
		query = "SELECT time FROM push WHERE repository_id = ? AND revision LIKE ? ESCAPE '=' ORDER BY id LIMIT 1"
		arg = likePrefix(revision)
	}
	var t int64
	err := s.db.QueryRowContext(ctx, query, repositoryID, arg).Scan(&t)
	if notFound(err) {
		return 0, fmt.Errorf("push %s: %w", revision, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("look up push %s: %w", revision, err)
	}
	return t, nil
}

// PushStatus counts jobs as Treeherder's Push.get_status does: tier 3 and
// classified jobs are left out. The query groups by every column it looks
// at and filters here, so it reads only ix_job_push_status (a filter on the
// classification in SQL tempts MySQL into a scan of its foreign key index).
// A repositoryID of 0 counts the pushes whatever their repository: callers
// that know the pushes' repository (the push list) save the check, which for
// several pushes turns MySQL's streamed GROUP BY on the index into a
// temporary table (18 ms instead of 6 for ten pushes of 3,000 jobs).
func (s *Store) PushStatus(ctx context.Context, repositoryID int64, pushIDs []int64) (map[int64][]store.StateCount, error) {
	out := make(map[int64][]store.StateCount, len(pushIDs))
	if len(pushIDs) == 0 {
		return out, nil
	}
	ids := anySlice(pushIDs)
	where := "push_id IN " + inList(len(pushIDs))
	args := ids
	if repositoryID != 0 {
		where += " AND push_id IN (SELECT id FROM push WHERE id IN " + inList(len(pushIDs)) + " AND repository_id = ?)"
		args = append(append(append([]any{}, ids...), ids...), repositoryID)
	}
	run := s.db.QueryContext
	if len(pushIDs) == 1 {
		run = s.queryPrepared
	}
	rows, err := run(ctx, `SELECT push_id, state, result, tier, failure_classification_id, COUNT(*) FROM job
		WHERE `+where+`
		GROUP BY push_id, state, result, tier, failure_classification_id
		ORDER BY push_id, state, result`, args...)
	if err != nil {
		return nil, fmt.Errorf("push status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, tier, fc int64
		var c store.StateCount
		if err := rows.Scan(&id, &c.State, &c.Result, &tier, &fc, &c.Count); err != nil {
			return nil, fmt.Errorf("scan push status: %w", err)
		}
		if tier == 3 || fc != model.FCNotClassified {
			continue
		}
		if n := len(out[id]); n > 0 && out[id][n-1].State == c.State && out[id][n-1].Result == c.Result {
			out[id][n-1].Count += c.Count
			continue
		}
		out[id] = append(out[id], c)
	}
	return out, rows.Err()
}
