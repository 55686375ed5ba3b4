package queue

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPublishConsume publishes b.N persistent 1 KiB messages in
// confirmed batches while one Consume call acks them, and reports the
// end-to-end rate (first publish to last ack). Run it under
// `flock /tmp/herder-bench.lock` on shared machines.
func BenchmarkPublishConsume(b *testing.B) {
	for _, prefetch := range []int{50, 200} {
		b.Run(fmt.Sprintf("prefetch=%d", prefetch), func(b *testing.B) {
			br := testBroker(b, func(o *Options) { o.Prefetch = prefetch })
			body := make([]byte, 1024)
			var handled atomic.Int64
			all := make(chan struct{})
			target := int64(b.N)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- br.Consume(ctx, Store, func(context.Context, Delivery) error {
					if handled.Add(1) == target {
						close(all)
					}
					return nil
				})
			}()
			const batch = 500
			b.ResetTimer()
			start := time.Now()
			var pubTime time.Duration
			for sent := 0; sent < b.N; sent += batch {
				n := min(batch, b.N-sent)
				msgs := make([]Message, n)
				for i := range msgs {
					msgs[i] = Message{ID: fmt.Sprintf("b%d", sent+i), Body: body}
				}
				t0 := time.Now()
				if err := br.Publish(ctx, Store, msgs...); err != nil {
					b.Fatal(err)
				}
				pubTime += time.Since(t0)
			}
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatalf("only %d of %d messages handled", handled.Load(), b.N)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(b.N)/pubTime.Seconds(), "published/s")
		})
	}
}
