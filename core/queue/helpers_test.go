package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/herder-ci/herder/internal/testenv"
)

// brokerURL is the test RabbitMQ, or a skip when it is not running (a
// failure under HERDER_REQUIRE_SERVICES=1, as testenv does).
func brokerURL(t testing.TB) string {
	t.Helper()
	raw := testenv.AMQPURL(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("HERDER_TEST_AMQP_URL is malformed")
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5672")
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		testenv.Missing(t, "test RabbitMQ at %s is not answering (%v): run `bash scripts/services.sh`", host, err)
	}
	c.Close()
	return raw
}

func randomPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "herdertest-" + hex.EncodeToString(b[:])
}

// testBroker dials a broker with a prefix of its own and deletes its queues
// and exchange when the test ends.
func testBroker(t testing.TB, tune func(*Options)) *Broker {
	t.Helper()
	o := Options{
		URL: brokerURL(t), Prefix: randomPrefix(), Prefetch: 10, DeliveryLimit: 3,
		DrainTimeout: 5 * time.Second, RetryDelay: -1,
		Log: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}}),
	}
	if tune != nil {
		tune(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := Dial(ctx, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		b.Close()
		deleteTopology(t, o.URL, o.Prefix)
	})
	return b
}

// deleteTopology removes the queues and exchange a prefix declared.
func deleteTopology(t testing.TB, rawURL, prefix string) {
	queues, exchange := Topology(prefix)
	testenv.DeleteRabbitTopology(t, rawURL, queues, exchange)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// rawChannel opens a channel of the test's own, outside the broker under test.
func rawChannel(t testing.TB, b *Broker) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(b.opts.URL)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	return ch
}

// recorder is a handler that counts deliveries per message id.
type recorder struct {
	mu     sync.Mutex
	seen   map[string]int
	bodies map[string]string
	first  map[string]Delivery
	total  int
	fn     func(ctx context.Context, d Delivery) error
	notify chan struct{}
}

func newRecorder(fn func(ctx context.Context, d Delivery) error) *recorder {
	return &recorder{seen: map[string]int{}, bodies: map[string]string{}, first: map[string]Delivery{}, fn: fn,
		notify: make(chan struct{}, 1)}
}

func (r *recorder) handle(ctx context.Context, d Delivery) error {
	r.mu.Lock()
	r.seen[d.ID]++
	r.total++
	r.bodies[d.ID] = string(d.Body)
	if _, ok := r.first[d.ID]; !ok {
		r.first[d.ID] = d
	}
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	if r.fn != nil {
		return r.fn(ctx, d)
	}
	return nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consume runs Consume in the background; stop cancels it and waits for it.
func consume(t testing.TB, b *Broker, workload string, h Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Consume(ctx, workload, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("Consume did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func status(t testing.TB, b *Broker, workload string) QueueStatus {
	t.Helper()
	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	for _, s := range st {
		if s.Workload == workload {
			return s
		}
	}
	t.Fatalf("no status for %s", workload)
	return QueueStatus{}
}

// rabbitmqctl runs the broker's CLI, skipping the test when it cannot (not
// installed, or not allowed without root).
func rabbitmqctl(t testing.TB, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("rabbitmqctl")
	if err != nil {
		testenv.Missing(t, "rabbitmqctl not found: cannot close connections from the server side")
	}
	out, err := exec.Command(path, append([]string{"-q"}, args...)...).CombinedOutput()
	if err != nil {
		testenv.Missing(t, "rabbitmqctl %s failed (it needs root or the rabbitmq user): %v: %s", args[0], err, out)
	}
	return out
}

// closeConnections closes, from the server side, every connection whose
// client-provided name contains name; it returns how many it closed.
func closeConnections(t testing.TB, name string) int {
	t.Helper()
	// Tab-separated rows: the JSON formatter prints pids in a form
	// close_connection does not accept.
	out := rabbitmqctl(t, "list_connections", "pid", "client_properties", "--no-table-headers")
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		pid, props, ok := strings.Cut(line, "\t")
		if ok && strings.Contains(props, `"`+name) {
			rabbitmqctl(t, "close_connection", pid, "herder queue test: simulated connection loss")
			n++
		}
	}
	return n
}
