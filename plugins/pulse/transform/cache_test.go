package transform

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingTasks counts fetches and can block them.
type countingTasks struct {
	fetches atomic.Int32
	gate    chan struct{}
	fail    atomic.Bool
}

func (c *countingTasks) Task(ctx context.Context, _, id string) (json.RawMessage, error) {
	c.fetches.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	if c.fail.Load() {
		return nil, &UpstreamError{URL: id, StatusCode: 500, Retryable: true}
	}
	return taskDef(), nil
}

func (c *countingTasks) Artifacts(context.Context, string, string, int, string) (ArtifactPage, error) {
	return ArtifactPage{}, nil
}

func TestTaskCacheLRU(t *testing.T) {
	next := &countingTasks{}
	c := NewTaskCache(next, 2, time.Hour)
	ctx := context.Background()
	get := func(id string) {
		t.Helper()
		if _, err := c.TaskDefinition(ctx, "r", id); err != nil {
			t.Fatal(err)
		}
	}
	get("a")
	get("b")
	get("a") // a is now most recent
	get("c") // evicts b
	if n := next.fetches.Load(); n != 3 {
		t.Errorf("%d fetches, want 3", n)
	}
	get("a")
	if n := next.fetches.Load(); n != 3 {
		t.Errorf("a was evicted: %d fetches", n)
	}
	get("b")
	if n := next.fetches.Load(); n != 4 {
		t.Errorf("b should have been evicted: %d fetches", n)
	}
	if _, _, size := c.Stats(); size != 2 {
		t.Errorf("size %d", size)
	}
	// The root URL is part of the key.
	if _, err := c.TaskDefinition(ctx, "other-root", "a"); err != nil || next.fetches.Load() != 5 {
		t.Errorf("root url not in the key")
	}
}

func TestTaskCacheTTLAndErrors(t *testing.T) {
	next := &countingTasks{}
	c := NewTaskCache(next, 10, time.Minute)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := c.Task(ctx, "r", "a"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Second)
	_, _ = c.Task(ctx, "r", "a")
	if next.fetches.Load() != 1 {
		t.Errorf("refetched before the TTL")
	}
	now = now.Add(2 * time.Second)
	_, _ = c.Task(ctx, "r", "a")
	if next.fetches.Load() != 2 {
		t.Errorf("not refetched after the TTL")
	}
	// Errors are not cached.
	next.fail.Store(true)
	if _, err := c.Task(ctx, "r", "b"); !IsRetryable(err) {
		t.Errorf("error: %v", err)
	}
	next.fail.Store(false)
	if _, err := c.Task(ctx, "r", "b"); err != nil {
		t.Errorf("error was cached: %v", err)
	}
	// Unparseable definitions are errors too, and not cached.
	bad := NewTaskCache(StaticTasks{"x": json.RawMessage(`[`)}, 10, 0)
	if _, err := bad.TaskDefinition(ctx, "r", "x"); !errors.Is(err, ErrNotJSON) {
		t.Errorf("bad definition: %v", err)
	}
}

func TestTaskCacheSharesConcurrentFetches(t *testing.T) {
	next := &countingTasks{gate: make(chan struct{})}
	c := NewTaskCache(next, 10, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.TaskDefinition(context.Background(), "r", "a")
			errs <- err
		}()
	}
	// Let every goroutine reach the cache before the fetch completes.
	for {
		c.mu.Lock()
		waiting := c.misses
		c.mu.Unlock()
		if waiting == 8 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(next.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := next.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for one task, want 1", n)
	}
	// A waiter whose context ends gives up without breaking the fetch.
	next2 := &countingTasks{gate: make(chan struct{})}
	c2 := NewTaskCache(next2, 10, 0)
	go func() { _, _ = c2.TaskDefinition(context.Background(), "r", "a") }()
	for next2.fetches.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c2.TaskDefinition(ctx, "r", "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(next2.gate)
}
