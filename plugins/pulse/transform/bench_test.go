package transform

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// benchMessages transforms the recorded fixture messages (61 tasks: pending,
// running, completed) over and over with every definition already cached, so
// the number is the transform's own cost: payload decoding, route, pulse-job
// construction and validation, datum.
func BenchmarkTransformFixtureMessages(b *testing.B) {
	msgs, tasks, _ := loadTaskFixtures(b)
	fetcher := NewTaskCache(tasks, 1000, 0)
	tr := NewTransformer(fetcher, Options{})
	ctx := context.Background()
	for _, m := range msgs { // warm the cache
		if _, err := tr.JobDatum(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := tr.JobDatum(ctx, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkTransformCompletedWithArtifacts adds an artifact list of 40
// entries (an in-memory fetcher: no HTTP).
func BenchmarkTransformCompletedWithArtifacts(b *testing.B) {
	m := newMem(taskDef())
	names := make([]string, 0, 40)
	for i := 0; i < 38; i++ {
		names = append(names, "public/test_info/file"+string(rune('a'+i%26))+".txt")
	}
	names = append(names, "public/test_info/mochitest_errorsummary.log", "public/perfherder-data.json")
	m.pages[testTaskID+"/0"] = []ArtifactPage{artifactsOf(names...)}
	tr := NewTransformer(NewTaskCache(m, 10, 0), Options{})
	msg := message(ExchangeTaskCompleted, 0, run(0, "completed", completed...))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := tr.JobDatum(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkTransformParallel is the fixture benchmark on every core.
func BenchmarkTransformParallel(b *testing.B) {
	msgs, tasks, _ := loadTaskFixtures(b)
	tr := NewTransformer(NewTaskCache(tasks, 1000, 0), Options{})
	ctx := context.Background()
	for _, m := range msgs {
		if _, err := tr.JobDatum(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := tr.JobDatum(ctx, msgs[i%len(msgs)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkPulseJobToDatum is the job-loader half alone (older format).
func BenchmarkPulseJobToDatum(b *testing.B) {
	raw, _ := json.Marshal(pulseJob(func(j map[string]any) {
		j["logs"] = []any{map[string]any{"name": "live_backing_log", "url": "https://x/y"}}
		j["buildMachine"] = map[string]any{"name": "m", "platform": "linux64", "os": "linux", "architecture": "x86_64"}
		j["timeScheduled"] = "2019-06-26T19:13:51.402Z"
	}))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pj, err := ParsePulseJob(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := PulseJobToDatum(pj); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseTaskDefinition is the cost of a cache miss minus the fetch.
func BenchmarkParseTaskDefinition(b *testing.B) {
	_, tasks, _ := loadTaskFixtures(b)
	raw := tasks["A35mWTRuQmyj88yMnIF0fA"]
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseTaskDefinition(raw); err != nil {
			b.Fatal(err)
		}
	}
}
