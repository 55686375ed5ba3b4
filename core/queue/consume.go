package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"
)

// drainGrace is how long Consume still waits, once the drain timeout passed
// and the handlers' context was cancelled, for handlers to return.
const drainGrace = time.Second

var consumerSeq atomic.Int64

// Consume runs h on workload's deliveries until ctx ends.
//
// A delivery is acknowledged only after h returned nil. An error from Reject
// dead-letters it with the reason (and acks it); any other error requeues it
// after RetryDelay (doubling per delivery), and the quorum queue dead-letters
// it once it was delivered more than DeliveryLimit times. Up to Prefetch
// handlers run at once.
//
// When ctx ends Consume cancels its consumer so no new deliveries arrive,
// returns deliveries not yet started to the queue, and waits up to
// DrainTimeout for the handlers under way; their context is cancelled only
// when that timeout passes. A lost connection or channel (a broker restart)
// is redialled with backoff; RabbitMQ redelivers whatever was unacknowledged,
// so a handler can see a message it already processed.
//
// It returns nil after ctx ended, ErrClosed if the broker was closed, and an
// error at once for an unknown workload.
func (b *Broker) Consume(ctx context.Context, workload string, h Handler) error {
	if err := checkWorkload(workload); err != nil {
		return err
	}
	if h == nil {
		return errors.New("queue: Consume needs a handler")
	}
	c := &consumer{
		b: b, workload: workload, queue: b.queueName(workload), h: h,
		log:  b.log.Named("consume").With("workload", workload),
		stop: ctx.Done(),
		sem:  make(chan struct{}, b.opts.Prefetch),
	}
	// Handlers outlive ctx by up to the drain timeout.
	c.hctx, c.hcancel = context.WithCancel(context.WithoutCancel(ctx))
	defer c.hcancel()

	var err error
	delay := backoffFirst
	for ctx.Err() == nil {
		var healthy bool
		healthy, err = c.session(ctx)
		if errors.Is(err, ErrClosed) {
			break
		}
		if ctx.Err() != nil {
			err = nil
			break
		}
		if healthy {
			delay = backoffFirst
		}
		if err != nil {
			c.log.Warn("consumer stopped; starting again", "retry_in", delay, "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, backoffCap)
	}
	c.drain()
	return err
}

type consumer struct {
	b        *Broker
	workload string
	queue    string
	h        Handler
	log      hclog.Logger
	stop     <-chan struct{} // Consume's ctx ended: drain
	hctx     context.Context // the handlers' context
	hcancel  context.CancelFunc
	sem      chan struct{} // one slot per running handler
	wg       sync.WaitGroup
	inFlight atomic.Int64

	drainOnce     sync.Once
	drainDeadline time.Time
}

// session consumes on one channel until the channel is lost (healthy says
// whether it got as far as consuming) or ctx ends (then it drains before
// closing the channel, so the handlers' acks can still reach the broker).
func (c *consumer) session(ctx context.Context) (healthy bool, err error) {
	conn, err := c.b.conLink.get(ctx)
	if err != nil {
		return false, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open a channel: %w", err)
	}
	defer ch.Close()
	// Declaring is idempotent and recreates the queues if someone deleted
	// them; a consumer on a missing queue would only fail.
	if err := ch.ExchangeDeclare(c.b.deadExchange(), amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return false, fmt.Errorf("declare exchange %s: %w", c.b.deadExchange(), err)
	}
	if err := c.b.declare(ch, c.workload); err != nil {
		return false, err
	}
	if err := ch.Qos(c.b.opts.Prefetch, 0, false); err != nil {
		return false, fmt.Errorf("set prefetch: %w", err)
	}
	host, _ := os.Hostname()
	tag := fmt.Sprintf("herder %s/%d %s #%d", host, os.Getpid(), c.workload, consumerSeq.Add(1))
	deliveries, err := ch.Consume(c.queue, tag, false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume from %s: %w", c.queue, err)
	}
	c.log.Debug("consuming", "queue", c.queue, "prefetch", c.b.opts.Prefetch)
	// gone tells handlers waiting to requeue that the channel is gone (and
	// with it their delivery, which the broker requeued already).
	gone := make(chan struct{})
	defer close(gone)
	for {
		select {
		case <-ctx.Done():
			if err := ch.Cancel(tag, false); err != nil {
				c.log.Debug("cancel consumer", "error", err)
			}
			// After basic.cancel-ok amqp091 still hands over what it had
			// buffered, then closes deliveries. Those were never started.
			for d := range deliveries {
				_ = d.Nack(false, true)
			}
			c.drain()
			return true, nil
		case d, ok := <-deliveries:
			if !ok {
				return true, errors.New("the channel closed (connection lost, or the broker cancelled the consumer)")
			}
			select {
			case c.sem <- struct{}{}:
			case <-ctx.Done():
				_ = d.Nack(false, true)
				continue
			}
			c.wg.Add(1)
			c.inFlight.Add(1)
			go c.handle(d, gone)
		}
	}
}

// drain waits for the running handlers until the drain deadline (set the
// first time drain runs), then cancels their context.
func (c *consumer) drain() {
	c.drainOnce.Do(func() { c.drainDeadline = time.Now().Add(c.b.opts.DrainTimeout) })
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(c.drainDeadline))
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	c.log.Warn("drain timeout: cancelling the handlers still running; their messages go back to the queue",
		"in_flight", c.inFlight.Load(), "drain_timeout", c.b.opts.DrainTimeout)
	c.hcancel()
	select {
	case <-done:
	case <-time.After(drainGrace):
	}
}

func (c *consumer) handle(d amqp.Delivery, gone <-chan struct{}) {
	defer c.wg.Done()
	defer func() { <-c.sem }()
	defer c.inFlight.Add(-1)

	dl := Delivery{
		ID: d.MessageId, Body: d.Body, Headers: map[string]any(d.Headers),
		DeliveryCount: deliveryCount(d.Headers), Redelivered: d.Redelivered,
	}
	start := time.Now()
	err := c.call(dl)
	c.b.metrics.duration.WithLabelValues(c.workload).Observe(time.Since(start).Seconds())

	if err == nil {
		if aerr := d.Ack(false); aerr != nil {
			c.log.Debug("ack failed; the message will be delivered again", "id", dl.ID, "error", aerr)
		}
		c.b.metrics.consumed.WithLabelValues(c.workload, outcomeAck).Inc()
		return
	}
	if reason, ok := IsRejected(err); ok {
		if perr := c.b.deadLetter(c.hctx, c.workload, d, reason, err); perr != nil {
			c.log.Warn("cannot dead-letter a rejected message; requeueing it", "id", dl.ID, "reason", reason, "error", perr)
			_ = d.Nack(false, true)
			c.b.metrics.consumed.WithLabelValues(c.workload, outcomeRequeue).Inc()
			return
		}
		c.log.Info("message rejected and dead-lettered", "id", dl.ID, "reason", reason, "error", err)
		if aerr := d.Ack(false); aerr != nil {
			// It is in the dead-letter queue and will come back once more.
			c.log.Debug("ack of a dead-lettered message failed", "id", dl.ID, "error", aerr)
		}
		c.b.metrics.consumed.WithLabelValues(c.workload, outcomeDead).Inc()
		return
	}

	last := dl.DeliveryCount > c.b.opts.DeliveryLimit
	if last {
		c.log.Error("handler failed on the last allowed delivery; the message goes to the dead-letter queue",
			"id", dl.ID, "deliveries", dl.DeliveryCount, "error", err)
	} else {
		c.log.Warn("handler failed; the message will be retried", "id", dl.ID, "deliveries", dl.DeliveryCount, "error", err)
		if delay := c.retryDelay(dl.DeliveryCount); delay > 0 && c.hctx.Err() == nil {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-c.stop:
			case <-gone:
			case <-c.hctx.Done():
			}
			t.Stop()
		}
	}
	_ = d.Nack(false, true)
	outcome := outcomeRequeue
	if last {
		outcome = outcomeDead
	}
	c.b.metrics.consumed.WithLabelValues(c.workload, outcome).Inc()
}

// call runs the handler, turning a panic into an error so one bad message
// cannot take the worker down (it is retried, then dead-lettered).
func (c *consumer) call(d Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panicked", "id", d.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return c.h(c.hctx, d)
}

func (c *consumer) retryDelay(deliveries int) time.Duration {
	base := c.b.opts.RetryDelay
	if base <= 0 {
		return 0
	}
	d := base
	for i := 1; i < deliveries && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}

// deliveryCount reads the quorum queue's x-delivery-count (absent on the
// first delivery) as the number of deliveries, this one included.
func deliveryCount(h amqp.Table) int {
	n, _ := intHeader(h["x-delivery-count"])
	return n + 1
}

func intHeader(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), true
	}
	return 0, false
}

// deadLetter publishes d to workload's dead-letter queue with the reason
// headers and waits for the broker's confirm.
func (b *Broker) deadLetter(ctx context.Context, workload string, d amqp.Delivery, reason string, err error) error {
	h := amqp.Table{}
	for k, v := range d.Headers {
		if !brokerHeader(k) {
			h[k] = v
		}
	}
	h[HeaderReason] = reason
	if err != nil {
		var r *rejectError
		if errors.As(err, &r) && r.err != nil {
			h[HeaderError] = r.err.Error()
		}
	}
	h[HeaderQueue] = b.queueName(workload)
	h[HeaderFailedAt] = time.Now().UTC().Format(time.RFC3339Nano)
	id := d.MessageId
	if id == "" {
		id = newID()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return b.pub.publish(ctx, []pubItem{{exchange: b.deadExchange(), key: b.deadName(workload), msg: amqp.Publishing{
		MessageId: id, Headers: h, Body: d.Body, Timestamp: d.Timestamp, ContentType: d.ContentType,
		DeliveryMode: amqp.Persistent, AppId: "herder",
	}}})
}
