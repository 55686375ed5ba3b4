package schedule

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// MySQLLocker takes locks with GET_LOCK, held by a connection of their own:
// the server frees a lock when its holder's connection goes, so a crashed or
// partitioned leader gives way without any timeout of ours.
type MySQLLocker struct {
	db *sql.DB
	// Check is how often a held lock's connection is pinged (default 5 s).
	Check time.Duration
}

// NewMySQLLocker returns a locker on db.
func NewMySQLLocker(db *sql.DB) *MySQLLocker { return &MySQLLocker{db: db, Check: 5 * time.Second} }

// TryLock takes the lock "herder.<database>.<name>" (the database's name
// keeps deployments sharing a server apart).
func (l *MySQLLocker) TryLock(ctx context.Context, name string) (Lock, bool, error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	var dbName sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	key := "herder." + dbName.String + "." + name
	if len(key) > 64 {
		// MySQL refuses lock names over 64 characters.
		sum := sha1.Sum([]byte(key))
		key = "herder." + hex.EncodeToString(sum[:])
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", key).Scan(&got); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !got.Valid || got.Int64 != 1 {
		conn.Close()
		return nil, false, nil
	}
	check := l.Check
	if check <= 0 {
		check = 5 * time.Second
	}
	lk := &mysqlLock{conn: conn, key: key, lost: make(chan struct{}), stop: make(chan struct{})}
	go lk.watch(check)
	return lk, true, nil
}

type mysqlLock struct {
	conn     *sql.Conn
	key      string
	lost     chan struct{}
	stop     chan struct{}
	once     sync.Once
	lostOnce sync.Once
}

func (l *mysqlLock) Lost() <-chan struct{} { return l.lost }

// watch pings the holding connection: if it fails, the server may have
// freed the lock, so the holder must stop acting on it.
func (l *mysqlLock) watch(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), every)
			var held sql.NullInt64
			err := l.conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", l.key).Scan(&held)
			cancel()
			if err != nil || !held.Valid || held.Int64 != 1 {
				l.lostOnce.Do(func() { close(l.lost) })
				return
			}
		}
	}
}

func (l *mysqlLock) Release() error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = l.conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", l.key)
		if cerr := l.conn.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// FileLocker takes locks with flock(2) on files in a directory beside the
// SQLite database: processes on one host (all an SQLite deployment has)
// exclude each other, and the kernel frees a dead process's locks.
type FileLocker struct {
	dir string
}

// NewFileLocker returns a locker keeping its lock files in dir.
func NewFileLocker(dir string) *FileLocker { return &FileLocker{dir: dir} }

// TryLock takes dir/<name>.lock.
func (l *FileLocker) TryLock(_ context.Context, name string) (Lock, bool, error) {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, name)
	f, err := os.OpenFile(filepath.Join(l.dir, safe+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	ok, err := flockTry(f)
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		f.Close()
		return nil, false, nil
	}
	return &fileLock{f: f, lost: make(chan struct{})}, true, nil
}

type fileLock struct {
	f    *os.File
	lost chan struct{}
	once sync.Once
}

func (l *fileLock) Lost() <-chan struct{} { return l.lost }

func (l *fileLock) Release() error {
	var err error
	l.once.Do(func() {
		_ = flockRelease(l.f)
		err = l.f.Close()
	})
	return err
}

// LockDir is where the file locker of an SQLite database keeps its locks.
func LockDir(dbPath string) string {
	if dbPath == "" || dbPath == ":memory:" {
		return filepath.Join(os.TempDir(), "herder-locks")
	}
	return filepath.Join(filepath.Dir(dbPath), ".herder-locks")
}
