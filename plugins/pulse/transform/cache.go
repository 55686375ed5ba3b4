package transform

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// TaskCache wraps a TaskFetcher and keeps parsed task definitions, bounded in
// entries and age. Definitions are immutable in Taskcluster, so the TTL only
// bounds memory held for tasks that stopped sending messages. Concurrent
// misses for one task share a single fetch. Artifact lists are not cached:
// they grow while a task runs.
type TaskCache struct {
	next       TaskFetcher
	maxEntries int
	ttl        time.Duration
	now        func() time.Time

	mu       sync.Mutex
	order    *list.List // front = most recently used
	entries  map[string]*list.Element
	inflight map[string]*call
	hits     uint64
	misses   uint64
}

type cacheEntry struct {
	key     string
	task    *TaskDefinition
	raw     json.RawMessage
	expires time.Time
}

type call struct {
	done chan struct{}
	task *TaskDefinition
	raw  json.RawMessage
	err  error
}

// NewTaskCache caches up to maxEntries definitions (default 10000) for ttl
// (default 1h).
func NewTaskCache(next TaskFetcher, maxEntries int, ttl time.Duration) *TaskCache {
	if maxEntries <= 0 {
		maxEntries = 10000
	}
	if ttl <= 0 {
		ttl = time.Hour
	}
	return &TaskCache{
		next: next, maxEntries: maxEntries, ttl: ttl, now: time.Now,
		order: list.New(), entries: map[string]*list.Element{}, inflight: map[string]*call{},
	}
}

// TaskDefinition implements TaskDefinitionFetcher.
func (c *TaskCache) TaskDefinition(ctx context.Context, rootURL, taskID string) (*TaskDefinition, error) {
	td, _, err := c.get(ctx, rootURL, taskID)
	return td, err
}

// Task implements TaskFetcher from the cache.
func (c *TaskCache) Task(ctx context.Context, rootURL, taskID string) (json.RawMessage, error) {
	_, raw, err := c.get(ctx, rootURL, taskID)
	return raw, err
}

// Artifacts implements TaskFetcher, uncached.
func (c *TaskCache) Artifacts(ctx context.Context, rootURL, taskID string, runID int, token string) (ArtifactPage, error) {
	return c.next.Artifacts(ctx, rootURL, taskID, runID, token)
}

// Stats reports cache hits, misses and current size.
func (c *TaskCache) Stats() (hits, misses uint64, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, c.order.Len()
}

func (c *TaskCache) get(ctx context.Context, rootURL, taskID string) (*TaskDefinition, json.RawMessage, error) {
	key := rootURL + "\x00" + taskID
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		if c.now().Before(e.expires) {
			c.order.MoveToFront(el)
			c.hits++
			c.mu.Unlock()
			return e.task, e.raw, nil
		}
		c.order.Remove(el)
		delete(c.entries, key)
	}
	c.misses++
	if cl, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.task, cl.raw, cl.err
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[key] = cl
	c.mu.Unlock()

	cl.raw, cl.err = c.next.Task(ctx, rootURL, taskID)
	if cl.err != nil {
		cl.err = fmt.Errorf("fetch task %s: %w", taskID, cl.err)
	} else if cl.task, cl.err = ParseTaskDefinition(cl.raw); cl.err != nil {
		cl.err = fmt.Errorf("task %s: %w", taskID, cl.err)
	}

	c.mu.Lock()
	delete(c.inflight, key)
	if cl.err == nil {
		c.entries[key] = c.order.PushFront(&cacheEntry{key: key, task: cl.task, raw: cl.raw, expires: c.now().Add(c.ttl)})
		for c.order.Len() > c.maxEntries {
			oldest := c.order.Back()
			c.order.Remove(oldest)
			delete(c.entries, oldest.Value.(*cacheEntry).key)
		}
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.task, cl.raw, cl.err
}
