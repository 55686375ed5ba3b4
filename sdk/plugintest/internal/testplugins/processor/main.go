// Command processor is the test processor plugin. Task kinds:
// "echo" returns the payload; "sleep" sleeps payload milliseconds (honouring
// cancellation) and records how many calls ran at once; "hang" sleeps payload
// milliseconds ignoring cancellation; "max" returns the most calls seen at
// once; "fail", "permanent", "panic" and "crash" fail in those ways.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/herder-ci/herder/sdk"
	"github.com/herder-ci/herder/sdk/plugintest/internal/testplugins/misbehave"
)

var version = "1.0.0"

type processor struct {
	concurrency atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

func (p *processor) Configure(_ context.Context, raw []byte) error {
	var c struct {
		Concurrency int `json:"concurrency"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("decode config: %w", err)
		}
	}
	if c.Concurrency > 0 {
		p.concurrency.Store(int64(c.Concurrency))
	}
	return nil
}

func (p *processor) Describe() sdk.ProcessorInfo {
	return sdk.ProcessorInfo{
		Name:             "testprocessor",
		Consumes:         []string{"echo", "sleep", "hang", "max", "fail", "permanent", "panic", "crash"},
		Produces:         []string{"echo.result"},
		Concurrency:      int(p.concurrency.Load()),
		AlgorithmVersion: version,
	}
}

func (p *processor) Process(ctx context.Context, t sdk.Task) (sdk.Result, error) {
	switch t.Kind {
	case "echo":
		return sdk.Result{Payload: t.Payload}, nil
	case "sleep":
		n := p.inFlight.Add(1)
		defer p.inFlight.Add(-1)
		for {
			m := p.maxInFlight.Load()
			if n <= m || p.maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		ms, _ := strconv.Atoi(string(t.Payload))
		select {
		case <-ctx.Done():
			return sdk.Result{}, ctx.Err()
		case <-time.After(time.Duration(ms) * time.Millisecond):
		}
		return sdk.Result{Payload: []byte("slept")}, nil
	case "hang":
		ms, _ := strconv.Atoi(string(t.Payload))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return sdk.Result{Payload: []byte("woke")}, nil
	case "max":
		return sdk.Result{Payload: []byte(strconv.FormatInt(p.maxInFlight.Load(), 10))}, nil
	case "fail":
		return sdk.Result{}, errors.New("failed on purpose")
	case "permanent":
		return sdk.Result{}, sdk.Permanent(errors.New("this task can never succeed"))
	case "panic":
		panic("panicked on purpose")
	case "crash":
		os.Exit(4)
	}
	return sdk.Result{}, sdk.Permanent(fmt.Errorf("unknown task kind %q", t.Kind))
}

func main() {
	misbehave.BeforeServe()
	p := &processor{}
	p.concurrency.Store(2)
	sdk.ServeProcessor(p, sdk.WithVersion(version))
}
