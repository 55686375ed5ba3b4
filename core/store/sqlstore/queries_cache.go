package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"weak"

	"github.com/herder-ci/herder/core/model"
)

// readCache maps reference ids to their values for the API's reads. A job row
// names its job type, group, platforms, machine, product and signature by
// id; those rows never change once written, so after warm-up a page of jobs
// is served by one indexed query on job and map lookups here, instead of the
// eight joins Treeherder pays for on every request.
type readCache struct {
	mu               sync.RWMutex
	jobTypes         map[int64]namedRef
	jobGroups        map[int64]namedRef
	buildPlatforms   map[int64]model.Platform
	machinePlatforms map[int64]model.Platform
	machines         map[int64]string
	products         map[int64]string
	signatures       map[int64]signatureRef
	repos            map[int64]string
	// options maps an option collection hash to its option names.
	options map[string][]string
	// pushRevisions caches push id -> revision; a push's revision never
	// changes. Bounded: cleared when it grows past maxPushRevisions.
	pushRevisions map[int64]string
}

const maxPushRevisions = 200_000

type namedRef struct{ name, symbol, description string }

type signatureRef struct{ signature, name, buildSystemType string }

func newReadCache() *readCache {
	return &readCache{
		jobTypes:         map[int64]namedRef{},
		jobGroups:        map[int64]namedRef{},
		buildPlatforms:   map[int64]model.Platform{},
		machinePlatforms: map[int64]model.Platform{},
		machines:         map[int64]string{},
		products:         map[int64]string{},
		signatures:       map[int64]signatureRef{},
		repos:            map[int64]string{},
		options:          map[string][]string{},
		pushRevisions:    map[int64]string{},
	}
}

// readCaches holds each Store's read cache, keyed weakly so a closed and
// dropped Store takes its cache with it. (It lives outside the Store struct
// only because that struct belongs to another file's owner; a field would do.)
var readCaches sync.Map // weak.Pointer[Store] -> *readCache

func (s *Store) reads() *readCache {
	key := weak.Make(s)
	if c, ok := readCaches.Load(key); ok {
		return c.(*readCache)
	}
	c, loaded := readCaches.LoadOrStore(key, newReadCache())
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Store]) { readCaches.Delete(k) }, key)
	}
	return c.(*readCache)
}

// ResetReadCache forgets cached reference values; data cycling calls it
// (with ResetCaches) after pruning reference rows, since SQLite may hand a
// deleted row's id to a new one.
func (s *Store) ResetReadCache() {
	s.reads() // registers the cleanup on first use
	readCaches.Store(weak.Make(s), newReadCache())
}

// missing collects ids absent from m, without duplicates.
func missing[V any](m map[int64]V, seen map[int64]bool, id int64, out []int64) []int64 {
	if _, ok := m[id]; ok || seen[id] {
		return out
	}
	seen[id] = true
	return append(out, id)
}

// loadByID runs "SELECT id, cols FROM table WHERE id IN (...)" for ids in
// chunks and hands each row to put.
func (s *Store) loadByID(ctx context.Context, table, cols string, ids []int64, scan func(*sql.Rows) error) error {
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		rows, err := s.db.QueryContext(ctx, "SELECT id, "+cols+" FROM "+table+" WHERE id IN "+inList(end-start), anySlice(ids[start:end])...)
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return fmt.Errorf("scan %s: %w", table, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
	}
	return nil
}

// refIDs are the reference ids of a page of job rows.
type refIDs struct {
	jobTypes, jobGroups, buildPlatforms, machinePlatforms, machines, products, signatures, repos, pushes []int64
	hashes                                                                                               []string
}

// warm loads every reference value the given ids need and the cache lacks.
func (s *Store) warm(ctx context.Context, want refIDs) error {
	c := s.reads()
	var need refIDs
	c.mu.RLock()
	{
		seen := map[int64]bool{}
		for _, id := range want.jobTypes {
			need.jobTypes = missing(c.jobTypes, seen, id, need.jobTypes)
		}
		seen = map[int64]bool{}
		for _, id := range want.jobGroups {
			need.jobGroups = missing(c.jobGroups, seen, id, need.jobGroups)
		}
		seen = map[int64]bool{}
		for _, id := range want.buildPlatforms {
			need.buildPlatforms = missing(c.buildPlatforms, seen, id, need.buildPlatforms)
		}
		seen = map[int64]bool{}
		for _, id := range want.machinePlatforms {
			need.machinePlatforms = missing(c.machinePlatforms, seen, id, need.machinePlatforms)
		}
		seen = map[int64]bool{}
		for _, id := range want.machines {
			need.machines = missing(c.machines, seen, id, need.machines)
		}
		seen = map[int64]bool{}
		for _, id := range want.products {
			need.products = missing(c.products, seen, id, need.products)
		}
		seen = map[int64]bool{}
		for _, id := range want.signatures {
			need.signatures = missing(c.signatures, seen, id, need.signatures)
		}
		seen = map[int64]bool{}
		for _, id := range want.repos {
			need.repos = missing(c.repos, seen, id, need.repos)
		}
		seen = map[int64]bool{}
		for _, id := range want.pushes {
			need.pushes = missing(c.pushRevisions, seen, id, need.pushes)
		}
		seenHash := map[string]bool{}
		for _, h := range want.hashes {
			if _, ok := c.options[h]; !ok && !seenHash[h] {
				seenHash[h] = true
				need.hashes = append(need.hashes, h)
			}
		}
	}
	c.mu.RUnlock()

	// Load outside the lock; two requests may load the same rows at once,
	// which costs a query and changes nothing.
	named := func(table string, ids []int64, into func(id int64, v namedRef)) error {
		return s.loadByID(ctx, table, "name, symbol, description", ids, func(r *sql.Rows) error {
			var id int64
			var v namedRef
			if err := r.Scan(&id, &v.name, &v.symbol, &v.description); err != nil {
				return err
			}
			into(id, v)
			return nil
		})
	}
	platform := func(table string, ids []int64, into func(id int64, p model.Platform)) error {
		return s.loadByID(ctx, table, "os_name, platform, architecture", ids, func(r *sql.Rows) error {
			var id int64
			var p model.Platform
			if err := r.Scan(&id, &p.OSName, &p.Platform, &p.Architecture); err != nil {
				return err
			}
			into(id, p)
			return nil
		})
	}
	name := func(table string, ids []int64, into func(id int64, n string)) error {
		return s.loadByID(ctx, table, "name", ids, func(r *sql.Rows) error {
			var id int64
			var n string
			if err := r.Scan(&id, &n); err != nil {
				return err
			}
			into(id, n)
			return nil
		})
	}
	put := func(f func()) { c.mu.Lock(); f(); c.mu.Unlock() }
	steps := []func() error{
		func() error {
			return named("job_type", need.jobTypes, func(id int64, v namedRef) { put(func() { c.jobTypes[id] = v }) })
		},
		func() error {
			return named("job_group", need.jobGroups, func(id int64, v namedRef) { put(func() { c.jobGroups[id] = v }) })
		},
		func() error {
			return platform("build_platform", need.buildPlatforms, func(id int64, p model.Platform) { put(func() { c.buildPlatforms[id] = p }) })
		},
		func() error {
			return platform("machine_platform", need.machinePlatforms, func(id int64, p model.Platform) { put(func() { c.machinePlatforms[id] = p }) })
		},
		func() error {
			return name("machine", need.machines, func(id int64, n string) { put(func() { c.machines[id] = n }) })
		},
		func() error {
			return name("product", need.products, func(id int64, n string) { put(func() { c.products[id] = n }) })
		},
		func() error {
			return name("repository", need.repos, func(id int64, n string) { put(func() { c.repos[id] = n }) })
		},
		func() error {
			return s.loadByID(ctx, "reference_data_signatures", "signature, name, build_system_type", need.signatures, func(r *sql.Rows) error {
				var id int64
				var v signatureRef
				if err := r.Scan(&id, &v.signature, &v.name, &v.buildSystemType); err != nil {
					return err
				}
				put(func() { c.signatures[id] = v })
				return nil
			})
		},
		func() error {
			return s.loadByID(ctx, "push", "revision", need.pushes, func(r *sql.Rows) error {
				var id int64
				var rev string
				if err := r.Scan(&id, &rev); err != nil {
					return err
				}
				put(func() {
					if len(c.pushRevisions) >= maxPushRevisions {
						c.pushRevisions = map[int64]string{}
					}
					c.pushRevisions[id] = rev
				})
				return nil
			})
		},
		func() error { return s.loadOptions(ctx, need.hashes) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// loadOptions caches the option names of the given hashes; a hash without
// rows is cached as having none.
func (s *Store) loadOptions(ctx context.Context, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	c := s.reads()
	found := map[string][]string{}
	for start := 0; start < len(hashes); start += 500 {
		end := min(start+500, len(hashes))
		rows, err := s.db.QueryContext(ctx, "SELECT oc.option_collection_hash, o.name FROM option_collection oc JOIN `option` o ON o.id = oc.option_id WHERE oc.option_collection_hash IN "+inList(end-start)+" ORDER BY oc.id",
			anySlice(hashes[start:end])...)
		if err != nil {
			return fmt.Errorf("read option collections: %w", err)
		}
		for rows.Next() {
			var h, n string
			if err := rows.Scan(&h, &n); err != nil {
				rows.Close()
				return fmt.Errorf("scan option collection: %w", err)
			}
			found[h] = append(found[h], n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read option collections: %w", err)
		}
	}
	c.mu.Lock()
	for _, h := range hashes {
		c.options[h] = found[h] // nil for a hash with no options
	}
	c.mu.Unlock()
	return nil
}

// queryPrepared runs a query of fixed shape through a statement prepared
// once per store (and per pooled connection, by database/sql). That spares
// the database parsing and planning the read API's hottest lookups (a job
// with its logs, a push's status) on every request: they are tiny indexed
// reads, so the parse is a fair part of their cost on MySQL's side, and on
// SQLite's (the driver prepares every statement it runs, a sixth of the
// CPU of the mixed read benchmark before).
func (s *Store) queryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := s.cachedStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.QueryContext(ctx, args...)
}

// platformOption is Treeherder's option collection map value: the option
// names joined by spaces.
func platformOption(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names, " ")
}
