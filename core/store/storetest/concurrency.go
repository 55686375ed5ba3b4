package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/herder-ci/herder/core/store"
	"github.com/herder-ci/herder/sdk"
)

// testConcurrentWriters stores overlapping batches from several writers at
// once, as several sources do: new reference rows created by both, the same
// guids redelivered by both. Deadlocks the database breaks must be retried,
// never surface, and the rows must come out as from one writer.
func testConcurrentWriters(t *testing.T, s store.Store) {
	p := newPipeline(t, s)
	const writers, batches, perBatch = 3, 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				var data []sdk.JobDatum
				for i := 0; i < perBatch; i++ {
					// Every writer stores the same guids and job types, in a
					// different order, so their locks interleave.
					k := (i*7 + w*13 + b*perBatch) % (batches * perBatch)
					d := datum(fmt.Sprintf("conc-%d/0", k), sdk.StateCompleted, "success")
					d.Job.Name = fmt.Sprintf("test-linux64/opt-suite-%d", k%97)
					d.Job.JobSymbol = fmt.Sprintf("s%d", k%97)
					d.Job.Machine = fmt.Sprintf("worker-%d", k%31)
					data = append(data, d)
				}
				if err := p.StoreJobData(ctx, "test", data); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c["job"] != batches*perBatch || c["taskcluster_metadata"] != batches*perBatch {
		t.Fatalf("counts after concurrent writers = %v, want %d jobs", c, batches*perBatch)
	}
}
