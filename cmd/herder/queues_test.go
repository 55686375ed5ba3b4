package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/herder-ci/herder/core/queue"
	"github.com/herder-ci/herder/internal/testenv"
)

// queueConfig writes a config whose queue block names the test RabbitMQ
// under a prefix of its own, and deletes that prefix's queues afterwards.
func queueConfig(t *testing.T) (path, url, prefix string) {
	t.Helper()
	url = testenv.AMQPURL(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix = "herdertest-cmd-" + hex.EncodeToString(b[:])
	dir := t.TempDir()
	path = filepath.Join(dir, "herder.hcl")
	src := fmt.Sprintf("data_dir = %q\nqueue {\n  url    = %q\n  prefix = %q\n}\n", dir, url, prefix)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := amqp.Dial(url)
		if err != nil {
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		for _, w := range queue.Workloads {
			_, _ = ch.QueueDelete(prefix+"."+w, false, false, false)
			_, _ = ch.QueueDelete(prefix+"."+w+".dead", false, false, false)
		}
		_ = ch.ExchangeDelete(prefix+".dead", false, false)
	})
	return path, url, prefix
}

func TestQueuesCommands(t *testing.T) {
	captureLogs(t)
	cfgPath, url, prefix := queueConfig(t)
	ctx := context.Background()
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	b, err := queue.Dial(dctx, queue.Options{URL: url, Prefix: prefix})
	if err != nil {
		testenv.Missing(t, "test RabbitMQ unreachable (%v): run `bash scripts/services.sh`", err)
	}
	defer b.Close()

	// Three bug-matching messages of which two are rejected, one perf message
	// waiting.
	var msgs []queue.Message
	for i := range 3 {
		msgs = append(msgs, queue.Message{ID: fmt.Sprintf("bug-%d", i), Body: []byte(`{}`)})
	}
	if err := b.Publish(ctx, queue.Bugs, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, queue.Perf, queue.Message{ID: "perf-0", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(cctx, queue.Bugs, func(_ context.Context, d queue.Delivery) error {
			if d.ID != "bug-1" {
				return queue.Reject("no such bug", errors.New("bug 123 was deleted"))
			}
			return nil
		})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := b.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st[4].Workload == queue.Bugs && st[4].DeadMessages == 2 && st[4].Messages == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed 2 dead bug messages: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	code, out := runOut(t, "queues", "status", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("queues status exited %d: %s", code, out)
	}
	row := func(q string) string {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(q) + `\s+(\d+)\s+(\d+)\s+(\d+)\s*$`).FindStringSubmatch(out)
		if m == nil {
			return "missing"
		}
		return strings.Join(m[1:], " ")
	}
	if !strings.HasPrefix(out, "QUEUE") || row(prefix+".bugs") != "0 0 2" || row(prefix+".perf") != "1 0 0" || row(prefix+".store") != "0 0 0" {
		t.Errorf("queues status:\n%s", out)
	}

	code, out = runOut(t, "queues", "dead", "--queue", "bugs", "--config", cfgPath)
	if code != 0 || strings.Count(out, "no such bug: bug 123 was deleted") != 2 ||
		!strings.Contains(out, "bug-0") || !strings.Contains(out, "bug-2") || strings.Contains(out, "bug-1") {
		t.Errorf("queues dead = %d:\n%s", code, out)
	}

	code, out = runOut(t, "queues", "replay-dead", "--queue", prefix+".bugs", "--limit", "1", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "replayed 1 messages") {
		t.Errorf("replay-dead --limit 1 = %d: %s", code, out)
	}
	code, out = runOut(t, "queues", "replay-dead", "--queue", "bugs", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "replayed 1 messages from "+prefix+".bugs.dead to "+prefix+".bugs") {
		t.Errorf("replay-dead = %d: %s", code, out)
	}
	_, out = runOut(t, "queues", "status", "--config", cfgPath)
	if row(prefix+".bugs") != "2 0 0" {
		t.Errorf("status after replay:\n%s", out)
	}

	// Operator mistakes are usage errors.
	for _, args := range [][]string{
		{"queues", "dead", "--config", cfgPath},
		{"queues", "dead", "--queue", "nope", "--config", cfgPath},
		{"queues", "replay-dead", "--queue", "bugs", "--limit", "-1", "--config", cfgPath},
	} {
		if code, _ := runOut(t, args...); code != 2 {
			t.Errorf("%v exited %d, want 2", args, code)
		}
	}
}

func TestQueuesWithoutQueueBlock(t *testing.T) {
	captureLogs(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"queues", "status"},
		{"queues", "replay-dead", "--queue", "store"},
		{"queues", "dead", "--queue", "store"},
	} {
		if code, _ := runOut(t, append(args, "--data-dir", dir)...); code != 2 {
			t.Errorf("%v without a queue block exited %d, want 2", args, code)
		}
	}
}
