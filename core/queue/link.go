package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	dialTimeout   = 10 * time.Second
	heartbeat     = 10 * time.Second
	backoffFirst  = 100 * time.Millisecond
	backoffCap    = 5 * time.Second
	logEveryNth   = 10 // after the first failures, log one reconnect failure in this many
	logFirstFails = 3
)

// link is one AMQP connection that is redialled when lost. Callers ask for
// the live connection with get; whoever finds it closed dials a new one while
// the others wait for that dial, so a broker restart costs one reconnection
// per link, not one per consumer.
type link struct {
	url, where, name string
	log              hclog.Logger
	onConnect        func(*amqp.Connection) error // declares topology on every new connection
	reconnects       prometheus.Counter

	dialing chan struct{} // a one-slot semaphore held while dialling

	mu     sync.Mutex
	conn   *amqp.Connection
	closed bool
	dialed bool // a connection was made before: further ones are reconnects
}

func newLink(url, where, name string, log hclog.Logger, onConnect func(*amqp.Connection) error, reconnects prometheus.Counter) *link {
	return &link{url: url, where: where, name: name, log: log, onConnect: onConnect, reconnects: reconnects,
		dialing: make(chan struct{}, 1)}
}

// current returns the open connection, or nil.
func (l *link) current() (*amqp.Connection, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if l.conn != nil && !l.conn.IsClosed() {
		return l.conn, nil
	}
	return nil, nil
}

// get returns the open connection, dialling with backoff until ctx ends.
// Errors that another try cannot fix (bad credentials, an unknown vhost,
// queues declared with other arguments) end it at once.
func (l *link) get(ctx context.Context) (*amqp.Connection, error) {
	delay := backoffFirst
	for attempt := 1; ; attempt++ {
		conn, err := l.tryGet(ctx)
		if err == nil || errors.Is(err, ErrClosed) || permanent(err) {
			return conn, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("queue: connect to %s: %w (last error: %v)", l.where, ctx.Err(), err)
		}
		if attempt <= logFirstFails || attempt%logEveryNth == 0 {
			l.log.Warn("cannot reach the broker; retrying", "broker", l.where, "attempt", attempt, "retry_in", delay, "error", err)
		}
		// Jitter keeps several herder processes from redialling in step
		// after a broker restart.
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("queue: connect to %s: %w (last error: %v)", l.where, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(delay*2, backoffCap)
	}
}

// tryGet returns the open connection or makes one attempt to dial.
func (l *link) tryGet(ctx context.Context) (*amqp.Connection, error) {
	if c, err := l.current(); c != nil || err != nil {
		return c, err
	}
	select {
	case l.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("queue: connect to %s: %w", l.where, ctx.Err())
	}
	defer func() { <-l.dialing }()
	// Another caller may have dialled while this one waited.
	if c, err := l.current(); c != nil || err != nil {
		return c, err
	}
	conn, err := l.dial(ctx)
	if err != nil {
		return nil, err
	}
	if l.onConnect != nil {
		if err := l.onConnect(conn); err != nil {
			conn.Close()
			return nil, fmt.Errorf("queue: %w", err)
		}
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		conn.Close()
		return nil, ErrClosed
	}
	l.conn = conn
	again := l.dialed
	l.dialed = true
	l.mu.Unlock()
	if again {
		l.reconnects.Inc()
		l.log.Info("reconnected to the broker", "broker", l.where)
	} else {
		l.log.Debug("connected to the broker", "broker", l.where)
	}
	go l.watch(conn)
	return conn, nil
}

// dial makes one connection, giving up early if ctx ends (the abandoned
// dial's connection, if it arrives, is closed).
func (l *link) dial(ctx context.Context) (*amqp.Connection, error) {
	host, _ := os.Hostname()
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(fmt.Sprintf("%s %s/%d", l.name, host, os.Getpid()))
	type result struct {
		conn *amqp.Connection
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := amqp.DialConfig(l.url, amqp.Config{
			Heartbeat:  heartbeat,
			Properties: props,
			Dial:       amqp.DefaultDial(dialTimeout),
		})
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("queue: connect to %s: %w", l.where, r.err)
		}
		return r.conn, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, fmt.Errorf("queue: connect to %s: %w", l.where, ctx.Err())
	}
}

// watch logs how a connection ended and what the broker said about flow
// control. Both notification channels are buffered and drained to the end:
// amqp091 blocks its reader goroutine on a full notification channel.
func (l *link) watch(conn *amqp.Connection) {
	blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case b, ok := <-blocked:
			if !ok {
				blocked = nil
				continue
			}
			if b.Active {
				l.log.Warn("the broker is blocking publishers (a memory or disk alarm)", "reason", b.Reason)
			} else {
				l.log.Info("the broker unblocked publishers")
			}
		case err, ok := <-closed:
			if ok && err != nil {
				l.log.Warn("lost the broker connection", "broker", l.where, "error", err)
			}
			return
		}
	}
}

// close closes the connection for good.
func (l *link) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.conn == nil || l.conn.IsClosed() {
		return nil
	}
	err := l.conn.Close()
	if errors.Is(err, amqp.ErrClosed) {
		return nil
	}
	return err
}

// permanent says whether an error will recur on every try: the broker refused
// the credentials or vhost, or a queue exists with other arguments.
func permanent(err error) bool {
	if errors.Is(err, amqp.ErrCredentials) || errors.Is(err, amqp.ErrVhost) || errors.Is(err, amqp.ErrSASL) {
		return true
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.AccessRefused, amqp.PreconditionFailed, amqp.NotAllowed:
			return true
		}
	}
	return false
}
