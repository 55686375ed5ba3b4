package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/herder-ci/herder/core/store"
)

// CycleJobs is Treeherder's cycle_data for jobs: per repository, jobs
// submitted before the cutoff go in chunks of ChunkSize, each chunk its own
// short transaction (their failure lines first, then the jobs, whose logs,
// error lines, notes, classifications and suggestions cascade). Treeherder
// walks job ids and stops at the first chunk holding a young job; herder
// walks (repository, submit_time), so a young job with a low id does not
// shelter older ones. Pushes stay, as in Treeherder.
//
// A dry run counts what would go instead.
func (s *Store) CycleJobs(ctx context.Context, opts store.CycleOptions) (store.CycleReport, error) {
	var rep store.CycleReport
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 100
	}
	now := opts.Now
	if now == 0 {
		now = s.now().Unix()
	}
	repos, err := s.Repositories(ctx)
	if err != nil {
		return rep, err
	}
	for _, r := range repos {
		days := opts.Days
		if d, ok := opts.RepositoryDays[r.Name]; ok {
			days = d
		}
		if days <= 0 {
			continue
		}
		cutoff := now - int64(days)*86400
		prog := store.CycleProgress{Repository: r.Name, Cutoff: cutoff}
		if opts.DryRun {
			var jobs, lines int64
			if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM job WHERE repository_id = ? AND submit_time < ?", r.ID, cutoff).Scan(&jobs); err != nil {
				return rep, fmt.Errorf("count old jobs of %s: %w", r.Name, err)
			}
			if jobs > 0 {
				if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM failure_line f JOIN job j ON j.guid = f.job_guid
					WHERE j.repository_id = ? AND j.submit_time < ?`, r.ID, cutoff).Scan(&lines); err != nil {
					return rep, fmt.Errorf("count old failure lines of %s: %w", r.Name, err)
				}
			}
			rep.Jobs += jobs
			rep.FailureLines += lines
			prog.Jobs, prog.Done = jobs, true
			if opts.Progress != nil {
				opts.Progress(prog)
			}
			continue
		}
		for {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			rows, err := s.db.QueryContext(ctx, `SELECT id, guid FROM job WHERE repository_id = ? AND submit_time < ?
				ORDER BY submit_time, id LIMIT ?`, r.ID, cutoff, opts.ChunkSize)
			if err != nil {
				return rep, fmt.Errorf("find old jobs of %s: %w", r.Name, err)
			}
			var ids []int64
			var guids []any
			for rows.Next() {
				var id int64
				var guid string
				if err := rows.Scan(&id, &guid); err != nil {
					rows.Close()
					return rep, err
				}
				ids = append(ids, id)
				guids = append(guids, guid)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return rep, err
			}
			if len(ids) == 0 {
				if opts.Progress != nil && prog.Jobs > 0 {
					prog.Done = true
					opts.Progress(prog)
				}
				break
			}
			err = s.inTx(ctx, func(tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, "DELETE FROM failure_line WHERE job_guid IN "+inList(len(guids)), guids...)
				if err != nil {
					return fmt.Errorf("delete failure lines: %w", err)
				}
				n, _ := res.RowsAffected()
				rep.FailureLines += n
				res, err = tx.ExecContext(ctx, "DELETE FROM job WHERE id IN "+inList(len(ids)), anySlice(ids)...)
				if err != nil {
					return fmt.Errorf("delete jobs: %w", err)
				}
				n, _ = res.RowsAffected()
				rep.Jobs += n
				prog.Jobs += n
				return nil
			})
			if err != nil {
				return rep, fmt.Errorf("cycle %s: %w", r.Name, err)
			}
			if opts.Progress != nil {
				opts.Progress(prog)
			}
			if opts.Sleep > 0 {
				select {
				case <-ctx.Done():
					return rep, ctx.Err()
				case <-time.After(opts.Sleep):
				}
			}
		}
	}
	return rep, nil
}

// orphanTables are the reference tables Treeherder prunes, with the columns
// that keep a row alive.
var orphanTables = []struct {
	table string
	users []string // "table.column" referencing the row's id
}{
	{"job_type", []string{"job.job_type_id"}},
	{"job_group", []string{"job.job_group_id"}},
	{"machine", []string{"job.machine_id"}},
	{"build_platform", []string{"job.build_platform_id"}},
	{"machine_platform", []string{"job.machine_platform_id", "performance_signature.platform_id"}},
	{"test_group", []string{"group_status.group_id"}},
}

// PruneOrphans deletes reference rows no job (or, for platforms, no
// performance signature; for groups, no group result) uses any more, in
// chunks, and returns how many went per table. With dryRun it only counts.
// The in-process caches are reset afterwards, since a deleted id may be
// handed out again; other processes learn of it through the returned
// generation (see PruneGeneration).
func (s *Store) PruneOrphans(ctx context.Context, dryRun bool) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range orphanTables {
		used := map[int64]bool{}
		for _, u := range t.users {
			tbl, col := splitRef(u)
			// One scan per user column: a NOT EXISTS per row would scan the
			// job table once per reference row on columns without an index.
			set, err := s.bugsInt64Set(ctx, "SELECT DISTINCT "+col+" FROM "+tbl)
			if err != nil {
				return out, fmt.Errorf("ids used in %s: %w", u, err)
			}
			for id := range set {
				used[id] = true
			}
		}
		all, err := bugsInt64s(ctx, s.db, "SELECT id FROM "+t.table+" ORDER BY id")
		if err != nil {
			return out, fmt.Errorf("ids of %s: %w", t.table, err)
		}
		var orphans []int64
		for _, id := range all {
			if !used[id] {
				orphans = append(orphans, id)
			}
		}
		if dryRun {
			out[t.table] = int64(len(orphans))
			continue
		}
		for start := 0; start < len(orphans); start += 500 {
			chunk := orphans[start:min(start+500, len(orphans))]
			// Rows referenced through a foreign key are re-checked in the
			// statement (those columns are indexed), so a group result or
			// signature stored since the scan does not fail the delete. The
			// job columns have no index to re-check with cheaply: a job
			// stored in the few seconds since the scan with a long-unused
			// job type is the one race left.
			q := "DELETE FROM " + t.table + " WHERE id IN " + inList(len(chunk))
			for _, u := range t.users {
				tbl, col := splitRef(u)
				if tbl != "job" {
					q += " AND NOT EXISTS (SELECT 1 FROM " + tbl + " x WHERE x." + col + " = " + t.table + ".id)"
				}
			}
			res, err := s.db.ExecContext(ctx, q, anySlice(chunk)...)
			if err != nil {
				return out, fmt.Errorf("prune %s: %w", t.table, err)
			}
			n, _ := res.RowsAffected()
			out[t.table] += n
		}
	}
	if !dryRun {
		s.ResetCaches()
		s.ResetReadCache()
		if err := s.bumpPruneGeneration(ctx); err != nil {
			return out, err
		}
	}
	return out, nil
}

func splitRef(u string) (table, column string) {
	for i := 0; i < len(u); i++ {
		if u[i] == '.' {
			return u[:i], u[i+1:]
		}
	}
	return u, "id"
}

const pruneGenerationKey = "refdata.prune_generation"

func (s *Store) bumpPruneGeneration(ctx context.Context) error {
	g, err := s.PruneGeneration(ctx)
	if err != nil {
		return err
	}
	return s.SetMaintenanceState(ctx, pruneGenerationKey, strconv.FormatInt(g+1, 10))
}

// PruneGeneration counts reference-data prunes so far. A process that sees
// it change resets its caches: ids it cached may be gone.
func (s *Store) PruneGeneration(ctx context.Context) (int64, error) {
	v, ok, err := s.MaintenanceState(ctx, pruneGenerationKey)
	if err != nil || !ok {
		return 0, err
	}
	g, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("prune generation %q: %w", v, err)
	}
	return g, nil
}
