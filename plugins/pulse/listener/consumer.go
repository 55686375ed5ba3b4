package listener

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/herder-ci/herder/sdk"
)

// Dead-letter headers.
const (
	HeaderReason     = "x-herder-reason"
	HeaderReasonCode = "x-herder-reason-code"
	HeaderExchange   = "x-herder-exchange"
	HeaderRoutingKey = "x-herder-routing-key"
	HeaderRootURL    = "x-herder-root-url"
	HeaderQueue      = "x-herder-queue"
)

// sendGrace is how long a Send in flight may finish after Run was told to
// stop, so a batch the host is storing is acknowledged rather than
// redelivered.
const sendGrace = 10 * time.Second

var errLost = errors.New("broker connection lost")

// consumer reads one source's queue, reconnecting when the broker goes away.
type consumer struct {
	cfg     *settings
	src     sourceSettings
	handler *handler
	sink    sdk.Sink
	stats   *stats
	log     *slog.Logger
}

func (c *consumer) run(ctx context.Context) {
	delay := time.Duration(c.cfg.ReconnectMin)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			c.stats.reconnects.Add(1)
		}
		started := time.Now()
		progressed, err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if progressed || time.Since(started) > time.Minute {
			delay = time.Duration(c.cfg.ReconnectMin)
		}
		wait := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		c.log.Warn("broker connection lost; reconnecting", "error", err, "retry_in", wait.Round(time.Millisecond).String())
		if sleep(ctx, wait) != nil {
			return
		}
		delay = min(delay*2, time.Duration(c.cfg.ReconnectMax))
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// session is one connection to the broker.
type session struct {
	c          *consumer
	conn       *amqp.Connection
	ch         *amqp.Channel // consumes
	dlq        *amqp.Channel // publishes dead letters, in confirm mode
	lost       chan struct{}
	lostErr    atomic.Pointer[error]
	held       []*heldMsg // only the consuming goroutine touches it
	progressed atomic.Bool

	// The committer hands batches to the host, dead-letters and acks, while
	// the consuming goroutine transforms the next batch.
	commits   chan *prepared
	failed    chan struct{}
	commitErr error // set before failed is closed
	committer sync.WaitGroup
}

// heldMsg is a message waiting to be tried again after an upstream failure.
type heldMsg struct {
	d        amqp.Delivery
	attempts int
	due      time.Time
	err      error
}

func (c *consumer) connect() (*session, error) {
	u := c.src.uri
	cfg := amqp.Config{
		Vhost:      u.Vhost,
		Heartbeat:  time.Duration(c.cfg.Heartbeat),
		Locale:     "en_US",
		Properties: amqp.NewConnectionProperties(),
		Dial:       amqp.DefaultDial(30 * time.Second),
	}
	cfg.Properties.SetClientConnectionName("herder-pulse " + c.src.queue)
	where := fmt.Sprintf("%s:%d vhost %q", u.Host, u.Port, u.Vhost)
	conn, err := amqp.DialConfig(u.String(), cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	s := &session{c: c, conn: conn, lost: make(chan struct{})}
	if err := s.setup(); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return s, nil
}

func (s *session) setup() error {
	c := s.c
	var err error
	if s.ch, err = s.conn.Channel(); err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := s.ch.Qos(c.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	for _, b := range c.src.bindings {
		if c.cfg.DeclareExchanges {
			err = s.ch.ExchangeDeclare(b.Exchange, amqp.ExchangeTopic, true, false, false, false, nil)
		} else {
			err = s.ch.ExchangeDeclarePassive(b.Exchange, amqp.ExchangeTopic, true, false, false, false, nil)
		}
		if err != nil {
			return fmt.Errorf("exchange %s: %w", b.Exchange, err)
		}
	}
	if _, err := s.ch.QueueDeclare(c.src.queue, *c.cfg.Durable, c.cfg.AutoDelete, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", c.src.queue, err)
	}
	for _, b := range c.src.bindings {
		for _, key := range b.RoutingKeys {
			if err := s.ch.QueueBind(c.src.queue, key, b.Exchange, false, nil); err != nil {
				return fmt.Errorf("bind %s to %s with %q: %w", c.src.queue, b.Exchange, key, err)
			}
		}
	}
	if s.dlq, err = s.conn.Channel(); err != nil {
		return fmt.Errorf("open dead-letter channel: %w", err)
	}
	if err := s.dlq.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	if _, err := s.dlq.QueueDeclare(c.cfg.DeadLetterQueue, true, false, false, false, amqp.Table{
		"x-max-length": int64(c.cfg.DeadLetterMaxLength),
		"x-overflow":   "drop-head",
	}); err != nil {
		return fmt.Errorf("declare dead-letter queue %s (an existing queue of that name must have the same x-max-length): %w", c.cfg.DeadLetterQueue, err)
	}
	connClose := s.conn.NotifyClose(make(chan *amqp.Error, 1))
	chClose := s.ch.NotifyClose(make(chan *amqp.Error, 1))
	dlqClose := s.dlq.NotifyClose(make(chan *amqp.Error, 1))
	cancelled := s.ch.NotifyCancel(make(chan string, 1))
	go func() {
		var err error = errLost
		select {
		case e := <-connClose:
			if e != nil {
				err = fmt.Errorf("%w: %v", errLost, e)
			}
		case e := <-chClose:
			if e != nil {
				err = fmt.Errorf("channel closed: %v", e)
			}
		case e := <-dlqClose:
			if e != nil {
				err = fmt.Errorf("dead-letter channel closed: %v", e)
			}
		case <-cancelled:
			err = fmt.Errorf("the broker cancelled the consumer (queue %s deleted?)", c.src.queue)
		}
		s.lostErr.Store(&err)
		close(s.lost)
	}()
	return nil
}

func (s *session) err() error {
	if p := s.lostErr.Load(); p != nil {
		return *p
	}
	return errLost
}

// session consumes until the connection fails or ctx ends. It reports
// whether any batch got through, which resets the reconnection backoff.
func (c *consumer) session(ctx context.Context) (bool, error) {
	s, err := c.connect()
	if err != nil {
		return false, err
	}
	defer func() { _ = s.conn.Close() }()
	deliveries, err := s.ch.Consume(c.src.queue, "", false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume %s: %w", c.src.queue, err)
	}
	c.log.Info("consuming", "bindings", len(c.src.bindings))
	s.commits, s.failed = make(chan *prepared), make(chan struct{})
	s.committer.Add(1)
	go s.commitLoop(ctx)
	err = s.consume(ctx, deliveries)
	// Let the batch being committed finish (its Send has a grace period
	// after ctx ends), so what the host stored is acknowledged.
	close(s.commits)
	s.committer.Wait()
	return s.progressed.Load(), err
}

func (s *session) consume(ctx context.Context, deliveries <-chan amqp.Delivery) error {
	batchSize, wait := s.c.cfg.BatchSize, time.Duration(s.c.cfg.BatchWait)
	batch := make([]amqp.Delivery, 0, batchSize)
	var batchTimer, retryTimer *time.Timer
	stop := func(t *time.Timer) {
		if t != nil {
			t.Stop()
		}
	}
	defer func() { stop(batchTimer); stop(retryTimer) }()
	for {
		var batchC, retryC <-chan time.Time
		if batchTimer != nil {
			batchC = batchTimer.C
		}
		stop(retryTimer)
		retryTimer = nil
		if due, ok := s.nextDue(); ok {
			retryTimer = time.NewTimer(time.Until(due))
			retryC = retryTimer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.lost:
			return s.err()
		case <-s.failed:
			return s.commitErr
		case d, ok := <-deliveries:
			if !ok {
				<-s.lost
				return s.err()
			}
			batch = append(batch, d)
			if len(batch) == 1 {
				batchTimer = time.NewTimer(wait)
			}
			if len(batch) < batchSize {
				continue
			}
		case <-batchC:
		case <-retryC:
		}
		stop(batchTimer)
		batchTimer = nil
		p := s.prepare(ctx, batch, s.takeDue(time.Now()))
		batch = make([]amqp.Delivery, 0, batchSize)
		if p == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case s.commits <- p:
		case <-s.failed:
			return s.commitErr
		case <-s.lost:
			return s.err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *session) nextDue() (time.Time, bool) {
	if len(s.held) == 0 {
		return time.Time{}, false
	}
	due := s.held[0].due
	for _, h := range s.held[1:] {
		if h.due.Before(due) {
			due = h.due
		}
	}
	return due, true
}

func (s *session) takeDue(now time.Time) []*heldMsg {
	var due []*heldMsg
	kept := s.held[:0]
	for _, h := range s.held {
		if !h.due.After(now) {
			due = append(due, h)
		} else {
			kept = append(kept, h)
		}
	}
	s.held = kept
	return due
}

// item is a message being handled, with the attempts made before.
type item struct {
	d        amqp.Delivery
	attempts int
	res      Result
}

// prepared is a transformed batch waiting to be committed.
type prepared struct {
	items   []item
	events  []sdk.Event
	evItem  []int // index in items of each event
	dead    []int
	settled []bool
	// multiAck: nothing was held for a retry when the batch was made, so
	// every earlier delivery is settled by the time it is committed and one
	// multiple-ack covers the batch.
	multiAck bool
}

// prepare transforms a batch (and the held messages now due) and sorts the
// results: events for the host, skips, dead letters, and messages to hold
// for another try. It returns nil when nothing is left to commit.
func (s *session) prepare(ctx context.Context, batch []amqp.Delivery, retried []*heldMsg) *prepared {
	c := s.c
	items := make([]item, 0, len(batch)+len(retried))
	for _, d := range batch {
		items = append(items, item{d: d})
	}
	for _, h := range retried {
		items = append(items, item{d: h.d, attempts: h.attempts})
	}
	if len(items) == 0 {
		return nil
	}
	c.stats.received.Add(uint64(len(batch)))
	c.transformAll(ctx, items)
	p := &prepared{items: items, settled: make([]bool, len(items))}
	now := time.Now()
	for i := range items {
		it := &items[i]
		switch it.res.Outcome {
		case Emit:
			p.events = append(p.events, it.res.Event)
			p.evItem = append(p.evItem, i)
		case Skip:
			c.stats.skip(it.res.Code)
			c.log.Debug("message skipped", "reason", it.res.Code, "exchange", it.d.Exchange,
				"routing_key", it.d.RoutingKey, "detail", it.res.Err)
			p.settled[i] = true
		case Retry:
			if ctx.Err() != nil {
				// Not a real failure: the message stays unacknowledged and
				// is delivered again after the restart.
				s.held = append(s.held, &heldMsg{d: it.d, attempts: it.attempts, due: now.Add(time.Hour), err: it.res.Err})
				continue
			}
			attempts := it.attempts + 1
			if attempts > c.cfg.RetryAttempts {
				it.res = Result{Outcome: DeadLetter, Code: it.res.Code,
					Err: fmt.Errorf("gave up after %d tries: %w", attempts, it.res.Err)}
				p.dead = append(p.dead, i)
				continue
			}
			backoff := min(time.Duration(c.cfg.RetryBackoff)<<(attempts-1), time.Minute)
			s.held = append(s.held, &heldMsg{d: it.d, attempts: attempts, due: now.Add(backoff), err: it.res.Err})
			c.stats.retries.Add(1)
			c.log.Info("upstream failed; will try the message again", "attempt", attempts, "retry_in", backoff.String(),
				"exchange", it.d.Exchange, "routing_key", it.d.RoutingKey, "error", it.res.Err)
		case DeadLetter:
			p.dead = append(p.dead, i)
		}
	}
	p.multiAck = len(s.held) == 0
	return p
}

// commitLoop commits prepared batches in order until the consumer stops
// or a commit fails.
func (s *session) commitLoop(ctx context.Context) {
	defer s.committer.Done()
	for p := range s.commits {
		if err := s.commit(ctx, p); err != nil {
			s.commitErr = err
			close(s.failed)
			for range s.commits {
				// The rest is delivered again on the next connection.
			}
			return
		}
	}
}

// commit hands a batch's events to the host in one Send, dead-letters the
// bad messages (and any event the host rejects for good), and acks what is
// settled.
func (s *session) commit(ctx context.Context, p *prepared) error {
	c := s.c
	if len(p.events) > 0 {
		rejected, err := s.sendAll(ctx, p.events)
		if err != nil {
			return err
		}
		for j := range p.events {
			i := p.evItem[j]
			if rerr, ok := rejected[j]; ok {
				p.items[i].res = Result{Outcome: DeadLetter, Code: "rejected_by_host", Err: rerr}
				p.dead = append(p.dead, i)
				continue
			}
			p.settled[i] = true
			if p.events[j].Job != nil {
				c.stats.jobs.Add(1)
			} else {
				c.stats.pushes.Add(1)
			}
		}
		c.stats.batches.Add(1)
		s.progressed.Store(true)
	}
	if err := s.deadLetter(ctx, p.items, p.dead); err != nil {
		return err
	}
	for _, i := range p.dead {
		p.settled[i] = true
	}
	return s.ack(p)
}

// transformAll handles items concurrently with the configured workers.
func (c *consumer) transformAll(ctx context.Context, items []item) {
	workers := min(c.cfg.Workers, len(items))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				items[i].res = c.handleSafely(ctx, items[i].d)
			}
		}()
	}
	wg.Wait()
}

func (c *consumer) handleSafely(ctx context.Context, d amqp.Delivery) (res Result) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while handling a message", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			res = Result{Outcome: DeadLetter, Code: "panic", Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	return c.handler.handle(ctx, Message{Exchange: d.Exchange, RoutingKey: d.RoutingKey, Body: d.Body, RootURL: c.src.RootURL})
}

// sendAll hands events to the host. A batch the host rejects for good is
// split so that only the events it refuses are dead-lettered; they come
// back by index.
func (s *session) sendAll(ctx context.Context, events []sdk.Event) (map[int]error, error) {
	err := s.send(ctx, events)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, sdk.ErrRejected) {
		return nil, err
	}
	if len(events) == 1 {
		return map[int]error{0: err}, nil
	}
	rejected := map[int]error{}
	for i := range events {
		err := s.send(ctx, events[i:i+1])
		switch {
		case err == nil:
		case errors.Is(err, sdk.ErrRejected):
			rejected[i] = err
		default:
			return nil, err
		}
	}
	return rejected, nil
}

// send retries a batch the host did not accept (its store may be briefly
// unavailable) with capped backoff, for as long as the broker connection
// holds the messages for us. It gives up when ctx ends or the connection is
// lost: the broker then delivers the messages again.
func (s *session) send(ctx context.Context, events []sdk.Event) error {
	delay := 100 * time.Millisecond
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sctx, cancel := graceContext(ctx, sendGrace)
		err := s.c.sink.Send(sctx, events...)
		cancel()
		if err == nil || errors.Is(err, sdk.ErrRejected) {
			return err
		}
		s.c.stats.sendFailures.Add(1)
		s.c.log.Warn("the host did not accept a batch; retrying", "events", len(events), "error", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.lost:
			return fmt.Errorf("send: %w (after: %v)", s.err(), err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// graceContext is a context that outlives ctx by grace: a call started
// before ctx ended may finish.
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return g, func() { stop(); cancel() }
}

// deadLetter publishes the given items to the dead-letter queue and waits
// for the broker to confirm every one.
func (s *session) deadLetter(ctx context.Context, items []item, which []int) error {
	if len(which) == 0 {
		return nil
	}
	c := s.c
	confirms := make([]*amqp.DeferredConfirmation, 0, len(which))
	for _, i := range which {
		it := &items[i]
		headers := amqp.Table{}
		for k, v := range it.d.Headers {
			headers[k] = v
		}
		reason := it.res.Err.Error()
		if len(reason) > 2000 {
			reason = reason[:2000] + "..."
		}
		headers[HeaderReason] = reason
		headers[HeaderReasonCode] = it.res.Code
		headers[HeaderExchange] = it.d.Exchange
		headers[HeaderRoutingKey] = it.d.RoutingKey
		headers[HeaderRootURL] = c.src.RootURL
		headers[HeaderQueue] = c.src.queue
		dc, err := s.dlq.PublishWithDeferredConfirmWithContext(ctx, "", c.cfg.DeadLetterQueue, false, false, amqp.Publishing{
			Headers:         headers,
			ContentType:     it.d.ContentType,
			ContentEncoding: it.d.ContentEncoding,
			DeliveryMode:    amqp.Persistent,
			MessageId:       it.d.MessageId,
			Timestamp:       time.Now(),
			Body:            it.d.Body,
		})
		if err != nil {
			return fmt.Errorf("publish to dead-letter queue %s: %w", c.cfg.DeadLetterQueue, err)
		}
		confirms = append(confirms, dc)
	}
	for _, dc := range confirms {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("dead-letter queue %s: waiting for the broker's confirmation: %w", c.cfg.DeadLetterQueue, err)
		}
		if !ok {
			return fmt.Errorf("dead-letter queue %s: the broker refused a message", c.cfg.DeadLetterQueue)
		}
	}
	for _, i := range which {
		it := &items[i]
		c.stats.deadLetter(it.res.Code)
		snap := c.stats.snapshot()
		c.log.Warn("message dead-lettered", "reason", it.res.Code, "error", it.res.Err,
			"exchange", it.d.Exchange, "routing_key", it.d.RoutingKey, "body_sha256", bodyHash(it.d.Body),
			"dead_lettered_total", sum(snap.DeadLettered))
	}
	return nil
}

// ack acknowledges a committed batch's settled messages.
func (s *session) ack(p *prepared) error {
	if p.multiAck {
		var last uint64
		for i := range p.items {
			if !p.settled[i] {
				return errors.New("internal: unsettled message in a batch acked as a whole")
			}
			last = max(last, p.items[i].d.DeliveryTag)
		}
		if err := s.ch.Ack(last, true); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
		return nil
	}
	for i := range p.items {
		if p.settled[i] {
			if err := s.ch.Ack(p.items[i].d.DeliveryTag, false); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
		}
	}
	return nil
}
