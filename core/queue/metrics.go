package queue

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/collectors"
)

// Outcomes of a consumed delivery.
const (
	outcomeAck     = "ack"     // handled and acknowledged
	outcomeRequeue = "requeue" // handler failed; back on the queue for another try
	outcomeDead    = "dead"    // rejected by the handler and moved to the dead-letter queue
)

type metrics struct {
	published  *prometheus.CounterVec
	consumed   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	reconnects *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_queue_published_total",
			Help: "Messages published to a work queue and confirmed by the broker, by workload.",
		}, []string{"workload"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_queue_consumed_total",
			Help: "Deliveries handled, by workload and outcome (ack, requeue, dead).",
		}, []string{"workload", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herder_queue_handler_duration_seconds",
			Help:    "Time a handler took for one delivery, by workload.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"workload"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_queue_reconnects_total",
			Help: "Connections to the broker made again after one was lost, by use (publish, consume).",
		}, []string{"connection"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.published = collectors.Register(reg, m.published, &err)
	m.consumed = collectors.Register(reg, m.consumed, &err)
	m.duration = collectors.Register(reg, m.duration, &err)
	m.reconnects = collectors.Register(reg, m.reconnects, &err)
	return m, err
}
