package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/herder-ci/herder/internal/pulsetest"
	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk/plugintest"
)

// TestSourceKit runs the SDK's source conformance kit against the plugin
// binary reading a real RabbitMQ queue: deliveries, nacks, kill -9 while
// the host holds a batch, and restarts; every input must be stored at least
// once and never acknowledged before the host accepted it. Jobs are counted
// by guid and pushes by revision, as the store dedupes them.
func TestSourceKit(t *testing.T) {
	requireRabbitmqctl(t)
	plugintest.SourceKit{
		Plugin:  pluginBin,
		Inputs:  40,
		Key:     eventKey,
		Timeout: 30 * time.Second,
		Setup: func(t *testing.T) (plugintest.Upstream, []byte) {
			r := newRig(t)
			r.declareQueue(t)
			pulsetest.ServeSyntheticTasks(r.up, 0, 1000, "autoland", func(int) string { return pulsetest.Revision(0) })
			pulsetest.ServeHgPushes(r.up)
			return &queueUpstream{t: t, r: r}, r.config(t, map[string]any{"batch_size": 8, "prefetch": 32})
		},
	}.Run(t)
}

// queueUpstream is the kit's view of the plugin's RabbitMQ queue: input i
// is an hg push message when i%5 == 4, else a task-pending message.
type queueUpstream struct {
	t    testing.TB
	r    *rig
	mu   sync.Mutex
	keys []string
}

func (u *queueUpstream) Publish(ctx context.Context, i int) (string, error) {
	var key string
	var err error
	if i%5 == 4 {
		key = "push/" + pulsetest.Revision(i)
		err = u.r.pub.Publish(ctx, transform.ExchangeHgPushesV1, "integration/autoland", pulsetest.HgPushMessage(i))
	} else {
		key = "job/" + pulsetest.JobGUID(i, 0)
		err = u.r.pub.Publish(ctx, transform.ExchangeTaskPending, pulsetest.RoutingKey(i, 0), pulsetest.TaskMessage(i, 0, false))
	}
	if err != nil {
		return "", err
	}
	u.mu.Lock()
	u.keys = append(u.keys, key)
	u.mu.Unlock()
	return key, nil
}

// Unacked cannot name the messages RabbitMQ still holds, only count them:
// while the queue holds any (ready or delivered and unacknowledged), every
// published input counts as unacknowledged; once it holds none, all were
// acknowledged, and the kit then checks each reached the host. Counts are
// read with rabbitmqctl, from the queue itself and of one moment.
func (u *queueUpstream) Unacked() []string {
	u.mu.Lock()
	all := append([]string(nil), u.keys...)
	u.mu.Unlock()
	if ready, _ := u.r.broker.Ready(u.t, testQueue); ready > 0 {
		return all
	}
	ready, unacked, err := u.r.broker.Counts(testQueue)
	if err != nil || ready+unacked > 0 {
		return all
	}
	return nil
}
