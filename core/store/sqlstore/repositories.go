package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/herder-ci/herder/core/model"
)

// UpsertRepositories writes groups and repositories one row at a time: there
// are a few hundred at most, and a row-by-row upsert lets a seed row keep the
// id Treeherder hard-codes (mozilla-central=1, try=4) without ever taking an
// id another repository already holds.
func (s *Store) UpsertRepositories(ctx context.Context, groups []model.RepositoryGroup, repos []model.Repository) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		groupIDs := map[string]int64{}
		for _, g := range groups {
			id, err := upsertNamed(ctx, tx, "repository_group", g.ID, g.Name,
				[]string{"description"}, []any{g.Description})
			if err != nil {
				return fmt.Errorf("repository group %s: %w", g.Name, err)
			}
			groupIDs[g.Name] = id
		}
		for _, r := range repos {
			gid, ok := groupIDs[r.Group.Name]
			if !ok {
				err := tx.QueryRowContext(ctx, "SELECT id FROM repository_group WHERE name = ?", r.Group.Name).Scan(&gid)
				if err != nil {
					return fmt.Errorf("repository %s: group %q: %w", r.Name, r.Group.Name, err)
				}
			}
			var lco any
			if r.LifeCycleOrder != nil {
				lco = *r.LifeCycleOrder
			}
			id, err := upsertNamed(ctx, tx, "repository", r.ID, r.Name,
				[]string{"repository_group_id", "dvcs_type", "url", "codebase", "description", "active_status",
					"life_cycle_order", "performance_alerts_enabled", "expire_performance_data", "is_try_repo",
					"tc_root_url", "accepts_pull_requests"},
				[]any{gid, r.DVCSType, r.URL, r.Codebase, r.Description, orDefault(r.ActiveStatus, "active"),
					lco, r.PerformanceAlertsEnabled, r.ExpirePerformanceData, r.IsTryRepo,
					r.TCRootURL, r.AcceptsPullRequests})
			if err != nil {
				return fmt.Errorf("repository %s: %w", r.Name, err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM repository_branch WHERE repository_id = ?", id); err != nil {
				return fmt.Errorf("repository %s: clear branches: %w", r.Name, err)
			}
			for _, b := range r.Branches {
				if _, err := tx.ExecContext(ctx, "INSERT INTO repository_branch (repository_id, branch) VALUES (?, ?)", id, b); err != nil {
					return fmt.Errorf("repository %s: branch %s: %w", r.Name, b, err)
				}
			}
		}
		return nil
	})
}

// upsertNamed updates the row with this name or inserts it, with wantID when
// that id is free.
func upsertNamed(ctx context.Context, tx *sql.Tx, table string, wantID int64, name string, cols []string, vals []any) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM "+table+" WHERE name = ?", name).Scan(&id)
	switch {
	case err == nil:
		set := ""
		for i, c := range cols {
			if i > 0 {
				set += ", "
			}
			set += c + " = ?"
		}
		_, err = tx.ExecContext(ctx, "UPDATE "+table+" SET "+set+" WHERE id = ?", append(vals, id)...)
		return id, err
	case !notFound(err):
		return 0, err
	}
	if wantID > 0 {
		var taken int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE id = ?", wantID).Scan(&taken)
		if notFound(err) {
			cols = append([]string{"id"}, cols...)
			vals = append([]any{wantID}, vals...)
		} else if err != nil {
			return 0, err
		}
	}
	cols = append(cols, "name")
	vals = append(vals, name)
	colList := ""
	for i, c := range cols {
		if i > 0 {
			colList += ", "
		}
		colList += c
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO "+table+" ("+colList+") VALUES "+placeholders(1, len(cols)), vals...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Store) Repositories(ctx context.Context) ([]model.Repository, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.name, r.dvcs_type, r.url, r.codebase, r.description,
		r.active_status, r.life_cycle_order, r.performance_alerts_enabled, r.expire_performance_data,
		r.is_try_repo, r.tc_root_url, r.accepts_pull_requests, g.id, g.name, g.description
		FROM repository r JOIN repository_group g ON g.id = r.repository_group_id ORDER BY r.id`)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	defer rows.Close()
	var out []model.Repository
	byID := map[int64]int{}
	for rows.Next() {
		var r model.Repository
		var lco sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Name, &r.DVCSType, &r.URL, &r.Codebase, &r.Description,
			&r.ActiveStatus, &lco, &r.PerformanceAlertsEnabled, &r.ExpirePerformanceData,
			&r.IsTryRepo, &r.TCRootURL, &r.AcceptsPullRequests, &r.Group.ID, &r.Group.Name, &r.Group.Description); err != nil {
			return nil, fmt.Errorf("scan repository: %w", err)
		}
		if lco.Valid {
			v := int(lco.Int64)
			r.LifeCycleOrder = &v
		}
		byID[r.ID] = len(out)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	brows, err := s.db.QueryContext(ctx, "SELECT repository_id, branch FROM repository_branch ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	defer brows.Close()
	for brows.Next() {
		var id int64
		var b string
		if err := brows.Scan(&id, &b); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			out[i].Branches = append(out[i].Branches, b)
		}
	}
	return out, brows.Err()
}
