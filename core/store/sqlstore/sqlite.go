package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // pure-Go SQLite: the embedded default needs no cgo and no server
)

// sqliteGuard is Treeherder's state guard over the stored row (job.state)
// and the incoming one (excluded.state).
const sqliteGuard = "job.state <> 'completed' AND NOT (excluded.state = 'pending' AND job.state = 'running')" +
	" AND NOT (excluded.state = 'unscheduled' AND job.state IN ('pending', 'running'))"

func sqliteJobUpsert() string {
	sets := make([]string, len(jobUpdateCols))
	for i, c := range jobUpdateCols {
		sets[i] = c + " = excluded." + c
	}
	return "ON CONFLICT (guid) DO UPDATE SET " + strings.Join(sets, ", ") + " WHERE " + sqliteGuard
}

var sqliteDialect = dialect{
	name:         "sqlite",
	goose:        goose.DialectSQLite3,
	insertIgnore: "INSERT OR IGNORE",
	jobUpsert:    sqliteJobUpsert(),
	pushUpsert:   "ON CONFLICT (repository_id, revision) DO UPDATE SET author = excluded.author, time = excluded.time, branch = excluded.branch",
	maxParams:    32000,
	// The driver prepares every statement it runs.
	cacheStatements: true,
	sequentialIDs:   true,
}

// OpenSQLite opens (creating if needed) the embedded database file at path.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: no database path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	// The WAL is checkpointed by a background connection (see
	// checkpointer), so the writer no longer copies pages back into the
	// database file inside its commits.
	db, err := openSQLiteDB(ctx, path, "wal_autocheckpoint(0)")
	if err != nil {
		return nil, err
	}
	// One writer at a time is all SQLite has; a small pool keeps readers
	// going in WAL mode while a batch is written, beside the job writer's
	// own connection.
	db.SetMaxOpenConns(5)
	s := newStore(db, sqliteDialect)
	s.addr = path
	if path != ":memory:" {
		// (Each connection to ":memory:" is a database of its own.)
		s.writer = &sqliteWriter{db: db, stmts: map[string]driver.Stmt{}}
		// A short busy timeout: a RESTART checkpoint waits for readers to
		// leave the WAL while the job writer waits for it; it gives up and
		// tries again next round instead.
		cdb, err := openSQLiteDB(ctx, path, "wal_autocheckpoint(0)", "busy_timeout(200)")
		if err != nil {
			db.Close()
			return nil, err
		}
		cdb.SetMaxOpenConns(1)
		s.ckpt = startCheckpointer(cdb, &s.writer.mu)
	}
	return s, nil
}

func openSQLiteDB(ctx context.Context, path string, extra ...string) (*sql.DB, error) {
	q := url.Values{}
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)",
		"synchronous(NORMAL)", "cache_size(-32768)", "temp_store(MEMORY)"}
	for _, p := range append(pragmas, extra...) {
		q.Add("_pragma", p)
	}
	// Writers take the write lock when they begin, so two writers queue on
	// busy_timeout instead of failing to upgrade a read lock.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return db, nil
}

// checkpointer copies the WAL back into the database file from its own
// connection, so on a machine with a second core the writer's commits only
// append to the WAL. SQLite's automatic checkpoint runs inside the commit
// that crosses its threshold, on the writer's time: with batched job
// upserts that was a tenth of the writer's work.
//
// A passive checkpoint never blocks the writer, but while the writer keeps
// committing it may never catch up, and the WAL restarts from its beginning
// only after a checkpoint that did. Past restartFrames the checkpointer
// therefore runs a RESTART checkpoint while holding the job writer's lock:
// the few frames left since the last passive round are copied while the next
// batch waits on a mutex, rather than in SQLite's busy handler, which sleeps
// in steps of milliseconds.
type checkpointer struct {
	db     *sql.DB
	writer sync.Locker
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	// checkpointEvery bounds how often a checkpoint runs, so pages the
	// writer rewrites in consecutive batches are copied once.
	checkpointEvery = 100 * time.Millisecond
	// checkpointIdle is the longest a write waits for a checkpoint when
	// nobody kicks the checkpointer.
	checkpointIdle = time.Second
	// restartFrames is the WAL length (frames) past which the checkpointer
	// makes the writer wait for the log to restart: 64 MiB of 4 KiB pages.
	restartFrames = 16384
)

func startCheckpointer(db *sql.DB, writer sync.Locker) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, writer: writer, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

// Kick asks for a checkpoint soon; it never blocks.
func (c *checkpointer) Kick() {
	if c == nil {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	idle := time.NewTicker(checkpointIdle)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-idle.C:
		}
		frames, err := c.checkpoint(ctx, "PASSIVE")
		if err == nil && frames > restartFrames {
			c.writer.Lock()
			_, err = c.checkpoint(ctx, "RESTART")
			c.writer.Unlock()
		}
		// Errors (a busy database, a closing store) are retried on the next
		// round; the WAL only grows meanwhile.
		_ = err
		select {
		case <-ctx.Done():
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// checkpoint runs one checkpoint and returns the WAL's length in frames.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (int, error) {
	var busy, frames, copied int
	err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	return frames, err
}

// Close stops the checkpointer and closes its connection.
func (c *checkpointer) Close() error {
	if c == nil {
		return nil
	}
	c.cancel()
	<-c.done
	return c.db.Close()
}

// sqliteWriter is the connection job batches are written through on SQLite,
// held for the store's life. SQLite has one writer at a time anyway; holding
// one connection lets its prepared statements (whose parse costs more than
// a 1,000-row insert) be kept, and lets batches go to the driver directly.
type sqliteWriter struct {
	db    *sql.DB
	mu    sync.Mutex // held for a whole transaction
	conn  *sql.Conn
	stmts map[string]driver.Stmt
	args  []driver.NamedValue
	vals  []driver.Value
}

// rawConn is what the writer needs of the driver's connection.
type rawConn interface {
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

func (w *sqliteWriter) run(ctx context.Context, fn func(tx jobTx) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		c, err := w.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("writer connection: %w", err)
		}
		w.conn = c
	}
	err := w.conn.Raw(func(dc any) error {
		c, ok := dc.(rawConn)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T lacks context methods", dc)
		}
		tx, err := c.BeginTx(ctx, driver.TxOptions{})
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(&rawJobTx{w: w, c: c}); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		// database/sql dropped the connection: take a fresh one next time.
		w.reset()
	}
	return err
}

// reset forgets the connection and its statements. Called with mu held.
func (w *sqliteWriter) reset() {
	for q, st := range w.stmts {
		st.Close()
		delete(w.stmts, q)
	}
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

func (w *sqliteWriter) close() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return
	}
	// Statements belong to the driver connection: close them from inside.
	_ = w.conn.Raw(func(any) error {
		for q, st := range w.stmts {
			st.Close()
			delete(w.stmts, q)
		}
		return nil
	})
	w.conn.Close()
	w.conn = nil
}

// rawJobTx is a jobTx on the writer's driver connection.
type rawJobTx struct {
	w *sqliteWriter
	c rawConn
}

// named converts args into the writer's reused NamedValue buffer.
func (t *rawJobTx) named(args []any) []driver.NamedValue {
	nv := t.w.args[:0]
	for i, a := range args {
		nv = append(nv, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	t.w.args = nv
	return nv
}

// stmt returns the kept prepared statement of a full batch, or nil.
func (t *rawJobTx) stmt(ctx context.Context, full bool, query string) (driver.Stmt, error) {
	if !full {
		return nil, nil
	}
	if st, ok := t.w.stmts[query]; ok {
		return st, nil
	}
	st, err := t.c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	t.w.stmts[query] = st
	return st, nil
}

func (t *rawJobTx) exec(ctx context.Context, full bool, query string, args []any) error {
	st, err := t.stmt(ctx, full, query)
	if err != nil {
		return err
	}
	nv := t.named(args)
	if st != nil {
		_, err = st.(driver.StmtExecContext).ExecContext(ctx, nv)
	} else {
		_, err = t.c.ExecContext(ctx, query, nv)
	}
	clear(nv) // let the strings go
	return err
}

func (t *rawJobTx) query(ctx context.Context, full bool, query string, args []any, row func(vals []driver.Value) error) error {
	st, err := t.stmt(ctx, full, query)
	if err != nil {
		return err
	}
	nv := t.named(args)
	var rows driver.Rows
	if st != nil {
		rows, err = st.(driver.StmtQueryContext).QueryContext(ctx, nv)
	} else {
		rows, err = t.c.QueryContext(ctx, query, nv)
	}
	if err != nil {
		clear(nv)
		return err
	}
	defer func() {
		rows.Close()
		clear(nv)
	}()
	n := len(rows.Columns())
	if cap(t.w.vals) < n {
		t.w.vals = make([]driver.Value, n)
	}
	vals := t.w.vals[:n]
	for {
		if err := rows.Next(vals); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := row(vals); err != nil {
			return err
		}
	}
}
