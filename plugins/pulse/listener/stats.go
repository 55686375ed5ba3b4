package listener

import (
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
)

// stats counts what the listener did, for its periodic log line. The host
// counts stored and refused events in its own metrics; these are the counts
// only the plugin sees (skips, dead letters, retries, reconnections).
type stats struct {
	received     atomic.Uint64
	jobs         atomic.Uint64
	pushes       atomic.Uint64
	batches      atomic.Uint64
	sendFailures atomic.Uint64
	retries      atomic.Uint64
	reconnects   atomic.Uint64

	mu      sync.Mutex
	skipped map[string]uint64
	dead    map[string]uint64
}

func newStats() *stats {
	return &stats{skipped: map[string]uint64{}, dead: map[string]uint64{}}
}

func (s *stats) skip(code string) {
	s.mu.Lock()
	s.skipped[code]++
	s.mu.Unlock()
}

func (s *stats) deadLetter(code string) {
	s.mu.Lock()
	s.dead[code]++
	s.mu.Unlock()
}

// Snapshot is a copy of the counters.
type Snapshot struct {
	Received, Jobs, Pushes, Batches, SendFailures, Retries, Reconnects uint64
	Skipped, DeadLettered                                              map[string]uint64
}

func (s *stats) snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Snapshot{
		Received: s.received.Load(), Jobs: s.jobs.Load(), Pushes: s.pushes.Load(), Batches: s.batches.Load(),
		SendFailures: s.sendFailures.Load(), Retries: s.retries.Load(), Reconnects: s.reconnects.Load(),
		Skipped: maps.Clone(s.skipped), DeadLettered: maps.Clone(s.dead),
	}
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

func (s *stats) log(l *slog.Logger, msg string) {
	snap := s.snapshot()
	l.Info(msg,
		"received", snap.Received, "jobs", snap.Jobs, "pushes", snap.Pushes, "batches", snap.Batches,
		"skipped", sum(snap.Skipped), "skipped_by_reason", snap.Skipped,
		"dead_lettered", sum(snap.DeadLettered), "dead_lettered_by_reason", snap.DeadLettered,
		"retries", snap.Retries, "send_failures", snap.SendFailures, "reconnects", snap.Reconnects)
}
