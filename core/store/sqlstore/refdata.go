package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/herder-ci/herder/core/model"
)

// refCache keeps reference data ids in memory. Reference rows are few (tens
// of thousands at Mozilla's scale) and never change once written, so after
// warm-up a job batch resolves them without touching the database: this is
// where Treeherder spends ~20 ms per request joining job types.
type refCache struct {
	mu   sync.RWMutex
	maps map[string]map[string]int64
	// known option collection hashes
	optionSets map[string]bool
}

func newRefCache() *refCache {
	return &refCache{maps: map[string]map[string]int64{}, optionSets: map[string]bool{}}
}

func (c *refCache) get(table, key string) (int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.maps[table][key]
	return id, ok
}

func (c *refCache) put(table, key string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.maps[table]
	if m == nil {
		m = map[string]int64{}
		c.maps[table] = m
	}
	m[key] = id
}

// Reset forgets every cached id; data cycling calls it after pruning
// reference rows.
func (s *Store) ResetCaches() {
	s.refs.mu.Lock()
	s.refs.maps = map[string]map[string]int64{}
	s.refs.optionSets = map[string]bool{}
	s.refs.mu.Unlock()
}

// refID returns the id of the reference row with these unique column
// values, creating the row (with extra columns) when missing.
func (s *Store) refID(ctx context.Context, table string, keyCols []string, keyVals []any, extraCols []string, extraVals []any) (int64, error) {
	var kb strings.Builder
	for _, v := range keyVals {
		fmt.Fprintf(&kb, "%v\x00", v)
	}
	key := kb.String()
	if id, ok := s.refs.get(table, key); ok {
		return id, nil
	}
	where := strings.Join(keyCols, " = ? AND ") + " = ?"
	var id int64
	err := s.db.QueryRowContext(ctx, "SELECT id FROM "+table+" WHERE "+where, keyVals...).Scan(&id)
	if notFound(err) {
		cols := append(append([]string{}, keyCols...), extraCols...)
		vals := append(append([]any{}, keyVals...), extraVals...)
		q := s.d.insertIgnore + " INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + placeholders(1, len(cols))
		if _, err := s.db.ExecContext(ctx, q, vals...); err != nil {
			return 0, fmt.Errorf("create %s: %w", table, err)
		}
		err = s.db.QueryRowContext(ctx, "SELECT id FROM "+table+" WHERE "+where, keyVals...).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("look up %s: %w", table, err)
	}
	s.refs.put(table, key, id)
	return id, nil
}

// jobRefs are the reference ids of one job row.
type jobRefs struct {
	signature, buildPlatform, machinePlatform, machine, jobType, jobGroup, product int64
}

func (s *Store) resolveRefs(ctx context.Context, j *model.Job) (jobRefs, error) {
	var r jobRefs
	var err error
	plat := func(table string, p model.Platform) (int64, error) {
		return s.refID(ctx, table, []string{"os_name", "platform", "architecture"},
			[]any{p.OSName, p.Platform, p.Architecture}, nil, nil)
	}
	if r.buildPlatform, err = plat("build_platform", j.BuildPlatform); err != nil {
		return r, err
	}
	if r.machinePlatform, err = plat("machine_platform", j.MachinePlatform); err != nil {
		return r, err
	}
	if r.machine, err = s.refID(ctx, "machine", []string{"name"}, []any{j.Machine}, nil, nil); err != nil {
		return r, err
	}
	if r.product, err = s.refID(ctx, "product", []string{"name"}, []any{j.Product}, nil, nil); err != nil {
		return r, err
	}
	if r.jobType, err = s.refID(ctx, "job_type", []string{"name", "symbol"}, []any{j.JobType.Name, j.JobType.Symbol},
		[]string{"description"}, []any{""}); err != nil {
		return r, err
	}
	if r.jobGroup, err = s.refID(ctx, "job_group", []string{"name", "symbol"}, []any{j.JobGroup.Name, j.JobGroup.Symbol},
		[]string{"description"}, []any{""}); err != nil {
		return r, err
	}
	if err = s.ensureOptionCollection(ctx, j.OptionCollection, j.Options); err != nil {
		return r, err
	}
	r.signature, err = s.refID(ctx, "reference_data_signatures",
		[]string{"name", "signature", "build_system_type", "repository"},
		[]any{j.ReferenceName, j.Signature, j.BuildSystemType, j.RepositoryName},
		[]string{"build_os_name", "build_platform", "build_architecture", "machine_os_name", "machine_platform",
			"machine_architecture", "job_group_name", "job_group_symbol", "job_type_name", "job_type_symbol",
			"option_collection_hash", "first_submission_timestamp"},
		[]any{j.BuildPlatform.OSName, j.BuildPlatform.Platform, j.BuildPlatform.Architecture,
			j.MachinePlatform.OSName, j.MachinePlatform.Platform, j.MachinePlatform.Architecture,
			j.JobGroup.Name, j.JobGroup.Symbol, j.JobType.Name, j.JobType.Symbol,
			j.OptionCollection, s.now().Unix()})
	return r, err
}

// ensureOptionCollection writes the option rows and the collection's
// membership rows the first time a hash is seen.
func (s *Store) ensureOptionCollection(ctx context.Context, hash string, options []string) error {
	s.refs.mu.RLock()
	known := s.refs.optionSets[hash]
	s.refs.mu.RUnlock()
	if known {
		return nil
	}
	for _, name := range options {
		optID, err := s.refID(ctx, "`option`", []string{"name"}, []any{name}, nil, nil)
		if err != nil {
			return err
		}
		if _, err := s.db.ExecContext(ctx, s.d.insertIgnore+" INTO option_collection (option_collection_hash, option_id) VALUES (?, ?)", hash, optID); err != nil {
			return fmt.Errorf("create option collection %s: %w", hash, err)
		}
	}
	s.refs.mu.Lock()
	s.refs.optionSets[hash] = true
	s.refs.mu.Unlock()
	return nil
}

// nowMicros is the last_modified clock.
func (s *Store) nowMicros() int64 { return s.now().UnixMicro() }
