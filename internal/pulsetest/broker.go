package pulsetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/herder-ci/herder/internal/testenv"
)

// Broker is a fresh vhost on the test RabbitMQ, deleted when the test ends,
// so tests can use the real exchange names without meeting each other.
type Broker struct {
	// URL is the AMQP URL of the vhost.
	URL   string
	Vhost string
	// User is the AMQP user (queue names are queue/<user>/...).
	User string
	mgmt string
	pass string
}

// NewBroker makes a vhost on the broker of baseURL (HERDER_TEST_AMQP_URL)
// through the management API (HERDER_TEST_AMQP_MGMT_URL, default
// http://<host>:15672), and grants the URL's user every permission on it.
func NewBroker(t testing.TB, baseURL string) *Broker {
	t.Helper()
	uri, err := amqp.ParseURI(baseURL)
	if err != nil {
		t.Fatalf("HERDER_TEST_AMQP_URL is malformed")
	}
	mgmt := os.Getenv("HERDER_TEST_AMQP_MGMT_URL")
	if mgmt == "" {
		mgmt = "http://" + uri.Host + ":15672"
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	b := &Broker{Vhost: "herder-test-" + hex.EncodeToString(rnd[:]), User: uri.Username, mgmt: strings.TrimRight(mgmt, "/"), pass: uri.Password}
	if err := b.api(http.MethodPut, "/api/vhosts/"+url.PathEscape(b.Vhost), nil); err != nil {
		testenv.Missing(t, "RabbitMQ management API at %s not usable (%v): run `bash scripts/services.sh`", b.mgmt, err)
	}
	t.Cleanup(func() { _ = b.api(http.MethodDelete, "/api/vhosts/"+url.PathEscape(b.Vhost), nil) })
	perms := []byte(`{"configure":".*","write":".*","read":".*"}`)
	if err := b.api(http.MethodPut, "/api/permissions/"+url.PathEscape(b.Vhost)+"/"+url.PathEscape(uri.Username), perms); err != nil {
		t.Fatalf("grant permissions on %s: %v", b.Vhost, err)
	}
	uri.Vhost = b.Vhost
	b.URL = uri.String()
	return b
}

func (b *Broker) api(method, path string, body []byte) error {
	req, err := http.NewRequest(method, b.mgmt+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(b.User, b.pass)
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	return nil
}

// Dial connects to the vhost.
func (b *Broker) Dial(t testing.TB) *amqp.Connection {
	t.Helper()
	conn, err := amqp.Dial(b.URL)
	if err != nil {
		t.Fatalf("dial the test broker: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// DeclareExchanges declares durable topic exchanges, as Pulse's publishers do.
func (b *Broker) DeclareExchanges(t testing.TB, names ...string) {
	t.Helper()
	conn := b.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	for _, n := range names {
		if err := ch.ExchangeDeclare(n, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			t.Fatalf("declare exchange %s: %v", n, err)
		}
	}
}

// DeclareQueue declares a durable queue bound to exchanges with "#", as the
// plugin would, so that messages published before the plugin starts are
// kept.
func (b *Broker) DeclareQueue(t testing.TB, name string, exchanges ...string) {
	t.Helper()
	conn := b.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
		t.Fatalf("declare queue %s: %v", name, err)
	}
	for _, e := range exchanges {
		if err := ch.QueueBind(name, "#", e, false, nil); err != nil {
			t.Fatalf("bind %s to %s: %v", name, e, err)
		}
	}
}

// Publisher publishes persistent messages and waits for the broker's
// confirmation of each, so a published message is in its queues on return.
type Publisher struct {
	b       *Broker
	conn    *amqp.Connection
	ch      *amqp.Channel
	returns chan amqp.Return
}

// NewPublisher opens a confirming channel.
func (b *Broker) NewPublisher(t testing.TB) *Publisher {
	t.Helper()
	p := &Publisher{b: b}
	if err := p.reopen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.conn != nil {
			_ = p.conn.Close()
		}
	})
	return p
}

func (p *Publisher) reopen() error {
	if p.conn != nil {
		_ = p.conn.Close()
	}
	conn, err := amqp.Dial(p.b.URL)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("publisher channel: %w", err)
	}
	p.conn, p.ch = conn, ch
	p.returns = ch.NotifyReturn(make(chan amqp.Return, 16))
	return nil
}

// Publish sends body to exchange with routing key and waits for the confirm.
func (p *Publisher) Publish(ctx context.Context, exchange, key string, body []byte) error {
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body,
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", exchange, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("publish to %s: confirm: %w", exchange, err)
	}
	if !ok {
		return fmt.Errorf("publish to %s: the broker refused the message", exchange)
	}
	// The broker returns an unroutable mandatory message before its ack.
	select {
	case r := <-p.returns:
		return fmt.Errorf("publish to %s with key %q: unroutable (%s): is a queue bound?", r.Exchange, r.RoutingKey, r.ReplyText)
	default:
	}
	return nil
}

// Message is one message to publish.
type Message struct {
	Exchange, Key string
	Body          []byte
}

// PublishMany publishes messages without waiting between them, then waits
// for every confirmation: much faster than Publish in a loop.
func (p *Publisher) PublishMany(ctx context.Context, msgs []Message) error {
	const window = 2000 // confirmations outstanding at most
	pending := make([]*amqp.DeferredConfirmation, 0, window)
	wait := func() error {
		for _, dc := range pending {
			ok, err := dc.WaitContext(ctx)
			if err != nil {
				return fmt.Errorf("confirm: %w", err)
			}
			if !ok {
				return fmt.Errorf("the broker refused a message")
			}
		}
		pending = pending[:0]
		return nil
	}
	for _, m := range msgs {
		dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, m.Exchange, m.Key, false, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: m.Body,
		})
		if err != nil {
			return fmt.Errorf("publish to %s: %w", m.Exchange, err)
		}
		pending = append(pending, dc)
		if len(pending) == window {
			if err := wait(); err != nil {
				return err
			}
		}
	}
	return wait()
}

// PublishRetrying publishes, reconnecting while the broker is away (a
// restart), until ctx ends. A message may then be published twice.
func (p *Publisher) PublishRetrying(ctx context.Context, exchange, key string, body []byte) error {
	for {
		err := p.Publish(ctx, exchange, key, body)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
		_ = p.reopen()
	}
}

// Ready returns the number of messages ready in a queue (not counting
// those delivered and not yet acknowledged).
func (b *Broker) Ready(t testing.TB, queue string) (ready, consumers int) {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("queue %s: %v", queue, err)
	}
	return q.Messages, q.Consumers
}

// Counts asks rabbitmqctl for a queue's ready and unacknowledged messages:
// read from the queue process itself, so both numbers are exact and of the
// same moment (the management API's are up to 5 s old).
func (b *Broker) Counts(queue string) (ready, unacked int, err error) {
	all, err := b.AllCounts()
	if err != nil {
		return 0, 0, err
	}
	c, ok := all[queue]
	if !ok {
		return 0, 0, fmt.Errorf("rabbitmqctl: queue %s not listed", queue)
	}
	return c.Ready, c.Unacked, nil
}

// HaveRabbitmqctl reports whether rabbitmqctl can talk to the local broker.
func HaveRabbitmqctl() bool {
	return exec.Command("rabbitmqctl", "-q", "status").Run() == nil
}

// Drain takes every message of a queue (acknowledging them).
func (b *Broker) Drain(t testing.TB, queue string) []amqp.Delivery {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	var out []amqp.Delivery
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatalf("get from %s: %v", queue, err)
		}
		if !ok {
			return out
		}
		out = append(out, d)
	}
}

// QueueCount is one queue's messages as rabbitmqctl reports them.
type QueueCount struct{ Ready, Unacked int }

// AllCounts asks rabbitmqctl for the ready and unacknowledged messages of
// every queue of the vhost (exact and of one moment, as Counts).
func (b *Broker) AllCounts() (map[string]QueueCount, error) {
	out, err := exec.Command("rabbitmqctl", "-q", "list_queues", "-p", b.Vhost, "name", "messages_ready", "messages_unacknowledged").Output()
	if err != nil {
		return nil, fmt.Errorf("rabbitmqctl list_queues: %w", err)
	}
	counts := map[string]QueueCount{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[0] == "name" {
			continue
		}
		r, err1 := strconv.Atoi(strings.TrimSpace(f[1]))
		u, err2 := strconv.Atoi(strings.TrimSpace(f[2]))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("rabbitmqctl: cannot read %q", line)
		}
		counts[f[0]] = QueueCount{Ready: r, Unacked: u}
	}
	return counts, nil
}

// Reopen replaces the publisher's connection, after a broker restart.
func (p *Publisher) Reopen() error { return p.reopen() }

// StopRabbit stops the local RabbitMQ application (the Erlang node stays
// up): every connection is closed, as in a broker restart.
func StopRabbit() error {
	if out, err := exec.Command("rabbitmqctl", "stop_app").CombinedOutput(); err != nil {
		return fmt.Errorf("rabbitmqctl stop_app: %v: %s", err, out)
	}
	return nil
}

// StartRabbit starts the application again and waits up to timeout for the
// AMQP port to answer.
func StartRabbit(timeout time.Duration) error {
	if out, err := exec.Command("rabbitmqctl", "start_app").CombinedOutput(); err != nil {
		return fmt.Errorf("rabbitmqctl start_app: %v: %s", err, out)
	}
	return WaitPort("127.0.0.1:5672", timeout)
}

// WaitPort waits until addr accepts TCP connections.
func WaitPort(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering after %s: %w", addr, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
