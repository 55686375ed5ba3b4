//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/plugins/pulse/transform"
)

// outcome is the last state a scenario's task reaches.
type outcome uint8

const (
	outPending outcome = iota
	outRunning
	outCompleted
	outFailed
)

// want is the job a task must end as: Treeherder's state and result.
func (o outcome) want() (state, result string) {
	switch o {
	case outPending:
		return "pending", "unknown"
	case outRunning:
		return "running", "unknown"
	case outCompleted:
		return "completed", "success"
	default:
		return "completed", "testfailed"
	}
}

// hasLog says whether the task's job gets a log to parse (completed runs).
func (o outcome) hasLog() bool { return o >= outCompleted }

// scenario is what a run publishes: Pulse task messages for distinct
// synthetic tasks (each task is one job, run 0), a few pushes they belong
// to, and malformed messages the plugin must dead-letter.
type scenario struct {
	seed     uint64
	pushes   int
	outcomes []outcome
	pushMsgs []pulsetest.Message
	// messages are the task messages (duplicates included) and the
	// malformed ones, shuffled: transitions of a task arrive in any order.
	messages  []pulsetest.Message
	taskMsgs  int               // task messages, duplicates included
	dups      int               // of which duplicates
	malformed map[string]string // body -> the reason code the plugin gives
}

// newScenario makes at least minMessages task messages, then adds
// nMalformed malformed ones. About 10% of tasks fail; each task sends its
// final transition and, each with probability 0.85, the earlier ones; 3% of
// messages are sent twice.
func newScenario(seed uint64, minMessages, nMalformed, pushes int) *scenario {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := &scenario{seed: seed, pushes: pushes, malformed: map[string]string{}}
	for n := 0; n < pushes; n++ {
		s.pushMsgs = append(s.pushMsgs, pulsetest.Message{Exchange: transform.ExchangeHgPushesV1, Key: "autoland", Body: pulsetest.HgPushMessage(n)})
	}
	add := func(m pulsetest.Message) {
		s.messages = append(s.messages, m)
		s.taskMsgs++
		if rng.Float64() < 0.03 {
			s.messages = append(s.messages, m)
			s.taskMsgs++
			s.dups++
		}
	}
	for i := 0; s.taskMsgs < minMessages; i++ {
		var o outcome
		switch x := rng.Float64(); {
		case x < 0.10:
			o = outFailed
		case x < 0.65:
			o = outCompleted
		case x < 0.83:
			o = outRunning
		default:
			o = outPending
		}
		s.outcomes = append(s.outcomes, o)
		final := []string{"pending", "running", "completed", "failed"}[o]
		for _, st := range []string{"pending", "running"} {
			if st == final {
				break
			}
			if rng.Float64() < 0.85 {
				add(taskMessage(i, st))
			}
		}
		add(taskMessage(i, final))
	}
	for k := 0; k < nMalformed; k++ {
		var body []byte
		code := "schema"
		switch k % 3 {
		case 0:
			body = []byte(fmt.Sprintf("faults: malformed message %d is not JSON {", k))
			code = "not_json"
		case 1:
			body = []byte(fmt.Sprintf(`{"faults_malformed":%d,"runId":0,"version":1}`, k))
		default:
			body = []byte(fmt.Sprintf(`{"faults_malformed":%d,"status":{"taskId":"!not-a-slug","runs":[]},"runId":0,"version":1}`, k))
		}
		ex := []string{transform.ExchangeTaskPending, transform.ExchangeTaskRunning, transform.ExchangeTaskCompleted}[k%3]
		s.malformed[string(body)] = code
		s.messages = append(s.messages, pulsetest.Message{Exchange: ex, Key: "primary.malformed", Body: body})
	}
	rng.Shuffle(len(s.messages), func(a, b int) { s.messages[a], s.messages[b] = s.messages[b], s.messages[a] })
	return s
}

// pushOf is the push task i belongs to.
func (s *scenario) pushOf(i int) int { return i % s.pushes }

func (s *scenario) count(o outcome) int {
	n := 0
	for _, x := range s.outcomes {
		if x == o {
			n++
		}
	}
	return n
}

// logs is how many job logs the scenario's jobs have.
func (s *scenario) logs() int { return s.count(outCompleted) + s.count(outFailed) }

func (s *scenario) String() string {
	return fmt.Sprintf("seed %d: %d task messages (%d duplicates) for %d tasks (%d pending, %d running, %d completed, %d failed) in %d pushes, %d malformed",
		s.seed, s.taskMsgs, s.dups, len(s.outcomes), s.count(outPending), s.count(outRunning), s.count(outCompleted), s.count(outFailed), s.pushes, len(s.malformed))
}

var stateExchange = map[string]string{
	"pending": transform.ExchangeTaskPending, "running": transform.ExchangeTaskRunning,
	"completed": transform.ExchangeTaskCompleted, "failed": transform.ExchangeTaskFailed,
}

// taskMessage is the Pulse message of run 0 of synthetic task i entering
// state (pending, running, completed or failed), as Taskcluster's queue
// publishes it.
func taskMessage(i int, state string) pulsetest.Message {
	run := map[string]any{"runId": 0, "state": state, "reasonCreated": "scheduled", "scheduled": "2024-01-01T00:01:00.000Z"}
	if state != "pending" {
		run["started"] = "2024-01-01T00:02:00.000Z"
		run["workerId"] = "i-0123456789"
		run["workerGroup"] = "us-east-1"
	}
	if state == "completed" || state == "failed" {
		run["resolved"] = "2024-01-01T00:12:00.000Z"
		run["reasonResolved"] = state
	}
	id := pulsetest.TaskID(i)
	msg := map[string]any{
		"status": map[string]any{"taskId": id, "provisionerId": "gecko-t", "workerType": "t-linux-large",
			"schedulerId": "gecko-level-3", "taskGroupId": id, "deadline": "2024-01-02T00:00:00.000Z",
			"expires": "2025-01-01T00:00:00.000Z", "retriesLeft": 5, "state": state, "runs": []any{run}},
		"runId": 0, "version": 1,
	}
	if state != "pending" {
		msg["workerGroup"], msg["workerId"] = "us-east-1", "i-0123456789"
	}
	b, _ := json.Marshal(msg)
	return pulsetest.Message{Exchange: stateExchange[state], Key: pulsetest.RoutingKey(i, 0), Body: b}
}
