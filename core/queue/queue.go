// Package queue holds herder's durable work queues on RabbitMQ: one quorum
// queue per workload with a delivery limit and a dead-letter queue, publisher
// confirms, manual acknowledgements after the handler committed, reconnection
// with backoff and a graceful drain.
//
// Every message may be delivered more than once (a lost ack, a reconnect, a
// publisher retry after a lost confirm): handlers must be idempotent.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Workloads: one queue each, so one backlog never starves another.
const (
	Store          = "store"           // event batches from source plugins, stored by workers
	LogsFailed     = "logs.failed"     // parse logs of failed jobs
	LogsOther      = "logs.other"      // parse other raw logs
	LogsStructured = "logs.structured" // structured (json) logs
	Bugs           = "bugs"            // bug matching
	Perf           = "perf"            // performance data
)

// Workloads lists every workload; Dial declares a queue pair for each.
var Workloads = []string{Store, LogsFailed, LogsOther, LogsStructured, Bugs, Perf}

// IsWorkload says whether name is one of Workloads.
func IsWorkload(name string) bool { return slices.Contains(Workloads, name) }

// Headers herder sets on the messages it dead-letters itself (Reject).
const (
	HeaderReason   = "x-herder-reason"    // the reason given to Reject
	HeaderError    = "x-herder-error"     // the handler's error text, when there was one
	HeaderQueue    = "x-herder-queue"     // the work queue the message failed on
	HeaderFailedAt = "x-herder-failed-at" // RFC 3339 time of the failure
)

const (
	defaultPrefix        = "herder"
	defaultPrefetch      = 100 // the same defaults as the config's queue block
	defaultDeliveryLimit = 5
	defaultDrainTimeout  = 30 * time.Second
	defaultRetryDelay    = time.Second
	maxRetryDelay        = 30 * time.Second
)

var prefixRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Options configure a Broker. Zero values take the defaults noted.
type Options struct {
	URL           string        // amqp://user:pass@host:5672/vhost
	Prefix        string        // queue and exchange name prefix, default "herder"
	Prefetch      int           // deliveries in flight per Consume call, default 100
	DeliveryLimit int           // x-delivery-limit of the work queues, default 5
	DrainTimeout  time.Duration // how long in-flight handlers may finish after Consume's ctx ends, default 30s
	Log           hclog.Logger
	Registry      prometheus.Registerer // may be nil
	// RetryDelay is how long a delivery whose handler failed (not Reject) is
	// held before it is requeued; it doubles with each delivery of the same
	// message, up to 30s. Without it a quorum queue hands the message straight
	// back and a short outage (a database restart) would use up the delivery
	// limit in milliseconds. Default 1s; negative: requeue at once.
	RetryDelay time.Duration
}

// Message is one message to publish. ID is the AMQP message id (generated
// when empty); it is how dead letters are listed and how duplicates can be
// recognised.
type Message struct {
	ID      string
	Body    []byte
	Headers map[string]any
}

// Delivery is a message handed to a Handler. DeliveryCount is how many times
// the message has been delivered, this time included (1 on the first
// delivery); Redelivered is RabbitMQ's flag (an earlier delivery may have been
// processed but not acknowledged). Header values come back in AMQP's types
// (integers as int64 or int32, nested tables as amqp091.Table); RabbitMQ
// adds its own, such as x-delivery-count.
type Delivery struct {
	ID            string
	Body          []byte
	Headers       map[string]any
	DeliveryCount int
	Redelivered   bool
}

// Handler processes one delivery. nil acknowledges it; an error from Reject
// dead-letters it at once; any other error requeues it for another try.
type Handler func(ctx context.Context, d Delivery) error

// QueueStatus is one workload's queue. Messages counts ready messages (not
// those delivered and awaiting an ack); DeadMessages those in its dead-letter
// queue.
type QueueStatus struct {
	Workload, Queue                   string
	Messages, Consumers, DeadMessages int
}

// DeadLetter is a message in a dead-letter queue, as `herder queues dead`
// lists it.
type DeadLetter struct {
	ID, Reason string
	FailedAt   time.Time
	Body       []byte
}

// ErrClosed is returned by a Broker's methods after Close.
var ErrClosed = errors.New("queue: broker closed")

type rejectError struct {
	reason string
	err    error
}

func (e *rejectError) Error() string {
	if e.err == nil {
		return "rejected: " + e.reason
	}
	return "rejected: " + e.reason + ": " + e.err.Error()
}

func (e *rejectError) Unwrap() error { return e.err }

// Reject marks a handler error as final: the message goes to the workload's
// dead-letter queue with reason (header x-herder-reason, also x-herder-queue,
// x-herder-failed-at) and is acked; it is never retried. err may be nil.
func Reject(reason string, err error) error { return &rejectError{reason: reason, err: err} }

// IsRejected reports whether err (or an error it wraps) came from Reject, and
// the reason given.
func IsRejected(err error) (reason string, ok bool) {
	var r *rejectError
	if errors.As(err, &r) {
		return r.reason, true
	}
	return "", false
}

// Broker is a connection pair to RabbitMQ: one connection publishes on a
// confirm-mode channel, the other carries a channel per Consume call, so a
// publisher throttled by the broker's flow control never stalls consumers'
// acks. Its methods are safe for concurrent use.
type Broker struct {
	opts    Options
	log     hclog.Logger
	metrics *metrics
	pubLink *link
	conLink *link
	pub     *publisher
}

// Dial connects to RabbitMQ, retrying with backoff until ctx ends, and
// declares the topology: for each workload a quorum queue <prefix>.<workload>
// with x-delivery-limit and a dead-letter queue <prefix>.<workload>.dead bound
// to the direct exchange <prefix>.dead.
func Dial(ctx context.Context, o Options) (*Broker, error) {
	if o.URL == "" {
		return nil, errors.New("queue: no broker URL")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
		return nil, errors.New("queue: the broker URL must be amqp://user:password@host:5672/vhost or amqps://...")
	}
	if o.Prefix == "" {
		o.Prefix = defaultPrefix
	}
	if !prefixRe.MatchString(o.Prefix) {
		return nil, fmt.Errorf("queue: prefix %q: use letters, digits, '_', '-' and '.', at most 64 characters", o.Prefix)
	}
	if o.Prefetch <= 0 {
		o.Prefetch = defaultPrefetch
	}
	if o.DeliveryLimit <= 0 {
		o.DeliveryLimit = defaultDeliveryLimit
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = defaultDrainTimeout
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = defaultRetryDelay
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	m, err := newMetrics(o.Registry)
	if err != nil {
		return nil, fmt.Errorf("queue: register metrics: %w", err)
	}
	b := &Broker{opts: o, log: o.Log.Named("queue"), metrics: m}
	where := u.Redacted()
	b.pubLink = newLink(o.URL, where, "herder publish ("+o.Prefix+")", b.log.Named("publish"), b.declareAll, m.reconnects.WithLabelValues("publish"))
	b.conLink = newLink(o.URL, where, "herder consume ("+o.Prefix+")", b.log.Named("consume"), nil, m.reconnects.WithLabelValues("consume"))
	b.pub = &publisher{link: b.pubLink, lock: make(chan struct{}, 1), returned: map[string]bool{}}
	if _, err := b.pubLink.get(ctx); err != nil {
		b.Close()
		return nil, err
	}
	if _, err := b.conLink.get(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Close closes both connections. Consume calls still running see their
// channels close and return; unacknowledged deliveries go back to their
// queues.
func (b *Broker) Close() error {
	return errors.Join(b.pubLink.close(), b.conLink.close())
}

// Ping is for readiness: the publishing connection is open (reconnecting once
// if it was lost) and a channel opens on it.
func (b *Broker) Ping(ctx context.Context) error {
	conn, err := b.pubLink.tryGet(ctx)
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("queue: open a channel: %w", err)
	}
	return ch.Close()
}

// Topology names what a prefix declares on the broker: every workload's
// queue and dead-letter queue, and the dead-letter exchange.
func Topology(prefix string) (queues []string, deadExchange string) {
	for _, w := range Workloads {
		queues = append(queues, prefix+"."+w, prefix+"."+w+".dead")
	}
	return queues, prefix + ".dead"
}

func (b *Broker) queueName(workload string) string { return b.opts.Prefix + "." + workload }
func (b *Broker) deadName(workload string) string  { return b.opts.Prefix + "." + workload + ".dead" }
func (b *Broker) deadExchange() string             { return b.opts.Prefix + ".dead" }

func checkWorkload(workload string) error {
	if !IsWorkload(workload) {
		return fmt.Errorf("queue: unknown workload %q (want one of %v)", workload, Workloads)
	}
	return nil
}

// declareAll declares the dead-letter exchange and every workload's queues on
// a fresh connection; it is idempotent, so it runs after every reconnect and
// recreates anything deleted meanwhile.
func (b *Broker) declareAll(conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open a channel to declare queues: %w", err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(b.deadExchange(), amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", b.deadExchange(), err)
	}
	for _, w := range Workloads {
		if err := b.declare(ch, w); err != nil {
			return err
		}
	}
	return nil
}

// declare declares one workload's queue pair on ch (the exchange must exist).
func (b *Broker) declare(ch *amqp.Channel, workload string) error {
	dead := b.deadName(workload)
	if _, err := ch.QueueDeclare(dead, true, false, false, false, amqp.Table{
		amqp.QueueTypeArg: amqp.QueueTypeQuorum,
	}); err != nil {
		return fmt.Errorf("declare queue %s: %w", dead, err)
	}
	if err := ch.QueueBind(dead, dead, b.deadExchange(), false, nil); err != nil {
		return fmt.Errorf("bind queue %s to %s: %w", dead, b.deadExchange(), err)
	}
	q := b.queueName(workload)
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{
		amqp.QueueTypeArg:           amqp.QueueTypeQuorum,
		"x-delivery-limit":          int64(b.opts.DeliveryLimit),
		"x-dead-letter-exchange":    b.deadExchange(),
		"x-dead-letter-routing-key": dead,
		"x-dead-letter-strategy":    "at-least-once",
		// At-least-once dead-lettering (RabbitMQ 3.10+) keeps a message in the
		// work queue until the dead-letter queue confirmed it; it needs
		// reject-publish overflow, which only matters with a length limit.
		amqp.QueueOverflowArg: amqp.QueueOverflowRejectPublish,
	}); err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
			return fmt.Errorf("declare queue %s: %w (a queue's arguments are fixed when it is created: "+
				"after changing delivery_limit, delete the queue once it is empty, or set the limit with a RabbitMQ policy)", q, err)
		}
		return fmt.Errorf("declare queue %s: %w", q, err)
	}
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
