// Package sqlstore implements store.Store on MySQL and on SQLite.
//
// The two backends share their SQL wherever the dialects agree; what differs
// (upsert syntax, migrations, connection setup) lives in mysql.go and
// sqlite.go. Both pass the same conformance suite, storetest.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

//go:embed migrations
var migrations embed.FS

// dialect holds what differs between the backends.
type dialect struct {
	name         string
	goose        goose.Dialect
	insertIgnore string // the statement prefix that skips duplicate-key rows
	// jobUpsert is appended to a multi-row INSERT INTO job and applies
	// Treeherder's state guard to rows that already exist.
	jobUpsert string
	// pushUpsert is appended to a multi-row INSERT INTO push.
	pushUpsert string
	// maxParams bounds the placeholders of one statement.
	maxParams int
	// cacheStatements keeps prepared statements of full batches.
	cacheStatements bool
	// sequentialIDs: new rows take the largest id plus one and the job
	// writer holds the only write lock, so new job ids can be inferred
	// (see newJobIDs).
	sequentialIDs bool
}

// Store is a store.Store on a SQL database.
type Store struct {
	db   *sql.DB
	d    dialect
	refs *refCache
	// now is the clock, replaceable in tests.
	now func() time.Time
	// addr names the database for messages: host:port or the file path,
	// never credentials.
	addr string
	// stmts caches prepared statements of full-sized batches (see execBatch).
	stmts sync.Map
	// ckpt checkpoints SQLite's WAL off the writer's path; nil on MySQL.
	ckpt *checkpointer
	// writer is SQLite's job-writing connection; nil on MySQL.
	writer *sqliteWriter
}

// Addr names the database without credentials, for logs and errors.
func (s *Store) Addr() string { return s.addr }

var _ store.Store = (*Store)(nil)

func newStore(db *sql.DB, d dialect) *Store {
	return &Store{db: db, d: d, refs: newRefCache(), now: time.Now}
}

// Open opens the store for a config's driver and DSN ("sqlite" takes a file path).
func Open(ctx context.Context, driver, dsn string) (*Store, error) {
	switch driver {
	case "sqlite", "":
		return OpenSQLite(ctx, dsn)
	case "mysql":
		return OpenMySQL(ctx, dsn)
	}
	return nil, fmt.Errorf("unknown storage driver %q (want sqlite or mysql)", driver)
}

// DB exposes the connection pool, for benchmarks and maintenance commands.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) Backend() string { return s.d.name }

func (s *Store) Close() error {
	s.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	cerr := s.ckpt.Close()
	s.writer.close()
	err := s.db.Close()
	if err == nil {
		err = cerr
	}
	return err
}

func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Migrate applies the embedded migrations of the store's dialect.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return fmt.Errorf("migrations for %s: %w", s.d.name, err)
	}
	p, err := goose.NewProvider(s.d.goose, s.db, sub)
	if err != nil {
		return fmt.Errorf("migration provider: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", s.d.name, err)
	}
	return nil
}

// MigrationVersion reports the schema version the database is at.
func (s *Store) MigrationVersion(ctx context.Context) (int64, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return 0, err
	}
	p, err := goose.NewProvider(s.d.goose, s.db, sub)
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// inTx runs fn in a transaction, committing when it returns nil. A
// transaction the database aborted to break a deadlock (two writers storing
// overlapping batches) is run again: fn must only write, so a rerun is safe.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return retryDeadlock(ctx, func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

// retryDeadlock runs fn again, a few times with a short growing pause, while
// it fails with a deadlock or a lock wait timeout (MySQL errors 1213 and
// 1205), which the database raises only to be retried.
func retryDeadlock(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 6; attempt++ {
		if err = fn(); err == nil || !isDeadlock(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
	return err
}

func isDeadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

// execBatch runs a multi-row statement in tx. Where the dialect prepares
// statements (SQLite), a full-sized batch reuses one prepared statement per
// connection: parsing a 21,000-parameter INSERT costs more than running it.
// Partial batches vary in size and are not worth a cache entry.
func (s *Store) execBatch(ctx context.Context, tx *sql.Tx, full bool, query string, args ...any) (sql.Result, error) {
	if !full || !s.d.cacheStatements {
		return tx.ExecContext(ctx, query, args...)
	}
	stmt, err := s.cachedStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
}

// jobTx is the transaction StoreJobs writes in: database/sql's (sqlJobTx)
// or, on SQLite, the driver's own on the writer connection (rawJobTx), which
// skips database/sql's per-argument conversion and allocations. Arguments
// must already be driver values (int64, string, nil...).
type jobTx interface {
	// exec runs a statement; full marks a full-sized batch whose prepared
	// statement is worth keeping.
	exec(ctx context.Context, full bool, query string, args []any) error
	// query runs a statement and hands each row's values to row: int64,
	// string or []byte, nil.
	query(ctx context.Context, full bool, query string, args []any, row func(vals []driver.Value) error) error
}

type sqlJobTx struct {
	s  *Store
	tx *sql.Tx
}

func (t sqlJobTx) exec(ctx context.Context, full bool, query string, args []any) error {
	_, err := t.s.execBatch(ctx, t.tx, full, query, args...)
	return err
}

func (t sqlJobTx) query(ctx context.Context, full bool, query string, args []any, row func(vals []driver.Value) error) error {
	rows, err := t.s.queryBatch(ctx, t.tx, full, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]driver.Value, len(cols))
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := row(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// inJobTx runs fn in a job-writing transaction (see jobTx).
func (s *Store) inJobTx(ctx context.Context, fn func(tx jobTx) error) error {
	if s.writer != nil {
		return s.writer.run(ctx, fn)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(sqlJobTx{s, tx}) })
}

// valueInt64 reads an integer column as either driver returns it.
func valueInt64(v driver.Value) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("not an integer: %T", v)
}

// valueString reads a text column as either driver returns it.
func valueString(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// queryBatch is execBatch for a statement that returns rows.
func (s *Store) queryBatch(ctx context.Context, tx *sql.Tx, full bool, query string, args ...any) (*sql.Rows, error) {
	if !full || !s.d.cacheStatements {
		return tx.QueryContext(ctx, query, args...)
	}
	stmt, err := s.cachedStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
}

func (s *Store) cachedStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if cached, ok := s.stmts.Load(query); ok {
		return cached.(*sql.Stmt), nil
	}
	stmt, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if cached, ok := s.stmts.LoadOrStore(query, stmt); ok {
		stmt.Close()
		return cached.(*sql.Stmt), nil
	}
	return stmt, nil
}

// placeholders returns "(?,?,?),(?,?,?)" for rows of n columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// chunk splits n items into runs that keep a statement under maxParams.
func chunkSize(maxParams, cols int) int {
	n := maxParams / cols
	if n > 1000 {
		n = 1000
	}
	return n
}

func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

func anySlice[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func (s *Store) SeedFailureClassifications(ctx context.Context) error {
	args := make([]any, 0, 2*len(model.FailureClassifications))
	for _, fc := range model.FailureClassifications {
		args = append(args, fc.ID, fc.Name)
	}
	q := s.d.insertIgnore + " INTO failure_classification (id, name) VALUES " + placeholders(len(model.FailureClassifications), 2)
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("seed failure classifications: %w", err)
	}
	return nil
}

func (s *Store) FailureClassifications(ctx context.Context) ([]model.FailureClassification, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name FROM failure_classification ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list failure classifications: %w", err)
	}
	defer rows.Close()
	var out []model.FailureClassification
	for rows.Next() {
		var fc model.FailureClassification
		if err := rows.Scan(&fc.ID, &fc.Name); err != nil {
			return nil, err
		}
		out = append(out, fc)
	}
	return out, rows.Err()
}

func (s *Store) StoreRawEvents(ctx context.Context, events []model.RawEvent) error {
	const cols = 5
	for start := 0; start < len(events); start += chunkSize(s.d.maxParams, cols) {
		end := min(start+chunkSize(s.d.maxParams, cols), len(events))
		args := make([]any, 0, (end-start)*cols)
		for _, e := range events[start:end] {
			args = append(args, e.Source, e.EventID, e.Kind, e.Received, e.Payload)
		}
		q := "INSERT INTO raw_event (source, event_id, kind, received, payload) VALUES " + placeholders(end-start, cols)
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store raw events: %w", err)
		}
	}
	return nil
}

// Counts reports row counts of the main tables.
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range []string{"repository", "push", "`commit`", "job", "job_log", "taskcluster_metadata", "reference_data_signatures", "raw_event", "text_log_error"} {
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[strings.Trim(t, "`")] = n
	}
	return out, nil
}

func notFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }
