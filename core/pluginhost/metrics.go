package pluginhost

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herder-ci/herder/core/collectors"
)

// metrics are the supervisor's per-plugin Prometheus metrics. Labels: name
// (the source or processor block), plugin (the binary's name), and per
// metric the batch result, error kind, state or method.
type metrics struct {
	events   *prometheus.CounterVec
	batches  *prometheus.CounterVec
	errors   *prometheus.CounterVec
	restarts *prometheus.CounterVec
	state    *prometheus.GaugeVec
	latency  *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
}

// States a plugin instance can be in.
const (
	StateStarting    = "starting"
	StateRunning     = "running"
	StateBackoff     = "backoff"
	StateQuarantined = "quarantined"
	StateFailed      = "failed"
	StateStopping    = "stopping"
	StateStopped     = "stopped"
)

var allStates = []string{StateStarting, StateRunning, StateBackoff, StateQuarantined, StateFailed, StateStopping, StateStopped}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_plugin_events_total",
			Help: "Events a source plugin sent that the host accepted.",
		}, []string{"name", "plugin"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_plugin_batches_total",
			Help: "Batches a source plugin sent, by result (accepted, nacked, rejected).",
		}, []string{"name", "plugin", "result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_plugin_errors_total",
			Help: "Plugin errors by kind (checksum_mismatch, start_timeout, call_timeout, crash, ...).",
		}, []string{"name", "plugin", "kind"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herder_plugin_restarts_total",
			Help: "Restarts of a plugin after a failure.",
		}, []string{"name", "plugin"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herder_plugin_state",
			Help: "1 for the state a plugin is in, 0 for the others.",
		}, []string{"name", "plugin", "state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herder_plugin_call_duration_seconds",
			Help:    "Latency of plugin calls: process (a processor task) and accept (storing a source's batch).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"name", "plugin", "method"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herder_plugin_in_flight",
			Help: "Calls in flight to a processor plugin.",
		}, []string{"name", "plugin"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.events = collectors.Register(reg, m.events, &err)
	m.batches = collectors.Register(reg, m.batches, &err)
	m.errors = collectors.Register(reg, m.errors, &err)
	m.restarts = collectors.Register(reg, m.restarts, &err)
	m.state = collectors.Register(reg, m.state, &err)
	m.latency = collectors.Register(reg, m.latency, &err)
	m.inFlight = collectors.Register(reg, m.inFlight, &err)
	return m, err
}

func (m *metrics) setState(name, plugin, state string) {
	for _, s := range allStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.state.WithLabelValues(name, plugin, s).Set(v)
	}
}

func (m *metrics) observe(name, plugin, method string, d time.Duration) {
	m.latency.WithLabelValues(name, plugin, method).Observe(d.Seconds())
}
