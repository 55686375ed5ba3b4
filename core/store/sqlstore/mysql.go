package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
)

// mysqlGuard is Treeherder's state guard over the stored row (`state`) and
// the incoming one (`VALUES(state)`).
const mysqlGuard = "(state <> 'completed' AND NOT (VALUES(state) = 'pending' AND state = 'running')" +
	" AND NOT (VALUES(state) = 'unscheduled' AND state IN ('pending', 'running')))"

func mysqlJobUpsert() string {
	sets := make([]string, len(jobUpdateCols))
	for i, c := range jobUpdateCols {
		sets[i] = fmt.Sprintf("%s = IF(%s, VALUES(%s), %s)", c, mysqlGuard, c, c)
	}
	return "ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
}

var mysqlDialect = dialect{
	name:         "mysql",
	goose:        goose.DialectMySQL,
	insertIgnore: "INSERT IGNORE",
	jobUpsert:    mysqlJobUpsert(),
	pushUpsert:   "ON DUPLICATE KEY UPDATE author = VALUES(author), time = VALUES(time), branch = VALUES(branch)",
	maxParams:    60000,
}

// OpenMySQL opens a MySQL/MariaDB store. The DSN is go-sql-driver's
// (user:pass@tcp(host:3306)/db); errors name the address, never the password.
func OpenMySQL(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The DSN may hold a password: do not echo it.
		return nil, fmt.Errorf("mysql dsn: malformed (expected user:password@tcp(host:port)/database)")
	}
	cfg.ParseTime = true
	cfg.MultiStatements = true // goose runs a migration file's statements in one go
	cfg.Collation = "utf8mb4_bin"
	// Send statements with their arguments escaped by the driver instead of
	// preparing each one on the server: a 1,000-row upsert has 21,000
	// placeholders, and a server-side prepare, execute and close of it costs
	// three round trips and a parse per batch. Values are still passed as
	// arguments, never concatenated into SQL by us.
	cfg.InterpolateParams = true
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql at %s: %w", cfg.Addr, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(5 * time.Minute)
	s := newStore(db, mysqlDialect)
	s.addr = cfg.Addr
	return s, nil
}
