package queue

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
	m.published = register(reg, m.published, &err)
	m.consumed = register(reg, m.consumed, &err)
	m.duration = register(reg, m.duration, &err)
	m.reconnects = register(reg, m.reconnects, &err)
	return m, err
}

// register registers c, or returns the collector already registered under
// the same name, so two brokers on one registry (web and worker roles in one
// process) share their metrics.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		if *errp == nil {
			*errp = err
		}
	}
	return c
}
