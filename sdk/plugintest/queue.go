package plugintest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Queue is a tiny at-least-once message queue served over HTTP, the kind of
// upstream a source reads: consumers lease messages, acknowledge those they
// handed to the host and nack the others; a lease that runs out (the consumer
// crashed) makes its messages deliverable again. It counts deliveries and
// acks, so tests can check a source acknowledged only what the host accepted.
//
// Protocol (JSON):
//
//	GET  /lease?max=N&lease_ms=M  -> [{"id": "...", "body": <raw JSON>, "deliveries": k}]
//	POST /ack   {"ids": [...]}
//	POST /nack  {"ids": [...]}
//
// The test source under sdk/plugintest/internal/testplugins/source reads it.
type Queue struct {
	URL string

	mu     sync.Mutex
	msgs   map[string]*queueMsg
	order  []string
	acks   int
	nacks  int
	leases int
	now    func() time.Time
	srv    *httptest.Server
}

type queueMsg struct {
	id          string
	body        json.RawMessage
	leasedUntil time.Time
	deliveries  int
	acked       bool
}

// QueueMessage is one leased message on the wire.
type QueueMessage struct {
	ID         string          `json:"id"`
	Body       json.RawMessage `json:"body,omitempty"`
	Deliveries int             `json:"deliveries"`
}

// NewQueue starts a queue; it stops when the test ends.
func NewQueue(t testing.TB) *Queue {
	q := &Queue{msgs: map[string]*queueMsg{}, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lease", q.handleLease)
	mux.HandleFunc("POST /ack", func(w http.ResponseWriter, r *http.Request) { q.handleSettle(w, r, true) })
	mux.HandleFunc("POST /nack", func(w http.ResponseWriter, r *http.Request) { q.handleSettle(w, r, false) })
	q.srv = httptest.NewServer(mux)
	q.URL = q.srv.URL
	t.Cleanup(q.srv.Close)
	return q
}

// Put enqueues a message. body may be nil; the test source then makes a job
// event whose guid is the id.
func (q *Queue) Put(id string, body json.RawMessage) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.msgs[id]; ok {
		return
	}
	q.msgs[id] = &queueMsg{id: id, body: body}
	q.order = append(q.order, id)
}

// Publish implements Upstream: input i becomes message "m-<i>", and the test
// source emits it as an event with that ID.
func (q *Queue) Publish(_ context.Context, i int) (string, error) {
	id := "m-" + strconv.Itoa(i)
	q.Put(id, nil)
	return id, nil
}

// Unacked implements Upstream.
func (q *Queue) Unacked() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, id := range q.order {
		if !q.msgs[id].acked {
			out = append(out, id)
		}
	}
	return out
}

// QueueStats counts what happened on a queue.
type QueueStats struct {
	Messages, Acked, Unacked, Deliveries, Redeliveries, AckCalls, NackCalls int
}

// Stats reports counts so far.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := QueueStats{Messages: len(q.order), AckCalls: q.acks, NackCalls: q.nacks}
	for _, m := range q.msgs {
		if m.acked {
			s.Acked++
		} else {
			s.Unacked++
		}
		s.Deliveries += m.deliveries
		if m.deliveries > 1 {
			s.Redeliveries += m.deliveries - 1
		}
	}
	return s
}

func (q *Queue) handleLease(w http.ResponseWriter, r *http.Request) {
	max, _ := strconv.Atoi(r.URL.Query().Get("max"))
	if max <= 0 {
		max = 100
	}
	leaseMS, _ := strconv.Atoi(r.URL.Query().Get("lease_ms"))
	if leaseMS <= 0 {
		leaseMS = 1000
	}
	q.mu.Lock()
	now := q.now()
	out := make([]QueueMessage, 0, max)
	for _, id := range q.order {
		if len(out) == max {
			break
		}
		m := q.msgs[id]
		if m.acked || now.Before(m.leasedUntil) {
			continue
		}
		m.leasedUntil = now.Add(time.Duration(leaseMS) * time.Millisecond)
		m.deliveries++
		out = append(out, QueueMessage{ID: m.id, Body: m.body, Deliveries: m.deliveries})
	}
	q.leases++
	q.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (q *Queue) handleSettle(w http.ResponseWriter, r *http.Request, ack bool) {
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&req); err != nil {
		http.Error(w, fmt.Sprintf("decode ids: %v", err), http.StatusBadRequest)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if ack {
		q.acks++
	} else {
		q.nacks++
	}
	for _, id := range req.IDs {
		m, ok := q.msgs[id]
		if !ok {
			continue
		}
		if ack {
			m.acked = true
		} else if !m.acked {
			m.leasedUntil = time.Time{}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
