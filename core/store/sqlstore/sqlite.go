package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

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
	q := url.Values{}
	// A larger WAL between checkpoints (10,000 pages, ~40 MB) lets bulk job
	// writes append instead of copying pages back every 4 MB: a third faster
	// once the job table is past a few hundred thousand rows.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "cache_size(-32768)", "temp_store(MEMORY)", "wal_autocheckpoint(10000)"} {
		q.Add("_pragma", p)
	}
	// Writers take the write lock when they begin, so two writers queue on
	// busy_timeout instead of failing to upgrade a read lock.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	// One writer at a time is all SQLite has; a small pool keeps readers
	// going in WAL mode while a batch is written.
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	s := newStore(db, sqliteDialect)
	s.addr = path
	return s, nil
}
