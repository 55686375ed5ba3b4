package plugintest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/sdk"
)

// Upstream is the system a source reads from, instrumented for the
// conformance kit: a queue, a webhook sender that retries until it gets a 2xx,
// a feed with a committed cursor.
type Upstream interface {
	// Publish makes input number i available to the source and returns the
	// dedupe key (see SourceKit.Key) of the event the source must emit for it.
	Publish(ctx context.Context, i int) (key string, err error)
	// Unacked returns the keys of published inputs the source has not
	// acknowledged upstream yet.
	Unacked() []string
}

// SourceKit is the source conformance kit, after Benthos'
// StreamTestAtLeastOnceDelivery: it runs a source plugin binary against an
// in-memory host and an instrumented upstream and checks that through nacks,
// kill -9 of the plugin process mid-batch and restarts every input arrives at
// least once, that the source never acknowledges an input upstream before the
// host accepted its event, and that the duplicates redelivery causes collapse
// under the dedupe key (so an idempotent store holds each input once).
//
//	func TestConformance(t *testing.T) {
//		plugintest.SourceKit{
//			Plugin: plugintest.Build(t, "."),
//			Setup: func(t *testing.T) (plugintest.Upstream, []byte) {
//				q := plugintest.NewQueue(t)
//				return q, []byte(`{"url": "` + q.URL + `"}`)
//			},
//		}.Run(t)
//	}
type SourceKit struct {
	// Plugin is the source plugin binary.
	Plugin string
	// Setup starts a fresh upstream for one scenario and returns it with the
	// source settings (JSON) that point the plugin at it.
	Setup func(t *testing.T) (Upstream, []byte)
	// Inputs is the number of inputs per scenario (default 40).
	Inputs int
	// Key is the dedupe key of an event (default DedupeKey).
	Key func(sdk.Event) string
	// Timeout bounds each scenario's wait for delivery (default 30s).
	Timeout time.Duration
	// StartTimeout bounds each plugin start (default 10s).
	StartTimeout time.Duration
}

// Run runs every scenario as a subtest.
func (k SourceKit) Run(t *testing.T) {
	if k.Plugin == "" || k.Setup == nil {
		t.Fatal("plugintest.SourceKit: Plugin and Setup are required")
	}
	if k.Inputs <= 0 {
		k.Inputs = 40
	}
	if k.Key == nil {
		k.Key = DedupeKey
	}
	if k.Timeout <= 0 {
		k.Timeout = 30 * time.Second
	}
	if k.StartTimeout <= 0 {
		k.StartTimeout = 10 * time.Second
	}
	t.Run("Delivery", k.delivery)
	t.Run("NackRedelivery", k.nackRedelivery)
	t.Run("KillMidBatch", k.killMidBatch)
	t.Run("RestartMidStream", k.restartMidStream)
}

// scenario is one run of a source against a fresh upstream.
type scenario struct {
	t         *testing.T
	k         SourceKit
	up        Upstream
	run       *SourceRun
	published []string
	index     map[string]int
	// decide, when set, is consulted before each batch is accepted.
	mu     sync.Mutex
	decide func(ctx context.Context, events []sdk.Event) error
}

func (k SourceKit) newScenario(t *testing.T) *scenario {
	up, cfg := k.Setup(t)
	s := &scenario{t: t, k: k, up: up, index: map[string]int{}}
	s.run = StartSource(t, k.Plugin, SourceOptions{
		Name:         "conformance",
		Config:       cfg,
		Key:          k.Key,
		StartTimeout: k.StartTimeout,
		Accept: func(ctx context.Context, events []sdk.Event) error {
			s.mu.Lock()
			d := s.decide
			s.mu.Unlock()
			if d != nil {
				return d(ctx, events)
			}
			return nil
		},
	})
	return s
}

func (s *scenario) setDecide(d func(ctx context.Context, events []sdk.Event) error) {
	s.mu.Lock()
	s.decide = d
	s.mu.Unlock()
}

func (s *scenario) publish(from, to int) {
	s.t.Helper()
	for i := from; i < to; i++ {
		// Held while publishing so that a batch carrying the input cannot
		// be judged before the kit knows the input's key.
		s.mu.Lock()
		key, err := s.up.Publish(context.Background(), i)
		if err == nil {
			s.index[key] = i
			s.published = append(s.published, key)
		}
		s.mu.Unlock()
		if err != nil {
			s.t.Fatalf("publish input %d: %v", i, err)
		}
	}
}

func (s *scenario) snapshot() (published []string, index map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.published), s.index
}

// indexOf returns the input number of a key.
func (s *scenario) indexOf(key string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[key]
	return i, ok
}

// checkAckOrder fails the test if an input was acknowledged upstream before
// the host accepted its event. Unacked is read before the accepted set, so
// an acknowledgement observed here happened before the acceptance read.
func (s *scenario) checkAckOrder() {
	s.t.Helper()
	unacked := map[string]bool{}
	for _, k := range s.up.Unacked() {
		unacked[k] = true
	}
	counts := s.run.Recorder().Counts()
	published, _ := s.snapshot()
	for _, k := range published {
		if !unacked[k] && counts[k] == 0 {
			i, _ := s.indexOf(k)
			s.t.Fatalf("input %d (%s) was acknowledged upstream but the host never accepted it: the source acks before Send returned", i, k)
		}
	}
}

// waitAll waits until every published input was accepted and acknowledged.
func (s *scenario) waitAll() {
	s.t.Helper()
	deadline := time.Now().Add(s.k.Timeout)
	for {
		s.checkAckOrder()
		counts := s.run.Recorder().Counts()
		published, _ := s.snapshot()
		var missing []string
		for _, k := range published {
			if counts[k] == 0 {
				missing = append(missing, k)
			}
		}
		unacked := s.up.Unacked()
		if len(missing) == 0 && len(unacked) == 0 {
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after %s: %d of %d inputs never reached the host (%s); %d not acknowledged upstream (%s); last run error: %v",
				s.k.Timeout, len(missing), len(published), head(missing), len(unacked), head(unacked), s.run.RunErr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.checkStore()
}

// checkStore checks the accepted events against the published inputs: every
// one present, nothing else, duplicates only from redelivery.
func (s *scenario) checkStore() {
	s.t.Helper()
	counts := s.run.Recorder().Counts()
	published, _ := s.snapshot()
	dups := 0
	for k, n := range counts {
		if _, ok := s.indexOf(k); !ok {
			s.t.Errorf("the host accepted an event with key %q that matches no published input", k)
		}
		dups += n - 1
	}
	if len(counts) != len(published) {
		s.t.Errorf("an idempotent store would hold %d events, want %d (one per input)", len(counts), len(published))
	}
	s.t.Logf("%d inputs delivered; %d duplicate deliveries absorbed by the dedupe key; %d batches accepted, %d nacked; %d plugin starts",
		len(published), dups, s.run.Recorder().Batches(), s.run.Recorder().Nacks(), s.run.Starts())
}

func head(keys []string) string {
	if len(keys) > 5 {
		return strings.Join(keys[:5], ", ") + ", ..."
	}
	return strings.Join(keys, ", ")
}

func (k SourceKit) delivery(t *testing.T) {
	s := k.newScenario(t)
	s.publish(0, k.Inputs)
	s.waitAll()
}

// errNack is the kit's refusal of a batch.
var errNack = errors.New("plugintest: batch refused by the conformance kit")

// nackRedelivery refuses the first batch that carries each of a few inputs,
// restarts the plugin half-way, and expects everything to arrive anyway.
func (k SourceKit) nackRedelivery(t *testing.T) {
	s := k.newScenario(t)
	isVictim := func(i int) bool { return i%5 == 2 }
	nacked := map[string]bool{}
	var mu sync.Mutex
	s.setDecide(func(_ context.Context, events []sdk.Event) error {
		mu.Lock()
		defer mu.Unlock()
		refuse := false
		for _, e := range events {
			key := k.Key(e)
			if i, ok := s.indexOf(key); ok && isVictim(i) && !nacked[key] {
				nacked[key] = true
				refuse = true
			}
		}
		if refuse {
			return errNack
		}
		return nil
	})
	half := k.Inputs / 2
	s.publish(0, half)
	s.waitSome(half / 2)
	s.run.Restart()
	s.publish(half, k.Inputs)
	s.waitAll()
	mu.Lock()
	defer mu.Unlock()
	published, index := s.snapshot()
	for _, key := range published {
		if isVictim(index[key]) && !nacked[key] {
			t.Errorf("input %s was never refused: the kit could not exercise a nack for it", key)
		}
	}
}

// waitSome waits until at least n distinct events were accepted, checking
// the ack order meanwhile.
func (s *scenario) waitSome(n int) {
	s.t.Helper()
	deadline := time.Now().Add(s.k.Timeout)
	for s.run.Recorder().Distinct() < n {
		s.checkAckOrder()
		if time.Now().After(deadline) {
			s.t.Fatalf("after %s the host accepted %d distinct events, want at least %d; last run error: %v",
				s.k.Timeout, s.run.Recorder().Distinct(), n, s.run.RunErr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killMidBatch holds a batch in the host's accept, kills the plugin with
// SIGKILL while it waits for the answer, then stores the batch anyway: the
// worst case, where the host has the events but the source never learned
// it. A second kill hits a batch the host then refuses. After restarts every
// input must arrive and the duplicates must collapse.
func (k SourceKit) killMidBatch(t *testing.T) {
	s := k.newScenario(t)
	type held struct {
		release chan error
	}
	holds := make(chan held)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	var armed sync.Mutex
	armedN := 0
	s.setDecide(func(ctx context.Context, events []sdk.Event) error {
		armed.Lock()
		if armedN == 0 {
			armed.Unlock()
			return nil
		}
		armedN--
		armed.Unlock()
		h := held{release: make(chan error)}
		select {
		case holds <- h:
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return errNack
		}
		select {
		case err := <-h.release:
			return err
		case <-done:
			return errNack
		}
	})
	hold := func() held {
		t.Helper()
		select {
		case h := <-holds:
			return h
		case <-time.After(k.Timeout):
			t.Fatalf("no batch reached the host within %s", k.Timeout)
			return held{}
		}
	}
	arm := func() {
		armed.Lock()
		armedN = 1
		armed.Unlock()
	}
	third := k.Inputs / 3

	s.publish(0, third)
	s.waitSome(third / 2)
	arm()
	s.publish(third, 2*third)
	h := hold()
	s.run.KillPlugin()
	h.release <- nil // stored, but the plugin never hears of it
	s.run.Restart()

	arm()
	s.publish(2*third, k.Inputs)
	h = hold()
	s.run.KillPlugin()
	h.release <- errNack
	s.run.Restart()
	s.waitAll()
}

// restartMidStream stops the plugin gracefully while inputs flow and starts
// it again, twice.
func (k SourceKit) restartMidStream(t *testing.T) {
	s := k.newScenario(t)
	third := k.Inputs / 3
	s.publish(0, 2*third)
	s.waitSome(third)
	s.run.Restart()
	s.publish(2*third, k.Inputs)
	s.run.Restart()
	s.waitAll()
	if !slices.Contains([]int{3}, s.run.Starts()) {
		t.Errorf("plugin started %d times, want 3", s.run.Starts())
	}
}
