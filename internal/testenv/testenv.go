// Package testenv finds what tests need outside the repository: the shared
// Treeherder sample data beside the checkout, and the MariaDB and RabbitMQ
// servers that scripts/services.sh starts.
//
// A test whose service or data is missing skips with a message saying what
// to run, except when HERDER_REQUIRE_SERVICES=1 (as in CI), where it fails:
// CI must never pass by skipping.
package testenv

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// ModuleRoot walks up from the working directory to the folder with go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Missing skips t because something it needs is not here, or fails it when
// HERDER_REQUIRE_SERVICES=1 (CI), where everything must be.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("HERDER_REQUIRE_SERVICES") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// SharedData returns ../shared/testdata/treeherder beside the module root,
// skipping the test when it is absent.
func SharedData(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ModuleRoot(t), "..", "shared", "testdata", "treeherder")
	if _, err := os.Stat(dir); err != nil {
		Missing(t, "Treeherder sample data not found at %s (CI checks it out beside the repository as ../shared)", dir)
	}
	return dir
}

// MySQLDSN creates a fresh database on the test MariaDB named by
// HERDER_TEST_MYSQL_DSN, drops it when the test ends, and returns a DSN for it.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("HERDER_TEST_MYSQL_DSN")
	if base == "" {
		Missing(t, "HERDER_TEST_MYSQL_DSN is not set: run `bash scripts/services.sh` and export the line it prints")
		return ""
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("HERDER_TEST_MYSQL_DSN is malformed")
	}
	admin, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatalf("open test mysql: %v", err)
	}
	defer admin.Close()
	if err := admin.Ping(); err != nil {
		Missing(t, "test MariaDB at %s is not answering (%v): run `bash scripts/services.sh`", cfg.Addr, err)
		return ""
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "herder_test_" + strings.ToLower(hex.EncodeToString(b[:]))
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", base)
		if err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
			db.Close()
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// AMQPURL returns the test RabbitMQ URL from HERDER_TEST_AMQP_URL.
func AMQPURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("HERDER_TEST_AMQP_URL")
	if u == "" {
		Missing(t, "HERDER_TEST_AMQP_URL is not set: run `bash scripts/services.sh` and export the line it prints")
	}
	return u
}
