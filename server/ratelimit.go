package server

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit bounds writes per client with a token bucket: Burst requests at
// once, refilled at PerSecond. Zero fields take the defaults; a negative
// PerSecond turns limiting off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// Defaults: the pinboard saves up to 500 jobs at once, each a note and a
// bug link, so a sheriff's burst must fit about a thousand writes; a
// runaway script is then held to a steady 20 a second.
const (
	DefaultWriteRate  = 20
	DefaultWriteBurst = 1000
)

// limiter is a set of token buckets by key (a user, a client address).
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(l RateLimit, now func() time.Time) *limiter {
	if l.PerSecond == 0 {
		l.PerSecond = DefaultWriteRate
	}
	if l.Burst <= 0 {
		l.Burst = DefaultWriteBurst
	}
	return &limiter{rate: l.PerSecond, burst: float64(l.Burst), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket; when there is none it says how
// long until there is.
func (l *limiter) allow(key string) (time.Duration, bool) {
	if l == nil || l.rate < 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
}

// sweep forgets buckets that have refilled, once a minute, so memory stays
// bounded by the clients of the last few minutes.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute {
		return
	}
	l.lastSweep = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.at) > full {
			delete(l.buckets, k)
		}
	}
}

// tooManyRequests answers 429 in DRF's words, with Retry-After.
func tooManyRequests(w http.ResponseWriter, wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return writeError(w, http.StatusTooManyRequests, "Request was throttled. Expected available in "+strconv.Itoa(secs)+" second"+plural(secs)+".")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
