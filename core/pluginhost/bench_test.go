package pluginhost

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/pluginrpc"
)

// countSink accepts everything and signals when it has seen want events.
type countSink struct {
	n     atomic.Int64
	want  int64
	first atomic.Int64 // unix nanos of the first accept
	done  chan time.Time
	once  sync.Once
}

func (s *countSink) Accept(_ context.Context, _ string, events []sdk.Event) error {
	s.first.CompareAndSwap(0, time.Now().UnixNano())
	if s.n.Add(int64(len(events))) >= s.want {
		s.once.Do(func() { s.done <- time.Now() })
	}
	return nil
}

func benchEnv(b *testing.B) (string, func(name, bin string) string) {
	dir := b.TempDir()
	return dir, func(name, bin string) string {
		dst := filepath.Join(dir, name)
		copyFile(b, bin, dst)
		lf, err := ReadLockFile(dir)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := FileSHA256(dst)
		if err != nil {
			b.Fatal(err)
		}
		lf.Set(LockEntry{Name: name, Path: name, SHA256: sum})
		if err := lf.Write(); err != nil {
			b.Fatal(err)
		}
		return dst
	}
}

// BenchmarkSourceThroughput measures events/s from a source plugin process
// through the host's sink (gRPC over a Unix socket with mTLS, protobuf
// batches, the supervisor's accounting), with the batch size the source
// sends. The sink itself does nothing, so this is the host's ceiling.
//
//	go test -run '^$' -bench SourceThroughput -benchtime 3x ./core/pluginhost/
func BenchmarkSourceThroughput(b *testing.B) {
	const total = 200_000
	for _, batch := range []int{100, 500, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			dir, install := benchEnv(b)
			install("gen", bins.source)
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				sink := &countSink{want: total, done: make(chan time.Time, 1)}
				cfg := &config.Config{PluginDir: dir, Sources: []config.Source{{Name: "gen", Plugin: "gen",
					Config: []byte(fmt.Sprintf(`{"generate": %d, "gen_batch": %d, "senders": 2}`, total, batch))}}}
				sup, err := New(cfg, Options{Sink: sink, Logger: hclog.NewNullLogger(), StartTimeout: 20 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				if err := sup.Start(); err != nil {
					b.Fatal(err)
				}
				select {
				case end := <-sink.done:
					elapsed += end.Sub(time.Unix(0, sink.first.Load()))
				case <-time.After(2 * time.Minute):
					b.Fatalf("only %d events in 2 minutes", sink.n.Load())
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_ = sup.Stop(ctx)
				cancel()
			}
			b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkProcessorRoundTrip measures one small processor call through the
// supervisor (limiter, timeout, gRPC round trip, metrics) and reports the
// latency percentiles; the parallel variant reports calls/s with 4 callers.
//
//	go test -run '^$' -bench ProcessorRoundTrip -benchtime 20000x ./core/pluginhost/
func BenchmarkProcessorRoundTrip(b *testing.B) {
	dir, install := benchEnv(b)
	install("proc", bins.processor)
	cfg := &config.Config{PluginDir: dir, Processors: []config.Processor{{Name: "echo", Plugin: "proc", Concurrency: 4}}}
	sup, err := New(cfg, Options{Logger: hclog.NewNullLogger()})
	if err != nil {
		b.Fatal(err)
	}
	if err := sup.Start(); err != nil {
		b.Fatal(err)
	}
	defer sup.Stop(context.Background())
	ctx := context.Background()
	if err := sup.WaitRunning(ctx, "echo"); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 256)
	task := sdk.Task{ID: "t", Kind: "echo", Payload: payload}
	for i := 0; i < 200; i++ { // warm up connections
		if _, err := sup.Process(ctx, "echo", task); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		lat := make([]time.Duration, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			if _, err := sup.Process(ctx, "echo", task); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(start)
		}
		b.StopTimer()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(pct(0.999), "p99.9-ms")
	})
	b.Run("parallel4", func(b *testing.B) {
		b.SetParallelism(2) // 2 x GOMAXPROCS(2) = 4 callers
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := sup.Process(ctx, "echo", task); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
	})
}

// BenchmarkColdStart measures launching a plugin until it can be called, as
// the supervisor does it: SHA-256 of the binary, fork/exec, the go-plugin
// handshake with AutoMTLS (a fresh key pair on each side), the gRPC dial and
// the info call.
//
//	go test -run '^$' -bench ColdStart -benchtime 20x ./core/pluginhost/
func BenchmarkColdStart(b *testing.B) {
	for _, c := range []struct{ name, bin string }{{"source", bins.source}, {"processor", bins.processor}} {
		b.Run(c.name, func(b *testing.B) {
			_, install := benchEnv(b)
			path := install(c.name, c.bin)
			sum, err := FileSHA256(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// What the supervisor does per launch: verify, then start.
				if err := VerifyBinary(c.name, path, sum); err != nil {
					b.Fatal(err)
				}
				client, err := pluginrpc.Start(context.Background(), pluginrpc.Config{Name: c.name, Path: path})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				client.Kill()
				b.StartTimer()
			}
		})
	}
}
