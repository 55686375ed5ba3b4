package queue

import (
	"context"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// adminBatch is how many dead letters ReplayDead moves per confirm round trip.
const adminBatch = 100

// Status reports every workload's queue depth, consumers and dead letters.
func (b *Broker) Status(ctx context.Context) ([]QueueStatus, error) {
	ch, err := b.adminChannel(ctx)
	if err != nil {
		return nil, err
	}
	defer ch.Close()
	out := make([]QueueStatus, 0, len(Workloads))
	for _, w := range Workloads {
		q, err := ch.QueueDeclarePassive(b.queueName(w), true, false, false, false, nil)
		if err != nil {
			return nil, fmt.Errorf("queue: inspect %s: %w", b.queueName(w), err)
		}
		dq, err := ch.QueueDeclarePassive(b.deadName(w), true, false, false, false, nil)
		if err != nil {
			return nil, fmt.Errorf("queue: inspect %s: %w", b.deadName(w), err)
		}
		out = append(out, QueueStatus{Workload: w, Queue: q.Name, Messages: q.Messages, Consumers: q.Consumers, DeadMessages: dq.Messages})
	}
	return out, nil
}

// ReplayDead moves up to limit (0: all) messages from workload's dead-letter
// queue back to its work queue, oldest first, and returns how many it moved.
// Each batch is published (confirmed) before the dead copies are acked, so a
// failure part way leaves a message in both queues rather than in neither.
// The x-herder-* and RabbitMQ's dead-lettering headers are stripped, so a
// replayed message starts again with a full delivery limit. It stops at the
// first message it already replayed in this call (one that failed again
// meanwhile), so "all" never loops.
func (b *Broker) ReplayDead(ctx context.Context, workload string, limit int) (int, error) {
	if err := checkWorkload(workload); err != nil {
		return 0, err
	}
	ch, err := b.adminChannel(ctx)
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	dead := b.deadName(workload)
	if _, err := ch.QueueDeclarePassive(dead, true, false, false, false, nil); err != nil {
		return 0, fmt.Errorf("queue: inspect %s: %w", dead, err)
	}
	replayed := map[string]bool{}
	moved := 0
	for done := false; !done && (limit <= 0 || moved < limit); {
		if err := ctx.Err(); err != nil {
			return moved, err
		}
		var (
			items   []pubItem
			lastTag uint64
		)
		want := adminBatch
		if limit > 0 {
			want = min(want, limit-moved)
		}
		for len(items) < want {
			d, ok, err := ch.Get(dead, false)
			if err != nil {
				return moved, fmt.Errorf("queue: get from %s: %w", dead, err)
			}
			if !ok {
				done = true
				break
			}
			if d.MessageId != "" && replayed[d.MessageId] {
				_ = d.Nack(false, true)
				done = true
				break
			}
			lastTag = d.DeliveryTag
			h := amqp.Table{}
			for k, v := range d.Headers {
				if !brokerHeader(k) && !strings.HasPrefix(k, "x-herder-") {
					h[k] = v
				}
			}
			id := d.MessageId
			if id == "" {
				id = newID()
			}
			replayed[id] = true
			items = append(items, pubItem{key: b.queueName(workload), msg: amqp.Publishing{
				MessageId: id, Headers: h, Body: d.Body, Timestamp: d.Timestamp, ContentType: d.ContentType,
				DeliveryMode: amqp.Persistent, AppId: "herder",
			}})
		}
		if len(items) == 0 {
			break
		}
		if err := b.pub.publish(ctx, items); err != nil {
			_ = ch.Nack(lastTag, true, true)
			return moved, fmt.Errorf("queue: replay %s: %w", dead, err)
		}
		b.metrics.published.WithLabelValues(workload).Add(float64(len(items)))
		if err := ch.Ack(lastTag, true); err != nil {
			// Published but not acked: they stay dead as well and would
			// be replayed twice; handlers are idempotent.
			return moved, fmt.Errorf("queue: ack replayed messages in %s: %w", dead, err)
		}
		moved += len(items)
	}
	return moved, nil
}

// DeadLetters lists up to limit (0: all) messages in workload's dead-letter
// queue, oldest first, without removing them: they are fetched
// unacknowledged and then returned to the queue.
func (b *Broker) DeadLetters(ctx context.Context, workload string, limit int) ([]DeadLetter, error) {
	if err := checkWorkload(workload); err != nil {
		return nil, err
	}
	ch, err := b.adminChannel(ctx)
	if err != nil {
		return nil, err
	}
	// Closing the channel would return the fetched messages as well; the
	// explicit nack below is the normal path.
	defer ch.Close()
	dead := b.deadName(workload)
	q, err := ch.QueueDeclarePassive(dead, true, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("queue: inspect %s: %w", dead, err)
	}
	var (
		out     []DeadLetter
		lastTag uint64
	)
	// Every message stays unacknowledged until the end: a quorum queue puts
	// a returned message back at the head, so returning each one at once
	// would fetch the same message again and again.
	for limit <= 0 || len(out) < limit {
		d, ok, err := ch.Get(dead, false)
		if err != nil {
			return nil, fmt.Errorf("queue: get from %s: %w", dead, err)
		}
		if !ok {
			break
		}
		lastTag = d.DeliveryTag
		out = append(out, b.describeDead(d))
	}
	if lastTag == 0 {
		return out, nil
	}
	if err := ch.Nack(lastTag, true, true); err != nil {
		return nil, fmt.Errorf("queue: return messages to %s: %w", dead, err)
	}
	// The quorum queue applies the return asynchronously; wait (briefly)
	// until the messages count as ready again, so a Status or ReplayDead
	// right after this sees them.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		again, err := ch.QueueDeclarePassive(dead, true, false, false, false, nil)
		if err != nil || again.Messages >= q.Messages {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return out, nil
}

// describeDead says why a message was dead-lettered: the reason a handler
// gave to Reject, or RabbitMQ's own (x-death), such as the delivery limit.
func (b *Broker) describeDead(d amqp.Delivery) DeadLetter {
	dl := DeadLetter{ID: d.MessageId, Body: d.Body, Reason: "unknown"}
	if r, ok := d.Headers[HeaderReason].(string); ok {
		dl.Reason = r
		if e, ok := d.Headers[HeaderError].(string); ok && e != "" {
			dl.Reason += ": " + e
		}
		if s, ok := d.Headers[HeaderFailedAt].(string); ok {
			dl.FailedAt, _ = time.Parse(time.RFC3339Nano, s)
		}
		return dl
	}
	deaths, _ := d.Headers["x-death"].([]any)
	if len(deaths) == 0 {
		return dl
	}
	// The most recent death comes first.
	death, _ := deaths[0].(amqp.Table)
	reason, _ := death["reason"].(string)
	if t, ok := death["time"].(time.Time); ok {
		dl.FailedAt = t
	}
	switch reason {
	case "delivery_limit":
		n := b.opts.DeliveryLimit + 1
		if c, ok := intHeader(d.Headers["x-delivery-count"]); ok && c > 0 {
			n = c
		}
		dl.Reason = fmt.Sprintf("delivery limit exceeded (%d)", n)
	case "":
	default:
		dl.Reason = "dead-lettered by RabbitMQ: " + reason
	}
	return dl
}

// brokerHeader says whether RabbitMQ set header k while delivering or
// dead-lettering; a message published again must not carry it.
func brokerHeader(k string) bool {
	switch k {
	case "x-delivery-count", "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
		"x-last-death-exchange", "x-last-death-queue", "x-last-death-reason":
		return true
	}
	return false
}

// adminChannel opens a plain channel on the publishing connection.
func (b *Broker) adminChannel(ctx context.Context) (*amqp.Channel, error) {
	conn, err := b.pubLink.get(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("queue: open a channel: %w", err)
	}
	return ch, nil
}
