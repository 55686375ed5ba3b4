// Command source is the test source plugin. It reads a plugintest.Queue
// (config "url") and sends one event per message, acking the messages of a
// batch after the host accepted it and nacking them otherwise; or, with
// "generate": N, it sends N job events as fast as it can (benchmarks).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest/internal/testplugins/misbehave"
)

// version is set with -ldflags "-X main.version=..." to tell builds apart.
var version = "1.0.0"

type config struct {
	URL      string `json:"url"`
	Batch    int    `json:"batch"`
	LeaseMS  int    `json:"lease_ms"`
	PollMS   int    `json:"poll_ms"`
	Generate int    `json:"generate"`
	GenBatch int    `json:"gen_batch"`
	Senders  int    `json:"senders"`
}

type source struct{}

func (source) Configure(_ context.Context, raw []byte) error {
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	if c.URL == "" && c.Generate == 0 {
		return fmt.Errorf("config: one of url and generate is required")
	}
	return nil
}

func (source) Run(ctx context.Context, raw []byte, sink sdk.Sink) error {
	c := config{Batch: 50, LeaseMS: 1000, PollMS: 10, GenBatch: 500, Senders: 1}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	log := sdk.Logger()
	log.Info("test source running", "version", version, "mode", misbehave.Mode())
	switch misbehave.Mode() {
	case "crash":
		time.Sleep(20 * time.Millisecond)
		os.Exit(3)
	case "runfail":
		return fmt.Errorf("the test source fails on purpose")
	case "stdout":
		go func() {
			for ctx.Err() == nil {
				fmt.Println("garbage on stdout after the handshake")
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	if c.Generate > 0 {
		return generate(ctx, c, sink)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for ctx.Err() == nil {
		msgs, err := lease(ctx, client, c)
		if err != nil {
			log.Warn("lease failed", "error", err)
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		if len(msgs) == 0 {
			sleep(ctx, time.Duration(c.PollMS)*time.Millisecond)
			continue
		}
		events := make([]sdk.Event, 0, len(msgs))
		ids := make([]string, 0, len(msgs))
		for _, m := range msgs {
			ids = append(ids, m.ID)
			e := sdk.Event{ID: m.ID}
			if len(m.Body) > 0 {
				if err := json.Unmarshal(m.Body, &e); err != nil {
					log.Error("bad message body", "id", m.ID, "error", err)
					continue
				}
				e.ID = m.ID
			} else {
				e.Job = &sdk.JobDatum{Project: "try", Revision: "abc", Job: sdk.Job{JobGUID: m.ID, State: sdk.StateCompleted, Result: sdk.ResultSuccess}}
			}
			events = append(events, e)
		}
		if misbehave.Mode() == "ackfirst" {
			// Broken on purpose: acknowledges before the host has the events.
			_ = settle(ctx, client, c.URL+"/ack", ids)
		}
		if err := sink.Send(ctx, events...); err != nil {
			if misbehave.Mode() == "dropnack" {
				// Broken on purpose: drops what the host refused.
				_ = settle(ctx, client, c.URL+"/ack", ids)
				continue
			}
			log.Info("batch not accepted; nacking", "error", err, "messages", len(ids))
			// A fresh context: the nack should reach the queue even when
			// the run is being stopped.
			nctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = settle(nctx, client, c.URL+"/nack", ids)
			cancel()
			continue
		}
		// The host has the events: acknowledge them even when the run is
		// being stopped, or they are delivered again.
		actx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := settle(actx, client, c.URL+"/ack", ids); err != nil {
			log.Warn("ack failed; the queue will redeliver", "error", err)
		}
		cancel()
	}
	return nil
}

type message struct {
	ID   string          `json:"id"`
	Body json.RawMessage `json:"body"`
}

func lease(ctx context.Context, client *http.Client, c config) ([]message, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		c.URL+"/lease?max="+strconv.Itoa(c.Batch)+"&lease_ms="+strconv.Itoa(c.LeaseMS), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("lease: %s", resp.Status)
	}
	var msgs []message
	return msgs, json.NewDecoder(resp.Body).Decode(&msgs)
}

func settle(ctx context.Context, client *http.Client, url string, ids []string) error {
	body, _ := json.Marshal(map[string][]string{"ids": ids})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// generate sends c.Generate job events in batches of c.GenBatch from
// c.Senders goroutines, then idles until stopped.
func generate(ctx context.Context, c config, sink sdk.Sink) error {
	var wg sync.WaitGroup
	errs := make(chan error, c.Senders)
	per := c.Generate / c.Senders
	for s := 0; s < c.Senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			batch := make([]sdk.Event, 0, c.GenBatch)
			for i := s * per; i < (s+1)*per; i++ {
				guid := "g-" + strconv.Itoa(i)
				batch = append(batch, sdk.Event{ID: guid, Job: &sdk.JobDatum{
					Project: "mozilla-central", Revision: "4f2e1d3c5b6a79880716253443526170a9b8c7d6",
					Job: sdk.Job{
						JobGUID: guid, Name: "test-linux64/opt-mochitest-1", JobSymbol: "M1", GroupSymbol: "M",
						State: sdk.StateCompleted, Result: sdk.ResultSuccess, Tier: 1, ProductName: "firefox",
						BuildPlatform:    sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
						MachinePlatform:  sdk.Platform{Platform: "linux64", OSName: "linux", Architecture: "x86_64"},
						OptionCollection: map[string]bool{"opt": true},
						SubmitTimestamp:  1700000000, StartTimestamp: 1700000100, EndTimestamp: 1700000400,
						LogReferences: []sdk.LogReference{{Name: sdk.LogLiveBacking, URL: "https://example.org/log/" + guid}},
					},
				}})
				if len(batch) == cap(batch) {
					if err := sink.Send(ctx, batch...); err != nil {
						errs <- err
						return
					}
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				if err := sink.Send(ctx, batch...); err != nil {
					errs <- err
				}
			}
		}(s)
	}
	wg.Wait()
	select {
	case err := <-errs:
		if ctx.Err() != nil {
			return nil
		}
		return err
	default:
	}
	<-ctx.Done()
	return nil
}

func main() {
	misbehave.BeforeServe()
	sdk.ServeSource(source{}, sdk.WithVersion(version))
}
