package schedule

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/herder-ci/herder/internal/testenv"
)

// lockers runs fn with two lockers standing for two herder processes of
// one deployment: file locks in one directory, and GET_LOCK on one
// database through two connection pools.
func lockers(t *testing.T, fn func(t *testing.T, a, b Locker)) {
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, NewFileLocker(dir), NewFileLocker(dir))
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testenv.MySQLDSN(t)
		open := func() *sql.DB {
			db, err := sql.Open("mysql", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		a, b := NewMySQLLocker(open()), NewMySQLLocker(open())
		a.Check, b.Check = 50*time.Millisecond, 50*time.Millisecond
		fn(t, a, b)
	})
}

func TestLocksExclude(t *testing.T) {
	lockers(t, func(t *testing.T, a, b Locker) {
		l1, ok, err := a.TryLock(context.Background(), "x")
		if err != nil || !ok {
			t.Fatalf("first lock: %v %v", ok, err)
		}
		if _, ok, err := b.TryLock(context.Background(), "x"); err != nil || ok {
			t.Fatalf("second holder got the lock: %v %v", ok, err)
		}
		if _, ok, err := b.TryLock(context.Background(), "y"); err != nil || !ok {
			t.Fatalf("another name: %v %v", ok, err)
		}
		if err := l1.Release(); err != nil {
			t.Fatal(err)
		}
		l2, ok, err := b.TryLock(context.Background(), "x")
		if err != nil || !ok {
			t.Fatalf("after release: %v %v", ok, err)
		}
		l2.Release()
		l2.Release() // twice is harmless
	})
}

// Two schedulers of one deployment: only the leader runs the job; when it
// stops, the other takes over.
func TestLeaderElection(t *testing.T) {
	lockers(t, func(t *testing.T, la, lb Locker) {
		var runs [2]atomic.Int32
		mk := func(i int, l Locker) *Scheduler {
			s := New(l, Options{Retry: 100 * time.Millisecond})
			if err := s.Add(Job{Name: "tick", Spec: "@every 1s", Run: func(context.Context) error {
				runs[i].Add(1)
				return nil
			}}); err != nil {
				t.Fatal(err)
			}
			return s
		}
		a, b := mk(0, la), mk(1, lb)
		ctxA, stopA := context.WithCancel(context.Background())
		ctxB, stopB := context.WithCancel(context.Background())
		defer stopB()
		doneA, doneB := make(chan struct{}), make(chan struct{})
		go func() { a.Run(ctxA); close(doneA) }()
		waitFor(t, a.Leading, "a leads")
		go func() { b.Run(ctxB); close(doneB) }()
		waitFor(t, func() bool { return runs[0].Load() >= 2 }, "a runs the job twice")
		if b.Leading() || runs[1].Load() != 0 {
			t.Fatalf("b leads %v, ran %d times", b.Leading(), runs[1].Load())
		}
		stopA()
		<-doneA
		waitFor(t, b.Leading, "b takes over")
		waitFor(t, func() bool { return runs[1].Load() >= 1 }, "b runs the job")
		stopB()
		<-doneB
		if b.Leading() {
			t.Error("b still leads after stopping")
		}
	})
}

// A manual run and a scheduled one never overlap.
func TestRunExclusive(t *testing.T) {
	lockers(t, func(t *testing.T, a, b Locker) {
		started, release := make(chan struct{}), make(chan struct{})
		done := make(chan error)
		go func() {
			done <- RunExclusive(context.Background(), a, "cycle_data", func(context.Context) error {
				close(started)
				<-release
				return nil
			})
		}()
		<-started
		err := RunExclusive(context.Background(), b, "cycle_data", func(context.Context) error { return nil })
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("overlapping run: %v", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := RunExclusive(context.Background(), b, "cycle_data", func(context.Context) error { return nil }); err != nil {
			t.Fatalf("after the first run: %v", err)
		}
	})
}

// A leader whose database connection dies stops leading.
func TestMySQLLockLost(t *testing.T) {
	dsn := testenv.MySQLDSN(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := NewMySQLLocker(db)
	l.Check = 50 * time.Millisecond
	lock, ok, err := l.TryLock(context.Background(), "lost")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	ml := lock.(*mysqlLock)
	var id int64
	if err := ml.conn.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("KILL ?", id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lock.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("a killed connection's lock was not reported lost")
	}
	lock.Release()
	// The server freed it: another holder gets it.
	l2, ok, err := NewMySQLLocker(db).TryLock(context.Background(), "lost")
	if err != nil || !ok {
		t.Fatalf("after the holder died: %v %v", ok, err)
	}
	l2.Release()
}

func TestAddRejectsBadSpecs(t *testing.T) {
	s := New(NewFileLocker(t.TempDir()), Options{})
	if err := s.Add(Job{Name: "x", Spec: "every hour", Run: func(context.Context) error { return nil }}); err == nil {
		t.Error("a bad spec was accepted")
	}
	if err := s.Add(Job{Name: "x", Spec: "@hourly"}); err == nil {
		t.Error("a job without a function was accepted")
	}
	// No jobs: Run returns at once.
	s.Run(context.Background())
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
