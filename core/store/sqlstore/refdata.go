package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/herder-ci/herder/core/model"
)

// refCache keeps reference data ids in memory. Reference rows are few (tens
// of thousands at Mozilla's scale) and never change once written, so after
// warm-up a job batch resolves them without touching the database: this is
// where Treeherder spends ~20 ms per request joining job types.
type refCache struct {
	mu sync.RWMutex
	// maps holds per table the ids by key (see appendKey).
	maps map[string]map[string]int64
	// known option collection hashes
	optionSets map[string]bool
}

func newRefCache() *refCache {
	return &refCache{maps: map[string]map[string]int64{}, optionSets: map[string]bool{}}
}

// appendKey appends a key column to a cache key: the columns joined with
// NULs, which reference names never hold. Keys are built in a reused buffer
// and looked up as m[string(buf)], which does not allocate.
func appendKey(buf []byte, col string) []byte {
	return append(append(buf, col...), 0)
}

func (c *refCache) get(table string, key string) (int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.maps[table][key]
	return id, ok
}

func (c *refCache) put(table string, key string, id int64) {
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
	key := refKey(keyVals)
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

// refKey is the cache key of a row's key values; reference keys are strings.
func refKey(vals []any) string {
	var k []byte
	for _, v := range vals {
		if str, ok := v.(string); ok {
			k = appendKey(k, str)
		} else {
			k = appendKey(k, fmt.Sprint(v))
		}
	}
	return string(k)
}

// refIDs resolves many reference rows at once: cached ids first, then one
// multi-row INSERT IGNORE and one SELECT for all the misses of a batch, so a
// push with thousands of new job types costs a few statements, not three
// round trips per type. rows hold the key values followed by the extra values.
func (s *Store) refIDs(ctx context.Context, table string, keyCols, extraCols []string, rows [][]any) ([]int64, error) {
	nk := len(keyCols)
	return s.refIDsOf(ctx, table, keyCols, extraCols, len(rows),
		func(buf []byte, i int) []byte { return append(buf, refKey(rows[i][:nk])...) },
		func(i int) []any { return rows[i] })
}

// refIDsOf is refIDs over n rows given by functions: key appends a row's
// cache key (see appendKey) to a buffer and row gives its values (keys,
// then extras). row is called only for rows the cache misses, so a warm
// batch allocates nothing per row.
func (s *Store) refIDsOf(ctx context.Context, table string, keyCols, extraCols []string, n int,
	key func(buf []byte, i int) []byte, row func(i int) []any) ([]int64, error) {
	ids := make([]int64, n)
	var missIdx []int
	var buf []byte
	s.refs.mu.RLock()
	cached := s.refs.maps[table]
	for i := 0; i < n; i++ {
		// Rows of a batch often repeat the previous row's value.
		prev := len(buf)
		buf = key(buf, i)
		if i > 0 && ids[i-1] != 0 && string(buf[:prev]) == string(buf[prev:]) {
			ids[i] = ids[i-1]
		} else if id, ok := cached[string(buf[prev:])]; ok {
			ids[i] = id
		} else {
			missIdx = append(missIdx, i)
		}
		buf = append(buf[:0], buf[prev:]...)
	}
	s.refs.mu.RUnlock()
	if len(missIdx) == 0 {
		return ids, nil
	}
	nk := len(keyCols)
	type miss struct {
		key string
		row []any
	}
	var missing []miss
	seen := map[string]bool{}
	for _, i := range missIdx {
		if k := string(key(nil, i)); !seen[k] {
			seen[k] = true
			missing = append(missing, miss{k, row(i)})
		}
	}
	// Concurrent writers insert in the same key order, so they queue on
	// each other's locks instead of deadlocking.
	sort.Slice(missing, func(i, j int) bool { return missing[i].key < missing[j].key })
	cols := append(append([]string{}, keyCols...), extraCols...)
	step := chunkSize(s.d.maxParams, len(cols))
	for start := 0; start < len(missing); start += step {
		part := missing[start:min(start+step, len(missing))]
		args := make([]any, 0, len(part)*len(cols))
		for _, m := range part {
			args = append(args, m.row...)
		}
		q := s.d.insertIgnore + " INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + placeholders(len(part), len(cols))
		if err := retryDeadlock(ctx, func() error {
			_, err := s.db.ExecContext(ctx, q, args...)
			return err
		}); err != nil {
			return nil, fmt.Errorf("create %s: %w", table, err)
		}
		args = args[:0]
		for _, m := range part {
			args = append(args, m.row[:nk]...)
		}
		q = "SELECT id, " + strings.Join(keyCols, ", ") + " FROM " + table +
			" WHERE (" + strings.Join(keyCols, ", ") + ") IN (" + placeholders(len(part), nk) + ")"
		sqlRows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", table, err)
		}
		for sqlRows.Next() {
			var id int64
			k := make([]string, nk)
			dest := []any{&id}
			for c := range k {
				dest = append(dest, &k[c])
			}
			if err := sqlRows.Scan(dest...); err != nil {
				sqlRows.Close()
				return nil, fmt.Errorf("scan %s: %w", table, err)
			}
			s.refs.put(table, refKey(anySlice(k)), id)
		}
		sqlRows.Close()
		if err := sqlRows.Err(); err != nil {
			return nil, err
		}
	}
	for _, i := range missIdx {
		if id, ok := s.refs.get(table, string(key(nil, i))); ok {
			ids[i] = id
			continue
		}
		// MySQL compares VARCHARs ignoring trailing spaces, so a stored
		// "x" answers for "x ": look that one up on its own.
		r := row(i)
		id, err := s.refID(ctx, table, keyCols, r[:nk], extraCols, r[nk:])
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// refStep resolves one reference table's ids for a batch of jobs.
type refStep struct {
	table string
	keys  []string
	extra []string
	key   func(b []byte, j *model.Job) []byte
	row   func(j *model.Job) []any
	set   func(r *jobRefs, id int64)
}

// resolveRefs fills the reference ids of a batch of jobs.
func (s *Store) resolveRefs(ctx context.Context, jobs []*model.Job) ([]jobRefs, error) {
	refs := make([]jobRefs, len(jobs))
	platformKey := func(b []byte, p model.Platform) []byte {
		return appendKey(appendKey(appendKey(b, p.OSName), p.Platform), p.Architecture)
	}
	steps := []refStep{
		{"build_platform", []string{"os_name", "platform", "architecture"}, nil,
			func(b []byte, j *model.Job) []byte { return platformKey(b, j.BuildPlatform) },
			func(j *model.Job) []any { p := j.BuildPlatform; return []any{p.OSName, p.Platform, p.Architecture} },
			func(r *jobRefs, id int64) { r.buildPlatform = id }},
		{"machine_platform", []string{"os_name", "platform", "architecture"}, nil,
			func(b []byte, j *model.Job) []byte { return platformKey(b, j.MachinePlatform) },
			func(j *model.Job) []any { p := j.MachinePlatform; return []any{p.OSName, p.Platform, p.Architecture} },
			func(r *jobRefs, id int64) { r.machinePlatform = id }},
		{"machine", []string{"name"}, nil,
			func(b []byte, j *model.Job) []byte { return appendKey(b, j.Machine) },
			func(j *model.Job) []any { return []any{j.Machine} },
			func(r *jobRefs, id int64) { r.machine = id }},
		{"product", []string{"name"}, nil,
			func(b []byte, j *model.Job) []byte { return appendKey(b, j.Product) },
			func(j *model.Job) []any { return []any{j.Product} },
			func(r *jobRefs, id int64) { r.product = id }},
		{"job_type", []string{"name", "symbol"}, []string{"description"},
			func(b []byte, j *model.Job) []byte { return appendKey(appendKey(b, j.JobType.Name), j.JobType.Symbol) },
			func(j *model.Job) []any { return []any{j.JobType.Name, j.JobType.Symbol, ""} },
			func(r *jobRefs, id int64) { r.jobType = id }},
		{"job_group", []string{"name", "symbol"}, []string{"description"},
			func(b []byte, j *model.Job) []byte {
				return appendKey(appendKey(b, j.JobGroup.Name), j.JobGroup.Symbol)
			},
			func(j *model.Job) []any { return []any{j.JobGroup.Name, j.JobGroup.Symbol, ""} },
			func(r *jobRefs, id int64) { r.jobGroup = id }},
		{"reference_data_signatures", []string{"name", "signature", "build_system_type", "repository"},
			[]string{"build_os_name", "build_platform", "build_architecture", "machine_os_name", "machine_platform",
				"machine_architecture", "job_group_name", "job_group_symbol", "job_type_name", "job_type_symbol",
				"option_collection_hash", "first_submission_timestamp"},
			func(b []byte, j *model.Job) []byte {
				return appendKey(appendKey(appendKey(appendKey(b, j.ReferenceName), j.Signature), j.BuildSystemType), j.RepositoryName)
			},
			func(j *model.Job) []any {
				return []any{j.ReferenceName, j.Signature, j.BuildSystemType, j.RepositoryName,
					j.BuildPlatform.OSName, j.BuildPlatform.Platform, j.BuildPlatform.Architecture,
					j.MachinePlatform.OSName, j.MachinePlatform.Platform, j.MachinePlatform.Architecture,
					j.JobGroup.Name, j.JobGroup.Symbol, j.JobType.Name, j.JobType.Symbol,
					j.OptionCollection, s.now().Unix()}
			},
			func(r *jobRefs, id int64) { r.signature = id }},
	}
	// The tables are resolved by two goroutines: a warm batch is map
	// lookups, which the second core halves (new rows are inserted in key
	// order per table, as before).
	resolve := func(steps []refStep) error {
		for _, st := range steps {
			ids, err := s.refIDsOf(ctx, st.table, st.keys, st.extra, len(jobs),
				func(b []byte, i int) []byte { return st.key(b, jobs[i]) },
				func(i int) []any { return st.row(jobs[i]) })
			if err != nil {
				return err
			}
			for i, id := range ids {
				st.set(&refs[i], id)
			}
		}
		return nil
	}
	half := 4 // the platforms, machine and product against the rest
	if len(jobs) < 100 {
		half = 0
	}
	errc := make(chan error, 1)
	go func() { errc <- resolve(steps[:half]) }()
	err := resolve(steps[half:])
	if err2 := <-errc; err == nil {
		err = err2
	}
	if err != nil {
		return nil, err
	}
	var last string
	for i, j := range jobs {
		// A batch's jobs mostly share a few option collections.
		if i > 0 && j.OptionCollection == last {
			continue
		}
		last = j.OptionCollection
		if err := s.ensureOptionCollection(ctx, j.OptionCollection, j.Options); err != nil {
			return nil, err
		}
	}
	return refs, nil
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
