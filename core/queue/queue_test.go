package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	amqp "github.com/rabbitmq/amqp091-go"
)

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func seriesCount(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}

func messages(n int, prefix string) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{
			ID:      fmt.Sprintf("%s-%03d", prefix, i),
			Body:    []byte(fmt.Sprintf(`{"n":%d}`, i)),
			Headers: map[string]any{"x-source": "test", "n": int64(i)},
		}
	}
	return msgs
}

func TestPublishConsumeAck(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := testBroker(t, func(o *Options) { o.Registry = reg })
	ctx := context.Background()
	if err := b.Publish(ctx, Store, messages(100, "m")...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if s := status(t, b, Store); s.Messages != 100 || s.Consumers != 0 || s.Queue != b.opts.Prefix+".store" {
		t.Errorf("status before consuming = %+v, want 100 messages, no consumers", s)
	}
	// Another workload's queue is untouched.
	if s := status(t, b, LogsFailed); s.Messages != 0 {
		t.Errorf("logs.failed has %d messages", s.Messages)
	}

	rec := newRecorder(nil)
	stop := consume(t, b, Store, rec.handle)
	waitFor(t, "100 deliveries", 20*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.seen) == 100
	})
	waitFor(t, "a consumer in the status", 10*time.Second, func() bool { return status(t, b, Store).Consumers == 1 })
	if err := stop(); err != nil {
		t.Errorf("Consume returned %v after its context ended", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for id, n := range rec.seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	d := rec.first["m-007"]
	if string(d.Body) != `{"n":7}` || d.Headers["x-source"] != "test" || d.DeliveryCount != 1 || d.Redelivered {
		t.Errorf("delivery m-007 = %+v", d)
	}
	if n, _ := intHeader(d.Headers["n"]); n != 7 {
		t.Errorf("header n = %#v", d.Headers["n"])
	}
	s := status(t, b, Store)
	if s.Messages != 0 || s.Consumers != 0 || s.DeadMessages != 0 {
		t.Errorf("status after consuming = %+v, want all zero", s)
	}
	if got := counterValue(b.metrics.published.WithLabelValues(Store)); got != 100 {
		t.Errorf("published metric = %v", got)
	}
	if got := counterValue(b.metrics.consumed.WithLabelValues(Store, outcomeAck)); got != 100 {
		t.Errorf("consumed{ack} metric = %v", got)
	}
	if n := seriesCount(t, reg, "herder_queue_handler_duration_seconds"); n != 1 {
		t.Errorf("handler duration series = %d", n)
	}
}

func TestPublishGeneratesIDs(t *testing.T) {
	b := testBroker(t, nil)
	if err := b.Publish(context.Background(), Perf, Message{Body: []byte("a")}, Message{Body: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(nil)
	stop := consume(t, b, Perf, rec.handle)
	waitFor(t, "2 deliveries", 10*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.total == 2
	})
	stop()
	if len(rec.seen) != 2 {
		t.Errorf("ids = %v, want two distinct generated ids", rec.seen)
	}
	for id := range rec.seen {
		if len(id) != 32 {
			t.Errorf("generated id %q", id)
		}
	}
}

func TestPublishErrors(t *testing.T) {
	b := testBroker(t, nil)
	ctx := context.Background()
	if err := b.Publish(ctx, "nope", Message{}); err == nil || !strings.Contains(err.Error(), "unknown workload") {
		t.Errorf("unknown workload: %v", err)
	}
	if err := b.Publish(ctx, Store, Message{Headers: map[string]any{"bad": struct{}{}}}); err == nil {
		t.Error("a header of an unsupported type was published")
	}

	// A queue deleted behind the broker's back: the message is unroutable,
	// which RabbitMQ still confirms; Publish must not report success.
	ch := rawChannel(t, b)
	if _, err := ch.QueueDelete(b.queueName(Bugs), false, false, false); err != nil {
		t.Fatal(err)
	}
	err := b.Publish(ctx, Bugs, messages(3, "lost")...)
	if err == nil || !strings.Contains(err.Error(), "unroutable") {
		t.Errorf("publish to a deleted queue: %v, want an unroutable error", err)
	}
	// The publisher keeps working for other queues.
	if err := b.Publish(ctx, Store, messages(1, "ok")...); err != nil {
		t.Errorf("publish after an unroutable batch: %v", err)
	}
	// A consumer declares its queue again.
	stop := consume(t, b, Bugs, func(context.Context, Delivery) error { return nil })
	waitFor(t, "bugs queue recreated", 10*time.Second, func() bool {
		_, err := b.Status(ctx)
		return err == nil
	})
	stop()
	if err := b.Publish(ctx, Bugs, messages(1, "again")...); err != nil {
		t.Errorf("publish after the queue was recreated: %v", err)
	}

	b.Close()
	if err := b.Publish(ctx, Store, messages(1, "closed")...); !errors.Is(err, ErrClosed) {
		t.Errorf("publish after Close: %v, want ErrClosed", err)
	}
	if err := b.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close: %v, want ErrClosed", err)
	}
}

// A broker nack (here: the queue is full and overflows with reject-publish,
// set by a policy) is an error, never a silent success.
func TestPublishNack(t *testing.T) {
	b := testBroker(t, nil)
	policy := b.opts.Prefix + "-maxlen"
	u := strings.TrimPrefix(b.opts.URL, "amqp://")
	vhost := "/"
	if i := strings.Index(u, "/"); i >= 0 && u[i+1:] != "" {
		vhost = u[i+1:]
	}
	rabbitmqctl(t, "set_policy", "-p", vhost, "--apply-to", "queues", policy,
		"^"+strings.ReplaceAll(b.queueName(Perf), ".", `\.`)+"$", `{"max-length":2}`)
	t.Cleanup(func() { rabbitmqctl(t, "clear_policy", "-p", vhost, policy) })
	ctx := context.Background()
	// Policies reach a queue asynchronously: wait until the limit bites.
	var err error
	waitFor(t, "the max-length policy", 10*time.Second, func() bool {
		err = b.Publish(ctx, Perf, messages(5, "full")...)
		return err != nil
	})
	if !strings.Contains(err.Error(), "nacked") {
		t.Errorf("publish to a full queue: %v, want a nack", err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Errorf("Ping after a nack: %v", err)
	}
}

func TestRejectDeadLetters(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := testBroker(t, func(o *Options) { o.Registry = reg })
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	if err := b.Publish(ctx, LogsFailed, messages(10, "r")...); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(func(_ context.Context, d Delivery) error {
		if strings.HasSuffix(d.ID, "3") || strings.HasSuffix(d.ID, "7") {
			return Reject("malformed log", errors.New("line 1: not json"))
		}
		return nil
	})
	stop := consume(t, b, LogsFailed, rec.handle)
	waitFor(t, "2 dead letters", 20*time.Second, func() bool { return status(t, b, LogsFailed).DeadMessages == 2 })
	stop()
	for id, n := range rec.seen {
		if n != 1 {
			t.Errorf("%s handled %d times; a rejected message must not be retried", id, n)
		}
	}
	if s := status(t, b, LogsFailed); s.Messages != 0 {
		t.Errorf("work queue still holds %d", s.Messages)
	}
	dead, err := b.DeadLetters(ctx, LogsFailed, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 {
		t.Fatalf("DeadLetters = %+v", dead)
	}
	ids := map[string]bool{}
	for _, d := range dead {
		ids[d.ID] = true
		if d.Reason != "malformed log: line 1: not json" || d.FailedAt.Before(before) || d.FailedAt.After(time.Now()) {
			t.Errorf("dead letter %+v", d)
		}
	}
	if !ids["r-003"] || !ids["r-007"] {
		t.Errorf("dead ids = %v", ids)
	}
	// Peeking leaves them there, and a limit is honoured.
	if s := status(t, b, LogsFailed); s.DeadMessages != 2 {
		t.Errorf("after peeking the dead queue holds %d", s.DeadMessages)
	}
	if dead, err := b.DeadLetters(ctx, LogsFailed, 1); err != nil || len(dead) != 1 {
		t.Errorf("DeadLetters(limit 1) = %d, %v", len(dead), err)
	}
	// The dead copy carries the x-herder headers and the original ones.
	ch := rawChannel(t, b)
	d, ok, err := ch.Get(b.deadName(LogsFailed), false)
	if err != nil || !ok {
		t.Fatalf("get dead: %v %v", ok, err)
	}
	if d.Headers[HeaderQueue] != b.queueName(LogsFailed) || d.Headers[HeaderReason] != "malformed log" || d.Headers["x-source"] != "test" {
		t.Errorf("dead headers = %v", d.Headers)
	}
	_ = d.Nack(false, true)
	if got := counterValue(b.metrics.consumed.WithLabelValues(LogsFailed, outcomeDead)); got != 2 {
		t.Errorf("consumed{dead} = %v", got)
	}
}

func TestDeliveryLimitThenReplay(t *testing.T) {
	b := testBroker(t, func(o *Options) { o.DeliveryLimit = 2; o.RetryDelay = 10 * time.Millisecond })
	ctx := context.Background()
	if err := b.Publish(ctx, Bugs, messages(4, "p")...); err != nil {
		t.Fatal(err)
	}
	var counts []int
	rec := newRecorder(func(_ context.Context, d Delivery) error {
		if d.ID == "p-000" {
			counts = append(counts, d.DeliveryCount)
		}
		return errors.New("database unavailable")
	})
	stop := consume(t, b, Bugs, rec.handle)
	waitFor(t, "4 messages dead-lettered by the delivery limit", 20*time.Second, func() bool {
		return status(t, b, Bugs).DeadMessages == 4
	})
	stop()
	rec.mu.Lock()
	for id, n := range rec.seen {
		// x-delivery-limit 2: the first delivery and two redeliveries.
		if n != 3 {
			t.Errorf("%s delivered %d times, want 3 (delivery limit 2)", id, n)
		}
	}
	rec.mu.Unlock()
	if fmt.Sprint(counts) != "[1 2 3]" {
		t.Errorf("DeliveryCount of p-000 over its deliveries = %v, want [1 2 3]", counts)
	}
	dead, err := b.DeadLetters(ctx, Bugs, 0)
	if err != nil || len(dead) != 4 {
		t.Fatalf("DeadLetters = %+v, %v", dead, err)
	}
	for _, d := range dead {
		if d.Reason != "delivery limit exceeded (3)" || d.FailedAt.IsZero() || string(d.Body) == "" {
			t.Errorf("dead letter %+v", d)
		}
	}

	// After the fix, replay: two first, then the rest.
	if n, err := b.ReplayDead(ctx, Bugs, 2); err != nil || n != 2 {
		t.Fatalf("ReplayDead(2) = %d, %v", n, err)
	}
	if s := status(t, b, Bugs); s.Messages != 2 || s.DeadMessages != 2 {
		t.Errorf("after replaying 2: %+v", s)
	}
	if n, err := b.ReplayDead(ctx, Bugs, 0); err != nil || n != 2 {
		t.Fatalf("ReplayDead(all) = %d, %v", n, err)
	}
	if n, err := b.ReplayDead(ctx, Bugs, 0); err != nil || n != 0 {
		t.Fatalf("ReplayDead on an empty dead queue = %d, %v", n, err)
	}
	ok := newRecorder(nil)
	stop = consume(t, b, Bugs, ok.handle)
	waitFor(t, "replayed messages handled", 20*time.Second, func() bool {
		ok.mu.Lock()
		defer ok.mu.Unlock()
		return len(ok.seen) == 4
	})
	stop()
	for id, d := range ok.first {
		// Replayed messages start over: no herder or dead-lettering headers,
		// a fresh delivery count.
		if d.DeliveryCount != 1 || d.Headers["x-death"] != nil || d.Headers[HeaderReason] != nil || d.Headers["x-source"] != "test" {
			t.Errorf("replayed %s = %+v", id, d)
		}
	}
	if s := status(t, b, Bugs); s.Messages != 0 || s.DeadMessages != 0 {
		t.Errorf("after replay and consume: %+v", s)
	}
}

func TestRetryDelaySurvivesShortOutage(t *testing.T) {
	// With the retry delay, a handler failing for a while (a database
	// restart) does not burn through the delivery limit.
	b := testBroker(t, func(o *Options) { o.DeliveryLimit = 3; o.RetryDelay = 100 * time.Millisecond })
	if err := b.Publish(context.Background(), Store, messages(5, "o")...); err != nil {
		t.Fatal(err)
	}
	healthy := time.Now().Add(400 * time.Millisecond)
	rec := newRecorder(func(context.Context, Delivery) error {
		if time.Now().Before(healthy) {
			return errors.New("database restarting")
		}
		return nil
	})
	stop := consume(t, b, Store, rec.handle)
	waitFor(t, "all handled", 20*time.Second, func() bool {
		s := status(t, b, Store)
		return s.Messages == 0 && counterValue(b.metrics.consumed.WithLabelValues(Store, outcomeAck)) == 5
	})
	stop()
	if s := status(t, b, Store); s.DeadMessages != 0 {
		t.Errorf("%d messages dead-lettered during a short outage", s.DeadMessages)
	}
}

func TestPanicIsRetried(t *testing.T) {
	b := testBroker(t, func(o *Options) { o.DeliveryLimit = 1 })
	if err := b.Publish(context.Background(), Perf, messages(1, "boom")...); err != nil {
		t.Fatal(err)
	}
	stop := consume(t, b, Perf, func(context.Context, Delivery) error { panic("bad data") })
	waitFor(t, "the panicking message dead-lettered", 20*time.Second, func() bool {
		return status(t, b, Perf).DeadMessages == 1
	})
	stop()
}

func TestGracefulDrain(t *testing.T) {
	b := testBroker(t, func(o *Options) { o.Prefetch = 4; o.DrainTimeout = 20 * time.Second })
	if err := b.Publish(context.Background(), LogsOther, messages(20, "d")...); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var started, finished, ctxErr atomic.Int32
	stop := consume(t, b, LogsOther, func(ctx context.Context, d Delivery) error {
		started.Add(1)
		<-release
		if ctx.Err() != nil {
			ctxErr.Add(1)
		}
		finished.Add(1)
		return nil
	})
	waitFor(t, "4 handlers in flight", 10*time.Second, func() bool { return started.Load() == 4 })
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// The drain waits for the handlers.
	select {
	case err := <-stopped:
		t.Fatalf("Consume returned (%v) with handlers still running", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Errorf("Consume: %v", err)
	}
	if started.Load() != 4 || finished.Load() != 4 || ctxErr.Load() != 0 {
		t.Errorf("started %d, finished %d, saw a cancelled context %d times; want 4, 4, 0",
			started.Load(), finished.Load(), ctxErr.Load())
	}
	// The 4 in flight were acked; the rest wait in the queue.
	waitFor(t, "16 messages left", 10*time.Second, func() bool { return status(t, b, LogsOther).Messages == 16 })
}

func TestDrainTimeoutCancelsHandlers(t *testing.T) {
	b := testBroker(t, func(o *Options) { o.Prefetch = 2; o.DrainTimeout = 200 * time.Millisecond })
	if err := b.Publish(context.Background(), LogsStructured, messages(5, "slow")...); err != nil {
		t.Fatal(err)
	}
	var started, cancelled atomic.Int32
	stop := consume(t, b, LogsStructured, func(ctx context.Context, d Delivery) error {
		started.Add(1)
		<-ctx.Done()
		cancelled.Add(1)
		return ctx.Err()
	})
	waitFor(t, "2 handlers in flight", 10*time.Second, func() bool { return started.Load() == 2 })
	if err := stop(); err != nil {
		t.Errorf("Consume: %v", err)
	}
	if cancelled.Load() != 2 {
		t.Errorf("%d handlers saw their context cancelled, want 2", cancelled.Load())
	}
	// Nothing was acked: all 5 are back in the queue.
	waitFor(t, "5 messages back", 10*time.Second, func() bool { return status(t, b, LogsStructured).Messages == 5 })
	if s := status(t, b, LogsStructured); s.DeadMessages != 0 {
		t.Errorf("dead = %d", s.DeadMessages)
	}
}

func TestReconnectLosesNothing(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := testBroker(t, func(o *Options) { o.Registry = reg; o.Prefetch = 10; o.DeliveryLimit = 10 })
	rabbitmqctl(t, "status") // skip early when the CLI is unusable
	const n = 300
	if err := b.Publish(context.Background(), Store, messages(n, "c")...); err != nil {
		t.Fatal(err)
	}
	// The first deliveries are held until the connection is gone, so their
	// acks are lost and RabbitMQ must deliver them again.
	gate := make(chan struct{})
	var redelivered atomic.Int32
	rec := newRecorder(func(ctx context.Context, d Delivery) error {
		<-gate
		if d.Redelivered {
			redelivered.Add(1)
		}
		return nil
	})
	stop := consume(t, b, Store, rec.handle)
	waitFor(t, "a full prefetch in flight", 20*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.total == 10
	})
	if closed := closeConnections(t, "herder consume ("+b.opts.Prefix+")"); closed != 1 {
		t.Fatalf("closed %d consume connections, want 1", closed)
	}
	waitFor(t, "consumer notices", 10*time.Second, func() bool {
		c, _ := b.conLink.current()
		return c == nil || counterValue(b.metrics.reconnects.WithLabelValues("consume")) == 1
	})
	close(gate)
	waitFor(t, "every message handled after the reconnect", 60*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.seen) == n && rec.total >= n+10
	})
	// And the publishing side recovers as well.
	if closed := closeConnections(t, "herder publish ("+b.opts.Prefix+")"); closed != 1 {
		t.Fatalf("closed %d publish connections, want 1", closed)
	}
	waitFor(t, "publisher notices", 10*time.Second, func() bool {
		c, _ := b.pubLink.current()
		return c == nil
	})
	if err := b.Publish(context.Background(), Store, messages(1, "after")...); err != nil {
		t.Fatalf("publish after losing the connection: %v", err)
	}
	waitFor(t, "the late message", 20*time.Second, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.seen["after-000"] == 1
	})
	stop()
	if s := status(t, b, Store); s.Messages != 0 || s.DeadMessages != 0 {
		t.Errorf("after reconnects: %+v", s)
	}
	if got := counterValue(b.metrics.reconnects.WithLabelValues("consume")); got != 1 {
		t.Errorf("consume reconnects = %v, want 1", got)
	}
	if got := counterValue(b.metrics.reconnects.WithLabelValues("publish")); got != 1 {
		t.Errorf("publish reconnects = %v, want 1", got)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if extra := rec.total - len(rec.seen); extra != 10 || redelivered.Load() != 10 {
		t.Errorf("%d extra deliveries, %d flagged redelivered; want the 10 in flight at the loss", extra, redelivered.Load())
	}
}

func TestPing(t *testing.T) {
	b := testBroker(t, nil)
	if err := b.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDialErrors(t *testing.T) {
	url := brokerURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, Options{URL: "http://x"}); err == nil {
		t.Error("an http URL was accepted")
	}
	if _, err := Dial(ctx, Options{URL: url, Prefix: "has space"}); err == nil {
		t.Error("a bad prefix was accepted")
	}
	// Wrong credentials fail at once rather than retrying until ctx ends.
	bad := strings.Replace(url, "herder:herder@", "herder:wrong@", 1)
	start := time.Now()
	if _, err := Dial(ctx, Options{URL: bad, Prefix: randomPrefix()}); err == nil {
		t.Error("wrong credentials were accepted")
	} else if ctx.Err() != nil {
		t.Errorf("wrong credentials retried until the deadline: %v", err)
	} else if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error quotes the password: %v", err)
	}
	_ = start
	// Nothing listening: retries until ctx ends, then says what it tried.
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	_, err := Dial(short, Options{URL: "amqp://herder:secret@127.0.0.1:1/herder"})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "secret") {
		t.Errorf("unreachable broker: %v", err)
	}
}

func TestQueueArguments(t *testing.T) {
	// A second broker with another delivery limit cannot redeclare the
	// queues; the error says why and what to do.
	b := testBroker(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, Options{URL: b.opts.URL, Prefix: b.opts.Prefix, DeliveryLimit: 9})
	if err == nil || !strings.Contains(err.Error(), "delivery_limit") || ctx.Err() != nil {
		t.Errorf("Dial with another delivery limit: %v", err)
	}
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.PreconditionFailed {
		t.Errorf("error %v does not wrap the broker's PRECONDITION_FAILED", err)
	}
}

func TestRejectHelpers(t *testing.T) {
	base := errors.New("bad json")
	err := fmt.Errorf("store: %w", Reject("malformed", base))
	if r, ok := IsRejected(err); !ok || r != "malformed" {
		t.Errorf("IsRejected = %q, %v", r, ok)
	}
	if !errors.Is(err, base) {
		t.Error("Reject does not wrap its error")
	}
	if _, ok := IsRejected(base); ok {
		t.Error("a plain error counts as rejected")
	}
	if r, ok := IsRejected(Reject("no err", nil)); !ok || r != "no err" {
		t.Errorf("Reject(nil) = %q, %v", r, ok)
	}
}

func TestConsumeAfterClose(t *testing.T) {
	b := testBroker(t, nil)
	if err := b.Consume(context.Background(), "nope", func(context.Context, Delivery) error { return nil }); err == nil {
		t.Error("Consume accepted an unknown workload")
	}
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(context.Background(), Store, func(context.Context, Delivery) error { return nil })
	}()
	waitFor(t, "the consumer", 10*time.Second, func() bool { return status(t, b, Store).Consumers == 1 })
	b.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Consume after Close returned %v, want ErrClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Consume kept running after Close")
	}
}
