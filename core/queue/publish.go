package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Publish sends persistent messages to workload's queue and returns nil only
// when the broker confirmed every one of them (stored in the quorum queue's
// log). A nack, a message the broker could not route (its queue is gone) or
// a lost connection is an error; some of the messages may have been stored
// all the same, so the caller retries the whole call and relies on consumers
// being idempotent. Connecting waits for the broker until ctx ends.
func (b *Broker) Publish(ctx context.Context, workload string, msgs ...Message) error {
	if err := checkWorkload(workload); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	now := time.Now()
	items := make([]pubItem, len(msgs))
	for i, m := range msgs {
		id := m.ID
		if id == "" {
			id = newID()
		}
		h := amqp.Table(m.Headers)
		if err := h.Validate(); err != nil {
			return fmt.Errorf("queue: publish to %s: message %s: headers: %w", workload, id, err)
		}
		items[i] = pubItem{key: b.queueName(workload), msg: amqp.Publishing{
			MessageId: id, Headers: h, Body: m.Body, Timestamp: now,
			DeliveryMode: amqp.Persistent, AppId: "herder",
		}}
	}
	if err := b.pub.publish(ctx, items); err != nil {
		return fmt.Errorf("queue: publish %d messages to %s: %w", len(msgs), workload, err)
	}
	b.metrics.published.WithLabelValues(workload).Add(float64(len(msgs)))
	return nil
}

type pubItem struct {
	exchange, key string
	msg           amqp.Publishing
}

// publisher owns the publishing connection's one confirm-mode channel.
//
// Confirms are awaited through deferred confirmations rather than
// NotifyPublish: amqp091's reader goroutine blocks on a full NotifyPublish
// channel while Publish waits for a lock it holds, a known deadlock
// (rabbitmq/amqp091-go#10, streadway/amqp#254). Messages are published
// mandatory so an unroutable one comes back as a basic.return, which RabbitMQ
// sends before the ack; returns are read into a buffered channel that every
// waiting publisher drains, so the reader never blocks on it either.
type publisher struct {
	link *link

	// lock (a one-slot semaphore, so waiting honours ctx) serialises
	// publishing on ch and guards ch and returns.
	lock    chan struct{}
	ch      *amqp.Channel
	returns chan amqp.Return

	rmu      sync.Mutex
	returned map[string]bool // message ids returned unroutable, until their publisher looks
}

// channel returns the confirm-mode channel, opening one on the live
// connection if needed. p.lock must be held.
func (p *publisher) channel(ctx context.Context) (*amqp.Channel, chan amqp.Return, error) {
	if p.ch != nil && !p.ch.IsClosed() {
		return p.ch, p.returns, nil
	}
	conn, err := p.link.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil, nil, fmt.Errorf("open a channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, nil, fmt.Errorf("put the channel in confirm mode: %w", err)
	}
	p.ch = ch
	p.returns = ch.NotifyReturn(make(chan amqp.Return, 256))
	p.rmu.Lock()
	clear(p.returned) // ids from the old channel can no longer be asked about
	p.rmu.Unlock()
	return ch, p.returns, nil
}

func (p *publisher) publish(ctx context.Context, items []pubItem) error {
	select {
	case p.lock <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting to publish: %w", ctx.Err())
	}
	unlock := func() { <-p.lock }
	ch, returns, err := p.channel(ctx)
	if err != nil {
		unlock()
		return err
	}
	confirms := make([]*amqp.DeferredConfirmation, 0, len(items))
	for _, it := range items {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, it.exchange, it.key, true, false, it.msg)
		if err != nil {
			unlock()
			go p.drainUntil(returns, confirms)
			return fmt.Errorf("send: %w", err)
		}
		confirms = append(confirms, dc)
	}
	unlock()

	// Wait outside the lock so concurrent publishers pipeline their batches.
	for i, dc := range confirms {
	wait:
		for {
			select {
			case r, ok := <-returns:
				if !ok {
					returns = nil // channel closed: the pending confirms resolve as nacks
					continue
				}
				p.noteReturn(r)
			case <-dc.Done():
				break wait
			case <-ctx.Done():
				// Whenever it gives up early, publish keeps reading returns
				// until the rest is confirmed, or the connection's reader
				// goroutine could block on them.
				go p.drainUntil(returns, confirms[i:])
				return fmt.Errorf("waiting for the broker's confirms: %w", ctx.Err())
			}
		}
		if !dc.Acked() {
			go p.drainUntil(returns, confirms[i+1:])
			if ch.IsClosed() {
				return errors.New("the channel closed before the broker confirmed every message")
			}
			return errors.New("the broker refused (nacked) a message")
		}
	}
	// Returns precede their acks, so every return for these messages is
	// recorded or waiting in the buffer by now.
	for drained := false; !drained && returns != nil; {
		select {
		case r, ok := <-returns:
			if !ok {
				drained = true
			} else {
				p.noteReturn(r)
			}
		default:
			drained = true
		}
	}
	p.rmu.Lock()
	defer p.rmu.Unlock()
	var lost []string
	for _, it := range items {
		if p.returned[it.msg.MessageId] {
			delete(p.returned, it.msg.MessageId)
			lost = append(lost, it.key)
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("%d messages were unroutable (does queue %s exist?)", len(lost), lost[0])
	}
	return nil
}

func (p *publisher) drainUntil(returns chan amqp.Return, confirms []*amqp.DeferredConfirmation) {
	for _, dc := range confirms {
		for {
			select {
			case r, ok := <-returns:
				if !ok {
					return
				}
				p.noteReturn(r)
				continue
			case <-dc.Done():
			}
			break
		}
	}
}

func (p *publisher) noteReturn(r amqp.Return) {
	p.rmu.Lock()
	p.returned[r.MessageId] = true
	p.rmu.Unlock()
}
